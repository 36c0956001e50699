// ARM objects (as @azure/arm-network / @azure/arm-compute return them, `properties` flattened) -> the shared
// model, for one subscription. The path of tcp:3389 into a NIC ip configuration (inbound):
//   subnet NSG  then  NIC NSG - both must allow; a level without an NSG lets everything through;
//   each NSG: rules by priority (100-4096), first match, then the default rules AllowVnetInBound (65000),
//   AllowAzureLoadBalancerInBound (65001), DenyAllInBound (65500); rules see the packet after the public
//   address is translated to the private one.
//   A Standard-SKU public IP is closed to inbound unless an NSG allows it; a Basic one (retired) was open.
// Sources: https://learn.microsoft.com/azure/virtual-network/network-security-groups-overview,
// https://learn.microsoft.com/azure/virtual-network/network-security-group-how-it-works,
// https://learn.microsoft.com/azure/virtual-network/ip-services/public-ip-addresses#sku,
// ../../../shared/docs/reference/cloud-apis.md section 3. Nothing here decides a verdict.
import type { BastionHost, NetworkInterface, NetworkSecurityGroup, PublicIPAddress, SecurityRule, VirtualNetwork } from '@azure/arm-network';
import type { Gateway, Instance, Layer, Nic, OsFamily, Rule, RuleSet } from '../../src/model/inventory.js';

/** The fields rdpcloud reads of a VM (arm-compute's flattened VirtualMachine), statusOnly listing included. */
export interface AzureVm {
  id?: string;
  name?: string;
  location?: string;
  tags?: Record<string, string>;
  vmId?: string;
  storageProfile?: { osDisk?: { osType?: string }; imageReference?: { publisher?: string; offer?: string; sku?: string } };
  osProfile?: { windowsConfiguration?: unknown; linuxConfiguration?: unknown };
  networkProfile?: { networkInterfaces?: { id?: string; primary?: boolean }[] };
  instanceView?: { statuses?: { code?: string }[] };
}

export interface AzureSubscriptionData {
  subscription: string;
  vms: AzureVm[];
  /** Power states from the statusOnly listing, by lower-case VM id (when the VM list itself has none). */
  powerStates?: Map<string, string>;
  nics: NetworkInterface[];
  publicIps: PublicIPAddress[];
  nsgs: NetworkSecurityGroup[];
  vnets: VirtualNetwork[];
  bastions: BastionHost[];
  /** Why a listing could not be read: the layers it decides become unknown. */
  unreadable?: Partial<Record<'nsgs' | 'publicIps' | 'vnets', string>>;
}

export interface MappedSubscription {
  instances: Instance[];
  ruleSets: RuleSet[];
  paths: Record<string, Layer[]>;
}

/** Azure's platform address behind the AzureLoadBalancer tag (health probes). */
export const AZURE_LOAD_BALANCER = '168.63.129.16/32';

const lc = (s: string | undefined) => (s ?? '').toLowerCase();
const last = (id: string | undefined) => (id ?? '').split('/').pop() ?? '';
/** The VNet id of a subnet id: /subscriptions/s/resourceGroups/rg/providers/Microsoft.Network/virtualNetworks/v/subnets/x */
const vnetOfSubnet = (subnetId: string) => lc(subnetId).replace(/\/subnets\/[^/]+$/, '');
export const resourceGroupOf = (id: string | undefined) => /\/resourceGroups\/([^/]+)/i.exec(id ?? '')?.[1] ?? '';

export function osFamily(vm: AzureVm): { os: OsFamily; evidence?: string } {
  const t = lc(vm.storageProfile?.osDisk?.osType);
  if (t === 'windows') return { os: 'windows', evidence: 'osDisk.osType Windows' };
  if (t === 'linux') return { os: 'linux', evidence: 'osDisk.osType Linux' };
  if (vm.osProfile?.windowsConfiguration) return { os: 'windows', evidence: 'osProfile.windowsConfiguration' };
  if (vm.osProfile?.linuxConfiguration) return { os: 'linux', evidence: 'osProfile.linuxConfiguration' };
  return { os: 'unknown' };
}

export function powerState(vm: AzureVm, states?: Map<string, string>): string {
  const code = vm.instanceView?.statuses?.find((s) => s.code?.startsWith('PowerState/'))?.code;
  return code ?? states?.get(lc(vm.id)) ?? 'PowerState/unknown';
}

/** Address prefixes a VNet's `VirtualNetwork` tag stands for: its own space and its peers' (on-premises ranges behind a gateway are not listed). */
function vnetSpace(v: VirtualNetwork): string[] {
  return [...(v.addressSpace?.addressPrefixes ?? []), ...(v.virtualNetworkPeerings ?? []).flatMap((p) => p.remoteAddressSpace?.addressPrefixes ?? [])];
}

interface Addresses {
  ranges: string[];
  /** A service tag that cannot be expanded offline. */
  indeterminate?: string;
  /** Matches nothing that comes from outside instances (application security groups). */
  identities?: string[];
}

function addressesOf(prefixes: string[], asgs: { id?: string }[] | undefined, vnet: string[], side: 'source' | 'destination'): Addresses {
  const out: Addresses = { ranges: [] };
  for (const raw of prefixes) {
    const p = raw.trim();
    const tag = p.toLowerCase();
    if (p === '*' || tag === 'any') out.ranges.push('*');
    else if (tag === 'internet') out.ranges.push('internet');
    else if (tag === 'virtualnetwork') out.ranges.push(...vnet);
    // The platform's health probes come from 168.63.129.16, a virtual address no outside client can use:
    // never an internet source (interface.md), so it is an identity, not a range.
    else if (tag === 'azureloadbalancer') (out.identities ??= []).push(`tag:AzureLoadBalancer (${AZURE_LOAD_BALANCER})`);
    else if (/^[0-9a-f:.]+(\/\d+)?$/i.test(p)) out.ranges.push(p);
    else out.indeterminate = `${side} service tag ${p} cannot be expanded offline`;
  }
  if (asgs?.length) out.identities = [...(out.identities ?? []), ...asgs.map((a) => `asg:${lc(a.id)}`)];
  return out;
}

const ports = (r: SecurityRule) => [...(r.destinationPortRange ? [r.destinationPortRange] : []), ...(r.destinationPortRanges ?? [])];
const sourcesOf = (r: SecurityRule) => [...(r.sourceAddressPrefix ? [r.sourceAddressPrefix] : []), ...(r.sourceAddressPrefixes ?? [])];
const destsOf = (r: SecurityRule) => [...(r.destinationAddressPrefix ? [r.destinationAddressPrefix] : []), ...(r.destinationAddressPrefixes ?? [])];

export function nsgRule(r: SecurityRule, vnet: string[]): Rule {
  const proto = lc(r.protocol);
  const p = ports(r);
  const src = addressesOf(sourcesOf(r), r.sourceApplicationSecurityGroups, vnet, 'source');
  const rule: Rule = {
    name: r.name ?? `priority ${r.priority}`,
    priority: r.priority ?? 0,
    action: lc(r.access) === 'deny' ? 'deny' : 'allow',
    sourceRanges: src.ranges,
    // `*` (Any) covers TCP, UDP and ICMP; port fields apply to TCP and UDP.
    protocols: [proto === '*' ? { protocol: '*' } : { protocol: proto, ...(p.length && !p.includes('*') ? { ports: p } : {}) }],
  };
  if (src.identities) rule.sourceIdentities = src.identities;
  if (src.indeterminate) rule.indeterminate = src.indeterminate;
  const dst = addressesOf(destsOf(r), r.destinationApplicationSecurityGroups, vnet, 'destination');
  if (r.destinationApplicationSecurityGroups?.length) rule.targets = { groups: r.destinationApplicationSecurityGroups.map((a) => lc(a.id)) };
  else if (dst.indeterminate) rule.targetIndeterminate = dst.indeterminate;
  else if (dst.ranges.length && !dst.ranges.includes('*')) rule.destinationRanges = dst.ranges;
  if (r.description) rule.description = r.description;
  return rule;
}

/** One NSG as it applies inside one VNet (`VirtualNetwork` means that VNet's space). */
export function nsgRuleSet(nsg: NetworkSecurityGroup, vnetId: string, vnet: string[], subscription: string): RuleSet {
  const inbound = [...(nsg.securityRules ?? []), ...(nsg.defaultSecurityRules ?? [])].filter((r) => lc(r.direction) === 'inbound');
  return {
    id: `azure/${lc(nsg.id)}@${vnetId}`,
    provider: 'azure',
    scope: subscription,
    name: `NSG ${nsg.name} (${resourceGroupOf(nsg.id)})`,
    kind: 'azure-nsg',
    rules: inbound.map((r) => nsgRule(r, vnet)),
  };
}

const NSG_OTHERWISE = { action: 'deny' as const, rule: 'DenyAllInBound', why: 'no rule matched: the default DenyAllInBound (65500) applies' };

export function mapSubscription(d: AzureSubscriptionData): MappedSubscription {
  const sub = d.subscription;
  const ruleSets = new Map<string, RuleSet>();
  const paths: Record<string, Layer[]> = {};
  const nics = new Map(d.nics.map((n) => [lc(n.id), n]));
  const pips = new Map(d.publicIps.map((p) => [lc(p.id), p]));
  const nsgs = new Map(d.nsgs.map((n) => [lc(n.id), n]));
  const vnets = new Map(d.vnets.map((v) => [lc(v.id), v]));
  const subnetNsg = new Map<string, string>();
  for (const v of d.vnets) for (const s of v.subnets ?? []) if (s.networkSecurityGroup?.id) subnetNsg.set(lc(s.id), lc(s.networkSecurityGroup.id));

  // Bastion hosts by the VNets they reach: their own, and (Standard SKU) peered ones.
  const bastionsByVnet = new Map<string, Gateway[]>();
  for (const b of d.bastions) {
    const subnetId = b.ipConfigurations?.[0]?.subnet?.id;
    if (!subnetId) continue;
    const home = vnets.get(vnetOfSubnet(subnetId));
    const bastionSubnet = home?.subnets?.find((s) => lc(s.id) === lc(subnetId));
    const ranges = [...(bastionSubnet?.addressPrefix ? [bastionSubnet.addressPrefix] : []), ...(bastionSubnet?.addressPrefixes ?? [])];
    if (!ranges.length) continue;
    const g: Gateway = { kind: 'bastion', name: `Azure Bastion ${b.name}`, sourceRanges: ranges };
    const reach = [vnetOfSubnet(subnetId), ...(lc(b.sku?.name) === 'basic' ? [] : (home?.virtualNetworkPeerings ?? []).map((p) => lc(p.remoteVirtualNetwork?.id)))];
    for (const v of reach) bastionsByVnet.set(v, [...(bastionsByVnet.get(v) ?? []), g]);
  }

  const stageOf = (nsgId: string, vnetId: string): string => {
    if (d.unreadable?.nsgs) {
      const id = `azure/${sub}/nsgs-unreadable`;
      if (!ruleSets.has(id)) ruleSets.set(id, { id, provider: 'azure', scope: sub, name: 'network security groups', kind: 'azure-nsg', unreadable: d.unreadable.nsgs, rules: [] });
      return id;
    }
    const nsg = nsgs.get(nsgId);
    const vnet = vnets.get(vnetId);
    const rsId = `azure/${nsgId}@${vnetId}`;
    if (!ruleSets.has(rsId)) {
      ruleSets.set(
        rsId,
        nsg ? nsgRuleSet(nsg, vnetId, vnet ? vnetSpace(vnet) : [], sub) : { id: rsId, provider: 'azure', scope: sub, name: `NSG ${last(nsgId)}`, kind: 'azure-nsg', unreadable: `NSG ${nsgId} is not in the listing`, rules: [] },
      );
    }
    return rsId;
  };
  const pathFor = (subnetId: string, nicNsg: string | undefined, sku: string | undefined, kind: 'external' | 'internal'): string => {
    const vnetId = vnetOfSubnet(subnetId);
    const sNsg = d.unreadable?.vnets ? 'unreadable' : subnetNsg.get(lc(subnetId));
    const id = `azure/${lc(subnetId)}|${sNsg ?? ''}|${nicNsg ?? ''}|${kind === 'external' ? lc(sku) : 'private'}`;
    if (paths[id]) return id;
    const layers: Layer[] = [];
    if (d.unreadable?.vnets) {
      const rs = `azure/${sub}/vnets-unreadable`;
      if (!ruleSets.has(rs)) ruleSets.set(rs, { id: rs, provider: 'azure', scope: sub, name: 'subnet NSG associations', kind: 'azure-nsg', unreadable: d.unreadable.vnets, rules: [] });
      layers.push({ name: 'subnet NSG', stages: [{ ruleSet: rs, mode: 'first-match' }], otherwise: NSG_OTHERWISE, afterNat: true });
    } else if (sNsg) layers.push({ name: 'subnet NSG', stages: [{ ruleSet: stageOf(sNsg, vnetId), mode: 'first-match' }], otherwise: NSG_OTHERWISE, afterNat: true });
    if (nicNsg) layers.push({ name: 'NIC NSG', stages: [{ ruleSet: stageOf(nicNsg, vnetId), mode: 'first-match' }], otherwise: NSG_OTHERWISE, afterNat: true });
    if (layers.length === 0) {
      // No NSG at either level. Standard SKU: "closed to inbound traffic ... network security groups are required
      // to allow inbound traffic"; Basic SKU (retired) and the private address: everything gets through.
      if (kind === 'external' && lc(sku) !== 'basic') {
        layers.push({ name: 'public IP', stages: [], otherwise: { action: 'deny', rule: 'Standard SKU public IP', why: 'a Standard-SKU public IP is closed to inbound traffic unless a network security group allows it, and neither the subnet nor the NIC has one' } });
      } else if (kind === 'external') {
        layers.push({ name: 'public IP', stages: [], otherwise: { action: 'allow', rule: 'Basic SKU public IP', why: 'neither the subnet nor the NIC has a network security group, and a Basic-SKU public IP is open to all inbound traffic (Basic is retired: upgrade it to Standard)' } });
      } else {
        layers.push({ name: 'NSG', stages: [], otherwise: { action: 'allow', rule: 'no NSG', why: 'neither the subnet nor the NIC has a network security group: all traffic to the private address is allowed' } });
      }
    }
    paths[id] = layers;
    return id;
  };

  const instances: Instance[] = [];
  for (const vm of d.vms) {
    if (!vm.id || !vm.name) continue;
    const modelNics: Nic[] = [];
    const refs = [...(vm.networkProfile?.networkInterfaces ?? [])].sort((a, b) => Number(!!b.primary) - Number(!!a.primary));
    const gateways: Gateway[] = [];
    for (const ref of refs) {
      const nic = nics.get(lc(ref.id));
      if (!nic) continue;
      const nicNsg = nic.networkSecurityGroup?.id ? lc(nic.networkSecurityGroup.id) : undefined;
      const configs = [...(nic.ipConfigurations ?? [])].sort((a, b) => Number(!!b.primary) - Number(!!a.primary));
      for (const c of configs) {
        const subnetId = c.subnet?.id ?? '';
        const pip = c.publicIPAddress?.id ? pips.get(lc(c.publicIPAddress.id)) : undefined;
        const sku = pip?.sku?.name;
        const m: Nic = {
          name: configs.length > 1 ? `${nic.name}/${c.name}` : (nic.name ?? 'nic'),
          ...(nic.id ? { id: nic.id } : {}),
          network: vnetOfSubnet(subnetId),
          subnet: last(subnetId),
          path: pathFor(subnetId, nicNsg, sku, 'external'),
          internalPath: pathFor(subnetId, nicNsg, sku, 'internal'),
        };
        const v6 = lc(c.privateIPAddressVersion) === 'ipv6';
        if (c.privateIPAddress) m[v6 ? 'internalIPv6' : 'internalIPv4'] = c.privateIPAddress;
        if (pip?.ipAddress) m[lc(pip.publicIPAddressVersion) === 'ipv6' ? 'externalIPv6' : 'externalIPv4'] = pip.ipAddress;
        const asgs = (c.applicationSecurityGroups ?? []).map((a) => lc(a.id));
        if (asgs.length) m.groups = asgs;
        modelNics.push(m);
        for (const g of bastionsByVnet.get(vnetOfSubnet(subnetId)) ?? []) if (!gateways.some((x) => x.name === g.name)) gateways.push(g);
      }
    }
    const { os, evidence } = osFamily(vm);
    const inst: Instance = {
      provider: 'azure',
      scope: sub,
      location: vm.location ?? '',
      name: vm.name,
      id: vm.id,
      state: powerState(vm, d.powerStates),
      os,
      nics: modelNics,
      tags: [],
      serviceAccounts: [],
      labels: { ...(vm.tags ?? {}) },
    };
    if (evidence) inst.osEvidence = evidence;
    if (gateways.length) inst.gateways = gateways;
    instances.push(inst);
  }
  // Every NSG of the listing is judged on its own rules as well: one on a subnet with no VM, or attached to
  // nothing, that lets the internet in is a finding (rdp-unused-open-rule; CIS Azure 6.1 reads every NSG). In
  // the VNet of each subnet it is on (its VirtualNetwork tag is that VNet's space); attached to none, with
  // no VNet (the VirtualNetwork tag then names no address).
  if (!d.unreadable?.nsgs) {
    const judged = new Set([...ruleSets.keys()].map((id) => id.split('@')[0]));
    const vnetsOf = new Map<string, Set<string>>();
    for (const [subnet, nsg] of subnetNsg) {
      let set = vnetsOf.get(nsg);
      if (!set) vnetsOf.set(nsg, (set = new Set()));
      set.add(vnetOfSubnet(subnet));
    }
    for (const nsg of d.nsgs) {
      const id = lc(nsg.id);
      if (!id || judged.has(`azure/${id}`)) continue;
      for (const vnet of vnetsOf.get(id) ?? ['']) stageOf(id, vnet);
    }
  }
  return { instances, ruleSets: [...ruleSets.values()], paths };
}

/** One entry of networkInterfaces.listEffectiveNetworkSecurityGroups (the fields rdpcloud reads). */
export interface EffectiveGroup {
  networkSecurityGroup?: { id?: string };
  association?: { subnet?: { id?: string }; networkInterface?: { id?: string } };
  effectiveSecurityRules?: {
    name?: string;
    protocol?: string;
    destinationPortRange?: string;
    destinationPortRanges?: string[];
    sourceAddressPrefix?: string;
    sourceAddressPrefixes?: string[];
    expandedSourceAddressPrefix?: string[];
    destinationAddressPrefix?: string;
    destinationAddressPrefixes?: string[];
    expandedDestinationAddressPrefix?: string[];
    access?: string;
    priority?: number;
    direction?: string;
  }[];
}

/**
 * Azure's effective rules for one NIC as rule sets and layers: the subnet's NSG, then the NIC's. Names lose their
 * `securityRules/` prefix, protocol `All` is `*`, tags come expanded (expandedSourceAddressPrefix) where Azure
 * expands them; `0.0.0.0/0` as a destination means any.
 */
export function effectiveLayers(groups: EffectiveGroup[], idBase: string, subscription: string): { ruleSets: RuleSet[]; layers: Layer[] } {
  const ruleSets: RuleSet[] = [];
  const layers: Layer[] = [];
  const ordered = [...groups].sort((a, b) => Number(!!b.association?.subnet) - Number(!!a.association?.subnet));
  for (const g of ordered) {
    const level = g.association?.subnet ? 'subnet NSG' : 'NIC NSG';
    const rules: Rule[] = (g.effectiveSecurityRules ?? [])
      .filter((r) => lc(r.direction) === 'inbound')
      .map((r) => {
        const proto = lc(r.protocol);
        const ports = r.destinationPortRanges?.length ? r.destinationPortRanges : r.destinationPortRange ? [r.destinationPortRange] : [];
        // Tags rdpcloud reads the same way everywhere (Internet, *, AzureLoadBalancer) are kept as tags, so the two
        // views differ only where the rules do; others (VirtualNetwork, service tags) use Azure's expansion.
        const named = r.sourceAddressPrefixes?.length ? r.sourceAddressPrefixes : [r.sourceAddressPrefix ?? '*'];
        const asTags = named.every((p) => ['internet', '*', 'any', 'azureloadbalancer', '0.0.0.0/0'].includes(lc(p)));
        const sources = !asTags && r.expandedSourceAddressPrefix?.length ? r.expandedSourceAddressPrefix : named;
        const src = addressesOf(sources, undefined, [], 'source');
        const dests = r.expandedDestinationAddressPrefix?.length ? r.expandedDestinationAddressPrefix : r.destinationAddressPrefixes?.length ? r.destinationAddressPrefixes : [r.destinationAddressPrefix ?? '*'];
        const dst = addressesOf(dests, undefined, [], 'destination');
        const anyDest = dst.ranges.some((d) => d === '*' || d === '0.0.0.0/0' || d === '::/0');
        const rule: Rule = {
          name: (r.name ?? `priority ${r.priority}`).replace(/^(default)?securityRules\//i, ''),
          priority: r.priority ?? 0,
          action: lc(r.access) === 'deny' ? 'deny' : 'allow',
          sourceRanges: src.ranges,
          protocols: [proto === 'all' || proto === '*' ? { protocol: '*' } : { protocol: proto, ...(ports.length && !ports.includes('*') && !ports.includes('0-65535') ? { ports } : {}) }],
        };
        if (src.identities) rule.sourceIdentities = src.identities;
        if (src.indeterminate) rule.indeterminate = src.indeterminate;
        if (!anyDest && dst.ranges.length) rule.destinationRanges = dst.ranges;
        else if (!anyDest && dst.indeterminate) rule.targetIndeterminate = dst.indeterminate;
        return rule;
      });
    const nsgId = lc(g.networkSecurityGroup?.id);
    const rs: RuleSet = { id: `${idBase}/${level === 'subnet NSG' ? 'subnet' : 'nic'}`, provider: 'azure', scope: subscription, name: `NSG ${last(nsgId)} (${resourceGroupOf(nsgId)}, effective)`, kind: 'azure-nsg', rules };
    ruleSets.push(rs);
    layers.push({ name: level, stages: [{ ruleSet: rs.id, mode: 'first-match' }], otherwise: NSG_OTHERWISE, afterNat: true });
  }
  return { ruleSets, layers };
}
