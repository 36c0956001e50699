// The AWS provider end to end: the real @aws-sdk clients (EC2, STS, Organizations, SSM), through `rdpcloud audit`,
// against the loopback fake AWS serving the demo organisation (test/demo/aws-world.ts). Expected verdicts are
// written by hand from AWS's documentation (linked in test/engine/aws-semantics.test.ts).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startFakeAws, type FakeAws } from '../fakes/aws/server.js';
import { awsEnv, rdpcloud } from '../cli/helpers.js';
import { AWS_KEY, DEV, DEV_ROLE, LEGACY, LEGACY_ROLE, PROD, awsDemoWorld } from '../demo/aws-world.js';
import { OFFICE } from '../demo/gcp-world.js';
import type { Report } from '../../src/model/results.js';


let fake: FakeAws;
beforeAll(async () => {
  fake = await startFakeAws(awsDemoWorld(), { pageSize: 4 });
});
afterAll(() => fake.close());

const find = (rep: Report, name: string, source = 'internet') => rep.results.find((r) => r.instance === name && r.source === source)!;
const access = (rep: Report, name: string) => rep.instances.find((i) => i.instance === name)!;

describe('aws provider against the fake EC2/STS/Organizations/SSM', () => {
  let rep: Report;
  let code: number;
  let stderr: string;
  beforeAll(async () => {
    fake.requests.length = 0;
    const r = await rdpcloud(['audit', '--provider', 'aws', '--all-accounts', '--role-name', 'rdpcloud-audit', '--format', 'json'], awsEnv(fake.port));
    code = r.code;
    stderr = r.stderr;
    rep = JSON.parse(r.stdout) as Report;
  });

  it('lists the organization, assumes the role in each ACTIVE account, keeps the others when one fails (exit 3)', () => {
    expect(rep.scopes.map((s) => [s.scope, s.status])).toEqual([[PROD, 'ok'], [DEV, 'ok'], [LEGACY, 'failed']]);
    expect(rep.scopes[2].error).toMatch(/the role cannot be assumed .*trust policy/);
    expect(code).toBe(3);
    expect(stderr).toMatch(new RegExp(`error: aws:${LEGACY}:`));
  });

  it.each([
    // [name, verdict, deciding {layer, rule}, access]
    ['aws-win-web-01', 'reachable', { layer: 'security groups', rule: 'inbound tcp 3389 from 0.0.0.0/0' }, 'exposed'],
    ['aws-win-range-01', 'reachable', { layer: 'security groups', rule: 'inbound tcp 3380-3390 from 0.0.0.0/0' }, 'exposed'],
    ['aws-win-private-01', 'blocked', { layer: 'address', rule: 'no usable address' }, 'private-only'],
    ['aws-win-natted-01', 'blocked', { layer: 'route', rule: '0.0.0.0/0 -> nat-0acme0000000001' }, 'private-only'],
    // rule 90 denies tcp:3389 from 0.0.0.0/0, private sources included
    ['aws-win-locked-01', 'blocked', { layer: 'network ACL', rule: 'rule 90' }, 'unreachable'],
    // the outbound entries allow tcp:443 only: no reply reaches any client
    ['aws-win-noreturn-01', 'blocked', { layer: 'network ACL (return traffic)', rule: 'rule *' }, 'unreachable'],
    ['aws-win-v6-01', 'reachable', { layer: 'security groups', rule: 'inbound tcp 3389 from ::/0' }, 'exposed'],
    ['aws-win-office-01', 'partial', { layer: 'security groups', rule: 'inbound tcp 3389 from pl-0office000000001' }, 'exposed'],
    ['aws-win-ssm-01', 'blocked', { layer: 'address', rule: 'no usable address' }, 'gateway-only'],
    ['aws-win-stopped-01', 'reachable', { layer: 'route', rule: '0.0.0.0/0 -> igw-0acme0000000001' }, 'exposed'],
    ['aws-lin-web-01', 'blocked', { layer: 'security groups', rule: 'no security group rule' }, 'unreachable'],
    ['aws-win-dev-01', 'reachable', { layer: 'security groups', rule: 'inbound tcp 3389 from 0.0.0.0/0' }, 'exposed'],
  ] as const)('%s: %s (%o), %s', (name, verdict, deciding, acc) => {
    const r = find(rep, name);
    expect(r, name).toBeDefined();
    expect(r.verdict, JSON.stringify(r.reasons, null, 1)).toBe(verdict);
    expect(r.reasons).toContainEqual(expect.objectContaining(deciding));
    expect(access(rep, name).access).toBe(acc);
  });

  it('reads addresses, names, states, IPv6, prefix lists and Session Manager as the APIs return them', () => {
    expect(find(rep, 'aws-win-office-01').allowedRanges).toEqual([OFFICE]);
    expect(find(rep, 'aws-win-v6-01').allowedRanges).toEqual(['::/0']);
    expect(find(rep, 'aws-win-stopped-01').state).toBe('stopped');
    expect(access(rep, 'aws-win-ssm-01').gateway).toBe('ssm');
    expect(access(rep, 'aws-win-web-01')).toMatchObject({ provider: 'aws', scope: PROD, location: 'eu-west-1a', instanceId: 'i-0a000000000000001', os: 'windows', externalAddresses: ['54.229.10.11'] });
    expect(access(rep, 'aws-lin-web-01').os).toBe('linux');
  });

  it('makes no per-instance call: list pages per region, prefix lists once, STS once per account', () => {
    const ops = fake.requests.reduce<Record<string, number>>((acc, q) => ({ ...acc, [q.op]: (acc[q.op] ?? 0) + 1 }), {});
    // 11 instances in eu-west-1 over pages of 4 = 3 pages; us-east-1 (prod) 1; dev 1
    expect(ops['ec2.DescribeInstances']).toBe(5);
    expect(ops['ec2.GetManagedPrefixListEntries']).toBe(1);
    expect(ops['ec2.DescribeInstanceAttribute']).toBeUndefined();
    expect(ops['ec2.DescribeNetworkInterfaces']).toBeUndefined();
    expect(ops['organizations.ListAccounts']).toBe(1);
    expect(ops['sts.AssumeRole']).toBe(3); // prod, dev, legacy (refused)
    expect(fake.requests.every((q) => q.op.startsWith('sts.') || q.op.startsWith('organizations.') || q.region)).toBe(true);
  });
});

describe('aws scopes, regions and errors', () => {
  it('the caller account only, one region, with --region', async () => {
    const r = await rdpcloud(['audit', '--region', 'eu-west-1', '--format', 'json'], awsEnv(fake.port));
    const rep = JSON.parse(r.stdout) as Report;
    expect(rep.scopes).toEqual([{ provider: 'aws', scope: PROD, status: 'ok' }]);
    expect(new Set(rep.instances.map((i) => i.location.slice(0, -1)))).toEqual(new Set(['eu-west-1']));
    expect(r.code).toBe(1); // high findings
  });

  it('--role-arn per account', async () => {
    const r = await rdpcloud(['audit', '--role-arn', DEV_ROLE, '--role-arn', LEGACY_ROLE, '--format', 'json'], awsEnv(fake.port));
    const rep = JSON.parse(r.stdout) as Report;
    expect(rep.scopes.map((s) => [s.scope, s.status])).toEqual([[DEV, 'ok'], [LEGACY, 'failed']]);
    expect(r.code).toBe(3);
  });

  it('--profile reads the shared credentials file', async () => {
    const { mkdtemp, writeFile } = await import('node:fs/promises');
    const dir = await mkdtemp(`${(await import('node:os')).tmpdir()}/rdpcloud-aws-`);
    await writeFile(`${dir}/credentials`, `[auditor]\naws_access_key_id = ${AWS_KEY}\naws_secret_access_key = demo-secret-not-real\n`);
    await writeFile(`${dir}/config`, '[profile auditor]\nregion = eu-west-1\n');
    const env = { AWS_REGION: 'eu-west-1', AWS_ENDPOINT_URL: `http://127.0.0.1:${fake.port}`, AWS_EC2_METADATA_DISABLED: 'true', AWS_SHARED_CREDENTIALS_FILE: `${dir}/credentials`, AWS_CONFIG_FILE: `${dir}/config` };
    const r = await rdpcloud(['audit', '--profile', 'auditor', '--region', 'eu-west-1', '--format', 'json'], env);
    expect(JSON.parse(r.stdout).scopes).toEqual([{ provider: 'aws', scope: PROD, status: 'ok' }]);
  });

  it('a region that is not enabled (OptInRequired) is reported; the other regions complete (exit 3)', async () => {
    const w = awsDemoWorld();
    w.accounts[PROD].regions['ap-east-1'] = { optIn: 'not-opted-in' };
    const f = await startFakeAws(w, {});
    try {
      const r = await rdpcloud(['audit', '--region', 'eu-west-1', '--region', 'ap-east-1', '--format', 'json'], awsEnv(f.port));
      const rep = JSON.parse(r.stdout) as Report;
      expect(r.code).toBe(3);
      expect(rep.instances).toHaveLength(11);
      expect(rep.scopes[0]).toMatchObject({ status: 'ok', warnings: [expect.stringMatching(/region ap-east-1 could not be read: .*not enabled for this account \(OptInRequired\)/)] });
    } finally {
      await f.close();
    }
  });

  it('retries RequestLimitExceeded and loses nothing', async () => {
    const flaky = await startFakeAws(awsDemoWorld(), { pageSize: 4, fault: (req, attempt) => (req.service === 'ec2' && attempt === 1 ? 'RequestLimitExceeded' : undefined) });
    try {
      const r = await rdpcloud(['audit', '--region', 'eu-west-1', '--format', 'json'], awsEnv(flaky.port));
      const rep = JSON.parse(r.stdout) as Report;
      expect(rep.instances).toHaveLength(11);
      expect(flaky.requests.filter((q) => q.status === 503).length).toBeGreaterThan(0);
    } finally {
      await flaky.close();
    }
  });

  it('a listing that is not permitted makes its layer unknown, never skipped', async () => {
    const w = awsDemoWorld();
    w.accounts[PROD].regions['eu-west-1'].opErrors = { 'ec2.DescribeNetworkAcls': 'UnauthorizedOperation' };
    const f = await startFakeAws(w, {});
    try {
      const r = await rdpcloud(['audit', '--region', 'eu-west-1', '--format', 'json'], awsEnv(f.port));
      const rep = JSON.parse(r.stdout) as Report;
      expect(r.code).toBe(3);
      expect(find(rep, 'aws-win-web-01').verdict).toBe('unknown');
      expect(find(rep, 'aws-win-web-01').reasons).toContainEqual(expect.objectContaining({ layer: 'network ACL', action: 'unknown' }));
    } finally {
      await f.close();
    }
  });

  it('unknown access keys: the account fails with what to do', async () => {
    const r = await rdpcloud(['audit', '--region', 'eu-west-1'], awsEnv(fake.port, 'AKIAUNKNOWN000000000'));
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/credentials were rejected|AuthFailure|InvalidClientTokenId/);
    expect(r.stderr).not.toMatch(/\n\s+at .+:\d+:\d+/);
  });

  it('no credentials at all is exit 2 with how to provide them', async () => {
    const r = await rdpcloud(['audit', '--provider', 'aws', '--region', 'eu-west-1'], { AWS_REGION: 'eu-west-1', AWS_ENDPOINT_URL: `http://127.0.0.1:${fake.port}`, AWS_EC2_METADATA_DISABLED: 'true', AWS_CONFIG_FILE: '/nonexistent/config', AWS_SHARED_CREDENTIALS_FILE: '/nonexistent/credentials' });
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/aws: no credentials found/);
  });

  it('plain http to a non-loopback endpoint is refused', async () => {
    const r = await rdpcloud(['audit', '--region', 'eu-west-1'], { ...awsEnv(fake.port), AWS_ENDPOINT_URL_EC2: 'http://ec2.example.com' });
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/AWS_ENDPOINT_URL_EC2 .*plain http is allowed only for loopback/);
  });

  it('explain --verify-with-api: AWS has no effective-rules API, and says so', async () => {
    const r = await rdpcloud(['explain', 'aws-win-web-01', '--region', 'eu-west-1', '--verify-with-api'], awsEnv(fake.port));
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('not cross-checked: aws has no API that returns the effective rules of an instance');
  });

  it('explain: revoke the world-open rule and use Session Manager; NACL deny gets an entry above it', async () => {
    const open = await rdpcloud(['explain', 'aws-win-web-01', '--region', 'eu-west-1'], awsEnv(fake.port));
    expect(open.stdout).toContain('aws ec2 revoke-security-group-ingress --group-id sg-0rdpworld0000001');
    expect(open.stdout).toContain('IpRanges=[{CidrIp=0.0.0.0/0}]');
    const locked = await rdpcloud(['explain', `aws:${PROD}/eu-west-1/i-0a000000000000005`, '--region', 'eu-west-1', '--source', OFFICE], awsEnv(fake.port));
    expect(locked.stdout).toContain('DENY by rule 90');
    expect(locked.stdout).toContain(`aws ec2 create-network-acl-entry --network-acl-id acl-0locked00000001 --ingress --rule-number 89 --protocol 6 --port-range From=3389,To=3389 --cidr-block ${OFFICE} --rule-action allow --region eu-west-1`);
    const noreturn = await rdpcloud(['explain', 'aws-win-noreturn-01', '--region', 'eu-west-1', '--source', OFFICE], awsEnv(fake.port));
    expect(noreturn.stdout).toContain('--egress');
    expect(noreturn.stdout).toContain('From=49152,To=65535');
    const ssm = await rdpcloud(['explain', 'aws-win-ssm-01', '--region', 'eu-west-1'], awsEnv(fake.port));
    expect(ssm.stdout).toContain('aws ssm start-session --target i-0a000000000000009 --document-name AWS-StartPortForwardingSession');
  });
});
