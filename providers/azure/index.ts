// The Azure provider: one subscription at a time, with the fewest ARM calls the API allows. Per subscription,
// all list-all calls paged by nextLink: virtualMachines (statusOnly=true: with power states), networkInterfaces,
// publicIPAddresses, networkSecurityGroups, virtualNetworks (subnets inline), bastionHosts. Nothing per VM.
// Subscriptions: --subscription (repeatable) or every Enabled one the credential can see.
import { ComputeManagementClient } from '@azure/arm-compute';
import { NetworkManagementClient, type BastionHost, type NetworkInterface, type NetworkSecurityGroup, type PublicIPAddress, type VirtualNetwork } from '@azure/arm-network';
import { SubscriptionClient } from '@azure/arm-resources-subscriptions';
import type { TokenCredential } from '@azure/core-auth';
import { AuthError, ScopeError } from '../../src/errors.js';
import type { EffectiveView, Instance, Inventory, Layer, Nic, RuleSet, Scope } from '../../src/model/inventory.js';
import type { CloudProvider, ProviderContext, ScopeInventory } from '../types.js';
import { CLOUDS, armOptions, azureCredential, describeAzureError, parseArmEndpoint, signOverHttpLoopback, type AzureCloud } from './client.js';
import { effectiveLayers, mapSubscription, powerState, resourceGroupOf, type AzureVm, type EffectiveGroup } from './map.js';

/* eslint-disable @typescript-eslint/no-explicit-any */

export interface AzureOptions {
  subscriptions: string[];
  cloud: AzureCloud;
  /** --azure-endpoint / RDPCLOUD_AZURE_ENDPOINT: replaces the cloud's ARM host. */
  endpoint?: string;
}

export class AzureProvider implements CloudProvider {
  readonly id = 'azure' as const;
  private readonly credential: TokenCredential;
  private readonly override?: URL;

  constructor(
    private readonly opts: AzureOptions,
    private readonly ctx: ProviderContext,
  ) {
    const ep = opts.endpoint ?? ctx.env.RDPCLOUD_AZURE_ENDPOINT;
    if (ep) this.override = parseArmEndpoint(ep, opts.endpoint ? '--azure-endpoint' : 'RDPCLOUD_AZURE_ENDPOINT');
    this.credential = azureCredential(ctx.env, opts.cloud);
  }

  private options(): any {
    const cloud = CLOUDS[this.opts.cloud];
    const http = this.override?.protocol === 'http:';
    return {
      ...armOptions(this.ctx, this.opts.cloud, this.override),
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
    const client = this.signed(new SubscriptionClient(this.credential, this.options()));
    const out: string[] = [];
    try {
      for await (const s of client.subscriptions.list()) if (s.subscriptionId && (s.state ?? 'Enabled') === 'Enabled') out.push(s.subscriptionId);
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
    const network = this.signed(new NetworkManagementClient(this.credential, instance.scope, this.options()));
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
    const network = this.signed(new NetworkManagementClient(this.credential, subscription, this.options()));
    const compute = this.signed(new ComputeManagementClient(this.credential, subscription, this.options()));
    const all = async <T>(it: AsyncIterable<T>): Promise<T[]> => {
      const out: T[] = [];
      for await (const x of it) out.push(x);
      return out;
    };
    const settle = <T>(p: Promise<T>) => p.then((v) => ({ ok: true as const, v }), (e: unknown) => ({ ok: false as const, e }));
    // The VM listing has the configuration; the statusOnly listing has the power states (its items may carry
    // nothing else), joined by id. Two paged calls per subscription, none per VM.
    const [vms, states, nics, pips, nsgs, vnets, bastions] = await Promise.all([
      settle(all<AzureVm>(compute.virtualMachines.listAll() as AsyncIterable<AzureVm>)),
      settle(all<AzureVm>(compute.virtualMachines.listAll({ statusOnly: 'true' }) as AsyncIterable<AzureVm>)),
      settle(all<NetworkInterface>(network.networkInterfaces.listAll())),
      settle(all<PublicIPAddress>(network.publicIPAddresses.listAll())),
      settle(all<NetworkSecurityGroup>(network.networkSecurityGroups.listAll())),
      settle(all<VirtualNetwork>(network.virtualNetworks.listAll())),
      settle(all<BastionHost>(network.bastionHosts.list())),
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
