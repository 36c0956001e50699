// The Azure provider: one subscription at a time, with the fewest ARM calls the API allows. Per subscription,
// all list-all calls paged by nextLink: virtualMachines (twice: configuration, and statusOnly=true for power
// states), networkInterfaces, publicIPAddresses, networkSecurityGroups, virtualNetworks (subnets inline),
// bastionHosts. Nothing per VM. Subscriptions: --subscription (repeatable) or every Enabled one the credential
// can see. The listings go over plain REST (client.ts ArmRest); each page is cut down to the fields map.ts reads
// as it arrives (the raw JSON is not kept). The SDK is loaded for the effective-NSG operation only.
import type { TokenCredential } from '@azure/core-auth';
import type { BastionHost, NetworkInterface, NetworkSecurityGroup, PublicIPAddress, VirtualNetwork } from '@azure/arm-network';
import { AuthError, ScopeError } from '../../src/errors.js';
import type { EffectiveView, Instance, Inventory, Layer, Nic, RuleSet, Scope } from '../../src/model/inventory.js';
import type { CloudProvider, ProviderContext, ScopeInventory } from '../types.js';
import { ArmRest, CLOUDS, armOptions, azureCredential, describeAzureError, parseArmEndpoint, signOverHttpLoopback, type AzureCloud } from './client.js';
import { effectiveLayers, mapSubscription, powerState, resourceGroupOf, type AzureVm, type EffectiveGroup } from './map.js';

/* eslint-disable @typescript-eslint/no-explicit-any */

export interface AzureOptions {
  subscriptions: string[];
  cloud: AzureCloud;
  /** --azure-endpoint / RDPCLOUD_AZURE_ENDPOINT: replaces the cloud's ARM host. */
  endpoint?: string;
}

/** API versions the SDK clients of package.json send (arm-compute 25, arm-network 39, arm-resources-subscriptions 3). */
export const API_VERSIONS = { compute: '2026-04-01', network: '2026-01-01', subscriptions: '2022-12-01' };

/** ARM's envelope: `properties` merged into the object, recursively (what the SDK's deserializers do). */
export function flattenArm(x: any): any {
  if (Array.isArray(x)) return x.map(flattenArm);
  if (!x || typeof x !== 'object') return x;
  const out: Record<string, unknown> = {};
  for (const k of Object.keys(x)) if (k !== 'properties') out[k] = flattenArm(x[k]);
  const p = x.properties;
  if (p && typeof p === 'object' && !Array.isArray(p)) for (const k of Object.keys(p)) if (!(k in out)) out[k] = flattenArm(p[k]);
  return out;
}

const ref = (x: any): { id?: string } | undefined => (x?.id ? { id: x.id } : undefined);

/** The fields of a VM map.ts reads (configuration or statusOnly item), from ARM's JSON. */
export function slimVm(raw: any): AzureVm {
  const p = raw?.properties ?? {};
  const vm: AzureVm = { id: raw?.id, name: raw?.name, location: raw?.location };
  if (raw?.tags) vm.tags = raw.tags;
  if (p.vmId) vm.vmId = p.vmId;
  const sp = p.storageProfile;
  if (sp) vm.storageProfile = { ...(sp.osDisk ? { osDisk: { osType: sp.osDisk.osType } } : {}), ...(sp.imageReference ? { imageReference: { publisher: sp.imageReference.publisher, offer: sp.imageReference.offer, sku: sp.imageReference.sku } } : {}) };
  const op = p.osProfile;
  if (op) vm.osProfile = { ...(op.windowsConfiguration ? { windowsConfiguration: true } : {}), ...(op.linuxConfiguration ? { linuxConfiguration: true } : {}) };
  const nics = p.networkProfile?.networkInterfaces;
  if (nics) vm.networkProfile = { networkInterfaces: nics.map((n: any) => ({ id: n?.id, primary: n?.properties?.primary ?? n?.primary })) };
  const iv = p.instanceView ?? raw?.instanceView;
  if (iv?.statuses) vm.instanceView = { statuses: iv.statuses.map((x: any) => ({ code: x?.code })) };
  return vm;
}

/** The fields of a NIC map.ts reads. */
export function slimNic(raw: any): NetworkInterface {
  const p = raw?.properties ?? {};
  return {
    id: raw?.id,
    name: raw?.name,
    ...(p.networkSecurityGroup?.id ? { networkSecurityGroup: { id: p.networkSecurityGroup.id } } : {}),
    ipConfigurations: (p.ipConfigurations ?? []).map((c: any) => {
      const q = c?.properties ?? {};
      return {
        name: c?.name,
        primary: q.primary,
        subnet: ref(q.subnet),
        publicIPAddress: ref(q.publicIPAddress),
        privateIPAddress: q.privateIPAddress,
        privateIPAddressVersion: q.privateIPAddressVersion,
        ...(q.applicationSecurityGroups?.length ? { applicationSecurityGroups: q.applicationSecurityGroups.map((a: any) => ({ id: a?.id })) } : {}),
      };
    }),
  } as NetworkInterface;
}

/** The fields of a public IP address map.ts reads. */
export function slimPublicIp(raw: any): PublicIPAddress {
  const p = raw?.properties ?? {};
  return { id: raw?.id, name: raw?.name, ...(raw?.sku ? { sku: { name: raw.sku.name, tier: raw.sku.tier } } : {}), ipAddress: p.ipAddress, publicIPAddressVersion: p.publicIPAddressVersion } as PublicIPAddress;
}

export class AzureProvider implements CloudProvider {
  readonly id = 'azure' as const;
  private readonly credential: TokenCredential;
  private readonly override?: URL;
  private readonly rest: ArmRest;

  constructor(
    private readonly opts: AzureOptions,
    private readonly ctx: ProviderContext,
  ) {
    const ep = opts.endpoint ?? ctx.env.RDPCLOUD_AZURE_ENDPOINT;
    if (ep) this.override = parseArmEndpoint(ep, opts.endpoint ? '--azure-endpoint' : 'RDPCLOUD_AZURE_ENDPOINT');
    this.credential = azureCredential(ctx.env, opts.cloud);
    this.rest = new ArmRest(ctx, this.credential, opts.cloud, this.override);
  }

  private async options(): Promise<any> {
    const cloud = CLOUDS[this.opts.cloud];
    const http = this.override?.protocol === 'http:';
    return {
      ...(await armOptions(this.ctx, this.opts.cloud, this.override)),
      // Over http (loopback) requests go to the override directly; over https they keep the ARM host and the
      // http client rewrites them, so the SDK's own bearer policy signs them.
      endpoint: http ? this.override!.origin : cloud.arm,
      ...(http ? { allowInsecureConnection: true } : {}),
      credentials: { scopes: [`${cloud.arm}/.default`] },
    };
  }

  /** The clients of one run, signed as the SDK does, or on loopback http by rdpcloud's own policy. */
  private signed<T extends { pipeline: any }>(client: T): T {
    if (this.override?.protocol === 'http:') signOverHttpLoopback(client, this.credential, `${CLOUDS[this.opts.cloud].arm}/.default`);
    return client;
  }

  async listScopes(): Promise<string[]> {
    if (this.opts.subscriptions.length) return [...new Set(this.opts.subscriptions)];
    const out: string[] = [];
    try {
      for await (const page of this.rest.pages(`/subscriptions?api-version=${API_VERSIONS.subscriptions}`)) {
        for (const s of page) if (s?.subscriptionId && (s.state ?? 'Enabled') === 'Enabled') out.push(s.subscriptionId);
      }
    } catch (e) {
      if (e instanceof AuthError) throw e;
      throw new ScopeError('azure', '(subscriptions)', describeAzureError(e, 'listing subscriptions'));
    }
    return out.sort();
  }

  /**
   * listEffectiveNetworkSecurityGroups (a long-running operation), once per NIC: the NSG rules Azure applies,
   * subnet and NIC level. With no NSG at all Azure returns none, and the public IP's own layer (Standard closed,
   * Basic open) is kept from the computed path.
   */
  async effectiveView(instance: Instance, inventory: Inventory): Promise<EffectiveView> {
    const { NetworkManagementClient } = await import('@azure/arm-network');
    const network = this.signed(new NetworkManagementClient(this.credential, instance.scope, await this.options()));
    const ruleSets: RuleSet[] = [];
    const paths: Record<string, Layer[]> = {};
    const done = new Map<string, { external: string; internal: string }>();
    const nics: Nic[] = [];
    for (const nic of instance.nics) {
      const id = nic.id ?? '';
      const rg = resourceGroupOf(id);
      const name = id.split('/').pop() ?? nic.name.split('/')[0];
      let pair = done.get(id);
      if (!pair) {
        let groups: EffectiveGroup[];
        try {
          const out = await network.networkInterfaces.listEffectiveNetworkSecurityGroups(rg, name, { updateIntervalInMs: 200 } as any).pollUntilDone();
          groups = ((out as any)?.value ?? []) as EffectiveGroup[];
        } catch (e) {
          throw new ScopeError('azure', instance.scope, describeAzureError(e, `listEffectiveNetworkSecurityGroups for ${name} (the VM must be running)`));
        }
        const base = `azure/effective/${id.toLowerCase()}`;
        const { ruleSets: sets, layers } = effectiveLayers(groups, base, instance.scope);
        ruleSets.push(...sets);
        const keep = (p: string | undefined) => (inventory.paths[p ?? ''] ?? []).filter((l) => l.name === 'public IP' || l.name === 'NSG');
        paths[`${base}/external`] = layers.length ? layers : keep(nic.path);
        paths[`${base}/internal`] = layers.length ? layers : keep(nic.internalPath);
        pair = { external: `${base}/external`, internal: `${base}/internal` };
        done.set(id, pair);
      }
      nics.push({ ...nic, path: pair.external, internalPath: pair.internal });
    }
    return { api: 'networkInterfaces.listEffectiveNetworkSecurityGroups', ruleSets, paths, nics };
  }

  async collect(subscription: string): Promise<ScopeInventory> {
    const base = `/subscriptions/${encodeURIComponent(subscription)}/providers`;
    const compute = (q = '') => `${base}/Microsoft.Compute/virtualMachines?api-version=${API_VERSIONS.compute}${q}`;
    const network = (type: string) => `${base}/Microsoft.Network/${type}?api-version=${API_VERSIONS.network}`;
    // Every page is cut down to what map.ts reads as it arrives; the raw JSON is dropped with the page.
    const all = async <T>(path: string, slim: (raw: any) => T): Promise<T[]> => {
      const out: T[] = [];
      for await (const page of this.rest.pages(path)) for (const raw of page) out.push(slim(raw));
      return out;
    };
    const settle = <T>(p: Promise<T>) => p.then((v) => ({ ok: true as const, v }), (e: unknown) => ({ ok: false as const, e }));
    // The VM listing has the configuration; the statusOnly listing has the power states (its items may carry
    // nothing else), joined by id. Two paged calls per subscription, none per VM.
    const [vms, states, nics, pips, nsgs, vnets, bastions] = await Promise.all([
      settle(all(compute(), slimVm)),
      settle(all(compute('&statusOnly=true'), slimVm)),
      settle(all(network('networkInterfaces'), slimNic)),
      settle(all(network('publicIPAddresses'), slimPublicIp)),
      settle(all(network('networkSecurityGroups'), (x) => flattenArm(x) as NetworkSecurityGroup)),
      settle(all(network('virtualNetworks'), (x) => flattenArm(x) as VirtualNetwork)),
      settle(all(network('bastionHosts'), (x) => flattenArm(x) as BastionHost)),
    ]);
    for (const r of [vms, states, nics, pips, nsgs, vnets, bastions]) if (!r.ok && r.e instanceof AuthError) throw r.e;
    // Without the VMs, their NICs or their public addresses there is nothing to judge.
    const fatal = ([['virtual machines', vms], ['network interfaces', nics], ['public IP addresses', pips]] as const).find(([, r]) => !r.ok);
    if (fatal) throw new ScopeError('azure', subscription, describeAzureError((fatal[1] as { e: unknown }).e, `listing ${fatal[0]} of subscription ${subscription}`));
    const unreadable: Record<string, string> = {};
    if (!nsgs.ok) unreadable.nsgs = describeAzureError(nsgs.e, 'listing network security groups');
    if (!vnets.ok) unreadable.vnets = describeAzureError(vnets.e, 'listing virtual networks (subnet NSGs)');
    const powerStates = new Map<string, string>();
    if (!states.ok) this.ctx.warn(`azure:${subscription}: ${describeAzureError(states.e, 'listing VM power states')}: states are shown as unknown`);
    for (const v of states.ok ? states.v : []) if (v.id) powerStates.set(v.id.toLowerCase(), powerState(v));
    if (!bastions.ok) this.ctx.warn(`azure:${subscription}: ${describeAzureError(bastions.e, 'listing Bastion hosts')}: Bastion access is not shown`);
    const mapped = mapSubscription({
      subscription,
      vms: vms.ok ? vms.v : [],
      powerStates,
      nics: nics.ok ? nics.v : [],
      publicIps: pips.ok ? pips.v : [],
      nsgs: nsgs.ok ? nsgs.v : [],
      vnets: vnets.ok ? vnets.v : [],
      bastions: bastions.ok ? bastions.v : [],
      unreadable,
    });
    const scope: Scope = { provider: 'azure', scope: subscription, status: 'ok' };
    return { scope, ...mapped };
  }
}
