// Live `--shard i/n` runs against the loopback fake Compute Engine, with a Shared VPC whose host project and
// service projects land in different shards. The host network's rules serve instances of both shards
// (https://cloud.google.com/vpc/docs/shared-vpc: the host project's firewall rules apply to service projects'
// instances on its networks), and a rule applies only to instances with its target tag
// (https://cloud.google.com/vpc/docs/firewalls#rule_assignment). So no single shard can tell which open rule
// is unused: each says which its own instances leave unused, and the merge keeps the rules none uses. The
// host network's own findings must not be lost either (the host project has no instance of its own).
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { firewall, instance, network, networkUrl } from '../fakes/gce/fixtures.js';
import { startFakeGce, type FakeGce, type GceWorld } from '../fakes/gce/server.js';
import { gcpEnv, rdpcloud } from './helpers.js';
import { inShard } from '../../src/cli/shard.js';
import type { Finding, Report } from '../../src/model/results.js';

const HOST = 'proj-host';
const WEB = 'svc-web'; // shard 1 of 2
const LEGACY = 'svc-legacy'; // shard 2 of 2, with the host

function onShared(project: string, name: string, tag: string, natIP: string) {
  const vm = instance({ project, zone: 'us-central1-a', name, natIP, windows: true, tags: [tag] });
  vm.networkInterfaces[0].network = networkUrl(HOST, 'shared');
  return vm;
}

const openRdp = (name: string, priority: number, tag: string) =>
  firewall({ project: HOST, name, network: 'shared', priority, sourceRanges: ['0.0.0.0/0'], allowed: [{ IPProtocol: 'tcp', ports: ['3389'] }], targetTags: [tag] });

function world(): GceWorld {
  return {
    projects: {
      [HOST]: { instances: [], firewalls: [openRdp('allow-rdp-web', 1000, 'web-rdp'), openRdp('allow-rdp-legacy', 1001, 'legacy-rdp'), openRdp('allow-rdp-retired', 1002, 'retired')], networks: [network(HOST, 'shared')] },
      [WEB]: { instances: [onShared(WEB, 'win-web', 'web-rdp', '34.9.0.1')], firewalls: [], networks: [network(WEB)] },
      [LEGACY]: { instances: [onShared(LEGACY, 'win-legacy', 'legacy-rdp', '34.9.0.2')], firewalls: [], networks: [network(LEGACY)] },
    },
  };
}

let fake: FakeGce;
let dir: string;
const projects = ['--project', HOST, '--project', WEB, '--project', LEGACY];

beforeAll(async () => {
  fake = await startFakeGce(world(), { token: 'test-token' });
  dir = await mkdtemp(join(tmpdir(), 'rdpcloud-live-shard-'));
});
afterAll(async () => {
  await fake?.close();
});

async function audit(extra: string[]): Promise<Report> {
  const r = await rdpcloud(['audit', ...projects, '--format', 'json', ...extra], gcpEnv(fake.port));
  expect([0, 1], r.stderr).toContain(r.code);
  return JSON.parse(r.stdout) as Report;
}

const about = (rep: Report, policy: string, ref: string): Finding[] => rep.findings.filter((f) => f.policyId === policy && f.resource.ref === ref);
const SHARED = `gcp:${HOST}/network/shared`;

describe('live --shard with a Shared VPC across shards', () => {
  it('the projects split as the test needs (host and legacy in one shard, web in the other)', () => {
    const one = { index: 1, count: 2 };
    expect([HOST, WEB, LEGACY].map((p) => inShard(one, 'gcp', p))).toEqual([false, true, false]);
  });

  it('each shard names the open rules its own instances leave unused, and says the merge decides', async () => {
    const [a, b] = [await audit(['--shard', '1/2']), await audit(['--shard', '2/2'])];
    expect(about(a, 'rdp-unused-open-rule', SHARED)).toMatchObject([{ status: 'fail', rules: ['allow-rdp-legacy', 'allow-rdp-retired'] }]);
    expect(about(b, 'rdp-unused-open-rule', SHARED)).toMatchObject([{ status: 'fail', rules: ['allow-rdp-web', 'allow-rdp-retired'] }]);
    expect(about(a, 'rdp-unused-open-rule', SHARED)[0]!.message).toMatch(/apply to no instance of shard 1\/2 \(rdpcloud merge of every shard decides\)/);
  });

  it('the merge keeps only the rule no shard uses, worded and fixed as one audit of everything', async () => {
    await writeFile(join(dir, 'p1.json'), JSON.stringify(await audit(['--shard', '1/2'])));
    await writeFile(join(dir, 'p2.json'), JSON.stringify(await audit(['--shard', '2/2'])));
    const m = await rdpcloud(['merge', 'p1.json', 'p2.json', '--format', 'json'], {}, { cwd: dir });
    const merged = JSON.parse(m.stdout) as Report;
    expect(about(merged, 'rdp-unused-open-rule', SHARED)).toEqual([
      expect.objectContaining({
        status: 'fail',
        rules: ['allow-rdp-retired'],
        message: 'allow-rdp-retired (priority 1002) opens tcp:3389 to the internet and applies to no instance: delete it',
        remediation: `gcloud compute firewall-rules delete allow-rdp-retired --project=${HOST}`,
      }),
    ]);
    // The host network's rule-level finding, though the host project has no instance of its own: all three
    // rules admit the whole internet (none shadows another: each targets its own tag).
    expect(about(merged, 'gcp-firewall-rdp-from-internet', SHARED)).toMatchObject([{ status: 'fail', rules: ['allow-rdp-web', 'allow-rdp-legacy', 'allow-rdp-retired'] }]);
    // And the whole: the same findings, field for field, as the unsharded audit.
    const whole = await audit([]);
    const sorted = (r: Report) => r.findings.map((f) => JSON.stringify(f)).sort();
    expect(sorted(merged)).toEqual(sorted(whole));
    expect(m.code).toBe(1);
  });

  it('a pass in any shard is a pass; fails with no rule in common merge to a pass', async () => {
    const { mergeReports } = await import('../../src/cli/merge.js');
    const base = await audit(['--shard', '1/2']);
    const f = about(base, 'rdp-unused-open-rule', SHARED)[0]!;
    const part = (finding: Finding): Report => ({ ...base, findings: [finding] });
    const { rules: _r, ruleLabels: _l, remediation: _m, ...rest } = f;
    const pass: Finding = { ...rest, status: 'pass', message: 'every rule open to the internet applies to an instance' };
    const one = mergeReports([part(f), part(pass)], new Date()).findings;
    expect(one).toEqual([pass]);
    const disjoint = { ...f, rules: ['allow-rdp-web'], ruleLabels: ['allow-rdp-web (priority 1000)'] };
    const none = mergeReports([part(f), part(disjoint)], new Date()).findings;
    expect(none).toMatchObject([{ status: 'pass', message: 'every rule open to the internet applies to an instance' }]);
    expect(none[0]).not.toHaveProperty('remediation');
  });
});
