/**
 * Small builders for EC2 / SSM / Organizations objects in the SDK's OUTPUT shape (PascalCase, as
 * `aws ec2 describe-*` prints them and as a TS caller reads them from @aws-sdk/client-ec2). The fake
 * server turns them into EC2 XML itself. Spread `extra` to override or add any field.
 */
import type {
  Instance,
  InstanceNetworkInterface,
  InstanceStateName,
  IpPermission,
  NetworkAcl,
  NetworkAclEntry,
  PlatformValues,
  Route,
  RouteTable,
  RouteTableAssociation,
  SecurityGroup,
  Subnet,
  Tag,
  Vpc,
} from '@aws-sdk/client-ec2';
import type { InstanceInformation } from '@aws-sdk/client-ssm';
import type { Account as OrgAccount } from '@aws-sdk/client-organizations';
import type { FakePrefixList } from './server.js';

let counter = 0x1000;
/** A fresh id in the real format: `i-0` + 16 hex digits, `sg-0` + 16, `subnet-0` + 16, ... */
export function awsId(prefix: string): string {
  return `${prefix}-0${(counter++).toString(16).padStart(16, '0')}`;
}

export const tags = (t: Record<string, string>): Tag[] => Object.entries(t).map(([Key, Value]) => ({ Key, Value }));
const regionOfAz = (az: string) => az.replace(/[a-z]$/, '');

const STATE_CODES: Record<InstanceStateName, number> = {
  pending: 0,
  running: 16,
  'shutting-down': 32,
  terminated: 48,
  stopping: 64,
  stopped: 80,
};

/** EC2 sends `windows` (lower case); the SDK's TS type `PlatformValues` only admits `'Windows'`. */
export const WINDOWS_PLATFORM = 'windows' as PlatformValues;

const LAUNCH = new Date('2024-03-01T10:00:00.000Z');

export interface EniOpts {
  id?: string;
  subnetId: string;
  vpcId: string;
  privateIp: string;
  /** Public IPv4 on the primary private IP (auto-assigned: IpOwnerId 'amazon'; `eip: true` -> the account). */
  publicIp?: string;
  eip?: boolean;
  /** Extra private IPs, each optionally with its own public IP (Elastic IP). */
  secondaryIps?: { ip: string; publicIp?: string }[];
  ipv6?: string[];
  groups?: { GroupId?: string; GroupName?: string }[];
  deviceIndex?: number;
  description?: string;
}

function dnsPrivate(ip: string, region: string) {
  return `ip-${ip.replaceAll('.', '-')}.${region === 'us-east-1' ? 'ec2.internal' : `${region}.compute.internal`}`;
}
function dnsPublic(ip: string, region: string) {
  return `ec2-${ip.replaceAll('.', '-')}.${region === 'us-east-1' ? 'compute-1' : `${region}.compute`}.amazonaws.com`;
}

/** One instance network interface (Instance.NetworkInterfaces[]), as DescribeInstances shows it. */
export function instanceEni(account: string, region: string, o: EniOpts): InstanceNetworkInterface {
  const assoc = (publicIp: string, owner: string) => ({
    IpOwnerId: owner,
    PublicDnsName: dnsPublic(publicIp, region),
    PublicIp: publicIp,
  });
  const id = o.id ?? awsId('eni');
  const nic: InstanceNetworkInterface = {
    Attachment: {
      AttachTime: LAUNCH,
      AttachmentId: `eni-attach-0${id.slice(5)}`,
      DeleteOnTermination: true,
      DeviceIndex: o.deviceIndex ?? 0,
      Status: 'attached',
      NetworkCardIndex: 0,
    },
    Description: o.description ?? '',
    Groups: (o.groups ?? []).map((g) => ({ GroupId: g.GroupId, GroupName: g.GroupName })),
    Ipv6Addresses: (o.ipv6 ?? []).map((a) => ({ Ipv6Address: a, IsPrimaryIpv6: false })),
    MacAddress: `02:${id.slice(-10).match(/../g)!.join(':')}`,
    NetworkInterfaceId: id,
    OwnerId: account,
    PrivateDnsName: dnsPrivate(o.privateIp, region),
    PrivateIpAddress: o.privateIp,
    PrivateIpAddresses: [
      {
        ...(o.publicIp ? { Association: assoc(o.publicIp, o.eip ? account : 'amazon') } : {}),
        Primary: true,
        PrivateDnsName: dnsPrivate(o.privateIp, region),
        PrivateIpAddress: o.privateIp,
      },
      ...(o.secondaryIps ?? []).map((s) => ({
        ...(s.publicIp ? { Association: assoc(s.publicIp, account) } : {}),
        Primary: false,
        PrivateDnsName: dnsPrivate(s.ip, region),
        PrivateIpAddress: s.ip,
      })),
    ],
    SourceDestCheck: true,
    Status: 'in-use',
    SubnetId: o.subnetId,
    VpcId: o.vpcId,
    InterfaceType: 'interface',
  };
  if (o.publicIp) nic.Association = assoc(o.publicIp, o.eip ? account : 'amazon');
  return nic;
}

export interface InstanceOpts {
  account: string;
  id?: string;
  /** The Name tag. */
  name?: string;
  /** Default eu-west-1a; the region is the zone without its letter. */
  az?: string;
  subnetId: string;
  vpcId: string;
  privateIp?: string;
  /** Auto-assigned public IPv4 (released when `state` is stopped, unless `eip`). */
  publicIp?: string;
  /** The public IP is an Elastic IP (IpOwnerId = account) and survives a stop. */
  eip?: boolean;
  secondaryIps?: { ip: string; publicIp?: string }[];
  ipv6?: string[];
  /** Security groups (objects or ids) on the primary ENI and in Instance.SecurityGroups. */
  securityGroups?: (SecurityGroup | string)[];
  windows?: boolean;
  state?: InstanceStateName;
  instanceType?: Instance['InstanceType'];
  /** Additional ENIs (device index 1, 2, ...). */
  extraEnis?: Omit<EniOpts, 'deviceIndex'>[];
  tags?: Record<string, string>;
  extra?: Partial<Instance>;
}

/** A DescribeInstances instance: primary ENI with association/private IPs/IPv6, groups, tags, platform. */
export function instance(o: InstanceOpts): Instance {
  const az = o.az ?? 'eu-west-1a';
  const region = regionOfAz(az);
  const state = o.state ?? 'running';
  const privateIp = o.privateIp ?? '10.0.1.10';
  const keepsPublic = state === 'running' || state === 'pending' || state === 'stopping' || o.eip;
  const publicIp = o.publicIp && keepsPublic ? o.publicIp : undefined;
  const groups = (o.securityGroups ?? []).map((g) => (typeof g === 'string' ? { GroupId: g, GroupName: g } : { GroupId: g.GroupId, GroupName: g.GroupName }));
  const primary = instanceEni(o.account, region, {
    subnetId: o.subnetId,
    vpcId: o.vpcId,
    privateIp,
    ...(publicIp ? { publicIp } : {}),
    ...(o.eip ? { eip: true } : {}),
    ...(o.secondaryIps ? { secondaryIps: o.secondaryIps } : {}),
    ...(o.ipv6 ? { ipv6: o.ipv6 } : {}),
    groups,
    description: 'Primary network interface',
  });
  const nics = [primary, ...(o.extraEnis ?? []).map((e, i) => instanceEni(o.account, region, { ...e, deviceIndex: i + 1 }))];
  const inst: Instance = {
    AmiLaunchIndex: 0,
    ImageId: o.windows ? 'ami-0c2b0d3fb02824d92' : 'ami-0abcdef1234567890',
    InstanceId: o.id ?? awsId('i'),
    InstanceType: o.instanceType ?? 't3.medium',
    LaunchTime: LAUNCH,
    Monitoring: { State: 'disabled' },
    Placement: { AvailabilityZone: az, GroupName: '', Tenancy: 'default' },
    PrivateDnsName: dnsPrivate(privateIp, region),
    PrivateIpAddress: privateIp,
    ProductCodes: [],
    PublicDnsName: publicIp ? dnsPublic(publicIp, region) : '',
    ...(publicIp ? { PublicIpAddress: publicIp } : {}),
    State: { Code: STATE_CODES[state], Name: state },
    StateTransitionReason: state === 'stopped' ? 'User initiated (2024-03-02 10:00:00 GMT)' : '',
    SubnetId: o.subnetId,
    VpcId: o.vpcId,
    Architecture: 'x86_64',
    BlockDeviceMappings: [],
    ClientToken: '',
    EbsOptimized: false,
    EnaSupport: true,
    Hypervisor: 'xen',
    NetworkInterfaces: nics,
    RootDeviceName: o.windows ? '/dev/sda1' : '/dev/xvda',
    RootDeviceType: 'ebs',
    SecurityGroups: groups,
    SourceDestCheck: true,
    Tags: tags({ ...(o.name ? { Name: o.name } : {}), ...(o.tags ?? {}) }),
    VirtualizationType: 'hvm',
    ...(o.windows ? { Platform: WINDOWS_PLATFORM } : {}),
    PlatformDetails: o.windows ? 'Windows' : 'Linux/UNIX',
    UsageOperation: o.windows ? 'RunInstances:0002' : 'RunInstances',
    UsageOperationUpdateTime: LAUNCH,
    ...(o.ipv6?.length ? { Ipv6Address: o.ipv6[0] } : {}),
    CurrentInstanceBootMode: 'legacy-bios',
  };
  return { ...inst, ...(o.extra ?? {}) };
}

export interface PermissionOpts {
  /** 'tcp' | 'udp' | 'icmp' | 'icmpv6' | '-1' (all) | a protocol number as a string. */
  protocol: string;
  /** Single port (FromPort = ToPort). */
  port?: number;
  from?: number;
  to?: number;
  cidrs?: (string | { cidr: string; description?: string })[];
  ipv6?: (string | { cidr: string; description?: string })[];
  prefixLists?: string[];
  /** Security group references (UserIdGroupPairs). */
  groups?: { GroupId: string; UserId: string; Description?: string }[];
}

/** An IpPermission with the empty lists EC2 always sends (groups/ipRanges/ipv6Ranges/prefixListIds). */
export function ipPermission(o: PermissionOpts): IpPermission {
  const all = o.protocol === '-1';
  const from = o.from ?? o.port;
  const to = o.to ?? o.port ?? from;
  const desc = <T extends object>(x: T, d?: string): T => (d !== undefined ? { ...x, Description: d } : x);
  return {
    IpProtocol: o.protocol,
    ...(!all && from !== undefined ? { FromPort: from } : {}),
    ...(!all && to !== undefined ? { ToPort: to } : {}),
    UserIdGroupPairs: (o.groups ?? []).map((g) => desc({ UserId: g.UserId, GroupId: g.GroupId }, g.Description)),
    IpRanges: (o.cidrs ?? []).map((c) => (typeof c === 'string' ? { CidrIp: c } : desc({ CidrIp: c.cidr }, c.description))),
    Ipv6Ranges: (o.ipv6 ?? []).map((c) => (typeof c === 'string' ? { CidrIpv6: c } : desc({ CidrIpv6: c.cidr }, c.description))),
    PrefixListIds: (o.prefixLists ?? []).map((p) => ({ PrefixListId: p })),
  };
}

/** tcp:3389 from these sources. */
export const rdpFrom = (cidrs: string[], ipv6: string[] = []) => ipPermission({ protocol: 'tcp', port: 3389, cidrs, ipv6 });

export interface SecurityGroupOpts {
  account: string;
  region?: string;
  id?: string;
  name: string;
  vpcId: string;
  description?: string;
  ingress?: IpPermission[];
  /** Default: the allow-all egress rule every new group gets. */
  egress?: IpPermission[];
  tags?: Record<string, string>;
}

export function securityGroup(o: SecurityGroupOpts): SecurityGroup {
  const id = o.id ?? awsId('sg');
  return {
    GroupId: id,
    IpPermissionsEgress: o.egress ?? [ipPermission({ protocol: '-1', cidrs: ['0.0.0.0/0'] })],
    ...(o.tags ? { Tags: tags(o.tags) } : {}),
    VpcId: o.vpcId,
    SecurityGroupArn: `arn:aws:ec2:${o.region ?? 'eu-west-1'}:${o.account}:security-group/${id}`,
    OwnerId: o.account,
    GroupName: o.name,
    Description: o.description ?? `${o.name} group`,
    IpPermissions: o.ingress ?? [],
  };
}

export interface SubnetOpts {
  account: string;
  id?: string;
  vpcId: string;
  cidr: string;
  az?: string;
  ipv6Cidr?: string;
  mapPublicIp?: boolean;
  defaultForAz?: boolean;
  tags?: Record<string, string>;
  extra?: Partial<Subnet>;
}

export function subnet(o: SubnetOpts): Subnet {
  const id = o.id ?? awsId('subnet');
  const az = o.az ?? 'eu-west-1a';
  return {
    AvailabilityZoneId: `euw1-az${(az.charCodeAt(az.length - 1) - 96).toString()}`,
    MapCustomerOwnedIpOnLaunch: false,
    OwnerId: o.account,
    AssignIpv6AddressOnCreation: false,
    Ipv6CidrBlockAssociationSet: o.ipv6Cidr
      ? [{ AssociationId: `subnet-cidr-assoc-0${id.slice(8)}`, Ipv6CidrBlock: o.ipv6Cidr, Ipv6CidrBlockState: { State: 'associated' } }]
      : [],
    ...(o.tags ? { Tags: tags(o.tags) } : {}),
    SubnetArn: `arn:aws:ec2:${regionOfAz(az)}:${o.account}:subnet/${id}`,
    EnableDns64: false,
    Ipv6Native: false,
    PrivateDnsNameOptionsOnLaunch: { HostnameType: 'ip-name', EnableResourceNameDnsARecord: false, EnableResourceNameDnsAAAARecord: false },
    BlockPublicAccessStates: { InternetGatewayBlockMode: 'off' },
    SubnetId: id,
    State: 'available',
    VpcId: o.vpcId,
    CidrBlock: o.cidr,
    AvailableIpAddressCount: 250,
    AvailabilityZone: az,
    DefaultForAz: o.defaultForAz ?? false,
    MapPublicIpOnLaunch: o.mapPublicIp ?? false,
    ...(o.extra ?? {}),
  };
}

export interface VpcOpts {
  account: string;
  id?: string;
  cidr: string;
  ipv6Cidr?: string;
  isDefault?: boolean;
  /** VPC Block Public Access mode ('off' by default). */
  blockPublicAccess?: 'off' | 'block-bidirectional' | 'block-ingress';
  tags?: Record<string, string>;
  extra?: Partial<Vpc>;
}

export function vpc(o: VpcOpts): Vpc {
  const id = o.id ?? awsId('vpc');
  return {
    OwnerId: o.account,
    InstanceTenancy: 'default',
    ...(o.ipv6Cidr
      ? {
          Ipv6CidrBlockAssociationSet: [
            {
              AssociationId: `vpc-cidr-assoc-0${id.slice(5)}`,
              Ipv6CidrBlock: o.ipv6Cidr,
              Ipv6CidrBlockState: { State: 'associated' },
              NetworkBorderGroup: 'eu-west-1',
              Ipv6Pool: 'Amazon',
            },
          ],
        }
      : {}),
    CidrBlockAssociationSet: [{ AssociationId: `vpc-cidr-assoc-1${id.slice(5)}`, CidrBlock: o.cidr, CidrBlockState: { State: 'associated' } }],
    IsDefault: o.isDefault ?? false,
    ...(o.tags ? { Tags: tags(o.tags) } : {}),
    BlockPublicAccessStates: { InternetGatewayBlockMode: o.blockPublicAccess ?? 'off' },
    VpcId: id,
    State: 'available',
    CidrBlock: o.cidr,
    DhcpOptionsId: 'dopt-0123456789abcdef0',
    ...(o.extra ?? {}),
  };
}

export interface RouteTableOpts {
  account: string;
  id?: string;
  vpcId: string;
  /** The VPC's CIDR (the `local` route). */
  vpcCidr: string;
  vpcIpv6Cidr?: string;
  /** The VPC's main table (implicit association for every subnet without an explicit one). */
  main?: boolean;
  /** Explicitly associated subnets. */
  subnetIds?: string[];
  /** 0.0.0.0/0 (and ::/0 when the VPC has IPv6) -> this internet gateway. */
  igw?: string;
  /** 0.0.0.0/0 -> this NAT gateway (a private subnet). */
  nat?: string;
  /** ::/0 -> this egress-only internet gateway. */
  eigw?: string;
  /** Make the default route(s) blackholes (the gateway was deleted). */
  blackhole?: boolean;
  routes?: Route[];
  tags?: Record<string, string>;
}

export function routeTable(o: RouteTableOpts): RouteTable {
  const id = o.id ?? awsId('rtb');
  const state = o.blackhole ? 'blackhole' : 'active';
  const routes: Route[] = [{ DestinationCidrBlock: o.vpcCidr, GatewayId: 'local', Origin: 'CreateRouteTable', State: 'active' }];
  if (o.vpcIpv6Cidr) routes.push({ DestinationIpv6CidrBlock: o.vpcIpv6Cidr, GatewayId: 'local', Origin: 'CreateRouteTable', State: 'active' });
  if (o.igw) {
    routes.push({ DestinationCidrBlock: '0.0.0.0/0', GatewayId: o.igw, Origin: 'CreateRoute', State: state });
    if (o.vpcIpv6Cidr) routes.push({ DestinationIpv6CidrBlock: '::/0', GatewayId: o.igw, Origin: 'CreateRoute', State: state });
  }
  if (o.nat) routes.push({ DestinationCidrBlock: '0.0.0.0/0', NatGatewayId: o.nat, Origin: 'CreateRoute', State: state });
  if (o.eigw) routes.push({ DestinationIpv6CidrBlock: '::/0', EgressOnlyInternetGatewayId: o.eigw, Origin: 'CreateRoute', State: state });
  routes.push(...(o.routes ?? []));
  const assoc = (n: number, extra: Partial<RouteTableAssociation>): RouteTableAssociation => ({
    Main: false,
    RouteTableAssociationId: `rtbassoc-${n}${id.slice(5)}`,
    RouteTableId: id,
    AssociationState: { State: 'associated' },
    ...extra,
  });
  const associations: RouteTableAssociation[] = [];
  if (o.main) associations.push(assoc(0, { Main: true }));
  (o.subnetIds ?? []).forEach((s, i) => associations.push(assoc(i + 1, { SubnetId: s })));
  return {
    Associations: associations,
    PropagatingVgws: [],
    RouteTableId: id,
    Routes: routes,
    Tags: o.tags ? tags(o.tags) : [],
    VpcId: o.vpcId,
    OwnerId: o.account,
  };
}

export interface AclEntryOpts {
  rule: number;
  action: 'allow' | 'deny';
  /** A protocol NUMBER as a string: '6' tcp, '17' udp, '1' icmp, '-1' all. */
  protocol?: string;
  cidr?: string;
  ipv6Cidr?: string;
  from?: number;
  to?: number;
  egress?: boolean;
}

export function aclEntry(o: AclEntryOpts): NetworkAclEntry {
  const protocol = o.protocol ?? '6';
  return {
    ...(o.cidr ? { CidrBlock: o.cidr } : {}),
    Egress: o.egress ?? false,
    ...(o.ipv6Cidr ? { Ipv6CidrBlock: o.ipv6Cidr } : {}),
    ...(o.from !== undefined && protocol !== '-1' ? { PortRange: { From: o.from, To: o.to ?? o.from } } : {}),
    Protocol: protocol,
    RuleAction: o.action,
    RuleNumber: o.rule,
  };
}

export interface NetworkAclOpts {
  account: string;
  id?: string;
  vpcId: string;
  /** The VPC's default ACL: has the allow-all rules 100 (IPv4) / 101 (IPv6) in both directions. */
  isDefault?: boolean;
  /** Add the 100/101 allow-all rules (default: isDefault). A new custom ACL has only the `*` denies. */
  allowAll?: boolean;
  /** Include the IPv6 rules 101 / 32768 (default true). */
  ipv6?: boolean;
  subnetIds?: string[];
  /** Extra entries (rule numbers 1-32766), listed before the defaults. */
  entries?: NetworkAclEntry[];
  tags?: Record<string, string>;
}

/** A network ACL; the `*` rules appear as 32767 (IPv4) and 32768 (IPv6) deny, in both directions. */
export function networkAcl(o: NetworkAclOpts): NetworkAcl {
  const id = o.id ?? awsId('acl');
  const v6 = o.ipv6 ?? true;
  const allowAll = o.allowAll ?? o.isDefault ?? false;
  const entries: NetworkAclEntry[] = [...(o.entries ?? [])];
  for (const egress of [true, false]) {
    if (allowAll) {
      entries.push(aclEntry({ rule: 100, action: 'allow', protocol: '-1', cidr: '0.0.0.0/0', egress }));
      if (v6) entries.push(aclEntry({ rule: 101, action: 'allow', protocol: '-1', ipv6Cidr: '::/0', egress }));
    }
    entries.push(aclEntry({ rule: 32767, action: 'deny', protocol: '-1', cidr: '0.0.0.0/0', egress }));
    if (v6) entries.push(aclEntry({ rule: 32768, action: 'deny', protocol: '-1', ipv6Cidr: '::/0', egress }));
  }
  return {
    Associations: (o.subnetIds ?? []).map((s, i) => ({
      NetworkAclAssociationId: `aclassoc-${i}${id.slice(5)}`,
      NetworkAclId: id,
      SubnetId: s,
    })),
    Entries: entries,
    IsDefault: o.isDefault ?? false,
    NetworkAclId: id,
    Tags: o.tags ? tags(o.tags) : [],
    VpcId: o.vpcId,
    OwnerId: o.account,
  };
}

export interface PrefixListOpts {
  account: string;
  region?: string;
  id?: string;
  name: string;
  cidrs: (string | { cidr: string; description?: string })[];
  family?: 'IPv4' | 'IPv6';
  maxEntries?: number;
  /** 'AWS' for AWS-managed lists (com.amazonaws.global.cloudfront.origin-facing, ...). */
  ownerId?: string;
}

export function prefixList(o: PrefixListOpts): FakePrefixList {
  const id = o.id ?? awsId('pl');
  const owner = o.ownerId ?? o.account;
  return {
    PrefixListId: id,
    AddressFamily: o.family ?? (o.cidrs.some((c) => (typeof c === 'string' ? c : c.cidr).includes(':')) ? 'IPv6' : 'IPv4'),
    State: 'create-complete',
    PrefixListArn: `arn:aws:ec2:${o.region ?? 'eu-west-1'}:${owner === 'AWS' ? 'aws' : owner}:prefix-list/${id}`,
    PrefixListName: o.name,
    MaxEntries: o.maxEntries ?? Math.max(o.cidrs.length, 10),
    Version: 1,
    Tags: [],
    OwnerId: owner,
    Entries: o.cidrs.map((c) => (typeof c === 'string' ? { Cidr: c } : { Cidr: c.cidr, ...(c.description ? { Description: c.description } : {}) })),
  };
}

export interface SsmOpts {
  instanceId: string;
  ping?: 'Online' | 'ConnectionLost' | 'Inactive';
  platform?: 'Windows' | 'Linux' | 'MacOS';
  agentVersion?: string;
  computerName?: string;
  ip?: string;
  lastPing?: Date;
  extra?: Partial<InstanceInformation>;
}

/** One SSM DescribeInstanceInformation entry for an EC2 instance. */
export function ssmInstance(o: SsmOpts): InstanceInformation {
  const platform = o.platform ?? 'Windows';
  return {
    InstanceId: o.instanceId,
    PingStatus: o.ping ?? 'Online',
    LastPingDateTime: o.lastPing ?? new Date('2024-03-05T12:34:56.789Z'),
    AgentVersion: o.agentVersion ?? '3.3.40.0',
    IsLatestVersion: false,
    PlatformType: platform,
    PlatformName: platform === 'Windows' ? 'Microsoft Windows Server 2022 Datacenter' : platform === 'Linux' ? 'Amazon Linux' : 'macOS',
    PlatformVersion: platform === 'Windows' ? '10.0.20348' : platform === 'Linux' ? '2023' : '14.4',
    ResourceType: 'EC2Instance',
    IPAddress: o.ip ?? '10.0.1.10',
    ComputerName: o.computerName ?? `${o.instanceId}.ec2.internal`,
    AssociationStatus: 'Success',
    SourceId: o.instanceId,
    SourceType: 'AWS::EC2::Instance',
    ...(o.extra ?? {}),
  };
}

export interface OrgAccountOpts {
  id: string;
  name: string;
  /** The management account id (it is in every member's ARN). */
  managementAccountId: string;
  orgId?: string;
  email?: string;
  status?: 'ACTIVE' | 'SUSPENDED';
  joined?: Date;
}

/** One Organizations ListAccounts entry. */
export function orgAccount(o: OrgAccountOpts): OrgAccount {
  const orgId = o.orgId ?? 'o-exampleorgid';
  return {
    Id: o.id,
    Arn: `arn:aws:organizations::${o.managementAccountId}:account/${orgId}/${o.id}`,
    Email: o.email ?? `aws+${o.id}@example.com`,
    Name: o.name,
    Status: o.status ?? 'ACTIVE',
    State: o.status ?? 'ACTIVE',
    JoinedMethod: o.id === o.managementAccountId ? 'CREATED' : 'INVITED',
    JoinedTimestamp: o.joined ?? new Date('2021-09-08T17:35:28.678Z'),
  };
}
