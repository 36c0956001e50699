// The AWS clients of a run share what the first one resolved (providers/aws/client.ts SharedClientSettings):
// real EC2 clients against the loopback fake, the later ones built with the shared settings and agents.
import { DescribeRegionsCommand, EC2Client } from '@aws-sdk/client-ec2';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { clientConfig, SharedClientSettings, type ClientBase } from '../../providers/aws/client.js';
import { startFakeAws, type FakeAws } from '../fakes/aws/server.js';
import { AWS_KEY, awsDemoWorld } from '../demo/aws-world.js';

let fake: FakeAws;
beforeAll(async () => {
  fake = await startFakeAws(awsDemoWorld(), {});
});
afterAll(() => fake.close());

describe('AWS clients share resolved settings and connections', () => {
  it('the first client resolves FIPS, dual-stack, app id and auth schemes; later clients get them as values and work', async () => {
    const shared = new SharedClientSettings();
    const base: ClientBase = {
      region: 'eu-west-1',
      credentials: async () => ({ accessKeyId: AWS_KEY, secretAccessKey: 'demo-secret' }),
      retryStrategy: { acquireInitialRetryToken: async () => ({ getRetryCount: () => 0, getRetryDelay: () => 0 }), refreshRetryTokenForRetry: async () => { throw new Error('no retry'); }, recordSuccess: () => undefined },
      env: { AWS_ENDPOINT_URL: fake.endpoint },
      shared,
    };
    const before = shared.config();
    expect(before).not.toHaveProperty('useFipsEndpoint'); // nothing is known before a client has resolved it
    expect(before.requestHandler).toMatchObject({ httpAgent: expect.anything(), httpsAgent: expect.anything() });

    const first = new EC2Client(clientConfig(base, 'EC2'));
    shared.learn(first);
    await shared.settled();
    const after = shared.config();
    // Without AWS_USE_FIPS_ENDPOINT / AWS_USE_DUALSTACK_ENDPOINT or a profile setting, both are off (the SDK's default).
    expect(after).toMatchObject({ useFipsEndpoint: false, useDualstackEndpoint: false });
    expect(after.requestHandler).toBe(before.requestHandler); // one pair of agents for every client

    for (const region of ['eu-west-1', 'us-east-1']) {
      const later = new EC2Client(clientConfig(base, 'EC2', region));
      expect(await later.config.useFipsEndpoint()).toBe(false);
      expect(await later.config.useDualstackEndpoint()).toBe(false);
      const out = await later.send(new DescribeRegionsCommand({}));
      expect(out.Regions?.length).toBeGreaterThan(0);
    }
    const first2 = await first.send(new DescribeRegionsCommand({}));
    expect(first2.Regions?.length).toBeGreaterThan(0);
  });

  it('a client resolves only once per run: learning from a second client changes nothing', async () => {
    const shared = new SharedClientSettings();
    const base: ClientBase = { region: 'eu-west-1', retryStrategy: undefined as never, env: {}, shared };
    shared.learn(new EC2Client({ region: 'eu-west-1', useDualstackEndpoint: true }));
    shared.learn(new EC2Client({ region: 'eu-west-1', useDualstackEndpoint: false }));
    await shared.settled();
    expect(clientConfig(base, 'EC2')).toMatchObject({ useDualstackEndpoint: true, region: 'eu-west-1' });
  });
});
