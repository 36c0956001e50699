// AWS semantics as a table of cases: EC2 API objects (the SDK's own shapes) mapped by providers/aws/map.ts and
// judged by the engine. Each expectation is written from AWS's documentation:
//  [rt]   https://docs.aws.amazon.com/vpc/latest/userguide/subnet-route-tables.html - explicit association, else the
//         main table; a subnet is public when its route for the destination goes to an igw-; 0.0.0.0/0 does not
//         include IPv6 (::/0 needs its own route); longest prefix match; blackhole routes
//  [eigw] https://docs.aws.amazon.com/vpc/latest/userguide/egress-only-internet-gateway.html - no inbound
//  [nat]  https://docs.aws.amazon.com/vpc/latest/userguide/vpc-nat-gateway.html - NAT gateways do not accept inbound connections
//  [acl]  https://docs.aws.amazon.com/vpc/latest/userguide/nacl-rules.html - lowest rule number first, first match
//         applies, final * deny; stateless: the reply needs an outbound entry for the client's ephemeral ports
//  [sg]   https://docs.aws.amazon.com/vpc/latest/userguide/vpc-security-groups.html - allow only, union of all
//         groups on the ENI, -1 = all protocols/ports, group references admit members of that group only
//  [pl]   https://docs.aws.amazon.com/vpc/latest/userguide/managed-prefix-lists.html
//  [ifc]  ../../../shared/docs/interface.md - return ports 49152-65535; access summary (ssm)
import type { Instance as Ec2Instance, IpPermission, NetworkAcl, NetworkAclEntry, Route, RouteTable, SecurityGroup } from '@aws-sdk/client-ec2';
import { describe, expect, it } from 'vitest';
import { evaluate } from '../../src/engine/evaluate.js';
import { resolveSource } from '../../src/engine/sources.js';
import { INVENTORY_SCHEMA_VERSION, type Inventory } from '../../src/model/inventory.js';
import { earlyGroup, mapRegion } from '../../providers/aws/map.js';

const VPC = 'vpc-0a1';
const SUBNET = 'subnet-0pub';

const perm = (p: Partial<IpPermission> & { cidr?: string[]; cidr6?: string[] }): IpPermission => ({
  IpProtocol: 'tcp',
  FromPort: 3389,
  ToPort: 3389,
  ...p,
  IpRanges: (p.cidr ?? []).map((CidrIp) => ({ CidrIp })),
  Ipv6Ranges: (p.cidr6 ?? []).map((CidrIpv6) => ({ CidrIpv6 })),
});
const sg = (id: string, perms: IpPermission[]): SecurityGroup => ({ GroupId: id, GroupName: id.replace('sg-', ''), VpcId: VPC, IpPermissions: perms });
const rdpWorld = sg('sg-rdp-world', [perm({ cidr: ['0.0.0.0/0'] })]);

const route = (dest: string, target: string, state: 'active' | 'blackhole' = 'active'): Route => ({
  ...(dest.startsWith('pl-') ? { DestinationPrefixListId: dest } : dest.includes(':') ? { DestinationIpv6CidrBlock: dest } : { DestinationCidrBlock: dest }),
  ...(target === 'local' || target.startsWith('igw-') ? { GatewayId: target } : target.startsWith('nat-') ? { NatGatewayId: target } : target.startsWith('eigw-') ? { EgressOnlyInternetGatewayId: target } : { TransitGatewayId: target }),
  State: state,
  Origin: 'CreateRoute',
});
const table = (id: string, routes: Route[], assoc: { main?: boolean; subnet?: string }): RouteTable => ({
  RouteTableId: id,
  VpcId: VPC,
  Routes: [route('10.0.0.0/16', 'local'), ...routes],
  Associations: [{ Main: !!assoc.main, ...(assoc.subnet ? { SubnetId: assoc.subnet } : {}), RouteTableId: id }],
});
const publicRt = table('rtb-public', [route('0.0.0.0/0', 'igw-01'), route('::/0', 'igw-01')], { subnet: SUBNET });

const entry = (n: number, action: 'allow' | 'deny', cidr: string, o: { egress?: boolean; protocol?: string; from?: number; to?: number } = {}): NetworkAclEntry => ({
  RuleNumber: n,
  RuleAction: action,
  Egress: !!o.egress,
  Protocol: o.protocol ?? '-1',
  ...(cidr.includes(':') ? { Ipv6CidrBlock: cidr } : { CidrBlock: cidr }),
  ...(o.from !== undefined ? { PortRange: { From: o.from, To: o.to ?? o.from } } : {}),
});
/** The default ACL: allow all in and out (100 IPv4, 101 IPv6), then the * entries (32767, 32768). */
const defaultEntries = (egress: boolean) => [entry(100, 'allow', '0.0.0.0/0', { egress }), entry(101, 'allow', '::/0', { egress }), entry(32767, 'deny', '0.0.0.0/0', { egress }), entry(32768, 'deny', '::/0', { egress })];
const acl = (inbound: NetworkAclEntry[] = defaultEntries(false), outbound: NetworkAclEntry[] = defaultEntries(true)): NetworkAcl => ({
  NetworkAclId: 'acl-01',
  VpcId: VPC,
  IsDefault: false,
  Associations: [{ SubnetId: SUBNET, NetworkAclId: 'acl-01' }],
  Entries: [...inbound, ...outbound],
});
const star = (egress: boolean) => [entry(32767, 'deny', '0.0.0.0/0', { egress }), entry(32768, 'deny', '::/0', { egress })];

const ec2 = (o: { groups?: string[]; publicIp?: string | null; ipv6?: string; state?: string; subnet?: string } = {}): Ec2Instance => ({
  InstanceId: 'i-0win',
  State: { Name: (o.state ?? 'running') as 'running', Code: 16 },
  Platform: 'windows' as Ec2Instance['Platform'], // the wire value is lower-case, whatever the SDK's type says
  PlatformDetails: 'Windows',
  Placement: { AvailabilityZone: 'eu-west-1a' },
  VpcId: VPC,
  SubnetId: o.subnet ?? SUBNET,
  Tags: [{ Key: 'Name', Value: 'win-1' }],
  NetworkInterfaces: [
    {
      NetworkInterfaceId: 'eni-01',
      SubnetId: o.subnet ?? SUBNET,
      VpcId: VPC,
      PrivateIpAddress: '10.0.1.10',
      Attachment: { DeviceIndex: 0 },
      Groups: (o.groups ?? ['sg-rdp-world']).map((GroupId) => ({ GroupId })),
      ...(o.publicIp === null ? {} : { Association: { PublicIp: o.publicIp ?? '54.1.2.3', IpOwnerId: 'amazon' } }),
      ...(o.ipv6 ? { Ipv6Addresses: [{ Ipv6Address: o.ipv6 }] } : {}),
    },
  ],
});

interface Case {
  name: string;
  sgs?: SecurityGroup[];
  routeTables?: RouteTable[];
  acl?: NetworkAcl;
  instance?: Ec2Instance;
  prefixLists?: Record<string, string[]>;
  ssmOnline?: boolean;
  source?: string;
  expect: 'reachable' | 'partial' | 'blocked' | 'unknown';
  deciding?: { layer: string; rule: string }[];
  allowed?: string[];
  access?: string;
}

const OFFICE = '81.2.69.0/24';

const cases: Case[] = [
  { name: 'SG open to 0.0.0.0/0 in a public subnet with a public IP: reachable [sg][rt]', expect: 'reachable', deciding: [{ layer: 'security groups', rule: 'inbound tcp 3389 from 0.0.0.0/0' }, { layer: 'route', rule: '0.0.0.0/0 -> igw-01' }, { layer: 'network ACL', rule: 'rule 100' }], access: 'exposed' },
  { name: 'SG open to the world in a private subnet (0.0.0.0/0 -> NAT): not exposed [nat]', routeTables: [table('rtb-private', [route('0.0.0.0/0', 'nat-01')], { subnet: SUBNET })], expect: 'blocked', deciding: [{ layer: 'route', rule: '0.0.0.0/0 -> nat-01' }], access: 'private-only' },
  { name: 'no public IP: the internet has no address to reach [rt]', instance: ec2({ publicIp: null }), expect: 'blocked', deciding: [{ layer: 'address', rule: 'no usable address' }] },
  { name: 'the main route table decides when the subnet has no explicit association [rt]', routeTables: [table('rtb-main', [route('0.0.0.0/0', 'igw-01')], { main: true })], expect: 'reachable', deciding: [{ layer: 'route', rule: '0.0.0.0/0 -> igw-01' }] },
  { name: 'an explicit association beats the main table [rt]', routeTables: [table('rtb-main', [route('0.0.0.0/0', 'igw-01')], { main: true }), table('rtb-explicit', [route('0.0.0.0/0', 'nat-01')], { subnet: SUBNET })], expect: 'blocked', deciding: [{ layer: 'route', rule: '0.0.0.0/0 -> nat-01' }] },
  { name: 'longest prefix wins: the office range routes to the igw, the rest to a NAT [rt]', routeTables: [table('rtb-mixed', [route('0.0.0.0/0', 'nat-01'), route(OFFICE, 'igw-01')], { subnet: SUBNET })], expect: 'partial', allowed: [OFFICE] },
  { name: 'a blackhole route carries nothing [rt]', routeTables: [table('rtb-dead', [route('0.0.0.0/0', 'igw-gone', 'blackhole')], { subnet: SUBNET })], expect: 'blocked', deciding: [{ layer: 'route', rule: '0.0.0.0/0 -> igw-gone' }] },
  { name: 'NACL deny at rule 90 before an allow at 100: blocked [acl]', acl: acl([entry(90, 'deny', '0.0.0.0/0', { protocol: '6', from: 3389 }), entry(100, 'allow', '0.0.0.0/0'), ...star(false)]), expect: 'blocked', deciding: [{ layer: 'network ACL', rule: 'rule 90' }] },
  { name: 'NACL allow at 100 before a deny at 200: the first match applies [acl]', acl: acl([entry(100, 'allow', '0.0.0.0/0', { protocol: '6', from: 3389 }), entry(200, 'deny', '0.0.0.0/0'), ...star(false)]), expect: 'reachable', deciding: [{ layer: 'network ACL', rule: 'rule 100' }] },
  { name: 'NACL with nothing but the * entries: blocked by rule * [acl]', acl: acl(star(false)), expect: 'blocked', deciding: [{ layer: 'network ACL', rule: 'rule *' }] },
  { name: 'NACL port range 3000-4000 (protocol 6) matches 3389 [acl]', acl: acl([entry(100, 'allow', '0.0.0.0/0', { protocol: '6', from: 3000, to: 4000 }), ...star(false)]), expect: 'reachable' },
  { name: 'NACL udp (17) entry does not admit tcp:3389 [acl]', acl: acl([entry(100, 'allow', '0.0.0.0/0', { protocol: '17', from: 3389 }), ...star(false)]), expect: 'blocked', deciding: [{ layer: 'network ACL', rule: 'rule *' }] },
  { name: 'stateless: outbound allows only 443, so the reply is denied by the outbound * [acl][ifc]', acl: acl(undefined, [entry(100, 'allow', '0.0.0.0/0', { egress: true, protocol: '6', from: 443 }), ...star(true)]), expect: 'blocked', deciding: [{ layer: 'network ACL (return traffic)', rule: 'rule *' }] },
  { name: 'stateless: outbound 1024-65535 covers the ephemeral ports [acl]', acl: acl(undefined, [entry(100, 'allow', '0.0.0.0/0', { egress: true, protocol: '6', from: 1024, to: 65535 }), ...star(true)]), expect: 'reachable', deciding: [{ layer: 'network ACL (return traffic)', rule: 'rule 100' }] },
  { name: 'stateless: a deny for part of the ephemeral range first blocks the reply [acl][ifc]', acl: acl(undefined, [entry(50, 'deny', '0.0.0.0/0', { egress: true, protocol: '6', from: 50000, to: 50100 }), entry(100, 'allow', '0.0.0.0/0', { egress: true }), ...star(true)]), expect: 'blocked', deciding: [{ layer: 'network ACL (return traffic)', rule: 'rule 50' }] },
  { name: 'stateless: two outbound entries that together cover 49152-65535 allow the reply [acl]', acl: acl(undefined, [entry(100, 'allow', '0.0.0.0/0', { egress: true, protocol: '6', from: 49152, to: 60000 }), entry(110, 'allow', '0.0.0.0/0', { egress: true, protocol: '6', from: 60001, to: 65535 }), ...star(true)]), expect: 'reachable', deciding: [{ layer: 'network ACL (return traffic)', rule: 'rule 110' }] },
  { name: 'stateless: the reply allowed to the office only: partial [acl]', acl: acl(undefined, [entry(100, 'allow', OFFICE, { egress: true }), ...star(true)]), expect: 'partial', allowed: [OFFICE] },
  { name: 'SGs are a union: one group admits SSH, another RDP from the office [sg]', sgs: [sg('sg-ssh', [perm({ FromPort: 22, ToPort: 22, cidr: ['0.0.0.0/0'] })]), sg('sg-office', [perm({ cidr: [OFFICE] })])], instance: ec2({ groups: ['sg-ssh', 'sg-office'] }), expect: 'partial', allowed: [OFFICE], deciding: [{ layer: 'security groups', rule: `inbound tcp 3389 from ${OFFICE}` }] },
  { name: 'IpProtocol -1 opens every port [sg]', sgs: [sg('sg-all', [{ IpProtocol: '-1', IpRanges: [{ CidrIp: '0.0.0.0/0' }] }])], instance: ec2({ groups: ['sg-all'] }), expect: 'reachable', deciding: [{ layer: 'security groups', rule: 'inbound all traffic from 0.0.0.0/0' }] },
  { name: 'port range 3380-3390 includes 3389 [sg]', sgs: [sg('sg-range', [perm({ FromPort: 3380, ToPort: 3390, cidr: ['0.0.0.0/0'] })])], instance: ec2({ groups: ['sg-range'] }), expect: 'reachable' },
  { name: 'tcp 0-65535 includes 3389 [sg]', sgs: [sg('sg-tcp', [perm({ FromPort: 0, ToPort: 65535, cidr: ['0.0.0.0/0'] })])], instance: ec2({ groups: ['sg-tcp'] }), expect: 'reachable' },
  { name: 'udp 3389 does not open tcp:3389 [sg]', sgs: [sg('sg-udp', [perm({ IpProtocol: 'udp', cidr: ['0.0.0.0/0'] })])], instance: ec2({ groups: ['sg-udp'] }), expect: 'blocked', deciding: [{ layer: 'security groups', rule: 'no security group rule' }] },
  { name: 'a group reference never admits the internet [sg]', sgs: [sg('sg-ref', [perm({ UserIdGroupPairs: [{ GroupId: 'sg-bastion' }] })])], instance: ec2({ groups: ['sg-ref'] }), expect: 'blocked', deciding: [{ layer: 'security groups', rule: 'no security group rule' }] },
  { name: 'a prefix list is expanded to its entries [pl]', sgs: [sg('sg-pl', [perm({ PrefixListIds: [{ PrefixListId: 'pl-office' }] })])], instance: ec2({ groups: ['sg-pl'] }), prefixLists: { 'pl-office': [OFFICE, '81.2.70.0/24'] }, expect: 'partial', allowed: ['81.2.69.0/24', '81.2.70.0/24'] },
  { name: 'a prefix list that could not be read makes the verdict unknown [pl]', sgs: [sg('sg-pl', [perm({ PrefixListIds: [{ PrefixListId: 'pl-gone' }] })])], instance: ec2({ groups: ['sg-pl'] }), expect: 'unknown' },
  { name: 'IPv6: ::/0 in the SG and a ::/0 route to the igw open the IPv6 address; IPv4 stays shut -> partial [sg][rt]', sgs: [sg('sg-v6', [perm({ cidr6: ['::/0'] })])], instance: ec2({ groups: ['sg-v6'], ipv6: '2a05:d018:1:2::10' }), expect: 'partial', allowed: ['::/0'], access: 'exposed' },
  { name: 'IPv6: 0.0.0.0/0 -> igw is not a route for IPv6 [rt]', sgs: [sg('sg-v6', [perm({ cidr: ['0.0.0.0/0'], cidr6: ['::/0'] })])], routeTables: [table('rtb-v4only', [route('0.0.0.0/0', 'igw-01')], { subnet: SUBNET })], instance: ec2({ groups: ['sg-v6'], ipv6: '2a05:d018:1:2::10' }), expect: 'partial', allowed: ['0.0.0.0/0'], deciding: [{ layer: 'route', rule: 'no route' }] },
  { name: 'IPv6: an egress-only internet gateway admits no inbound connection [eigw]', sgs: [sg('sg-v6', [perm({ cidr6: ['::/0'] })])], routeTables: [table('rtb-eigw', [route('0.0.0.0/0', 'igw-01'), route('::/0', 'eigw-01')], { subnet: SUBNET })], instance: ec2({ groups: ['sg-v6'], ipv6: '2a05:d018:1:2::10', publicIp: null }), expect: 'blocked', deciding: [{ layer: 'route', rule: '::/0 -> eigw-01' }] },
  { name: 'a private source reaches the private address over a transit gateway route [rt]', routeTables: [table('rtb-private', [route('0.0.0.0/0', 'nat-01'), route('10.0.0.0/8', 'tgw-01')], { subnet: SUBNET })], sgs: [sg('sg-corp', [perm({ cidr: ['10.0.0.0/8'] })])], instance: ec2({ groups: ['sg-corp'], publicIp: null }), source: '10.0.0.0/8', expect: 'reachable', deciding: [{ layer: 'route', rule: '10.0.0.0/8 -> tgw-01' }] },
  { name: 'a private source whose reply would go to the NAT gateway cannot connect [rt]', routeTables: [table('rtb-private', [route('0.0.0.0/0', 'nat-01')], { subnet: SUBNET })], sgs: [sg('sg-corp', [perm({ cidr: ['172.16.0.0/12'] })])], instance: ec2({ groups: ['sg-corp'], publicIp: null }), source: '172.16.0.0/12', expect: 'blocked', deciding: [{ layer: 'route', rule: '0.0.0.0/0 -> nat-01' }] },
  { name: 'a stopped instance with an Elastic IP is judged on its configuration (latent exposure) [ifc]', instance: ec2({ state: 'stopped' }), expect: 'reachable' },
  { name: 'Session Manager online and nothing open: gateway-only (ssm) [ifc]', sgs: [sg('sg-none', [])], instance: ec2({ groups: ['sg-none'], publicIp: null }), ssmOnline: true, expect: 'blocked', access: 'gateway-only' },
];

/** `early`: the groups go in as the audit's listing hands them over (those naming no prefix list already mapped). */
function inventoryOf(c: Case, early = false): Inventory {
  const sgs = c.sgs ?? [rdpWorld];
  const m = mapRegion({
    account: '111122223333',
    region: 'eu-west-1',
    instances: [c.instance ?? ec2()],
    securityGroups: early ? sgs.map((g) => earlyGroup(g, '111122223333')) : sgs,
    routeTables: c.routeTables ?? [publicRt],
    networkAcls: [c.acl ?? acl()],
    prefixLists: new Map(Object.entries(c.prefixLists ?? {})),
    ssm: c.ssmOnline ? [{ InstanceId: 'i-0win', PingStatus: 'Online', AgentVersion: '3.3.40.0', PlatformType: 'Windows' }] : [],
  });
  return { schemaVersion: INVENTORY_SCHEMA_VERSION, generatedAt: '2026-01-01T00:00:00Z', scopes: [{ provider: 'aws', scope: '111122223333', status: 'ok' }], ...m };
}

describe('AWS path semantics (route, network ACL both ways, security groups)', () => {
  it.each(cases)('$name', (c) => {
    const { results, instances } = evaluate(inventoryOf(c), [resolveSource(c.source ?? 'internet')], 3389);
    const r = results[0];
    expect(r.verdict, JSON.stringify(r.reasons, null, 1)).toBe(c.expect);
    for (const d of c.deciding ?? []) expect(r.reasons, JSON.stringify(r.reasons, null, 1)).toContainEqual(expect.objectContaining(d));
    if (c.allowed) expect(r.allowedRanges).toEqual(c.allowed);
    if (c.expect === 'blocked') expect(r.allowedRanges).toEqual([]);
    if (c.access) expect(instances[0].access).toBe(c.access);
    if (c.ssmOnline) expect(instances[0].gateway).toBe('ssm');
  });

  it.each(cases)('groups mapped as their page arrives give the same inventory: $name', (c) => {
    expect(inventoryOf(c, true)).toEqual(inventoryOf(c));
  });

  it('names the instance by its Name tag, locates it by AZ, reads the OS from the platform', () => {
    const inv = inventoryOf({ name: 'x', expect: 'reachable' });
    expect(inv.instances[0]).toMatchObject({ provider: 'aws', scope: '111122223333', name: 'win-1', id: 'i-0win', location: 'eu-west-1a', os: 'windows', state: 'running' });
    expect(inv.instances[0].nics[0]).toMatchObject({ externalIPv4: '54.1.2.3', internalIPv4: '10.0.1.10', network: VPC, subnet: SUBNET });
  });
});
