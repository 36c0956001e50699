// An organisation on GCP, AWS and Azure, audited end to end by the real CLI against the fake clouds of the test
// suite with per-request latency, the clouds' page limits and per-scope rate limits.
//
// The org (buildOrg): 300 GCP projects (6 of them Shared VPC hosts whose networks ~40% of the others use),
// 30 AWS accounts x 17 regions (most instances in one to three regions per account; the other regions hold
// only the default VPC, as in real accounts), 40 Azure subscriptions. Instances are split 40/40/20 between
// GCP, AWS and Azure and skewed over the scopes (Zipf, s = 0.9: a few big projects, many small or empty ones).
// Rules are sized like real networks: 4 default + 10-60 rules per VPC network (a host network 60-120), an
// organisation firewall policy everywhere and a folder policy on a third of the projects, a regional network
// policy on some; per busy AWS region one security group per ~8 instances (2-8 rules each, some naming a
// prefix list), main + public route tables, default + one custom ACL, SSM on half the instances; per Azure
// subscription 1-4 VNets of 4 subnets with NSGs, NIC NSGs on a third of the NICs (5-25 rules each), public
// IPs on a fifth, a Bastion in the bigger ones.
//
// The clouds (startOrgFakes): test/fakes/{gce,aws,azure}/server.ts with `latencyMs` (default 80, --latency MS),
// page caps GCE 500, EC2 1000 (route tables / ACLs 100, prefix list entries 100, SSM 50, Organizations 20),
// ARM: Compute pages virtual machines by 50 (as the service does; it has no page-size parameter), Network lists
// by 1000. Rate limits per scope, answered as each cloud does: a token bucket per GCP project (100, 25/s:
// 403 rateLimitExceeded), per AWS account and region (EC2's 100, 20/s: 503 RequestLimitExceeded; SSM 40,
// 10/s: ThrottlingException), per Azure subscription (ARM's 250, 25/s: 429 with Retry-After, the fake's own
// read bucket). Throttled runs add 10% of requests failing at random (every attempt drawn anew): GCE 403
// rateLimitExceeded / 429 RESOURCE_EXHAUSTED / 503, EC2 503 RequestLimitExceeded / 503 Unavailable / 500,
// ARM 429 SubscriptionRequestsThrottled (Retry-After: 1) / 503 / 500.
//
// Counting (the fakes' own request logs, so nothing rdpcloud says about itself is trusted): an answer 2xx is a
// request, any other answer a retry (it is re-sent). The minimum (minimumRequests) is computed from the world:
// for each scope and each list operation the audit needs, ceil(items / the API's largest page), at least one
// (an empty list still takes a request); calls that are inherently per scope or per network are counted as
// such: GCP projects.get once per project, networks.getEffectiveFirewalls once per network in use (for the run:
// a Shared VPC network's answer is the same whichever service project asks), firewallPolicies.get and
// folders.get once per hierarchical policy and folder when a network has several policies to order; AWS
// AssumeRole and DescribeRegions once per account, GetManagedPrefixListEntries once per prefix list named (per
// region); the scope listings once (RM projects:search, Organizations ListAccounts, ARM subscriptions).
//
// Lower bound on wall time (lowerBound): per scope, the longest chain of dependent requests in the provider's
// own call sequence (GCP: the instance pages, getEffectiveFirewalls after the first page that names a network;
// AWS: AssumeRole, DescribeRegions, then the regions REGION_CONCURRENCY at a time (all 17), each the longest
// of its five listings' page chains plus the prefix-list pages after them; Azure: the longest nextLink chain); per provider, its scope
// listing chain plus the larger of the longest scope chain and the sum of the scope chains / the scopes in
// flight (the default concurrency, src/cli/collect.ts DEFAULT_CONCURRENCY: a scope holds its slot for at least
// its chain); the run: the slowest provider (they run side by side). Times the latency. This is the interface's
// "longest chain, or requests x latency / concurrency" with the concurrency rdpcloud has: scopes in flight,
// each with its own listings in parallel (total requests / scopes in flight would not be a lower bound).
// Process start, CPU (parsing, the engine, the report) are not in it: that is what the 1.3 x allows for.
//
// Phases: the audit runs with RDPCLOUD_TIMINGS=1 and its own stderr lines give the time of each phase
// (collect, engine, policies, report) and the memory after it; the engine row is the audit's own evaluate().
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Instance as Ec2Instance, SecurityGroup } from '@aws-sdk/client-ec2';
import { firewall as gceFirewall, instance as gceInstance, network as gceNetwork, networkUrl, COMPUTE } from '../test/fakes/gce/fixtures.js';
import { startFakeGce, type FakeGce, type GceErrorKind, type GceProject, type GceWorld } from '../test/fakes/gce/server.js';
import { instance as ec2Instance, ipPermission, networkAcl, orgAccount, prefixList, rdpFrom, routeTable, securityGroup, ssmInstance, aclEntry } from '../test/fakes/aws/fixtures.js';
import { startFakeAws, type AwsAccountWorld, type AwsFault, type AwsRegionWorld, type AwsWorld, type FakeAws } from '../test/fakes/aws/server.js';
import { bastion, nsg as armNsg, nsgId, publicIpId, publicIp as armPublicIp, subnetId, vmStack, vnet as armVnet, vnetId } from '../test/fakes/azure/fixtures.js';
import { startFakeArm, type ArmFault, type AzureSubscription, type AzureWorld, type FakeArm } from '../test/fakes/azure/server.js';
import { collectedText, fmt, phasesOf, phasesText, runCli, type Row, type Section } from './harness.js';
import { REGION_CONCURRENCY } from '../providers/aws/index.js';
import { cpus } from 'node:os';
import { floorOfSdk } from './sdk-floor.js';

// ------------------------------------------------------------------------------------------------
// The organisation
// ------------------------------------------------------------------------------------------------

export interface OrgSpec {
  instances: number;
  gcpProjects: number;
  /** Shared VPC host projects among them (no instances of their own). */
  gcpHosts: number;
  awsAccounts: number;
  awsRegions: number;
  azureSubscriptions: number;
  seed?: number;
}

export const defaultSpec = (instances: number): OrgSpec => ({ instances, gcpProjects: 300, gcpHosts: 6, awsAccounts: 30, awsRegions: 17, azureSubscriptions: 40 });

/** The largest page each API serves (what the minimum is computed with, and what the fakes enforce). */
export const PAGE = {
  gce: 500,
  rmSearch: 500,
  ec2: 1000,
  ec2RouteTables: 100,
  ec2NetworkAcls: 100,
  ec2PrefixListEntries: 100,
  ssm: 50,
  organizations: 20,
  armVirtualMachines: 50,
  armNetwork: 1000,
};

export const AWS_REGIONS = [
  'us-east-1', 'eu-west-1', 'us-west-2', 'eu-central-1', 'ap-southeast-1', 'us-east-2', 'ap-northeast-1', 'eu-west-2', 'ap-south-1',
  'ca-central-1', 'ap-southeast-2', 'sa-east-1', 'eu-north-1', 'us-west-1', 'eu-west-3', 'ap-northeast-2', 'ap-northeast-3',
];

export const AWS_KEY = 'AKIAORGBENCH0000001';
export const ARM_TOKEN = 'org-bench-arm-token-not-a-secret';
export const GCE_TOKEN = 'org-bench-gce-token';
export const AWS_ROLE = 'rdpcloud-audit';

/** What one scope needs: requests by operation (the minimum) and its chain of dependent requests. */
export interface ScopePlan {
  provider: 'gcp' | 'aws' | 'azure';
  scope: string;
  instances: number;
  requests: Record<string, number>;
  /** Round trips one after another, with unlimited parallelism inside the scope (AWS: regions 8 at a time). */
  chain: number;
}

export interface Org {
  spec: OrgSpec;
  gce: GceWorld;
  aws: AwsWorld;
  azure: AzureWorld;
  scopes: ScopePlan[];
  /** Requests outside any scope (scope listings; per-run lookups), by operation. */
  global: Record<string, number>;
  /** Serial round trips before the scopes start, per provider (the scope listings). */
  listingChain: Record<'gcp' | 'aws' | 'azure', number>;
  /** CLI flags that audit all of it. */
  flags: string[];
}

/** Deterministic pseudo-random numbers (mulberry32). */
export function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** `total` split over `n` scopes by Zipf weights (s), in a shuffled order; integers that add up to total. */
function skewed(total: number, n: number, s: number, rand: () => number): number[] {
  if (n <= 0) return [];
  const w = Array.from({ length: n }, (_, i) => 1 / (i + 1) ** s);
  const sum = w.reduce((a, b) => a + b, 0);
  const exact = w.map((x) => (x / sum) * total);
  const out = exact.map(Math.floor);
  let left = total - out.reduce((a, b) => a + b, 0);
  const byFrac = exact.map((x, i) => [x - Math.floor(x), i] as const).sort((a, b) => b[0] - a[0]);
  for (let k = 0; left > 0; k = (k + 1) % n, left--) out[byFrac[k]![1]]++;
  for (let i = n - 1; i > 0; i--) {
    const j = Math.floor(rand() * (i + 1));
    [out[i], out[j]] = [out[j]!, out[i]!];
  }
  return out;
}

const pages = (items: number, cap: number) => Math.max(1, Math.ceil(items / cap));
const pick = <T>(rand: () => number, xs: readonly T[]): T => xs[Math.floor(rand() * xs.length)]!;
const add = (m: Record<string, number>, op: string, n: number) => (m[op] = (m[op] ?? 0) + n);
const ip4 = (n: number, base: number) => `${base}.${(n >> 16) & 255}.${(n >> 8) & 255}.${n & 255}`;

export function buildOrg(spec: OrgSpec): Org {
  const rand = rng(spec.seed ?? 0x0a11ce);
  const gcpTotal = Math.round(spec.instances * 0.4);
  const awsTotal = Math.round(spec.instances * 0.4);
  const azureTotal = spec.instances - gcpTotal - awsTotal;
  const scopes: ScopePlan[] = [];
  const global: Record<string, number> = {};
  const gce = buildGcp(spec, gcpTotal, rand, scopes, global);
  const aws = buildAws(spec, awsTotal, rand, scopes, global);
  const azure = buildAzure(spec, azureTotal, rand, scopes, global);
  const flags = ['--provider', 'gcp,aws,azure', '--all-projects', '--all-accounts', '--role-name', AWS_ROLE];
  const listingChain = {
    gcp: pages(spec.gcpProjects, PAGE.rmSearch),
    aws: pages(spec.awsAccounts, PAGE.organizations),
    azure: 1,
  };
  return { spec, gce, aws, azure, scopes, global, listingChain, flags };
}

// ---------------- GCP ----------------

const GCP_REGIONS = ['us-central1', 'europe-west1', 'europe-west4', 'us-east1', 'asia-northeast1', 'us-west1'];
const ORG = 'organizations/880000000001';
const FOLDERS = { prod: 'folders/810000000001', dev: 'folders/810000000002', legacy: 'folders/810000000003' };
const RDP = [{ IPProtocol: 'tcp', ports: ['3389'] }];
const predefined = (priority: number, range: string) => ({ kind: 'compute#firewallPolicyRule', priority, direction: 'INGRESS', action: 'goto_next', match: { srcIpRanges: [range], layer4Configs: [{ ipProtocol: 'all' }] } });
const ORG_POLICY = {
  kind: 'compute#firewallPolicy',
  name: '870000000001',
  shortName: 'org-baseline',
  displayName: 'org-baseline',
  type: 'HIERARCHY',
  parent: ORG,
  rules: [
    { kind: 'compute#firewallPolicyRule', priority: 100, direction: 'INGRESS', action: 'allow', description: 'iap-rdp', match: { srcIpRanges: ['35.235.240.0/20'], layer4Configs: [{ ipProtocol: 'tcp', ports: ['3389', '22'] }] } },
    { kind: 'compute#firewallPolicyRule', priority: 200, direction: 'INGRESS', action: 'deny', description: 'deny-known-bad', match: { srcIpRanges: ['198.51.100.0/24', '203.0.113.0/24'], layer4Configs: [{ ipProtocol: 'all' }] } },
    predefined(2147483645, '::/0'),
    predefined(2147483647, '0.0.0.0/0'),
  ],
};
const FOLDER_POLICY = {
  kind: 'compute#firewallPolicy',
  name: '870000000002',
  shortName: 'legacy-no-rdp',
  displayName: 'legacy-no-rdp',
  type: 'HIERARCHY',
  parent: FOLDERS.legacy,
  rules: [
    { kind: 'compute#firewallPolicyRule', priority: 1000, direction: 'INGRESS', action: 'deny', description: 'legacy-deny-rdp', match: { srcIpRanges: ['0.0.0.0/0'], layer4Configs: [{ ipProtocol: 'tcp', ports: ['3389'] }] } },
    predefined(2147483645, '::/0'),
    predefined(2147483647, '0.0.0.0/0'),
  ],
};

function gcpRules(project: string, network: string, n: number, rand: () => number, tags: string[], sas: string[]): any[] {
  const out: any[] = [];
  if (network === 'default') {
    out.push(
      gceFirewall({ project, name: 'default-allow-rdp', priority: 65534, sourceRanges: ['0.0.0.0/0'], allowed: RDP }),
      gceFirewall({ project, name: 'default-allow-ssh', priority: 65534, sourceRanges: ['0.0.0.0/0'], allowed: [{ IPProtocol: 'tcp', ports: ['22'] }] }),
      gceFirewall({ project, name: 'default-allow-icmp', priority: 65534, sourceRanges: ['0.0.0.0/0'], allowed: [{ IPProtocol: 'icmp' }] }),
      gceFirewall({ project, name: 'default-allow-internal', priority: 65534, sourceRanges: ['10.128.0.0/9'], allowed: [{ IPProtocol: 'tcp', ports: ['0-65535'] }, { IPProtocol: 'udp', ports: ['0-65535'] }, { IPProtocol: 'icmp' }] }),
    );
  }
  for (let i = 0; i < n; i++) {
    const r = rand();
    const name = `${network}-r${i}`;
    const target = rand() < 0.7 ? { targetTags: [pick(rand, tags)] } : rand() < 0.5 ? { targetServiceAccounts: [pick(rand, sas)] } : {};
    const priority = 500 + Math.floor(rand() * 1500);
    if (r < 0.15) out.push(gceFirewall({ project, network, name, priority, sourceRanges: ['0.0.0.0/0'], allowed: RDP, ...target }));
    else if (r < 0.3) out.push(gceFirewall({ project, network, name, priority, sourceRanges: [`81.2.${Math.floor(rand() * 255)}.0/24`], allowed: [{ IPProtocol: 'tcp', ports: ['3389', '5985-5986'] }], ...target }));
    else if (r < 0.4) out.push(gceFirewall({ project, network, name, priority, sourceRanges: ['0.0.0.0/0'], denied: [{ IPProtocol: 'tcp', ports: ['3389'] }], ...target }));
    else if (r < 0.5) out.push(gceFirewall({ project, network, name, priority, direction: 'EGRESS', destinationRanges: ['0.0.0.0/0'], allowed: [{ IPProtocol: 'all' }] }));
    else if (r < 0.6) out.push(gceFirewall({ project, network, name, priority, sourceRanges: ['0.0.0.0/0'], allowed: [{ IPProtocol: 'tcp', ports: ['3000-4000'] }], disabled: rand() < 0.3, ...target }));
    else out.push(gceFirewall({ project, network, name, priority, sourceRanges: ['10.0.0.0/8', '35.191.0.0/16'], allowed: [{ IPProtocol: 'tcp', ports: [String(80 + Math.floor(rand() * 9000))] }], ...target }));
  }
  return out;
}

function buildGcp(spec: OrgSpec, total: number, rand: () => number, scopes: ScopePlan[], global: Record<string, number>): GceWorld {
  const world: GceWorld = {
    projects: {},
    folders: { [FOLDERS.prod]: { parent: ORG, displayName: 'prod' }, [FOLDERS.dev]: { parent: ORG, displayName: 'dev' }, [FOLDERS.legacy]: { parent: FOLDERS.prod, displayName: 'legacy' } },
    firewallPolicies: { [ORG_POLICY.name]: ORG_POLICY, [FOLDER_POLICY.name]: FOLDER_POLICY },
  };
  const hosts = Array.from({ length: Math.min(spec.gcpHosts, spec.gcpProjects) }, (_, i) => `acme-net-host-${i + 1}`);
  const others = Array.from({ length: spec.gcpProjects - hosts.length }, (_, i) => `acme-p${String(i + 1).padStart(3, '0')}`);
  const counts = skewed(total, others.length, 0.9, rand);
  const sharedTags = ['rdp', 'web', 'db', 'bastion', 'app', 'batch', 'jump', 'win', 'sql', 'ad'];
  const networksInUse = new Set<string>();
  let needsOrdering = false;
  const folderOf = (i: number) => (i % 3 === 0 ? FOLDERS.legacy : i % 3 === 1 ? FOLDERS.prod : FOLDERS.dev);
  const policiesFor = (folder: string) => (folder === FOLDERS.legacy ? [ORG_POLICY, FOLDER_POLICY] : [ORG_POLICY]);
  const effective = (rules: any[], folder: string, extra: any[] = []) => ({ firewalls: rules.filter((r) => r.direction === 'INGRESS' || r.direction === 'EGRESS'), firewallPolicys: [...policiesFor(folder).map(({ parent: _p, ...p }) => p), ...extra] });
  const plan = (project: string, p: GceProject, regional: number) => {
    const inst = p.instances.length;
    const requests: Record<string, number> = {
      'gcp instances.aggregatedList': pages(inst, PAGE.gce),
      'gcp firewalls.list': pages(p.firewalls.length, PAGE.gce),
      'gcp networks.list': pages(p.networks.length, PAGE.gce),
      'gcp networkFirewallPolicies.aggregatedList': pages(regional, PAGE.gce),
      'gcp projects.get': 1,
    };
    // getEffectiveFirewalls follows the first page that shows a network in use (at the earliest the second round trip).
    const chain = Math.max(requests['gcp instances.aggregatedList']!, inst ? 2 : 1, requests['gcp firewalls.list']!, requests['gcp networks.list']!, requests['gcp networkFirewallPolicies.aggregatedList']!);
    scopes.push({ provider: 'gcp', scope: project, instances: inst, requests, chain });
  };
  // Hosts: two shared networks each, 60-120 rules apiece, in the prod folder.
  const hostNets: { host: string; network: string }[] = [];
  hosts.forEach((host, i) => {
    const p: GceProject = { parent: FOLDERS.prod, displayName: host, instances: [], firewalls: [], networks: [], effectiveFirewalls: {} };
    for (const network of ['shared-prod', 'shared-dev']) {
      const rules = gcpRules(host, network, 60 + Math.floor(rand() * 60), rand, sharedTags, [`svc@${host}.iam.gserviceaccount.com`]);
      p.networks.push(gceNetwork(host, network, i % 2 ? 'BEFORE_CLASSIC_FIREWALL' : 'AFTER_CLASSIC_FIREWALL'));
      p.firewalls.push(...rules);
      p.effectiveFirewalls![network] = effective(rules, FOLDERS.prod);
      hostNets.push({ host, network });
    }
    world.projects[host] = p;
    plan(host, p, 0);
  });
  let serial = 0;
  others.forEach((project, i) => {
    const folder = folderOf(i);
    const n = counts[i]!;
    const tags = [...sharedTags.slice(0, 3 + (i % 7)), `team-${i % 40}`];
    const sas = [`app-${i}@${project}.iam.gserviceaccount.com`, `batch-${i}@${project}.iam.gserviceaccount.com`, `${100000 + i}-compute@developer.gserviceaccount.com`];
    const p: GceProject = { parent: folder, displayName: project, instances: [], firewalls: [], networks: [], effectiveFirewalls: {} };
    const own = ['default', ...(i % 3 === 0 ? ['app-vpc'] : [])];
    const regionalPolicy = i % 10 === 4;
    for (const network of own) {
      const rules = gcpRules(project, network, 10 + Math.floor(rand() * 50), rand, tags, sas);
      p.networks.push(gceNetwork(project, network));
      p.firewalls.push(...rules);
      p.effectiveFirewalls![network] = effective(rules, folder);
    }
    const region = GCP_REGIONS[i % GCP_REGIONS.length]!;
    const region2 = GCP_REGIONS[(i + 2) % GCP_REGIONS.length]!;
    if (regionalPolicy) {
      p.networkFirewallPolicies = {
        [`regions/${region}`]: [
          {
            kind: 'compute#firewallPolicy',
            name: `${project}-regional`,
            type: 'NETWORK_REGIONAL',
            region: `${COMPUTE}/projects/${project}/regions/${region}`,
            associations: [{ name: 'default', attachmentTarget: networkUrl(project, 'default') }],
            rules: [{ kind: 'compute#firewallPolicyRule', priority: 900, direction: 'INGRESS', action: 'deny', description: 'regional-deny-rdp', match: { srcIpRanges: ['0.0.0.0/0'], layer4Configs: [{ ipProtocol: 'tcp', ports: ['3389'] }] } }],
          },
        ],
      };
    }
    const shared = i % 5 < 2 ? hostNets[i % hostNets.length] : undefined; // ~40% are Shared VPC service projects
    const zones = [`${region}-a`, `${region}-b`, `${region2}-c`];
    for (let k = 0; k < n; k++) {
      const zone = zones[k % 10 < 6 ? 0 : k % 10 < 9 ? 1 : 2]!;
      const onShared = shared && k % 4 !== 0;
      const network = onShared ? shared.network : own[k % own.length === 0 || own.length === 1 ? 0 : k % own.length]!;
      const myTags = [...new Set(Array.from({ length: Math.floor(rand() * 3) }, () => pick(rand, onShared ? sharedTags : tags)))];
      const vm = gceInstance({
        project,
        zone,
        name: `vm-${i}-${k}`,
        network,
        ...(rand() < 0.2 ? { natIP: ip4(serial, 34) } : {}),
        networkIP: ip4(serial, 10),
        tags: myTags,
        serviceAccount: pick(rand, sas),
        status: rand() < 0.1 ? 'TERMINATED' : 'RUNNING',
        ...(rand() < 0.45 ? { windows: true } : { linux: true }),
      });
      serial++;
      if (onShared) {
        vm.networkInterfaces[0].network = networkUrl(shared.host, shared.network);
        vm.networkInterfaces[0].subnetwork = `${COMPUTE}/projects/${shared.host}/regions/${region}/subnetworks/${shared.network}`;
        networksInUse.add(`${shared.host}/${shared.network}`);
        needsOrdering ||= false; // hosts sit in the prod folder: one hierarchical policy
      } else {
        networksInUse.add(`${project}/${network}`);
        if (folder === FOLDERS.legacy) needsOrdering = true;
      }
      p.instances.push(vm);
    }
    if (i % 4 === 0) p.commonInstanceMetadata = { items: [{ key: 'enable-oslogin', value: 'TRUE' }, ...(i % 8 === 0 ? [{ key: 'serial-port-enable', value: 'TRUE' }] : [])] };
    world.projects[project] = p;
    plan(project, p, regionalPolicy ? 1 : 0);
  });
  add(global, 'gcp rm.projects.search', pages(spec.gcpProjects, PAGE.rmSearch));
  add(global, 'gcp networks.getEffectiveFirewalls', networksInUse.size);
  if (needsOrdering) {
    add(global, 'gcp firewallPolicies.get', 2); // the organisation's and the legacy folder's policy
    add(global, 'gcp rm.folders.get', 2); // legacy -> prod -> the organisation
  }
  return world;
}

// ---------------- AWS ----------------

const awsHex = (prefix: string, a: number, r: number, n: number) => `${prefix}-0${a.toString(16).padStart(3, '0')}${r.toString(16).padStart(2, '0')}${n.toString(16).padStart(11, '0')}`;

function buildAws(spec: OrgSpec, total: number, rand: () => number, scopes: ScopePlan[], global: Record<string, number>): AwsWorld {
  const regions = AWS_REGIONS.slice(0, spec.awsRegions);
  const accounts = Array.from({ length: spec.awsAccounts }, (_, i) => String(100000000001 + i * 1111));
  const management = accounts[0]!;
  const counts = skewed(total, accounts.length, 0.9, rand);
  const world: AwsWorld = {
    accounts: {},
    roles: {},
    organization: { managementAccountId: management, accounts: accounts.map((id, i) => orgAccount({ id, name: `acme-aws-${i + 1}`, managementAccountId: management })) },
  };
  accounts.forEach((account, a) => {
    const acct: AwsAccountWorld = { accessKeys: account === management ? [{ accessKeyId: AWS_KEY, arn: `arn:aws:iam::${account}:user/auditor` }] : [], regions: {} };
    world.roles![`arn:aws:iam::${account}:role/${AWS_ROLE}`] = { trustedBy: [management] };
    const n = counts[a]!;
    // Most of an account lives in its home region, some in a second and third; the rest is the default VPC.
    const home = a % 3;
    const split = [Math.round(n * 0.75), Math.round(n * 0.2)];
    split.push(n - split[0]! - split[1]!);
    const busy = new Map<string, number>([[regions[home]!, split[0]!], [regions[(home + 3) % regions.length]!, split[1]!], [regions[(home + 5) % regions.length]!, split[2]!]]);
    const requests: Record<string, number> = { 'aws sts.AssumeRole': 1, 'aws ec2.DescribeRegions': 1 };
    const regionChains: number[] = [];
    regions.forEach((region, r) => {
      const count = busy.get(region) ?? 0;
      const rw = count > 0 ? busyRegion(account, a, region, r, count, rand) : defaultRegion(account, a, region, r);
      acct.regions[region] = rw;
      const sgs = rw.securityGroups ?? [];
      const lists = {
        'aws ec2.DescribeInstances': pages((rw.instances ?? []).length, PAGE.ec2),
        'aws ec2.DescribeSecurityGroups': pages(sgs.length, PAGE.ec2),
        'aws ec2.DescribeRouteTables': pages((rw.routeTables ?? []).length, PAGE.ec2RouteTables),
        'aws ec2.DescribeNetworkAcls': pages((rw.networkAcls ?? []).length, PAGE.ec2NetworkAcls),
        'aws ssm.DescribeInstanceInformation': pages((rw.ssm ?? []).length, PAGE.ssm),
      };
      for (const [op, k] of Object.entries(lists)) add(requests, op, k);
      const named = new Set<string>();
      for (const g of sgs) for (const p of g.IpPermissions ?? []) for (const l of p.PrefixListIds ?? []) if (l.PrefixListId) named.add(l.PrefixListId);
      for (const t of rw.routeTables ?? []) for (const rt of t.Routes ?? []) if (rt.DestinationPrefixListId) named.add(rt.DestinationPrefixListId);
      let plChain = 0;
      for (const id of named) {
        const pl = (rw.prefixLists ?? []).find((x) => x.PrefixListId === id);
        const k = pages(pl?.Entries?.length ?? 0, PAGE.ec2PrefixListEntries);
        add(requests, 'aws ec2.GetManagedPrefixListEntries', k);
        plChain = Math.max(plChain, k);
      }
      // The provider reads the prefix lists once all five listings are in (they could start after the
      // security groups and route tables: a suggestion for the AWS provider).
      regionChains.push(Math.max(...Object.values(lists)) + plChain);
    });
    // Regions REGION_CONCURRENCY at a time (the provider's): at least the longest region, and at least the sum over that.
    const regionPhase = Math.max(Math.max(...regionChains), Math.ceil(regionChains.reduce((x, y) => x + y, 0) / REGION_CONCURRENCY));
    scopes.push({ provider: 'aws', scope: account, instances: n, requests, chain: 2 + regionPhase });
    world.accounts[account] = acct;
  });
  add(global, 'aws organizations.ListAccounts', pages(accounts.length, PAGE.organizations));
  return world;
}

function defaultRegion(account: string, a: number, region: string, r: number): AwsRegionWorld {
  const vpcId = awsHex('vpc', a, r, 0);
  const subnets = ['a', 'b', 'c'].map((z, k) => awsHex('subnet', a, r, k));
  return {
    securityGroups: [securityGroup({ account, region, id: awsHex('sg', a, r, 0), name: 'default', vpcId, description: 'default VPC security group', ingress: [ipPermission({ protocol: '-1', groups: [{ GroupId: awsHex('sg', a, r, 0), UserId: account }] })] })],
    routeTables: [routeTable({ account, id: awsHex('rtb', a, r, 0), vpcId, vpcCidr: '172.31.0.0/16', main: true, igw: awsHex('igw', a, r, 0) })],
    networkAcls: [networkAcl({ account, id: awsHex('acl', a, r, 0), vpcId, isDefault: true, subnetIds: subnets })],
  };
}

function busyRegion(account: string, a: number, region: string, r: number, count: number, rand: () => number): AwsRegionWorld {
  const vpcs = 1 + Math.floor(count / 2000);
  const base = defaultRegion(account, a, region, r);
  const sgs: SecurityGroup[] = [...base.securityGroups!];
  const rts = [...base.routeTables!];
  const acls = [...base.networkAcls!];
  const pl = prefixList({ account, region, id: awsHex('pl', a, r, 1), name: 'corp-offices', cidrs: Array.from({ length: 5 + Math.floor(rand() * 15) }, (_, k) => `81.2.${k}.0/24`) });
  const subnets: { id: string; vpc: string; public: boolean }[] = [];
  for (let v = 0; v < vpcs; v++) {
    const vpcId = awsHex('vpc', a, r, v + 1);
    const cidr = `10.${(v * 16) % 256}.0.0/12`;
    const pub: string[] = [];
    const priv: string[] = [];
    for (let s = 0; s < 6; s++) {
      const id = awsHex('subnet', a, r, 16 + v * 8 + s);
      (s < 2 ? pub : priv).push(id);
      subnets.push({ id, vpc: vpcId, public: s < 2 });
    }
    rts.push(routeTable({ account, id: awsHex('rtb', a, r, 16 + v * 2), vpcId, vpcCidr: cidr, main: true, nat: awsHex('nat', a, r, v) }));
    rts.push(routeTable({ account, id: awsHex('rtb', a, r, 17 + v * 2), vpcId, vpcCidr: cidr, igw: awsHex('igw', a, r, v + 1), subnetIds: pub, routes: [{ DestinationPrefixListId: pl.PrefixListId, GatewayId: awsHex('vgw', a, r, v), Origin: 'CreateRoute', State: 'active' }] }));
    acls.push(networkAcl({ account, id: awsHex('acl', a, r, 16 + v * 2), vpcId, isDefault: true, subnetIds: [...pub, ...priv.slice(1)] }));
    acls.push(
      networkAcl({
        account,
        id: awsHex('acl', a, r, 17 + v * 2),
        vpcId,
        subnetIds: priv.slice(0, 1),
        entries: [aclEntry({ rule: 90, action: 'deny', protocol: '6', cidr: '0.0.0.0/0', from: 3389 }), aclEntry({ rule: 100, action: 'allow', protocol: '-1', cidr: '10.0.0.0/8' }), aclEntry({ rule: 100, action: 'allow', protocol: '-1', cidr: '0.0.0.0/0', egress: true })],
      }),
    );
  }
  const groupCount = 10 + Math.ceil(count / 8);
  for (let g = 0; g < groupCount; g++) {
    const vpc = subnets[(g * 6) % subnets.length]!.vpc;
    const ingress = Array.from({ length: 2 + Math.floor(rand() * 7) }, () => {
      const x = rand();
      if (x < 0.08) return rdpFrom(['0.0.0.0/0']);
      if (x < 0.2) return ipPermission({ protocol: 'tcp', port: 3389, prefixLists: [pl.PrefixListId!] });
      if (x < 0.35) return ipPermission({ protocol: 'tcp', port: 3389, cidrs: ['10.0.0.0/8'] });
      if (x < 0.45) return ipPermission({ protocol: '-1', groups: [{ GroupId: awsHex('sg', a, r, 1 + Math.floor(rand() * groupCount)), UserId: account }] });
      if (x < 0.55) return ipPermission({ protocol: 'tcp', from: 3380, to: 3390, cidrs: [`${Math.floor(rand() * 200) + 20}.0.0.0/8`] });
      return ipPermission({ protocol: 'tcp', port: pick(rand, [22, 80, 443, 5985, 1433, 8080]), cidrs: ['0.0.0.0/0'] });
    });
    sgs.push(securityGroup({ account, region, id: awsHex('sg', a, r, 1 + g), name: `app-${g}`, vpcId: vpc, ingress }));
  }
  const instances: Ec2Instance[] = [];
  const ssm = [];
  for (let k = 0; k < count; k++) {
    const sn = subnets[k % subnets.length]!;
    const mine = [...new Set(Array.from({ length: 1 + Math.floor(rand() * 3) }, () => sgs[1 + Math.floor(rand() * groupCount)]!))].filter((g) => g.VpcId === sn.vpc);
    const id = awsHex('i', a, r, k);
    const windows = rand() < 0.5;
    const inst = ec2Instance({
      account,
      vpcId: sn.vpc,
      id,
      name: `ec2-${a}-${r}-${k}`,
      az: `${region}${'abc'[k % 3]}`,
      subnetId: sn.id,
      privateIp: ip4(k, 10),
      ...(sn.public && rand() < 0.6 ? { publicIp: ip4(a * 65536 + r * 4096 + k, 54) } : {}),
      securityGroups: mine.length ? mine : [sgs[0]!],
      windows,
      state: rand() < 0.08 ? 'stopped' : 'running',
    });
    instances.push(inst);
    if (rand() < 0.5) ssm.push(ssmInstance({ instanceId: id, platform: windows ? 'Windows' : 'Linux', ping: rand() < 0.9 ? 'Online' : 'ConnectionLost' }));
  }
  return { instances, securityGroups: sgs, routeTables: rts, networkAcls: acls, prefixLists: [pl], ssm };
}

// ---------------- Azure ----------------

function buildAzure(spec: OrgSpec, total: number, rand: () => number, scopes: ScopePlan[], global: Record<string, number>): AzureWorld {
  const subs = Array.from({ length: spec.azureSubscriptions }, (_, i) => `a2c4e000-0000-4000-8000-${String(i + 1).padStart(12, '0')}`);
  const counts = skewed(total, subs.length, 0.9, rand);
  const world: AzureWorld = { subscriptions: {} };
  subs.forEach((S, s) => {
    const n = counts[s]!;
    const sub: AzureSubscription = { displayName: `acme-az-${s + 1}`, virtualMachines: [], networkInterfaces: [], publicIPAddresses: [], networkSecurityGroups: [], virtualNetworks: [], bastionHosts: [] };
    const rgs = Array.from({ length: 1 + Math.ceil(n / 200) }, (_, k) => `rg-${s}-${k}`);
    const nsgRules = (name: string) =>
      Array.from({ length: 5 + Math.floor(rand() * 20) }, (_, k) => {
        const x = rand();
        const priority = 100 + k * 10;
        if (x < 0.1) return { name: `${name}-rdp-any-${k}`, priority, source: 'Internet', ports: '3389' };
        if (x < 0.25) return { name: `${name}-rdp-office-${k}`, priority, source: [`81.2.${k}.0/24`], ports: ['3389', '22'] };
        if (x < 0.35) return { name: `${name}-deny-rdp-${k}`, priority, access: 'Deny' as const, source: '*', ports: '3389' };
        if (x < 0.45) return { name: `${name}-range-${k}`, priority, source: '0.0.0.0/0', ports: '3380-3390' };
        return { name: `${name}-app-${k}`, priority, source: 'VirtualNetwork', ports: String(80 + Math.floor(rand() * 9000)) };
      });
    const subnetIds: string[] = [];
    const vnets = 1 + Math.min(3, Math.floor(n / 1000));
    for (let v = 0; v < vnets; v++) {
      const rg = rgs[v % rgs.length]!;
      const net = vnetId(S, rg, `vnet-${v}`);
      const subnets = [0, 1, 2, 3].map((k) => ({ name: `snet-${k}`, addressPrefix: `10.${v}.${k * 16}.0/20`, ...(k < 3 ? { nsgId: nsgId(S, rg, `nsg-snet-${v}-${k}`) } : {}) }));
      if (v === 0 && n > 100) subnets.push({ name: 'AzureBastionSubnet', addressPrefix: `10.${v}.255.0/26` });
      for (let k = 0; k < 3; k++) sub.networkSecurityGroups!.push(armNsg({ sub: S, rg, name: `nsg-snet-${v}-${k}`, rules: nsgRules(`s${v}${k}`) }));
      sub.virtualNetworks!.push(armVnet({ sub: S, rg, name: `vnet-${v}`, addressPrefixes: [`10.${v}.0.0/16`], subnets }));
      for (let k = 0; k < 4; k++) subnetIds.push(subnetId(net, `snet-${k}`));
      if (v === 0 && n > 100) {
        sub.publicIPAddresses!.push(armPublicIp({ sub: S, rg, name: 'bas-pip', ipAddress: ip4(s, 20) }));
        sub.bastionHosts!.push(bastion({ sub: S, rg, name: 'bas', subnetId: subnetId(net, 'AzureBastionSubnet'), publicIpId: publicIpId(S, rg, 'bas-pip') }));
      }
    }
    const nicNsgs = Array.from({ length: 3 + Math.ceil(n / 100) }, (_, k) => ({ rg: rgs[k % rgs.length]!, name: `nsg-nic-${k}` }));
    for (const x of nicNsgs) sub.networkSecurityGroups!.push(armNsg({ sub: S, rg: x.rg, name: x.name, rules: nsgRules(x.name) }));
    for (let k = 0; k < n; k++) {
      const rg = rgs[k % rgs.length]!;
      const nn = rand() < 0.33 ? pick(rand, nicNsgs) : undefined;
      const st = vmStack({
        sub: S,
        rg,
        name: `az-${s}-${k}`,
        subnetId: subnetIds[k % subnetIds.length]!,
        privateIPAddress: ip4(k, 10),
        ...(rand() < 0.2 ? { publicIp: ip4(s * 65536 + k, 52), publicIpSku: rand() < 0.1 ? ('Basic' as const) : ('Standard' as const) } : {}),
        ...(nn ? { nicNsgId: nsgId(S, nn.rg, nn.name) } : {}),
        os: rand() < 0.5 ? 'windows' : 'linux',
        powerState: rand() < 0.1 ? 'deallocated' : 'running',
      });
      sub.virtualMachines!.push(st.vm);
      sub.networkInterfaces!.push(st.nic);
      if (st.publicIp) sub.publicIPAddresses!.push(st.publicIp);
    }
    world.subscriptions[S] = sub;
    const requests: Record<string, number> = {
      'azure compute.virtualMachines.listAll': pages(n, PAGE.armVirtualMachines),
      'azure compute.virtualMachines.listAll(statusOnly)': pages(n, PAGE.armVirtualMachines),
      'azure network.networkInterfaces.listAll': pages(sub.networkInterfaces!.length, PAGE.armNetwork),
      'azure network.publicIPAddresses.listAll': pages(sub.publicIPAddresses!.length, PAGE.armNetwork),
      'azure network.networkSecurityGroups.listAll': pages(sub.networkSecurityGroups!.length, PAGE.armNetwork),
      'azure network.virtualNetworks.listAll': pages(sub.virtualNetworks!.length, PAGE.armNetwork),
      'azure network.bastionHosts.list': pages(sub.bastionHosts!.length, PAGE.armNetwork),
    };
    scopes.push({ provider: 'azure', scope: S, instances: n, requests, chain: Math.max(...Object.values(requests)) });
  });
  add(global, 'azure subscriptions.list', 1);
  return world;
}

/** The minimum requests by operation: every scope's listings and the per-run ones. */
export function minimumRequests(org: Org): Record<string, number> {
  const out: Record<string, number> = { ...org.global };
  for (const s of org.scopes) for (const [op, n] of Object.entries(s.requests)) add(out, op, n);
  return Object.fromEntries(Object.entries(out).sort(([a], [b]) => a.localeCompare(b)));
}

/** Round trips of the fastest schedule with `concurrency` scopes in flight per provider (see the header). */
export function lowerBound(org: Org, concurrency: Record<'gcp' | 'aws' | 'azure', number>): { roundTrips: number; byProvider: Record<string, number> } {
  const byProvider: Record<string, number> = {};
  for (const p of ['gcp', 'aws', 'azure'] as const) {
    const chains = org.scopes.filter((s) => s.provider === p).map((s) => s.chain);
    const sum = chains.reduce((a, b) => a + b, 0);
    byProvider[p] = org.listingChain[p] + Math.max(Math.max(0, ...chains), Math.ceil(sum / concurrency[p]));
  }
  return { roundTrips: Math.max(...Object.values(byProvider)), byProvider };
}

// ------------------------------------------------------------------------------------------------
// The clouds
// ------------------------------------------------------------------------------------------------

class Buckets {
  private readonly state = new Map<string, { tokens: number; at: number }>();
  constructor(
    private readonly size: number,
    private readonly perSecond: number,
  ) {}
  /** Takes a token for `key`; false when the bucket is empty. */
  take(key: string): boolean {
    const now = performance.now();
    const b = this.state.get(key) ?? { tokens: this.size, at: now };
    b.tokens = Math.min(this.size, b.tokens + ((now - b.at) / 1000) * this.perSecond);
    b.at = now;
    this.state.set(key, b);
    if (b.tokens < 1) return false;
    b.tokens -= 1;
    return true;
  }
}

export interface FakeOptions {
  latencyMs: number;
  /** Share of requests (every attempt) answered with a throttle or a 5xx. */
  faultRate: number;
  seed?: number;
  /** Per-scope rate limits (token buckets: size, refill per second); default on, with the clouds' sizes. */
  rateLimits?: boolean | Partial<Record<'gce' | 'ec2' | 'ssm' | 'arm', { size: number; perSecond: number }>>;
}

/** The clouds' own read buckets: GCE per project, EC2 (non-mutating actions) and SSM per account and region, ARM per subscription. */
export const RATE_LIMITS = { gce: { size: 100, perSecond: 25 }, ec2: { size: 100, perSecond: 20 }, ssm: { size: 40, perSecond: 10 }, arm: { size: 250, perSecond: 25 } };

export interface OrgFakes {
  gce: FakeGce;
  aws: FakeAws;
  arm: FakeArm;
  env: Record<string, string>;
  /** Injected faults and rate-limit answers so far, by cloud. */
  injected: { gcp: number; aws: number; azure: number; rateLimited: number };
  close(): Promise<void>;
}

export async function startOrgFakes(org: Org, o: FakeOptions): Promise<OrgFakes> {
  const rand = rng(o.seed ?? 0xfa017);
  const limits = o.rateLimits !== false;
  const rl = { ...RATE_LIMITS, ...(typeof o.rateLimits === 'object' ? o.rateLimits : {}) };
  const injected = { gcp: 0, aws: 0, azure: 0, rateLimited: 0 };
  let warming = true;
  const gceBucket = new Buckets(rl.gce.size, rl.gce.perSecond);
  const ec2Bucket = new Buckets(rl.ec2.size, rl.ec2.perSecond);
  const ssmBucket = new Buckets(rl.ssm.size, rl.ssm.perSecond);
  const gce = await startFakeGce(org.gce, {
    token: GCE_TOKEN,
    latencyMs: o.latencyMs,
    pageSize: PAGE.gce,
    fault: (req): GceErrorKind | undefined => {
      if (limits && req.project && !gceBucket.take(req.project)) {
        injected.rateLimited++;
        return 'rateLimit403';
      }
      if (o.faultRate > 0 && rand() < o.faultRate) {
        injected.gcp++;
        const x = rand();
        return x < 0.4 ? 'rateLimit403' : x < 0.7 ? 'resourceExhausted429' : 'backendError503';
      }
      return undefined;
    },
  });
  const aws = await startFakeAws(org.aws, {
    latencyMs: o.latencyMs,
    pageSize: PAGE.ec2,
    maxResultsRanges: { 'ec2.DescribeNetworkAcls': [5, PAGE.ec2NetworkAcls] },
    fault: (req): AwsFault | undefined => {
      const key = `${req.account}/${req.region}`;
      if (limits && req.service === 'ec2' && !ec2Bucket.take(key)) {
        injected.rateLimited++;
        return 'RequestLimitExceeded';
      }
      if (limits && req.service === 'ssm' && !ssmBucket.take(key)) {
        injected.rateLimited++;
        return 'ThrottlingException';
      }
      if (o.faultRate > 0 && rand() < o.faultRate) {
        injected.aws++;
        const x = rand();
        return x < 0.6 ? 'throttle' : x < 0.8 ? 'unavailable' : 'internal';
      }
      return undefined;
    },
  });
  const arm = await startFakeArm(org.azure, {
    token: ARM_TOKEN,
    latencyMs: o.latencyMs,
    pageSize: PAGE.armNetwork,
    pageSizes: { 'compute.virtualMachines.listAll': PAGE.armVirtualMachines },
    linkBase: 'azure',
    readBucket: { size: rl.arm.size, refillPerSecond: rl.arm.perSecond, enforce: limits },
    throttleRetryAfterSeconds: 1,
    fault: (): ArmFault | undefined => {
      if (warming) return undefined;
      if (o.faultRate > 0 && rand() < o.faultRate) {
        injected.azure++;
        const x = rand();
        return x < 0.5 ? { kind: 'throttled', retryAfterSeconds: 1 } : x < 0.8 ? 'serviceUnavailable' : 'internalServerError';
      }
      return undefined;
    },
  });
  // The fake ARM indexes and serializes a subscription's lists on first use: do it now, not inside the timed run
  // (it would stall the three fakes, which share this process).
  const warm = ['Microsoft.Compute/virtualMachines?api-version=2026-04-01', ...['networkInterfaces', 'publicIPAddresses', 'networkSecurityGroups', 'virtualNetworks', 'bastionHosts'].map((t) => `Microsoft.Network/${t}?api-version=2026-01-01`)];
  for (const sub of Object.keys(org.azure.subscriptions)) {
    await Promise.all(warm.map((w) => fetch(`${arm.baseUrl}/subscriptions/${sub}/providers/${w}`, { headers: { authorization: `Bearer ${ARM_TOKEN}` } }).then((r) => r.arrayBuffer())));
  }
  arm.requests.length = 0;
  warming = false;
  const env = {
    GOOGLE_OAUTH_ACCESS_TOKEN: GCE_TOKEN,
    RDPCLOUD_GCP_ENDPOINT: `http://127.0.0.1:${gce.port}`,
    RDPCLOUD_GCP_RESOURCE_MANAGER_ENDPOINT: `http://127.0.0.1:${gce.port}`,
    GOOGLE_APPLICATION_CREDENTIALS: '/nonexistent/rdpcloud-bench-no-adc.json',
    AWS_ACCESS_KEY_ID: AWS_KEY,
    AWS_SECRET_ACCESS_KEY: 'org-bench-secret-not-real',
    AWS_REGION: 'us-east-1',
    AWS_ENDPOINT_URL: `http://127.0.0.1:${aws.port}`,
    AWS_EC2_METADATA_DISABLED: 'true',
    RDPCLOUD_AZURE_TOKEN: ARM_TOKEN,
    RDPCLOUD_AZURE_ENDPOINT: `http://127.0.0.1:${arm.port}`,
  };
  return { gce, aws, arm, env, injected, close: async () => void (await Promise.all([gce.close(), aws.close(), arm.close()])) };
}

/** What the fakes answered, by operation: 2xx answers are requests, every other answer is a retry. */
export function countRequests(f: OrgFakes): { requests: Record<string, number>; retries: Record<string, number> } {
  const requests: Record<string, number> = {};
  const retries: Record<string, number> = {};
  const count = (op: string, status: number | undefined) => add(status !== undefined && status < 400 ? requests : retries, op, 1);
  for (const r of f.gce.requests) count(`gcp ${r.op}`, r.status);
  for (const r of f.aws.requests) count(`aws ${r.op}`, r.status);
  for (const r of f.arm.requests) count(`azure ${r.op}${r.op === 'compute.virtualMachines.listAll' && r.query.statusOnly === 'true' ? '(statusOnly)' : ''}`, r.status);
  const sort = (m: Record<string, number>) => Object.fromEntries(Object.entries(m).sort(([a], [b]) => a.localeCompare(b)));
  return { requests: sort(requests), retries: sort(retries) };
}

/** Operations an audit may make: list calls, per-scope and per-network lookups; nothing per instance. */
export const AUDIT_OPERATIONS = new Set([
  'gcp rm.projects.search', 'gcp instances.aggregatedList', 'gcp firewalls.list', 'gcp networks.list', 'gcp networkFirewallPolicies.aggregatedList', 'gcp projects.get',
  'gcp networks.getEffectiveFirewalls', 'gcp firewallPolicies.get', 'gcp rm.folders.get',
  'aws organizations.ListAccounts', 'aws sts.AssumeRole', 'aws sts.GetCallerIdentity', 'aws ec2.DescribeRegions', 'aws ec2.DescribeInstances', 'aws ec2.DescribeSecurityGroups',
  'aws ec2.DescribeRouteTables', 'aws ec2.DescribeNetworkAcls', 'aws ec2.GetManagedPrefixListEntries', 'aws ssm.DescribeInstanceInformation',
  'azure subscriptions.list', 'azure compute.virtualMachines.listAll', 'azure compute.virtualMachines.listAll(statusOnly)', 'azure network.networkInterfaces.listAll',
  'azure network.publicIPAddresses.listAll', 'azure network.networkSecurityGroups.listAll', 'azure network.virtualNetworks.listAll', 'azure network.bastionHosts.list',
]);

// ------------------------------------------------------------------------------------------------
// The section
// ------------------------------------------------------------------------------------------------

interface Audited {
  wallS: number;
  peakRssMiB: number;
  /** CPU seconds of the rdpcloud process, and of the benchmark's own (the fakes) while it ran. */
  cpuS: number;
  fakesCpuS: number;
  code: number;
  stderr: string;
  /** What is wrong with the answer (scopes lost, instances missing), or undefined. */
  wrong?: string;
  scopesOk: number;
  scopesTotal: number;
  /** A digest of the results, to compare a throttled run with the fault-free one. */
  digest: string;
  requests: Record<string, number>;
  retries: Record<string, number>;
  injected: OrgFakes['injected'];
  phases: ReturnType<typeof phasesOf>;
}

const sum = (m: Record<string, number>) => Object.values(m).reduce((a, b) => a + b, 0);
const sumOf = (m: Record<string, number>, provider: string) => Object.entries(m).reduce((a, [op, n]) => a + (op.startsWith(`${provider} `) ? n : 0), 0);
const flagOf = (args: string[], name: string) => {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : undefined;
};

async function digestOf(results: unknown[]): Promise<string> {
  const { createHash } = await import('node:crypto');
  const h = createHash('sha256');
  for (const r of results) h.update(JSON.stringify(r));
  return h.digest('hex').slice(0, 16);
}

/** One audit of the whole org against fresh fakes. */
async function auditOnce(org: Org, fo: FakeOptions, o: { extraArgs?: string[] } = {}): Promise<Audited> {
  const fakes = await startOrgFakes(org, fo);
  const dir = mkdtempSync(join(tmpdir(), 'rdpcloud-org-'));
  try {
    const report = join(dir, 'report.json');
    const r = await runCli(['audit', ...org.flags, ...(o.extraArgs ?? []), '--output', report], { ...fakes.env, RDPCLOUD_TIMINGS: '1' }, { stdoutToFile: true });
    const counted = countRequests(fakes);
    const injected = { ...fakes.injected };
    const expected = { gcp: 0, aws: 0, azure: 0 } as Record<string, number>;
    for (const s of org.scopes) expected[s.provider]! += s.instances;
    let wrong: string | undefined;
    let scopesOk = 0;
    let digest = '';
    if (r.code !== 0 && r.code !== 1) wrong = `exit ${r.code}: ${r.stderr.trim().split('\n').slice(-3).join(' / ')}`;
    else {
      const rep = JSON.parse(readFileSync(report, 'utf8')) as { scopes: { provider: string; scope: string; status: string; error?: string }[]; instances: { provider: string }[]; results: unknown[] };
      scopesOk = rep.scopes.filter((s) => s.status === 'ok').length;
      const failed = rep.scopes.filter((s) => s.status !== 'ok');
      if (failed.length) wrong = `${failed.length} scope(s) failed, e.g. ${failed[0]!.provider}:${failed[0]!.scope}: ${failed[0]!.error}`;
      const got = { gcp: 0, aws: 0, azure: 0 } as Record<string, number>;
      for (const i of rep.instances) got[i.provider]!++;
      for (const p of ['gcp', 'aws', 'azure']) if (got[p] !== expected[p]) wrong ??= `${p}: ${got[p]} instances, expected ${expected[p]}`;
      if (rep.scopes.length !== org.scopes.length) wrong ??= `${rep.scopes.length} scopes, expected ${org.scopes.length}`;
      digest = await digestOf(rep.results);
    }
    return { wallS: r.wallMs / 1000, peakRssMiB: r.peakRssMiB, cpuS: r.cpuS, fakesCpuS: r.benchCpuS, code: r.code, stderr: r.stderr, wrong, scopesOk, scopesTotal: org.scopes.length, digest, ...counted, injected, phases: phasesOf(r.stderr) };
  } finally {
    rmSync(dir, { recursive: true, force: true });
    await fakes.close();
  }
}

export async function run(o: { quick: boolean; args: string[] }): Promise<Section> {
  const latencyMs = Number(flagOf(o.args, '--latency') ?? 80);
  // Best of 3 (fault-free and throttled alike) below 100k, where a run is seconds and this machine's noise is
  // +-20%; the 100k runs once unless --runs says otherwise.
  const runsFlag = flagOf(o.args, '--runs');
  const runsFor = (size: number) => Math.max(1, Number(runsFlag ?? (size >= 100_000 ? 1 : 3)));
  const sizes = (flagOf(o.args, '--org-sizes') ?? (o.quick ? '1000,10000' : '1000,10000,100000')).split(',').map(Number);
  const { DEFAULT_CONCURRENCY } = await import('../src/cli/collect.js');
  const concurrency = { ...DEFAULT_CONCURRENCY };
  const rows: Row[] = [];
  const data: Record<string, unknown> = { latencyMs, runs: Object.fromEntries(sizes.map((n) => [n, runsFor(n)])), concurrency, pages: PAGE };
  // The yardstick for the CPU rows: what one request costs the SDK's own client (bench/sdk-floor.ts).
  const floor = await floorOfSdk();
  const cores = cpus().length;
  data.sdkFloor = { ...floor, cores };
  for (const size of sizes) {
    const org = buildOrg(defaultSpec(size));
    const label = `${fmt(size)} instances`;
    const minimum = minimumRequests(org);
    const minTotal = sum(minimum);
    const bound = lowerBound(org, concurrency);
    const boundS = (bound.roundTrips * latencyMs) / 1000;
    // Fault-free (rate limits on): best of `runs` by wall.
    const runs = runsFor(size);
    const clean: Audited[] = [];
    for (let k = 0; k < runs; k++) clean.push(await auditOnce(org, { latencyMs, faultRate: 0 }));
    const best = clean.reduce((a, b) => (b.wallS < a.wallS ? b : a));
    const engine = best.phases.engine?.s;
    const phaseText = Object.entries(best.phases).map(([p, x]) => `${p} ${fmt(x.s, 2)} s (rss ${fmt(x.rssMiB)} MiB)`).join(', ');
    const throttled: Audited[] = [];
    for (let k = 0; k < runs; k++) throttled.push(await auditOnce(org, { latencyMs, faultRate: 0.1, seed: 0xfa017 + k }));
    const tBest = throttled.reduce((a, b) => (b.wallS < a.wallS ? b : a));
    const total = sum(best.requests);
    const perInstance = Object.entries(best.requests).filter(([op]) => !AUDIT_OPERATIONS.has(op));
    const over = Object.entries(best.requests)
      .filter(([op, n]) => n !== (minimum[op] ?? 0))
      .map(([op, n]) => `${op} ${n} vs ${minimum[op] ?? 0}`);
    for (const op of Object.keys(minimum)) if (!(op in best.requests)) over.push(`${op} 0 vs ${minimum[op]}`);
    const wrong = best.wrong;
    rows.push({
      name: `${label}: API requests`,
      measured: total,
      unit: 'req',
      target: Math.floor(minTotal * 1.05),
      targetNote: `1.05 x minimum ${fmt(minTotal)}`,
      ok: !wrong && total <= minTotal * 1.05,
      detail: `${(['gcp', 'aws', 'azure'] as const).map((p) => `${p} ${fmt(sumOf(best.requests, p))}/${fmt(sumOf(minimum, p))}`).join(', ')}; ${over.length ? `differs: ${over.join('; ')}` : 'every operation at its minimum'}; retries ${fmt(sum(best.retries))} (${fmt(best.injected.rateLimited)} rate-limited)${wrong ? `; WRONG: ${wrong}` : ''}`,
    });
    rows.push({ name: `${label}: per-instance requests`, measured: perInstance.reduce((a, [, n]) => a + n, 0), unit: 'req', target: 0, ok: perInstance.length === 0, detail: perInstance.length ? perInstance.map(([op, n]) => `${op} ${n}`).join(', ') : 'none' });
    rows.push({
      name: `${label}: wall`,
      measured: best.wallS,
      unit: 's',
      target: boundS * 1.3,
      targetNote: `1.3 x bound ${fmt(boundS, 2)} s`,
      ok: !wrong && best.wallS <= boundS * 1.3,
      detail: `${runs > 1 ? `best of ${runs} (${clean.map((c) => fmt(c.wallS, 2)).join(' / ')} s); ` : ''}bound = ${bound.roundTrips} round trips x ${latencyMs} ms (gcp ${bound.byProvider.gcp}, aws ${bound.byProvider.aws}, azure ${bound.byProvider.azure}; concurrency ${concurrency.gcp}/${concurrency.aws}/${concurrency.azure}); phases: ${phasesText(best.phases)}; each cloud read by ${collectedText(best.stderr)}; cpu: rdpcloud ${fmt(best.cpuS, 2)} s, the fakes ${fmt(best.fakesCpuS, 2)} s`,
    });
    // The wall target as CPU: the whole run's CPU (rdpcloud's and the fakes', which share this machine) must
    // fit in 1.3 x the bound on every core; per request, what that leaves against what it costs.
    const allowedCpuS = boundS * 1.3 * cores - best.fakesCpuS;
    rows.push({
      name: `${label}: CPU per request`,
      measured: (best.cpuS * 1000) / total,
      unit: 'ms',
      detail: `rdpcloud's CPU (${fmt(best.cpuS, 2)} s: reading, judging, the report, all in) over its ${fmt(total)} requests; the wall target leaves ${fmt(Math.max(0, allowedCpuS), 2)} s of CPU on ${cores} cores once the fakes have theirs (${fmt(best.fakesCpuS, 2)} s): ${fmt(Math.max(0, (allowedCpuS * 1000) / total), 2)} ms per request; the SDK's own client sending one request costs ${fmt(floor.msPerRequest, 2)} ms (EC2Client.send, a one-group answer, bench/sdk-floor.ts)`,
    });
    rows.push({
      name: `${label}: peak RSS`,
      measured: best.peakRssMiB,
      unit: 'MiB',
      ...(size >= 100_000 ? { target: 512, ok: !wrong && best.peakRssMiB <= 512 } : {}),
      detail: `the rdpcloud process alone; after each phase: ${phaseText || 'no timings'}`,
    });
    // The default format as well: a CI job keeps the JSON report and shows the table in its log. The table
    // keeps a row per result, not the results (src/reporters/table.ts TableRows).
    const withTable = size >= 100_000 ? await auditOnce(org, { latencyMs, faultRate: 0 }, { extraArgs: ['--format', 'table'] }) : undefined;
    if (withTable) {
      rows.push({
        name: `${label}: peak RSS, table too`,
        measured: withTable.peakRssMiB,
        unit: 'MiB',
        target: 512,
        ok: !withTable.wrong && withTable.digest === best.digest && withTable.peakRssMiB <= 512,
        detail: `the same audit with the table on stdout beside the JSON report (the default format, as a CI log shows it): wall ${fmt(withTable.wallS, 2)} s, report phase ${fmt(withTable.phases.report?.s ?? Number.NaN, 2)} s; results ${withTable.digest === best.digest ? 'identical' : 'DIFFER'}${withTable.wrong ? `; WRONG: ${withTable.wrong}` : ''}`,
      });
    }
    rows.push({ name: `${label}: engine (evaluate)`, measured: engine ?? Number.NaN, unit: 's', detail: engine === undefined ? 'no timing line' : `the audit's own evaluate() (RDPCLOUD_TIMINGS); policies ${fmt(best.phases.policies?.s ?? Number.NaN, 2)} s, report ${fmt(best.phases.report?.s ?? Number.NaN, 2)} s` });
    const lost = throttled.reduce((n, t) => n + (t.scopesTotal - t.scopesOk), 0);
    const differs = throttled.filter((t) => t.digest !== best.digest).length;
    rows.push({
      name: `${label}, 10% throttled/5xx: scopes lost`,
      measured: lost,
      unit: 'scopes',
      target: 0,
      ok: lost === 0 && differs === 0 && throttled.every((t) => !t.wrong),
      detail: `${fmt(sum(tBest.retries))} retries (injected: gcp ${tBest.injected.gcp}, aws ${tBest.injected.aws}, azure ${tBest.injected.azure}; rate-limited ${tBest.injected.rateLimited}); results ${differs ? `DIFFER in ${differs} run(s)` : 'identical to the fault-free run'}${tBest.wrong ? `; WRONG: ${tBest.wrong}` : ''}`,
    });
    rows.push({
      name: `${label}, 10% throttled/5xx: wall`,
      measured: tBest.wallS,
      unit: 's',
      target: best.wallS * 1.5,
      targetNote: `1.5 x fault-free ${fmt(best.wallS, 2)} s`,
      ok: !tBest.wrong && tBest.wallS <= best.wallS * 1.5,
      detail: `${runs > 1 ? `best of ${runs} (${throttled.map((c) => fmt(c.wallS, 2)).join(' / ')} s); ` : ''}peak RSS ${fmt(tBest.peakRssMiB)} MiB`,
    });
    data[String(size)] = {
      spec: org.spec,
      scopes: { gcp: org.scopes.filter((s) => s.provider === 'gcp').length, aws: org.scopes.filter((s) => s.provider === 'aws').length, azure: org.scopes.filter((s) => s.provider === 'azure').length },
      minimum,
      requests: best.requests,
      retries: best.retries,
      lowerBound: { ...bound, seconds: boundS },
      faultFree: clean.map((c) => ({ wallS: c.wallS, peakRssMiB: c.peakRssMiB, code: c.code, wrong: c.wrong })),
      engineS: engine,
      phases: best.phases,
      ...(withTable ? { withTable: { wallS: withTable.wallS, peakRssMiB: withTable.peakRssMiB, phases: withTable.phases, code: withTable.code, wrong: withTable.wrong } } : {}),
      throttled: throttled.map((t) => ({ wallS: t.wallS, peakRssMiB: t.peakRssMiB, code: t.code, wrong: t.wrong, requests: t.requests, retries: t.retries, injected: t.injected, scopesOk: t.scopesOk })),
    };
  }
  return { title: `Organisation on GCP, AWS and Azure (fakes with ${latencyMs} ms latency, real page caps, per-scope rate limits)`, rows, data };
}
