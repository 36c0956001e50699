// The GCP provider: one project at a time, with the fewest calls the Compute API allows.
// Per project: instances.aggregatedList, firewalls.list, networks.list and networkFirewallPolicies.aggregatedList
// (all paged at 500, all zones/regions at once), projects.get (project metadata); networks.getEffectiveFirewalls
// once per network in use for the run (it returns the hierarchical and global network policies, cloud-apis.md
// 1.3; a Shared VPC network's answer is the same for every service project). Nothing per instance. The reads
// go over plain REST (client.ts GcpRest) and each page of instances is mapped as it arrives; the gax clients
// are loaded only for fix, diagnose, explain --verify-with-api and the serial console.
import type { AuthClient } from 'google-auth-library';
import { AuthError, ScopeError, UsageError } from '../../src/errors.js';
import type { EffectiveView, Instance, Inventory, Layer, Nic, RuleSet, Scope, Stage } from '../../src/model/inventory.js';
import type { CloudProvider, ProviderContext, ScopeInventory } from '../types.js';
import { GcpRest, callOnce, clientOptions, describeGcpError, gcpAuth, gcpHeaders, parseEndpoint, type Endpoint } from './client.js';
import { lastSegment, mapFirewall, mapInstance, networkKey, networkProject, policyRuleSet, regionOfZone, safeMetadata } from './map.js';

/* eslint-disable @typescript-eslint/no-explicit-any */
type Json = any;

export interface GcpOptions {
  projects: string[];
  allProjects: boolean;
  /** --gcp-endpoint / RDPCLOUD_GCP_ENDPOINT: replaces https://compute.googleapis.com */
  endpoint?: string;
  /** RDPCLOUD_GCP_RESOURCE_MANAGER_ENDPOINT: replaces https://cloudresourcemanager.googleapis.com */
  resourceManagerEndpoint?: string;
}

const PAGE = 500; // GCE's largest page (maxResults 0-500)
const IMPLIED_DENY = { action: 'deny' as const, rule: 'implied deny ingress', why: 'no rule matched: the implied deny-ingress rule (priority 65535) applies' };

interface Clients {
  instances: Json;
  firewalls: Json;
  networks: Json;
  networkPolicies: Json;
  firewallPolicies: Json;
  projects: Json;
  zoneOperations: Json;
  globalOperations: Json;
  rmProjects?: Json;
  rmFolders?: Json;
}

interface NetworkFacts {
  /** AFTER_CLASSIC_FIREWALL (default) or BEFORE_CLASSIC_FIREWALL */
  order: string;
  vpc: RuleSet;
}

export class GcpProvider implements CloudProvider {
  readonly id = 'gcp' as const;
  private clients?: Promise<Clients>;
  private readonly compute?: Endpoint;
  private readonly rm?: Endpoint;
  private readonly rest: GcpRest;
  /** A project's networks and VPC rules, read once per run: for itself and for the service projects of a Shared VPC host. */
  private readonly networkCache = new Map<string, Promise<Map<string, NetworkFacts>>>();
  /** networks.getEffectiveFirewalls, once per network for the run. */
  private readonly effectiveCache = new Map<string, Promise<{ ok: true; v: Json } | { ok: false; e: unknown }>>();
  private readonly policyParents = new Map<string, Promise<string | undefined>>();
  private readonly folderParents = new Map<string, Promise<string | undefined>>();

  constructor(
    private readonly opts: GcpOptions,
    private readonly ctx: ProviderContext,
  ) {
    const ep = opts.endpoint ?? ctx.env.RDPCLOUD_GCP_ENDPOINT;
    if (ep) this.compute = parseEndpoint(ep, opts.endpoint ? '--gcp-endpoint' : 'RDPCLOUD_GCP_ENDPOINT');
    const rm = opts.resourceManagerEndpoint ?? ctx.env.RDPCLOUD_GCP_RESOURCE_MANAGER_ENDPOINT;
    if (rm) this.rm = parseEndpoint(rm, 'RDPCLOUD_GCP_RESOURCE_MANAGER_ENDPOINT');
    if (!opts.allProjects && opts.projects.length === 0) {
      throw new UsageError('gcp: name the projects to audit with --project P (repeatable) or use --all-projects');
    }
    this.rest = new GcpRest(ctx, gcpHeaders(ctx.env), { compute: this.compute, rm: this.rm });
  }

  /** The gax clients, for writes and per-instance calls only (the audit reads over REST). */
  private getClients(): Promise<Clients> {
    this.clients ??= gcpAuth(this.ctx.env).then(async (auth: AuthClient) => {
      const [{ default: compute }, { default: resourceManager }] = await Promise.all([import('@google-cloud/compute'), import('@google-cloud/resource-manager')]);
      const o = clientOptions(this.compute, auth);
      const c: Clients = {
        instances: new compute.InstancesClient(o),
        firewalls: new compute.FirewallsClient(o),
        networks: new compute.NetworksClient(o),
        networkPolicies: new compute.NetworkFirewallPoliciesClient(o),
        firewallPolicies: new compute.FirewallPoliciesClient(o),
        projects: new compute.ProjectsClient(o),
        zoneOperations: new compute.ZoneOperationsClient(o),
        globalOperations: new compute.GlobalOperationsClient(o),
      };
      const ro = clientOptions(this.rm, auth);
      c.rmProjects = new resourceManager.ProjectsClient(ro);
      c.rmFolders = new resourceManager.FoldersClient(ro);
      return c;
    });
    return this.clients;
  }

  async listScopes(): Promise<string[]> {
    if (!this.opts.allProjects) return [...new Set(this.opts.projects)];
    const found: string[] = [];
    for await (const page of this.rest.pages('rm.projects.search', 'rm', '/v3/projects:search', { query: 'state:ACTIVE', pageSize: 500 })) {
      for (const p of (page.projects ?? []) as Json[]) if ((p.state ?? 'ACTIVE') === 'ACTIVE' || p.state === 1) found.push(p.projectId);
    }
    return [...new Set([...this.opts.projects, ...found])].sort();
  }

  async collect(project: string): Promise<ScopeInventory> {
    const fail = (err: unknown, what: string) => new ScopeError('gcp', project, describeGcpError(err, project, what));
    const p = encodeURIComponent(project);

    // Independent listings run together; each one pages serially.
    // returnPartialSuccess: a zone that errors is listed in `unreachables` instead of failing the listing;
    // its instances are missing, which the scope then says (cloud-apis.md 1.4).
    const unreachable = new Set<string>();
    const instances: Instance[] = [];
    const wanted = new Map<string, { network: string; region: string }>();
    const pathId = (nic: Json, zone: string) => {
      const network = networkKey(nic.network ?? '');
      const region = regionOfZone(zone);
      const id = `gcp/${network}@${region}`;
      wanted.set(id, { network, region });
      return id;
    };
    // Each page is mapped into the model as it arrives; the raw JSON is not kept.
    const instancesP = (async () => {
      for await (const page of this.rest.pages('instances.aggregatedList', 'compute', `/compute/v1/projects/${p}/aggregated/instances`, { maxResults: PAGE, returnPartialSuccess: true })) {
        for (const z of page.unreachables ?? []) unreachable.add(z);
        for (const scoped of Object.values((page.items ?? {}) as Record<string, Json>)) for (const inst of scoped?.instances ?? []) instances.push(mapInstance(project, inst, pathId));
        // A network's effective firewalls are asked for as soon as a page shows it in use, not after the last page.
        for (const { network } of wanted.values()) this.effectiveFirewalls(network, project);
      }
    })();
    const settle = <T>(q: Promise<T>) => q.then((v) => ({ ok: true as const, v }), (e: unknown) => ({ ok: false as const, e }));
    const localP = this.projectNetworks(project);
    const regionalP = settle(this.networkPolicies(project));
    const projectP = settle(this.rest.get('projects.get', 'compute', `/compute/v1/projects/${p}`));

    try {
      await instancesP;
    } catch (e) {
      await Promise.all([localP, regionalP, projectP]);
      if (e instanceof AuthError) throw e; // no credentials: nothing can be audited (exit 2), not a failed scope
      throw fail(e, `listing instances of ${project}`);
    }
    const [local, regional, proj] = await Promise.all([localP, regionalP, projectP]);

    const scope: Scope = { provider: 'gcp', scope: project, status: 'ok' };
    if (unreachable.size) {
      scope.warnings = [`instances in ${[...unreachable].map(lastSegment).join(', ')} could not be listed (the API reported the zones unreachable): they are missing from this audit; run it again later`];
    }
    if (proj.ok) {
      const md = safeMetadata((proj.v as Json)?.commonInstanceMetadata);
      if (md) scope.metadata = md;
    }

    const ruleSets = new Map<string, RuleSet>();
    const paths: Record<string, Layer[]> = {};


    for (const [id, { network, region }] of wanted) {
      const owner = networkProject(network) ?? project;
      let facts = local.get(network);
      if (!facts && owner !== project) facts = (await this.projectNetworks(owner)).get(network);
      if (!facts) {
        facts = { order: 'AFTER_CLASSIC_FIREWALL', vpc: this.vpcRuleSet(owner, network, [], `network ${network} is not visible to the caller`) };
      }
      ruleSets.set(facts.vpc.id, facts.vpc);
      const eff = await this.effectiveFirewalls(network, project);
      const hier: Stage[] = [];
      const globalNet: Stage[] = [];
      if (!eff.ok) {
        const rs: RuleSet = {
          id: `gcp/effective-unreadable/${network}`,
          provider: 'gcp',
          scope: owner,
          name: `firewall policies of ${lastSegment(network)}`,
          kind: 'gcp-firewall-policy',
          unreadable: describeGcpError(eff.e, owner, 'reading firewall policies (networks.getEffectiveFirewalls)'),
          rules: [],
        };
        ruleSets.set(rs.id, rs);
        hier.push({ ruleSet: rs.id, mode: 'first-match' });
      } else {
        const policies: Json[] = eff.v?.firewallPolicys ?? [];
        const hierarchy = await this.orderHierarchy(policies.filter((x) => x.type === 'HIERARCHY'));
        for (const x of hierarchy) hier.push(this.policyStage(ruleSets, owner, x, network, 'hierarchical policy'));
        for (const x of policies.filter((x) => x.type === 'SYSTEM_GLOBAL' || x.type === 'SYSTEM_REGIONAL')) hier.push(this.policyStage(ruleSets, owner, x, network, 'system policy'));
        const nets = policies.filter((x) => x.type === 'NETWORK').sort((a, b) => (a.priority ?? 0) - (b.priority ?? 0));
        for (const x of nets) globalNet.push(this.policyStage(ruleSets, owner, x, network, 'network policy'));
      }
      const regionalStages: Stage[] = [];
      if (!regional.ok) {
        const rs: RuleSet = {
          id: `gcp/regional-unreadable/${project}`,
          provider: 'gcp',
          scope: project,
          name: 'regional network firewall policies',
          kind: 'gcp-firewall-policy',
          unreadable: describeGcpError(regional.e, project, 'reading network firewall policies'),
          rules: [],
        };
        ruleSets.set(rs.id, rs);
        regionalStages.push({ ruleSet: rs.id, mode: 'first-match' });
      } else {
        for (const x of regional.v.byPath.get(`${region}|${network}`) ?? []) regionalStages.push(this.policyStage(ruleSets, project, x, network, `regional policy (${region})`, region));
      }
      const vpc: Stage = { ruleSet: facts.vpc.id, mode: 'first-match' };
      // Order: hierarchical -> (system) -> VPC rules and network policies as the network says
      // (https://cloud.google.com/firewall/docs/firewall-policies-rule-eval-order).
      const middle = facts.order === 'BEFORE_CLASSIC_FIREWALL' ? [...globalNet, ...regionalStages, vpc] : [vpc, ...globalNet, ...regionalStages];
      paths[id] = [{ name: 'firewall', stages: [...hier, ...middle], otherwise: IMPLIED_DENY }];
    }
    // The project's networks with no instance in them: their VPC firewall rules are judged on their own too (a
    // rule open to the world there is a finding, and the next instance in the network is open on day one; CIS
    // GCP 3.7 reads every rule). So are the project's network firewall policies that no path above reads: on
    // such networks, in regions with no instance, or associated with no network (a policy takes effect only
    // where it is associated: https://cloud.google.com/firewall/docs/network-firewall-policies). They are in the
    // one aggregated listing already read; the hierarchical policies of such networks would be a call per network.
    for (const facts of local.values()) if (!ruleSets.has(facts.vpc.id)) ruleSets.set(facts.vpc.id, facts.vpc);
    if (regional.ok) {
      const onPaths = new Set([...wanted.values()].map(({ network, region }) => `${region}|${network}`));
      const networksOnPaths = new Set([...wanted.values()].map(({ network }) => network));
      for (const { policy, region } of regional.v.all) {
        const nets: string[] = (policy.associations ?? []).map((a: Json) => networkKey(a.attachmentTarget ?? '')).filter((n: string) => n);
        // A global policy of a network with instances came with its effective firewalls (or is in its unreadable layer).
        const off = nets.filter((n) => (region ? !onPaths.has(`${region}|${n}`) : !networksOnPaths.has(n)));
        const label = region ? `regional policy (${region})` : 'network policy';
        for (const n of off) this.policyStage(ruleSets, project, policy, n, label, region);
        if (nets.length === 0) this.policyStage(ruleSets, project, policy, '', `${label}, associated with no network,`, region);
      }
    }

    return { scope, instances, ruleSets: [...ruleSets.values()], paths };
  }

  /** networks.getEffectiveFirewalls for a network (asked of the project that owns it), once per run. */
  private effectiveFirewalls(network: string, project: string): Promise<{ ok: true; v: Json } | { ok: false; e: unknown }> {
    let p = this.effectiveCache.get(network);
    if (!p) {
      const owner = networkProject(network) ?? project;
      p = this.rest
        .get('networks.getEffectiveFirewalls', 'compute', `/compute/v1/projects/${encodeURIComponent(owner)}/global/networks/${encodeURIComponent(lastSegment(network))}/getEffectiveFirewalls`)
        .then((v) => ({ ok: true as const, v }), (e: unknown) => ({ ok: false as const, e }));
      this.effectiveCache.set(network, p);
    }
    return p;
  }

  /**
   * Waits for a compute operation: the call hands back an LROperation whose `latestResponse` is the Operation;
   * until it is DONE, zoneOperations.wait / globalOperations.wait (each waits up to 2 minutes server-side).
   */
  private async waitFor(c: Clients, project: string, call: Json): Promise<void> {
    let op: Json = call?.latestResponse ?? call;
    for (let i = 0; op && op.status !== 'DONE' && i < 30; i++) {
      const zone = op.zone ? lastSegment(op.zone) : undefined;
      [op] = await callOnce<Json[]>(this.ctx, zone ? 'zoneOperations.wait' : 'globalOperations.wait', () =>
        zone ? c.zoneOperations.wait({ project, zone, operation: op.name }) : c.globalOperations.wait({ project, operation: op.name }),
      );
    }
    if (op?.error?.errors?.length) throw new Error(op.error.errors.map((e: Json) => e.message).join('; '));
  }

  private osLoginClient?: Promise<Json>;
  /** The OS Login API (RDPCLOUD_GCP_OSLOGIN_ENDPOINT replaces https://oslogin.googleapis.com), over REST. */
  private osLogin(): Promise<Json> {
    this.osLoginClient ??= Promise.all([gcpAuth(this.ctx.env), import('@google-cloud/os-login')]).then(([auth, { default: osLogin }]) => {
      const ep = this.ctx.env.RDPCLOUD_GCP_OSLOGIN_ENDPOINT;
      return new osLogin.OsLoginServiceClient({ ...clientOptions(ep ? parseEndpoint(ep, 'RDPCLOUD_GCP_OSLOGIN_ENDPOINT') : undefined, auth), fallback: true });
    });
    return this.osLoginClient;
  }

  /** Adds a key to the caller's OS Login profile (with an expiry); returns the POSIX user and the key's fingerprint. */
  async importOsLoginKey(email: string, project: string, publicKey: string, expiresAt: Date): Promise<{ posixUser: string; fingerprint: string }> {
    const c = await this.osLogin();
    const [res] = await callOnce<Json[]>(this.ctx, 'oslogin.importSshPublicKey', () =>
      c.importSshPublicKey({ parent: `users/${email}`, projectId: project, sshPublicKey: { key: publicKey, expirationTimeUsec: String(expiresAt.getTime() * 1000) } }),
    ).catch((e: unknown) => {
      throw new ScopeError('gcp', project, describeGcpError(e, project, `adding a key to the OS Login profile of ${email}`));
    });
    const profile = res?.loginProfile ?? {};
    const posix = (profile.posixAccounts ?? []).find((a: Json) => a.primary) ?? profile.posixAccounts?.[0];
    const blob = publicKey.split(/\s+/)[1];
    const fp = Object.entries(profile.sshPublicKeys ?? {}).find(([, k]) => String((k as Json).key ?? '').includes(blob))?.[0];
    if (!posix?.username || !fp) throw new ScopeError('gcp', project, `the OS Login profile of ${email} came back without a POSIX account or the new key`);
    return { posixUser: posix.username, fingerprint: fp };
  }

  async deleteOsLoginKey(email: string, fingerprint: string): Promise<void> {
    const c = await this.osLogin();
    await callOnce(this.ctx, 'oslogin.deleteSshPublicKey', () => c.deleteSshPublicKey({ name: `users/${email}/sshPublicKeys/${fingerprint}` }));
  }

  /** instances.get: one instance as the API returns it (status, metadata with its fingerprint). For fix/diagnose only. */
  async readInstance(project: string, zone: string, instance: string): Promise<Json> {
    const c = await this.getClients();
    return callOnce(this.ctx, 'instances.get', () => c.instances.get({ project, zone, instance }).then((r: Json[]) => r[0])).catch((e: unknown) => {
      throw new ScopeError('gcp', project, describeGcpError(e, project, `reading instance ${instance}`));
    });
  }

  /** instances.setMetadata with the fingerprint read before (GCE refuses a stale one), waiting for the operation. */
  async writeMetadata(project: string, zone: string, instance: string, fingerprint: string, items: { key: string; value: string }[]): Promise<void> {
    const c = await this.getClients();
    await callOnce(this.ctx, 'instances.setMetadata', async () => {
      const [op] = await c.instances.setMetadata({ project, zone, instance, metadataResource: { fingerprint, items } });
      await this.waitFor(c, project, op);
    }).catch((e: unknown) => {
      throw new ScopeError('gcp', project, describeGcpError(e, project, `writing the metadata of ${instance}`));
    });
  }

  /** instances.getSerialPortOutput from `start`: the contents and where the next read starts. */
  async serialPortOutput(project: string, zone: string, instance: string, port: number, start: number): Promise<{ contents: string; next: number }> {
    const c = await this.getClients();
    const [out] = await callOnce<Json[]>(this.ctx, 'instances.getSerialPortOutput', () => c.instances.getSerialPortOutput({ project, zone, instance, port, start })).catch((e: unknown) => {
      throw new ScopeError('gcp', project, describeGcpError(e, project, `reading serial port ${port} of ${instance}`));
    });
    return { contents: out?.contents ?? '', next: Number(out?.next ?? start) };
  }

  /** firewalls.insert of an ingress rule, waiting for the operation (for fix; the plan lists it first). */
  async createFirewallRule(project: string, rule: { name: string; network: string; priority: number; sourceRanges: string[]; allowed: { IPProtocol: string; ports: string[] }[]; targetTags: string[]; description: string }): Promise<void> {
    const c = await this.getClients();
    await callOnce(this.ctx, 'firewalls.insert', async () => {
      const [op] = await c.firewalls.insert({ project, firewallResource: { ...rule, direction: 'INGRESS', network: `projects/${project}/global/networks/${rule.network}` } });
      await this.waitFor(c, project, op);
    }).catch((e: unknown) => {
      throw new ScopeError('gcp', project, describeGcpError(e, project, `creating firewall rule ${rule.name}`));
    });
  }

  /** Adds a network tag to an instance (instances.setTags with the current fingerprint); no-op when present. */
  async addNetworkTag(project: string, zone: string, instance: string, tag: string): Promise<void> {
    const raw = await this.readInstance(project, zone, instance);
    const items: string[] = raw.tags?.items ?? [];
    if (items.includes(tag)) return;
    const c = await this.getClients();
    await callOnce(this.ctx, 'instances.setTags', async () => {
      const [op] = await c.instances.setTags({ project, zone, instance, tagsResource: { items: [...items, tag], fingerprint: raw.tags?.fingerprint ?? '' } });
      await this.waitFor(c, project, op);
    }).catch((e: unknown) => {
      throw new ScopeError('gcp', project, describeGcpError(e, project, `tagging ${instance} with ${tag}`));
    });
  }

  /**
   * instances.getEffectiveFirewalls, once per NIC: the VPC rules and the firewall policies Google says apply to
   * this interface. Hierarchical policies come in the order the API lists them; the VPC rules and network
   * policies in the network's enforcement order, read off the computed path.
   */
  async effectiveView(instance: Instance, inventory: Inventory): Promise<EffectiveView> {
    const c = await this.getClients();
    const ruleSets: RuleSet[] = [];
    const paths: Record<string, Layer[]> = {};
    const byId = new Map(inventory.ruleSets.map((r) => [r.id, r]));
    const nics = await Promise.all(
      instance.nics.map(async (nic): Promise<Nic> => {
        const eff: Json = await callOnce(this.ctx, 'instances.getEffectiveFirewalls', () =>
          c.instances.getEffectiveFirewalls({ project: instance.scope, zone: instance.location, instance: instance.name, networkInterface: nic.name }).then((r: Json[]) => r[0]),
        ).catch((e: unknown) => {
          throw new ScopeError('gcp', instance.scope, describeGcpError(e, instance.scope, `instances.getEffectiveFirewalls for ${instance.name}/${nic.name}`));
        });
        const base = `gcp/effective/${instance.scope}/${instance.location}/${instance.name}/${nic.name}`;
        const vpc: RuleSet = { id: `${base}/vpc`, provider: 'gcp', scope: instance.scope, name: `VPC firewall rules of ${lastSegment(nic.network)}`, kind: 'gcp-vpc-firewall', rules: (eff?.firewalls ?? []).map(mapFirewall).filter((r: unknown): r is NonNullable<ReturnType<typeof mapFirewall>> => !!r) };
        ruleSets.push(vpc);
        const stage = (p: Json, what: string): Stage => {
          const rs = policyRuleSet(`${base}/policy/${p.name}`, instance.scope, p, nic.network, 'gcp-firewall-policy', `${what} ${p.shortName || p.displayName || p.name}`);
          ruleSets.push(rs);
          return { ruleSet: rs.id, mode: 'first-match' };
        };
        const policies: Json[] = eff?.firewallPolicys ?? [];
        const hier = policies.filter((p) => p.type === 'HIERARCHY').map((p) => stage(p, 'hierarchical policy'));
        const system = policies.filter((p) => String(p.type).startsWith('SYSTEM')).map((p) => stage(p, 'system policy'));
        const net = policies.filter((p) => p.type === 'NETWORK').sort((a, b) => (a.priority ?? 0) - (b.priority ?? 0)).map((p) => stage(p, 'network policy'));
        const regional = policies.filter((p) => p.type === 'NETWORK_REGIONAL').map((p) => stage(p, 'regional policy'));
        const computed = inventory.paths[nic.path]?.[0]?.stages ?? [];
        const vpcAt = computed.findIndex((st) => byId.get(st.ruleSet)?.kind === 'gcp-vpc-firewall');
        const before = computed.findIndex((st) => /^(network|regional) policy/.test(byId.get(st.ruleSet)?.name ?? '')) ;
        const policiesFirst = before >= 0 && vpcAt >= 0 && before < vpcAt;
        const vpcStage: Stage = { ruleSet: vpc.id, mode: 'first-match' };
        const middle = policiesFirst ? [...net, ...regional, vpcStage] : [vpcStage, ...net, ...regional];
        paths[base] = [{ name: 'firewall', stages: [...hier, ...system, ...middle], otherwise: IMPLIED_DENY }];
        return { ...nic, path: base };
      }),
    );
    return { api: 'instances.getEffectiveFirewalls', ruleSets, paths, nics };
  }

  private vpcRuleSet(project: string, network: string, raw: Json[], unreadable?: string): RuleSet {
    const rs: RuleSet = {
      id: `gcp/vpc/${network}`,
      provider: 'gcp',
      scope: networkProject(network) ?? project,
      name: `VPC firewall rules of ${lastSegment(network)}`,
      kind: 'gcp-vpc-firewall',
      rules: raw.map(mapFirewall).filter((r): r is NonNullable<typeof r> => !!r),
    };
    if (unreadable) rs.unreadable = unreadable;
    return rs;
  }

  /**
   * A firewall policy's rules as they apply to `network` (rules can target networks), as a rule set: one per
   * policy and network (and region: regional policies of two regions may share a name); `network` '' for a
   * policy associated with none.
   */
  private policyStage(ruleSets: Map<string, RuleSet>, project: string, policy: Json, network: string, what: string, region?: string): Stage {
    const label = `${what} ${policy.shortName || policy.displayName || policy.name}`;
    const id = `gcp/policy/${region ? `${region}/` : ''}${policy.name}${network ? `@${network}` : ''}`;
    if (!ruleSets.has(id)) ruleSets.set(id, policyRuleSet(id, project, policy, network, 'gcp-firewall-policy', label));
    return { ruleSet: id, mode: 'first-match' };
  }

  private async listAll(op: string, path: string): Promise<Json[]> {
    const out: Json[] = [];
    for await (const page of this.rest.pages(op, 'compute', path, { maxResults: PAGE })) out.push(...(page.items ?? []));
    return out;
  }

  /**
   * The project's network firewall policies, global and regional, from one aggregated listing: the regional
   * ones by `${region}|${network}` for the paths (a path's global ones come with its network's effective
   * firewalls), and every one with its region (none: global).
   */
  private async networkPolicies(project: string): Promise<{ byPath: Map<string, Json[]>; all: { policy: Json; region?: string }[] }> {
    const byPath = new Map<string, Json[]>();
    const all: { policy: Json; region?: string }[] = [];
    for await (const page of this.rest.pages('networkFirewallPolicies.aggregatedList', 'compute', `/compute/v1/projects/${encodeURIComponent(project)}/aggregated/firewallPolicies`, { maxResults: PAGE, returnPartialSuccess: true })) {
      for (const [key, scoped] of Object.entries((page.items ?? {}) as Record<string, Json>)) {
        const region = key.startsWith('regions/') ? key.slice('regions/'.length) : undefined;
        for (const policy of scoped?.firewallPolicies ?? []) {
          all.push(region ? { policy, region } : { policy });
          if (!region) continue;
          for (const a of policy.associations ?? []) {
            const k = `${region}|${networkKey(a.attachmentTarget ?? '')}`;
            let list = byPath.get(k);
            if (!list) byPath.set(k, (list = []));
            list.push(policy);
          }
        }
      }
    }
    return { byPath, all };
  }

  /**
   * A project's networks (enforcement order) and VPC firewall rules, read once per run: for the project's own
   * scope and for the service projects whose instances sit on its Shared VPC networks.
   */
  private projectNetworks(project: string): Promise<Map<string, NetworkFacts>> {
    let p = this.networkCache.get(project);
    if (!p) {
      p = (async () => {
        const out = new Map<string, NetworkFacts>();
        const base = `/compute/v1/projects/${encodeURIComponent(project)}/global`;
        const [fws, nets] = await Promise.all([
          this.listAll('firewalls.list', `${base}/firewalls`).then((v) => ({ ok: true as const, v }), (e: unknown) => ({ ok: false as const, e })),
          // Without the networks the enforcement order defaults to AFTER_CLASSIC_FIREWALL, the API's default.
          this.listAll('networks.list', `${base}/networks`).catch(() => [] as Json[]),
        ]);
        const unreadable = fws.ok ? undefined : describeGcpError(fws.e, project, 'reading firewall rules');
        const byNetwork = new Map<string, Json[]>();
        for (const fw of fws.ok ? fws.v : []) {
          const key = networkKey(fw.network ?? '');
          let list = byNetwork.get(key);
          if (!list) byNetwork.set(key, (list = []));
          list.push(fw);
        }
        const order = new Map<string, string>();
        for (const n of nets) order.set(networkKey(n.selfLink ?? `projects/${project}/global/networks/${n.name}`), n.networkFirewallPolicyEnforcementOrder ?? 'AFTER_CLASSIC_FIREWALL');
        for (const key of new Set([...order.keys(), ...byNetwork.keys()])) {
          out.set(key, { order: order.get(key) ?? 'AFTER_CLASSIC_FIREWALL', vpc: this.vpcRuleSet(project, key, byNetwork.get(key) ?? [], unreadable) });
        }
        return out;
      })();
      this.networkCache.set(project, p);
    }
    return p;
  }

  /**
   * Hierarchical policies apply from the organization down through the folders (eval-order doc). The
   * effective-firewalls answer does not promise that order, so when there are several we ask each policy
   * for its parent and climb the folders (cached for the run). If that cannot be read we keep the answer's
   * order and say so.
   */
  private async orderHierarchy(policies: Json[]): Promise<Json[]> {
    if (policies.length < 2) return policies;
    try {
      const depths = await Promise.all(
        policies.map(async (p) => {
          const parent = await this.policyParent(p.name);
          return parent ? await this.depth(parent) : Number.NaN;
        }),
      );
      if (depths.some((d) => Number.isNaN(d))) throw new Error('parent unknown');
      return policies.map((p, i) => ({ p, d: depths[i], i })).sort((a, b) => a.d - b.d || a.i - b.i).map((x) => x.p);
    } catch {
      this.ctx.warn(`gcp: could not read the parents of hierarchical firewall policies ${policies.map((p) => p.name).join(', ')}; evaluating them in the order the API listed them`);
      return policies;
    }
  }

  private policyParent(name: string): Promise<string | undefined> {
    let p = this.policyParents.get(name);
    if (!p) {
      p = this.rest.get('firewallPolicies.get', 'compute', `/compute/v1/locations/global/firewallPolicies/${encodeURIComponent(name)}`).then((r: Json) => (r?.parent as string) ?? undefined);
      this.policyParents.set(name, p);
    }
    return p;
  }

  private async depth(parent: string): Promise<number> {
    let d = 0;
    let cur: string | undefined = parent;
    for (let guard = 0; cur && cur.startsWith('folders/') && guard < 20; guard++) {
      d++;
      let p = this.folderParents.get(cur);
      if (!p) {
        p = this.rest.get('rm.folders.get', 'rm', `/v3/${cur.split('/').map(encodeURIComponent).join('/')}`).then((r: Json): string | undefined => (r?.parent as string) ?? undefined);
        this.folderParents.set(cur, p);
      }
      cur = await p;
    }
    return d;
  }
}
