// The demo organisation "acme" on Azure, as ARM returns it (served by the fake ARM server).
//   acme-az-prod: vnet-app with a web subnet whose NSG denies RDP from the internet (the NIC's NSG allows it),
//                 an app subnet without a subnet NSG, a Bastion; Standard and Basic public IPs; a `*` rule; a port
//                 range; a deallocated VM with a static address.
//   acme-az-dev:  the credential may not read NSGs (AuthorizationFailed): verdicts that depend on them are unknown.
import type { AzureWorld } from '../fakes/azure/server.js';
import { bastion, nic, nicId, nsg, nsgId, publicIp, publicIpId, subnetId, vm, vnet, vnetId } from '../fakes/azure/fixtures.js';
import { OFFICE } from './gcp-world.js';

export const AZ_PROD = 'a1c3e000-0000-4000-8000-000000000001';
export const AZ_DEV = 'a1c3e000-0000-4000-8000-000000000002';
export const AZ_TOKEN = 'demo-arm-token-not-a-secret';

export function azureDemoWorld(): AzureWorld {
  const S = AZ_PROD;
  const rg = 'rg-app';
  const net = vnetId(S, rg, 'vnet-app');
  const web = subnetId(net, 'snet-web');
  const app = subnetId(net, 'snet-app');
  const bas = subnetId(net, 'AzureBastionSubnet');
  const stack = (name: string, o: { subnet: string; ip: string; pip?: { address: string; sku?: 'Standard' | 'Basic' }; nsg?: string; os?: 'windows' | 'linux'; power?: 'running' | 'deallocated' }) => {
    const n = nic({ sub: S, rg, name: `${name}-nic`, ipConfigs: [{ subnetId: o.subnet, privateIPAddress: o.ip, ...(o.pip ? { publicIpId: publicIpId(S, rg, `${name}-pip`) } : {}) }], ...(o.nsg ? { nsgId: nsgId(S, rg, o.nsg) } : {}) });
    const v = vm({ sub: S, rg, name, nicIds: [nicId(S, rg, `${name}-nic`)], os: o.os ?? 'windows', powerState: o.power ?? 'running' });
    const p = o.pip ? [publicIp({ sub: S, rg, name: `${name}-pip`, ipAddress: o.pip.address, sku: o.pip.sku ?? 'Standard' })] : [];
    return { vms: [v], nics: [n], pips: p };
  };
  const stacks = [
    stack('az-win-web-01', { subnet: web, ip: '10.40.1.4', pip: { address: '20.50.1.11' }, nsg: 'nsg-nic-rdp' }),
    stack('az-win-app-01', { subnet: app, ip: '10.40.2.4', pip: { address: '20.50.1.12' }, nsg: 'nsg-nic-rdp' }),
    stack('az-win-any-01', { subnet: app, ip: '10.40.2.5', pip: { address: '20.50.1.13' }, nsg: 'nsg-nic-any' }),
    stack('az-win-range-01', { subnet: app, ip: '10.40.2.6', pip: { address: '20.50.1.14' }, nsg: 'nsg-nic-range' }),
    stack('az-win-std-01', { subnet: app, ip: '10.40.2.7', pip: { address: '20.50.1.15' } }),
    stack('az-win-basic-01', { subnet: app, ip: '10.40.2.8', pip: { address: '20.50.1.16', sku: 'Basic' } }),
    stack('az-win-bastion-01', { subnet: app, ip: '10.40.2.9', nsg: 'nsg-nic-bastion' }),
    stack('az-win-office-01', { subnet: app, ip: '10.40.2.10', pip: { address: '20.50.1.18' }, nsg: 'nsg-nic-office' }),
    stack('az-win-dealloc-01', { subnet: app, ip: '10.40.2.11', pip: { address: '20.50.1.19' }, nsg: 'nsg-nic-rdp', power: 'deallocated' }),
    stack('az-lin-app-01', { subnet: app, ip: '10.40.2.12', nsg: 'nsg-nic-bastion', os: 'linux' }),
  ];
  const devNet = vnetId(AZ_DEV, 'rg-dev', 'vnet-dev');
  const devNic = nic({ sub: AZ_DEV, rg: 'rg-dev', name: 'az-win-dev-01-nic', ipConfigs: [{ subnetId: subnetId(devNet, 'default'), privateIPAddress: '10.50.0.4', publicIpId: publicIpId(AZ_DEV, 'rg-dev', 'az-win-dev-01-pip') }], nsgId: nsgId(AZ_DEV, 'rg-dev', 'nsg-dev') });
  return {
    subscriptions: {
      [S]: {
        displayName: 'acme-az-prod',
        virtualMachines: stacks.flatMap((s) => s.vms),
        networkInterfaces: stacks.flatMap((s) => s.nics),
        publicIPAddresses: [...stacks.flatMap((s) => s.pips), publicIp({ sub: S, rg, name: 'bas-app-pip', ipAddress: '20.50.1.99' })],
        virtualNetworks: [
          vnet({
            sub: S,
            rg,
            name: 'vnet-app',
            addressPrefixes: ['10.40.0.0/16'],
            subnets: [
              { name: 'snet-web', addressPrefix: '10.40.1.0/24', nsgId: nsgId(S, rg, 'nsg-snet-web') },
              { name: 'snet-app', addressPrefix: '10.40.2.0/24' },
              { name: 'AzureBastionSubnet', addressPrefix: '10.40.255.0/26' },
            ],
          }),
        ],
        networkSecurityGroups: [
          nsg({ sub: S, rg, name: 'nsg-snet-web', rules: [{ name: 'DenyRdpFromInternet', priority: 200, access: 'Deny', source: 'Internet', ports: '3389' }] }),
          nsg({ sub: S, rg, name: 'nsg-nic-rdp', rules: [{ name: 'AllowRdpFromInternet', priority: 300, source: 'Internet', ports: '3389' }] }),
          nsg({ sub: S, rg, name: 'nsg-nic-any', rules: [{ name: 'AllowAnyAny', priority: 310, protocol: '*', source: '*', ports: '*' }] }),
          nsg({ sub: S, rg, name: 'nsg-nic-range', rules: [{ name: 'AllowRemoteRange', priority: 320, source: '0.0.0.0/0', ports: '3380-3390' }] }),
          nsg({ sub: S, rg, name: 'nsg-nic-bastion', rules: [{ name: 'AllowRdpFromBastion', priority: 300, source: '10.40.255.0/26', ports: '3389' }] }),
          nsg({ sub: S, rg, name: 'nsg-nic-office', rules: [{ name: 'AllowRdpFromOffice', priority: 300, source: [OFFICE], ports: ['22', '3389'] }] }),
          // Associated with no subnet and no NIC: judged on its own rules (world-open, and unused).
          nsg({ sub: S, rg, name: 'nsg-old-rdp', rules: [{ name: 'AllowRdpFromAnywhere', priority: 100, source: '*', ports: '3389' }] }),
        ],
        bastionHosts: [bastion({ sub: S, rg, name: 'bas-app', subnetId: bas, publicIpId: publicIpId(S, rg, 'bas-app-pip') })],
      },
      [AZ_DEV]: {
        displayName: 'acme-az-dev',
        virtualMachines: [vm({ sub: AZ_DEV, rg: 'rg-dev', name: 'az-win-dev-01', nicIds: [nicId(AZ_DEV, 'rg-dev', 'az-win-dev-01-nic')] })],
        networkInterfaces: [devNic],
        publicIPAddresses: [publicIp({ sub: AZ_DEV, rg: 'rg-dev', name: 'az-win-dev-01-pip', ipAddress: '20.60.1.11' })],
        virtualNetworks: [vnet({ sub: AZ_DEV, rg: 'rg-dev', name: 'vnet-dev', addressPrefixes: ['10.50.0.0/16'], subnets: [{ name: 'default', addressPrefix: '10.50.0.0/24' }] })],
        networkSecurityGroups: [nsg({ sub: AZ_DEV, rg: 'rg-dev', name: 'nsg-dev', rules: [{ name: 'AllowRdpFromInternet', priority: 300, source: 'Internet', ports: '3389' }] })],
        opErrors: { 'network.networkSecurityGroups.listAll': 'authorizationFailed' },
      },
    },
  };
}
