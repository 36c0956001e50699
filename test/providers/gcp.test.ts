// The GCP provider end to end: the real @google-cloud/compute and resource-manager clients, through
// `rdpcloud audit`, against the loopback fake Compute Engine. Expected verdicts from Google's docs:
// https://cloud.google.com/vpc/docs/firewalls and https://cloud.google.com/firewall/docs/firewall-policies-rule-eval-order
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startFakeGce, type FakeGce, type GceWorld } from '../fakes/gce/server.js';
import { firewall, instance, network, networkUrl } from '../fakes/gce/fixtures.js';
import { gcpEnv, rdpcloud } from '../cli/helpers.js';
import type { Report } from '../../src/model/results.js';

const P = 'proj-a';
function world(): GceWorld {
  const many = Array.from({ length: 7 }, (_, i) => instance({ project: P, zone: i % 2 ? 'us-central1-a' : 'europe-west4-b', name: `linux-${i}`, natIP: `34.0.0.${i + 10}` }));
  return {
    projects: {
      [P]: {
        instances: [
          instance({ project: P, zone: 'us-central1-a', name: 'win-open', natIP: '34.1.2.3', windows: true }),
          instance({ project: P, zone: 'us-central1-a', name: 'win-locked', natIP: '34.1.2.4', windows: true, tags: ['locked'] }),
          instance({ project: P, zone: 'us-central1-a', name: 'win-private', windows: true }),
          ...many,
        ],
        firewalls: [
          firewall({ project: P, name: 'default-allow-rdp', priority: 65534, sourceRanges: ['0.0.0.0/0'], allowed: [{ IPProtocol: 'tcp', ports: ['3389'] }] }),
          firewall({ project: P, name: 'deny-rdp-locked', priority: 900, sourceRanges: ['0.0.0.0/0'], denied: [{ IPProtocol: 'tcp', ports: ['3000-4000'] }], targetTags: ['locked'] }),
          firewall({ project: P, name: 'egress-any', direction: 'EGRESS', destinationRanges: ['0.0.0.0/0'], allowed: [{ IPProtocol: 'all' }] }),
        ],
        networks: [network(P)],
        commonInstanceMetadata: { items: [{ key: 'serial-port-enable', value: 'TRUE' }, { key: 'ssh-keys', value: 'admin:ssh-rsa AAAA secret' }] },
      },
      'proj-disabled': { error: 'serviceDisabled', instances: [], firewalls: [], networks: [] },
      'proj-org': {
        instances: [instance({ project: 'proj-org', zone: 'us-east1-b', name: 'win-org', natIP: '35.1.1.1', windows: true })],
        firewalls: [firewall({ project: 'proj-org', name: 'allow-rdp-world', sourceRanges: ['0.0.0.0/0'], allowed: [{ IPProtocol: 'tcp', ports: ['3389'] }] })],
        networks: [network('proj-org')],
        effectiveFirewalls: {
          default: {
            firewalls: [],
            firewallPolicys: [
              {
                name: '222',
                shortName: 'folder-deny',
                type: 'HIERARCHY',
                rules: [{ priority: 5, direction: 'INGRESS', action: 'deny', description: 'folder-deny-partner', match: { srcIpRanges: ['34.99.0.0/16'], layer4Configs: [{ ipProtocol: 'tcp', ports: ['3389'] }] } }],
              },
              {
                name: '111',
                shortName: 'org-baseline',
                type: 'HIERARCHY',
                rules: [
                  { priority: 10, direction: 'INGRESS', action: 'allow', description: 'org-allow-partner', match: { srcIpRanges: ['34.99.0.0/16'], layer4Configs: [{ ipProtocol: 'tcp', ports: ['3389'] }] } },
                  { priority: 100, direction: 'INGRESS', action: 'deny', description: 'org-deny-rdp', match: { srcIpRanges: ['0.0.0.0/0'], layer4Configs: [{ ipProtocol: 'tcp', ports: ['3389'] }] } },
                  { priority: 2147483647, direction: 'INGRESS', action: 'goto_next', match: { srcIpRanges: ['0.0.0.0/0'], layer4Configs: [{ ipProtocol: 'all' }] } },
                ],
              },
            ],
          },
        },
      },
      'proj-noperm': {
        instances: [instance({ project: 'proj-noperm', zone: 'us-east1-b', name: 'win-x', natIP: '35.1.1.2', windows: true })],
        firewalls: [],
        networks: [network('proj-noperm')],
        opErrors: { 'networks.getEffectiveFirewalls': 'permission' },
      },
      // Shared VPC: the service project's VM sits on the host project's network; the host's rules decide.
      'proj-svc': {
        instances: [sharedVpcVm()],
        firewalls: [firewall({ project: 'proj-svc', name: 'svc-local-rule-does-not-apply', sourceRanges: ['0.0.0.0/0'], allowed: [{ IPProtocol: 'all' }] })],
        networks: [network('proj-svc')],
      },
      'proj-host': {
        instances: [],
        firewalls: [firewall({ project: 'proj-host', name: 'host-allow-iap', network: 'shared', sourceRanges: ['35.235.240.0/20'], allowed: [{ IPProtocol: 'tcp', ports: ['3389'] }] })],
        networks: [network('proj-host', 'shared')],
      },
      // BEFORE_CLASSIC_FIREWALL: the regional network policy decides before the VPC allow.
      'proj-regional': {
        instances: [
          instance({ project: 'proj-regional', zone: 'europe-west1-b', name: 'win-eu', natIP: '35.2.2.2', windows: true }),
          instance({ project: 'proj-regional', zone: 'us-west1-a', name: 'win-us', natIP: '35.2.2.3', windows: true }),
        ],
        firewalls: [firewall({ project: 'proj-regional', name: 'allow-rdp', sourceRanges: ['0.0.0.0/0'], allowed: [{ IPProtocol: 'tcp', ports: ['3389'] }] })],
        networks: [network('proj-regional', 'default', 'BEFORE_CLASSIC_FIREWALL')],
        networkFirewallPolicies: {
          'regions/europe-west1': [
            {
              name: 'eu-lockdown',
              region: 'https://www.googleapis.com/compute/v1/projects/proj-regional/regions/europe-west1',
              associations: [{ name: 'assoc', attachmentTarget: networkUrl('proj-regional', 'default') }],
              rules: [{ priority: 100, direction: 'INGRESS', action: 'deny', ruleName: 'eu-deny-rdp', match: { srcIpRanges: ['0.0.0.0/0'], layer4Configs: [{ ipProtocol: 'tcp', ports: ['3389'] }] } }],
            },
          ],
        },
      },
    },
    firewallPolicies: { '111': { name: '111', parent: 'organizations/1' }, '222': { name: '222', parent: 'folders/20' } },
    folders: { 'folders/20': { parent: 'folders/10' }, 'folders/10': { parent: 'organizations/1' } },
  };
}

function sharedVpcVm() {
  const vm = instance({ project: 'proj-svc', zone: 'us-central1-a', name: 'win-svc', natIP: '34.5.5.5', windows: true });
  vm.networkInterfaces[0].network = networkUrl('proj-host', 'shared');
  return vm;
}

let fake: FakeGce;
beforeAll(async () => {
  fake = await startFakeGce(world(), { token: 'test-token', pageSize: 3 });
});
afterAll(() => fake.close());

const find = (rep: Report, name: string, source = 'internet') => rep.results.find((r) => r.instance === name && r.source === source)!;

describe('gcp provider against the fake Compute Engine', () => {
  it('audits several projects, one disabled, and reports each verdict with its deciding rule', async () => {
    fake.requests.length = 0;
    const r = await rdpcloud(['audit', '--provider', 'gcp', '--project', P, '--project', 'proj-disabled', '--project', 'proj-org', '--format', 'json'], gcpEnv(fake.port));
    expect(r.stderr).toContain('Compute Engine API is disabled in project proj-disabled');
    expect(r.code).toBe(3); // a scope failed; the others are reported
    const rep = JSON.parse(r.stdout) as Report;
    expect(rep.scopes.map((s) => [s.scope, s.status])).toEqual([[P, 'ok'], ['proj-disabled', 'failed'], ['proj-org', 'ok']]);
    expect(find(rep, 'win-open')).toMatchObject({ verdict: 'reachable', state: 'RUNNING', port: 3389 });
    expect(find(rep, 'win-open').reasons.map((x) => x.rule)).toContain('default-allow-rdp');
    // deny at priority 900 (ports 3000-4000) shadows default-allow-rdp for tagged instances
    expect(find(rep, 'win-locked').verdict).toBe('blocked');
    expect(find(rep, 'win-locked').reasons[0]).toMatchObject({ rule: 'deny-rdp-locked', action: 'deny', priority: 900 });
    expect(find(rep, 'win-private').verdict).toBe('blocked');
    expect(find(rep, 'win-private').reasons[0].rule).toBe('no usable address');
    // The API lists the folder policy first; the org is evaluated first all the same: its allow for the
    // partner range is final (the folder's deny never sees it) and its deny beats the VPC allow for the rest.
    const org = find(rep, 'win-org');
    expect(org.verdict).toBe('partial');
    expect(org.allowedRanges).toEqual(['34.99.0.0/16']);
    expect(org.reasons.map((x) => x.rule)).toEqual(['org-allow-partner', 'org-deny-rdp']);
    // all 10 instances of proj-a arrived over pages of 3
    expect(rep.instances.filter((i) => i.scope === P)).toHaveLength(10);
    const f = rep.findings.find((x) => x.resource.instance === 'win-open' && x.policyId === 'rdp-internet-exposed');
    expect(f).toMatchObject({ status: 'fail', severity: 'high' });
  });

  it('makes no per-instance call: list pages, one effective-firewalls call per network, hierarchy lookups once', async () => {
    fake.requests.length = 0;
    const r = await rdpcloud(['audit', '--project', P, '--format', 'json'], gcpEnv(fake.port));
    expect(r.code).toBe(1); // a high finding
    const ops = fake.requests.reduce<Record<string, number>>((acc, q) => ({ ...acc, [q.op]: (acc[q.op] ?? 0) + 1 }), {});
    expect(ops['instances.aggregatedList']).toBe(4); // ceil(10 / 3)
    expect(ops['networks.getEffectiveFirewalls']).toBe(1);
    expect(ops['instances.get']).toBeUndefined();
    expect(ops['instances.getEffectiveFirewalls']).toBeUndefined();
    expect(fake.requests.every((q) => q.authorization === 'Bearer test-token')).toBe(true);
  });

  it('a layer that cannot be read gives unknown, never a silent skip', async () => {
    const r = await rdpcloud(['audit', '--project', 'proj-noperm', '--format', 'json'], gcpEnv(fake.port));
    expect(r.code).toBe(3);
    const rep = JSON.parse(r.stdout) as Report;
    expect(find(rep, 'win-x').verdict).toBe('unknown');
    expect(find(rep, 'win-x').reasons.some((x) => x.action === 'unknown' && /permission/.test(x.why))).toBe(true);
  });

  it('retries throttling (429 and 403 rateLimitExceeded) and loses nothing', async () => {
    const flaky = await startFakeGce(world(), { token: 'test-token', pageSize: 3, fault: (_req, attempt) => (attempt === 1 ? (Math.random() < 0.5 ? 'resourceExhausted429' : 'rateLimit403') : undefined) });
    try {
      const r = await rdpcloud(['audit', '--project', P, '--format', 'json'], gcpEnv(flaky.port));
      expect(r.code).toBe(1);
      const rep = JSON.parse(r.stdout) as Report;
      expect(rep.instances).toHaveLength(10);
      expect(flaky.requests.filter((q) => q.status === 429 || q.status === 403).length).toBeGreaterThan(0);
    } finally {
      await flaky.close();
    }
  });

  it("Shared VPC: the host project's rules decide, read once for the run", async () => {
    fake.requests.length = 0;
    const r = await rdpcloud(['audit', '--project', 'proj-svc', '--source', 'internet', '--source', 'iap', '--format', 'json'], gcpEnv(fake.port));
    const rep = JSON.parse(r.stdout) as Report;
    expect(find(rep, 'win-svc').verdict).toBe('partial'); // only IAP's range, which is public space
    expect(find(rep, 'win-svc').allowedRanges).toEqual(['35.235.240.0/20']);
    expect(find(rep, 'win-svc', 'iap')).toMatchObject({ verdict: 'reachable' });
    expect(find(rep, 'win-svc', 'iap').reasons[0]).toMatchObject({ rule: 'host-allow-iap', ruleSet: 'VPC firewall rules of shared' });
    expect(rep.instances[0]).toMatchObject({ access: 'gateway-only', gateway: 'iap' });
    expect(fake.requests.filter((q) => q.op === 'firewalls.list' && q.project === 'proj-host')).toHaveLength(1);
    expect(fake.requests.filter((q) => q.op === 'networks.getEffectiveFirewalls' && q.project === 'proj-host')).toHaveLength(1);
  });

  it('regional network policies apply in their region only, before the VPC rules when the network says so', async () => {
    const r = await rdpcloud(['audit', '--project', 'proj-regional', '--format', 'json'], gcpEnv(fake.port));
    const rep = JSON.parse(r.stdout) as Report;
    expect(find(rep, 'win-eu')).toMatchObject({ verdict: 'blocked' });
    expect(find(rep, 'win-eu').reasons[0]).toMatchObject({ rule: 'eu-deny-rdp', priority: 100 });
    expect(find(rep, 'win-us')).toMatchObject({ verdict: 'reachable' });
    expect(find(rep, 'win-us').reasons[0].rule).toBe('allow-rdp');
  });

  it('--all-projects lists ACTIVE projects through Resource Manager', async () => {
    const r = await rdpcloud(['audit', '--all-projects', '--format', 'json'], gcpEnv(fake.port));
    const rep = JSON.parse(r.stdout) as Report;
    expect(rep.scopes.map((s) => s.scope).sort()).toEqual(['proj-a', 'proj-disabled', 'proj-host', 'proj-noperm', 'proj-org', 'proj-regional', 'proj-svc']);
  });

  it('snapshot then audit --from gives the same results offline, and keeps no secret metadata', async () => {
    const { mkdtemp, readFile } = await import('node:fs/promises');
    const { tmpdir } = await import('node:os');
    const dir = await mkdtemp(`${tmpdir()}/rdpcloud-`);
    const file = `${dir}/inv.json`;
    const s = await rdpcloud(['snapshot', '--project', P, '-o', file], gcpEnv(fake.port));
    expect(s.code).toBe(0);
    const text = await readFile(file, 'utf8');
    expect(text).not.toContain('ssh-rsa');
    expect(JSON.parse(text).scopes[0].metadata).toEqual({ 'serial-port-enable': 'TRUE' });
    const online = JSON.parse((await rdpcloud(['audit', '--project', P, '--format', 'json'], gcpEnv(fake.port))).stdout) as Report;
    const offline = JSON.parse((await rdpcloud(['audit', '--from', file, '--format', 'json'], {})).stdout) as Report;
    expect(offline.results).toEqual(online.results);
  });

  it('a zone the API reports unreachable: its instances are missing, the scope says so, exit 3', async () => {
    const w = world();
    w.projects[P].unreachableZones = ['europe-west4-b'];
    const partial = await startFakeGce(w, { token: 'test-token', pageSize: 3 });
    try {
      const r = await rdpcloud(['audit', '--project', P, '--format', 'json'], gcpEnv(partial.port));
      expect(r.code).toBe(3);
      const rep = JSON.parse(r.stdout) as Report;
      expect(rep.instances.filter((i) => i.location === 'europe-west4-b')).toHaveLength(0);
      expect(rep.instances).toHaveLength(6); // 10 less the 4 linux-* VMs in europe-west4-b
      expect(rep.scopes[0]).toMatchObject({ status: 'ok', warnings: [expect.stringMatching(/europe-west4-b could not be listed/)] });
      expect(r.stderr).toMatch(/^warning: gcp:proj-a: instances in europe-west4-b could not be listed/m);
    } finally {
      await partial.close();
    }
  });

  it('a wrong token is an error for that project with what to do', async () => {
    const r = await rdpcloud(['audit', '--project', P], gcpEnv(fake.port, 'wrong'));
    expect(r.code).toBe(3);
    expect(r.stderr).toMatch(/401|credentials were rejected/);
  });

  it('explain names the deciding rule and the fix', async () => {
    const r = await rdpcloud(['explain', `gcp:${P}/us-central1-a/win-locked`, '--project', P, '--source', '203.0.113.0/24'], gcpEnv(fake.port));
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('BLOCKED');
    expect(r.stdout).toContain('deny-rdp-locked (priority 900)');
    expect(r.stdout).toContain('gcloud compute firewall-rules create rdpcloud-allow-rdp');
    expect(r.stdout).toContain('--priority=899');
    expect(r.stdout).toContain('--source-ranges=203.0.113.0/24');
  });
});

