// The GCP provider: one project at a time, with the fewest calls the Compute API allows.
// Per project: instances.aggregatedList, firewalls.list, networks.list and networkFirewallPolicies.aggregatedList
// (all paged, all zones/regions at once), projects.get (project metadata), and networks.getEffectiveFirewalls once
// per network in use (it returns the hierarchical and global network policies, cloud-apis.md 1.3). Nothing per instance.
import compute from '@google-cloud/compute';
import resourceManager from '@google-cloud/resource-manager';
import osLogin from '@google-cloud/os-login';
import type { AuthClient } from 'google-auth-library';
import { ScopeError, UsageError } from '../../src/errors.js';
import type { EffectiveView, Instance, Inventory, Layer, Nic, RuleSet, Scope, Stage } from '../../src/model/inventory.js';
import type { CloudProvider, ProviderContext, ScopeInventory } from '../types.js';
import { callOnce, clientOptions, describeGcpError, gcpAuth, pages, parseEndpoint, type Endpoint } from './client.js';
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
  /** Shared VPC host projects and hierarchy lookups are read once per run, whichever project needs them first. */
  private readonly hostCache = new Map<string, Promise<Map<string, NetworkFacts>>>();
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
  }

  private getClients(): Promise<Clients> {
    this.clients ??= gcpAuth(this.ctx.env).then(async (auth: AuthClient) => {
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
      // aggregatedList is only exposed as an auto-paging iterator; the inner call pages one page at a time.
      await Promise.all([c.instances.initialize(), c.networkPolicies.initialize()]);
      return c;
    });
    return this.clients;
  }

  async listScopes(): Promise<string[]> {
    if (!this.opts.allProjects) return [...new Set(this.opts.projects)];
    const c = await this.getClients();
    const found: string[] = [];
    for await (const page of pages<Json[]>(this.ctx, 'rm.projects.search', { query: 'state:ACTIVE', pageSize: 500 }, (req) =>
      c.rmProjects.searchProjects(req, { autoPaginate: false }),
    )) {
      for (const p of page) if ((p.state ?? 'ACTIVE') === 'ACTIVE' || p.state === 1) found.push(p.projectId);
    }
    return [...new Set([...this.opts.projects, ...found])].sort();
  }

  async collect(project: string): Promise<ScopeInventory> {
    const c = await this.getClients();
    const ctx = this.ctx;
    const fail = (err: unknown, what: string) => new ScopeError('gcp', project, describeGcpError(err, project, what));

    // Independent listings run together; each one pages serially.
    // returnPartialSuccess: a zone that errors is listed in `unreachables` instead of failing the listing;
    // its instances are missing, which the scope then says (cloud-apis.md 1.4).
    const unreachable = new Set<string>();
    const instancesP = (async () => {
      const raw: Json[] = [];
      for await (const items of pages<Record<string, Json>>(
        ctx,
        'instances.aggregatedList',
        { project, maxResults: PAGE, returnPartialSuccess: true },
        (req) => c.instances.innerApiCalls.aggregatedList(req, { autoPaginate: false }),
        (res) => (res?.unreachables ?? []).forEach((z: string) => unreachable.add(z)),
      )) {
        for (const scoped of Object.values(items ?? {})) for (const inst of scoped?.instances ?? []) raw.push(inst);
      }
      return raw;
    })();
    const settle = <T>(p: Promise<T>) => p.then((v) => ({ ok: true as const, v }), (e: unknown) => ({ ok: false as const, e }));
    const firewallsP = settle(this.listAll(c.firewalls, 'firewalls.list', project));
    const networksP = settle(this.listAll(c.networks, 'networks.list', project));
    const regionalP = settle(this.regionalPolicies(c, project));
    const projectP = settle(callOnce(ctx, 'projects.get', () => c.projects.get({ project })));

    let rawInstances: Json[];
    try {
      rawInstances = await instancesP;
    } catch (e) {
      await Promise.all([firewallsP, networksP, regionalP, projectP]);
      throw fail(e, `listing instances of ${project}`);
    }
    const [fws, nets, regional, proj] = await Promise.all([firewallsP, networksP, regionalP, projectP]);

    const scope: Scope = { provider: 'gcp', scope: project, status: 'ok' };
    if (unreachable.size) {
      scope.warnings = [`instances in ${[...unreachable].map(lastSegment).join(', ')} could not be listed (the API reported the zones unreachable): they are missing from this audit; run it again later`];
    }
    if (proj.ok) {
      const md = safeMetadata((proj.v as Json)[0]?.commonInstanceMetadata);
      if (md) scope.metadata = md;
    }

    const ruleSets = new Map<string, RuleSet>();
    const paths: Record<string, Layer[]> = {};
    // This project's own networks.
    const local = new Map<string, NetworkFacts>();
    const vpcUnreadable = fws.ok ? undefined : describeGcpError(fws.e, project, 'reading firewall rules');
    const byNetwork = new Map<string, Json[]>();
    if (fws.ok) for (const fw of fws.v) byNetwork.set(networkKey(fw.network ?? ''), [...(byNetwork.get(networkKey(fw.network ?? '')) ?? []), fw]);
    const netList: Json[] = nets.ok ? nets.v : [];
    const networkNames = new Set<string>([...netList.map((n) => networkKey(n.selfLink ?? `projects/${project}/global/networks/${n.name}`)), ...byNetwork.keys()]);
    for (const key of networkNames) {
      const n = netList.find((x) => networkKey(x.selfLink ?? '') === key);
      local.set(key, {
        order: n?.networkFirewallPolicyEnforcementOrder ?? 'AFTER_CLASSIC_FIREWALL',
        vpc: this.vpcRuleSet(project, key, byNetwork.get(key) ?? [], vpcUnreadable),
      });
    }

    const instances: Instance[] = [];
    const wanted = new Map<string, { network: string; region: string }>();
    const pathId = (nic: Json, zone: string) => {
      const network = networkKey(nic.network ?? '');
      const region = regionOfZone(zone);
      const id = `gcp/${network}@${region}`;
      wanted.set(id, { network, region });
      return id;
    };
    for (const raw of rawInstances) instances.push(mapInstance(project, raw, pathId));

    // One effective-firewalls call per network in use, in the project that owns the network.
    const effective = new Map<string, Promise<{ ok: true; v: Json } | { ok: false; e: unknown }>>();
    for (const { network } of wanted.values()) {
      if (effective.has(network)) continue;
      const owner = networkProject(network) ?? project;
      effective.set(network, settle(callOnce(ctx, 'networks.getEffectiveFirewalls', () => c.networks.getEffectiveFirewalls({ project: owner, network: lastSegment(network) }).then((r: Json[]) => r[0]))));
    }

    for (const [id, { network, region }] of wanted) {
      const owner = networkProject(network) ?? project;
      let facts = local.get(network);
      if (!facts && owner !== project) facts = (await this.hostNetworks(c, owner)).get(network);
      if (!facts) {
        facts = { order: 'AFTER_CLASSIC_FIREWALL', vpc: this.vpcRuleSet(owner, network, [], `network ${network} is not visible to the caller`) };
      }
      ruleSets.set(facts.vpc.id, facts.vpc);
      const eff = await effective.get(network)!;
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
        const hierarchy = await this.orderHierarchy(c, policies.filter((p) => p.type === 'HIERARCHY'));
        for (const p of hierarchy) hier.push(this.policyStage(ruleSets, owner, p, network, 'hierarchical policy'));
        for (const p of policies.filter((p) => p.type === 'SYSTEM_GLOBAL' || p.type === 'SYSTEM_REGIONAL')) hier.push(this.policyStage(ruleSets, owner, p, network, 'system policy'));
        const nets = policies.filter((p) => p.type === 'NETWORK').sort((a, b) => (a.priority ?? 0) - (b.priority ?? 0));
        for (const p of nets) globalNet.push(this.policyStage(ruleSets, owner, p, network, 'network policy'));
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
        for (const p of regional.v.get(`${region}|${network}`) ?? []) regionalStages.push(this.policyStage(ruleSets, project, p, network, `regional policy (${region})`));
      }
      const vpc: Stage = { ruleSet: facts.vpc.id, mode: 'first-match' };
      // Order: hierarchical -> (system) -> VPC rules and network policies as the network says
      // (https://cloud.google.com/firewall/docs/firewall-policies-rule-eval-order).
      const middle = facts.order === 'BEFORE_CLASSIC_FIREWALL' ? [...globalNet, ...regionalStages, vpc] : [vpc, ...globalNet, ...regionalStages];
      paths[id] = [{ name: 'firewall', stages: [...hier, ...middle], otherwise: IMPLIED_DENY }];
    }

    return { scope, instances, ruleSets: [...ruleSets.values()], paths };
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
    this.osLoginClient ??= gcpAuth(this.ctx.env).then((auth) => {
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

  private policyStage(ruleSets: Map<string, RuleSet>, project: string, policy: Json, network: string, what: string): Stage {
    const label = `${what} ${policy.shortName || policy.displayName || policy.name}`;
    const id = `gcp/policy/${policy.name}@${network}`;
    if (!ruleSets.has(id)) ruleSets.set(id, policyRuleSet(id, project, policy, network, 'gcp-firewall-policy', label));
    return { ruleSet: id, mode: 'first-match' };
  }

  private async listAll(client: Json, op: string, project: string): Promise<Json[]> {
    const out: Json[] = [];
    for await (const items of pages<Json[]>(this.ctx, op, { project, maxResults: PAGE }, (req) => client.list(req, { autoPaginate: false }))) out.push(...items);
    return out;
  }

  /** Regional network firewall policies, keyed by `${region}|${network}`, from one aggregated listing. */
  private async regionalPolicies(c: Clients, project: string): Promise<Map<string, Json[]>> {
    const out = new Map<string, Json[]>();
    for await (const items of pages<Record<string, Json>>(this.ctx, 'networkFirewallPolicies.aggregatedList', { project, maxResults: PAGE, returnPartialSuccess: true }, (req) =>
      c.networkPolicies.innerApiCalls.aggregatedList(req, { autoPaginate: false }),
    )) {
      for (const [key, scoped] of Object.entries(items ?? {})) {
        if (!key.startsWith('regions/')) continue; // global ones come with the network's effective firewalls
        const region = key.slice('regions/'.length);
        for (const policy of scoped?.firewallPolicies ?? []) {
          for (const a of policy.associations ?? []) {
            const k = `${region}|${networkKey(a.attachmentTarget ?? '')}`;
            out.set(k, [...(out.get(k) ?? []), policy]);
          }
        }
      }
    }
    return out;
  }

  /** A Shared VPC host project's networks and firewall rules, read once per run. */
  private hostNetworks(c: Clients, host: string): Promise<Map<string, NetworkFacts>> {
    let p = this.hostCache.get(host);
    if (!p) {
      p = (async () => {
        const out = new Map<string, NetworkFacts>();
        let fws: Json[] = [];
        let unreadable: string | undefined;
        try {
          fws = await this.listAll(c.firewalls, 'firewalls.list', host);
        } catch (e) {
          unreadable = describeGcpError(e, host, `reading firewall rules of Shared VPC host project ${host}`);
        }
        let nets: Json[] = [];
        try {
          nets = await this.listAll(c.networks, 'networks.list', host);
        } catch {
          // enforcement order then defaults to AFTER_CLASSIC_FIREWALL, the API's default
        }
        const keys = new Set([...nets.map((n) => networkKey(n.selfLink ?? '')), ...fws.map((f) => networkKey(f.network ?? ''))]);
        for (const key of keys) {
          out.set(key, {
            order: nets.find((n) => networkKey(n.selfLink ?? '') === key)?.networkFirewallPolicyEnforcementOrder ?? 'AFTER_CLASSIC_FIREWALL',
            vpc: this.vpcRuleSet(host, key, fws.filter((f) => networkKey(f.network ?? '') === key), unreadable),
          });
        }
        return out;
      })();
      this.hostCache.set(host, p);
    }
    return p;
  }

  /**
   * Hierarchical policies apply from the organization down through the folders (eval-order doc). The
   * effective-firewalls answer does not promise that order, so when there are several we ask each policy
   * for its parent and climb the folders (cached for the run). If that cannot be read we keep the answer's
   * order and say so.
   */
  private async orderHierarchy(c: Clients, policies: Json[]): Promise<Json[]> {
    if (policies.length < 2) return policies;
    try {
      const depths = await Promise.all(
        policies.map(async (p) => {
          const parent = await this.policyParent(c, p.name);
          return parent ? await this.depth(c, parent) : Number.NaN;
        }),
      );
      if (depths.some((d) => Number.isNaN(d))) throw new Error('parent unknown');
      return policies.map((p, i) => ({ p, d: depths[i], i })).sort((a, b) => a.d - b.d || a.i - b.i).map((x) => x.p);
    } catch {
      this.ctx.warn(`gcp: could not read the parents of hierarchical firewall policies ${policies.map((p) => p.name).join(', ')}; evaluating them in the order the API listed them`);
      return policies;
    }
  }

  private policyParent(c: Clients, name: string): Promise<string | undefined> {
    let p = this.policyParents.get(name);
    if (!p) {
      p = callOnce<Json[]>(this.ctx, 'firewallPolicies.get', () => c.firewallPolicies.get({ firewallPolicy: name })).then((r) => (r[0]?.parent as string) ?? undefined);
      this.policyParents.set(name, p);
    }
    return p;
  }

  private async depth(c: Clients, parent: string): Promise<number> {
    let d = 0;
    let cur: string | undefined = parent;
    for (let guard = 0; cur && cur.startsWith('folders/') && guard < 20; guard++) {
      d++;
      let p = this.folderParents.get(cur);
      if (!p) {
        const name: string = cur;
        p = callOnce<Json[]>(this.ctx, 'rm.folders.get', () => c.rmFolders.getFolder({ name })).then((r): string | undefined => (r[0]?.parent as string) ?? undefined);
        this.folderParents.set(cur, p);
      }
      cur = await p;
    }
    return d;
  }
}
