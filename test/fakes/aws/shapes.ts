/**
 * EC2 Query (2016-11-15) response shapes: SDK member name (PascalCase, what a TS user reads) -> XML element
 * name (what EC2 sends), for every structure the fake serializes. Lists are `<tag><item>..</item></tag>`.
 *
 * Every entry was read from, and is re-checked against, the SDK's own schemas
 * (`@aws-sdk/client-ec2` exports `Instance$`, `SecurityGroup$`, ...; the XML deserializer reads the member
 * trait `xmlName`): see the "shapes match the SDK schemas" test in server.test.ts. A fixture field that is
 * not listed here makes the fake answer 500 (with the field's name) rather than silently dropping it.
 */

/** s = string, n = number, b = boolean, t = timestamp (Date or ISO string). */
export type Scalar = 's' | 'n' | 'b' | 't';
export interface StructShape {
  readonly name: string;
  readonly fields: Readonly<Record<string, readonly [tag: string, kind: Kind]>>;
}
export interface ListShape {
  readonly item: Kind;
}
export type Kind = Scalar | StructShape | ListShape;

const struct = (name: string, fields: Record<string, readonly [string, Kind]>): StructShape => ({ name, fields });
const list = (item: Kind): ListShape => ({ item });

export const Tag = struct('Tag', { Key: ['key', 's'], Value: ['value', 's'] });
const Tags = list(Tag);
export const GroupIdentifier = struct('GroupIdentifier', { GroupId: ['groupId', 's'], GroupName: ['groupName', 's'] });
const BlockPublicAccessStates = struct('BlockPublicAccessStates', { InternetGatewayBlockMode: ['internetGatewayBlockMode', 's'] });

// ---- DescribeInstances ----
export const InstanceNetworkInterfaceAssociation = struct('InstanceNetworkInterfaceAssociation', {
  CarrierIp: ['carrierIp', 's'],
  CustomerOwnedIp: ['customerOwnedIp', 's'],
  IpOwnerId: ['ipOwnerId', 's'],
  PublicDnsName: ['publicDnsName', 's'],
  PublicIp: ['publicIp', 's'],
});
export const InstanceNetworkInterface = struct('InstanceNetworkInterface', {
  Association: ['association', InstanceNetworkInterfaceAssociation],
  Attachment: [
    'attachment',
    struct('InstanceNetworkInterfaceAttachment', {
      AttachTime: ['attachTime', 't'],
      AttachmentId: ['attachmentId', 's'],
      DeleteOnTermination: ['deleteOnTermination', 'b'],
      DeviceIndex: ['deviceIndex', 'n'],
      Status: ['status', 's'],
      NetworkCardIndex: ['networkCardIndex', 'n'],
    }),
  ],
  Description: ['description', 's'],
  Groups: ['groupSet', list(GroupIdentifier)],
  Ipv6Addresses: [
    'ipv6AddressesSet',
    list(struct('InstanceIpv6Address', { Ipv6Address: ['ipv6Address', 's'], IsPrimaryIpv6: ['isPrimaryIpv6', 'b'] })),
  ],
  MacAddress: ['macAddress', 's'],
  NetworkInterfaceId: ['networkInterfaceId', 's'],
  OwnerId: ['ownerId', 's'],
  PrivateDnsName: ['privateDnsName', 's'],
  PrivateIpAddress: ['privateIpAddress', 's'],
  PrivateIpAddresses: [
    'privateIpAddressesSet',
    list(
      struct('InstancePrivateIpAddress', {
        Association: ['association', InstanceNetworkInterfaceAssociation],
        Primary: ['primary', 'b'],
        PrivateDnsName: ['privateDnsName', 's'],
        PrivateIpAddress: ['privateIpAddress', 's'],
      }),
    ),
  ],
  SourceDestCheck: ['sourceDestCheck', 'b'],
  Status: ['status', 's'],
  SubnetId: ['subnetId', 's'],
  VpcId: ['vpcId', 's'],
  InterfaceType: ['interfaceType', 's'],
  Ipv4Prefixes: ['ipv4PrefixSet', list(struct('InstanceIpv4Prefix', { Ipv4Prefix: ['ipv4Prefix', 's'] }))],
  Ipv6Prefixes: ['ipv6PrefixSet', list(struct('InstanceIpv6Prefix', { Ipv6Prefix: ['ipv6Prefix', 's'] }))],
});

export const Instance = struct('Instance', {
  InstanceId: ['instanceId', 's'],
  ImageId: ['imageId', 's'],
  State: ['instanceState', struct('InstanceState', { Code: ['code', 'n'], Name: ['name', 's'] })],
  PrivateDnsName: ['privateDnsName', 's'],
  PublicDnsName: ['dnsName', 's'],
  StateTransitionReason: ['reason', 's'],
  KeyName: ['keyName', 's'],
  AmiLaunchIndex: ['amiLaunchIndex', 'n'],
  ProductCodes: ['productCodes', list(struct('ProductCode', { ProductCodeId: ['productCode', 's'], ProductCodeType: ['type', 's'] }))],
  InstanceType: ['instanceType', 's'],
  LaunchTime: ['launchTime', 't'],
  Placement: [
    'placement',
    struct('Placement', {
      AvailabilityZoneId: ['availabilityZoneId', 's'],
      Affinity: ['affinity', 's'],
      GroupName: ['groupName', 's'],
      PartitionNumber: ['partitionNumber', 'n'],
      HostId: ['hostId', 's'],
      Tenancy: ['tenancy', 's'],
      SpreadDomain: ['spreadDomain', 's'],
      HostResourceGroupArn: ['hostResourceGroupArn', 's'],
      GroupId: ['groupId', 's'],
      AvailabilityZone: ['availabilityZone', 's'],
    }),
  ],
  KernelId: ['kernelId', 's'],
  RamdiskId: ['ramdiskId', 's'],
  Platform: ['platform', 's'],
  Monitoring: ['monitoring', struct('Monitoring', { State: ['state', 's'] })],
  SubnetId: ['subnetId', 's'],
  VpcId: ['vpcId', 's'],
  PrivateIpAddress: ['privateIpAddress', 's'],
  PublicIpAddress: ['ipAddress', 's'],
  Architecture: ['architecture', 's'],
  BlockDeviceMappings: [
    'blockDeviceMapping',
    list(
      struct('InstanceBlockDeviceMapping', {
        DeviceName: ['deviceName', 's'],
        Ebs: [
          'ebs',
          struct('EbsInstanceBlockDevice', {
            AttachTime: ['attachTime', 't'],
            DeleteOnTermination: ['deleteOnTermination', 'b'],
            Status: ['status', 's'],
            VolumeId: ['volumeId', 's'],
          }),
        ],
      }),
    ),
  ],
  ClientToken: ['clientToken', 's'],
  EbsOptimized: ['ebsOptimized', 'b'],
  EnaSupport: ['enaSupport', 'b'],
  Hypervisor: ['hypervisor', 's'],
  IamInstanceProfile: ['iamInstanceProfile', struct('IamInstanceProfile', { Arn: ['arn', 's'], Id: ['id', 's'] })],
  InstanceLifecycle: ['instanceLifecycle', 's'],
  NetworkInterfaces: ['networkInterfaceSet', list(InstanceNetworkInterface)],
  OutpostArn: ['outpostArn', 's'],
  RootDeviceName: ['rootDeviceName', 's'],
  RootDeviceType: ['rootDeviceType', 's'],
  SecurityGroups: ['groupSet', list(GroupIdentifier)],
  SourceDestCheck: ['sourceDestCheck', 'b'],
  SpotInstanceRequestId: ['spotInstanceRequestId', 's'],
  SriovNetSupport: ['sriovNetSupport', 's'],
  StateReason: ['stateReason', struct('StateReason', { Code: ['code', 's'], Message: ['message', 's'] })],
  Tags: ['tagSet', Tags],
  VirtualizationType: ['virtualizationType', 's'],
  CpuOptions: ['cpuOptions', struct('CpuOptions', { CoreCount: ['coreCount', 'n'], ThreadsPerCore: ['threadsPerCore', 'n'] })],
  CapacityReservationId: ['capacityReservationId', 's'],
  CapacityReservationSpecification: [
    'capacityReservationSpecification',
    struct('CapacityReservationSpecificationResponse', { CapacityReservationPreference: ['capacityReservationPreference', 's'] }),
  ],
  HibernationOptions: ['hibernationOptions', struct('HibernationOptions', { Configured: ['configured', 'b'] })],
  MetadataOptions: [
    'metadataOptions',
    struct('InstanceMetadataOptionsResponse', {
      State: ['state', 's'],
      HttpTokens: ['httpTokens', 's'],
      HttpPutResponseHopLimit: ['httpPutResponseHopLimit', 'n'],
      HttpEndpoint: ['httpEndpoint', 's'],
      HttpProtocolIpv6: ['httpProtocolIpv6', 's'],
      InstanceMetadataTags: ['instanceMetadataTags', 's'],
    }),
  ],
  EnclaveOptions: ['enclaveOptions', struct('EnclaveOptions', { Enabled: ['enabled', 'b'] })],
  BootMode: ['bootMode', 's'],
  PlatformDetails: ['platformDetails', 's'],
  UsageOperation: ['usageOperation', 's'],
  UsageOperationUpdateTime: ['usageOperationUpdateTime', 't'],
  PrivateDnsNameOptions: [
    'privateDnsNameOptions',
    struct('PrivateDnsNameOptionsResponse', {
      HostnameType: ['hostnameType', 's'],
      EnableResourceNameDnsARecord: ['enableResourceNameDnsARecord', 'b'],
      EnableResourceNameDnsAAAARecord: ['enableResourceNameDnsAAAARecord', 'b'],
    }),
  ],
  Ipv6Address: ['ipv6Address', 's'],
  TpmSupport: ['tpmSupport', 's'],
  MaintenanceOptions: ['maintenanceOptions', struct('InstanceMaintenanceOptions', { AutoRecovery: ['autoRecovery', 's'] })],
  CurrentInstanceBootMode: ['currentInstanceBootMode', 's'],
});

export const Reservation = struct('Reservation', {
  ReservationId: ['reservationId', 's'],
  OwnerId: ['ownerId', 's'],
  RequesterId: ['requesterId', 's'],
  Groups: ['groupSet', list(GroupIdentifier)],
  Instances: ['instancesSet', list(Instance)],
});

// ---- DescribeSecurityGroups ----
export const IpPermission = struct('IpPermission', {
  IpProtocol: ['ipProtocol', 's'],
  FromPort: ['fromPort', 'n'],
  ToPort: ['toPort', 'n'],
  UserIdGroupPairs: [
    'groups',
    list(
      struct('UserIdGroupPair', {
        Description: ['description', 's'],
        UserId: ['userId', 's'],
        GroupName: ['groupName', 's'],
        GroupId: ['groupId', 's'],
        VpcId: ['vpcId', 's'],
        VpcPeeringConnectionId: ['vpcPeeringConnectionId', 's'],
        PeeringStatus: ['peeringStatus', 's'],
      }),
    ),
  ],
  IpRanges: ['ipRanges', list(struct('IpRange', { Description: ['description', 's'], CidrIp: ['cidrIp', 's'] }))],
  Ipv6Ranges: ['ipv6Ranges', list(struct('Ipv6Range', { Description: ['description', 's'], CidrIpv6: ['cidrIpv6', 's'] }))],
  PrefixListIds: ['prefixListIds', list(struct('PrefixListId', { Description: ['description', 's'], PrefixListId: ['prefixListId', 's'] }))],
});
export const SecurityGroup = struct('SecurityGroup', {
  GroupId: ['groupId', 's'],
  GroupName: ['groupName', 's'],
  Description: ['groupDescription', 's'],
  OwnerId: ['ownerId', 's'],
  VpcId: ['vpcId', 's'],
  SecurityGroupArn: ['securityGroupArn', 's'],
  IpPermissions: ['ipPermissions', list(IpPermission)],
  IpPermissionsEgress: ['ipPermissionsEgress', list(IpPermission)],
  Tags: ['tagSet', Tags],
});

// ---- DescribeSubnets / DescribeVpcs ----
const CidrBlockState = (name: string) => struct(name, { State: ['state', 's'], StatusMessage: ['statusMessage', 's'] });
export const Subnet = struct('Subnet', {
  AvailabilityZone: ['availabilityZone', 's'],
  AvailabilityZoneId: ['availabilityZoneId', 's'],
  AvailableIpAddressCount: ['availableIpAddressCount', 'n'],
  CidrBlock: ['cidrBlock', 's'],
  DefaultForAz: ['defaultForAz', 'b'],
  EnableLniAtDeviceIndex: ['enableLniAtDeviceIndex', 'n'],
  MapPublicIpOnLaunch: ['mapPublicIpOnLaunch', 'b'],
  MapCustomerOwnedIpOnLaunch: ['mapCustomerOwnedIpOnLaunch', 'b'],
  CustomerOwnedIpv4Pool: ['customerOwnedIpv4Pool', 's'],
  State: ['state', 's'],
  SubnetId: ['subnetId', 's'],
  VpcId: ['vpcId', 's'],
  OwnerId: ['ownerId', 's'],
  AssignIpv6AddressOnCreation: ['assignIpv6AddressOnCreation', 'b'],
  Ipv6CidrBlockAssociationSet: [
    'ipv6CidrBlockAssociationSet',
    list(
      struct('SubnetIpv6CidrBlockAssociation', {
        AssociationId: ['associationId', 's'],
        Ipv6CidrBlock: ['ipv6CidrBlock', 's'],
        Ipv6CidrBlockState: ['ipv6CidrBlockState', CidrBlockState('SubnetCidrBlockState')],
      }),
    ),
  ],
  Tags: ['tagSet', Tags],
  SubnetArn: ['subnetArn', 's'],
  OutpostArn: ['outpostArn', 's'],
  EnableDns64: ['enableDns64', 'b'],
  Ipv6Native: ['ipv6Native', 'b'],
  PrivateDnsNameOptionsOnLaunch: [
    'privateDnsNameOptionsOnLaunch',
    struct('PrivateDnsNameOptionsOnLaunch', {
      HostnameType: ['hostnameType', 's'],
      EnableResourceNameDnsARecord: ['enableResourceNameDnsARecord', 'b'],
      EnableResourceNameDnsAAAARecord: ['enableResourceNameDnsAAAARecord', 'b'],
    }),
  ],
  BlockPublicAccessStates: ['blockPublicAccessStates', BlockPublicAccessStates],
});
export const Vpc = struct('Vpc', {
  CidrBlock: ['cidrBlock', 's'],
  DhcpOptionsId: ['dhcpOptionsId', 's'],
  State: ['state', 's'],
  VpcId: ['vpcId', 's'],
  OwnerId: ['ownerId', 's'],
  InstanceTenancy: ['instanceTenancy', 's'],
  Ipv6CidrBlockAssociationSet: [
    'ipv6CidrBlockAssociationSet',
    list(
      struct('VpcIpv6CidrBlockAssociation', {
        AssociationId: ['associationId', 's'],
        Ipv6CidrBlock: ['ipv6CidrBlock', 's'],
        Ipv6CidrBlockState: ['ipv6CidrBlockState', CidrBlockState('VpcCidrBlockState')],
        NetworkBorderGroup: ['networkBorderGroup', 's'],
        Ipv6Pool: ['ipv6Pool', 's'],
      }),
    ),
  ],
  CidrBlockAssociationSet: [
    'cidrBlockAssociationSet',
    list(
      struct('VpcCidrBlockAssociation', {
        AssociationId: ['associationId', 's'],
        CidrBlock: ['cidrBlock', 's'],
        CidrBlockState: ['cidrBlockState', CidrBlockState('VpcCidrBlockState')],
      }),
    ),
  ],
  IsDefault: ['isDefault', 'b'],
  Tags: ['tagSet', Tags],
  BlockPublicAccessStates: ['blockPublicAccessStates', BlockPublicAccessStates],
});

// ---- DescribeRouteTables ----
export const Route = struct('Route', {
  DestinationCidrBlock: ['destinationCidrBlock', 's'],
  DestinationIpv6CidrBlock: ['destinationIpv6CidrBlock', 's'],
  DestinationPrefixListId: ['destinationPrefixListId', 's'],
  EgressOnlyInternetGatewayId: ['egressOnlyInternetGatewayId', 's'],
  GatewayId: ['gatewayId', 's'],
  InstanceId: ['instanceId', 's'],
  InstanceOwnerId: ['instanceOwnerId', 's'],
  NatGatewayId: ['natGatewayId', 's'],
  TransitGatewayId: ['transitGatewayId', 's'],
  LocalGatewayId: ['localGatewayId', 's'],
  CarrierGatewayId: ['carrierGatewayId', 's'],
  NetworkInterfaceId: ['networkInterfaceId', 's'],
  Origin: ['origin', 's'],
  State: ['state', 's'],
  VpcPeeringConnectionId: ['vpcPeeringConnectionId', 's'],
  CoreNetworkArn: ['coreNetworkArn', 's'],
});
export const RouteTable = struct('RouteTable', {
  Associations: [
    'associationSet',
    list(
      struct('RouteTableAssociation', {
        Main: ['main', 'b'],
        RouteTableAssociationId: ['routeTableAssociationId', 's'],
        RouteTableId: ['routeTableId', 's'],
        SubnetId: ['subnetId', 's'],
        GatewayId: ['gatewayId', 's'],
        AssociationState: ['associationState', struct('RouteTableAssociationState', { State: ['state', 's'], StatusMessage: ['statusMessage', 's'] })],
      }),
    ),
  ],
  PropagatingVgws: ['propagatingVgwSet', list(struct('PropagatingVgw', { GatewayId: ['gatewayId', 's'] }))],
  RouteTableId: ['routeTableId', 's'],
  Routes: ['routeSet', list(Route)],
  Tags: ['tagSet', Tags],
  VpcId: ['vpcId', 's'],
  OwnerId: ['ownerId', 's'],
});

// ---- DescribeNetworkAcls ----
export const NetworkAclEntry = struct('NetworkAclEntry', {
  CidrBlock: ['cidrBlock', 's'],
  Egress: ['egress', 'b'],
  IcmpTypeCode: ['icmpTypeCode', struct('IcmpTypeCode', { Code: ['code', 'n'], Type: ['type', 'n'] })],
  Ipv6CidrBlock: ['ipv6CidrBlock', 's'],
  PortRange: ['portRange', struct('PortRange', { From: ['from', 'n'], To: ['to', 'n'] })],
  Protocol: ['protocol', 's'],
  RuleAction: ['ruleAction', 's'],
  RuleNumber: ['ruleNumber', 'n'],
});
export const NetworkAcl = struct('NetworkAcl', {
  Associations: [
    'associationSet',
    list(
      struct('NetworkAclAssociation', {
        NetworkAclAssociationId: ['networkAclAssociationId', 's'],
        NetworkAclId: ['networkAclId', 's'],
        SubnetId: ['subnetId', 's'],
      }),
    ),
  ],
  Entries: ['entrySet', list(NetworkAclEntry)],
  IsDefault: ['default', 'b'],
  NetworkAclId: ['networkAclId', 's'],
  Tags: ['tagSet', Tags],
  VpcId: ['vpcId', 's'],
  OwnerId: ['ownerId', 's'],
});

// ---- DescribeManagedPrefixLists / GetManagedPrefixListEntries ----
export const ManagedPrefixList = struct('ManagedPrefixList', {
  PrefixListId: ['prefixListId', 's'],
  AddressFamily: ['addressFamily', 's'],
  State: ['state', 's'],
  StateMessage: ['stateMessage', 's'],
  PrefixListArn: ['prefixListArn', 's'],
  PrefixListName: ['prefixListName', 's'],
  MaxEntries: ['maxEntries', 'n'],
  Version: ['version', 'n'],
  Tags: ['tagSet', Tags],
  OwnerId: ['ownerId', 's'],
});
export const PrefixListEntry = struct('PrefixListEntry', { Cidr: ['cidr', 's'], Description: ['description', 's'] });

// ---- DescribeNetworkInterfaces ----
const NetworkInterfaceAssociation = struct('NetworkInterfaceAssociation', {
  AllocationId: ['allocationId', 's'],
  AssociationId: ['associationId', 's'],
  IpOwnerId: ['ipOwnerId', 's'],
  PublicDnsName: ['publicDnsName', 's'],
  PublicIp: ['publicIp', 's'],
  CustomerOwnedIp: ['customerOwnedIp', 's'],
  CarrierIp: ['carrierIp', 's'],
});
export const NetworkInterface = struct('NetworkInterface', {
  Association: ['association', NetworkInterfaceAssociation],
  Attachment: [
    'attachment',
    struct('NetworkInterfaceAttachment', {
      AttachTime: ['attachTime', 't'],
      AttachmentId: ['attachmentId', 's'],
      DeleteOnTermination: ['deleteOnTermination', 'b'],
      DeviceIndex: ['deviceIndex', 'n'],
      NetworkCardIndex: ['networkCardIndex', 'n'],
      InstanceId: ['instanceId', 's'],
      InstanceOwnerId: ['instanceOwnerId', 's'],
      Status: ['status', 's'],
    }),
  ],
  AvailabilityZone: ['availabilityZone', 's'],
  AvailabilityZoneId: ['availabilityZoneId', 's'],
  Description: ['description', 's'],
  Groups: ['groupSet', list(GroupIdentifier)],
  InterfaceType: ['interfaceType', 's'],
  Ipv6Addresses: [
    'ipv6AddressesSet',
    list(
      struct('NetworkInterfaceIpv6Address', {
        Ipv6Address: ['ipv6Address', 's'],
        PublicIpv6DnsName: ['publicIpv6DnsName', 's'],
        IsPrimaryIpv6: ['isPrimaryIpv6', 'b'],
      }),
    ),
  ],
  MacAddress: ['macAddress', 's'],
  NetworkInterfaceId: ['networkInterfaceId', 's'],
  OutpostArn: ['outpostArn', 's'],
  OwnerId: ['ownerId', 's'],
  PrivateDnsName: ['privateDnsName', 's'],
  PublicDnsName: ['publicDnsName', 's'],
  PrivateIpAddress: ['privateIpAddress', 's'],
  PrivateIpAddresses: [
    'privateIpAddressesSet',
    list(
      struct('NetworkInterfacePrivateIpAddress', {
        Association: ['association', NetworkInterfaceAssociation],
        Primary: ['primary', 'b'],
        PrivateDnsName: ['privateDnsName', 's'],
        PrivateIpAddress: ['privateIpAddress', 's'],
      }),
    ),
  ],
  Ipv4Prefixes: ['ipv4PrefixSet', list(struct('Ipv4PrefixSpecification', { Ipv4Prefix: ['ipv4Prefix', 's'] }))],
  Ipv6Prefixes: ['ipv6PrefixSet', list(struct('Ipv6PrefixSpecification', { Ipv6Prefix: ['ipv6Prefix', 's'] }))],
  RequesterId: ['requesterId', 's'],
  RequesterManaged: ['requesterManaged', 'b'],
  SourceDestCheck: ['sourceDestCheck', 'b'],
  Status: ['status', 's'],
  SubnetId: ['subnetId', 's'],
  // NetworkInterface (unlike Instance, SecurityGroup, ...) names its tags `TagSet` in the SDK.
  TagSet: ['tagSet', Tags],
  VpcId: ['vpcId', 's'],
  DenyAllIgwTraffic: ['denyAllIgwTraffic', 'b'],
  Ipv6Native: ['ipv6Native', 'b'],
  Ipv6Address: ['ipv6Address', 's'],
});

// ---- DescribeRegions ----
export const Region = struct('Region', {
  RegionName: ['regionName', 's'],
  Endpoint: ['regionEndpoint', 's'],
  OptInStatus: ['optInStatus', 's'],
});

/** Per action: the result member (SDK name), its XML list element, the item shape. */
export const EC2_RESULTS = {
  DescribeRegions: { member: 'Regions', tag: 'regionInfo', item: Region },
  DescribeInstances: { member: 'Reservations', tag: 'reservationSet', item: Reservation },
  DescribeSecurityGroups: { member: 'SecurityGroups', tag: 'securityGroupInfo', item: SecurityGroup },
  DescribeSubnets: { member: 'Subnets', tag: 'subnetSet', item: Subnet },
  DescribeVpcs: { member: 'Vpcs', tag: 'vpcSet', item: Vpc },
  DescribeRouteTables: { member: 'RouteTables', tag: 'routeTableSet', item: RouteTable },
  DescribeNetworkAcls: { member: 'NetworkAcls', tag: 'networkAclSet', item: NetworkAcl },
  DescribeManagedPrefixLists: { member: 'PrefixLists', tag: 'prefixListSet', item: ManagedPrefixList },
  GetManagedPrefixListEntries: { member: 'Entries', tag: 'entrySet', item: PrefixListEntry },
  DescribeNetworkInterfaces: { member: 'NetworkInterfaces', tag: 'networkInterfaceSet', item: NetworkInterface },
} as const satisfies Record<string, { member: string; tag: string; item: StructShape }>;

export type Ec2Action = keyof typeof EC2_RESULTS;

// ------------------------------------------------------------------------------------------------
// Serializer: string building, no XML library.
// ------------------------------------------------------------------------------------------------

export class FixtureError extends Error {}

const ESC = /[&<>"']/;
const ESC_G = /[&<>"']/g;
const ESC_MAP: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&apos;' };
export function xmlEscape(s: string): string {
  return ESC.test(s) ? s.replace(ESC_G, (c) => ESC_MAP[c]!) : s;
}

const bad = (owner: string, field: string, what: string, v: unknown): never => {
  throw new FixtureError(`${owner}.${field} must be ${what}, got ${JSON.stringify(v)}`);
};
const unknownField = (owner: string, k: string): never => {
  throw new FixtureError(`fixture field ${owner}.${k} is not served by the fake (add it to test/fakes/aws/shapes.ts)`);
};

function scalar(kind: Scalar, v: unknown, owner: string, field: string): string {
  switch (kind) {
    case 's':
      return typeof v === 'string' ? xmlEscape(v) : bad(owner, field, 'a string', v);
    case 'n':
      return typeof v === 'number' && Number.isFinite(v) ? String(v) : bad(owner, field, 'a number', v);
    case 'b':
      return typeof v === 'boolean' ? (v ? 'true' : 'false') : bad(owner, field, 'a boolean', v);
    case 't':
      if (v instanceof Date) return v.toISOString();
      return typeof v === 'string' ? xmlEscape(v) : bad(owner, field, 'a Date', v);
  }
}

type StructWriter = (o: Record<string, unknown>, skip?: ReadonlySet<string>) => string;
type ValueWriter = (v: unknown) => string;

/**
 * Each structure gets a generated writer (one `switch` over the object's own keys, tags as string constants):
 * about 3x faster than walking the shape table per field, which matters for 1000-instance pages.
 */
const writers = new WeakMap<StructShape, StructWriter>();

function structWriter(shape: StructShape): StructWriter {
  let w = writers.get(shape);
  if (w) return w;
  // Placeholder for (impossible, but harmless) recursion while compiling.
  writers.set(shape, (o, skip) => writers.get(shape)!(o, skip));
  const helpers: unknown[] = [];
  const ref = (x: unknown) => `h[${helpers.push(x) - 1}]`;
  const q = JSON.stringify;
  const owner = q(shape.name);
  let cases = '';
  for (const [field, [tag, kind]] of Object.entries(shape.fields)) {
    const open = q(`<${tag}>`);
    const close = q(`</${tag}>`);
    const f = q(field);
    let body: string;
    if (kind === 's') body = `if (typeof v !== 'string') bad(${owner}, ${f}, 'a string', v); s += ${open} + (ESC.test(v) ? esc(v) : v) + ${close};`;
    else if (kind === 'n') body = `if (typeof v !== 'number' || !isFinite(v)) bad(${owner}, ${f}, 'a number', v); s += ${open} + v + ${close};`;
    else if (kind === 'b') body = `if (typeof v !== 'boolean') bad(${owner}, ${f}, 'a boolean', v); s += v ? ${q(`<${tag}>true</${tag}>`)} : ${q(`<${tag}>false</${tag}>`)};`;
    else if (kind === 't') body = `s += ${open} + scalar('t', v, ${owner}, ${f}) + ${close};`;
    else if ('item' in kind) body = `s += ${ref(listWriter(tag, kind, shape.name, field))}(v);`;
    else body = `if (typeof v !== 'object') bad(${owner}, ${f}, 'an object', v); s += ${open} + ${ref(lazyStruct(kind))}(v) + ${close};`;
    cases += `case ${f}: { ${body} break; }\n`;
  }
  const src =
    `return function write_${shape.name}(o, skip) {\n let s = '';\n for (const k in o) {\n  const v = o[k];\n` +
    `  if (v === undefined || v === null || (skip !== undefined && skip.has(k))) continue;\n  switch (k) {\n${cases}` +
    `  default: unknown(${owner}, k);\n  }\n }\n return s;\n};`;
  w = new Function('h', 'ESC', 'esc', 'bad', 'unknown', 'scalar', 'isFinite', src)(helpers, ESC, xmlEscape, bad, unknownField, scalar, Number.isFinite) as StructWriter;
  writers.set(shape, w);
  return w;
}

function lazyStruct(shape: StructShape): StructWriter {
  let w: StructWriter | undefined;
  return (o, skip) => (w ??= structWriter(shape))(o, skip);
}

function listWriter(tag: string, kind: ListShape, owner: string, field: string): ValueWriter {
  const open = `<${tag}>`;
  const close = `</${tag}>`;
  const empty = `<${tag}/>`;
  const item = kind.item;
  let one: ValueWriter;
  if (typeof item === 'string') one = (x) => `<item>${scalar(item, x, owner, field)}</item>`;
  else if ('item' in item) one = listWriter('item', item, owner, field);
  else {
    const w = lazyStruct(item);
    one = (x) => (typeof x === 'object' && x !== null ? `<item>${w(x as Record<string, unknown>)}</item>` : bad(owner, field, `a list of ${item.name}`, x));
  }
  return (v) => {
    if (!Array.isArray(v)) return bad(owner, field, 'an array', v);
    if (v.length === 0) return empty;
    let s = open;
    for (const x of v) if (x !== undefined && x !== null) s += one(x);
    return s + close;
  };
}

/** `<tag>..</tag>` for one member; '' when the value is undefined/null (the SDK then leaves it undefined). */
export function xmlField(tag: string, kind: Kind, v: unknown, owner: string, field: string): string {
  if (v === undefined || v === null) return '';
  if (typeof kind === 'string') return `<${tag}>${scalar(kind, v, owner, field)}</${tag}>`;
  if ('item' in kind) return listWriter(tag, kind, owner, field)(v);
  if (typeof v !== 'object') return bad(owner, field, `an object (${kind.name})`, v);
  return `<${tag}>${structWriter(kind)(v as Record<string, unknown>)}</${tag}>`;
}

/** The members of one structure, in the object's own key order. Unknown keys throw; `skip` keys are left out. */
export function xmlStruct(shape: StructShape, obj: Record<string, unknown>, skip?: ReadonlySet<string>): string {
  return structWriter(shape)(obj, skip);
}

/** `<item>..</item>` for one list member. */
export function xmlItem(shape: StructShape, obj: object, skip?: ReadonlySet<string>): string {
  return `<item>${xmlStruct(shape, obj as Record<string, unknown>, skip)}</item>`;
}
