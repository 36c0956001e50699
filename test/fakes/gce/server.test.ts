/**
 * Proves the fake GCE / Resource Manager server against the REAL Google SDK clients
 * (@google-cloud/compute 6.15, @google-cloud/resource-manager 6.3, google-gax 5 REST transport).
 * Everything talks to 127.0.0.1 only; credentials are an explicit OAuth2Client with a fake token.
 */
process.env.METADATA_SERVER_DETECTION = 'none';

import net from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  FirewallPoliciesClient,
  FirewallsClient,
  InstancesClient,
  NetworksClient,
  ProjectsClient as ComputeProjectsClient,
  RegionNetworkFirewallPoliciesClient,
} from '@google-cloud/compute';
import { FoldersClient, ProjectsClient as RmProjectsClient } from '@google-cloud/resource-manager';
import { OAuth2Client } from 'google-auth-library';
import { startFakeGce, type FakeGce, type GceErrorKind, type GceWorld } from './server.js';
import { firewall, instance, network, networkUrl } from './fixtures.js';

const TOKEN = 'fake-access-token';

// Guard: every socket this test file opens must go to loopback (no metadata server, no googleapis.com).
const connectTargets: string[] = [];
const origConnect = net.Socket.prototype.connect;
net.Socket.prototype.connect = function (this: net.Socket, ...args: any[]) {
  const a0 = args[0];
  const opt = Array.isArray(a0) ? a0[0] : a0;
  const host: string | undefined =
    typeof opt === 'object' && opt !== null ? (opt.path ? 'unix' : (opt.host ?? 'localhost')) : typeof args[1] === 'string' ? args[1] : 'localhost';
  connectTargets.push(host!);
  if (!['127.0.0.1', 'localhost', '::1', 'unix'].includes(host!)) {
    process.nextTick(() => this.destroy(new Error(`blocked non-loopback connection to ${host}`)));
    return this;
  }
  return (origConnect as any).apply(this, args);
} as any;
afterAll(() => {
  net.Socket.prototype.connect = origConnect;
  expect(connectTargets.length).toBeGreaterThan(0);
  expect(connectTargets.filter((h) => !['127.0.0.1', 'localhost', '::1', 'unix'].includes(h))).toEqual([]);
});

function authClient(token = TOKEN): OAuth2Client {
  const auth = new OAuth2Client();
  auth.setCredentials({ access_token: token }); // no expiry_date, no refresh_token: used as-is, never refreshed
  return auth;
}

/** Compute clients: REST is forced by the constructor; port must be separate from apiEndpoint. */
function computeOpts(fake: FakeGce, token = TOKEN) {
  return { apiEndpoint: fake.host, port: fake.port, protocol: 'http', authClient: authClient(token) } as any;
}

/** Resource Manager clients default to gRPC in Node: `fallback: true` (or 'rest') is required. */
function rmOpts(fake: FakeGce, token = TOKEN) {
  return { ...computeOpts(fake, token), fallback: true } as any;
}

/** GaxiosError.message is the raw JSON error body. */
function errBody(e: any): any {
  return JSON.parse(e.message).error;
}

async function catchErr(p: Promise<unknown>): Promise<any> {
  try {
    await p;
  } catch (e) {
    return e;
  }
  throw new Error('expected the call to fail');
}

const P = 'proj-a';
const NET = networkUrl(P, 'default');

function buildWorld(): GceWorld {
  const instances = [
    instance({ project: P, zone: 'us-central1-a', name: 'win-1', natIP: '34.1.2.3', tags: ['rdp'], windows: true }),
    instance({ project: P, zone: 'us-central1-a', name: 'win-2', windows: true }),
    instance({ project: P, zone: 'europe-west4-b', name: 'win-3', natIP: '34.1.2.4', externalIpv6: '2600:1900:4000:1::' }),
    instance({ project: P, zone: 'europe-west4-b', name: 'lin-1' }),
    instance({ project: P, zone: 'asia-east1-c', name: 'lin-2', network: 'vpc2' }),
  ];
  const firewalls = [
    firewall({ project: P, name: 'default-allow-rdp', priority: 65534, sourceRanges: ['0.0.0.0/0'], allowed: [{ IPProtocol: 'tcp', ports: ['3389'] }] }),
    firewall({ project: P, name: 'default-allow-ssh', priority: 65534, sourceRanges: ['0.0.0.0/0'], allowed: [{ IPProtocol: 'tcp', ports: ['22'] }] }),
    firewall({ project: P, name: 'deny-rdp-tagged', sourceRanges: ['0.0.0.0/0'], denied: [{ IPProtocol: 'tcp', ports: ['3000-4000'] }], targetTags: ['locked'] }),
    firewall({ project: P, name: 'iap-rdp', sourceRanges: ['35.235.240.0/20'], allowed: [{ IPProtocol: 'tcp', ports: ['3389'] }] }),
    firewall({ project: P, name: 'vpc2-all', network: 'vpc2', sourceRanges: ['10.0.0.0/8'], allowed: [{ IPProtocol: 'all' }] }),
  ];
  const hierPolicy = {
    kind: 'compute#firewallPolicy',
    id: '123456789012',
    name: '123456789012',
    shortName: 'org-baseline',
    displayName: 'org-baseline',
    parent: 'organizations/111',
    rules: [
      {
        kind: 'compute#firewallPolicyRule',
        priority: 100,
        direction: 'INGRESS',
        action: 'deny',
        match: { srcIpRanges: ['0.0.0.0/0'], layer4Configs: [{ ipProtocol: 'tcp', ports: ['3389'] }] },
        enableLogging: false,
        disabled: false,
      },
      {
        kind: 'compute#firewallPolicyRule',
        priority: 2147483647,
        direction: 'INGRESS',
        action: 'goto_next',
        match: { srcIpRanges: ['0.0.0.0/0'], layer4Configs: [{ ipProtocol: 'all' }] },
      },
    ],
  };
  const effectiveRule = { ...hierPolicy.rules[0] };
  return {
    folders: { 'folders/456': { parent: 'organizations/111', displayName: 'prod' } },
    firewallPolicies: { '123456789012': hierPolicy },
    projects: {
      [P]: {
        projectNumber: '111111111111',
        parent: 'folders/456',
        displayName: 'Project A',
        zones: ['us-central1-a', 'us-central1-b', 'europe-west4-b', 'asia-east1-c'],
        instances,
        firewalls,
        networks: [network(P, 'default', 'BEFORE_CLASSIC_FIREWALL'), network(P, 'vpc2')],
        effectiveFirewalls: {
          default: {
            firewalls: firewalls.filter((f) => f.network === NET),
            firewallPolicys: [
              { name: '123456789012', shortName: 'org-baseline', displayName: 'org-baseline', type: 'HIERARCHY', rules: [effectiveRule] },
            ],
          },
        },
        regionalEffectiveFirewalls: {
          'us-central1/default': {
            firewalls: firewalls.filter((f) => f.network === NET),
            firewallPolicys: [
              { name: '123456789012', shortName: 'org-baseline', type: 'HIERARCHY', rules: [effectiveRule] },
              { name: 'regional-pol', type: 'NETWORK_REGIONAL', priority: 1000, rules: [] },
            ],
          },
        },
        commonInstanceMetadata: { items: [{ key: 'enable-oslogin', value: 'TRUE' }] },
      },
      'proj-b': { parent: 'organizations/111', instances: [], firewalls: [], networks: [] },
      'proj-c': { parent: 'folders/456', lifecycleState: 'DELETE_REQUESTED', instances: [], firewalls: [], networks: [] },
      'proj-d': { parent: 'folders/456', instances: [], firewalls: [], networks: [] },
      'proj-e': { parent: 'organizations/111', instances: [], firewalls: [], networks: [] },
    },
  };
}

describe('fake GCE with the real @google-cloud/compute clients', () => {
  let fake: FakeGce;
  beforeAll(async () => {
    fake = await startFakeGce(buildWorld());
  });
  afterAll(async () => {
    await fake.close();
  });

  it('instances.aggregatedList: 3 pages, every zone on every page, warnings for empty scopes', async () => {
    const before = fake.requests.length;
    const ic = new InstancesClient(computeOpts(fake));
    const tuples: [string, any][] = [];
    for await (const t of ic.aggregatedListAsync({ project: P, maxResults: 2, returnPartialSuccess: true }, { autoPaginate: false })) {
      tuples.push(t as [string, any]);
    }
    const reqs = fake.requests.slice(before);
    expect(reqs.map((r) => r.op)).toEqual(['instances.aggregatedList', 'instances.aggregatedList', 'instances.aggregatedList']);
    expect(reqs[0]!.path).toBe(`/compute/v1/projects/${P}/aggregated/instances`);
    expect(reqs[0]!.query).toEqual({ maxResults: '2', returnPartialSuccess: 'true' });
    expect(reqs[1]!.query.pageToken).toBeTruthy();
    expect(reqs[2]!.query.pageToken).toBeTruthy();
    expect(reqs.every((r) => r.status === 200 && r.authorization === `Bearer ${TOKEN}`)).toBe(true);

    // 4 zones x 3 pages tuples, including warning-only scopes
    expect(tuples).toHaveLength(12);
    const names = tuples.flatMap(([, v]) => (v.instances ?? []).map((i: any) => i.name));
    expect(names).toEqual(['win-1', 'win-2', 'win-3', 'lin-1', 'lin-2']);
    const warn = tuples.find(([k, v]) => k === 'zones/us-central1-b' && v.warning)!;
    expect(warn[1].warning.code).toBe('NO_RESULTS_ON_PAGE');
    expect(warn[1].warning.data[0]).toMatchObject({ key: 'scope', value: 'zones/us-central1-b' });
    // SDK objects are protobuf-ish; fields read directly
    const win1 = tuples.flatMap(([, v]) => v.instances ?? []).find((i: any) => i.name === 'win-1');
    expect(win1.networkInterfaces[0].accessConfigs[0].natIP).toBe('34.1.2.3');
    expect(win1.tags.items).toEqual(['rdp']);
    const win3 = tuples.flatMap(([, v]) => v.instances ?? []).find((i: any) => i.name === 'win-3');
    expect(win3.networkInterfaces[0].ipv6AccessConfigs[0].externalIpv6).toBe('2600:1900:4000:1::');
  });

  it('aggregatedList wire shape: items map, nextPageToken, unreachables, server-side page cap', async () => {
    const capped = await startFakeGce(buildWorld(), { pageSize: 3 });
    try {
      const res = await fetch(`http://127.0.0.1:${capped.port}/compute/v1/projects/${P}/aggregated/instances`);
      const body: any = await res.json();
      expect(body.kind).toBe('compute#instanceAggregatedList');
      expect(body.id).toBe(`projects/${P}/aggregated/instances`);
      expect(body.unreachables).toEqual([]);
      expect(Object.keys(body.items)).toEqual(['zones/asia-east1-c', 'zones/europe-west4-b', 'zones/us-central1-a', 'zones/us-central1-b']);
      expect(body.items['zones/us-central1-a'].instances).toHaveLength(2);
      expect(body.items['zones/europe-west4-b'].instances).toHaveLength(1);
      expect(body.items['zones/asia-east1-c'].warning.message).toBe("There are no results for scope 'zones/asia-east1-c' on this page.");
      expect(body.nextPageToken).toBeTruthy();
      const res2 = await fetch(`http://127.0.0.1:${capped.port}/compute/v1/projects/${P}/aggregated/instances?maxResults=500&pageToken=${body.nextPageToken}`);
      const body2: any = await res2.json();
      expect(body2.nextPageToken).toBeUndefined();
      // within a page, scopes come in sorted zone order: asia-east1-c (lin-2) before europe-west4-b (lin-1)
      expect(Object.values(body2.items).flatMap((v: any) => v.instances ?? []).map((i: any) => i.name)).toEqual(['lin-2', 'lin-1']);
      // maxResults above 500 is rejected like GCE does
      const bad = await fetch(`http://127.0.0.1:${capped.port}/compute/v1/projects/${P}/aggregated/instances?maxResults=501`);
      expect(bad.status).toBe(400);
    } finally {
      await capped.close();
    }
  });

  it('firewalls.list pages with maxResults/pageToken; networks.list; items omitted when empty', async () => {
    const before = fake.requests.length;
    const fc = new FirewallsClient(computeOpts(fake));
    const fws: any[] = [];
    for await (const f of fc.listAsync({ project: P, maxResults: 2 }, { autoPaginate: false })) fws.push(f);
    expect(fws.map((f) => f.name)).toEqual(['default-allow-rdp', 'default-allow-ssh', 'deny-rdp-tagged', 'iap-rdp', 'vpc2-all']);
    expect(fws[0].allowed[0].IPProtocol).toBe('tcp');
    expect(fws[0].allowed[0].ports).toEqual(['3389']);
    expect(fws[0].sourceRanges).toEqual(['0.0.0.0/0']);
    expect(fws[2].denied[0].ports).toEqual(['3000-4000']);
    const reqs = fake.requests.slice(before);
    expect(reqs.map((r) => `${r.op} ${r.path}`)).toEqual(Array(3).fill(`firewalls.list /compute/v1/projects/${P}/global/firewalls`));

    const nc = new NetworksClient(computeOpts(fake));
    const nets: any[] = [];
    for await (const n of nc.listAsync({ project: P }, { autoPaginate: false })) nets.push(n);
    expect(nets.map((n) => n.name)).toEqual(['default', 'vpc2']);

    const empty: any[] = [];
    for await (const f of fc.listAsync({ project: 'proj-b' }, { autoPaginate: false })) empty.push(f);
    expect(empty).toEqual([]);
    const raw: any = await (await fetch(`http://127.0.0.1:${fake.port}/compute/v1/projects/proj-b/global/firewalls`)).json();
    expect(raw).toEqual({
      kind: 'compute#firewallList',
      id: 'projects/proj-b/global/firewalls',
      selfLink: 'https://www.googleapis.com/compute/v1/projects/proj-b/global/firewalls',
    });
  });

  it('networks.get and networks.getEffectiveFirewalls (configured and derived)', async () => {
    const nc = new NetworksClient(computeOpts(fake));
    const [net] = await nc.get({ project: P, network: 'default' });
    expect(net.networkFirewallPolicyEnforcementOrder).toBe('BEFORE_CLASSIC_FIREWALL');

    const [eff] = await nc.getEffectiveFirewalls({ project: P, network: 'default' });
    expect(eff.firewalls!.map((f) => f.name)).toEqual(['default-allow-rdp', 'default-allow-ssh', 'deny-rdp-tagged', 'iap-rdp']);
    expect(eff.firewallPolicys![0]!.type).toBe('HIERARCHY');
    expect(eff.firewallPolicys![0]!.rules![0]!.action).toBe('deny');
    expect(eff.firewallPolicys![0]!.rules![0]!.match!.layer4Configs![0]!.ports).toEqual(['3389']);

    // not configured: derived from the classic firewalls on that network, no policies
    const [eff2] = await nc.getEffectiveFirewalls({ project: P, network: 'vpc2' });
    expect(eff2.firewalls!.map((f) => f.name)).toEqual(['vpc2-all']);
    expect(eff2.firewallPolicys).toEqual([]);

    const e = await catchErr(nc.get({ project: P, network: 'nope' }));
    expect(e.status).toBe(404);
    expect(errBody(e).message).toBe(`The resource 'projects/${P}/global/networks/nope' was not found`);
    expect(fake.requests.at(-1)!.path).toBe(`/compute/v1/projects/${P}/global/networks/nope`);
  });

  it('regionNetworkFirewallPolicies.getEffectiveFirewalls takes the network URL as a query param', async () => {
    const rc = new RegionNetworkFirewallPoliciesClient(computeOpts(fake));
    const [eff] = await rc.getEffectiveFirewalls({ project: P, region: 'us-central1', network: NET });
    expect(eff.firewallPolicys!.map((p) => p.type)).toEqual(['HIERARCHY', 'NETWORK_REGIONAL']);
    const last = fake.requests.at(-1)!;
    expect(last.op).toBe('regionNetworkFirewallPolicies.getEffectiveFirewalls');
    expect(last.path).toBe(`/compute/v1/projects/${P}/regions/us-central1/firewallPolicies/getEffectiveFirewalls`);
    expect(last.query).toEqual({ network: NET });
  });

  it('firewallPolicies.get (hierarchical, global path) and compute projects.get (commonInstanceMetadata)', async () => {
    const fpc = new FirewallPoliciesClient(computeOpts(fake));
    const [pol] = await fpc.get({ firewallPolicy: '123456789012' });
    expect(pol.parent).toBe('organizations/111');
    expect(pol.shortName).toBe('org-baseline');
    expect(pol.rules!.map((r) => r.action)).toEqual(['deny', 'goto_next']);
    expect(fake.requests.at(-1)!.path).toBe('/compute/v1/locations/global/firewallPolicies/123456789012');

    const pc = new ComputeProjectsClient(computeOpts(fake));
    const [proj] = await pc.get({ project: P });
    expect(proj.name).toBe(P);
    expect(proj.id).toBe('111111111111');
    // protobuf objects carry `_key`-style oneof markers: compare fields, not whole objects
    expect(proj.commonInstanceMetadata!.items!.map((i) => [i.key, i.value])).toEqual([['enable-oslogin', 'TRUE']]);
    expect(fake.requests.at(-1)).toMatchObject({ op: 'projects.get', path: `/compute/v1/projects/${P}`, project: P });
  });

  it('instances.get and instances.getEffectiveFirewalls (nic0 -> regional/network effective firewalls)', async () => {
    const ic = new InstancesClient(computeOpts(fake));
    const [inst] = await ic.get({ project: P, zone: 'us-central1-a', instance: 'win-1' });
    expect(inst.name).toBe('win-1');
    const [eff] = await ic.getEffectiveFirewalls({ project: P, zone: 'us-central1-a', instance: 'win-1', networkInterface: 'nic0' });
    expect(eff.firewallPolicys!.map((p) => p.name)).toEqual(['123456789012', 'regional-pol']); // us-central1 regional config
    expect(fake.requests.at(-1)).toMatchObject({
      op: 'instances.getEffectiveFirewalls',
      path: `/compute/v1/projects/${P}/zones/us-central1-a/instances/win-1/getEffectiveFirewalls`,
      query: { networkInterface: 'nic0' },
    });
    const [eff3] = await ic.getEffectiveFirewalls({ project: P, zone: 'europe-west4-b', instance: 'win-3', networkInterface: 'nic0' });
    expect(eff3.firewallPolicys!.map((p) => p.type)).toEqual(['HIERARCHY']); // network-level config
    const e = await catchErr(ic.get({ project: P, zone: 'us-central1-a', instance: 'ghost' }));
    expect(e.status).toBe(404);
    expect(errBody(e).errors[0].reason).toBe('notFound');
  });
});

describe('fake Resource Manager v3 with the real @google-cloud/resource-manager clients (REST)', () => {
  let fake: FakeGce;
  beforeAll(async () => {
    fake = await startFakeGce(buildWorld());
  });
  afterAll(async () => {
    await fake.close();
  });

  it('searchProjectsAsync over 2 pages; v3 project shape; numeric enums on the wire', async () => {
    const before = fake.requests.length;
    const pc = new RmProjectsClient(rmOpts(fake));
    const projects: any[] = [];
    for await (const p of pc.searchProjectsAsync({ pageSize: 3 }, { autoPaginate: false })) projects.push(p);
    expect(projects.map((p) => p.projectId)).toEqual(['proj-a', 'proj-b', 'proj-c', 'proj-d', 'proj-e']);
    const a = projects[0];
    expect(a.name).toBe('projects/111111111111');
    expect(a.parent).toBe('folders/456');
    expect(a.displayName).toBe('Project A');
    expect(a.state).toBe('ACTIVE'); // the client turns the wire's 1 back into the enum name
    expect(projects[2].state).toBe('DELETE_REQUESTED');
    expect(projects[1].name).toMatch(/^projects\/\d{12}$/); // derived number when not given

    const reqs = fake.requests.slice(before);
    expect(reqs.map((r) => r.op)).toEqual(['rm.projects.search', 'rm.projects.search']);
    expect(reqs[0]!.path).toBe('/v3/projects:search');
    expect(reqs[0]!.query).toEqual({ pageSize: '3', $alt: 'json;enum-encoding=int' });
    expect(reqs[1]!.query.pageToken).toBeTruthy();

    // raw wire: state is numeric because the client asks for enum-encoding=int
    const raw: any = await (await fetch(`http://127.0.0.1:${fake.port}/v3/projects:search?query=id:proj-c&$alt=json%3Benum-encoding=int`)).json();
    expect(raw.projects).toHaveLength(1);
    expect(raw.projects[0].state).toBe(2);
  });

  it('search query: field:value terms (AND), wildcards, state', async () => {
    const pc = new RmProjectsClient(rmOpts(fake));
    const ids = async (query: string) => {
      const out: string[] = [];
      for await (const p of pc.searchProjectsAsync({ query }, { autoPaginate: false })) out.push(p.projectId!);
      return out;
    };
    expect(await ids('parent:folders/456')).toEqual(['proj-a', 'proj-c', 'proj-d']);
    expect(await ids('parent:folders/456 state:ACTIVE')).toEqual(['proj-a', 'proj-d']);
    expect(await ids('parent.type:organization parent.id:111')).toEqual(['proj-b', 'proj-e']);
    expect(await ids('id:proj-a OR id:proj-e')).toEqual(['proj-a', 'proj-e']);
    expect(await ids('name:project*')).toEqual(['proj-a']);
  });

  it('getProject (by id and by number) and FoldersClient.getFolder', async () => {
    const pc = new RmProjectsClient(rmOpts(fake));
    const [p] = await pc.getProject({ name: 'projects/proj-a' });
    expect(p.projectId).toBe('proj-a');
    expect(fake.requests.at(-1)).toMatchObject({ op: 'rm.projects.get', path: '/v3/projects/proj-a', project: 'proj-a' });
    const [p2] = await pc.getProject({ name: 'projects/111111111111' });
    expect(p2.projectId).toBe('proj-a');

    const fc = new FoldersClient(rmOpts(fake));
    const [f] = await fc.getFolder({ name: 'folders/456' });
    expect(f).toMatchObject({ name: 'folders/456', parent: 'organizations/111', displayName: 'prod', state: 'ACTIVE' });
    expect(fake.requests.at(-1)).toMatchObject({ op: 'rm.folders.get', path: '/v3/folders/456' });

    // RM hides existence: a missing project / folder is 403 IAM_PERMISSION_DENIED
    const e = await catchErr(pc.getProject({ name: 'projects/ghost' }));
    expect(e.status).toBe(403);
    expect(errBody(e)).toMatchObject({ status: 'PERMISSION_DENIED', details: [{ reason: 'IAM_PERMISSION_DENIED' }] });
    const e2 = await catchErr(fc.getFolder({ name: 'folders/999' }));
    expect(errBody(e2).message).toBe(
      "Permission 'resourcemanager.folders.get' denied on resource '//cloudresourcemanager.googleapis.com/folders/999' (or it may not exist).",
    );
  });

  it('gotcha: a compute client constructor mutates the options object it is given (adds fallback: true)', () => {
    const o = computeOpts(fake);
    expect('fallback' in o).toBe(false);
    new FirewallsClient(o);
    expect(o.fallback).toBe(true);
    const fresh = { ...computeOpts(fake) };
    const rm: any = new RmProjectsClient(fresh);
    expect(rm._opts.fallback).toBe(false); // would be gRPC (TLS) without an explicit fallback
  });
});

describe('errors as Google sends them, as the SDK surfaces them', () => {
  const kinds: GceErrorKind[] = ['serviceDisabled', 'permission', 'notFound', 'rateLimit403', 'resourceExhausted429', 'backendError503'];
  const expected: Record<GceErrorKind, { status: number; reason: string; grpcStatus: string; errorInfo?: string; msg: RegExp }> = {
    serviceDisabled: {
      status: 403,
      reason: 'accessNotConfigured',
      grpcStatus: 'PERMISSION_DENIED',
      errorInfo: 'SERVICE_DISABLED',
      msg: /^Compute Engine API has not been used in project 222222222222 before or it is disabled\. Enable it by visiting https:\/\/console\.developers\.google\.com\/apis\/api\/compute\.googleapis\.com\/overview\?project=222222222222 then retry/,
    },
    permission: { status: 403, reason: 'forbidden', grpcStatus: 'PERMISSION_DENIED', msg: /^Required 'compute\.instances\.list' permission for 'projects\/p-permission'$/ },
    notFound: { status: 404, reason: 'notFound', grpcStatus: 'NOT_FOUND', msg: /^The resource 'projects\/p-notFound' was not found$/ },
    rateLimit403: { status: 403, reason: 'rateLimitExceeded', grpcStatus: 'PERMISSION_DENIED', msg: /^Quota exceeded for quota group/ },
    resourceExhausted429: {
      status: 429,
      reason: 'rateLimitExceeded',
      grpcStatus: 'RESOURCE_EXHAUSTED',
      errorInfo: 'RATE_LIMIT_EXCEEDED',
      msg: /^Quota exceeded for quota metric 'Read requests'/,
    },
    backendError503: { status: 503, reason: 'backendError', grpcStatus: 'UNAVAILABLE', msg: /unavailable/ },
  };
  let fake: FakeGce;
  beforeAll(async () => {
    const world: GceWorld = { projects: {} };
    for (const k of kinds) world.projects[`p-${k}`] = { projectNumber: '222222222222', error: k, instances: [], firewalls: [], networks: [] };
    world.projects['p-ok'] = {
      instances: [instance({ project: 'p-ok', zone: 'us-east1-b', name: 'vm' })],
      firewalls: [],
      networks: [network('p-ok')],
      opErrors: { 'networks.getEffectiveFirewalls': 'permission', 'rm.projects.get': 'backendError503' },
    };
    fake = await startFakeGce(world, {
      fault: (req, attempt) => (req.project === 'p-ok' && req.op === 'firewalls.list' && attempt <= 2 ? 'resourceExhausted429' : undefined),
    });
  });
  afterAll(async () => {
    await fake.close();
  });

  for (const k of kinds) {
    it(`${k}: GaxiosError, numeric status/code, message = JSON body, exactly one request (no SDK retry)`, async () => {
      const before = fake.requests.length;
      const ic = new InstancesClient(computeOpts(fake));
      const e = await catchErr(
        (async () => {
          for await (const _ of ic.aggregatedListAsync({ project: `p-${k}`, maxResults: 500 }, { autoPaginate: false })) void _;
        })(),
      );
      const x = expected[k];
      expect(e.constructor.name).toBe('GaxiosError'); // e.name is plain 'Error'
      expect(e).toBeInstanceOf(Error);
      expect(e.status).toBe(x.status);
      expect(e.code).toBe(x.status); // a number, not a gRPC code
      expect(e.response.status).toBe(x.status);
      const body = errBody(e);
      expect(body.code).toBe(x.status);
      expect(body.status).toBe(x.grpcStatus);
      expect(body.errors[0].reason).toBe(x.reason);
      expect(body.message).toMatch(x.msg);
      if (x.errorInfo) expect(body.details.find((d: any) => d['@type'] === 'type.googleapis.com/google.rpc.ErrorInfo').reason).toBe(x.errorInfo);
      if (k === 'rateLimit403') expect(body.errors[0].domain).toBe('usageLimits');
      const reqs = fake.requests.slice(before);
      expect(reqs).toHaveLength(1);
      expect(reqs[0]).toMatchObject({ op: 'instances.aggregatedList', project: `p-${k}`, status: x.status });
    });
  }

  it('serviceDisabled carries ErrorInfo metadata (service, consumer, activationUrl)', async () => {
    const e = await catchErr(new FirewallsClient(computeOpts(fake)).list({ project: 'p-serviceDisabled' }, { autoPaginate: false }));
    const info = errBody(e).details.find((d: any) => d.reason === 'SERVICE_DISABLED');
    expect(info).toMatchObject({
      domain: 'googleapis.com',
      metadata: { service: 'compute.googleapis.com', consumer: 'projects/222222222222' },
    });
  });

  it('per-operation errors (opErrors) only hit that operation', async () => {
    const nc = new NetworksClient(computeOpts(fake));
    const [net] = await nc.get({ project: 'p-ok', network: 'default' });
    expect(net.name).toBe('default');
    const e = await catchErr(nc.getEffectiveFirewalls({ project: 'p-ok', network: 'default' }));
    expect(e.status).toBe(403);
    expect(errBody(e).message).toBe("Required 'compute.networks.getEffectiveFirewalls' permission for 'projects/p-ok/global/networks/default'");

    // Resource Manager errors are OnePlatform-shaped: no legacy errors[] array; 503 is NOT retried either
    const before = fake.requests.length;
    const e2 = await catchErr(new RmProjectsClient(rmOpts(fake)).getProject({ name: 'projects/p-ok' }));
    expect(e2.status).toBe(503);
    expect(errBody(e2)).toMatchObject({ code: 503, status: 'UNAVAILABLE' });
    expect(fake.requests.length - before).toBe(1);
  });

  it('fault injection sees the attempt number; a caller-side retry succeeds on attempt 3', async () => {
    const fc = new FirewallsClient(computeOpts(fake));
    const seen: number[] = [];
    let result: any[] | undefined;
    for (let i = 0; i < 5 && !result; i++) {
      try {
        [result] = await fc.list({ project: 'p-ok' }, { autoPaginate: false });
      } catch (e: any) {
        seen.push(e.status);
      }
    }
    expect(seen).toEqual([429, 429]);
    expect(result).toEqual([]);
    expect(fake.requests.filter((r) => r.op === 'firewalls.list' && r.project === 'p-ok').map((r) => r.status)).toEqual([429, 429, 200]);
  });

  it('unknown paths get an HTML 404 like Google front ends', async () => {
    // InstancesClient.list (per-zone list) is not served by the fake
    const e = await catchErr(new InstancesClient(computeOpts(fake)).list({ project: 'p-ok', zone: 'us-east1-b' }, { autoPaginate: false }));
    expect(e.status).toBe(404);
    expect(e.message).toMatch(/^<!DOCTYPE html>/);
    expect(fake.requests.at(-1)).toMatchObject({ op: 'unknown', status: 404 });
  });
});

describe('token checking and latency', () => {
  let fake: FakeGce;
  beforeAll(async () => {
    fake = await startFakeGce({ projects: { p1: { instances: [], firewalls: [], networks: [] } } }, { token: TOKEN, latencyMs: 30 });
  });
  afterAll(async () => {
    await fake.close();
  });

  it('right token passes; wrong token is 401 UNAUTHENTICATED and not refreshed or retried', async () => {
    const t0 = Date.now();
    const [fws] = await new FirewallsClient(computeOpts(fake)).list({ project: 'p1' }, { autoPaginate: false });
    expect(fws).toEqual([]);
    expect(Date.now() - t0).toBeGreaterThanOrEqual(25);

    const before = fake.requests.length;
    const e = await catchErr(new FirewallsClient(computeOpts(fake, 'wrong')).list({ project: 'p1' }, { autoPaginate: false }));
    expect(e.status).toBe(401);
    expect(errBody(e)).toMatchObject({ code: 401, status: 'UNAUTHENTICATED', errors: [{ reason: 'authError' }] });
    const e2 = await catchErr(new RmProjectsClient(rmOpts(fake, 'wrong')).getProject({ name: 'projects/p1' }));
    expect(e2.status).toBe(401);
    expect(fake.requests.slice(before).map((r) => `${r.op} ${r.status} ${r.authorization}`)).toEqual([
      'firewalls.list 401 Bearer wrong',
      'rm.projects.get 401 Bearer wrong',
    ]);

    const missing = await fetch(`http://127.0.0.1:${fake.port}/compute/v1/projects/p1/global/firewalls`);
    expect(missing.status).toBe(401);
    expect(((await missing.json()) as any).error.errors[0].reason).toBe('required');
  });
});

describe('scale', () => {
  it('serves 100k instances in 500-instance pages quickly', async () => {
    const zones = ['us-central1-a', 'us-central1-b', 'us-east1-b', 'europe-west1-b', 'asia-east1-a'];
    const instances = Array.from({ length: 100_000 }, (_, i) =>
      instance({ project: 'big', zone: zones[i % zones.length]!, name: `vm-${i}`, natIP: `34.0.${(i >> 8) & 255}.${i & 255}` }),
    );
    const fake = await startFakeGce({ projects: { big: { instances, firewalls: [], networks: [] } } });
    try {
      const t0 = Date.now();
      let token: string | undefined;
      let count = 0;
      let pages = 0;
      do {
        const url = `http://127.0.0.1:${fake.port}/compute/v1/projects/big/aggregated/instances?maxResults=500${token ? `&pageToken=${token}` : ''}`;
        const body: any = await (await fetch(url)).json();
        for (const v of Object.values<any>(body.items)) count += v.instances?.length ?? 0;
        token = body.nextPageToken;
        pages++;
      } while (token);
      expect(count).toBe(100_000);
      expect(pages).toBe(200);
      expect(Date.now() - t0).toBeLessThan(20_000);
    } finally {
      await fake.close();
    }
  });
});
