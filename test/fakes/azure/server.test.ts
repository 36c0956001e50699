/**
 * Proves the fake ARM server against the REAL Azure SDK clients: NetworkManagementClient (@azure/arm-network 39),
 * ComputeManagementClient (@azure/arm-compute 25), SubscriptionClient (@azure/arm-resources-subscriptions 3).
 * Credentials are a static TokenCredential; nothing talks to anything but 127.0.0.1.
 */
import net from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { NetworkManagementClient } from '@azure/arm-network';
import { ComputeManagementClient } from '@azure/arm-compute';
import { SubscriptionClient } from '@azure/arm-resources-subscriptions';
import type { TokenCredential } from '@azure/core-auth';
import { startFakeArm, type ArmFault, type AzureWorld, type FakeArm, type FakeArmOptions, type LoggedRequest } from './server.js';
import {
  asg,
  asgId,
  bastion,
  ipConfigId,
  nic,
  nicId,
  nsg,
  nsgId,
  publicIp,
  publicIpId,
  subnetId,
  vm,
  vmId,
  vmStack,
  vnet,
  vnetId,
} from './fixtures.js';
import { fakeEndpointOptions, rewriteToFakePolicy, staticTokenCredential, useStaticBearer } from './sdk.js';

const TOKEN = 'fake-arm-token';

// ------------------------------------------------------------------------------------------------
// Guard: every socket this file opens must go to loopback. Anything else is refused and recorded.
// ------------------------------------------------------------------------------------------------
const LOOPBACK = new Set(['127.0.0.1', 'localhost', '::1']);
const connectTargets: string[] = [];
const blockedTargets: string[] = [];
const realConnect = net.Socket.prototype.connect;
net.Socket.prototype.connect = function guardedConnect(this: net.Socket, ...args: any[]) {
  const first = Array.isArray(args[0]) ? args[0][0] : args[0];
  let host = 'localhost';
  if (first && typeof first === 'object') host = first.path ? 'unix' : String(first.host ?? 'localhost');
  else if (typeof args[1] === 'string') host = args[1];
  connectTargets.push(host);
  if (host !== 'unix' && !LOOPBACK.has(host)) {
    blockedTargets.push(host);
    process.nextTick(() => this.destroy(new Error(`test guard: blocked connection to ${host}`)));
    return this;
  }
  return (realConnect as any).apply(this, args);
} as any;
/** Takes the blocked targets seen so far (a test that provokes one claims it, so afterAll sees only stray ones). */
const claimBlocked = () => blockedTargets.splice(0);
afterAll(() => {
  net.Socket.prototype.connect = realConnect;
  expect(connectTargets.filter((h) => LOOPBACK.has(h)).length).toBeGreaterThan(0);
  expect(blockedTargets).toEqual([]);
});

// ------------------------------------------------------------------------------------------------
// Clients: endpoint override + allowInsecureConnection, bearer policy replaced (http refuses bearer tokens).
// ------------------------------------------------------------------------------------------------
interface Clients {
  network: NetworkManagementClient;
  compute: ComputeManagementClient;
  subscriptions: SubscriptionClient;
  credential: TokenCredential & { scopes: string[][] };
}

function clients(fake: FakeArm, sub: string, o: { token?: string; options?: Record<string, any> } = {}): Clients {
  const credential = staticTokenCredential(o.token ?? TOKEN);
  const options = { ...fakeEndpointOptions(fake), ...(o.options ?? {}) };
  const network = new NetworkManagementClient(credential, sub, options);
  const compute = new ComputeManagementClient(credential, sub, options);
  const subscriptions = new SubscriptionClient(credential, options);
  for (const c of [network, compute, subscriptions]) useStaticBearer(c, credential);
  return { network, compute, subscriptions, credential };
}

async function all<T>(it: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const x of it) out.push(x);
  return out;
}

async function catchErr(p: Promise<unknown>): Promise<any> {
  try {
    await p;
  } catch (e) {
    return e;
  }
  throw new Error('expected the call to fail');
}

const since = (fake: FakeArm, n: number): LoggedRequest[] => fake.requests.slice(n);

// ------------------------------------------------------------------------------------------------
// World
// ------------------------------------------------------------------------------------------------
const SA = '0b1f6471-1bf0-4dda-aec3-111111111111'; // prod
const SB = '0b1f6471-1bf0-4dda-aec3-222222222222'; // legacy (Disabled)
const SC = '0b1f6471-1bf0-4dda-aec3-333333333333'; // Warned, NSG list denied
const SD = '0b1f6471-1bf0-4dda-aec3-444444444444'; // whole subscription denied
const RG = 'rg-prod';

function buildWorld(): AzureWorld {
  const vnet1 = vnetId(SA, RG, 'vnet-prod');
  const snApp = subnetId(vnet1, 'snet-app');
  const snBastion = subnetId(vnet1, 'AzureBastionSubnet');
  const asgRdp = asgId(SA, RG, 'asg-rdp-hosts');

  // win-exposed: Standard IPv4 public IP, NIC NSG allows 3389 from Internet; subnet NSG allows 3380-3390 from '*'.
  const exposed = vmStack({ sub: SA, rg: RG, name: 'win-exposed', subnetId: snApp, privateIPAddress: '10.10.1.4', publicIp: '20.50.1.10', nicNsgId: nsgId(SA, RG, 'nsg-nic-rdp'), asgIds: [asgRdp] });
  // win-basic: Basic dynamic public IP with an address, no NIC NSG.
  const basic = vmStack({ sub: SA, rg: RG, name: 'win-basic', subnetId: snApp, privateIPAddress: '10.10.1.5', publicIp: '20.50.1.11', publicIpSku: 'Basic' });
  // win-dealloc: deallocated, Basic dynamic IP without an address.
  const deallocNic = nicId(SA, RG, 'win-dealloc-nic');
  const deallocIp = publicIp({ sub: SA, rg: RG, name: 'win-dealloc-ip', sku: 'Basic' });
  const dealloc = {
    vm: vm({ sub: SA, rg: RG, name: 'win-dealloc', nicIds: [deallocNic], powerState: 'deallocated' }),
    nic: nic({ sub: SA, rg: RG, name: 'win-dealloc-nic', ipConfigs: [{ subnetId: snApp, privateIPAddress: '10.10.1.6', publicIpId: deallocIp.id }] }),
  };
  // lin-1: Linux, no public IP.
  const lin = vmStack({ sub: SA, rg: RG, name: 'lin-1', subnetId: snApp, privateIPAddress: '10.10.1.7', os: 'linux' });
  // win-v6: dual-stack NIC with an IPv6 Standard public IP on the second ipconfig.
  const v6Nic = nicId(SA, RG, 'win-v6-nic');
  const v6Ip = publicIp({ sub: SA, rg: RG, name: 'win-v6-ip6', version: 'IPv6', ipAddress: '2603:1020:200::10' });
  const v6 = {
    vm: vm({ sub: SA, rg: RG, name: 'win-v6', nicIds: [v6Nic], image: 'windows2019' }),
    nic: nic({
      sub: SA,
      rg: RG,
      name: 'win-v6-nic',
      ipConfigs: [
        { subnetId: snApp, privateIPAddress: '10.10.1.8' },
        { name: 'ipconfig-v6', subnetId: snApp, privateIPAddress: 'fd00:db8::8', privateIPAddressVersion: 'IPv6', publicIpId: v6Ip.id, primary: false },
      ],
    }),
  };
  // win-case: ids differ in the case of the resource group. The VM (and ARM's own back-references) say
  // 'rg-prod'; the NIC and its public IP resources were returned with 'RG-PROD', as ARM sometimes does.
  const caseNicLower = nicId(SA, RG, 'win-case-nic');
  const caseIp = publicIp({ sub: SA, rg: RG.toUpperCase(), name: 'win-case-ip', ipAddress: '20.50.1.12' });
  const winCase = {
    vm: vm({ sub: SA, rg: RG, name: 'win-case', nicIds: [caseNicLower] }),
    nic: nic({ sub: SA, rg: RG.toUpperCase(), name: 'win-case-nic', ipConfigs: [{ subnetId: snApp.replace('/rg-prod/', '/Rg-Prod/'), privateIPAddress: '10.10.1.9', publicIpId: caseIp.id.replace('RG-PROD', 'rg-prod') }] }),
  };

  const bastionIp = publicIp({ sub: SA, rg: RG, name: 'bastion-ip', ipAddress: '20.50.1.200' });
  return {
    subscriptions: {
      [SA]: {
        displayName: 'Contoso Prod',
        state: 'Enabled',
        tags: { env: 'prod' },
        virtualMachines: [exposed.vm, basic.vm, dealloc.vm, lin.vm, v6.vm, winCase.vm],
        networkInterfaces: [exposed.nic, basic.nic, dealloc.nic, lin.nic, v6.nic, winCase.nic],
        publicIPAddresses: [exposed.publicIp, basic.publicIp, deallocIp, v6Ip, caseIp, bastionIp],
        networkSecurityGroups: [
          nsg({
            sub: SA,
            rg: RG,
            name: 'nsg-snet-app',
            rules: [
              { name: 'AllowRdpRange', priority: 200, protocol: '*', source: '*', ports: '3380-3390' },
              { name: 'AllowFromOffices', priority: 210, source: ['203.0.113.0/24', '198.51.100.7'], ports: ['22', '3389', '5985-5986'] },
              { name: 'AllowLbProbe', priority: 4000, protocol: '*', source: 'AzureLoadBalancer', ports: '*' },
            ],
          }),
          nsg({
            sub: SA,
            rg: RG,
            name: 'nsg-nic-rdp',
            rules: [
              { name: 'AllowRdpInternet', priority: 100, source: 'Internet', ports: '3389', destinationAsgIds: [asgRdp] },
              { name: 'AllowFromJump', priority: 110, sourceAsgIds: [asgRdp], ports: '3389' },
              { name: 'DenyVnet', priority: 4096, access: 'Deny', protocol: '*', source: 'VirtualNetwork', ports: '*' },
            ],
            withDefaults: true,
          }),
          nsg({ sub: SA, rg: RG, name: 'nsg-unused' }),
        ],
        virtualNetworks: [
          vnet({
            sub: SA,
            rg: RG,
            name: 'vnet-prod',
            addressPrefixes: ['10.10.0.0/16', 'fd00:db8::/48'],
            subnets: [
              { name: 'snet-app', addressPrefix: '10.10.1.0/24', nsgId: nsgId(SA, RG, 'nsg-snet-app') },
              { name: 'AzureBastionSubnet', addressPrefixes: ['10.10.250.0/26'] },
            ],
          }),
        ],
        applicationSecurityGroups: [asg({ sub: SA, rg: RG, name: 'asg-rdp-hosts' })],
        bastionHosts: [bastion({ sub: SA, rg: RG, name: 'bastion-prod', subnetId: snBastion, publicIpId: bastionIp.id })],
      },
      [SB]: { displayName: 'Legacy', state: 'Disabled', virtualMachines: [vm({ sub: SB, rg: 'rg-old', name: 'old-win', nicIds: [nicId(SB, 'rg-old', 'old-nic')], powerState: 'stopped' })] },
      [SC]: { displayName: 'Warned Sandbox', state: 'Warned', opErrors: { 'network.networkSecurityGroups.listAll': 'authorizationFailed' } },
      [SD]: { displayName: 'No Access', error: 'authorizationFailed' },
    },
  };
}

// ================================================================================================
describe('fake ARM with the real SDK clients: inventory', () => {
  let fake: FakeArm;
  let c: Clients;
  beforeAll(async () => {
    fake = await startFakeArm(buildWorld(), { token: TOKEN, pageSizes: { 'compute.virtualMachines.listAll': 2, 'subscriptions.list': 3 } });
    c = clients(fake, SA);
  });
  afterAll(async () => {
    await fake.close();
  });

  it('SubscriptionClient.subscriptions.list (2 pages) and .get: state, displayName, tenantId', async () => {
    const before = fake.requests.length;
    const subs = await all(c.subscriptions.subscriptions.list());
    expect(subs.map((s) => [s.subscriptionId, s.displayName, s.state])).toEqual([
      [SA, 'Contoso Prod', 'Enabled'],
      [SB, 'Legacy', 'Disabled'],
      [SC, 'Warned Sandbox', 'Warned'],
      [SD, 'No Access', 'Enabled'],
    ]);
    expect(subs[0]).toMatchObject({ id: `/subscriptions/${SA}`, tenantId: '11111111-2222-3333-4444-555555555555', tags: { env: 'prod' } });
    expect(subs[0]!.subscriptionPolicies?.quotaId).toBe('PayAsYouGo_2014-09-01');
    const reqs = since(fake, before);
    expect(reqs.map((r) => `${r.method} ${r.path} ${r.op}`)).toEqual(['GET /subscriptions subscriptions.list', 'GET /subscriptions subscriptions.list']);
    expect(reqs[0]!.query).toEqual({ 'api-version': '2022-12-01' });
    expect(reqs[1]!.query.$skiptoken).toBeTruthy();
    expect(reqs.every((r) => r.authorization === `Bearer ${TOKEN}` && r.status === 200)).toBe(true);

    const one = await c.subscriptions.subscriptions.get(SB);
    expect(one).toMatchObject({ subscriptionId: SB, state: 'Disabled' });
    expect(fake.requests.at(-1)).toMatchObject({ op: 'subscriptions.get', path: `/subscriptions/${SB}`, subscription: SB, query: { 'api-version': '2022-12-01' } });
  });

  it('virtualMachines.listAll: iterator and .byPage() walk 3 pages via nextLink; fields are flattened', async () => {
    const before = fake.requests.length;
    const vms = await all(c.compute.virtualMachines.listAll());
    expect(vms.map((v) => v.name)).toEqual(['win-exposed', 'win-basic', 'win-dealloc', 'lin-1', 'win-v6', 'win-case']);
    const reqs = since(fake, before);
    expect(reqs.map((r) => r.op)).toEqual(Array(3).fill('compute.virtualMachines.listAll'));
    expect(reqs[0]!.path).toBe(`/subscriptions/${SA}/providers/Microsoft.Compute/virtualMachines`);
    expect(reqs[0]!.query).toEqual({ 'api-version': '2026-04-01' });
    expect(Object.keys(reqs[1]!.query)).toEqual(['api-version', '$skiptoken']);

    const w = vms[0]!;
    expect(w.id).toBe(vmId(SA, RG, 'win-exposed'));
    expect(w.vmId).toMatch(/^[0-9a-f-]{36}$/);
    expect(w.osProfile?.windowsConfiguration?.provisionVMAgent).toBe(true);
    expect(w.osProfile?.linuxConfiguration).toBeUndefined();
    expect(w.storageProfile?.osDisk?.osType).toBe('Windows');
    expect(w.storageProfile?.imageReference).toMatchObject({ publisher: 'MicrosoftWindowsServer', offer: 'WindowsServer', sku: '2022-datacenter-azure-edition' });
    expect(w.networkProfile?.networkInterfaces?.map((n) => [n.id, n.primary])).toEqual([[nicId(SA, RG, 'win-exposed-nic'), true]]);
    expect(w.licenseType).toBe('Windows_Server');
    expect(w.instanceView).toBeUndefined(); // plain list: no instance view
    const l = vms.find((v) => v.name === 'lin-1')!;
    expect(l.storageProfile?.osDisk?.osType).toBe('Linux');
    expect(l.osProfile?.linuxConfiguration?.disablePasswordAuthentication).toBe(true);

    const pages: { names: string[]; token: string | undefined }[] = [];
    for await (const page of c.compute.virtualMachines.listAll().byPage()) {
      pages.push({ names: page.map((v) => v.name!), token: (page as any).continuationToken });
    }
    expect(pages.map((p) => p.names.length)).toEqual([2, 2, 2]);
    expect(pages[0]!.token).toMatch(new RegExp(`^${fake.baseUrl}/subscriptions/${SA}/providers/Microsoft.Compute/virtualMachines\\?api-version=2026-04-01&%24skiptoken=`));
    expect(pages[2]!.token).toBeUndefined();
    // resume from a continuation token
    const rest: string[] = [];
    for await (const page of c.compute.virtualMachines.listAll().byPage({ continuationToken: pages[0]!.token })) rest.push(...page.map((v) => v.name!));
    expect(rest).toEqual(['win-dealloc', 'lin-1', 'win-v6', 'win-case']);
  });

  it('virtualMachines.listAll({statusOnly: "true"}): power states from instanceView.statuses', async () => {
    const before = fake.requests.length;
    const vms = await all(c.compute.virtualMachines.listAll({ statusOnly: 'true' }));
    const power = Object.fromEntries(vms.map((v) => [v.name, v.instanceView?.statuses?.find((s) => s.code?.startsWith('PowerState/'))?.code]));
    expect(power).toEqual({
      'win-exposed': 'PowerState/running',
      'win-basic': 'PowerState/running',
      'win-dealloc': 'PowerState/deallocated',
      'lin-1': 'PowerState/running',
      'win-v6': 'PowerState/running',
      'win-case': 'PowerState/running',
    });
    expect(vms[0]!.instanceView?.statuses?.[1]?.displayStatus).toBe('VM running');
    expect(vms[0]!.instanceView?.computerName).toBe('win-exposed');
    // default 'minimal' shape: no profiles, join with a plain listAll by id
    expect(vms[0]!.networkProfile).toBeUndefined();
    expect(vms[0]!.id).toBe(vmId(SA, RG, 'win-exposed'));
    const reqs = since(fake, before);
    expect(reqs[0]!.query).toEqual({ 'api-version': '2026-04-01', statusOnly: 'true' });
    expect(reqs[1]!.query.statusOnly).toBe('true'); // nextLink keeps the statusOnly parameter

    const full = await startFakeArm(buildWorld(), { statusOnlyShape: 'full' });
    try {
      const f = clients(full, SA);
      const fvms = await all(f.compute.virtualMachines.listAll({ statusOnly: 'true' }));
      expect(fvms[0]!.networkProfile?.networkInterfaces?.[0]?.id).toBe(nicId(SA, RG, 'win-exposed-nic'));
      expect(fvms[2]!.instanceView?.statuses?.[1]?.code).toBe('PowerState/deallocated');
    } finally {
      await full.close();
    }
  });

  it('networkInterfaces.listAll: ipConfigurations, ASGs, NSG, VM back-reference (filled by the fake)', async () => {
    const nics = await all(c.network.networkInterfaces.listAll());
    expect(nics.map((n) => n.name)).toEqual(['win-exposed-nic', 'win-basic-nic', 'win-dealloc-nic', 'lin-1-nic', 'win-v6-nic', 'win-case-nic']);
    const n = nics[0]!;
    const ipc = n.ipConfigurations![0]!;
    expect(ipc.id).toBe(ipConfigId(nicId(SA, RG, 'win-exposed-nic')));
    expect(ipc).toMatchObject({ name: 'ipconfig1', privateIPAddress: '10.10.1.4', primary: true, privateIPAddressVersion: 'IPv4' });
    expect(ipc.subnet?.id).toBe(subnetId(vnetId(SA, RG, 'vnet-prod'), 'snet-app'));
    expect(ipc.publicIPAddress?.id).toBe(publicIpId(SA, RG, 'win-exposed-ip'));
    expect(ipc.applicationSecurityGroups?.map((a) => a.id)).toEqual([asgId(SA, RG, 'asg-rdp-hosts')]);
    expect(n.networkSecurityGroup?.id).toBe(nsgId(SA, RG, 'nsg-nic-rdp'));
    expect(n.virtualMachine?.id).toBe(vmId(SA, RG, 'win-exposed'));
    expect(nics[1]!.networkSecurityGroup).toBeUndefined();
    // win-dealloc-nic's fixture has no virtualMachine: the fake derives it from the VM's networkProfile
    expect(nics[2]!.virtualMachine?.id).toBe(vmId(SA, RG, 'win-dealloc'));
    const v6 = nics[4]!.ipConfigurations!;
    expect(v6.map((x) => [x.name, x.privateIPAddressVersion, x.primary])).toEqual([
      ['ipconfig1', 'IPv4', true],
      ['ipconfig-v6', 'IPv6', false],
    ]);
    expect(fake.requests.at(-1)).toMatchObject({
      op: 'network.networkInterfaces.listAll',
      path: `/subscriptions/${SA}/providers/Microsoft.Network/networkInterfaces`,
      query: { 'api-version': '2026-01-01' },
    });
  });

  it('publicIPAddresses.listAll: sku Basic/Standard, IPv4/IPv6, allocation, ipConfiguration back-reference', async () => {
    const pips = await all(c.network.publicIPAddresses.listAll());
    const by = Object.fromEntries(pips.map((p) => [p.name, p]));
    expect(by['win-exposed-ip']).toMatchObject({
      sku: { name: 'Standard', tier: 'Regional' },
      ipAddress: '20.50.1.10',
      publicIPAddressVersion: 'IPv4',
      publicIPAllocationMethod: 'Static',
      ipConfiguration: { id: ipConfigId(nicId(SA, RG, 'win-exposed-nic')) },
    });
    expect(by['win-basic-ip']).toMatchObject({ sku: { name: 'Basic' }, publicIPAllocationMethod: 'Dynamic', ipAddress: '20.50.1.11' });
    expect(by['win-dealloc-ip']!.ipAddress).toBeUndefined();
    expect(by['win-dealloc-ip']!.ipConfiguration?.id).toBe(ipConfigId(nicId(SA, RG, 'win-dealloc-nic'))); // derived
    expect(by['win-v6-ip6']).toMatchObject({ publicIPAddressVersion: 'IPv6', ipAddress: '2603:1020:200::10' });
    expect(by['win-v6-ip6']!.ipConfiguration?.id).toBe(ipConfigId(nicId(SA, RG, 'win-v6-nic'), 'ipconfig-v6'));
    expect(by['bastion-ip']!.ipConfiguration?.id).toMatch(/bastionHosts\/bastion-prod\/bastionHostIpConfigurations\/IpConf$/);
    // case-differing ids still link up: the NIC names the IP with 'rg-prod', the IP resource says 'RG-PROD'
    expect(by['win-case-ip']!.id).toContain('/resourceGroups/RG-PROD/');
    expect(by['win-case-ip']!.ipConfiguration?.id).toContain('/resourceGroups/RG-PROD/providers/Microsoft.Network/networkInterfaces/win-case-nic/');
  });

  it('networkSecurityGroups.listAll: securityRules as written, the six defaultSecurityRules always, back-references', async () => {
    const nsgs = await all(c.network.networkSecurityGroups.listAll());
    expect(nsgs.map((n) => n.name)).toEqual(['nsg-snet-app', 'nsg-nic-rdp', 'nsg-unused']);
    const defaults = [
      ['AllowVnetInBound', 65000, 'Inbound', 'Allow', 'VirtualNetwork', 'VirtualNetwork'],
      ['AllowAzureLoadBalancerInBound', 65001, 'Inbound', 'Allow', 'AzureLoadBalancer', '*'],
      ['DenyAllInBound', 65500, 'Inbound', 'Deny', '*', '*'],
      ['AllowVnetOutBound', 65000, 'Outbound', 'Allow', 'VirtualNetwork', 'VirtualNetwork'],
      ['AllowInternetOutBound', 65001, 'Outbound', 'Allow', '*', 'Internet'],
      ['DenyAllOutBound', 65500, 'Outbound', 'Deny', '*', '*'],
    ];
    for (const n of nsgs) {
      expect(n.defaultSecurityRules!.map((r) => [r.name, r.priority, r.direction, r.access, r.sourceAddressPrefix, r.destinationAddressPrefix])).toEqual(defaults);
      expect(n.defaultSecurityRules![0]!.id).toBe(`${n.id}/defaultSecurityRules/AllowVnetInBound`);
      expect(n.defaultSecurityRules![0]!.protocol).toBe('*');
    }
    const [app, rdp, unused] = nsgs as [any, any, any];
    expect(app.securityRules.map((r: any) => r.name)).toEqual(['AllowRdpRange', 'AllowFromOffices', 'AllowLbProbe']);
    expect(app.securityRules[0]).toMatchObject({ protocol: '*', sourceAddressPrefix: '*', destinationPortRange: '3380-3390', access: 'Allow', priority: 200, direction: 'Inbound', destinationPortRanges: [] });
    expect(app.securityRules[1]).toMatchObject({ protocol: 'Tcp', sourceAddressPrefixes: ['203.0.113.0/24', '198.51.100.7'], destinationPortRanges: ['22', '3389', '5985-5986'] });
    expect(app.securityRules[1].sourceAddressPrefix).toBeUndefined();
    expect(app.securityRules[1].destinationPortRange).toBeUndefined();
    expect(app.securityRules[2].sourceAddressPrefix).toBe('AzureLoadBalancer');
    expect(rdp.securityRules[0].destinationApplicationSecurityGroups.map((a: any) => a.id)).toEqual([asgId(SA, RG, 'asg-rdp-hosts')]);
    expect(rdp.securityRules[0].sourceAddressPrefix).toBe('Internet');
    expect(rdp.securityRules[1].sourceApplicationSecurityGroups.map((a: any) => a.id)).toEqual([asgId(SA, RG, 'asg-rdp-hosts')]);
    expect(rdp.securityRules[2]).toMatchObject({ access: 'Deny', priority: 4096, sourceAddressPrefix: 'VirtualNetwork' });
    // back-references ARM computes (the SDK deserializes them as full NetworkInterface / Subnet objects with only `id`)
    expect(app.subnets.map((s: any) => s.id)).toEqual([subnetId(vnetId(SA, RG, 'vnet-prod'), 'snet-app')]);
    expect(rdp.networkInterfaces.map((x: any) => x.id)).toEqual([nicId(SA, RG, 'win-exposed-nic')]);
    expect(unused.networkInterfaces).toBeUndefined();
    expect(unused.securityRules).toEqual([]);
  });

  it('virtualNetworks.listAll (subnets inline with NSG ref and ipConfigurations), applicationSecurityGroups, bastionHosts', async () => {
    const vnets = await all(c.network.virtualNetworks.listAll());
    expect(vnets).toHaveLength(1);
    const v = vnets[0]!;
    expect(v.addressSpace?.addressPrefixes).toEqual(['10.10.0.0/16', 'fd00:db8::/48']);
    expect(v.subnets!.map((s) => [s.name, s.addressPrefix, s.addressPrefixes, s.networkSecurityGroup?.id])).toEqual([
      ['snet-app', '10.10.1.0/24', undefined, nsgId(SA, RG, 'nsg-snet-app')],
      ['AzureBastionSubnet', undefined, ['10.10.250.0/26'], undefined],
    ]);
    expect(v.subnets![0]!.ipConfigurations!.length).toBe(7); // 6 NICs (one with 2 ipconfigs; win-case by case-insensitive id)
    expect(v.subnets![1]!.ipConfigurations!.map((x) => x.id)).toEqual([`${v.id?.replace('virtualNetworks/vnet-prod', 'bastionHosts/bastion-prod')}/bastionHostIpConfigurations/IpConf`]);

    const asgs = await all(c.network.applicationSecurityGroups.listAll());
    expect(asgs.map((a) => [a.name, a.id, a.provisioningState])).toEqual([['asg-rdp-hosts', asgId(SA, RG, 'asg-rdp-hosts'), 'Succeeded']]);

    const bastions = await all(c.network.bastionHosts.list());
    expect(bastions[0]!.sku?.name).toBe('Standard');
    expect(bastions[0]!.ipConfigurations![0]!.subnet?.id).toBe(subnetId(vnetId(SA, RG, 'vnet-prod'), 'AzureBastionSubnet'));
    expect(bastions[0]!.ipConfigurations![0]!.publicIPAddress?.id).toBe(publicIpId(SA, RG, 'bastion-ip'));
    expect(fake.requests.slice(-3).map((r) => `${r.path} ${r.query['api-version']}`)).toEqual([
      `/subscriptions/${SA}/providers/Microsoft.Network/virtualNetworks 2026-01-01`,
      `/subscriptions/${SA}/providers/Microsoft.Network/applicationSecurityGroups 2026-01-01`,
      `/subscriptions/${SA}/providers/Microsoft.Network/bastionHosts 2026-01-01`,
    ]);
  });

  it('single-resource GETs, resource-group lists, and ids that differ in case', async () => {
    const n = await c.network.networkInterfaces.get(RG, 'win-exposed-nic');
    expect(n.ipConfigurations![0]!.privateIPAddress).toBe('10.10.1.4');
    expect(fake.requests.at(-1)).toMatchObject({ op: 'network.networkInterfaces.get', path: `/subscriptions/${SA}/resourceGroups/${RG}/providers/Microsoft.Network/networkInterfaces/win-exposed-nic` });
    // ARM ids are case-insensitive: asking with another case of the resource group finds the NIC stored as RG-PROD
    const cn = await c.network.networkInterfaces.get('rg-prod', 'WIN-CASE-NIC');
    expect(cn.id).toBe(nicId(SA, 'RG-PROD', 'win-case-nic'));
    expect(cn.virtualMachine?.id).toBe(vmId(SA, RG, 'win-case')); // derived across the case difference

    const v = await c.compute.virtualMachines.get(RG, 'win-dealloc', { expand: 'instanceView' });
    expect(v.instanceView?.statuses?.map((s) => s.code)).toEqual(['ProvisioningState/succeeded', 'PowerState/deallocated']);
    expect(fake.requests.at(-1)!.query).toEqual({ 'api-version': '2026-04-01', $expand: 'instanceView' });
    const plain = await c.compute.virtualMachines.get(RG, 'win-dealloc');
    expect(plain.instanceView).toBeUndefined();
    const iv = await c.compute.virtualMachines.instanceView(RG, 'lin-1');
    expect(iv.statuses?.[1]?.code).toBe('PowerState/running');
    expect(fake.requests.at(-1)).toMatchObject({
      op: 'compute.virtualMachines.instanceView',
      path: `/subscriptions/${SA}/resourceGroups/${RG}/providers/Microsoft.Compute/virtualMachines/lin-1/instanceView`,
      query: { 'api-version': '2026-04-01' },
    });
    const rgVms = await all(c.compute.virtualMachines.list(RG));
    expect(rgVms).toHaveLength(6);
    expect(fake.requests.at(-1)).toMatchObject({ op: 'compute.virtualMachines.list', path: `/subscriptions/${SA}/resourceGroups/${RG}/providers/Microsoft.Compute/virtualMachines` });
    const rgBastions = await all(c.network.bastionHosts.listByResourceGroup(RG));
    expect(rgBastions.map((b) => b.name)).toEqual(['bastion-prod']);
    expect(fake.requests.at(-1)!.op).toBe('network.bastionHosts.listByResourceGroup');

    const inRg = await all(c.network.networkSecurityGroups.list(RG));
    expect(inRg.map((x) => x.name)).toEqual(['nsg-snet-app', 'nsg-nic-rdp', 'nsg-unused']);
    expect(fake.requests.at(-1)!.op).toBe('network.networkSecurityGroups.list');
    const pipsUpper = await all(c.network.publicIPAddresses.list('RG-PROD'));
    expect(pipsUpper).toHaveLength(6); // resource group match is case-insensitive

    const e = await catchErr(c.network.networkInterfaces.get(RG, 'ghost'));
    expect(e).toMatchObject({ name: 'RestError', statusCode: 404, code: 'ResourceNotFound' });
    expect(e.message).toBe(
      "The Resource 'Microsoft.Network/networkInterfaces/ghost' under resource group 'rg-prod' was not found. For more details please go to https://aka.ms/ARMResourceNotFoundFix",
    );
    const e2 = await catchErr(c.network.networkInterfaces.get('rg-nope', 'x'));
    expect(e2).toMatchObject({ statusCode: 404, code: 'ResourceGroupNotFound', message: "Resource group 'rg-nope' could not be found." });
  });
});

// ================================================================================================
describe('effective NSGs: the long-running POST', () => {
  let fake: FakeArm;
  beforeAll(async () => {
    fake = await startFakeArm(buildWorld(), { token: TOKEN, lro: { polls: 2 } });
  });
  afterAll(async () => {
    await fake.close();
  });

  it('beginListEffectiveNetworkSecurityGroupsAndWait: 202 + Azure-AsyncOperation/Location, polled, final GET on Location', async () => {
    const c = clients(fake, SA);
    const before = fake.requests.length;
    const res = await c.network.networkInterfaces.beginListEffectiveNetworkSecurityGroupsAndWait(RG, 'win-exposed-nic', { updateIntervalInMs: 5 });
    const reqs = since(fake, before);
    expect(reqs.map((r) => `${r.method} ${r.op} ${r.status}`)).toEqual([
      'POST network.networkInterfaces.listEffectiveNetworkSecurityGroups 202',
      'GET network.operations.get 200', // InProgress
      'GET network.operations.get 200', // InProgress
      'GET network.operations.get 200', // Succeeded
      'GET network.operationResults.get 200',
    ]);
    expect(reqs[0]!.path).toBe(`/subscriptions/${SA}/resourceGroups/${RG}/providers/Microsoft.Network/networkInterfaces/win-exposed-nic/effectiveNetworkSecurityGroups`);
    expect(reqs[0]!.query).toEqual({ 'api-version': '2026-01-01' });
    expect(reqs[1]!.path).toMatch(new RegExp(`^/subscriptions/${SA}/providers/Microsoft.Network/locations/westeurope/operations/[0-9a-f-]{36}$`));
    expect(reqs[4]!.path).toMatch(/\/locations\/westeurope\/operationResults\/[0-9a-f-]{36}$/);

    // one entry per associated NSG: the subnet's first, then the NIC's
    expect(res.value!.map((g) => [g.networkSecurityGroup?.id, g.association?.subnet?.id ?? g.association?.networkInterface?.id])).toEqual([
      [nsgId(SA, RG, 'nsg-snet-app'), subnetId(vnetId(SA, RG, 'vnet-prod'), 'snet-app')],
      [nsgId(SA, RG, 'nsg-nic-rdp'), nicId(SA, RG, 'win-exposed-nic')],
    ]);
    const sub = res.value![0]!.effectiveSecurityRules!;
    expect(sub.map((r) => r.name)).toEqual([
      'securityRules/AllowRdpRange',
      'securityRules/AllowFromOffices',
      'securityRules/AllowLbProbe',
      'defaultSecurityRules/AllowVnetInBound',
      'defaultSecurityRules/AllowAzureLoadBalancerInBound',
      'defaultSecurityRules/DenyAllInBound',
      'defaultSecurityRules/AllowVnetOutBound',
      'defaultSecurityRules/AllowInternetOutBound',
      'defaultSecurityRules/DenyAllOutBound',
    ]);
    // normalized as the real API does: protocol All, ports a-b, '*' -> 0.0.0.0/0, single IP -> /32
    expect(sub[0]).toMatchObject({ protocol: 'All', destinationPortRange: '3380-3390', sourcePortRange: '0-65535', sourceAddressPrefix: '0.0.0.0/0', access: 'Allow', priority: 200, direction: 'Inbound' });
    expect(sub[1]).toMatchObject({ protocol: 'Tcp', destinationPortRanges: ['22-22', '3389-3389', '5985-5986'], sourceAddressPrefixes: ['203.0.113.0/24', '198.51.100.7/32'] });
    expect(sub[3]!.expandedSourceAddressPrefix).toEqual(['10.10.0.0/16', 'fd00:db8::/48']); // VirtualNetwork = the VNet's prefixes
    expect(sub[4]!.expandedSourceAddressPrefix).toEqual(['168.63.129.16/32']);
    const tagMap = JSON.parse(res.value![0]!.tagMap!); // a JSON string, as in the real API
    expect(Object.keys(tagMap).sort()).toEqual(['AzureLoadBalancer', 'Internet', 'VirtualNetwork']);
    const nicRules = res.value![1]!.effectiveSecurityRules!;
    expect(nicRules[0]).toMatchObject({ name: 'securityRules/AllowRdpInternet', sourceAddressPrefix: 'Internet', destinationAddressPrefix: '10.10.1.4/32', destinationPortRange: '3389-3389' });
    expect(nicRules[0]!.expandedSourceAddressPrefix).toContain('16.0.0.0/4'); // the fake's stand-in for the Internet tag
    expect(nicRules[0]!.expandedSourceAddressPrefix).not.toContain('10.0.0.0/8');
  });

  it('case-insensitive NIC lookup; new-style poller API; Location-only mode', async () => {
    const c = clients(fake, SA);
    const poller = c.network.networkInterfaces.listEffectiveNetworkSecurityGroups('RG-PROD', 'win-case-nic', { updateIntervalInMs: 5 });
    const res = await poller;
    // the NIC names its subnet as '.../Rg-Prod/...'; the association carries the subnet's own (canonical) id
    expect(res.value!.map((g) => g.association?.subnet?.id ?? g.association?.networkInterface?.id)).toEqual([subnetId(vnetId(SA, RG, 'vnet-prod'), 'snet-app')]);

    const loc = await startFakeArm(buildWorld(), { lro: { headers: 'location', polls: 1 } });
    try {
      const lc2 = clients(loc, SA);
      const r = await lc2.network.networkInterfaces.beginListEffectiveNetworkSecurityGroupsAndWait(RG, 'win-basic-nic', { updateIntervalInMs: 5 });
      expect(r.value!.map((g) => g.networkSecurityGroup?.id)).toEqual([nsgId(SA, RG, 'nsg-snet-app')]);
      expect(loc.requests.map((x) => `${x.op} ${x.status}`)).toEqual([
        'network.networkInterfaces.listEffectiveNetworkSecurityGroups 202',
        'network.operationResults.get 202',
        'network.operationResults.get 200',
      ]);
    } finally {
      await loc.close();
    }
  });

  it('errors: NIC without a running VM (400), unknown NIC (404), a world override, and opErrors', async () => {
    const c = clients(fake, SA);
    const e = await catchErr(c.network.networkInterfaces.beginListEffectiveNetworkSecurityGroupsAndWait(RG, 'win-dealloc-nic', { updateIntervalInMs: 5 }));
    expect(e).toMatchObject({ name: 'RestError', statusCode: 400, code: 'NicMustBeAttachedToRunningVmToGetEffectiveSecurityGroups' });
    expect(e.message).toMatch(/^A network interface must be attached to a running virtual machine to get effective security groups\. The network interface \/subscriptions\/.*\/win-dealloc-nic is not attached to a running virtual machine\.$/);
    const e2 = await catchErr(c.network.networkInterfaces.beginListEffectiveNetworkSecurityGroupsAndWait(RG, 'ghost-nic', { updateIntervalInMs: 5 }));
    expect(e2).toMatchObject({ statusCode: 404, code: 'ResourceNotFound' });

    const world = buildWorld();
    world.subscriptions[SA]!.effectiveNetworkSecurityGroups = {
      [nicId(SA, RG, 'lin-1-nic').toUpperCase()]: { value: [{ networkSecurityGroup: { id: 'x' }, association: { networkManager: { id: 'anm' } }, effectiveSecurityRules: [], tagMap: '{}' }] },
      [nicId(SA, RG, 'win-basic-nic')]: 'authorizationFailed',
    };
    world.subscriptions[SA]!.opErrors = { 'network.operations.get': 'internalServerError' };
    const o = await startFakeArm(world, { lro: { polls: 0 } });
    try {
      const oc = clients(o, SA, { options: { retryOptions: { maxRetries: 0 } } });
      const r = await oc.network.networkInterfaces.beginListEffectiveNetworkSecurityGroupsAndWait(RG, 'lin-1-nic', { updateIntervalInMs: 5 }).catch((x) => x);
      // the status poll fails with 500: the poller surfaces it as a RestError
      expect(r).toMatchObject({ statusCode: 500, code: 'InternalServerError' });
      world.subscriptions[SA]!.opErrors = {};
      const r2 = await oc.network.networkInterfaces.beginListEffectiveNetworkSecurityGroupsAndWait(RG, 'lin-1-nic', { updateIntervalInMs: 5 });
      expect(r2.value![0]!.association?.networkManager?.id).toBe('anm');
      const e3 = await catchErr(oc.network.networkInterfaces.beginListEffectiveNetworkSecurityGroupsAndWait(RG, 'win-basic-nic', { updateIntervalInMs: 5 }));
      expect(e3).toMatchObject({ statusCode: 403, code: 'AuthorizationFailed' });
      expect(e3.message).toContain(
        `perform action 'Microsoft.Network/networkInterfaces/effectiveNetworkSecurityGroups/action' over scope '${nicId(SA, RG, 'win-basic-nic')}'`,
      );
    } finally {
      await o.close();
    }
  });
});

// ================================================================================================
describe('endpoint override, http, tokens and nextLink: what the SDK does', () => {
  it('endpoint http:// + allowInsecureConnection is not enough: the bearer policy refuses http before sending', async () => {
    const fake = await startFakeArm(buildWorld(), { token: TOKEN });
    try {
      const cred = staticTokenCredential(TOKEN);
      const n = new NetworkManagementClient(cred, SA, fakeEndpointOptions(fake));
      const e = await catchErr(all(n.networkSecurityGroups.listAll()));
      expect(e.message).toBe('Bearer token authentication is not permitted for non-TLS protected (non-https) URLs.');
      expect(fake.requests).toHaveLength(0);
      expect(cred.scopes).toEqual([]); // it throws before asking for a token
      // without allowInsecureConnection the http client refuses too (after the bearer policy is replaced)
      const n2 = new NetworkManagementClient(cred, SA, { endpoint: fake.baseUrl });
      useStaticBearer(n2, cred);
      const e2 = await catchErr(all(n2.networkSecurityGroups.listAll()));
      expect(e2.message).toMatch(/^Cannot connect to http:\/\/127\.0\.0\.1:\d+\/subscriptions\/.* while allowInsecureConnection is false\.$/);
      // arm-network 39 is a modular client: the old `$host` option is gone and silently ignored (requests go to ARM)
      const n3 = new NetworkManagementClient(cred, SA, { $host: fake.baseUrl, allowInsecureConnection: true, retryOptions: { maxRetries: 0 } } as any);
      const e3 = await catchErr(all(n3.networkSecurityGroups.listAll()));
      expect(e3.message).toMatch(/blocked connection to management\.azure\.com/);
      expect(claimBlocked()).toEqual(['management.azure.com']);
      // with both: works, and the token reaches the fake
      useStaticBearer(n, cred);
      expect((await all(n.networkSecurityGroups.listAll())).length).toBe(3);
      expect(fake.requests.at(-1)!.authorization).toBe(`Bearer ${TOKEN}`);
    } finally {
      await fake.close();
    }
  });

  it("linkBase 'azure': nextLink names https://management.azure.com; the SDK follows it verbatim unless the client rewrites it", async () => {
    const fake = await startFakeArm(buildWorld(), { token: TOKEN, linkBase: 'azure', pageSize: 2 });
    try {
      const raw: any = await (await fetch(`${fake.baseUrl}/subscriptions/${SA}/providers/Microsoft.Network/networkInterfaces?api-version=2026-01-01`, { headers: { authorization: `Bearer ${TOKEN}` } })).json();
      expect(raw.nextLink).toMatch(new RegExp(`^https://management\\.azure\\.com/subscriptions/${SA}/providers/Microsoft\\.Network/networkInterfaces\\?api-version=2026-01-01&%24skiptoken=`));

      // endpoint override only: page 2 goes to management.azure.com (refused by this file's socket guard)
      const plain = clients(fake, SA, { options: { retryOptions: { maxRetries: 0 } } });
      const seen: string[] = [];
      const e = await catchErr(
        (async () => {
          for await (const x of plain.network.networkInterfaces.listAll()) seen.push(x.name!);
        })(),
      );
      expect(seen).toEqual(['win-exposed-nic', 'win-basic-nic']);
      expect(e.message).toMatch(/blocked connection to management\.azure\.com/);
      expect(claimBlocked()).toEqual(['management.azure.com']);

      // endpoint override + a policy that maps management.azure.com onto the override: all pages, and the LRO
      const rewrite = clients(fake, SA, { options: { additionalPolicies: [{ policy: rewriteToFakePolicy(fake), position: 'perCall' }] } });
      expect((await all(rewrite.network.networkInterfaces.listAll())).length).toBe(6);
      const before = fake.requests.length;
      const eff = await rewrite.network.networkInterfaces.beginListEffectiveNetworkSecurityGroupsAndWait(RG, 'win-exposed-nic', { updateIntervalInMs: 5 });
      expect(eff.value).toHaveLength(2);
      expect(since(fake, before).map((r) => r.op)).toContain('network.operationResults.get');
    } finally {
      await fake.close();
    }
  });

  it('recipe without touching the bearer policy: default endpoint + a perRetry rewrite policy (token scope stays ARM)', async () => {
    const fake = await startFakeArm(buildWorld(), { token: TOKEN, linkBase: 'azure', pageSize: 4 });
    try {
      const cred = staticTokenCredential(TOKEN);
      const opts = { additionalPolicies: [{ policy: rewriteToFakePolicy(fake), position: 'perRetry' as const }] };
      const n = new NetworkManagementClient(cred, SA, opts);
      const cm = new ComputeManagementClient(cred, SA, opts);
      const sc = new SubscriptionClient(cred, opts);
      expect((await all(n.publicIPAddresses.listAll())).length).toBe(6);
      expect((await all(cm.virtualMachines.listAll({ statusOnly: 'true' }))).length).toBe(6);
      expect((await all(sc.subscriptions.list())).length).toBe(4);
      // the real bearerTokenAuthenticationPolicy ran: it asked for the ARM scope (once per client; then it caches)
      expect(cred.scopes).toEqual([['https://management.azure.com/.default'], ['https://management.azure.com/.default'], ['https://management.azure.com/.default']]);
      expect(fake.requests.every((r) => r.authorization === `Bearer ${TOKEN}` && r.status === 200)).toBe(true);
    } finally {
      await fake.close();
    }
  });
});

// ================================================================================================
describe('errors as ARM sends them, as the SDK surfaces them', () => {
  let fake: FakeArm;
  beforeAll(async () => {
    fake = await startFakeArm(buildWorld(), { token: TOKEN, expiredTokens: ['old-token'] });
  });
  afterAll(async () => {
    await fake.close();
  });

  it('401: wrong token -> InvalidAuthenticationToken with WWW-Authenticate; not retried, not refreshed', async () => {
    const before = fake.requests.length;
    const c = clients(fake, SA, { token: 'wrong' });
    const e = await catchErr(all(c.compute.virtualMachines.listAll()));
    expect(e).toMatchObject({ name: 'RestError', statusCode: 401, code: 'InvalidAuthenticationToken' });
    expect(e.message).toBe('Pagination failed with unexpected statusCode 401'); // list ops drop ARM's message
    expect(e.response.headers.get('www-authenticate')).toMatch(/^Bearer authorization_uri="https:\/\/login\.microsoftonline\.com\/11111111-2222-3333-4444-555555555555", error="invalid_token"/);
    const g = await catchErr(c.network.networkInterfaces.get(RG, 'win-exposed-nic'));
    expect(g).toMatchObject({ statusCode: 401, code: 'InvalidAuthenticationToken', message: 'The access token is invalid.' });
    const old = clients(fake, SA, { token: 'old-token' });
    const x = await catchErr(old.subscriptions.subscriptions.get(SA));
    expect(x).toMatchObject({ statusCode: 401, code: 'ExpiredAuthenticationToken' });
    expect(x.message).toMatch(/^The access token expiry UTC time '.*' is earlier than current UTC time '.*'\.$/);
    expect(since(fake, before).map((r) => `${r.op} ${r.status} ${r.authorization}`)).toEqual([
      'compute.virtualMachines.listAll 401 Bearer wrong',
      'network.networkInterfaces.get 401 Bearer wrong',
      'subscriptions.get 401 Bearer old-token',
    ]);

    const missing = await fetch(`${fake.baseUrl}/subscriptions?api-version=2022-12-01`);
    expect(missing.status).toBe(401);
    expect(await missing.json()).toEqual({ error: { code: 'AuthenticationFailed', message: "Authentication failed. The 'Authorization' header is missing." } });
    expect(missing.headers.get('www-authenticate')).toContain(`error_description="The authentication failed because of missing 'Authorization' header."`);
  });

  it('403 AuthorizationFailed (whole subscription, or one operation), 404 SubscriptionNotFound', async () => {
    const before = fake.requests.length;
    const d = clients(fake, SD);
    const e = await catchErr(all(d.network.networkInterfaces.listAll()));
    expect(e).toMatchObject({ statusCode: 403, code: 'AuthorizationFailed' });
    const g = await catchErr(d.compute.virtualMachines.get(RG, 'x'));
    expect(g.message).toBe(
      "The client 'aaaaaaaa-0000-0000-0000-000000000001' with object id 'bbbbbbbb-0000-0000-0000-000000000001' does not have authorization to perform " +
        `action 'Microsoft.Compute/virtualMachines/read' over scope '/subscriptions/${SD}/resourceGroups/${RG}/providers/Microsoft.Compute/virtualMachines/x' ` +
        'or the scope is invalid. If access was recently granted, please refresh your credentials.',
    );
    expect(g.details).toEqual({ error: { code: 'AuthorizationFailed', message: g.message } }); // gets carry the parsed body in details

    const sc = clients(fake, SC);
    expect(await all(sc.network.networkInterfaces.listAll())).toEqual([]); // other ops are fine
    const e2 = await catchErr(all(sc.network.networkSecurityGroups.listAll()));
    expect(e2).toMatchObject({ statusCode: 403, code: 'AuthorizationFailed', message: 'Pagination failed with unexpected statusCode 403' });
    expect(e2.details).toBeUndefined(); // the ARM message (action, scope) is not reachable from a list error

    const z = clients(fake, 'ffffffff-0000-0000-0000-000000000000');
    const e3 = await catchErr(all(z.compute.virtualMachines.listAll()));
    expect(e3).toMatchObject({ statusCode: 404, code: 'SubscriptionNotFound' });
    const e4 = await catchErr(z.subscriptions.subscriptions.get('ffffffff-0000-0000-0000-000000000000'));
    expect(e4).toMatchObject({ statusCode: 404, code: 'SubscriptionNotFound', message: "The subscription 'ffffffff-0000-0000-0000-000000000000' could not be found." });
    // none of these were retried
    expect(since(fake, before).map((r) => r.status)).toEqual([403, 403, 200, 403, 404, 404]);

    // raw wire shape
    const raw = await fetch(`${fake.baseUrl}/subscriptions/${SC}/providers/Microsoft.Network/networkSecurityGroups?api-version=2026-01-01`, { headers: { authorization: `Bearer ${TOKEN}` } });
    expect(raw.status).toBe(403);
    expect(raw.headers.get('content-type')).toBe('application/json; charset=utf-8');
    expect(raw.headers.get('x-ms-request-id')).toMatch(/^[0-9a-f-]{36}$/);
    expect(await raw.json()).toEqual({
      error: {
        code: 'AuthorizationFailed',
        message:
          "The client 'aaaaaaaa-0000-0000-0000-000000000001' with object id 'bbbbbbbb-0000-0000-0000-000000000001' does not have authorization to perform " +
          `action 'Microsoft.Network/networkSecurityGroups/read' over scope '/subscriptions/${SC}' or the scope is invalid. If access was recently granted, please refresh your credentials.`,
      },
    });
  });

  it('wire details: missing api-version, unknown resource type, rate-limit header, nextLink pointing at the fake', async () => {
    const h = { headers: { authorization: `Bearer ${TOKEN}` } };
    const r1 = await fetch(`${fake.baseUrl}/subscriptions/${SA}/providers/Microsoft.Network/networkInterfaces`, h);
    expect(r1.status).toBe(400);
    expect(((await r1.json()) as any).error.code).toBe('MissingApiVersionParameter');
    const r2 = await fetch(`${fake.baseUrl}/subscriptions/${SA}/providers/Microsoft.Network/loadBalancers?api-version=2026-01-01`, h);
    expect(r2.status).toBe(404);
    expect(((await r2.json()) as any).error).toEqual({ code: 'InvalidResourceType', message: "The resource type 'loadBalancers' could not be found in the namespace 'Microsoft.Network' for api version '2026-01-01'." });
    const r3 = await fetch(`${fake.baseUrl}/subscriptions/${SB}/providers/Microsoft.Compute/virtualMachines?api-version=2026-04-01`, h);
    const remaining = Number(r3.headers.get('x-ms-ratelimit-remaining-subscription-reads'));
    expect(remaining).toBeGreaterThan(200);
    expect(remaining).toBeLessThan(250);
    const body: any = await r3.json();
    expect(Object.keys(body)).toEqual(['value']); // no nextLink on the last page
    expect(body.value[0].properties.instanceView).toBeUndefined();
    expect(body.value[0].properties.osProfile.windowsConfiguration).toBeTruthy();
  });
});

// ================================================================================================
describe("the SDK's own retry policy (core-rest-pipeline defaultRetryPolicy)", () => {
  const run = async (fault: FakeArmOptions['fault'], clientOptions: Record<string, any> = {}) => {
    const times: number[] = [];
    const fake = await startFakeArm(buildWorld(), {
      token: TOKEN,
      fault: (req, attempt) => {
        times.push(Date.now());
        return fault?.(req, attempt);
      },
    });
    const c = clients(fake, SA, { options: clientOptions });
    const t0 = Date.now();
    const out = await all(c.network.applicationSecurityGroups.listAll()).then(
      (v) => ({ ok: true as const, v }),
      (e) => ({ ok: false as const, e }),
    );
    const elapsed = Date.now() - t0;
    const statuses = fake.requests.map((r) => r.status);
    const gaps = times.slice(1).map((t, i) => t - times[i]!);
    await fake.close();
    return { out, elapsed, statuses, gaps };
  };
  const asg429 = (f: ArmFault, n = Infinity): FakeArmOptions['fault'] => (req, attempt) =>
    req.op === 'network.applicationSecurityGroups.listAll' && attempt <= n ? f : undefined;

  it('429 + Retry-After: 1 twice: retried transparently, waiting ~1 s each time (header honoured)', async () => {
    const r = await run(asg429({ kind: 'throttled', retryAfterSeconds: 1 }, 2));
    expect(r.out.ok).toBe(true);
    expect(r.statuses).toEqual([429, 429, 200]);
    for (const g of r.gaps) {
      expect(g).toBeGreaterThanOrEqual(950);
      expect(g).toBeLessThan(1600);
    }
  });

  it('429 always (Retry-After: 0): 1 + 3 retries, then RestError 429 with the code', async () => {
    const r = await run(asg429({ kind: 'throttled', retryAfterSeconds: 0 }));
    expect(r.statuses).toEqual([429, 429, 429, 429]);
    expect(r.out.ok).toBe(false);
    if (!r.out.ok) {
      expect(r.out.e).toMatchObject({ statusCode: 429, code: 'SubscriptionRequestsThrottled' });
      expect(r.out.e.response.headers.get('retry-after')).toBe('0');
    }
    expect(r.elapsed).toBeLessThan(500);
    const r5 = await run(asg429({ kind: 'throttled', retryAfterSeconds: 0 }), { retryOptions: { maxRetries: 5 } });
    expect(r5.statuses).toHaveLength(6);
  });

  it('429 without Retry-After is NOT retried; 503 with Retry-After is (throttling strategy)', async () => {
    const r = await run(asg429({ kind: 'throttled', retryAfterSeconds: null }));
    expect(r.statuses).toEqual([429]);
    const p = await run(asg429({ kind: 'providerThrottled', retryAfterSeconds: null }));
    expect(p.statuses).toEqual([429]);
    if (!p.out.ok) expect(p.out.e.code).toBe('OperationNotAllowed');
    const s = await run(asg429({ kind: 'serviceUnavailable', retryAfterSeconds: 0 }, 1));
    expect(s.statuses).toEqual([503, 200]);
    expect(s.gaps[0]).toBeLessThan(300);
  });

  it('500 / 503 / 504 without Retry-After: exponential backoff, 3 retries (delays tunable with retryOptions)', async () => {
    const fast = { retryOptions: { retryDelayInMs: 20, maxRetryDelayInMs: 40 } };
    for (const kind of ['internalServerError', 'serviceUnavailable', 'gatewayTimeout'] as const) {
      const r = await run(asg429(kind), fast);
      expect(r.statuses).toEqual(Array(4).fill(kind === 'internalServerError' ? 500 : kind === 'serviceUnavailable' ? 503 : 504));
      expect(r.out.ok).toBe(false);
    }
    // default delays: retry n (0-based) waits 1000 * 2^n ms, jittered down to half of that: the first in 0.5-1.0 s
    const d = await run(asg429('internalServerError', 1));
    expect(d.statuses).toEqual([500, 200]);
    expect(d.gaps[0]).toBeGreaterThanOrEqual(450);
    expect(d.gaps[0]).toBeLessThan(1400);
  });

  it('a throttle on page 2 is retried without restarting the list; 403 is never retried', async () => {
    const fake = await startFakeArm(buildWorld(), {
      token: TOKEN,
      pageSize: 2,
      fault: (req, attempt) => (req.op === 'network.networkInterfaces.listAll' && req.query.$skiptoken && attempt === 1 ? { kind: 'throttled', retryAfterSeconds: 0 } : undefined),
    });
    try {
      const c = clients(fake, SA);
      expect((await all(c.network.networkInterfaces.listAll())).length).toBe(6);
      expect(fake.requests.map((x) => x.status)).toEqual([200, 429, 200, 429, 200]);
    } finally {
      await fake.close();
    }
    const f = await run(asg429('authorizationFailed'));
    expect(f.statuses).toEqual([403]);
  });
});

// ================================================================================================
describe('rate-limit bucket, latency, scale', () => {
  it('enforced read bucket: 429 SubscriptionRequestsThrottled once empty, remaining count in the header', async () => {
    const fake = await startFakeArm(buildWorld(), { token: TOKEN, readBucket: { size: 3, refillPerSecond: 1, enforce: true } });
    try {
      const h = { headers: { authorization: `Bearer ${TOKEN}` } };
      const url = `${fake.baseUrl}/subscriptions/${SA}/providers/Microsoft.Network/applicationSecurityGroups?api-version=2026-01-01`;
      const got: [number, string | null, string | null][] = [];
      for (let i = 0; i < 4; i++) {
        const r = await fetch(url, h);
        got.push([r.status, r.headers.get('x-ms-ratelimit-remaining-subscription-reads'), r.headers.get('retry-after')]);
        await r.arrayBuffer();
      }
      expect(got).toEqual([
        [200, '2', null],
        [200, '1', null],
        [200, '0', null],
        [429, '0', '1'],
      ]);
      // other subscriptions have their own bucket
      const other = await fetch(url.replace(SA, SB), h);
      expect(other.status).toBe(200);
      // the SDK waits out the Retry-After and succeeds
      const c = clients(fake, SA);
      const t0 = Date.now();
      expect((await all(c.network.applicationSecurityGroups.listAll())).length).toBe(1);
      expect(Date.now() - t0).toBeGreaterThanOrEqual(900);
    } finally {
      await fake.close();
    }
  });

  it('latencyMs delays every response', async () => {
    const fake = await startFakeArm(buildWorld(), { latencyMs: 40 });
    try {
      const t0 = Date.now();
      await all(clients(fake, SA).network.bastionHosts.list());
      expect(Date.now() - t0).toBeGreaterThanOrEqual(35);
    } finally {
      await fake.close();
    }
  });

  it('serves 40 subscriptions x 300 VMs (+ NICs) in 100-item pages; one index build per subscription', async () => {
    const world: AzureWorld = { subscriptions: {} };
    for (let s = 0; s < 40; s++) {
      const sub = `00000000-0000-0000-0000-${String(s).padStart(12, '0')}`;
      const vnets = [vnet({ sub, rg: 'rg', name: 'vnet', addressPrefixes: ['10.0.0.0/8'], subnets: [{ name: 'default', addressPrefix: '10.0.0.0/16' }] })];
      const sn = vnets[0].properties.subnets[0].id;
      const vms: any[] = [];
      const nics: any[] = [];
      const pips: any[] = [];
      for (let i = 0; i < 300; i++) {
        const st = vmStack({ sub, rg: 'rg', name: `vm-${i}`, subnetId: sn, privateIPAddress: `10.0.${i >> 8}.${i & 255}`, publicIp: i % 4 === 0 ? `20.${s}.${i >> 8}.${i & 255}` : undefined });
        vms.push(st.vm);
        nics.push(st.nic);
        if (st.publicIp) pips.push(st.publicIp);
      }
      world.subscriptions[sub] = { virtualMachines: vms, networkInterfaces: nics, publicIPAddresses: pips, virtualNetworks: vnets };
    }
    const fake = await startFakeArm(world, { token: TOKEN, pageSize: 100 });
    try {
      const h = { headers: { authorization: `Bearer ${TOKEN}` } };
      const t0 = Date.now();
      let items = 0;
      let pages = 0;
      for (const sub of Object.keys(world.subscriptions)) {
        for (const type of ['Microsoft.Compute/virtualMachines', 'Microsoft.Network/networkInterfaces']) {
          let url: string | undefined = `${fake.baseUrl}/subscriptions/${sub}/providers/${type}?api-version=x`;
          while (url) {
            const body: any = await (await fetch(url, h)).json();
            items += body.value.length;
            pages++;
            url = body.nextLink;
          }
        }
      }
      expect(items).toBe(24_000);
      expect(pages).toBe(240);
      expect(Date.now() - t0).toBeLessThan(10_000);
      expect(fake.stats.indexBuilds).toBe(40);
      // the real SDK walks one subscription; still no rebuild
      const c = clients(fake, Object.keys(world.subscriptions)[7]!);
      expect((await all(c.compute.virtualMachines.listAll())).length).toBe(300);
      expect(fake.stats.indexBuilds).toBe(40);
      // replacing an array invalidates that subscription's index
      const s0 = world.subscriptions[Object.keys(world.subscriptions)[0]!]!;
      s0.virtualMachines = s0.virtualMachines!.slice(0, 10);
      const body: any = await (await fetch(`${fake.baseUrl}/subscriptions/${Object.keys(world.subscriptions)[0]}/providers/Microsoft.Compute/virtualMachines?api-version=x`, h)).json();
      expect(body.value).toHaveLength(10);
      expect(fake.stats.indexBuilds).toBe(41);
    } finally {
      await fake.close();
    }
  });
});
