// The bundled demo, end to end: the real @google-cloud/compute client against the fake Compute Engine serving
// the demo organisation (gcp-world.ts), `rdpcloud audit` over every project, and each instance's verdict and
// deciding rule as Google documents them - written here by hand, never recorded from rdpcloud's output:
//  [fw]  https://cloud.google.com/vpc/docs/firewalls - lower priority number wins, deny beats allow at equal
//        priority, disabled rules are ignored, targets (tags, service accounts, none = all), implied deny 65535,
//        sourceRanges 0.0.0.0/0 do not open IPv6; the default network's rules (default-allow-rdp at 65534)
//  [pol] https://cloud.google.com/firewall/docs/firewall-policies-rule-eval-order - hierarchical policies first,
//        organization before folders, goto_next hands on; then VPC rules (AFTER_CLASSIC_FIREWALL)
//  [svpc] https://cloud.google.com/vpc/docs/shared-vpc - a service project's VM on the host's network obeys the
//        host project's firewall rules
//  [iap] https://cloud.google.com/iap/docs/using-tcp-forwarding - IAP connects from 35.235.240.0/20 to the
//        internal address
//  [ifc] ../../../shared/docs/interface.md - sources, verdicts, access classes
// The same test checks that examples/demo-inventory.json is exactly what `rdpcloud snapshot` makes of this world.
import { readFile, writeFile, mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startFakeGce, type FakeGce } from '../fakes/gce/server.js';
import { awsEnv, azureEnv, gcpEnv, rdpcloud } from '../cli/helpers.js';
import { DEMO_PROJECTS, IAP_RANGE, OFFICE, demoWorld } from './gcp-world.js';
import { awsDemoWorld } from './aws-world.js';
import { AZ_TOKEN, azureDemoWorld } from './azure-world.js';
import { startFakeAws } from '../fakes/aws/server.js';
import { startFakeArm } from '../fakes/azure/server.js';
import type { Report, Result } from '../../src/model/results.js';

const DEMO_FILE = new URL('../../examples/demo-inventory.json', import.meta.url);

interface Case {
  project: string;
  instance: string;
  /** The verdict from `internet`, and from `iap`. */
  internet: Result['verdict'];
  iap: Result['verdict'];
  /** Rules that must appear among the reasons of the internet verdict (allow for reachable, deny for blocked). */
  deciding: string[];
  iapDeciding?: string[];
  allowed?: string[];
  access: 'exposed' | 'gateway-only' | 'private-only' | 'unreachable';
  state?: string;
  why: string;
}

const NO_ADDRESS = 'no usable address';
const IMPLIED = 'implied deny ingress';

const cases: Case[] = [
  // acme-prod: the default network
  { project: 'acme-prod', instance: 'win-web-01', internet: 'reachable', iap: 'reachable', deciding: ['default-allow-rdp'], allowed: ['0.0.0.0/0'], access: 'exposed', why: '[fw] default-allow-rdp: tcp:3389 from 0.0.0.0/0 to every instance' },
  { project: 'acme-prod', instance: 'win-web-02', internet: 'reachable', iap: 'reachable', deciding: ['default-allow-rdp'], access: 'exposed', state: 'TERMINATED', why: '[ifc] verdicts come from configuration whatever the power state; its address is static' },
  { project: 'acme-prod', instance: 'win-fin-01', internet: 'blocked', iap: 'blocked', deciding: ['deny-rdp-finance'], iapDeciding: ['deny-rdp-finance'], access: 'unreachable', why: '[fw] deny tcp:3000-4000 at priority 900 on tag finance shadows default-allow-rdp at 65534' },
  { project: 'acme-prod', instance: 'win-db-01', internet: 'blocked', iap: 'reachable', deciding: [NO_ADDRESS], iapDeciding: ['default-allow-rdp'], access: 'gateway-only', why: '[ifc] no external address: the internet has nothing to reach; IAP reaches the internal address' },
  { project: 'acme-prod', instance: 'win-v6-01', internet: 'reachable', iap: 'reachable', deciding: ['default-allow-rdp', 'allow-rdp-v6'], allowed: ['0.0.0.0/0', '::/0'], access: 'exposed', why: '[fw] 0.0.0.0/0 opens IPv4, ::/0 (tag rdp-v6) opens IPv6' },
  { project: 'acme-prod', instance: 'win-fin-02', internet: 'partial', iap: 'blocked', deciding: ['deny-rdp-finance', 'allow-rdp-v6'], allowed: ['::/0'], access: 'exposed', why: '[fw] the finance deny is IPv4 only (0.0.0.0/0); ::/0 still opens the IPv6 address' },
  { project: 'acme-prod', instance: 'lin-web-01', internet: 'reachable', iap: 'reachable', deciding: ['default-allow-rdp'], access: 'exposed', why: '[fw] no target: default-allow-rdp applies to Linux VMs too' },
  { project: 'acme-prod', instance: 'lin-web-02', internet: 'reachable', iap: 'reachable', deciding: ['default-allow-rdp'], access: 'exposed', why: '[fw]' },
  { project: 'acme-prod', instance: 'lin-web-03', internet: 'reachable', iap: 'reachable', deciding: ['default-allow-rdp'], access: 'exposed', why: '[fw]' },
  { project: 'acme-prod', instance: 'lin-db-01', internet: 'blocked', iap: 'reachable', deciding: [NO_ADDRESS], access: 'gateway-only', why: '[ifc] no external address' },
  // acme-iap: RDP only from IAP's range
  { project: 'acme-iap', instance: 'win-jump-01', internet: 'blocked', iap: 'reachable', deciding: [NO_ADDRESS], iapDeciding: ['allow-rdp-from-iap'], access: 'gateway-only', why: '[iap] the IAP rule targets tag rdp; no external address' },
  { project: 'acme-iap', instance: 'win-app-01', internet: 'partial', iap: 'reachable', deciding: ['allow-rdp-from-iap', IMPLIED], allowed: [IAP_RANGE], access: 'gateway-only', why: "[ifc] an IAP-only rule on a VM with an external IP: internet partial (IAP's /20 is public space), access gateway-only" },
  { project: 'acme-iap', instance: 'win-app-02', internet: 'blocked', iap: 'blocked', deciding: [IMPLIED], iapDeciding: [IMPLIED], access: 'private-only', why: '[fw] untagged: only allow-internal-corp (10.10.0.0/16) applies, then the implied deny' },
  { project: 'acme-iap', instance: 'lin-build-01', internet: 'blocked', iap: 'blocked', deciding: [NO_ADDRESS], access: 'private-only', why: '[fw]' },
  { project: 'acme-iap', instance: 'lin-build-02', internet: 'blocked', iap: 'blocked', deciding: [NO_ADDRESS], access: 'private-only', why: '[fw]' },
  { project: 'acme-iap', instance: 'lin-build-03', internet: 'blocked', iap: 'blocked', deciding: [NO_ADDRESS], access: 'private-only', why: '[fw]' },
  // acme-legacy: the organization policy decides first
  {
    project: 'acme-legacy',
    instance: 'win-legacy-01',
    internet: 'partial',
    iap: 'reachable',
    deciding: ['org-deny-rdp', 'folder-allow-office-rdp', 'default-allow-rdp'],
    iapDeciding: ['default-allow-rdp'],
    allowed: [IAP_RANGE, OFFICE],
    access: 'exposed',
    why: '[pol] org denies tcp:3389 at 1000 but hands IAP (500) and the office (600) on with goto_next; the folder allows the office (final), IAP falls through to default-allow-rdp',
  },
  { project: 'acme-legacy', instance: 'lin-legacy-01', internet: 'partial', iap: 'reachable', deciding: ['org-deny-rdp', 'folder-allow-office-rdp'], allowed: [IAP_RANGE, OFFICE], access: 'exposed', why: '[pol]' },
  // acme-shared-svc: the host project's rules decide
  { project: 'acme-shared-svc', instance: 'win-svc-01', internet: 'blocked', iap: 'blocked', deciding: [IMPLIED], access: 'private-only', why: "[svpc] the host allows 10.0.0.0/8 only; the service project's own allow-all is on another network" },
  { project: 'acme-shared-svc', instance: 'win-kiosk-01', internet: 'reachable', iap: 'reachable', deciding: ['allow-kiosk-any'], allowed: ['0.0.0.0/0'], access: 'exposed', why: '[fw] 0.0.0.0/1 + 128.0.0.0/1 with protocol all is the whole IPv4 internet' },
  { project: 'acme-shared-svc', instance: 'lin-svc-01', internet: 'blocked', iap: 'blocked', deciding: [NO_ADDRESS], access: 'private-only', why: '[svpc]' },
  // acme-dev: service-account targets and a disabled rule
  { project: 'acme-dev', instance: 'win-dev-01', internet: 'reachable', iap: 'reachable', deciding: ['allow-rdp-dev-sa'], access: 'exposed', why: '[fw] targetServiceAccounts matches the VM service account' },
  { project: 'acme-dev', instance: 'win-dev-02', internet: 'blocked', iap: 'blocked', deciding: [IMPLIED], access: 'unreachable', why: '[fw] another service account; the disabled allow at 500 does not exist as far as traffic goes' },
  { project: 'acme-dev', instance: 'lin-dev-01', internet: 'blocked', iap: 'blocked', deciding: [IMPLIED], access: 'unreachable', why: '[fw]' },
];

let fake: FakeGce;
let report: Report;
let auditCode: number;
let auditStderr: string;
const projectFlags = DEMO_PROJECTS.flatMap((p) => ['--project', p]);

beforeAll(async () => {
  fake = await startFakeGce(demoWorld(), { token: 'test-token' });
  const r = await rdpcloud(['audit', ...projectFlags, '--source', 'internet', '--source', 'iap', '--format', 'json'], gcpEnv(fake.port));
  auditCode = r.code;
  auditStderr = r.stderr;
  report = JSON.parse(r.stdout) as Report;
});
afterAll(() => fake.close());

const result = (c: Case, source: string) => report.results.find((r) => r.scope === c.project && r.instance === c.instance && r.source === source);

describe('the demo organisation through the real SDK and the fake Compute Engine', () => {
  it('has 20+ Windows and Linux instances and covers every case once', () => {
    expect(report.instances.length).toBe(cases.length);
    expect(report.instances.length).toBeGreaterThanOrEqual(20);
    expect(new Set(report.instances.map((i) => i.os))).toEqual(new Set(['windows', 'linux']));
  });

  it.each(cases)('$project/$instance: internet $internet, iap $iap, $access - $why', (c) => {
    const inet = result(c, 'internet');
    const iap = result(c, 'iap');
    expect(inet, 'internet result').toBeDefined();
    expect(inet!.verdict).toBe(c.internet);
    expect(iap!.verdict).toBe(c.iap);
    const rules = inet!.reasons.map((x) => x.rule);
    for (const d of c.deciding) expect(rules).toContain(d);
    for (const d of c.iapDeciding ?? []) expect(iap!.reasons.map((x) => x.rule)).toContain(d);
    if (c.allowed) expect(inet!.allowedRanges).toEqual(c.allowed);
    if (c.internet === 'blocked') expect(inet!.allowedRanges).toEqual([]);
    if (c.state) expect(inet!.state).toBe(c.state);
    const summary = report.instances.find((i) => i.scope === c.project && i.instance === c.instance)!;
    expect(summary.access).toBe(c.access);
    if (c.access === 'gateway-only') expect(summary.gateway).toBe('iap');
  });

  it('names the priority and action of the deciding rules', () => {
    const fin = result(cases.find((c) => c.instance === 'win-fin-01')!, 'internet')!;
    expect(fin.reasons[0]).toMatchObject({ layer: 'firewall', rule: 'deny-rdp-finance', action: 'deny', priority: 900, ruleSet: 'VPC firewall rules of default' });
    expect(fin.reasons[0].why).toMatch(/target tag finance; source 0\.0\.0\.0\/0; tcp:3000-4000/);
    const legacy = result(cases.find((c) => c.instance === 'win-legacy-01')!, 'internet')!;
    expect(legacy.reasons.find((r) => r.rule === 'org-deny-rdp')).toMatchObject({ action: 'deny', priority: 1000, ruleSet: 'hierarchical policy org-rdp-guard' });
    expect(legacy.reasons.find((r) => r.rule === 'folder-allow-office-rdp')).toMatchObject({ action: 'allow', priority: 200, ranges: [OFFICE] });
  });

  it('reports the project whose API is disabled and keeps the others (exit 3)', () => {
    expect(auditCode).toBe(3);
    expect(report.scopes.find((s) => s.scope === 'acme-sandbox')).toMatchObject({ status: 'failed', error: expect.stringMatching(/Compute Engine API is disabled in project acme-sandbox/) });
    expect(report.scopes.filter((s) => s.status === 'ok')).toHaveLength(DEMO_PROJECTS.length - 1);
    expect(auditStderr).toMatch(/error: gcp:acme-sandbox: Compute Engine API is disabled/);
  });

  it('world-open RDP is a high finding, the office range low, IAP-only none', () => {
    const f = (name: string) => report.findings.find((x) => x.policyId === 'rdp-internet-exposed' && x.resource.instance === name)!;
    expect(f('win-web-01')).toMatchObject({ status: 'fail', severity: 'high' });
    expect(f('win-fin-02')).toMatchObject({ status: 'fail', severity: 'high' }); // all of the IPv6 internet
    expect(f('win-fin-02').message).not.toContain('34.140.7.22'); // its IPv4 address is closed
    expect(f('win-legacy-01')).toMatchObject({ status: 'fail', severity: 'low' });
    expect(f('win-legacy-01').message).toContain('folder-allow-office-rdp');
    expect(f('win-legacy-01').message).not.toContain('default-allow-rdp'); // it admits only IAP here
    expect(f('win-app-01')).toMatchObject({ status: 'pass' });
    expect(f('win-jump-01')).toMatchObject({ status: 'pass' });
  });

  it('examples/demo-inventory.json is what `rdpcloud snapshot` makes of the demo worlds (GCP, AWS, Azure), and auditing it offline gives what the fake clouds give', async () => {
    const aws = await startFakeAws(awsDemoWorld(), {});
    const arm = await startFakeArm(azureDemoWorld(), { token: AZ_TOKEN, linkBase: 'azure' });
    try {
      const env = { ...gcpEnv(fake.port), ...awsEnv(aws.port), ...azureEnv(arm.port) };
      const scopes = [...projectFlags, '--provider', 'gcp,aws,azure', '--all-accounts', '--role-name', 'rdpcloud-audit'];
      const dir = await mkdtemp(`${tmpdir()}/rdpcloud-demo-`);
      const file = `${dir}/inv.json`;
      const s = await rdpcloud(['snapshot', ...scopes, '-o', file], env);
      expect(s.code).toBe(3); // acme-sandbox, the AWS legacy account
      const fresh = JSON.parse(await readFile(file, 'utf8'));
      // To refresh after changing a demo world: RDPCLOUD_WRITE_DEMO=1 npx vitest run test/demo
      if (process.env.RDPCLOUD_WRITE_DEMO === '1') await writeFile(DEMO_FILE, JSON.stringify({ ...fresh, tool: undefined }, null, 1) + '\n');
      const committed = JSON.parse(await readFile(DEMO_FILE, 'utf8'));
      const strip = (x: Record<string, unknown>) => ({ ...x, generatedAt: undefined, tool: undefined });
      expect(strip(committed)).toEqual(strip(fresh));
      expect(new Set(committed.instances.map((i: { provider: string }) => i.provider))).toEqual(new Set(['gcp', 'aws', 'azure']));

      const online = JSON.parse((await rdpcloud(['audit', ...scopes, '--source', 'internet', '--source', 'iap', '--format', 'json'], env)).stdout) as Report;
      const r = await rdpcloud(['audit', '--from', DEMO_FILE.pathname, '--source', 'internet', '--source', 'iap', '--format', 'json']);
      expect(r.code).toBe(3);
      const offline = JSON.parse(r.stdout) as Report;
      expect(offline.results).toEqual(online.results);
      expect(offline.instances).toEqual(online.instances);
      expect(offline.results.filter((x) => x.provider === 'gcp')).toEqual(report.results);
    } finally {
      await aws.close();
      await arm.close();
    }
  });
});

describe('explain on the demo names the deciding rule and the fix', () => {
  const explain = async (ref: string, ...extra: string[]) => rdpcloud(['explain', ref, ...projectFlags, ...extra], gcpEnv(fake.port));

  it('world-open: narrow default-allow-rdp to IAP and tunnel', async () => {
    const r = await explain('gcp:acme-prod/us-central1-a/win-web-01');
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('from internet to tcp:3389: REACHABLE');
    expect(r.stdout).toContain('ALLOW by default-allow-rdp (priority 65534) in VPC firewall rules of default');
    expect(r.stdout).toContain('gcloud compute firewall-rules update default-allow-rdp --source-ranges=35.235.240.0/20 --project=acme-prod');
    expect(r.stdout).toContain('gcloud compute start-iap-tunnel win-web-01 3389');
    expect(r.stdout).toMatch(/applies to every instance on network default/);
  });

  it('a stopped VM: the state comes first', async () => {
    const r = await explain('win-web-02');
    expect(r.stdout.split('\n')[0]).toBe('TERMINATED: start it first - verdicts below are what its configuration allows once it runs.');
  });

  it('blocked by a deny at 900 from a declared source: an allow at 899 for this instance only', async () => {
    const r = await explain('win-fin-01', '--source', '198.51.100.0/24');
    expect(r.stdout).toContain('DENY by deny-rdp-finance (priority 900)');
    expect(r.stdout).toContain('--source-ranges=198.51.100.0/24 --target-tags=rdpcloud-rdp --priority=899 --project=acme-prod');
    expect(r.stdout).toContain('gcloud compute instances add-tags win-fin-01 --tags=rdpcloud-rdp --zone=us-central1-b --project=acme-prod');
  });

  it('no external address and IAP already admitted: just the tunnel, no new rule', async () => {
    const r = await explain('win-db-01');
    expect(r.stdout).toContain('it has no external address');
    expect(r.stdout).toContain('IAP already gets through (default-allow-rdp)');
    expect(r.stdout).not.toContain('firewall-rules create');
  });

  it('a hierarchical deny cannot be fixed with a VPC rule: say who must change it', async () => {
    const r = await explain('win-legacy-01', '--source', '198.51.100.0/24');
    expect(r.stdout).toContain('hierarchical policy org-rdp-guard denies it with rule "org-deny-rdp" (priority 1000)');
    expect(r.stdout).not.toContain('firewall-rules create');
  });

  it('Shared VPC: the rule goes into the host project', async () => {
    const r = await explain('win-svc-01', '--source', 'iap');
    expect(r.stdout).toContain('--network=shared-vpc');
    expect(r.stdout).toContain('--project=acme-net-host');
  });

  it('a rule that opens more than RDP is shadowed for this instance, never narrowed', async () => {
    const r = await explain('win-kiosk-01');
    expect(r.stdout).toContain('rdpcloud-deny-rdp-world');
    expect(r.stdout).toContain('--priority=1099');
    expect(r.stdout).toContain('--priority=1098');
    expect(r.stdout).not.toContain('firewall-rules update allow-kiosk-any');
  });

  it('never suggests opening RDP to the world', async () => {
    for (const name of ['win-app-02', 'win-dev-02', 'win-fin-01', 'win-jump-01']) {
      const r = await explain(name, '--format', 'json');
      const text = JSON.stringify(JSON.parse(r.stdout).results.map((x: { remedy?: unknown }) => x.remedy));
      expect(text, name).not.toMatch(/--source-ranges=0\.0\.0\.0\/0(?![\d,]*--action=deny)/);
      expect(text).not.toMatch(/action=allow[^"]*source-ranges=[^"]*0\.0\.0\.0\/0/);
    }
  });
});
