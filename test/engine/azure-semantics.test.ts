// Azure semantics as a table of cases: ARM objects (the SDK's flattened shapes) mapped by providers/azure/map.ts and
// judged by the engine. Each expectation is written from Microsoft's documentation:
//  [nsg]  https://learn.microsoft.com/azure/virtual-network/network-security-groups-overview - priority 100-4096, lower
//         first, first match stops; default rules AllowVnetInBound 65000, AllowAzureLoadBalancerInBound 65001,
//         DenyAllInBound 65500; service tags Internet, VirtualNetwork, AzureLoadBalancer; `*` protocol covers TCP;
//         port ranges and lists (augmented rules); application security groups
//  [how]  https://learn.microsoft.com/azure/virtual-network/network-security-group-how-it-works - inbound: the subnet
//         NSG first, then the NIC NSG, both must allow; no NSG at a level lets everything through; rules see the
//         private address (after DNAT)
//  [sku]  https://learn.microsoft.com/azure/virtual-network/ip-services/public-ip-addresses#sku - Standard is secure
//         by default (closed unless an NSG allows); Basic was open
//  [bas]  https://learn.microsoft.com/azure/bastion/bastion-nsg - Bastion connects from AzureBastionSubnet to the private IP
import type { BastionHost, NetworkInterface, NetworkSecurityGroup, PublicIPAddress, SecurityRule, VirtualNetwork } from '@azure/arm-network';
import { describe, expect, it } from 'vitest';
import { evaluate } from '../../src/engine/evaluate.js';
import { resolveSource } from '../../src/engine/sources.js';
import { INVENTORY_SCHEMA_VERSION, type Inventory } from '../../src/model/inventory.js';
import { mapSubscription, type AzureVm } from '../../providers/azure/map.js';

const SUB = '00000000-0000-0000-0000-0000000000a1';
const RG = `/subscriptions/${SUB}/resourceGroups/rg-app/providers`;
const VNET = `${RG}/Microsoft.Network/virtualNetworks/vnet-app`;
const SUBNET = `${VNET}/subnets/snet-app`;
const OFFICE = '81.2.69.0/24';

const rule = (name: string, priority: number, r: Partial<SecurityRule> = {}): SecurityRule => ({
  name,
  priority,
  direction: 'Inbound',
  access: 'Allow',
  protocol: 'Tcp',
  sourcePortRange: '*',
  destinationPortRange: '3389',
  sourceAddressPrefix: 'Internet',
  destinationAddressPrefix: '*',
  ...r,
});
const defaults: SecurityRule[] = [
  rule('AllowVnetInBound', 65000, { protocol: '*', destinationPortRange: '*', sourceAddressPrefix: 'VirtualNetwork', destinationAddressPrefix: 'VirtualNetwork' }),
  rule('AllowAzureLoadBalancerInBound', 65001, { protocol: '*', destinationPortRange: '*', sourceAddressPrefix: 'AzureLoadBalancer' }),
  rule('DenyAllInBound', 65500, { protocol: '*', destinationPortRange: '*', sourceAddressPrefix: '*', access: 'Deny' }),
];
const nsg = (name: string, rules: SecurityRule[]): NetworkSecurityGroup => ({ id: `${RG}/Microsoft.Network/networkSecurityGroups/${name}`, name, securityRules: rules, defaultSecurityRules: defaults });
const vnet = (subnetNsg?: string, extraSubnets: VirtualNetwork['subnets'] = []): VirtualNetwork => ({
  id: VNET,
  name: 'vnet-app',
  addressSpace: { addressPrefixes: ['10.1.0.0/16'] },
  subnets: [{ id: SUBNET, name: 'snet-app', addressPrefix: '10.1.1.0/24', ...(subnetNsg ? { networkSecurityGroup: { id: `${RG}/Microsoft.Network/networkSecurityGroups/${subnetNsg}` } } : {}) }, ...extraSubnets],
});
const pip = (sku: 'Standard' | 'Basic', ip = '20.1.2.3', version: 'IPv4' | 'IPv6' = 'IPv4'): PublicIPAddress => ({ id: `${RG}/Microsoft.Network/publicIPAddresses/pip-${version}`, name: `pip-${version}`, sku: { name: sku }, ipAddress: ip, publicIPAddressVersion: version });
const nic = (o: { nicNsg?: string; pips?: PublicIPAddress[]; asgs?: string[] } = {}): NetworkInterface => ({
  id: `${RG}/Microsoft.Network/networkInterfaces/nic-win`,
  name: 'nic-win',
  ...(o.nicNsg ? { networkSecurityGroup: { id: `${RG}/Microsoft.Network/networkSecurityGroups/${o.nicNsg}` } } : {}),
  ipConfigurations: [
    {
      name: 'ipconfig1',
      primary: true,
      privateIPAddress: '10.1.1.4',
      privateIPAddressVersion: 'IPv4',
      subnet: { id: SUBNET },
      ...(o.pips?.[0] ? { publicIPAddress: { id: o.pips[0].id } } : {}),
      applicationSecurityGroups: (o.asgs ?? []).map((a) => ({ id: `${RG}/Microsoft.Network/applicationSecurityGroups/${a}` })),
    },
    ...(o.pips?.[1] ? [{ name: 'ipconfig-v6', privateIPAddress: 'fd00:1::4', privateIPAddressVersion: 'IPv6', subnet: { id: SUBNET }, publicIPAddress: { id: o.pips[1].id } }] : []),
  ],
});
const vm: AzureVm = {
  id: `${RG}/Microsoft.Compute/virtualMachines/vm-win`,
  name: 'vm-win',
  location: 'westeurope',
  storageProfile: { osDisk: { osType: 'Windows' } },
  networkProfile: { networkInterfaces: [{ id: `${RG}/Microsoft.Network/networkInterfaces/nic-win`, primary: true }] },
  instanceView: { statuses: [{ code: 'ProvisioningState/succeeded' }, { code: 'PowerState/running' }] },
};

interface Case {
  name: string;
  nsgs?: NetworkSecurityGroup[];
  subnetNsg?: string;
  nic?: NetworkInterface;
  pips?: PublicIPAddress[];
  vnet?: VirtualNetwork;
  bastions?: BastionHost[];
  source?: string;
  expect: 'reachable' | 'partial' | 'blocked' | 'unknown';
  deciding?: { layer: string; rule: string }[];
  allowed?: string[];
  access?: string;
  gateway?: string;
}

const STD = [pip('Standard')];
const allowInternet = nsg('nsg-nic', [rule('AllowRDP', 300)]);

const cases: Case[] = [
  { name: 'NIC NSG allows RDP from Internet on a Standard public IP: reachable [nsg][sku]', nsgs: [allowInternet], nic: nic({ nicNsg: 'nsg-nic', pips: STD }), pips: STD, expect: 'reachable', deciding: [{ layer: 'NIC NSG', rule: 'AllowRDP' }], access: 'exposed' },
  { name: 'allowed at the NIC, denied at the subnet: blocked [how]', nsgs: [allowInternet, nsg('nsg-subnet', [rule('DenyRDP', 200, { access: 'Deny' })])], subnetNsg: 'nsg-subnet', nic: nic({ nicNsg: 'nsg-nic', pips: STD }), pips: STD, expect: 'blocked', deciding: [{ layer: 'subnet NSG', rule: 'DenyRDP' }, { layer: 'NIC NSG', rule: 'AllowRDP' }] },
  { name: 'allowed at the subnet, nothing at the NIC level: the subnet decides [how]', nsgs: [nsg('nsg-subnet', [rule('AllowRDP', 300)])], subnetNsg: 'nsg-subnet', nic: nic({ pips: STD }), pips: STD, expect: 'reachable', deciding: [{ layer: 'subnet NSG', rule: 'AllowRDP' }] },
  { name: 'allowed at the subnet, the NIC NSG has only the defaults: DenyAllInBound [how][nsg]', nsgs: [nsg('nsg-subnet', [rule('AllowRDP', 300)]), nsg('nsg-nic', [])], subnetNsg: 'nsg-subnet', nic: nic({ nicNsg: 'nsg-nic', pips: STD }), pips: STD, expect: 'blocked', deciding: [{ layer: 'NIC NSG', rule: 'DenyAllInBound' }] },
  { name: 'a deny at 200 before an allow at 300 [nsg]', nsgs: [nsg('nsg-nic', [rule('DenyRDP', 200, { access: 'Deny' }), rule('AllowRDP', 300)])], nic: nic({ nicNsg: 'nsg-nic', pips: STD }), pips: STD, expect: 'blocked', deciding: [{ layer: 'NIC NSG', rule: 'DenyRDP' }] },
  { name: 'Standard public IP and no NSG anywhere: closed [sku]', nic: nic({ pips: STD }), pips: STD, expect: 'blocked', deciding: [{ layer: 'public IP', rule: 'Standard SKU public IP' }] },
  { name: 'Basic public IP and no NSG anywhere: open [sku]', nic: nic({ pips: [pip('Basic')] }), pips: [pip('Basic')], expect: 'reachable', access: 'exposed' },
  { name: 'destination port range 3380-3390 matches [nsg]', nsgs: [nsg('nsg-nic', [rule('AllowRange', 300, { destinationPortRange: '3380-3390' })])], nic: nic({ nicNsg: 'nsg-nic', pips: STD }), pips: STD, expect: 'reachable', deciding: [{ layer: 'NIC NSG', rule: 'AllowRange' }] },
  { name: 'destination port list ["22", "3389"] matches [nsg]', nsgs: [nsg('nsg-nic', [rule('AllowList', 300, { destinationPortRange: undefined, destinationPortRanges: ['22', '3389'] })])], nic: nic({ nicNsg: 'nsg-nic', pips: STD }), pips: STD, expect: 'reachable' },
  { name: 'destination port "*" and protocol "*" match [nsg]', nsgs: [nsg('nsg-nic', [rule('AllowAny', 300, { protocol: '*', destinationPortRange: '*', sourceAddressPrefix: '*' })])], nic: nic({ nicNsg: 'nsg-nic', pips: STD }), pips: STD, expect: 'reachable', deciding: [{ layer: 'NIC NSG', rule: 'AllowAny' }] },
  { name: 'a port list without 3389 falls through to DenyAllInBound [nsg]', nsgs: [nsg('nsg-nic', [rule('AllowWeb', 300, { destinationPortRange: undefined, destinationPortRanges: ['80', '443'] })])], nic: nic({ nicNsg: 'nsg-nic', pips: STD }), pips: STD, expect: 'blocked', deciding: [{ layer: 'NIC NSG', rule: 'DenyAllInBound' }] },
  { name: 'Udp does not open tcp:3389 [nsg]', nsgs: [nsg('nsg-nic', [rule('AllowUdp', 300, { protocol: 'Udp' })])], nic: nic({ nicNsg: 'nsg-nic', pips: STD }), pips: STD, expect: 'blocked' },
  { name: 'the VirtualNetwork tag never matches the internet; AllowVnetInBound does not expose [nsg]', nsgs: [nsg('nsg-nic', [rule('AllowVnet', 300, { sourceAddressPrefix: 'VirtualNetwork' })])], nic: nic({ nicNsg: 'nsg-nic', pips: STD }), pips: STD, expect: 'blocked', access: 'private-only' },
  { name: 'AllowVnetInBound admits a source inside the VNet to the private address [nsg]', nsgs: [nsg('nsg-nic', [])], nic: nic({ nicNsg: 'nsg-nic' }), source: '10.1.0.0/16', expect: 'reachable', deciding: [{ layer: 'NIC NSG', rule: 'AllowVnetInBound' }] },
  { name: 'a private source outside the VNet gets DenyAllInBound [nsg]', nsgs: [nsg('nsg-nic', [])], nic: nic({ nicNsg: 'nsg-nic' }), source: '10.9.0.0/16', expect: 'blocked', deciding: [{ layer: 'NIC NSG', rule: 'DenyAllInBound' }] },
  { name: 'source prefixes list: only the office gets through [nsg]', nsgs: [nsg('nsg-nic', [rule('AllowOffice', 300, { sourceAddressPrefix: undefined, sourceAddressPrefixes: [OFFICE, '192.0.2.0/24'] })])], nic: nic({ nicNsg: 'nsg-nic', pips: STD }), pips: STD, expect: 'partial', allowed: [OFFICE] },
  { name: 'a source application security group never matches the internet [nsg]', nsgs: [nsg('nsg-nic', [rule('AllowFromAsg', 300, { sourceAddressPrefix: undefined, sourceApplicationSecurityGroups: [{ id: `${RG}/Microsoft.Network/applicationSecurityGroups/asg-jump` }] })])], nic: nic({ nicNsg: 'nsg-nic', pips: STD }), pips: STD, expect: 'blocked' },
  { name: 'a destination ASG the NIC belongs to: the rule applies [nsg]', nsgs: [nsg('nsg-nic', [rule('AllowToRdpAsg', 300, { destinationAddressPrefix: undefined, destinationApplicationSecurityGroups: [{ id: `${RG}/Microsoft.Network/applicationSecurityGroups/asg-rdp` }] })])], nic: nic({ nicNsg: 'nsg-nic', pips: STD, asgs: ['asg-rdp'] }), pips: STD, expect: 'reachable', deciding: [{ layer: 'NIC NSG', rule: 'AllowToRdpAsg' }] },
  { name: 'a destination ASG the NIC is not in: the rule does not apply [nsg]', nsgs: [nsg('nsg-nic', [rule('AllowToRdpAsg', 300, { destinationAddressPrefix: undefined, destinationApplicationSecurityGroups: [{ id: `${RG}/Microsoft.Network/applicationSecurityGroups/asg-rdp` }] })])], nic: nic({ nicNsg: 'nsg-nic', pips: STD, asgs: ['asg-web'] }), pips: STD, expect: 'blocked' },
  { name: 'the destination is the private address after DNAT: a rule for the NIC IP applies to public traffic [how]', nsgs: [nsg('nsg-nic', [rule('AllowToNicIp', 300, { destinationAddressPrefix: '10.1.1.4' })])], nic: nic({ nicNsg: 'nsg-nic', pips: STD }), pips: STD, expect: 'reachable' },
  { name: 'a rule for the public IP as destination never matches (NSGs see the private address) [how]', nsgs: [nsg('nsg-nic', [rule('AllowToPublicIp', 300, { destinationAddressPrefix: '20.1.2.3' })])], nic: nic({ nicNsg: 'nsg-nic', pips: STD }), pips: STD, expect: 'blocked' },
  { name: 'an unexpandable service tag (AzureCloud) makes the verdict unknown [nsg]', nsgs: [nsg('nsg-nic', [rule('AllowAzureCloud', 300, { sourceAddressPrefix: 'AzureCloud' })])], nic: nic({ nicNsg: 'nsg-nic', pips: STD }), pips: STD, expect: 'unknown' },
  { name: 'IPv6: "*" opens the IPv6 public address too; 0.0.0.0/0 opens only IPv4 -> partial [nsg]', nsgs: [nsg('nsg-nic', [rule('AllowV4Only', 300, { sourceAddressPrefix: '0.0.0.0/0' })])], nic: nic({ nicNsg: 'nsg-nic', pips: [pip('Standard'), pip('Standard', '2603:1020::10', 'IPv6')] }), pips: [pip('Standard'), pip('Standard', '2603:1020::10', 'IPv6')], expect: 'partial', allowed: ['0.0.0.0/0'] },
  { name: 'IPv6: Internet opens both families [nsg]', nsgs: [allowInternet], nic: nic({ nicNsg: 'nsg-nic', pips: [pip('Standard'), pip('Standard', '2603:1020::10', 'IPv6')] }), pips: [pip('Standard'), pip('Standard', '2603:1020::10', 'IPv6')], expect: 'reachable', allowed: ['0.0.0.0/0', '::/0'] },
  {
    name: 'Bastion in the VNet and an NSG allowing its subnet: gateway-only (bastion) [bas]',
    nsgs: [nsg('nsg-nic', [rule('AllowBastion', 300, { sourceAddressPrefix: '10.1.255.0/26' })])],
    nic: nic({ nicNsg: 'nsg-nic' }),
    vnet: vnet(undefined, [{ id: `${VNET}/subnets/AzureBastionSubnet`, name: 'AzureBastionSubnet', addressPrefix: '10.1.255.0/26' }]),
    bastions: [{ id: `${RG}/Microsoft.Network/bastionHosts/bas-app`, name: 'bas-app', sku: { name: 'Standard' }, ipConfigurations: [{ name: 'ipc', subnet: { id: `${VNET}/subnets/AzureBastionSubnet` } }] }],
    expect: 'blocked',
    access: 'gateway-only',
    gateway: 'bastion',
  },
];

function inventoryOf(c: Case): Inventory {
  const m = mapSubscription({
    subscription: SUB,
    vms: [vm],
    nics: [c.nic ?? nic()],
    publicIps: c.pips ?? [],
    nsgs: c.nsgs ?? [],
    vnets: [c.vnet ?? vnet(c.subnetNsg)],
    bastions: c.bastions ?? [],
  });
  return { schemaVersion: INVENTORY_SCHEMA_VERSION, generatedAt: '2026-01-01T00:00:00Z', scopes: [{ provider: 'azure', scope: SUB, status: 'ok' }], ...m };
}

describe('Azure path semantics (subnet NSG, NIC NSG, public IP SKU)', () => {
  it.each(cases)('$name', (c) => {
    const { results, instances } = evaluate(inventoryOf(c), [resolveSource(c.source ?? 'internet')], 3389);
    const r = results[0];
    expect(r.verdict, JSON.stringify(r.reasons, null, 1)).toBe(c.expect);
    for (const d of c.deciding ?? []) expect(r.reasons, JSON.stringify(r.reasons, null, 1)).toContainEqual(expect.objectContaining(d));
    if (c.allowed) expect(r.allowedRanges).toEqual(c.allowed);
    if (c.expect === 'blocked') expect(r.allowedRanges).toEqual([]);
    if (c.access) expect(instances[0].access).toBe(c.access);
    if (c.gateway) expect(instances[0].gateway).toBe(c.gateway);
  });

  it('maps the VM: name, ARM id, region, power state, OS', () => {
    const inv = inventoryOf({ name: 'x', expect: 'blocked', nic: nic({ pips: STD }), pips: STD });
    expect(inv.instances[0]).toMatchObject({ provider: 'azure', scope: SUB, name: 'vm-win', location: 'westeurope', state: 'PowerState/running', os: 'windows' });
    expect(inv.instances[0].nics[0]).toMatchObject({ externalIPv4: '20.1.2.3', internalIPv4: '10.1.1.4', subnet: 'snet-app' });
  });
});
