/**
 * Builders for raw ARM JSON, shaped like what the ARM REST API returns (and `az ... show` prints):
 * `{ id, name, type, location, etag?, tags?, sku?, zones?, properties: {...} }`. Everything is plain JSON;
 * `extra` is merged over the result (top level; `extra.properties` is merged into `properties`).
 *
 * GUIDs / etags are derived from the resource id, so a fixture is the same on every run.
 */
import { defaultSecurityRules, stableGuid } from './server.js';

export { defaultSecurityRules };

// ------------------------------------------------------------------------------------------------
// Ids
// ------------------------------------------------------------------------------------------------

/** '/subscriptions/{sub}/resourceGroups/{rg}/providers/{type}/{name}[/{childType}/{childName}...]' */
export function resourceId(sub: string, rg: string, type: string, name: string, ...children: string[]): string {
  return `/subscriptions/${sub}/resourceGroups/${rg}/providers/${type}/${name}${children.length ? `/${children.join('/')}` : ''}`;
}

export const vmId = (sub: string, rg: string, name: string) => resourceId(sub, rg, 'Microsoft.Compute/virtualMachines', name);
export const nicId = (sub: string, rg: string, name: string) => resourceId(sub, rg, 'Microsoft.Network/networkInterfaces', name);
export const publicIpId = (sub: string, rg: string, name: string) => resourceId(sub, rg, 'Microsoft.Network/publicIPAddresses', name);
export const nsgId = (sub: string, rg: string, name: string) => resourceId(sub, rg, 'Microsoft.Network/networkSecurityGroups', name);
export const vnetId = (sub: string, rg: string, name: string) => resourceId(sub, rg, 'Microsoft.Network/virtualNetworks', name);
export const asgId = (sub: string, rg: string, name: string) => resourceId(sub, rg, 'Microsoft.Network/applicationSecurityGroups', name);
export const bastionId = (sub: string, rg: string, name: string) => resourceId(sub, rg, 'Microsoft.Network/bastionHosts', name);
export const subnetId = (vnet: string, name: string) => `${vnet}/subnets/${name}`;
export const ipConfigId = (nic: string, name = 'ipconfig1') => `${nic}/ipConfigurations/${name}`;

/** Parses an ARM id: { subscription, resourceGroup, provider, type, name }. */
export function parseId(id: string): { subscription: string; resourceGroup: string; provider: string; type: string; name: string } {
  const m = /^\/subscriptions\/([^/]+)\/resourceGroups\/([^/]+)\/providers\/([^/]+)\/([^/]+)\/([^/]+)/i.exec(id);
  if (!m) throw new Error(`not an ARM resource id: ${id}`);
  return { subscription: m[1]!, resourceGroup: m[2]!, provider: m[3]!, type: m[4]!, name: m[5]! };
}

const etag = (id: string) => `W/"${stableGuid(`etag:${id}`)}"`;

function merge(base: any, extra: Record<string, any> | undefined): any {
  if (!extra) return base;
  const { properties, ...rest } = extra;
  const out = { ...base, ...rest };
  if (properties) out.properties = { ...(base.properties ?? {}), ...properties };
  return out;
}

// ------------------------------------------------------------------------------------------------
// Virtual machines
// ------------------------------------------------------------------------------------------------

export type PowerState = 'running' | 'deallocated' | 'stopped' | 'starting' | 'stopping' | 'deallocating' | 'unknown';

const POWER_DISPLAY: Record<PowerState, string> = {
  running: 'VM running',
  deallocated: 'VM deallocated',
  stopped: 'VM stopped',
  starting: 'VM starting',
  stopping: 'VM stopping',
  deallocating: 'VM deallocating',
  unknown: 'VM status unknown',
};

/** `properties.instanceView` as the VM instanceView API returns it (what listAll?statusOnly=true carries). */
export function instanceView(powerState: PowerState, o: { computerName?: string; windows?: boolean } = {}): any {
  const iv: any = {};
  if (powerState === 'running' && o.computerName) {
    iv.computerName = o.computerName;
    iv.osName = o.windows ? 'Windows Server 2022 Datacenter Azure Edition' : 'ubuntu';
    iv.osVersion = o.windows ? 'Microsoft Windows NT 10.0.20348.0' : '22.04';
    iv.vmAgent = {
      vmAgentVersion: o.windows ? '2.7.41491.1102' : '2.9.1.1',
      statuses: [{ code: 'ProvisioningState/succeeded', level: 'Info', displayStatus: 'Ready', message: 'GuestAgent is running and processing the extensions.', time: '2025-01-01T00:00:00+00:00' }],
    };
  }
  iv.hyperVGeneration = 'V2';
  iv.statuses = [
    { code: 'ProvisioningState/succeeded', level: 'Info', displayStatus: 'Provisioning succeeded', time: '2025-01-01T00:00:00.0000000+00:00' },
    { code: `PowerState/${powerState}`, level: 'Info', displayStatus: POWER_DISPLAY[powerState] },
  ];
  return iv;
}

export interface ImageRef {
  publisher: string;
  offer: string;
  sku: string;
  version: string;
}

export const IMAGES = {
  windows2022: { publisher: 'MicrosoftWindowsServer', offer: 'WindowsServer', sku: '2022-datacenter-azure-edition', version: 'latest' },
  windows2019: { publisher: 'MicrosoftWindowsServer', offer: 'WindowsServer', sku: '2019-datacenter-gensecond', version: 'latest' },
  windows11: { publisher: 'MicrosoftWindowsDesktop', offer: 'windows-11', sku: 'win11-23h2-pro', version: 'latest' },
  ubuntu2204: { publisher: 'Canonical', offer: '0001-com-ubuntu-server-jammy', sku: '22_04-lts-gen2', version: 'latest' },
} satisfies Record<string, ImageRef>;

export interface VmOpts {
  sub: string;
  rg: string;
  name: string;
  location?: string;
  /** NIC ids; the first is primary. */
  nicIds: string[];
  /** Default 'windows'. Sets osProfile.windowsConfiguration / linuxConfiguration and storageProfile.osDisk.osType. */
  os?: 'windows' | 'linux';
  /** Default by os (windows2022 / ubuntu2204); `null` = a VM from a custom/specialized disk (no imageReference, no osProfile). */
  image?: ImageRef | keyof typeof IMAGES | null;
  /** Stored as properties.instanceView (served only by statusOnly / $expand=instanceView / .../instanceView). Default 'running'. */
  powerState?: PowerState;
  vmSize?: string;
  tags?: Record<string, string>;
  zones?: string[];
  extra?: Record<string, any>;
}

export function vm(o: VmOpts): any {
  const id = vmId(o.sub, o.rg, o.name);
  const os = o.os ?? 'windows';
  const windows = os === 'windows';
  const image = o.image === null ? null : typeof o.image === 'string' ? IMAGES[o.image] : (o.image ?? (windows ? IMAGES.windows2022 : IMAGES.ubuntu2204));
  const osDiskName = `${o.name}_OsDisk_1_${stableGuid(`disk:${id}`).replace(/-/g, '')}`;
  const storageProfile: any = {
    ...(image ? { imageReference: { ...image, exactVersion: windows ? '20348.2849.241109' : '22.04.202501010' } } : {}),
    osDisk: {
      osType: windows ? 'Windows' : 'Linux',
      name: osDiskName,
      createOption: image ? 'FromImage' : 'Attach',
      caching: 'ReadWrite',
      managedDisk: {
        storageAccountType: 'Premium_LRS',
        id: resourceId(o.sub, o.rg.toUpperCase(), 'Microsoft.Compute/disks', osDiskName),
      },
      deleteOption: 'Delete',
      diskSizeGB: windows ? 127 : 30,
    },
    dataDisks: [],
    diskControllerType: 'SCSI',
  };
  const osProfile: any = image
    ? {
        computerName: o.name.slice(0, 15),
        adminUsername: 'azureuser',
        ...(windows
          ? {
              windowsConfiguration: {
                provisionVMAgent: true,
                enableAutomaticUpdates: true,
                patchSettings: { patchMode: 'AutomaticByOS', assessmentMode: 'ImageDefault', enableHotpatching: false },
                enableVMAgentPlatformUpdates: false,
              },
            }
          : {
              linuxConfiguration: {
                disablePasswordAuthentication: true,
                ssh: { publicKeys: [{ path: '/home/azureuser/.ssh/authorized_keys', keyData: 'ssh-rsa AAAAB3NzaC1yc2EAAAADAQABAAABAQC0fake' }] },
                provisionVMAgent: true,
                patchSettings: { patchMode: 'ImageDefault', assessmentMode: 'ImageDefault' },
                enableVMAgentPlatformUpdates: false,
              },
            }),
        secrets: [],
        allowExtensionOperations: true,
        requireGuestProvisionSignal: true,
      }
    : undefined;
  const base: any = {
    name: o.name,
    id,
    type: 'Microsoft.Compute/virtualMachines',
    location: o.location ?? 'westeurope',
    ...(o.tags ? { tags: o.tags } : {}),
    ...(o.zones ? { zones: o.zones } : {}),
    etag: '"1"',
    properties: {
      vmId: stableGuid(`vm:${id}`),
      hardwareProfile: { vmSize: o.vmSize ?? (windows ? 'Standard_D2s_v5' : 'Standard_B2s') },
      additionalCapabilities: { hibernationEnabled: false },
      storageProfile,
      ...(osProfile ? { osProfile } : {}),
      securityProfile: { uefiSettings: { secureBootEnabled: true, vTpmEnabled: true }, securityType: 'TrustedLaunch' },
      networkProfile: {
        networkInterfaces: o.nicIds.map((n, i) => ({ id: n, properties: { primary: i === 0, deleteOption: 'Detach' } })),
      },
      diagnosticsProfile: { bootDiagnostics: { enabled: true } },
      ...(windows ? { licenseType: 'Windows_Server' } : {}),
      provisioningState: 'Succeeded',
      timeCreated: '2025-01-01T00:00:00.0000000+00:00',
      instanceView: instanceView(o.powerState ?? 'running', { computerName: o.name.slice(0, 15), windows }),
    },
  };
  return merge(base, o.extra);
}

// ------------------------------------------------------------------------------------------------
// Network interfaces
// ------------------------------------------------------------------------------------------------

export interface IpConfigOpts {
  /** Default 'ipconfig1' (then ipconfig2, ...). */
  name?: string;
  subnetId: string;
  privateIPAddress?: string;
  /** Default 'IPv4'. */
  privateIPAddressVersion?: 'IPv4' | 'IPv6';
  publicIpId?: string;
  asgIds?: string[];
  /** Default: true for the first. */
  primary?: boolean;
  /** Load balancer backends / inbound NAT rules (other inbound paths). */
  loadBalancerBackendAddressPoolIds?: string[];
  loadBalancerInboundNatRuleIds?: string[];
}

export interface NicOpts {
  sub: string;
  rg: string;
  name: string;
  location?: string;
  ipConfigs: IpConfigOpts[];
  /** NIC-level NSG. */
  nsgId?: string;
  /** The VM back-reference (properties.virtualMachine). The server also fills it from VMs that list this NIC. */
  vmId?: string;
  acceleratedNetworking?: boolean;
  extra?: Record<string, any>;
}

export function nic(o: NicOpts): any {
  const id = nicId(o.sub, o.rg, o.name);
  const guid = stableGuid(`guid:${id}`);
  const h = guid.slice(-12).toUpperCase();
  const mac = `${h.slice(0, 2)}-${h.slice(2, 4)}-${h.slice(4, 6)}-${h.slice(6, 8)}-${h.slice(8, 10)}-${h.slice(10, 12)}`;
  const tag = etag(id); // ARM gives child resources (ipConfigurations) the parent's etag
  const base: any = {
    name: o.name,
    id,
    etag: tag,
    type: 'Microsoft.Network/networkInterfaces',
    location: o.location ?? 'westeurope',
    kind: 'Regular',
    properties: {
      provisioningState: 'Succeeded',
      resourceGuid: guid,
      ipConfigurations: o.ipConfigs.map((c, i) => {
        const name = c.name ?? `ipconfig${i + 1}`;
        const cid = ipConfigId(id, name);
        const p: any = {
          provisioningState: 'Succeeded',
          privateIPAddress: c.privateIPAddress ?? `10.0.0.${4 + i}`,
          privateIPAllocationMethod: 'Dynamic',
          ...(c.publicIpId ? { publicIPAddress: { id: c.publicIpId } } : {}),
          subnet: { id: c.subnetId },
          primary: c.primary ?? i === 0,
          privateIPAddressVersion: c.privateIPAddressVersion ?? 'IPv4',
        };
        if (c.asgIds) p.applicationSecurityGroups = c.asgIds.map((a) => ({ id: a }));
        if (c.loadBalancerBackendAddressPoolIds) p.loadBalancerBackendAddressPools = c.loadBalancerBackendAddressPoolIds.map((a) => ({ id: a }));
        if (c.loadBalancerInboundNatRuleIds) p.loadBalancerInboundNatRules = c.loadBalancerInboundNatRuleIds.map((a) => ({ id: a }));
        return { name, id: cid, etag: tag, type: 'Microsoft.Network/networkInterfaces/ipConfigurations', properties: p };
      }),
      dnsSettings: { dnsServers: [], appliedDnsServers: [], internalDomainNameSuffix: 'fake0000.ax.internal.cloudapp.net' },
      macAddress: mac,
      vnetEncryptionSupported: false,
      enableIPForwarding: false,
      disableTcpStateTracking: false,
      enableAcceleratedNetworking: o.acceleratedNetworking ?? false,
      ...(o.nsgId ? { networkSecurityGroup: { id: o.nsgId } } : {}),
      primary: true,
      ...(o.vmId ? { virtualMachine: { id: o.vmId } } : {}),
      hostedWorkloads: [],
      tapConfigurations: [],
      nicType: 'Standard',
      allowPort25Out: false,
      auxiliaryMode: 'None',
      auxiliarySku: 'None',
    },
  };
  return merge(base, o.extra);
}

// ------------------------------------------------------------------------------------------------
// Public IPs
// ------------------------------------------------------------------------------------------------

export interface PublicIpOpts {
  sub: string;
  rg: string;
  name: string;
  location?: string;
  /** Default 'Standard'. */
  sku?: 'Standard' | 'Basic';
  /** Default 'IPv4'. */
  version?: 'IPv4' | 'IPv6';
  /** Omit for a dynamic IP that has no address (e.g. Basic dynamic on a deallocated VM). */
  ipAddress?: string;
  /** Default: Static for Standard, Dynamic for Basic. */
  allocation?: 'Static' | 'Dynamic';
  /** The ipConfiguration back-reference; the server fills it from NICs / bastions that use this IP. */
  ipConfigId?: string;
  zones?: string[];
  dnsLabel?: string;
  extra?: Record<string, any>;
}

export function publicIp(o: PublicIpOpts): any {
  const id = publicIpId(o.sub, o.rg, o.name);
  const sku = o.sku ?? 'Standard';
  const location = o.location ?? 'westeurope';
  const base: any = {
    name: o.name,
    id,
    etag: etag(id),
    location,
    ...(o.zones ? { zones: o.zones } : {}),
    properties: {
      provisioningState: 'Succeeded',
      resourceGuid: stableGuid(`guid:${id}`),
      ...(o.ipAddress ? { ipAddress: o.ipAddress } : {}),
      publicIPAddressVersion: o.version ?? 'IPv4',
      publicIPAllocationMethod: o.allocation ?? (sku === 'Standard' ? 'Static' : 'Dynamic'),
      idleTimeoutInMinutes: 4,
      ...(o.dnsLabel ? { dnsSettings: { domainNameLabel: o.dnsLabel, fqdn: `${o.dnsLabel}.${location}.cloudapp.azure.com` } } : {}),
      ipTags: [],
      ...(o.ipConfigId ? { ipConfiguration: { id: o.ipConfigId } } : {}),
      ...(sku === 'Standard' ? { ddosSettings: { protectionMode: 'VirtualNetworkInherited' } } : {}),
    },
    type: 'Microsoft.Network/publicIPAddresses',
    sku: { name: sku, tier: 'Regional' },
  };
  return merge(base, o.extra);
}

// ------------------------------------------------------------------------------------------------
// NSGs
// ------------------------------------------------------------------------------------------------

export interface RuleOpts {
  name: string;
  priority: number;
  /** Default 'Inbound'. */
  direction?: 'Inbound' | 'Outbound';
  /** Default 'Allow'. */
  access?: 'Allow' | 'Deny';
  /** Default 'Tcp'. */
  protocol?: '*' | 'Tcp' | 'Udp' | 'Icmp' | 'Esp' | 'Ah';
  /** A single value -> sourceAddressPrefix; an array -> sourceAddressPrefixes. Default '*'. (Ignored with sourceAsgIds.) */
  source?: string | string[];
  sourceAsgIds?: string[];
  /** A single value -> destinationAddressPrefix; an array -> destinationAddressPrefixes. Default '*'. */
  destination?: string | string[];
  destinationAsgIds?: string[];
  /** Destination ports: a single value -> destinationPortRange ('3389', '3380-3390', '*'); an array -> destinationPortRanges. */
  ports?: string | string[];
  /** Source ports, same rules. Default '*'. */
  sourcePorts?: string | string[];
  description?: string;
}

export function securityRule(nsg: string, r: RuleOpts): any {
  const id = `${nsg}/securityRules/${r.name}`;
  const single = (v: string | string[] | undefined, dflt: string) => (Array.isArray(v) ? undefined : (v ?? dflt));
  const multi = (v: string | string[] | undefined) => (Array.isArray(v) ? v : []);
  const p: any = {
    provisioningState: 'Succeeded',
    ...(r.description ? { description: r.description } : {}),
    protocol: r.protocol ?? 'Tcp',
  };
  const sp = single(r.sourcePorts, '*');
  if (sp !== undefined) p.sourcePortRange = sp;
  const dp = single(r.ports, '*');
  if (dp !== undefined) p.destinationPortRange = dp;
  if (r.sourceAsgIds) p.sourceApplicationSecurityGroups = r.sourceAsgIds.map((a) => ({ id: a }));
  else {
    const s = single(r.source, '*');
    if (s !== undefined) p.sourceAddressPrefix = s;
  }
  if (r.destinationAsgIds) p.destinationApplicationSecurityGroups = r.destinationAsgIds.map((a) => ({ id: a }));
  else {
    const d = single(r.destination, '*');
    if (d !== undefined) p.destinationAddressPrefix = d;
  }
  p.access = r.access ?? 'Allow';
  p.priority = r.priority;
  p.direction = r.direction ?? 'Inbound';
  p.sourcePortRanges = multi(r.sourcePorts);
  p.destinationPortRanges = multi(r.ports);
  p.sourceAddressPrefixes = r.sourceAsgIds ? [] : multi(r.source);
  p.destinationAddressPrefixes = r.destinationAsgIds ? [] : multi(r.destination);
  return { name: r.name, id, etag: etag(nsg), type: 'Microsoft.Network/networkSecurityGroups/securityRules', properties: p };
}

export interface NsgOpts {
  sub: string;
  rg: string;
  name: string;
  location?: string;
  rules?: RuleOpts[];
  /**
   * Default false: leave `defaultSecurityRules` out and let the server fill in the six defaults (as ARM always
   * returns them). true: write them into the fixture.
   */
  withDefaults?: boolean;
  extra?: Record<string, any>;
}

export function nsg(o: NsgOpts): any {
  const id = nsgId(o.sub, o.rg, o.name);
  const base: any = {
    name: o.name,
    id,
    etag: etag(id),
    type: 'Microsoft.Network/networkSecurityGroups',
    location: o.location ?? 'westeurope',
    properties: {
      provisioningState: 'Succeeded',
      resourceGuid: stableGuid(`guid:${id}`),
      securityRules: (o.rules ?? []).map((r) => securityRule(id, r)),
      ...(o.withDefaults ? { defaultSecurityRules: defaultSecurityRules(id) } : {}),
    },
  };
  return merge(base, o.extra);
}

// ------------------------------------------------------------------------------------------------
// VNets, ASGs, Bastion
// ------------------------------------------------------------------------------------------------

export interface SubnetOpts {
  name: string;
  /** One of addressPrefix / addressPrefixes (newer subnets may carry the list form). */
  addressPrefix?: string;
  addressPrefixes?: string[];
  nsgId?: string;
  extra?: Record<string, any>;
}

export interface VnetOpts {
  sub: string;
  rg: string;
  name: string;
  location?: string;
  addressPrefixes: string[];
  subnets: SubnetOpts[];
  extra?: Record<string, any>;
}

export function vnet(o: VnetOpts): any {
  const id = vnetId(o.sub, o.rg, o.name);
  const base: any = {
    name: o.name,
    id,
    etag: etag(id),
    type: 'Microsoft.Network/virtualNetworks',
    location: o.location ?? 'westeurope',
    properties: {
      provisioningState: 'Succeeded',
      resourceGuid: stableGuid(`guid:${id}`),
      addressSpace: { addressPrefixes: o.addressPrefixes },
      privateEndpointVNetPolicies: 'Disabled',
      subnets: o.subnets.map((s) =>
        merge(
          {
            name: s.name,
            id: subnetId(id, s.name),
            etag: etag(id),
            properties: {
              provisioningState: 'Succeeded',
              ...(s.addressPrefixes ? { addressPrefixes: s.addressPrefixes } : { addressPrefix: s.addressPrefix ?? o.addressPrefixes[0] }),
              ...(s.nsgId ? { networkSecurityGroup: { id: s.nsgId } } : {}),
              delegations: [],
              privateEndpointNetworkPolicies: 'Disabled',
              privateLinkServiceNetworkPolicies: 'Enabled',
            },
            type: 'Microsoft.Network/virtualNetworks/subnets',
          },
          s.extra,
        ),
      ),
      virtualNetworkPeerings: [],
      enableDdosProtection: false,
    },
  };
  return merge(base, o.extra);
}

export function asg(o: { sub: string; rg: string; name: string; location?: string; extra?: Record<string, any> }): any {
  const id = asgId(o.sub, o.rg, o.name);
  return merge(
    {
      name: o.name,
      id,
      etag: etag(id),
      type: 'Microsoft.Network/applicationSecurityGroups',
      location: o.location ?? 'westeurope',
      properties: { resourceGuid: stableGuid(`guid:${id}`), provisioningState: 'Succeeded' },
    },
    o.extra,
  );
}

export interface BastionOpts {
  sub: string;
  rg: string;
  name: string;
  location?: string;
  /** Must be a subnet named AzureBastionSubnet. */
  subnetId: string;
  publicIpId?: string;
  /** Default 'Standard'. */
  sku?: 'Developer' | 'Basic' | 'Standard' | 'Premium';
  extra?: Record<string, any>;
}

export function bastion(o: BastionOpts): any {
  const id = bastionId(o.sub, o.rg, o.name);
  return merge(
    {
      name: o.name,
      id,
      etag: etag(id),
      type: 'Microsoft.Network/bastionHosts',
      location: o.location ?? 'westeurope',
      sku: { name: o.sku ?? 'Standard' },
      properties: {
        provisioningState: 'Succeeded',
        dnsName: `bst-${stableGuid(`dns:${id}`)}.bastion.azure.com`,
        scaleUnits: 2,
        ipConfigurations: [
          {
            name: 'IpConf',
            id: `${id}/bastionHostIpConfigurations/IpConf`,
            etag: etag(id),
            type: 'Microsoft.Network/bastionHosts/bastionHostIpConfigurations',
            properties: {
              provisioningState: 'Succeeded',
              privateIPAllocationMethod: 'Dynamic',
              ...(o.publicIpId ? { publicIPAddress: { id: o.publicIpId } } : {}),
              subnet: { id: o.subnetId },
            },
          },
        ],
        disableCopyPaste: false,
        enableFileCopy: false,
        enableIpConnect: false,
        enableShareableLink: false,
        enableTunneling: false,
        enableKerberos: false,
        enableSessionRecording: false,
      },
    },
    o.extra,
  );
}

// ------------------------------------------------------------------------------------------------
// Composite: a VM with its NIC (and optional public IP), for bulk worlds
// ------------------------------------------------------------------------------------------------

export interface VmStackOpts {
  sub: string;
  rg: string;
  name: string;
  location?: string;
  subnetId: string;
  privateIPAddress?: string;
  /** Public IP address; omit for none. */
  publicIp?: string;
  publicIpSku?: 'Standard' | 'Basic';
  nicNsgId?: string;
  asgIds?: string[];
  os?: 'windows' | 'linux';
  powerState?: PowerState;
}

/** A VM + NIC `${name}-nic` (+ public IP `${name}-ip`), consistent ids both ways. */
export function vmStack(o: VmStackOpts): { vm: any; nic: any; publicIp?: any } {
  const nId = nicId(o.sub, o.rg, `${o.name}-nic`);
  const pip = o.publicIp
    ? publicIp({ sub: o.sub, rg: o.rg, name: `${o.name}-ip`, location: o.location, sku: o.publicIpSku, ipAddress: o.publicIp, ipConfigId: ipConfigId(nId) })
    : undefined;
  const n = nic({
    sub: o.sub,
    rg: o.rg,
    name: `${o.name}-nic`,
    location: o.location,
    ipConfigs: [{ subnetId: o.subnetId, privateIPAddress: o.privateIPAddress, publicIpId: pip?.id, asgIds: o.asgIds }],
    nsgId: o.nicNsgId,
    vmId: vmId(o.sub, o.rg, o.name),
  });
  const v = vm({ sub: o.sub, rg: o.rg, name: o.name, location: o.location, nicIds: [nId], os: o.os, powerState: o.powerState });
  return pip ? { vm: v, nic: n, publicIp: pip } : { vm: v, nic: n };
}
