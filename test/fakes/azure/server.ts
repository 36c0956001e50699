/**
 * Fake Azure Resource Manager (ARM) REST server, for tests only.
 *
 * Listens on 127.0.0.1 only (random port). Serves the ARM paths that the real `@azure/arm-network` 39,
 * `@azure/arm-compute` 25 and `@azure/arm-resources-subscriptions` 3 clients send (all three are the new
 * TypeSpec-generated "modular" clients on @azure-rest/core-client). See README.md in this folder for the world
 * shape, the served operations and the SDK behaviours observed against it.
 */
import { attemptCounter, listenOnLoopback } from '../loopback.js';
import http from 'node:http';
import { randomUUID } from 'node:crypto';

// ------------------------------------------------------------------------------------------------
// Public types
// ------------------------------------------------------------------------------------------------

export type ArmErrorKind =
  /** 403 AuthorizationFailed (RBAC: the principal lacks the `.../read` or `.../action` permission). */
  | 'authorizationFailed'
  /** 404 SubscriptionNotFound. */
  | 'subscriptionNotFound'
  /** 404 ResourceGroupNotFound. */
  | 'resourceGroupNotFound'
  /** 404 ResourceNotFound. */
  | 'resourceNotFound'
  /** 429 SubscriptionRequestsThrottled (ARM's own throttle) with Retry-After. */
  | 'throttled'
  /** 429 OperationNotAllowed / TooManyRequests (a resource provider's throttle, e.g. Compute) with Retry-After. */
  | 'providerThrottled'
  /** 500 InternalServerError. */
  | 'internalServerError'
  /** 503 ServiceUnavailable (no Retry-After unless asked for). */
  | 'serviceUnavailable'
  /** 504 GatewayTimeout. */
  | 'gatewayTimeout'
  /** 401 InvalidAuthenticationToken. */
  | 'invalidAuthenticationToken'
  /** 401 ExpiredAuthenticationToken. */
  | 'expiredAuthenticationToken'
  /** 400 NicMustBeAttachedToRunningVmToGetEffectiveSecurityGroups (effective NSG POST on a NIC without a running VM). */
  | 'nicNotAttachedToRunningVm';

/**
 * What an error hook may return: a kind, a kind with a Retry-After override (`null` leaves the header out),
 * or a fully custom ARM error.
 */
export type ArmFault =
  | ArmErrorKind
  | { kind: ArmErrorKind; retryAfterSeconds?: number | null; headers?: Record<string, string> }
  | { status: number; code: string; message: string; headers?: Record<string, string> };

export type ArmOp =
  | 'subscriptions.list'
  | 'subscriptions.get'
  | 'compute.virtualMachines.listAll'
  | 'compute.virtualMachines.list'
  | 'compute.virtualMachines.get'
  | 'compute.virtualMachines.instanceView'
  | `network.${Exclude<NetworkCollection, 'bastionHosts'>}.listAll`
  | `network.${Exclude<NetworkCollection, 'bastionHosts'>}.list`
  /** BastionHostsOperations names its subscription-wide list `list` and the resource-group one `listByResourceGroup`. */
  | 'network.bastionHosts.list'
  | 'network.bastionHosts.listByResourceGroup'
  | `network.${NetworkCollection}.get`
  | 'network.networkInterfaces.listEffectiveNetworkSecurityGroups'
  | 'network.operations.get'
  | 'network.operationResults.get'
  | 'unknown';

export type NetworkCollection =
  | 'networkInterfaces'
  | 'publicIPAddresses'
  | 'networkSecurityGroups'
  | 'virtualNetworks'
  | 'applicationSecurityGroups'
  | 'bastionHosts';

export type Collection = 'virtualMachines' | NetworkCollection;

export type SubscriptionState = 'Enabled' | 'Disabled' | 'Warned' | 'PastDue' | 'Deleted';

export interface AzureSubscription {
  displayName?: string;
  /** Default 'Enabled'. Only shown in subscriptions.list/get: reads of a Disabled subscription still work (as in ARM). */
  state?: SubscriptionState;
  /** Default: the world's tenantId. */
  tenantId?: string;
  tags?: Record<string, string>;
  /** Every request scoped to this subscription fails like this (subscriptions.list still lists it). */
  error?: ArmFault;
  /** Per-operation errors, e.g. { 'network.networkSecurityGroups.listAll': 'authorizationFailed' }. */
  opErrors?: Partial<Record<ArmOp, ArmFault>>;
  /** Raw ARM JSON, exactly as `az vm show` / a list item. A VM may carry `properties.instanceView` (see README). */
  virtualMachines?: any[];
  networkInterfaces?: any[];
  publicIPAddresses?: any[];
  networkSecurityGroups?: any[];
  virtualNetworks?: any[];
  applicationSecurityGroups?: any[];
  bastionHosts?: any[];
  /**
   * Overrides for the effective-NSG operation, by NIC id (case-insensitive): a raw
   * EffectiveNetworkSecurityGroupListResult (`{value:[...]}`) or a fault for the POST.
   * Without an entry the fake derives the result from the NIC, its subnet and their NSGs.
   */
  effectiveNetworkSecurityGroups?: Record<string, any>;
}

export interface AzureWorld {
  /** Default '11111111-2222-3333-4444-555555555555'. */
  tenantId?: string;
  /** Who the token belongs to, for AuthorizationFailed messages. */
  principal?: { clientId: string; objectId: string };
  /** By subscription id (a GUID in real life; any string works). */
  subscriptions: Record<string, AzureSubscription>;
  /** Service tag -> prefixes used when deriving effective rules (`Internet`, `AzureLoadBalancer` have built-in defaults). */
  serviceTags?: Record<string, string[]>;
}

export interface LoggedRequest {
  method: string;
  path: string;
  query: Record<string, string>;
  op: ArmOp;
  /** Subscription id as it appears in the path (undefined for GET /subscriptions). */
  subscription?: string;
  status?: number;
  authorization?: string;
}

export interface FakeArmOptions {
  /** If set, requests need `Authorization: Bearer <token>`; otherwise 401 (missing / invalid). */
  token?: string;
  /** Tokens answered with 401 ExpiredAuthenticationToken. */
  expiredTokens?: string[];
  /** Items per list page (the server decides; ARM has no page-size parameter on these lists). Default 1000. */
  pageSize?: number;
  /** Per-operation page size, e.g. { 'compute.virtualMachines.listAll': 2 }. */
  pageSizes?: Partial<Record<ArmOp, number>>;
  /**
   * Base of absolute URLs the fake hands out (nextLink, Location, Azure-AsyncOperation):
   * 'self' (default) = http://127.0.0.1:PORT; 'azure' = https://management.azure.com (what ARM really sends,
   * so client code that rewrites links to its endpoint override can be tested); or any explicit base URL.
   */
  linkBase?: 'self' | 'azure' | string;
  /** Delay per response (ms). */
  latencyMs?: number;
  /**
   * Inject errors per request (after the token check). `attempt` is 1 the first time this exact
   * method + URL is seen, 2 the second time (an SDK retry), and so on.
   */
  fault?: (req: LoggedRequest, attempt: number) => ArmFault | undefined;
  /** Retry-After (seconds) on throttled (429) errors. Default 1. */
  throttleRetryAfterSeconds?: number;
  /**
   * ARM's per-subscription read token bucket. The remaining count is always reported in
   * `x-ms-ratelimit-remaining-subscription-reads`; with `enforce` a request finding the bucket empty gets
   * 429 SubscriptionRequestsThrottled with Retry-After = seconds until a token is back.
   * Default { size: 250, refillPerSecond: 25, enforce: false }.
   */
  readBucket?: { size?: number; refillPerSecond?: number; enforce?: boolean };
  /** The effective-NSG long-running operation. */
  lro?: {
    /** How many polls answer "InProgress" / 202 before the result is ready. Default 1. */
    polls?: number;
    /** Retry-After (seconds) on the 202 and on running polls. Default 0 (real ARM says 10). */
    retryAfterSeconds?: number;
    /** 'both' (default: Azure-AsyncOperation + Location, as Microsoft.Network sends) or 'location' only. */
    headers?: 'both' | 'location';
  };
  /**
   * Shape of VM items for listAll?statusOnly=true: 'minimal' (default: id, name, type, location,
   * properties.{vmId, instanceView}) or 'full' (the whole VM plus properties.instanceView). Not verified
   * against live ARM; a client that joins statusOnly items to a plain listAll by id works with both.
   */
  statusOnlyShape?: 'minimal' | 'full';
}

export interface FakeArm {
  port: number;
  host: '127.0.0.1';
  /** http://127.0.0.1:PORT */
  baseUrl: string;
  requests: LoggedRequest[];
  /** indexBuilds: how many times a subscription's resource index was (re)built. */
  stats: { indexBuilds: number };
  close(): Promise<void>;
}

// ------------------------------------------------------------------------------------------------
// Constants
// ------------------------------------------------------------------------------------------------

const HOST = '127.0.0.1' as const;
const AZURE_BASE = 'https://management.azure.com';
const DEFAULT_TENANT = '11111111-2222-3333-4444-555555555555';
const DEFAULT_PRINCIPAL = { clientId: 'aaaaaaaa-0000-0000-0000-000000000001', objectId: 'bbbbbbbb-0000-0000-0000-000000000001' };
const DEFAULT_PAGE = 1000;

interface CollectionInfo {
  key: Collection;
  provider: 'Microsoft.Compute' | 'Microsoft.Network';
  /** Type segment as ARM spells it. */
  type: string;
  /** Op prefix for the request log (SDK client + operation group). */
  opPrefix: string;
  /** SDK method names of the subscription-wide and the resource-group list. */
  subList: string;
  rgList: string;
}

const COLLECTIONS: CollectionInfo[] = [
  { key: 'virtualMachines', provider: 'Microsoft.Compute', type: 'virtualMachines', opPrefix: 'compute.virtualMachines', subList: 'listAll', rgList: 'list' },
  { key: 'networkInterfaces', provider: 'Microsoft.Network', type: 'networkInterfaces', opPrefix: 'network.networkInterfaces', subList: 'listAll', rgList: 'list' },
  { key: 'publicIPAddresses', provider: 'Microsoft.Network', type: 'publicIPAddresses', opPrefix: 'network.publicIPAddresses', subList: 'listAll', rgList: 'list' },
  { key: 'networkSecurityGroups', provider: 'Microsoft.Network', type: 'networkSecurityGroups', opPrefix: 'network.networkSecurityGroups', subList: 'listAll', rgList: 'list' },
  { key: 'virtualNetworks', provider: 'Microsoft.Network', type: 'virtualNetworks', opPrefix: 'network.virtualNetworks', subList: 'listAll', rgList: 'list' },
  { key: 'applicationSecurityGroups', provider: 'Microsoft.Network', type: 'applicationSecurityGroups', opPrefix: 'network.applicationSecurityGroups', subList: 'listAll', rgList: 'list' },
  { key: 'bastionHosts', provider: 'Microsoft.Network', type: 'bastionHosts', opPrefix: 'network.bastionHosts', subList: 'list', rgList: 'listByResourceGroup' },
];
const BY_PROVIDER_TYPE = new Map(COLLECTIONS.map((c) => [`${c.provider}/${c.type}`.toLowerCase(), c]));

// ------------------------------------------------------------------------------------------------
// Small helpers
// ------------------------------------------------------------------------------------------------

const lc = (s: string | undefined | null): string => (s ?? '').toLowerCase();

/** Deterministic GUID-looking string from any text (two FNV-1a-style passes in one loop, mixed; not crypto). */
export function stableGuid(text: string): string {
  let h1 = 0x811c9dc5;
  let h2 = 0x9e3779b9;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    h1 = Math.imul(h1 ^ c, 0x01000193);
    h2 = Math.imul(h2 ^ c, 0x5bd1e995);
  }
  const w = (x: number) => {
    x = Math.imul(x ^ (x >>> 16), 0x85ebca6b);
    return ((x ^ (x >>> 13)) >>> 0).toString(16).padStart(8, '0');
  };
  const x = w(h1) + w(h2) + w(h1 ^ Math.imul(h2, 0x2c1b3c6d)) + w(h2 ^ Math.imul(h1, 0x297a2d39));
  return `${x.slice(0, 8)}-${x.slice(8, 12)}-4${x.slice(13, 16)}-a${x.slice(17, 20)}-${x.slice(20, 32)}`;
}

/** '/subscriptions/s/resourceGroups/rg/providers/Microsoft.Network/x/name' -> 'rg' (as written). */
function resourceGroupOf(id: string | undefined): string | undefined {
  const m = /\/resourceGroups\/([^/]+)/i.exec(id ?? '');
  return m ? m[1] : undefined;
}

function encodeSkipToken(offset: number): string {
  return Buffer.from(`fake:${offset}`).toString('base64url');
}

function decodeSkipToken(tok: string): number | undefined {
  const m = /^fake:(\d+)$/.exec(Buffer.from(tok, 'base64url').toString('utf8'));
  return m ? Number(m[1]) : undefined;
}

/** A non-mutating copy of `o` with `properties` shallow-copied (so the fake can fill derived fields). */
function withProps(o: any): any {
  return { ...o, properties: { ...(o?.properties ?? {}) } };
}

// ------------------------------------------------------------------------------------------------
// NSG default rules (ARM always returns them in properties.defaultSecurityRules)
// ------------------------------------------------------------------------------------------------

const DEFAULT_RULES: [string, string, 'Inbound' | 'Outbound', 'Allow' | 'Deny', number, string, string][] = [
  ['AllowVnetInBound', 'Allow inbound traffic from all VMs in VNET', 'Inbound', 'Allow', 65000, 'VirtualNetwork', 'VirtualNetwork'],
  ['AllowAzureLoadBalancerInBound', 'Allow inbound traffic from azure load balancer', 'Inbound', 'Allow', 65001, 'AzureLoadBalancer', '*'],
  ['DenyAllInBound', 'Deny all inbound traffic', 'Inbound', 'Deny', 65500, '*', '*'],
  ['AllowVnetOutBound', 'Allow outbound traffic from all VMs to all VMs in VNET', 'Outbound', 'Allow', 65000, 'VirtualNetwork', 'VirtualNetwork'],
  ['AllowInternetOutBound', 'Allow outbound traffic from all VMs to Internet', 'Outbound', 'Allow', 65001, '*', 'Internet'],
  ['DenyAllOutBound', 'Deny all outbound traffic', 'Outbound', 'Deny', 65500, '*', '*'],
];

/** The six default rules of an NSG, as ARM returns them. */
export function defaultSecurityRules(nsgId: string): any[] {
  return DEFAULT_RULES.map(([name, description, direction, access, priority, src, dst]) => ({
    name,
    id: `${nsgId}/defaultSecurityRules/${name}`,
    etag: `W/"${stableGuid(`${nsgId}/${name}`)}"`,
    type: 'Microsoft.Network/networkSecurityGroups/defaultSecurityRules',
    properties: {
      provisioningState: 'Succeeded',
      description,
      protocol: '*',
      sourcePortRange: '*',
      destinationPortRange: '*',
      sourceAddressPrefix: src,
      destinationAddressPrefix: dst,
      access,
      priority,
      direction,
      sourcePortRanges: [],
      destinationPortRanges: [],
      sourceAddressPrefixes: [],
      destinationAddressPrefixes: [],
    },
  }));
}

// ------------------------------------------------------------------------------------------------
// Errors, shaped like ARM's {"error":{"code","message"}} bodies
// ------------------------------------------------------------------------------------------------

interface Result {
  status: number;
  /** JSON body (object) or pre-serialized JSON (string); undefined = empty body. */
  body?: any;
  raw?: string;
  headers?: Record<string, string>;
}

interface ErrCtx {
  subscription: string;
  /** RBAC action, e.g. 'Microsoft.Network/networkSecurityGroups/read'. */
  action: string;
  /** Scope of the request, e.g. '/subscriptions/s' or a resource id. */
  scope: string;
  /** For ResourceNotFound: 'Microsoft.Network/networkInterfaces/nic1' and its resource group. */
  resourceType?: string;
  resourceName?: string;
  resourceGroup?: string;
  provider?: string;
  nicId?: string;
}

function armError(status: number, code: string, message: string, headers?: Record<string, string>): Result {
  return { status, body: { error: { code, message } }, ...(headers ? { headers } : {}) };
}

const isKind = (f: ArmFault): f is ArmErrorKind => typeof f === 'string';

// ------------------------------------------------------------------------------------------------
// Per-subscription index (built once, rebuilt only when a resource array is replaced or resized)
// ------------------------------------------------------------------------------------------------

interface Entry {
  coll: Collection;
  /** The object as served by list/get (derived fields filled, instanceView stripped from VMs). */
  served: any;
  /** The fixture object (VMs: with instanceView). */
  raw: any;
}

interface SubIndex {
  stamp: string;
  arrays: (any[] | undefined)[];
  served: Record<Collection, any[]>;
  /** Serialized list items, per collection, built on first use. */
  json: Partial<Record<Collection, string[]>>;
  byId: Map<string, Entry>;
  /** lower(subnet id) -> { vnet (raw), subnet (raw) } */
  subnets: Map<string, { vnet: any; subnet: any }>;
  /** lower(nic id) -> raw VM */
  vmByNic: Map<string, any>;
  /** statusOnly items, per shape */
  statusJson: Partial<Record<'minimal' | 'full', string[]>>;
  /** lower(rg) -> json list, per collection (lazy) */
  byRg: Map<string, string[]>;
}

const ARRAY_KEYS: Collection[] = [
  'virtualMachines',
  'networkInterfaces',
  'publicIPAddresses',
  'networkSecurityGroups',
  'virtualNetworks',
  'applicationSecurityGroups',
  'bastionHosts',
];

function stampOf(sub: AzureSubscription): { stamp: string; arrays: (any[] | undefined)[] } {
  const arrays = ARRAY_KEYS.map((k) => sub[k]);
  return { stamp: arrays.map((a) => (a ? a.length : -1)).join(','), arrays };
}

/** The subscription's index from `cache`, rebuilt when a resource array was replaced or changed length. */
function cachedIndex(cache: WeakMap<AzureSubscription, SubIndex>, sub: AzureSubscription, onBuild: () => void): SubIndex {
  const { stamp, arrays } = stampOf(sub);
  const cached = cache.get(sub);
  if (cached && cached.stamp === stamp && cached.arrays.every((a, i) => a === arrays[i])) return cached;
  onBuild();
  const idx = buildIndex(sub, stamp, arrays);
  cache.set(sub, idx);
  return idx;
}

function buildIndex(sub: AzureSubscription, stamp: string, arrays: (any[] | undefined)[]): SubIndex {
  const vms = sub.virtualMachines ?? [];
  const nics = sub.networkInterfaces ?? [];
  const pips = sub.publicIPAddresses ?? [];
  const nsgs = sub.networkSecurityGroups ?? [];
  const vnets = sub.virtualNetworks ?? [];
  const asgs = sub.applicationSecurityGroups ?? [];
  const bastions = sub.bastionHosts ?? [];

  // Back-references ARM computes: VM -> NIC, NIC ipconfig -> public IP / subnet / NSG, subnet -> NSG.
  const vmByNic = new Map<string, any>();
  for (const vm of vms) {
    for (const r of vm?.properties?.networkProfile?.networkInterfaces ?? []) if (r?.id) vmByNic.set(lc(r.id), vm);
  }
  const pipToIpConfig = new Map<string, string>();
  const nsgToNics = new Map<string, string[]>();
  const nsgToSubnets = new Map<string, string[]>();
  const subnetToIpConfigs = new Map<string, string[]>();
  const push = (m: Map<string, string[]>, k: string, v: string) => {
    const a = m.get(k);
    if (a) a.push(v);
    else m.set(k, [v]);
  };
  for (const nic of nics) {
    const p = nic?.properties ?? {};
    if (p.networkSecurityGroup?.id) push(nsgToNics, lc(p.networkSecurityGroup.id), nic.id);
    for (const ipc of p.ipConfigurations ?? []) {
      const ip = ipc?.properties ?? {};
      if (ip.publicIPAddress?.id) pipToIpConfig.set(lc(ip.publicIPAddress.id), ipc.id);
      if (ip.subnet?.id) push(subnetToIpConfigs, lc(ip.subnet.id), ipc.id);
    }
  }
  for (const b of bastions) {
    for (const ipc of b?.properties?.ipConfigurations ?? []) {
      const ip = ipc?.properties ?? {};
      if (ip.publicIPAddress?.id) pipToIpConfig.set(lc(ip.publicIPAddress.id), ipc.id);
      if (ip.subnet?.id) push(subnetToIpConfigs, lc(ip.subnet.id), ipc.id);
    }
  }
  const subnets = new Map<string, { vnet: any; subnet: any }>();
  for (const vnet of vnets) {
    for (const sn of vnet?.properties?.subnets ?? []) {
      if (sn?.id) subnets.set(lc(sn.id), { vnet, subnet: sn });
      const nsgId = sn?.properties?.networkSecurityGroup?.id;
      if (nsgId && sn?.id) push(nsgToSubnets, lc(nsgId), sn.id);
    }
  }

  const served: Record<Collection, any[]> = {
    virtualMachines: vms.map((vm) => {
      if (!vm?.properties?.instanceView) return vm;
      const c = withProps(vm);
      delete c.properties.instanceView;
      return c;
    }),
    networkInterfaces: nics.map((nic) => {
      const vm = vmByNic.get(lc(nic?.id));
      if (!vm || nic?.properties?.virtualMachine) return nic;
      const c = withProps(nic);
      c.properties.virtualMachine = { id: vm.id };
      return c;
    }),
    publicIPAddresses: pips.map((pip) => {
      const ipc = pipToIpConfig.get(lc(pip?.id));
      if (!ipc || pip?.properties?.ipConfiguration) return pip;
      const c = withProps(pip);
      c.properties.ipConfiguration = { id: ipc };
      return c;
    }),
    networkSecurityGroups: nsgs.map((nsg) => {
      const c = withProps(nsg);
      const p = c.properties;
      if (!p.securityRules) p.securityRules = [];
      if (!p.defaultSecurityRules) p.defaultSecurityRules = defaultSecurityRules(nsg.id);
      const nicRefs = nsgToNics.get(lc(nsg?.id));
      if (!p.networkInterfaces && nicRefs) p.networkInterfaces = nicRefs.map((id) => ({ id }));
      const snRefs = nsgToSubnets.get(lc(nsg?.id));
      if (!p.subnets && snRefs) p.subnets = snRefs.map((id) => ({ id }));
      return c;
    }),
    virtualNetworks: vnets.map((vnet) => {
      const sns: any[] = vnet?.properties?.subnets ?? [];
      if (!sns.some((sn) => !sn?.properties?.ipConfigurations && subnetToIpConfigs.has(lc(sn?.id)))) return vnet;
      const c = withProps(vnet);
      c.properties.subnets = sns.map((sn) => {
        const refs = subnetToIpConfigs.get(lc(sn?.id));
        if (!refs || sn?.properties?.ipConfigurations) return sn;
        const s = withProps(sn);
        s.properties.ipConfigurations = refs.map((id) => ({ id }));
        return s;
      });
      return c;
    }),
    applicationSecurityGroups: asgs,
    bastionHosts: bastions,
  };

  const byId = new Map<string, Entry>();
  const rawOf: Record<Collection, any[]> = {
    virtualMachines: vms,
    networkInterfaces: nics,
    publicIPAddresses: pips,
    networkSecurityGroups: nsgs,
    virtualNetworks: vnets,
    applicationSecurityGroups: asgs,
    bastionHosts: bastions,
  };
  for (const k of ARRAY_KEYS) {
    served[k].forEach((o, i) => {
      if (o?.id) byId.set(lc(o.id), { coll: k, served: o, raw: rawOf[k][i] });
    });
  }

  return { stamp, arrays, served, json: {}, byId, subnets, vmByNic, statusJson: {}, byRg: new Map() };
}

function jsonItems(idx: SubIndex, coll: Collection): string[] {
  let js = idx.json[coll];
  if (!js) idx.json[coll] = js = idx.served[coll].map((o) => JSON.stringify(o));
  return js;
}

function defaultInstanceView(): any {
  return {
    statuses: [
      { code: 'ProvisioningState/succeeded', level: 'Info', displayStatus: 'Provisioning succeeded' },
      { code: 'PowerState/running', level: 'Info', displayStatus: 'VM running' },
    ],
  };
}

function instanceViewOf(vm: any): any {
  return vm?.properties?.instanceView ?? defaultInstanceView();
}

function powerStateOf(vm: any): string | undefined {
  const st = (instanceViewOf(vm).statuses ?? []).find((s: any) => typeof s?.code === 'string' && s.code.startsWith('PowerState/'));
  return st ? st.code.slice('PowerState/'.length) : undefined;
}

function statusOnlyJson(idx: SubIndex, shape: 'minimal' | 'full'): string[] {
  const cached = idx.statusJson[shape];
  if (cached) return cached;
  const raws = (idx.arrays[0] as any[] | undefined) ?? [];
  const out = raws.map((vm, i) => {
    if (shape === 'full') {
      const c = withProps(idx.served.virtualMachines[i]);
      c.properties.instanceView = instanceViewOf(vm);
      return JSON.stringify(c);
    }
    const item: any = { name: vm?.name, id: vm?.id, type: vm?.type ?? 'Microsoft.Compute/virtualMachines', location: vm?.location };
    item.properties = {
      ...(vm?.properties?.vmId ? { vmId: vm.properties.vmId } : {}),
      instanceView: instanceViewOf(vm),
    };
    return JSON.stringify(item);
  });
  idx.statusJson[shape] = out;
  return out;
}

// ------------------------------------------------------------------------------------------------
// Effective NSGs (derived)
// ------------------------------------------------------------------------------------------------

/** CIDR complement of `excluded` inside 0.0.0.0/0 (IPv4 only): a compact stand-in for the Internet tag. */
function ipv4Complement(excluded: string[]): string[] {
  const ex = excluded.map((c) => {
    const [a, l] = c.split('/');
    const n = a!.split('.').reduce((acc, o) => acc * 256 + Number(o), 0);
    return { start: n, end: n + 2 ** (32 - Number(l)) - 1 };
  });
  const out: string[] = [];
  const walk = (start: number, len: number) => {
    const end = start + 2 ** (32 - len) - 1;
    const overlap = ex.filter((e) => e.start <= end && e.end >= start);
    if (overlap.length === 0) {
      out.push(`${[24, 16, 8, 0].map((s) => Math.floor(start / 2 ** s) % 256).join('.')}/${len}`);
      return;
    }
    if (overlap.some((e) => e.start <= start && e.end >= end)) return;
    walk(start, len + 1);
    walk(start + 2 ** (32 - len - 1), len + 1);
  };
  walk(0, 0);
  return out;
}

let internetPrefixes: string[] | undefined;
function internetTag(): string[] {
  internetPrefixes ??= ipv4Complement([
    '0.0.0.0/8',
    '10.0.0.0/8',
    '100.64.0.0/10',
    '127.0.0.0/8',
    '169.254.0.0/16',
    '172.16.0.0/12',
    '192.168.0.0/16',
    '224.0.0.0/3',
  ]);
  return internetPrefixes;
}

const normPort = (p: string): string => (p === '*' ? '0-65535' : p.includes('-') ? p : `${p}-${p}`);

function normAddr(a: string): string {
  if (a === '*' || a.toLowerCase() === 'any') return '0.0.0.0/0';
  if (/^\d+\.\d+\.\d+\.\d+$/.test(a)) return `${a}/32`;
  if (/^[0-9a-f:]+$/i.test(a) && a.includes(':')) return `${a}/128`;
  return a;
}

const isCidrOrIp = (a: string): boolean => /^[0-9.]+(\/\d+)?$/.test(a) || (/^[0-9a-f:]+(\/\d+)?$/i.test(a) && a.includes(':'));

interface EffCtx {
  world: AzureWorld;
  idx: SubIndex;
  /** Address prefixes of the NIC's VNet (for VirtualNetwork). */
  vnetPrefixes: string[];
  tagMap: Record<string, string[]>;
}

function expandTag(tag: string, ctx: EffCtx): string[] {
  const custom = ctx.world.serviceTags?.[tag];
  if (custom) return custom;
  if (tag === 'Internet') return internetTag();
  if (tag === 'AzureLoadBalancer') return ['168.63.129.16/32'];
  if (tag === 'VirtualNetwork') return ctx.vnetPrefixes;
  return [];
}

/** Private IPs (/32) of the NICs in an ASG, for rules that name ASGs (the fake's approximation). */
function asgMembers(asgIds: any[], ctx: EffCtx): string[] {
  const want = new Set(asgIds.map((a) => lc(a?.id)));
  const out: string[] = [];
  for (const nic of ctx.idx.served.networkInterfaces) {
    for (const ipc of nic?.properties?.ipConfigurations ?? []) {
      const ip = ipc?.properties ?? {};
      if ((ip.applicationSecurityGroups ?? []).some((a: any) => want.has(lc(a?.id))) && ip.privateIPAddress) {
        out.push(`${ip.privateIPAddress}/32`);
      }
    }
  }
  return out;
}

function effectiveRule(rule: any, prefix: 'securityRules' | 'defaultSecurityRules', ctx: EffCtx): any {
  const p = rule?.properties ?? {};
  const side = (single: string | undefined, list: string[] | undefined, asgs: any[] | undefined) => {
    let values: string[];
    if (asgs?.length) values = asgMembers(asgs, ctx);
    else if (list?.length) values = list;
    else values = [single ?? '*'];
    const norm = values.map(normAddr);
    const expanded: string[] = [];
    let tagged = false;
    for (const v of norm) {
      if (isCidrOrIp(v)) expanded.push(v);
      else {
        tagged = true;
        const e = expandTag(v, ctx);
        ctx.tagMap[v] = e;
        expanded.push(...e);
      }
    }
    return { norm, expanded: tagged ? expanded : undefined };
  };
  const src = side(p.sourceAddressPrefix, p.sourceAddressPrefixes, p.sourceApplicationSecurityGroups);
  const dst = side(p.destinationAddressPrefix, p.destinationAddressPrefixes, p.destinationApplicationSecurityGroups);
  const sPorts = (p.sourcePortRanges?.length ? p.sourcePortRanges : [p.sourcePortRange ?? '*']).map(normPort);
  const dPorts = (p.destinationPortRanges?.length ? p.destinationPortRanges : [p.destinationPortRange ?? '*']).map(normPort);
  const out: any = {
    name: `${prefix}/${rule?.name}`,
    protocol: p.protocol === '*' || p.protocol === undefined ? 'All' : p.protocol,
  };
  if (sPorts.length === 1) out.sourcePortRange = sPorts[0];
  if (dPorts.length === 1) out.destinationPortRange = dPorts[0];
  out.sourcePortRanges = sPorts;
  out.destinationPortRanges = dPorts;
  if (src.norm.length === 1) out.sourceAddressPrefix = src.norm[0];
  out.sourceAddressPrefixes = src.norm;
  if (src.expanded) out.expandedSourceAddressPrefix = src.expanded;
  if (dst.norm.length === 1) out.destinationAddressPrefix = dst.norm[0];
  out.destinationAddressPrefixes = dst.norm;
  if (dst.expanded) out.expandedDestinationAddressPrefix = dst.expanded;
  out.access = p.access;
  out.priority = p.priority;
  out.direction = p.direction;
  return out;
}

function effectiveEntry(nsgId: string, association: any, ctx: EffCtx): any | undefined {
  const e = ctx.idx.byId.get(lc(nsgId));
  if (!e || e.coll !== 'networkSecurityGroups') return undefined;
  ctx.tagMap = {};
  const nsg = e.served;
  const rules = [
    ...(nsg.properties.securityRules ?? []).map((r: any) => effectiveRule(r, 'securityRules', ctx)),
    ...(nsg.properties.defaultSecurityRules ?? []).map((r: any) => effectiveRule(r, 'defaultSecurityRules', ctx)),
  ];
  return {
    networkSecurityGroup: { id: nsg.id },
    association,
    effectiveSecurityRules: rules,
    tagMap: JSON.stringify(ctx.tagMap),
  };
}

// ------------------------------------------------------------------------------------------------
// Server
// ------------------------------------------------------------------------------------------------

interface Route {
  op: ArmOp;
  subscription?: string;
  action: string;
  scope: string;
  /** True for reads that count against x-ms-ratelimit-remaining-subscription-reads. */
  write?: boolean;
  errCtx?: Partial<ErrCtx>;
  handle: (sub: AzureSubscription | undefined) => Result;
}

interface LroState {
  subscription: string;
  polls: number;
  result: any;
  statusUrl: string;
  resultUrl: string;
}

export async function startFakeArm(world: AzureWorld, opts: FakeArmOptions = {}): Promise<FakeArm> {
  const requests: LoggedRequest[] = [];
  const stats = { indexBuilds: 0 };
  const indexCache = new WeakMap<AzureSubscription, SubIndex>();
  const subIndex = (sub: AzureSubscription) => cachedIndex(indexCache, sub, () => stats.indexBuilds++);
  const attemptOf = attemptCounter();
  const lros = new Map<string, LroState>();
  const buckets = new Map<string, { tokens: number; at: number }>();
  const tenant = world.tenantId ?? DEFAULT_TENANT;
  const principal = world.principal ?? DEFAULT_PRINCIPAL;
  const bucketSize = opts.readBucket?.size ?? 250;
  const bucketRefill = opts.readBucket?.refillPerSecond ?? 25;
  const statusShape = opts.statusOnlyShape ?? 'minimal';
  let selfBase = '';
  const linkBase = () =>
    opts.linkBase === undefined || opts.linkBase === 'self' ? selfBase : opts.linkBase === 'azure' ? AZURE_BASE : opts.linkBase.replace(/\/$/, '');

  const findSub = (id: string): [string, AzureSubscription] | undefined => {
    const direct = world.subscriptions[id];
    if (direct) return [id, direct];
    for (const [k, v] of Object.entries(world.subscriptions)) if (lc(k) === lc(id)) return [k, v];
    return undefined;
  };

  // ---------------- errors ----------------
  const retryAfterFor = (f: ArmFault, dflt: number | null): number | null =>
    !isKind(f) && 'kind' in f && f.retryAfterSeconds !== undefined ? f.retryAfterSeconds : dflt;

  const faultResult = (f: ArmFault, ctx: ErrCtx): Result => {
    if (!isKind(f) && 'status' in f) return armError(f.status, f.code, f.message, f.headers);
    const kind = isKind(f) ? f : f.kind;
    const extra = !isKind(f) && 'kind' in f ? f.headers : undefined;
    const r = kindResult(kind, ctx, retryAfterFor(f, kind === 'throttled' || kind === 'providerThrottled' ? (opts.throttleRetryAfterSeconds ?? 1) : null));
    if (extra) r.headers = { ...(r.headers ?? {}), ...extra };
    return r;
  };

  const kindResult = (kind: ArmErrorKind, ctx: ErrCtx, retryAfter: number | null): Result => {
    const ra: Record<string, string> = retryAfter === null ? {} : { 'retry-after': String(retryAfter) };
    switch (kind) {
      case 'authorizationFailed':
        return armError(
          403,
          'AuthorizationFailed',
          `The client '${principal.clientId}' with object id '${principal.objectId}' does not have authorization to perform ` +
            `action '${ctx.action}' over scope '${ctx.scope}' or the scope is invalid. If access was recently granted, ` +
            'please refresh your credentials.',
        );
      case 'subscriptionNotFound':
        return armError(404, 'SubscriptionNotFound', `The subscription '${ctx.subscription}' could not be found.`);
      case 'resourceGroupNotFound':
        return armError(404, 'ResourceGroupNotFound', `Resource group '${ctx.resourceGroup ?? ''}' could not be found.`);
      case 'resourceNotFound':
        return armError(
          404,
          'ResourceNotFound',
          `The Resource '${ctx.resourceType ?? ''}/${ctx.resourceName ?? ''}' under resource group '${ctx.resourceGroup ?? ''}' ` +
            'was not found. For more details please go to https://aka.ms/ARMResourceNotFoundFix',
        );
      case 'throttled':
        return armError(
          429,
          'SubscriptionRequestsThrottled',
          `Number of 'read' requests for subscription '${ctx.subscription}' actor '${principal.objectId}' exceeded. ` +
            `Please try again after '${retryAfter ?? 1}' seconds after additional tokens are available. ` +
            'Refer to https://aka.ms/arm-throttling for additional information.',
          { ...ra, 'x-ms-ratelimit-remaining-subscription-reads': '0' },
        );
      case 'providerThrottled':
        return {
          status: 429,
          headers: { ...ra, 'x-ms-ratelimit-remaining-resource': `${ctx.provider ?? 'Microsoft.Compute'}/HighCostGetVMList3Min;0` },
          body: {
            error: {
              code: 'OperationNotAllowed',
              message: 'The server rejected the request because too many requests have been received for this subscription.',
              details: [
                {
                  code: 'TooManyRequests',
                  target: 'HighCostGetVMList3Min',
                  message: `{"operationGroup":"HighCostGetVMList3Min","startTime":"2025-01-01T00:00:00+00:00","endTime":"2025-01-01T00:03:00+00:00","allowedRequestCount":250,"measuredRequestCount":251}`,
                },
              ],
            },
          },
        };
      case 'internalServerError':
        return armError(
          500,
          'InternalServerError',
          `Encountered internal server error. Diagnostic information: timestamp '${new Date().toISOString()}', ` +
            `subscription id '${ctx.subscription}', tracking id '${randomUUID()}', request correlation id '${randomUUID()}'.`,
        );
      case 'serviceUnavailable':
        return armError(
          503,
          'ServiceUnavailable',
          'The server is currently unable to handle the request due to a temporary overloading or maintenance. Please try again later.',
          ra,
        );
      case 'gatewayTimeout':
        return armError(
          504,
          'GatewayTimeout',
          `The gateway did not receive a response from '${ctx.provider ?? 'Microsoft.Network'}' within the specified time period.`,
        );
      case 'invalidAuthenticationToken':
        return unauthorized('invalid');
      case 'expiredAuthenticationToken':
        return unauthorized('expired');
      case 'nicNotAttachedToRunningVm':
        return armError(
          400,
          'NicMustBeAttachedToRunningVmToGetEffectiveSecurityGroups',
          'A network interface must be attached to a running virtual machine to get effective security groups. ' +
            `The network interface ${ctx.nicId ?? ctx.scope} is not attached to a running virtual machine.`,
        );
    }
  };

  const unauthorized = (why: 'missing' | 'invalid' | 'expired'): Result => {
    const desc =
      why === 'missing'
        ? "The authentication failed because of missing 'Authorization' header."
        : why === 'expired'
          ? 'The access token has expired.'
          : 'The access token is invalid.';
    const headers = {
      'www-authenticate': `Bearer authorization_uri="https://login.microsoftonline.com/${tenant}", error="invalid_token", error_description="${desc}"`,
    };
    if (why === 'missing') return armError(401, 'AuthenticationFailed', "Authentication failed. The 'Authorization' header is missing.", headers);
    if (why === 'expired') {
      const now = new Date();
      const fmt = (d: Date) => d.toISOString().replace('T', ' ').slice(0, 19).replace(/^(\d+)-(\d+)-(\d+)/, '$2/$3/$1');
      return armError(
        401,
        'ExpiredAuthenticationToken',
        `The access token expiry UTC time '${fmt(new Date(now.getTime() - 60_000))}' is earlier than current UTC time '${fmt(now)}'.`,
        headers,
      );
    }
    return armError(401, 'InvalidAuthenticationToken', 'The access token is invalid.', headers);
  };

  // ---------------- lists ----------------
  const pageSizeFor = (op: ArmOp) => Math.max(1, opts.pageSizes?.[op] ?? opts.pageSize ?? DEFAULT_PAGE);

  /** One page of a list as `{"value":[...],"nextLink":...}`; items are pre-serialized JSON. */
  const listPage = (items: string[], op: ArmOp, path: string, q: URLSearchParams): Result => {
    const tok = q.get('$skiptoken') ?? q.get('$skipToken');
    let start = 0;
    if (tok !== null) {
      const off = decodeSkipToken(tok);
      if (off === undefined) return armError(400, 'InvalidSkipToken', `The skip token '${tok}' is not valid.`);
      start = off;
    }
    const size = pageSizeFor(op);
    const page = items.slice(start, start + size);
    let raw = `{"value":[${page.join(',')}]`;
    if (start + size < items.length) {
      const nq = new URLSearchParams();
      for (const [k, v] of q) if (k !== '$skiptoken' && k !== '$skipToken') nq.append(k, v);
      nq.append('$skiptoken', encodeSkipToken(start + size));
      raw += `,"nextLink":${JSON.stringify(`${linkBase()}${path}?${nq.toString()}`)}`;
    }
    raw += '}';
    return { status: 200, raw };
  };

  const rgItems = (idx: SubIndex, coll: Collection, rg: string): string[] => {
    const key = `${coll}|${lc(rg)}`;
    let out = idx.byRg.get(key);
    if (!out) {
      out = [];
      const js = jsonItems(idx, coll);
      idx.served[coll].forEach((o, i) => {
        if (lc(resourceGroupOf(o?.id)) === lc(rg)) out!.push(js[i]!);
      });
      idx.byRg.set(key, out);
    }
    return out;
  };

  const rgExists = (idx: SubIndex, rg: string): boolean => {
    for (const k of idx.byId.keys()) if (lc(resourceGroupOf(k)) === lc(rg)) return true;
    return false;
  };

  // ---------------- subscriptions ----------------
  const subscriptionJson = (id: string, s: AzureSubscription) => ({
    id: `/subscriptions/${id}`,
    authorizationSource: 'RoleBased',
    managedByTenants: [],
    ...(s.tags ? { tags: s.tags } : {}),
    subscriptionId: id,
    tenantId: s.tenantId ?? tenant,
    displayName: s.displayName ?? id,
    state: s.state ?? 'Enabled',
    subscriptionPolicies: {
      locationPlacementId: 'Public_2014-09-01',
      quotaId: 'PayAsYouGo_2014-09-01',
      spendingLimit: 'Off',
    },
  });

  // ---------------- effective NSGs ----------------
  const effectiveResult = (subId: string, sub: AzureSubscription, idx: SubIndex, nicId: string, rg: string, nicName: string): Result => {
    const override = Object.entries(sub.effectiveNetworkSecurityGroups ?? {}).find(([k]) => lc(k) === lc(nicId));
    const ctx: ErrCtx = {
      subscription: subId,
      action: 'Microsoft.Network/networkInterfaces/effectiveNetworkSecurityGroups/action',
      scope: nicId,
      resourceType: 'Microsoft.Network/networkInterfaces',
      resourceName: nicName,
      resourceGroup: rg,
      nicId,
    };
    const entry = idx.byId.get(lc(nicId));
    if (override) {
      const v = override[1];
      if (typeof v === 'string' || (v && typeof v === 'object' && ('kind' in v || ('status' in v && 'code' in v)))) {
        return faultResult(v as ArmFault, ctx);
      }
      return { status: 200, body: v };
    }
    if (!entry || entry.coll !== 'networkInterfaces') {
      return rgExists(idx, rg) ? kindResult('resourceNotFound', ctx, null) : kindResult('resourceGroupNotFound', ctx, null);
    }
    const nic = entry.served;
    const vm = idx.vmByNic.get(lc(nic.id)) ?? (nic.properties?.virtualMachine?.id ? idx.byId.get(lc(nic.properties.virtualMachine.id))?.raw : undefined);
    if (!vm || powerStateOf(vm) !== 'running') return kindResult('nicNotAttachedToRunningVm', { ...ctx, nicId: nic.id }, null);
    const value: any[] = [];
    const seen = new Set<string>();
    for (const ipc of nic.properties?.ipConfigurations ?? []) {
      const snId = ipc?.properties?.subnet?.id;
      const sn = snId ? idx.subnets.get(lc(snId)) : undefined;
      const nsgId = sn?.subnet?.properties?.networkSecurityGroup?.id;
      if (!sn || !nsgId || seen.has(lc(sn.subnet.id))) continue;
      seen.add(lc(sn.subnet.id));
      const ectx: EffCtx = { world, idx, vnetPrefixes: sn.vnet?.properties?.addressSpace?.addressPrefixes ?? [], tagMap: {} };
      const e = effectiveEntry(nsgId, { subnet: { id: sn.subnet.id } }, ectx);
      if (e) value.push(e);
    }
    const nicNsg = nic.properties?.networkSecurityGroup?.id;
    if (nicNsg) {
      const firstSubnet = nic.properties?.ipConfigurations?.[0]?.properties?.subnet?.id;
      const sn = firstSubnet ? idx.subnets.get(lc(firstSubnet)) : undefined;
      const ectx: EffCtx = { world, idx, vnetPrefixes: sn?.vnet?.properties?.addressSpace?.addressPrefixes ?? [], tagMap: {} };
      const e = effectiveEntry(nicNsg, { networkInterface: { id: nic.id } }, ectx);
      if (e) value.push(e);
    }
    return { status: 200, body: { value } };
  };

  // ---------------- routing ----------------
  const route = (method: string, path: string, q: URLSearchParams): Route | undefined => {
    const seg = path.split('/').slice(1).map((s) => {
      try {
        return decodeURIComponent(s);
      } catch {
        return s;
      }
    });
    if (seg[seg.length - 1] === '') seg.pop();
    if (lc(seg[0]) !== 'subscriptions') return undefined;

    // GET /subscriptions
    if (seg.length === 1) {
      if (method !== 'GET') return undefined;
      return {
        op: 'subscriptions.list',
        action: 'Microsoft.Resources/subscriptions/read',
        scope: '/',
        handle: () => {
          const items = Object.entries(world.subscriptions).map(([id, s]) => JSON.stringify(subscriptionJson(id, s)));
          const r = listPage(items, 'subscriptions.list', path, q);
          // ARM adds a count to the subscription list.
          r.raw = `${r.raw!.slice(0, -1)},"count":{"type":"Total","value":${items.length}}}`;
          return r;
        },
      };
    }

    const subId = seg[1]!;
    const found = findSub(subId);
    const subScope = `/subscriptions/${subId}`;

    // GET /subscriptions/{s}
    if (seg.length === 2) {
      if (method !== 'GET') return undefined;
      return {
        op: 'subscriptions.get',
        subscription: subId,
        action: 'Microsoft.Resources/subscriptions/read',
        scope: subScope,
        handle: () => ({ status: 200, body: subscriptionJson(found![0], found![1]) }),
      };
    }

    // /subscriptions/{s}/providers/{ns}/...
    if (lc(seg[2]) === 'providers' && seg.length >= 5) {
      const ns = seg[3]!;
      // Network LRO polling: /subscriptions/{s}/providers/Microsoft.Network/locations/{loc}/operations|operationResults/{id}
      if (lc(ns) === 'microsoft.network' && lc(seg[4]) === 'locations' && seg.length === 8 && method === 'GET') {
        const kind = lc(seg[6]);
        const opId = seg[7]!;
        if (kind !== 'operations' && kind !== 'operationresults') return undefined;
        const isStatus = kind === 'operations';
        return {
          op: isStatus ? 'network.operations.get' : 'network.operationResults.get',
          subscription: subId,
          action: 'Microsoft.Network/locations/operations/read',
          scope: subScope,
          handle: () => {
            const st = lros.get(opId);
            if (!st || lc(st.subscription) !== lc(subId)) {
              return armError(404, 'OperationNotFound', `The operation '${opId}' could not be found.`);
            }
            const ra = String(opts.lro?.retryAfterSeconds ?? 0);
            const running = st.polls > 0;
            if (running) st.polls--;
            if (isStatus) {
              return {
                status: 200,
                headers: running ? { 'retry-after': ra } : {},
                body: { status: running ? 'InProgress' : 'Succeeded' },
              };
            }
            if (running) return { status: 202, headers: { location: st.resultUrl, 'retry-after': ra } };
            return { status: 200, body: st.result };
          },
        };
      }
      if (seg.length !== 5) return undefined;
      const coll = BY_PROVIDER_TYPE.get(`${ns}/${seg[4]}`.toLowerCase());
      if (!coll || method !== 'GET') return undefined;
      const op = `${coll.opPrefix}.${coll.subList}` as ArmOp;
      const statusOnly = coll.key === 'virtualMachines' && lc(q.get('statusOnly')) === 'true';
      return {
        op,
        subscription: subId,
        action: `${coll.provider}/${coll.type}/read`,
        scope: subScope,
        errCtx: { provider: coll.provider },
        handle: (sub) => {
          const idx = subIndex(sub!);
          const items = statusOnly ? statusOnlyJson(idx, statusShape) : jsonItems(idx, coll.key);
          return listPage(items, op, path, q);
        },
      };
    }

    // /subscriptions/{s}/resourceGroups/{rg}/providers/{ns}/{type}[/{name}[/{action}]]
    if (lc(seg[2]) === 'resourcegroups' && seg[3] && lc(seg[4]) === 'providers' && seg.length >= 7) {
      const rg = seg[3];
      const coll = BY_PROVIDER_TYPE.get(`${seg[5]}/${seg[6]}`.toLowerCase());
      if (!coll) return undefined;
      const rgScope = `${subScope}/resourceGroups/${rg}`;
      const ctxBase = { provider: coll.provider, resourceGroup: rg, resourceType: `${coll.provider}/${coll.type}` };
      if (seg.length === 7) {
        if (method !== 'GET') return undefined;
        const op = `${coll.opPrefix}.${coll.rgList}` as ArmOp;
        return {
          op,
          subscription: subId,
          action: `${coll.provider}/${coll.type}/read`,
          scope: rgScope,
          errCtx: ctxBase,
          handle: (sub) => {
            const idx = subIndex(sub!);
            const items = rgItems(idx, coll.key, rg);
            if (items.length === 0 && !rgExists(idx, rg)) {
              return kindResult('resourceGroupNotFound', { subscription: subId, action: '', scope: rgScope, ...ctxBase }, null);
            }
            return listPage(items, op, path, q);
          },
        };
      }
      const name = seg[7]!;
      const resId = `${rgScope}/providers/${coll.provider}/${coll.type}/${name}`;
      const notFound = (idx: SubIndex) =>
        rgExists(idx, rg)
          ? kindResult('resourceNotFound', { subscription: subId, action: '', scope: resId, ...ctxBase, resourceName: name }, null)
          : kindResult('resourceGroupNotFound', { subscription: subId, action: '', scope: resId, ...ctxBase }, null);
      if (seg.length === 8 && method === 'GET') {
        const op = `${coll.opPrefix}.get` as ArmOp;
        return {
          op,
          subscription: subId,
          action: `${coll.provider}/${coll.type}/read`,
          scope: resId,
          errCtx: { ...ctxBase, resourceName: name },
          handle: (sub) => {
            const idx = subIndex(sub!);
            const e = idx.byId.get(lc(resId));
            if (!e || e.coll !== coll.key) return notFound(idx);
            if (coll.key === 'virtualMachines' && lc(q.get('$expand')) === 'instanceview') {
              const c = withProps(e.served);
              c.properties.instanceView = instanceViewOf(e.raw);
              return { status: 200, body: c };
            }
            return { status: 200, body: e.served };
          },
        };
      }
      if (seg.length === 9 && coll.key === 'virtualMachines' && lc(seg[8]) === 'instanceview' && method === 'GET') {
        return {
          op: 'compute.virtualMachines.instanceView',
          subscription: subId,
          action: 'Microsoft.Compute/virtualMachines/read',
          scope: resId,
          errCtx: { ...ctxBase, resourceName: name },
          handle: (sub) => {
            const idx = subIndex(sub!);
            const e = idx.byId.get(lc(resId));
            if (!e || e.coll !== 'virtualMachines') return notFound(idx);
            return { status: 200, body: instanceViewOf(e.raw) };
          },
        };
      }
      if (seg.length === 9 && coll.key === 'networkInterfaces' && lc(seg[8]) === 'effectivenetworksecuritygroups' && method === 'POST') {
        return {
          op: 'network.networkInterfaces.listEffectiveNetworkSecurityGroups',
          subscription: subId,
          action: 'Microsoft.Network/networkInterfaces/effectiveNetworkSecurityGroups/action',
          scope: resId,
          write: true,
          errCtx: { ...ctxBase, resourceName: name, nicId: resId },
          handle: (sub) => {
            const idx = subIndex(sub!);
            const r = effectiveResult(found![0], sub!, idx, resId, rg, name);
            if (r.status !== 200) return r;
            const opIdStr = randomUUID();
            const nicLoc = lc(idx.byId.get(lc(resId))?.served?.location ?? 'westeurope').replace(/\s+/g, '');
            const v = q.get('api-version') ?? '';
            const opBase = `${linkBase()}${subScope}/providers/Microsoft.Network/locations/${nicLoc}`;
            const statusUrl = `${opBase}/operations/${opIdStr}?api-version=${v}`;
            const resultUrl = `${opBase}/operationResults/${opIdStr}?api-version=${v}`;
            lros.set(opIdStr, { subscription: found![0], polls: opts.lro?.polls ?? 1, result: r.body, statusUrl, resultUrl });
            const headers: Record<string, string> = { location: resultUrl, 'retry-after': String(opts.lro?.retryAfterSeconds ?? 0) };
            if ((opts.lro?.headers ?? 'both') === 'both') headers['azure-asyncoperation'] = statusUrl;
            return { status: 202, headers };
          },
        };
      }
    }
    return undefined;
  };

  // ---------------- rate-limit bucket ----------------
  const takeToken = (subId: string): { remaining: number; retryAfter?: number } => {
    const now = Date.now();
    const key = lc(subId);
    let b = buckets.get(key);
    if (!b) buckets.set(key, (b = { tokens: bucketSize, at: now }));
    b.tokens = Math.min(bucketSize, b.tokens + ((now - b.at) / 1000) * bucketRefill);
    b.at = now;
    if (b.tokens < 1) {
      if (opts.readBucket?.enforce) return { remaining: 0, retryAfter: Math.max(1, Math.ceil((1 - b.tokens) / bucketRefill)) };
      return { remaining: 0 };
    }
    b.tokens -= 1;
    return { remaining: Math.floor(b.tokens) };
  };

  const respond = (rt: Route | undefined, method: string, url: URL, authorization: string | undefined, logged: LoggedRequest, attempt: number): Result => {
    if (opts.token !== undefined) {
      if (!authorization) return unauthorized('missing');
      const m = /^Bearer (.+)$/.exec(authorization);
      if (m && opts.expiredTokens?.includes(m[1]!)) return unauthorized('expired');
      if (!m || m[1] !== opts.token) return unauthorized('invalid');
    }
    if (!rt) {
      const seg = url.pathname.split('/');
      const pi = seg.findIndex((s) => lc(s) === 'providers');
      if (pi > 0 && seg[pi + 1] && seg[pi + 2]) {
        return armError(
          404,
          'InvalidResourceType',
          `The resource type '${seg[pi + 2]}' could not be found in the namespace '${seg[pi + 1]}' for api version '${url.searchParams.get('api-version') ?? ''}'.`,
        );
      }
      return armError(404, 'NotFound', `The fake ARM server does not serve ${method} ${url.pathname}.`);
    }
    if (!url.searchParams.get('api-version')) {
      return armError(400, 'MissingApiVersionParameter', 'The api-version query parameter (?api-version=) is required for all requests.');
    }
    const found = rt.subscription !== undefined ? findSub(rt.subscription) : undefined;
    const ctx: ErrCtx = { subscription: found?.[0] ?? rt.subscription ?? '', action: rt.action, scope: rt.scope, ...(rt.errCtx ?? {}) };
    const injected = opts.fault?.(logged, attempt);
    if (injected) return faultResult(injected, ctx);
    if (rt.subscription !== undefined) {
      if (!found) return kindResult('subscriptionNotFound', ctx, null);
      const sub = found[1];
      if (sub.error) return faultResult(sub.error, ctx);
      const opErr = sub.opErrors?.[rt.op];
      if (opErr) return faultResult(opErr, ctx);
      const tk = rt.write ? undefined : takeToken(found[0]);
      if (tk?.retryAfter !== undefined) return faultResult({ kind: 'throttled', retryAfterSeconds: tk.retryAfter }, ctx);
      const r = rt.handle(sub);
      r.headers = {
        ...(r.headers ?? {}),
        ...(rt.write ? { 'x-ms-ratelimit-remaining-subscription-writes': '1199' } : { 'x-ms-ratelimit-remaining-subscription-reads': String(tk!.remaining) }),
      };
      return r;
    }
    return rt.handle(undefined);
  };

  const server = http.createServer((req, res) => {
    const method = req.method ?? 'GET';
    const url = new URL(req.url ?? '/', `http://${HOST}`);
    const query: Record<string, string> = {};
    for (const [k, v] of url.searchParams) query[k] = v;
    const rt = route(method, url.pathname, url.searchParams);
    const authorization = req.headers.authorization;
    const logged: LoggedRequest = { method, path: url.pathname, query, op: rt?.op ?? 'unknown' };
    if (rt?.subscription !== undefined) logged.subscription = rt.subscription;
    if (authorization !== undefined) logged.authorization = authorization;
    requests.push(logged);

    const attempt = attemptOf(`${method} ${req.url}`);

    let result: Result;
    try {
      result = respond(rt, method, url, authorization, logged, attempt);
    } catch (e) {
      result = armError(500, 'InternalServerError', `Internal error in the fake ARM server: ${(e as Error)?.message ?? e}`);
    }
    logged.status = result.status;

    const send = () => {
      const body = result.raw ?? (result.body === undefined ? '' : JSON.stringify(result.body));
      const requestId = randomUUID();
      const headers: Record<string, string | number> = {
        'cache-control': 'no-cache',
        pragma: 'no-cache',
        expires: '-1',
        'x-ms-request-id': requestId,
        'x-ms-correlation-request-id': requestId,
        'x-ms-routing-request-id': `WESTEUROPE:${new Date().toISOString().replace(/[-:]/g, '').slice(0, 15)}Z:${requestId}`,
        'content-length': Buffer.byteLength(body),
        ...(result.headers ?? {}),
      };
      if (body) headers['content-type'] = 'application/json; charset=utf-8';
      res.writeHead(result.status, headers);
      res.end(body);
    };
    req.resume();
    req.on('end', () => {
      if (opts.latencyMs && opts.latencyMs > 0) setTimeout(send, opts.latencyMs);
      else send();
    });
  });

  const { port, close } = await listenOnLoopback(server);
  selfBase = `http://${HOST}:${port}`;

  return {
    port,
    host: HOST,
    baseUrl: selfBase,
    requests,
    stats,
    close,
  };
}
