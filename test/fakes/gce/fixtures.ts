/**
 * Small builders for raw GCE JSON, shaped like what the compute/v1 REST API returns.
 * Everything is plain JSON; spread `extra` to override any field.
 */
export const COMPUTE = 'https://www.googleapis.com/compute/v1';

export const networkUrl = (project: string, network = 'default') => `${COMPUTE}/projects/${project}/global/networks/${network}`;
export const zoneUrl = (project: string, zone: string) => `${COMPUTE}/projects/${project}/zones/${zone}`;

let nextId = 1000;
const id = () => String(nextId++);

export interface InstanceOpts {
  project: string;
  zone: string;
  name: string;
  network?: string;
  /** External IPv4 (ONE_TO_ONE_NAT natIP); omit for none. */
  natIP?: string;
  /** External IPv6 (DIRECT_IPV6); omit for none. */
  externalIpv6?: string;
  tags?: string[];
  serviceAccount?: string;
  status?: string;
  windows?: boolean;
  /** A Debian boot disk (license debian-cloud/debian-12-bookworm). */
  linux?: boolean;
  /** Internal IPv4 (networkIP); default 10.128.0.2. */
  networkIP?: string;
  extra?: Record<string, any>;
}

export function instance(o: InstanceOpts): any {
  const network = o.network ?? 'default';
  const region = o.zone.replace(/-[a-z]$/, '');
  const nic: any = {
    kind: 'compute#networkInterface',
    name: 'nic0',
    network: networkUrl(o.project, network),
    subnetwork: `${COMPUTE}/projects/${o.project}/regions/${region}/subnetworks/${network}`,
    networkIP: o.networkIP ?? '10.128.0.2',
    stackType: o.externalIpv6 ? 'IPV4_IPV6' : 'IPV4_ONLY',
    fingerprint: 'nicfp=',
  };
  if (o.natIP) {
    nic.accessConfigs = [
      { kind: 'compute#accessConfig', type: 'ONE_TO_ONE_NAT', name: 'External NAT', natIP: o.natIP, networkTier: 'PREMIUM' },
    ];
  }
  if (o.externalIpv6) {
    nic.ipv6AccessType = 'EXTERNAL';
    nic.ipv6AccessConfigs = [
      {
        kind: 'compute#accessConfig',
        type: 'DIRECT_IPV6',
        name: 'External IPv6',
        externalIpv6: o.externalIpv6,
        externalIpv6PrefixLength: 96,
        networkTier: 'PREMIUM',
      },
    ];
  }
  const inst: any = {
    kind: 'compute#instance',
    id: id(),
    creationTimestamp: '2024-03-30T14:07:00.699-07:00',
    name: o.name,
    machineType: `${zoneUrl(o.project, o.zone)}/machineTypes/e2-medium`,
    status: o.status ?? 'RUNNING',
    zone: zoneUrl(o.project, o.zone),
    networkInterfaces: [nic],
    disks: [
      {
        kind: 'compute#attachedDisk',
        type: 'PERSISTENT',
        mode: 'READ_WRITE',
        deviceName: 'persistent-disk-0',
        index: 0,
        boot: true,
        autoDelete: true,
        ...(o.windows ? { guestOsFeatures: [{ type: 'WINDOWS' }], licenses: [`${COMPUTE}/projects/windows-cloud/global/licenses/windows-server-2022-dc`] } : {}),
        ...(o.linux ? { guestOsFeatures: [{ type: 'UEFI_COMPATIBLE' }, { type: 'VIRTIO_SCSI_MULTIQUEUE' }], licenses: [`${COMPUTE}/projects/debian-cloud/global/licenses/debian-12-bookworm`] } : {}),
      },
    ],
    tags: o.tags ? { items: o.tags, fingerprint: 'tagfp=' } : { fingerprint: 'tagfp=' },
    selfLink: `${zoneUrl(o.project, o.zone)}/instances/${o.name}`,
  };
  if (o.serviceAccount) inst.serviceAccounts = [{ email: o.serviceAccount, scopes: ['https://www.googleapis.com/auth/cloud-platform'] }];
  return { ...inst, ...(o.extra ?? {}) };
}

export interface FirewallOpts {
  project: string;
  name: string;
  network?: string;
  priority?: number;
  direction?: 'INGRESS' | 'EGRESS';
  sourceRanges?: string[];
  destinationRanges?: string[];
  allowed?: { IPProtocol: string; ports?: string[] }[];
  denied?: { IPProtocol: string; ports?: string[] }[];
  targetTags?: string[];
  targetServiceAccounts?: string[];
  disabled?: boolean;
  extra?: Record<string, any>;
}

export function firewall(o: FirewallOpts): any {
  const f: any = {
    kind: 'compute#firewall',
    id: id(),
    creationTimestamp: '2024-03-30T14:07:00.699-07:00',
    name: o.name,
    network: networkUrl(o.project, o.network ?? 'default'),
    priority: o.priority ?? 1000,
    direction: o.direction ?? 'INGRESS',
    logConfig: { enable: false },
    disabled: o.disabled ?? false,
    selfLink: `${COMPUTE}/projects/${o.project}/global/firewalls/${o.name}`,
  };
  if (o.sourceRanges) f.sourceRanges = o.sourceRanges;
  if (o.destinationRanges) f.destinationRanges = o.destinationRanges;
  if (o.allowed) f.allowed = o.allowed;
  if (o.denied) f.denied = o.denied;
  if (o.targetTags) f.targetTags = o.targetTags;
  if (o.targetServiceAccounts) f.targetServiceAccounts = o.targetServiceAccounts;
  return { ...f, ...(o.extra ?? {}) };
}

export function network(
  project: string,
  name = 'default',
  order?: 'AFTER_CLASSIC_FIREWALL' | 'BEFORE_CLASSIC_FIREWALL',
  extra: Record<string, any> = {},
): any {
  return {
    kind: 'compute#network',
    id: id(),
    creationTimestamp: '2024-03-30T14:07:00.699-07:00',
    name,
    selfLink: networkUrl(project, name),
    selfLinkWithId: `${COMPUTE}/projects/${project}/global/networks/${nextId}`,
    autoCreateSubnetworks: true,
    routingConfig: { routingMode: 'REGIONAL' },
    networkFirewallPolicyEnforcementOrder: order ?? 'AFTER_CLASSIC_FIREWALL',
    ...extra,
  };
}
