// Google credentials come from the run's environment (io.env), not the process's: a pipeline's workload
// identity federation file named in GOOGLE_APPLICATION_CREDENTIALS is used end to end - google-auth-library
// reads the subject token, exchanges it at the (fake, loopback) Security Token Service, and the fake GCE sees
// the token STS issued - while process.env names no credentials at all.
// STS token exchange: https://cloud.google.com/iam/docs/reference/sts/rest/v1/TopLevel/token
// ADC search order: https://cloud.google.com/docs/authentication/application-default-credentials
import { createServer, type Server } from 'node:http';
import { mkdtemp, writeFile, mkdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { firewall, instance, network } from '../fakes/gce/fixtures.js';
import { startFakeGce, type FakeGce } from '../fakes/gce/server.js';
import { rdpcloud } from '../cli/helpers.js';
import { adcFile } from '../../providers/gcp/client.js';
import type { Report } from '../../src/model/results.js';

const ISSUED = 'sts-issued-access-token';
const SUBJECT = 'a-ci-oidc-id-token';
const AUDIENCE = '//iam.googleapis.com/projects/123456/locations/global/workloadIdentityPools/ci/providers/github';

/** Google's STS token endpoint, as far as an external-account credential uses it. */
async function startFakeSts(): Promise<{ server: Server; port: number; exchanges: URLSearchParams[] }> {
  const exchanges: URLSearchParams[] = [];
  const server = createServer((req, res) => {
    let body = '';
    req.on('data', (c) => (body += c));
    req.on('end', () => {
      const form = new URLSearchParams(body);
      exchanges.push(form);
      const ok = req.method === 'POST' && req.url === '/v1/token' && form.get('grant_type') === 'urn:ietf:params:oauth:grant-type:token-exchange' && form.get('subject_token') === SUBJECT && form.get('audience') === AUDIENCE;
      res.writeHead(ok ? 200 : 400, { 'content-type': 'application/json' });
      res.end(JSON.stringify(ok ? { access_token: ISSUED, issued_token_type: 'urn:ietf:params:oauth:token-type:access_token', token_type: 'Bearer', expires_in: 3600 } : { error: 'invalid_grant', error_description: 'bad exchange' }));
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return { server, port: (server.address() as { port: number }).port, exchanges };
}

describe('Google credentials from the run\'s environment', () => {
  let fake: FakeGce;
  let sts: Awaited<ReturnType<typeof startFakeSts>>;
  let dir: string;
  beforeAll(async () => {
    fake = await startFakeGce(
      {
        projects: {
          'acme-wif': {
            instances: [instance({ project: 'acme-wif', zone: 'europe-west4-a', name: 'win-wif-1', natIP: '34.90.0.20', windows: true })],
            firewalls: [firewall({ project: 'acme-wif', name: 'default-allow-rdp', sourceRanges: ['0.0.0.0/0'], allowed: [{ IPProtocol: 'tcp', ports: ['3389'] }] })],
            networks: [network('acme-wif')],
          },
        },
      },
      { token: ISSUED },
    );
    sts = await startFakeSts();
    dir = await mkdtemp(join(tmpdir(), 'rdpcloud-gcp-auth-'));
  });
  afterAll(async () => {
    await fake.close();
    await new Promise((r) => sts.server.close(r));
  });
  const endpoints = () => ({ RDPCLOUD_GCP_ENDPOINT: `http://127.0.0.1:${fake.port}`, RDPCLOUD_GCP_RESOURCE_MANAGER_ENDPOINT: `http://127.0.0.1:${fake.port}` });

  it('a workload identity federation file in GOOGLE_APPLICATION_CREDENTIALS: the subject token exchanged at STS, the issued token sent to Compute', async () => {
    expect(process.env.GOOGLE_APPLICATION_CREDENTIALS).toBeUndefined();
    await writeFile(join(dir, 'subject.txt'), SUBJECT);
    const config = {
      type: 'external_account',
      audience: AUDIENCE,
      subject_token_type: 'urn:ietf:params:oauth:token-type:jwt',
      token_url: `http://127.0.0.1:${sts.port}/v1/token`,
      credential_source: { file: join(dir, 'subject.txt') },
    };
    await writeFile(join(dir, 'wif.json'), JSON.stringify(config));
    const r = await rdpcloud(['audit', '--project', 'acme-wif', '--format', 'json'], { ...endpoints(), GOOGLE_APPLICATION_CREDENTIALS: join(dir, 'wif.json') });
    expect(r.code, r.stderr).toBe(1); // default-allow-rdp from 0.0.0.0/0
    const rep = JSON.parse(r.stdout) as Report;
    expect(rep.instances.map((i) => [i.instance, i.access])).toEqual([['win-wif-1', 'exposed']]);
    expect(sts.exchanges.length).toBeGreaterThanOrEqual(1);
    expect(fake.requests.length).toBeGreaterThan(0);
    expect(fake.requests.every((q) => q.authorization === `Bearer ${ISSUED}`)).toBe(true);
  });

  it('a credentials file that cannot be used: one line naming it, exit 2', async () => {
    await writeFile(join(dir, 'not-json.json'), 'this is not JSON');
    await writeFile(join(dir, 'unknown-type.json'), JSON.stringify({ type: 'no_such_credential_type' }));
    for (const [file, why] of [
      [join(dir, 'not-json.json'), /: not JSON;/],
      [join(dir, 'unknown-type.json'), /not a credentials file google-auth-library accepts/],
      [join(dir, 'missing.json'), /no such file/],
    ] as const) {
      const r = await rdpcloud(['audit', '--project', 'acme-wif'], { ...endpoints(), GOOGLE_APPLICATION_CREDENTIALS: file });
      expect(r.code).toBe(2);
      const lines = r.stderr.trim().split('\n');
      expect(lines).toHaveLength(1);
      expect(lines[0]).toContain(`GOOGLE_APPLICATION_CREDENTIALS "${file}"`);
      expect(lines[0]).toMatch(why);
    }
  });

  it('no file and METADATA_SERVER_DETECTION=none: says how to provide credentials, without asking a metadata server', async () => {
    const r = await rdpcloud(['audit', '--project', 'acme-wif'], { ...endpoints(), CLOUDSDK_CONFIG: join(dir, 'no-gcloud-here') });
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/no credentials found: run `gcloud auth application-default login`/);
  });

  it('finds the ADC file where google-auth-library looks, in the environment it is given', async () => {
    const gcloud = join(dir, 'cfg');
    await mkdir(gcloud, { recursive: true });
    await writeFile(join(gcloud, 'application_default_credentials.json'), '{}');
    await mkdir(join(dir, 'home', '.config', 'gcloud'), { recursive: true });
    await writeFile(join(dir, 'home', '.config', 'gcloud', 'application_default_credentials.json'), '{}');
    await mkdir(join(dir, 'appdata', 'gcloud'), { recursive: true });
    await writeFile(join(dir, 'appdata', 'gcloud', 'application_default_credentials.json'), '{}');
    const cases: { name: string; env: NodeJS.ProcessEnv; platform?: NodeJS.Platform; want: string | undefined }[] = [
      { name: 'GOOGLE_APPLICATION_CREDENTIALS wins, existing or not', env: { GOOGLE_APPLICATION_CREDENTIALS: '/x/key.json', CLOUDSDK_CONFIG: gcloud }, want: '/x/key.json' },
      { name: 'CLOUDSDK_CONFIG before HOME', env: { CLOUDSDK_CONFIG: gcloud, HOME: join(dir, 'home') }, want: join(gcloud, 'application_default_credentials.json') },
      { name: '~/.config/gcloud on Linux and macOS', env: { HOME: join(dir, 'home') }, want: join(dir, 'home', '.config', 'gcloud', 'application_default_credentials.json') },
      { name: '%APPDATA%\\gcloud on Windows', env: { APPDATA: join(dir, 'appdata'), HOME: join(dir, 'home') }, platform: 'win32', want: join(dir, 'appdata', 'gcloud', 'application_default_credentials.json') },
      { name: 'a gcloud folder without the file: none', env: { CLOUDSDK_CONFIG: join(dir, 'home') }, want: undefined },
      { name: 'nothing named: none', env: {}, want: undefined },
    ];
    for (const c of cases) expect(adcFile(c.env, c.platform ?? 'linux')?.file, c.name).toBe(c.want);
  });
});
