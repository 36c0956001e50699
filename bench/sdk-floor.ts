// What one request costs the SDK itself, as a yardstick for the org rows' CPU per request: the real EC2Client
// (`client.send(new DescribeSecurityGroupsCommand(...))`, its middleware, signing, HTTP handler and XML
// parser) against the fake EC2 of the test suite answering one security group, in a process of its own so that
// its CPU is the client's alone. `node dist-bench/bench/sdk-floor.js ENDPOINT [N]` prints
// {"requests": N, "cpuMs": ..., "wallMs": ...}; floorOfSdk() starts the fake and runs it.
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { DescribeSecurityGroupsCommand, EC2Client } from '@aws-sdk/client-ec2';
import { securityGroup, rdpFrom } from '../test/fakes/aws/fixtures.js';
import { startFakeAws } from '../test/fakes/aws/server.js';

const KEY = 'AKIABENCHFLOOR000001';
const ACCOUNT = '123456789012';
const REGION = 'eu-west-1';
/** Requests in flight at once, as an audit has them (several listings, several scopes). */
const IN_FLIGHT = 16;

async function child(endpoint: string, n: number): Promise<void> {
  const client = new EC2Client({ region: REGION, endpoint, credentials: { accessKeyId: KEY, secretAccessKey: 'bench-secret-not-real' }, maxAttempts: 1 });
  const send = () => client.send(new DescribeSecurityGroupsCommand({ MaxResults: 1000 }));
  for (let i = 0; i < 50; i++) await send(); // warm: the first requests compile the client's code
  const c0 = process.cpuUsage();
  const t0 = performance.now();
  let sent = 0;
  await Promise.all(
    Array.from({ length: IN_FLIGHT }, async () => {
      while (sent < n) {
        sent++;
        await send();
      }
    }),
  );
  const c = process.cpuUsage(c0);
  process.stdout.write(JSON.stringify({ requests: n, cpuMs: (c.user + c.system) / 1000, wallMs: performance.now() - t0 }) + '\n');
  client.destroy();
}

/** CPU milliseconds per request of the bare SDK client (median of `runs` runs of `n` requests). */
export async function floorOfSdk(n = 2000, runs = 3): Promise<{ msPerRequest: number; runs: number[] }> {
  const fake = await startFakeAws(
    { accounts: { [ACCOUNT]: { accessKeys: [KEY], regions: { [REGION]: { securityGroups: [securityGroup({ account: ACCOUNT, region: REGION, id: 'sg-0floor000000000001', name: 'floor', vpcId: 'vpc-0floor00000000001', ingress: [rdpFrom(['10.0.0.0/8'])] })] } } } } },
    { pageSize: 1000, latencyMs: 0 },
  );
  try {
    const per: number[] = [];
    for (let r = 0; r < runs; r++) {
      const out = await new Promise<string>((done, fail) => {
        const p = spawn(process.execPath, [fileURLToPath(import.meta.url), fake.endpoint, String(n)], {
          env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '/tmp', AWS_EC2_METADATA_DISABLED: 'true', NO_COLOR: '1' },
          stdio: ['ignore', 'pipe', 'inherit'],
        });
        let text = '';
        p.stdout.on('data', (d: Buffer) => (text += d.toString()));
        p.on('error', fail);
        p.on('close', (code) => (code === 0 ? done(text) : fail(new Error(`sdk-floor exited ${code}`))));
      });
      const { requests, cpuMs } = JSON.parse(out) as { requests: number; cpuMs: number };
      per.push(cpuMs / requests);
    }
    const sorted = [...per].sort((a, b) => a - b);
    return { msPerRequest: sorted[Math.floor(sorted.length / 2)]!, runs: per };
  } finally {
    await fake.close();
  }
}

if (process.argv[1] === fileURLToPath(import.meta.url)) await child(process.argv[2]!, Number(process.argv[3] ?? 2000));
