/**
 * Proves the fake AWS server against the REAL SDK clients (@aws-sdk/client-ec2, -sts, -organizations, -ssm and
 * @aws-sdk/credential-providers), all pointed at 127.0.0.1 with explicit credentials.
 */
process.env.AWS_EC2_METADATA_DISABLED = 'true';

import net from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  DescribeInstancesCommand,
  DescribeManagedPrefixListsCommand,
  DescribeNetworkAclsCommand,
  DescribeNetworkInterfacesCommand,
  DescribeRegionsCommand,
  DescribeRouteTablesCommand,
  DescribeSecurityGroupsCommand,
  DescribeSubnetsCommand,
  DescribeVpcsCommand,
  EC2Client,
  GetManagedPrefixListEntriesCommand,
  paginateDescribeInstances,
  paginateDescribeManagedPrefixLists,
  paginateDescribeNetworkAcls,
  paginateDescribeNetworkInterfaces,
  paginateDescribeRouteTables,
  paginateDescribeSecurityGroups,
  paginateDescribeSubnets,
  paginateDescribeVpcs,
  paginateGetManagedPrefixListEntries,
  type Instance,
  type Reservation,
  type SecurityGroup,
} from '@aws-sdk/client-ec2';
import * as Ec2Sdk from '@aws-sdk/client-ec2';
import { AssumeRoleCommand, GetCallerIdentityCommand, STSClient } from '@aws-sdk/client-sts';
import { ListAccountsCommand, OrganizationsClient, paginateListAccounts } from '@aws-sdk/client-organizations';
import { DescribeInstanceInformationCommand, paginateDescribeInstanceInformation, SSMClient } from '@aws-sdk/client-ssm';
import { fromTemporaryCredentials } from '@aws-sdk/credential-providers';
import { NormalizedSchema } from '@smithy/core/schema';
import { ConfiguredRetryStrategy } from '@smithy/core/retry';
import { startFakeAws, type AwsWorld, type FakeAws, type FakeAwsOptions } from './server.js';
import * as S from './shapes.js';
import {
  aclEntry,
  instance,
  ipPermission,
  networkAcl,
  orgAccount,
  prefixList,
  rdpFrom,
  routeTable,
  securityGroup,
  ssmInstance,
  subnet,
  tags,
  vpc,
  WINDOWS_PLATFORM,
} from './fixtures.js';

// Guard: every socket this file opens must go to loopback (no IMDS at 169.254.169.254, no *.amazonaws.com).
const LOOPBACK = ['127.0.0.1', 'localhost', '::1', 'unix'];
const connectTargets: string[] = [];
const origConnect = net.Socket.prototype.connect;
net.Socket.prototype.connect = function (this: net.Socket, ...args: any[]) {
  const a0 = args[0];
  const opt = Array.isArray(a0) ? a0[0] : a0;
  const host: string =
    typeof opt === 'object' && opt !== null ? (opt.path ? 'unix' : (opt.host ?? 'localhost')) : typeof args[1] === 'string' ? args[1] : 'localhost';
  connectTargets.push(host);
  if (!LOOPBACK.includes(host)) {
    process.nextTick(() => this.destroy(new Error(`blocked non-loopback connection to ${host}`)));
    return this;
  }
  return (origConnect as any).apply(this, args);
} as any;
afterAll(() => {
  net.Socket.prototype.connect = origConnect;
  expect(connectTargets.length).toBeGreaterThan(0);
  expect(connectTargets.filter((h) => !LOOPBACK.includes(h))).toEqual([]);
});

// ------------------------------------------------------------------------------------------------
// The world
// ------------------------------------------------------------------------------------------------

const MGMT = '111111111111';
const PROD = '222222222222';
const SOLO = '333333333333';
const SUSP = '444444444444';
const SINK = '555555555555';
const KEY_MGMT = 'AKIAMGMTEXAMPLE00001';
const KEY_PROD = 'AKIAPRODEXAMPLE00001';
const KEY_SOLO = 'AKIASOLOEXAMPLE00001';
const KEY_SINK = 'AKIASINKEXAMPLE00001';
const ROLE = `arn:aws:iam::${PROD}:role/RdpAudit`;
const ROLE_EXT = `arn:aws:iam::${PROD}:role/path/ExternalAudit`;

const creds = (accessKeyId: string) => ({ accessKeyId, secretAccessKey: 'fake-secret' });

/** eu-west-1 of the management account: one VPC with a public and a private subnet, the usual layers. */
function euWest1(account: string) {
  const v = vpc({ account, id: 'vpc-0a1b2c3d4e5f60001', cidr: '10.0.0.0/16', ipv6Cidr: '2001:db8:1234:1a00::/56', tags: { Name: 'main' } });
  const pub = subnet({ account, id: 'subnet-0a1b2c3d4e5f60001', vpcId: v.VpcId!, cidr: '10.0.1.0/24', az: 'eu-west-1a', mapPublicIp: true, ipv6Cidr: '2001:db8:1234:1a00::/64' });
  const priv = subnet({ account, id: 'subnet-0a1b2c3d4e5f60002', vpcId: v.VpcId!, cidr: '10.0.2.0/24', az: 'eu-west-1b', tags: { Name: 'private' } });
  const corp = prefixList({ account, id: 'pl-0aaaa1111bbbb2222', name: 'corp-offices', cidrs: ['198.51.100.0/24', { cidr: '203.0.113.0/25', description: 'Berlin' }] });
  const cf = prefixList({ account, id: 'pl-4fa04526', name: 'com.amazonaws.global.cloudfront.origin-facing', cidrs: ['120.52.22.96/27', '205.251.249.0/24'], ownerId: 'AWS' });
  const sgOpen = securityGroup({ account, id: 'sg-0aaa1111aaaa11111', name: 'rdp-open', vpcId: v.VpcId!, ingress: [rdpFrom(['0.0.0.0/0'], ['::/0'])] });
  const sgCorp = securityGroup({
    account,
    id: 'sg-0bbb2222bbbb22222',
    name: 'rdp-corp',
    vpcId: v.VpcId!,
    ingress: [
      ipPermission({ protocol: 'tcp', from: 3380, to: 3390, prefixLists: [corp.PrefixListId!] }),
      ipPermission({ protocol: 'tcp', port: 3389, cidrs: [{ cidr: '192.0.2.10/32', description: 'jump host' }] }),
    ],
    tags: { team: 'it' },
  });
  const sgApp = securityGroup({
    account,
    id: 'sg-0ccc3333cccc33333',
    name: 'app',
    vpcId: v.VpcId!,
    ingress: [ipPermission({ protocol: '-1', groups: [{ GroupId: 'sg-0ccc3333cccc33333', UserId: account, Description: 'self' }] })],
    egress: [],
  });
  const sgDefault = securityGroup({ account, id: 'sg-0ddd4444dddd44444', name: 'default', vpcId: v.VpcId!, description: 'default VPC security group' });
  const winPub = instance({
    account,
    id: 'i-0aaaaaaaaaaaaaaa1',
    name: 'win-public',
    az: 'eu-west-1a',
    subnetId: pub.SubnetId!,
    vpcId: v.VpcId!,
    privateIp: '10.0.1.10',
    publicIp: '54.194.252.215',
    secondaryIps: [{ ip: '10.0.1.11', publicIp: '52.16.0.1' }],
    ipv6: ['2001:db8:1234:1a00::123'],
    securityGroups: [sgOpen, sgCorp],
    windows: true,
    tags: { env: 'prod' },
  });
  const winPriv = instance({ account, id: 'i-0aaaaaaaaaaaaaaa2', name: 'win-private', az: 'eu-west-1b', subnetId: priv.SubnetId!, vpcId: v.VpcId!, privateIp: '10.0.2.20', securityGroups: [sgCorp], windows: true });
  const winEip = instance({
    account,
    id: 'i-0aaaaaaaaaaaaaaa3',
    name: 'win-eip-stopped',
    subnetId: pub.SubnetId!,
    vpcId: v.VpcId!,
    privateIp: '10.0.1.30',
    publicIp: '34.240.0.3',
    eip: true,
    state: 'stopped',
    securityGroups: [sgOpen],
    windows: true,
  });
  const linux = instance({ account, id: 'i-0aaaaaaaaaaaaaaa4', name: 'lin', subnetId: pub.SubnetId!, vpcId: v.VpcId!, privateIp: '10.0.1.40', publicIp: '54.0.0.4', securityGroups: [sgApp] });
  const dual: Reservation = {
    ReservationId: 'r-0feedfacefeedface',
    OwnerId: account,
    RequesterId: '940372691376',
    Groups: [],
    Instances: [
      instance({ account, id: 'i-0aaaaaaaaaaaaaaa5', name: 'asg-1', subnetId: priv.SubnetId!, vpcId: v.VpcId!, privateIp: '10.0.2.51', securityGroups: [sgDefault], windows: true }),
      instance({ account, id: 'i-0aaaaaaaaaaaaaaa6', name: 'asg-2', subnetId: priv.SubnetId!, vpcId: v.VpcId!, privateIp: '10.0.2.52', securityGroups: [sgDefault], windows: true }),
    ],
  };
  const rtPub = routeTable({ account, id: 'rtb-0a1b2c3d4e5f60001', vpcId: v.VpcId!, vpcCidr: '10.0.0.0/16', vpcIpv6Cidr: '2001:db8:1234:1a00::/56', igw: 'igw-0a1b2c3d4e5f60001', subnetIds: [pub.SubnetId!] });
  const rtMain = routeTable({ account, id: 'rtb-0a1b2c3d4e5f60002', vpcId: v.VpcId!, vpcCidr: '10.0.0.0/16', main: true, nat: 'nat-0a1b2c3d4e5f60001' });
  rtMain.Routes!.push({ DestinationPrefixListId: corp.PrefixListId!, GatewayId: 'vgw-0123', Origin: 'CreateRoute', State: 'blackhole' });
  const aclDefault = networkAcl({ account, id: 'acl-0a1b2c3d4e5f60001', vpcId: v.VpcId!, isDefault: true, subnetIds: [pub.SubnetId!] });
  const aclPriv = networkAcl({
    account,
    id: 'acl-0a1b2c3d4e5f60002',
    vpcId: v.VpcId!,
    subnetIds: [priv.SubnetId!],
    entries: [
      aclEntry({ rule: 90, action: 'deny', protocol: '6', cidr: '0.0.0.0/0', from: 3389 }),
      aclEntry({ rule: 100, action: 'allow', protocol: '-1', cidr: '10.0.0.0/8' }),
      aclEntry({ rule: 110, action: 'allow', protocol: '6', cidr: '0.0.0.0/0', from: 1024, to: 65535, egress: true }),
      aclEntry({ rule: 120, action: 'allow', protocol: '1', cidr: '0.0.0.0/0', egress: true }),
    ],
  });
  aclPriv.Entries!.push({ ...aclEntry({ rule: 130, action: 'allow', protocol: '1', cidr: '10.0.0.0/8' }), IcmpTypeCode: { Code: -1, Type: 8 } });
  return {
    vpc: v,
    subnets: [pub, priv],
    prefixLists: [corp, cf],
    securityGroups: [sgOpen, sgCorp, sgApp, sgDefault],
    instances: [winPub, winPriv, winEip, linux, dual] as (Instance | Reservation)[],
    routeTables: [rtPub, rtMain],
    networkAcls: [aclDefault, aclPriv],
    ssm: [
      ssmInstance({ instanceId: winPub.InstanceId!, ping: 'Online', ip: '10.0.1.10' }),
      ssmInstance({ instanceId: winPriv.InstanceId!, ping: 'ConnectionLost', ip: '10.0.2.20' }),
      ssmInstance({ instanceId: linux.InstanceId!, ping: 'Inactive', platform: 'Linux', agentVersion: '3.2.582.0' }),
    ],
  };
}

/** Many small things, for the paginators. */
function manyRegion(account: string) {
  const vpcs = Array.from({ length: 7 }, (_, i) => vpc({ account, cidr: `10.${i}.0.0/16` }));
  const v = vpcs[0]!.VpcId!;
  const subnets = Array.from({ length: 11 }, (_, i) => subnet({ account, vpcId: v, cidr: `10.0.${i}.0/24` }));
  const sgs = Array.from({ length: 12 }, (_, i) => securityGroup({ account, name: `sg-${i}`, vpcId: v, ingress: [rdpFrom([`10.${i}.0.0/16`])] }));
  const flatInstances = Array.from({ length: 17 }, (_, i) =>
    instance({ account, name: `vm-${i}`, subnetId: subnets[i % 11]!.SubnetId!, vpcId: v, privateIp: `10.0.${i % 11}.${10 + i}`, windows: i % 2 === 0 }),
  );
  const reservation: Reservation = {
    ReservationId: 'r-0123456789abcdef0',
    OwnerId: account,
    Groups: [],
    Instances: Array.from({ length: 6 }, (_, i) => instance({ account, name: `batch-${i}`, subnetId: subnets[0]!.SubnetId!, vpcId: v, privateIp: `10.0.0.${100 + i}` })),
  };
  const rts = Array.from({ length: 12 }, (_, i) => routeTable({ account, vpcId: v, vpcCidr: '10.0.0.0/16', main: i === 0, igw: i % 2 ? 'igw-1' : undefined }));
  const acls = Array.from({ length: 11 }, (_, i) => networkAcl({ account, vpcId: v, isDefault: i === 0 }));
  const pls = Array.from({ length: 3 }, (_, i) => prefixList({ account, name: `pl-${i}`, cidrs: Array.from({ length: 12 }, (_, j) => `172.${16 + i}.${j}.0/24`) }));
  const ssm = Array.from({ length: 12 }, (_, i) => ssmInstance({ instanceId: flatInstances[i]!.InstanceId! }));
  return { vpcs, subnets, securityGroups: sgs, instances: [...flatInstances.slice(0, 9), reservation, ...flatInstances.slice(9)], routeTables: rts, networkAcls: acls, prefixLists: pls, ssm };
}

function buildWorld(): AwsWorld {
  const mg = euWest1(MGMT);
  const pr = euWest1(PROD);
  const many = manyRegion(MGMT);
  const prodVm = instance({ account: PROD, id: 'i-0bbbbbbbbbbbbbbb1', name: 'prod-win', subnetId: pr.subnets[0]!.SubnetId!, vpcId: pr.vpc.VpcId!, publicIp: '63.32.0.1', windows: true });
  return {
    accounts: {
      [MGMT]: {
        accessKeys: [KEY_MGMT, { accessKeyId: 'AKIAMGMTADMIN0000001', arn: `arn:aws:iam::${MGMT}:user/admin`, userId: 'AIDAADMINEXAMPLE0001' }],
        regions: {
          'eu-west-1': { ...mg, vpcs: [mg.vpc] },
          'us-east-1': {
            instances: [instance({ account: MGMT, id: 'i-0ccccccccccccccc1', name: 'use1-win', az: 'us-east-1a', subnetId: 'subnet-use1', vpcId: 'vpc-use1', windows: true })],
          },
          'eu-north-1': many,
          'af-south-1': { optIn: 'opted-in', instances: [instance({ account: MGMT, name: 'cpt', az: 'af-south-1a', subnetId: 'subnet-cpt', vpcId: 'vpc-cpt' })] },
          'me-south-1': { optIn: 'not-opted-in' },
          'ap-southeast-2': { opErrors: { 'ec2.DescribeSecurityGroups': 'UnauthorizedOperation', 'ec2.DescribeRouteTables': 'RequestLimitExceeded' } },
        },
      },
      [PROD]: {
        accessKeys: [KEY_PROD],
        regions: { 'eu-west-1': { ...pr, vpcs: [pr.vpc], instances: [prodVm] }, 'us-east-1': {} },
        opErrors: { 'organizations.ListAccounts': 'AccessDeniedException' },
      },
      [SOLO]: { accessKeys: [KEY_SOLO], regions: { 'eu-west-1': {} } },
      [SINK]: { accessKeys: [KEY_SINK], regions: {} },
    },
    roles: {
      [ROLE]: { trustedBy: [MGMT] },
      [ROLE_EXT]: { trustedBy: ['*'], externalId: 'ext-123', maxSessionDuration: 7200 },
    },
    organization: {
      managementAccountId: MGMT,
      accounts: [
        orgAccount({ id: MGMT, name: 'management', managementAccountId: MGMT }),
        orgAccount({ id: PROD, name: 'prod', managementAccountId: MGMT }),
        orgAccount({ id: SUSP, name: 'old', managementAccountId: MGMT, status: 'SUSPENDED' }),
      ],
    },
  };
}

async function failure(p: Promise<unknown>): Promise<any> {
  try {
    await p;
  } catch (e) {
    return e;
  }
  throw new Error('expected the call to fail');
}

function flattenReservations(rs: Reservation[] | undefined): Instance[] {
  return (rs ?? []).flatMap((r) => r.Instances ?? []);
}

function worldInstances(list: (Instance | Reservation)[] | undefined): Instance[] {
  return (list ?? []).flatMap((x) => ('Instances' in x && Array.isArray(x.Instances) ? x.Instances : [x as Instance]));
}

// ------------------------------------------------------------------------------------------------

let world: AwsWorld;
let fake: FakeAws;
const clients = {
  ec2: (region = 'eu-west-1', key = KEY_MGMT, extra: Record<string, unknown> = {}) =>
    new EC2Client({ region, endpoint: fake.endpoint, credentials: creds(key), ...extra }),
  sts: (key = KEY_MGMT, extra: Record<string, unknown> = {}) => new STSClient({ region: 'us-east-1', endpoint: fake.endpoint, credentials: creds(key), ...extra }),
  orgs: (key = KEY_MGMT, extra: Record<string, unknown> = {}) =>
    new OrganizationsClient({ region: 'us-east-1', endpoint: fake.endpoint, credentials: creds(key), ...extra }),
  ssm: (region = 'eu-west-1', key = KEY_MGMT, extra: Record<string, unknown> = {}) =>
    new SSMClient({ region, endpoint: fake.endpoint, credentials: creds(key), ...extra }),
};
/** No SDK retries. */
const once = { maxAttempts: 1 };

beforeAll(async () => {
  world = buildWorld();
  fake = await startFakeAws(world);
});
afterAll(async () => {
  await fake.close();
});

// ------------------------------------------------------------------------------------------------

describe('shapes match the SDK schemas (the XML element names the deserializer reads)', () => {
  const kindOk = (kind: S.Kind, ns: NormalizedSchema): string | undefined => {
    if (kind === 's') return ns.isStringSchema() ? undefined : 'not a string';
    if (kind === 'n') return ns.isNumericSchema() ? undefined : 'not a number';
    if (kind === 'b') return ns.isBooleanSchema() ? undefined : 'not a boolean';
    if (kind === 't') return ns.isTimestampSchema() ? undefined : 'not a timestamp';
    if ('item' in kind) {
      if (!ns.isListSchema()) return 'not a list';
      const v = ns.getValueSchema();
      if ((v.getMergedTraits().xmlName ?? 'member') !== 'item') return `list member is <${v.getMergedTraits().xmlName}>`;
      if (ns.getMergedTraits().xmlFlattened) return 'flattened list';
      return kindOk(kind.item, v);
    }
    if (!ns.isStructSchema()) return 'not a structure';
    return checkStruct(kind, ns).join('; ') || undefined;
  };
  const checkStruct = (shape: S.StructShape, ns: NormalizedSchema): string[] => {
    const members = new Map<string, NormalizedSchema>();
    for (const [name, m] of ns.structIterator()) members.set(name, m);
    const problems: string[] = [];
    for (const [name, [tag, kind]] of Object.entries(shape.fields)) {
      const m = members.get(name);
      if (!m) {
        problems.push(`${shape.name}.${name}: no such member in the SDK`);
        continue;
      }
      const xmlName = m.getMemberTraits().xmlName ?? name;
      if (xmlName !== tag) problems.push(`${shape.name}.${name}: SDK reads <${xmlName}>, fake writes <${tag}>`);
      const k = kindOk(kind, m);
      if (k) problems.push(`${shape.name}.${name}: ${k}`);
    }
    return problems;
  };

  for (const [action, r] of Object.entries(S.EC2_RESULTS)) {
    it(`${action}: ${r.member} <${r.tag}> and every field of ${r.item.name}`, () => {
      const result = NormalizedSchema.of((Ec2Sdk as any)[`${action}Result$`]);
      const members = new Map<string, NormalizedSchema>();
      for (const [name, m] of result.structIterator()) members.set(name, m);
      const list = members.get(r.member)!;
      expect(list.getMemberTraits().xmlName).toBe(r.tag);
      expect(list.getValueSchema().getMergedTraits().xmlName).toBe('item');
      if (members.has('NextToken')) expect(members.get('NextToken')!.getMemberTraits().xmlName).toBe('nextToken');
      expect(checkStruct(r.item, list.getValueSchema())).toEqual([]);
    });
  }
});

describe('every field round-trips through the real EC2 client', () => {
  /** A value for every field of a shape. */
  const sample = (shape: S.StructShape, seed: string): Record<string, unknown> => {
    const out: Record<string, unknown> = {};
    let n = 1;
    for (const [name, [, kind]] of Object.entries(shape.fields)) out[name] = value(kind, `${seed}${name}`, n++);
    return out;
  };
  const value = (kind: S.Kind, seed: string, n: number): unknown => {
    if (kind === 's') return `${seed}-<&"v'>`;
    if (kind === 'n') return n;
    if (kind === 'b') return n % 2 === 0;
    if (kind === 't') return new Date(Date.UTC(2024, 0, 1, 0, 0, n));
    if ('item' in kind) return [value(kind.item, `${seed}0`, n), value(kind.item, `${seed}1`, n + 1)];
    return sample(kind, seed);
  };

  let sink: Record<string, any>;
  let ec2: EC2Client;
  beforeAll(() => {
    const inst = sample(S.Instance, 'i');
    const res = { ...sample(S.Reservation, 'r'), Instances: [inst] };
    const pl = { ...sample(S.ManagedPrefixList, 'pl'), PrefixListId: 'pl-sink', Entries: [sample(S.PrefixListEntry, 'e')] };
    sink = {
      res,
      sg: sample(S.SecurityGroup, 'sg'),
      subnet: sample(S.Subnet, 'sn'),
      vpc: sample(S.Vpc, 'v'),
      rt: sample(S.RouteTable, 'rt'),
      acl: sample(S.NetworkAcl, 'acl'),
      pl,
      eni: sample(S.NetworkInterface, 'eni'),
    };
    world.accounts[SINK]!.regions['eu-central-1'] = {
      instances: [res as Reservation],
      securityGroups: [sink.sg],
      subnets: [sink.subnet],
      vpcs: [sink.vpc],
      routeTables: [sink.rt],
      networkAcls: [sink.acl],
      prefixLists: [pl as any],
      networkInterfaces: [sink.eni],
    };
    ec2 = clients.ec2('eu-central-1', KEY_SINK);
  });

  it('DescribeInstances: Reservation + Instance (all members incl. nested NICs, private IPs, IPv6, placement)', async () => {
    const out = await ec2.send(new DescribeInstancesCommand({}));
    expect(out.Reservations).toEqual([sink.res]);
  });
  it('DescribeSecurityGroups: SecurityGroup + IpPermission + UserIdGroupPair/IpRange/Ipv6Range/PrefixListId', async () => {
    expect((await ec2.send(new DescribeSecurityGroupsCommand({}))).SecurityGroups).toEqual([sink.sg]);
  });
  it('DescribeSubnets, DescribeVpcs', async () => {
    expect((await ec2.send(new DescribeSubnetsCommand({}))).Subnets).toEqual([sink.subnet]);
    expect((await ec2.send(new DescribeVpcsCommand({}))).Vpcs).toEqual([sink.vpc]);
  });
  it('DescribeRouteTables, DescribeNetworkAcls', async () => {
    expect((await ec2.send(new DescribeRouteTablesCommand({}))).RouteTables).toEqual([sink.rt]);
    expect((await ec2.send(new DescribeNetworkAclsCommand({}))).NetworkAcls).toEqual([sink.acl]);
  });
  it('DescribeManagedPrefixLists (Entries stay server-side), GetManagedPrefixListEntries', async () => {
    const { Entries, ...pl } = sink.pl;
    expect((await ec2.send(new DescribeManagedPrefixListsCommand({}))).PrefixLists).toEqual([pl]);
    expect((await ec2.send(new GetManagedPrefixListEntriesCommand({ PrefixListId: 'pl-sink' }))).Entries).toEqual(Entries);
  });
  it('DescribeNetworkInterfaces (NetworkInterface uses TagSet, not Tags)', async () => {
    expect((await ec2.send(new DescribeNetworkInterfacesCommand({}))).NetworkInterfaces).toEqual([sink.eni]);
  });
  it('a fixture field the fake does not serve is a 500 naming it, not a silent drop', async () => {
    world.accounts[SINK]!.regions['eu-west-3'] = { securityGroups: [{ ...securityGroup({ account: SINK, name: 'x', vpcId: 'vpc-1' }), Bogus: 1 } as SecurityGroup] };
    const e = await failure(clients.ec2('eu-west-3', KEY_SINK, once).send(new DescribeSecurityGroupsCommand({})));
    expect(e.name).toBe('InternalError');
    expect(e.$metadata.httpStatusCode).toBe(500);
    expect(e.message).toContain('SecurityGroup.Bogus');
  });
});

describe('fixtures read back as the SDK reads real EC2 output', () => {
  it('DescribeInstances: reservations, instances in order, the fields an RDP audit reads', async () => {
    const out = await clients.ec2().send(new DescribeInstancesCommand({}));
    const region = world.accounts[MGMT]!.regions['eu-west-1']!;
    // Bare instances get a reservation each; the explicit reservation keeps its two instances together.
    expect(out.Reservations!.map((r) => r.Instances!.length)).toEqual([1, 1, 1, 1, 2]);
    expect(out.Reservations![4]).toMatchObject({ ReservationId: 'r-0feedfacefeedface', OwnerId: MGMT, RequesterId: '940372691376', Groups: [] });
    expect(out.Reservations![0]!.ReservationId).toMatch(/^r-0[0-9a-f]{16}$/);
    expect(out.Reservations![0]!.OwnerId).toBe(MGMT);
    expect(flattenReservations(out.Reservations)).toEqual(worldInstances(region.instances));
    const w = out.Reservations![0]!.Instances![0]!;
    expect(w.Platform).toBe('windows');
    expect(w.PlatformDetails).toBe('Windows');
    expect(w.State).toEqual({ Code: 16, Name: 'running' });
    expect(w.PublicIpAddress).toBe('54.194.252.215');
    expect(w.SecurityGroups).toEqual([
      { GroupId: 'sg-0aaa1111aaaa11111', GroupName: 'rdp-open' },
      { GroupId: 'sg-0bbb2222bbbb22222', GroupName: 'rdp-corp' },
    ]);
    const nic = w.NetworkInterfaces![0]!;
    expect(nic.Association).toMatchObject({ PublicIp: '54.194.252.215', IpOwnerId: 'amazon' });
    expect(nic.PrivateIpAddresses!.map((p) => [p.PrivateIpAddress, p.Primary, p.Association?.PublicIp, p.Association?.IpOwnerId])).toEqual([
      ['10.0.1.10', true, '54.194.252.215', 'amazon'],
      ['10.0.1.11', false, '52.16.0.1', MGMT],
    ]);
    expect(nic.Ipv6Addresses).toEqual([{ Ipv6Address: '2001:db8:1234:1a00::123', IsPrimaryIpv6: false }]);
    expect(nic.Groups!.map((g) => g.GroupId)).toEqual(['sg-0aaa1111aaaa11111', 'sg-0bbb2222bbbb22222']);
    expect([nic.SubnetId, nic.VpcId, w.SubnetId, w.VpcId]).toEqual(['subnet-0a1b2c3d4e5f60001', 'vpc-0a1b2c3d4e5f60001', 'subnet-0a1b2c3d4e5f60001', 'vpc-0a1b2c3d4e5f60001']);
    expect(w.Tags).toEqual(tags({ Name: 'win-public', env: 'prod' }));
    expect(w.LaunchTime).toEqual(new Date('2024-03-01T10:00:00.000Z'));
    // Stopped with an EIP: the address stays; the Linux instance has no Platform at all.
    const stopped = out.Reservations![2]!.Instances![0]!;
    expect([stopped.State?.Name, stopped.State?.Code, stopped.PublicIpAddress, stopped.NetworkInterfaces![0]!.Association?.IpOwnerId]).toEqual(['stopped', 80, '34.240.0.3', MGMT]);
    const lin = out.Reservations![3]!.Instances![0]!;
    expect(lin.Platform).toBeUndefined();
    expect(lin.PlatformDetails).toBe('Linux/UNIX');
    // The private instance: no public address, empty IPv6 set -> [].
    const priv = out.Reservations![1]!.Instances![0]!;
    expect(priv.PublicIpAddress).toBeUndefined();
    expect(priv.NetworkInterfaces![0]!.Ipv6Addresses).toEqual([]);
    expect(priv.NetworkInterfaces![0]!.Association).toBeUndefined();
  });

  it('DescribeSecurityGroups: ipPermissions with ranges, IPv6, prefix lists, group pairs; empty lists become []', async () => {
    const out = await clients.ec2().send(new DescribeSecurityGroupsCommand({}));
    expect(out.SecurityGroups).toEqual(world.accounts[MGMT]!.regions['eu-west-1']!.securityGroups);
    const [open, corp, app] = out.SecurityGroups!;
    expect(open!.IpPermissions).toEqual([
      { IpProtocol: 'tcp', FromPort: 3389, ToPort: 3389, UserIdGroupPairs: [], IpRanges: [{ CidrIp: '0.0.0.0/0' }], Ipv6Ranges: [{ CidrIpv6: '::/0' }], PrefixListIds: [] },
    ]);
    expect(open!.IpPermissionsEgress![0]).toEqual({ IpProtocol: '-1', UserIdGroupPairs: [], IpRanges: [{ CidrIp: '0.0.0.0/0' }], Ipv6Ranges: [], PrefixListIds: [] });
    expect(corp!.IpPermissions![0]!.PrefixListIds).toEqual([{ PrefixListId: 'pl-0aaaa1111bbbb2222' }]);
    expect(corp!.IpPermissions![1]!.IpRanges).toEqual([{ CidrIp: '192.0.2.10/32', Description: 'jump host' }]);
    expect(app!.IpPermissions![0]!.UserIdGroupPairs).toEqual([{ UserId: MGMT, GroupId: 'sg-0ccc3333cccc33333', Description: 'self' }]);
    expect(app!.IpPermissionsEgress).toEqual([]);
    expect(open!.Description).toBe('rdp-open group');
  });

  it('DescribeSubnets, DescribeVpcs (BlockPublicAccessStates, IPv6 associations)', async () => {
    const r = world.accounts[MGMT]!.regions['eu-west-1']!;
    const subnets = await clients.ec2().send(new DescribeSubnetsCommand({}));
    expect(subnets.Subnets).toEqual(r.subnets);
    expect(subnets.Subnets![0]!.Ipv6CidrBlockAssociationSet![0]!.Ipv6CidrBlock).toBe('2001:db8:1234:1a00::/64');
    expect(subnets.Subnets![1]!.Ipv6CidrBlockAssociationSet).toEqual([]);
    const vpcs = await clients.ec2().send(new DescribeVpcsCommand({}));
    expect(vpcs.Vpcs).toEqual(r.vpcs);
    expect(vpcs.Vpcs![0]!.BlockPublicAccessStates).toEqual({ InternetGatewayBlockMode: 'off' });
  });

  it('DescribeRouteTables: igw / NAT / prefix-list routes, blackhole, main and explicit associations', async () => {
    const out = await clients.ec2().send(new DescribeRouteTablesCommand({}));
    expect(out.RouteTables).toEqual(world.accounts[MGMT]!.regions['eu-west-1']!.routeTables);
    const [pub, main] = out.RouteTables!;
    expect(pub!.Routes).toEqual([
      { DestinationCidrBlock: '10.0.0.0/16', GatewayId: 'local', Origin: 'CreateRouteTable', State: 'active' },
      { DestinationIpv6CidrBlock: '2001:db8:1234:1a00::/56', GatewayId: 'local', Origin: 'CreateRouteTable', State: 'active' },
      { DestinationCidrBlock: '0.0.0.0/0', GatewayId: 'igw-0a1b2c3d4e5f60001', Origin: 'CreateRoute', State: 'active' },
      { DestinationIpv6CidrBlock: '::/0', GatewayId: 'igw-0a1b2c3d4e5f60001', Origin: 'CreateRoute', State: 'active' },
    ]);
    expect(pub!.Associations).toEqual([
      { Main: false, RouteTableAssociationId: expect.any(String), RouteTableId: 'rtb-0a1b2c3d4e5f60001', SubnetId: 'subnet-0a1b2c3d4e5f60001', AssociationState: { State: 'associated' } },
    ]);
    expect(main!.Associations![0]).toMatchObject({ Main: true, RouteTableId: 'rtb-0a1b2c3d4e5f60002' });
    expect(main!.Associations![0]!.SubnetId).toBeUndefined();
    expect(main!.Routes![1]).toEqual({ DestinationCidrBlock: '0.0.0.0/0', NatGatewayId: 'nat-0a1b2c3d4e5f60001', Origin: 'CreateRoute', State: 'active' });
    expect(main!.Routes![2]).toEqual({ DestinationPrefixListId: 'pl-0aaaa1111bbbb2222', GatewayId: 'vgw-0123', Origin: 'CreateRoute', State: 'blackhole' });
    expect(main!.PropagatingVgws).toEqual([]);
  });

  it('DescribeNetworkAcls: string protocol numbers, portRange, icmpTypeCode, 32767/32768, default flag, associations', async () => {
    const out = await clients.ec2().send(new DescribeNetworkAclsCommand({}));
    expect(out.NetworkAcls).toEqual(world.accounts[MGMT]!.regions['eu-west-1']!.networkAcls);
    const [dflt, priv] = out.NetworkAcls!;
    expect(dflt!.IsDefault).toBe(true);
    expect(dflt!.Entries!.filter((e) => !e.Egress).map((e) => [e.RuleNumber, e.RuleAction, e.Protocol, e.CidrBlock ?? e.Ipv6CidrBlock])).toEqual([
      [100, 'allow', '-1', '0.0.0.0/0'],
      [101, 'allow', '-1', '::/0'],
      [32767, 'deny', '-1', '0.0.0.0/0'],
      [32768, 'deny', '-1', '::/0'],
    ]);
    expect(priv!.IsDefault).toBe(false);
    expect(priv!.Entries![0]).toEqual({ CidrBlock: '0.0.0.0/0', Egress: false, PortRange: { From: 3389, To: 3389 }, Protocol: '6', RuleAction: 'deny', RuleNumber: 90 });
    expect(priv!.Entries!.at(-1)!.IcmpTypeCode).toEqual({ Code: -1, Type: 8 });
    expect(priv!.Associations).toEqual([{ NetworkAclAssociationId: expect.any(String), NetworkAclId: 'acl-0a1b2c3d4e5f60002', SubnetId: 'subnet-0a1b2c3d4e5f60002' }]);
    // A new custom ACL has only the * denies (no 100/101).
    expect(priv!.Entries!.filter((e) => e.RuleNumber! >= 32767).length).toBe(4);
  });

  it('DescribeManagedPrefixLists and GetManagedPrefixListEntries', async () => {
    const out = await clients.ec2().send(new DescribeManagedPrefixListsCommand({}));
    expect(out.PrefixLists!.map((p) => [p.PrefixListId, p.PrefixListName, p.OwnerId, p.AddressFamily, p.State, p.Version])).toEqual([
      ['pl-0aaaa1111bbbb2222', 'corp-offices', MGMT, 'IPv4', 'create-complete', 1],
      ['pl-4fa04526', 'com.amazonaws.global.cloudfront.origin-facing', 'AWS', 'IPv4', 'create-complete', 1],
    ]);
    expect((out.PrefixLists![0] as any).Entries).toBeUndefined();
    const e = await clients.ec2().send(new GetManagedPrefixListEntriesCommand({ PrefixListId: 'pl-0aaaa1111bbbb2222' }));
    expect(e.Entries).toEqual([{ Cidr: '198.51.100.0/24' }, { Cidr: '203.0.113.0/25', Description: 'Berlin' }]);
    const missing = await failure(clients.ec2('eu-west-1', KEY_MGMT, once).send(new GetManagedPrefixListEntriesCommand({ PrefixListId: 'pl-nope' })));
    expect([missing.name, missing.$metadata.httpStatusCode, missing.message]).toEqual(['InvalidPrefixListID.NotFound', 400, 'The prefix list (pl-nope) does not exist.']);
  });

  it('DescribeNetworkInterfaces derived from the instances (attachment.instance-id, association, groups)', async () => {
    const out = await clients.ec2().send(new DescribeNetworkInterfacesCommand({ Filters: [{ Name: 'attachment.instance-id', Values: ['i-0aaaaaaaaaaaaaaa1'] }] }));
    expect(out.NetworkInterfaces).toHaveLength(1);
    const eni = out.NetworkInterfaces![0]!;
    expect(eni).toMatchObject({
      Attachment: { InstanceId: 'i-0aaaaaaaaaaaaaaa1', InstanceOwnerId: MGMT, DeviceIndex: 0, Status: 'attached' },
      Association: { PublicIp: '54.194.252.215', IpOwnerId: 'amazon' },
      AvailabilityZone: 'eu-west-1a',
      SubnetId: 'subnet-0a1b2c3d4e5f60001',
      RequesterManaged: false,
      TagSet: [],
      Status: 'in-use',
    });
    expect(eni.Groups!.map((g) => g.GroupName)).toEqual(['rdp-open', 'rdp-corp']);
    const all = await clients.ec2().send(new DescribeNetworkInterfacesCommand({}));
    expect(all.NetworkInterfaces).toHaveLength(6);
  });

  it('SSM DescribeInstanceInformation (timestamps as epoch seconds -> Date) and Organizations ListAccounts', async () => {
    const ssm = await clients.ssm().send(new DescribeInstanceInformationCommand({}));
    expect(ssm.InstanceInformationList).toEqual(world.accounts[MGMT]!.regions['eu-west-1']!.ssm);
    expect(ssm.InstanceInformationList!.map((i) => [i.InstanceId, i.PingStatus, i.PlatformType])).toEqual([
      ['i-0aaaaaaaaaaaaaaa1', 'Online', 'Windows'],
      ['i-0aaaaaaaaaaaaaaa2', 'ConnectionLost', 'Windows'],
      ['i-0aaaaaaaaaaaaaaa4', 'Inactive', 'Linux'],
    ]);
    expect(ssm.InstanceInformationList![0]!.LastPingDateTime).toEqual(new Date('2024-03-05T12:34:56.789Z'));
    const filtered = await clients.ssm().send(
      new DescribeInstanceInformationCommand({ Filters: [{ Key: 'PingStatus', Values: ['Online', 'Inactive'] }], InstanceInformationFilterList: [{ key: 'PlatformTypes', valueSet: ['Windows'] }] }),
    );
    expect(filtered.InstanceInformationList!.map((i) => i.InstanceId)).toEqual(['i-0aaaaaaaaaaaaaaa1']);
    const orgs = await clients.orgs().send(new ListAccountsCommand({}));
    expect(orgs.Accounts).toEqual(world.organization!.accounts);
    expect(orgs.Accounts!.map((a) => [a.Id, a.Status])).toEqual([
      [MGMT, 'ACTIVE'],
      [PROD, 'ACTIVE'],
      [SUSP, 'SUSPENDED'],
    ]);
    expect(orgs.Accounts![1]!.JoinedTimestamp).toEqual(new Date('2021-09-08T17:35:28.678Z'));
  });
});

describe('requests as the SDK sends them (the request log)', () => {
  it('EC2 Query form fields, STS, JSON bodies; region and access key from the credential scope', async () => {
    const before = fake.requests.length;
    await clients.ec2('eu-west-1', KEY_MGMT).send(new DescribeInstancesCommand({ Filters: [{ Name: 'platform', Values: ['windows'] }], MaxResults: 5 }));
    await clients.sts().send(new GetCallerIdentityCommand({}));
    await clients.orgs().send(new ListAccountsCommand({ MaxResults: 20 }));
    await clients.ssm('eu-west-1').send(new DescribeInstanceInformationCommand({ MaxResults: 50 }));
    const log = fake.requests.slice(before);
    expect(log).toEqual([
      {
        service: 'ec2',
        op: 'ec2.DescribeInstances',
        account: MGMT,
        region: 'eu-west-1',
        accessKeyId: KEY_MGMT,
        status: 200,
        params: { Action: 'DescribeInstances', Version: '2016-11-15', 'Filter.1.Name': 'platform', 'Filter.1.Value.1': 'windows', MaxResults: '5' },
      },
      { service: 'sts', op: 'sts.GetCallerIdentity', account: MGMT, region: 'us-east-1', accessKeyId: KEY_MGMT, status: 200, params: { Action: 'GetCallerIdentity', Version: '2011-06-15' } },
      { service: 'organizations', op: 'organizations.ListAccounts', account: MGMT, region: 'us-east-1', accessKeyId: KEY_MGMT, status: 200, params: { MaxResults: 20 } },
      { service: 'ssm', op: 'ssm.DescribeInstanceInformation', account: MGMT, region: 'eu-west-1', accessKeyId: KEY_MGMT, status: 200, params: { MaxResults: 50 } },
    ]);
  });

  it('the region comes from the credential scope: one endpoint, different answers per region', async () => {
    const eu = await clients.ec2('eu-west-1').send(new DescribeInstancesCommand({}));
    const us = await clients.ec2('us-east-1').send(new DescribeInstancesCommand({}));
    const au = await clients.ec2('ap-south-1').send(new DescribeInstancesCommand({}));
    expect(flattenReservations(eu.Reservations)).toHaveLength(6);
    expect(flattenReservations(us.Reservations).map((i) => i.InstanceId)).toEqual(['i-0ccccccccccccccc1']);
    // A region the account does not list is served as an empty region.
    expect(au.Reservations).toEqual([]);
    expect(fake.requests.slice(-3).map((r) => r.region)).toEqual(['eu-west-1', 'us-east-1', 'ap-south-1']);
  });

  it('filters, id lists, NotFound and invalid filter names', async () => {
    const ec2 = clients.ec2('eu-west-1', KEY_MGMT, once);
    const win = await ec2.send(new DescribeInstancesCommand({ Filters: [{ Name: 'platform', Values: ['windows'] }, { Name: 'instance-state-name', Values: ['running'] }] }));
    expect(flattenReservations(win.Reservations).map((i) => i.Tags?.find((t) => t.Key === 'Name')?.Value)).toEqual(['win-public', 'win-private', 'asg-1', 'asg-2']);
    const byTag = await ec2.send(new DescribeInstancesCommand({ Filters: [{ Name: 'tag:Name', Values: ['asg-*'] }] }));
    expect(byTag.Reservations!.map((r) => r.Instances!.length)).toEqual([2]);
    const ids = await ec2.send(new DescribeInstancesCommand({ InstanceIds: ['i-0aaaaaaaaaaaaaaa4', 'i-0aaaaaaaaaaaaaaa1'] }));
    expect(flattenReservations(ids.Reservations).map((i) => i.InstanceId)).toEqual(['i-0aaaaaaaaaaaaaaa1', 'i-0aaaaaaaaaaaaaaa4']);
    const nf = await failure(ec2.send(new DescribeInstancesCommand({ InstanceIds: ['i-0nope'] })));
    expect([nf.name, nf.$metadata.httpStatusCode, nf.message]).toEqual(['InvalidInstanceID.NotFound', 400, "The instance ID 'i-0nope' does not exist"]);
    const sgs = await ec2.send(new DescribeSecurityGroupsCommand({ Filters: [{ Name: 'ip-permission.cidr', Values: ['0.0.0.0/0'] }] }));
    expect(sgs.SecurityGroups!.map((g) => g.GroupName)).toEqual(['rdp-open']);
    const byId = await ec2.send(new DescribeSecurityGroupsCommand({ GroupIds: ['sg-0ccc3333cccc33333'] }));
    expect(byId.SecurityGroups!.map((g) => g.GroupName)).toEqual(['app']);
    const main = await ec2.send(new DescribeRouteTablesCommand({ Filters: [{ Name: 'association.main', Values: ['true'] }, { Name: 'vpc-id', Values: ['vpc-0a1b2c3d4e5f60001'] }] }));
    expect(main.RouteTables!.map((t) => t.RouteTableId)).toEqual(['rtb-0a1b2c3d4e5f60002']);
    const acl = await ec2.send(new DescribeNetworkAclsCommand({ Filters: [{ Name: 'association.subnet-id', Values: ['subnet-0a1b2c3d4e5f60002'] }] }));
    expect(acl.NetworkAcls!.map((a) => a.NetworkAclId)).toEqual(['acl-0a1b2c3d4e5f60002']);
    const bad = await failure(ec2.send(new DescribeSubnetsCommand({ Filters: [{ Name: 'colour', Values: ['blue'] }] })));
    expect([bad.name, bad.$metadata.httpStatusCode, bad.message]).toEqual(['InvalidParameterValue', 400, "The filter 'colour' is invalid"]);
    const sgnf = await failure(ec2.send(new DescribeSecurityGroupsCommand({ GroupIds: ['sg-1', 'sg-2'] })));
    expect([sgnf.name, sgnf.message]).toEqual(['InvalidGroup.NotFound', "The security groups 'sg-1, sg-2' do not exist"]);
  });

  it('DryRun=true answers DryRunOperation (412) when allowed, UnauthorizedOperation when not', async () => {
    const ok = await failure(clients.ec2('eu-west-1', KEY_MGMT, once).send(new DescribeInstancesCommand({ DryRun: true })));
    expect([ok.name, ok.$metadata.httpStatusCode, ok.message]).toEqual(['DryRunOperation', 412, 'Request would have succeeded, but DryRun flag is set.']);
    const no = await failure(clients.ec2('ap-southeast-2', KEY_MGMT, once).send(new DescribeSecurityGroupsCommand({ DryRun: true })));
    expect(no.name).toBe('UnauthorizedOperation');
  });
});

describe('DescribeRegions and opt-in regions', () => {
  it('enabled regions only by default; AllRegions adds not-opted-in ones; OptInStatus values', async () => {
    const on = await clients.ec2('us-east-1').send(new DescribeRegionsCommand({}));
    expect(on.Regions!.map((r) => [r.RegionName, r.OptInStatus])).toEqual([
      ['af-south-1', 'opted-in'],
      ['ap-southeast-2', 'opt-in-not-required'],
      ['eu-north-1', 'opt-in-not-required'],
      ['eu-west-1', 'opt-in-not-required'],
      ['us-east-1', 'opt-in-not-required'],
    ]);
    expect(on.Regions![0]!.Endpoint).toBe('ec2.af-south-1.amazonaws.com');
    const all = await clients.ec2('us-east-1').send(new DescribeRegionsCommand({ AllRegions: true }));
    expect(all.Regions!.find((r) => r.RegionName === 'me-south-1')).toEqual({ RegionName: 'me-south-1', Endpoint: 'ec2.me-south-1.amazonaws.com', OptInStatus: 'not-opted-in' });
    const f = await clients.ec2('us-east-1').send(new DescribeRegionsCommand({ AllRegions: true, Filters: [{ Name: 'opt-in-status', Values: ['opted-in', 'not-opted-in'] }] }));
    expect(f.Regions!.map((r) => r.RegionName)).toEqual(['af-south-1', 'me-south-1']);
    const names = await clients.ec2('us-east-1').send(new DescribeRegionsCommand({ RegionNames: ['eu-west-1'] }));
    expect(names.Regions!.map((r) => r.RegionName)).toEqual(['eu-west-1']);
    expect(fake.requests.at(-3)!.params).toMatchObject({ AllRegions: 'true' });
  });

  it('an opted-in region serves; a not-opted-in region answers OptInRequired (401) to EC2 and UnrecognizedClientException to SSM', async () => {
    const cpt = await clients.ec2('af-south-1').send(new DescribeInstancesCommand({}));
    expect(flattenReservations(cpt.Reservations)).toHaveLength(1);
    const e = await failure(clients.ec2('me-south-1', KEY_MGMT, once).send(new DescribeInstancesCommand({})));
    expect([e.name, e.$metadata.httpStatusCode, e.$fault, e.message]).toEqual([
      'OptInRequired',
      401,
      'client',
      'You are not subscribed to this service. Please go to http://aws.amazon.com to subscribe.',
    ]);
    const s = await failure(clients.ssm('me-south-1', KEY_MGMT, once).send(new DescribeInstanceInformationCommand({})));
    expect([s.name, s.$metadata.httpStatusCode]).toEqual(['UnrecognizedClientException', 400]);
    // Some accounts get AuthFailure (401) from a disabled region instead: the region's `error` picks that.
    world.accounts[MGMT]!.regions['il-central-1'] = { optIn: 'not-opted-in', error: 'AuthFailure' };
    try {
      const a = await failure(clients.ec2('il-central-1', KEY_MGMT, once).send(new DescribeSecurityGroupsCommand({})));
      expect([a.name, a.$metadata.httpStatusCode]).toEqual(['AuthFailure', 401]);
    } finally {
      delete world.accounts[MGMT]!.regions['il-central-1'];
    }
  });
});

describe('paging: MaxResults + opaque NextToken, the SDK paginators walk every page', () => {
  const region = 'eu-north-1';
  const many = () => world.accounts[MGMT]!.regions[region]!;
  const walk = async <T>(pages: AsyncIterable<T>): Promise<T[]> => {
    const out: T[] = [];
    for await (const p of pages) out.push(p);
    return out;
  };

  it('paginateDescribeInstances: 23 instances in pages of 5; a reservation split across pages', async () => {
    const client = clients.ec2(region);
    const before = fake.requests.length;
    const pages = await walk(paginateDescribeInstances({ client, pageSize: 5 }, {}));
    expect(pages.map((p) => flattenReservations(p.Reservations).length)).toEqual([5, 5, 5, 5, 3]);
    expect(pages.flatMap((p) => flattenReservations(p.Reservations))).toEqual(worldInstances(many().instances));
    // Page 2 ends inside the 6-instance reservation (items 9..14): it continues on page 3 under the same id.
    expect(pages[1]!.Reservations!.at(-1)!.ReservationId).toBe('r-0123456789abcdef0');
    expect(pages[2]!.Reservations![0]!.ReservationId).toBe('r-0123456789abcdef0');
    const log = fake.requests.slice(before);
    expect(log.map((r) => r.params.MaxResults)).toEqual(['5', '5', '5', '5', '5']);
    expect(log[0]!.params.NextToken).toBeUndefined();
    expect(log[1]!.params.NextToken).toBe(pages[0]!.NextToken);
    expect(pages.at(-1)!.NextToken).toBeUndefined();
  });

  it('every other EC2 paginator', async () => {
    const client = clients.ec2(region);
    const count = async <T>(it: AsyncIterable<T>, pick: (p: T) => unknown[] | undefined) => (await walk(it)).map((p) => pick(p)?.length ?? 0);
    expect(await count(paginateDescribeSecurityGroups({ client, pageSize: 5 }, {}), (p) => p.SecurityGroups)).toEqual([5, 5, 2]);
    expect(await count(paginateDescribeSubnets({ client, pageSize: 5 }, {}), (p) => p.Subnets)).toEqual([5, 5, 1]);
    expect(await count(paginateDescribeVpcs({ client, pageSize: 5 }, {}), (p) => p.Vpcs)).toEqual([5, 2]);
    expect(await count(paginateDescribeRouteTables({ client, pageSize: 5 }, {}), (p) => p.RouteTables)).toEqual([5, 5, 2]);
    expect(await count(paginateDescribeNetworkAcls({ client, pageSize: 5 }, {}), (p) => p.NetworkAcls)).toEqual([5, 5, 1]);
    expect(await count(paginateDescribeManagedPrefixLists({ client, pageSize: 1 }, {}), (p) => p.PrefixLists)).toEqual([1, 1, 1]);
    const plId = many().prefixLists![1]!.PrefixListId!;
    const entries = await walk(paginateGetManagedPrefixListEntries({ client, pageSize: 5 }, { PrefixListId: plId }));
    expect(entries.map((p) => p.Entries!.length)).toEqual([5, 5, 2]);
    expect(entries.flatMap((p) => p.Entries!.map((e) => e.Cidr))).toEqual(many().prefixLists![1]!.Entries!.map((e) => e.Cidr));
    expect(await count(paginateDescribeNetworkInterfaces({ client, pageSize: 10 }, {}), (p) => p.NetworkInterfaces)).toEqual([10, 10, 3]);
    // Unpaged (no MaxResults): everything at once, up to the server cap.
    expect((await client.send(new DescribeSecurityGroupsCommand({}))).SecurityGroups).toHaveLength(12);
  });

  it('SSM and Organizations paginators', async () => {
    const ssm = await walk(paginateDescribeInstanceInformation({ client: clients.ssm(region), pageSize: 5 }, {}));
    expect(ssm.map((p) => p.InstanceInformationList!.length)).toEqual([5, 5, 2]);
    const orgs = await walk(paginateListAccounts({ client: clients.orgs(), pageSize: 1 }, {}));
    expect(orgs.map((p) => p.Accounts!.map((a) => a.Id))).toEqual([[MGMT], [PROD], [SUSP]]);
    expect(fake.requests.slice(-3).map((r) => r.params)).toEqual([{ MaxResults: 1 }, { MaxResults: 1, NextToken: orgs[0]!.NextToken }, { MaxResults: 1, NextToken: orgs[1]!.NextToken }]);
  });

  it('MaxResults outside the range is the real 400 InvalidParameterValue; ids + MaxResults is InvalidParameterCombination', async () => {
    const ec2 = clients.ec2(region, KEY_MGMT, once);
    const low = await failure(ec2.send(new DescribeInstancesCommand({ MaxResults: 4 })));
    expect([low.name, low.$metadata.httpStatusCode, low.message]).toEqual([
      'InvalidParameterValue',
      400,
      'Value ( 4 ) for parameter maxResults is invalid. Expecting a value greater than 5.',
    ]);
    expect((await failure(ec2.send(new DescribeSecurityGroupsCommand({ MaxResults: 1001 })))).name).toBe('InvalidParameterValue');
    expect((await failure(ec2.send(new DescribeRouteTablesCommand({ MaxResults: 101 })))).message).toBe(
      'Value ( 101 ) for parameter maxResults is invalid. Expecting a value less than 100.',
    );
    expect((await ec2.send(new DescribeRouteTablesCommand({ MaxResults: 100 }))).RouteTables).toHaveLength(12);
    expect((await ec2.send(new DescribeNetworkAclsCommand({ MaxResults: 1000 }))).NetworkAcls).toHaveLength(11);
    expect((await failure(ec2.send(new DescribeManagedPrefixListsCommand({ MaxResults: 101 })))).name).toBe('InvalidParameterValue');
    expect((await ec2.send(new GetManagedPrefixListEntriesCommand({ PrefixListId: many().prefixLists![0]!.PrefixListId!, MaxResults: 1 }))).Entries).toHaveLength(1);
    const combo = await failure(ec2.send(new DescribeInstancesCommand({ InstanceIds: ['i-1'], MaxResults: 5 })));
    expect([combo.name, combo.message]).toEqual(['InvalidParameterCombination', 'The parameter instancesSet cannot be used with the parameter maxResults']);
    const tok = await failure(ec2.send(new DescribeSubnetsCommand({ NextToken: 'garbage' })));
    expect([tok.name, tok.$metadata.httpStatusCode]).toEqual(['InvalidPaginationToken', 400]);
    // A token from another operation is not accepted either.
    const sgPage = await ec2.send(new DescribeSecurityGroupsCommand({ MaxResults: 5 }));
    expect((await failure(ec2.send(new DescribeSubnetsCommand({ NextToken: sgPage.NextToken! })))).name).toBe('InvalidPaginationToken');
    const ssm = await failure(clients.ssm(region, KEY_MGMT, once).send(new DescribeInstanceInformationCommand({ MaxResults: 51 })));
    expect([ssm.name, ssm.$metadata.httpStatusCode, ssm.message]).toEqual([
      'ValidationException',
      400,
      "1 validation error detected: Value '51' at 'maxResults' failed to satisfy constraint: Member must have value less than or equal to 50",
    ]);
    const org = await failure(clients.orgs(KEY_MGMT, once).send(new ListAccountsCommand({ MaxResults: 21 })));
    expect([org.name, org.$metadata.httpStatusCode, org.Reason]).toEqual(['InvalidInputException', 400, 'MAX_VALUE_EXCEEDED']);
  });

  it('the server-side cap (pageSize) min\'d with MaxResults', async () => {
    const capped = await startFakeAws(world, { pageSize: 3, pageSizeByOp: { 'ssm.DescribeInstanceInformation': 2 } });
    try {
      const ec2 = new EC2Client({ region, endpoint: capped.endpoint, credentials: creds(KEY_MGMT) });
      const one = await ec2.send(new DescribeSecurityGroupsCommand({ MaxResults: 5 }));
      expect(one.SecurityGroups).toHaveLength(3);
      expect(one.NextToken).toBeDefined();
      expect((await ec2.send(new DescribeSecurityGroupsCommand({}))).SecurityGroups).toHaveLength(3);
      const pages = await walk(paginateDescribeSecurityGroups({ client: ec2, pageSize: 1000 }, {}));
      expect(pages.map((p) => p.SecurityGroups!.length)).toEqual([3, 3, 3, 3]);
      const ssm = new SSMClient({ region, endpoint: capped.endpoint, credentials: creds(KEY_MGMT) });
      expect((await ssm.send(new DescribeInstanceInformationCommand({ MaxResults: 50 }))).InstanceInformationList).toHaveLength(2);
    } finally {
      await capped.close();
    }
  });
});

describe('STS: caller identity, AssumeRole, temporary credentials', () => {
  it('GetCallerIdentity for long-term keys (default and explicit principals)', async () => {
    const me = await clients.sts().send(new GetCallerIdentityCommand({}));
    expect(me).toMatchObject({ Account: MGMT, Arn: `arn:aws:iam::${MGMT}:user/auditor` });
    expect(me.UserId).toMatch(/^AIDA[A-Z2-7]{17}$/);
    const admin = await clients.sts('AKIAMGMTADMIN0000001').send(new GetCallerIdentityCommand({}));
    expect(admin).toMatchObject({ Account: MGMT, Arn: `arn:aws:iam::${MGMT}:user/admin`, UserId: 'AIDAADMINEXAMPLE0001' });
  });

  it('AssumeRole, then EC2 with the temporary credentials lands in the role\'s account', async () => {
    const out = await clients.sts().send(new AssumeRoleCommand({ RoleArn: ROLE, RoleSessionName: 'rdpcloud' }));
    const c = out.Credentials!;
    expect(c.AccessKeyId).toMatch(/^ASIA[A-Z0-9]{16}$/);
    expect(c.Expiration).toBeInstanceOf(Date);
    expect(c.Expiration!.getTime() - Date.now()).toBeGreaterThan(3500_000);
    expect(out.AssumedRoleUser).toEqual({ AssumedRoleId: expect.stringMatching(/^AROA[A-Z2-7]{17}:rdpcloud$/), Arn: `arn:aws:sts::${PROD}:assumed-role/RdpAudit/rdpcloud` });
    const temp = { accessKeyId: c.AccessKeyId!, secretAccessKey: c.SecretAccessKey!, sessionToken: c.SessionToken! };
    const ec2 = new EC2Client({ region: 'eu-west-1', endpoint: fake.endpoint, credentials: temp });
    const res = await ec2.send(new DescribeInstancesCommand({}));
    expect(flattenReservations(res.Reservations).map((i) => i.InstanceId)).toEqual(['i-0bbbbbbbbbbbbbbb1']);
    expect(fake.requests.at(-1)).toMatchObject({ account: PROD, accessKeyId: c.AccessKeyId, region: 'eu-west-1' });
    const who = await new STSClient({ region: 'us-east-1', endpoint: fake.endpoint, credentials: temp }).send(new GetCallerIdentityCommand({}));
    expect(who).toMatchObject({ Account: PROD, Arn: `arn:aws:sts::${PROD}:assumed-role/RdpAudit/rdpcloud`, UserId: out.AssumedRoleUser!.AssumedRoleId });
    // The temporary key without its session token is not valid.
    const noToken = new EC2Client({ region: 'eu-west-1', endpoint: fake.endpoint, credentials: { accessKeyId: c.AccessKeyId!, secretAccessKey: 'x' }, maxAttempts: 1 });
    expect((await failure(noToken.send(new DescribeInstancesCommand({})))).name).toBe('AuthFailure');
  });

  it('fromTemporaryCredentials (credential-providers) does the AssumeRole against the fake', async () => {
    const credentials = fromTemporaryCredentials({
      params: { RoleArn: ROLE, RoleSessionName: 'provider' },
      masterCredentials: creds(KEY_MGMT),
      clientConfig: { region: 'us-east-1', endpoint: fake.endpoint },
    });
    const ec2 = new EC2Client({ region: 'eu-west-1', endpoint: fake.endpoint, credentials });
    const sgs = await ec2.send(new DescribeSecurityGroupsCommand({}));
    expect(sgs.SecurityGroups!.every((g) => g.OwnerId === PROD)).toBe(true);
    const tail = fake.requests.slice(-2);
    expect(tail.map((r) => [r.op, r.account])).toEqual([
      ['sts.AssumeRole', MGMT],
      ['ec2.DescribeSecurityGroups', PROD],
    ]);
    expect(tail[0]!.params).toMatchObject({ RoleArn: ROLE, RoleSessionName: 'provider' });
  });

  it('AssumeRole that is not allowed: AccessDenied 403 (untrusted caller, unknown role, wrong ExternalId); ExternalId and duration', async () => {
    const sts = clients.sts(KEY_SOLO, once);
    const e = await failure(sts.send(new AssumeRoleCommand({ RoleArn: ROLE, RoleSessionName: 's' })));
    expect([e.name, e.$metadata.httpStatusCode, e.$fault, e.message]).toEqual([
      'AccessDenied',
      403,
      'client',
      `User: arn:aws:iam::${SOLO}:user/auditor is not authorized to perform: sts:AssumeRole on resource: ${ROLE}`,
    ]);
    expect((await failure(sts.send(new AssumeRoleCommand({ RoleArn: `arn:aws:iam::${PROD}:role/Nope`, RoleSessionName: 's' })))).name).toBe('AccessDenied');
    expect((await failure(sts.send(new AssumeRoleCommand({ RoleArn: ROLE_EXT, RoleSessionName: 's', ExternalId: 'wrong' })))).name).toBe('AccessDenied');
    const ok = await sts.send(new AssumeRoleCommand({ RoleArn: ROLE_EXT, RoleSessionName: 's', ExternalId: 'ext-123', DurationSeconds: 7200 }));
    expect(ok.AssumedRoleUser!.Arn).toBe(`arn:aws:sts::${PROD}:assumed-role/ExternalAudit/s`);
    const long = await failure(sts.send(new AssumeRoleCommand({ RoleArn: ROLE_EXT, RoleSessionName: 's', ExternalId: 'ext-123', DurationSeconds: 7201 })));
    expect([long.name, long.$metadata.httpStatusCode]).toEqual(['ValidationError', 400]);
  });
});

describe('errors as AWS sends them, as the SDK surfaces them', () => {
  it('an unknown access key: EC2 AuthFailure 401, STS InvalidClientTokenId 403, JSON services UnrecognizedClientException 400', async () => {
    const ec2 = await failure(clients.ec2('eu-west-1', 'AKIAUNKNOWN000000000', once).send(new DescribeInstancesCommand({})));
    expect([ec2.name, ec2.$metadata.httpStatusCode, ec2.message]).toEqual(['AuthFailure', 401, 'AWS was not able to validate the provided access credentials']);
    expect(ec2.$metadata.requestId).toMatch(/^[0-9a-f-]{36}$/);
    const sts = await failure(clients.sts('AKIAUNKNOWN000000000', once).send(new GetCallerIdentityCommand({})));
    expect([sts.name, sts.$metadata.httpStatusCode, sts.message]).toEqual(['InvalidClientTokenId', 403, 'The security token included in the request is invalid.']);
    const ssm = await failure(clients.ssm('eu-west-1', 'AKIAUNKNOWN000000000', once).send(new DescribeInstanceInformationCommand({})));
    expect([ssm.name, ssm.$metadata.httpStatusCode]).toEqual(['UnrecognizedClientException', 400]);
    const org = await failure(clients.orgs('AKIAUNKNOWN000000000', once).send(new ListAccountsCommand({})));
    expect([org.name, org.$metadata.httpStatusCode]).toEqual(['UnrecognizedClientException', 400]);
    expect(fake.requests.at(-1)).toMatchObject({ op: 'organizations.ListAccounts', accessKeyId: 'AKIAUNKNOWN000000000', status: 400, errorCode: 'UnrecognizedClientException' });
    expect(fake.requests.at(-1)!.account).toBeUndefined();
  });

  it('per-region opErrors: UnauthorizedOperation 403 (with the IAM message) and RequestLimitExceeded 503 (maxAttempts 1: no retry)', async () => {
    const ec2 = clients.ec2('ap-southeast-2', KEY_MGMT, once);
    const denied = await failure(ec2.send(new DescribeSecurityGroupsCommand({})));
    expect([denied.name, denied.$metadata.httpStatusCode, denied.$fault]).toEqual(['UnauthorizedOperation', 403, 'client']);
    expect(denied.message).toBe(
      `You are not authorized to perform this operation. User: arn:aws:iam::${MGMT}:user/auditor is not authorized to perform: ec2:DescribeSecurityGroups because no identity-based policy allows the ec2:DescribeSecurityGroups action`,
    );
    const before = fake.requests.length;
    const throttled = await failure(ec2.send(new DescribeRouteTablesCommand({})));
    expect([throttled.name, throttled.$metadata.httpStatusCode, throttled.$fault, throttled.$metadata.attempts]).toEqual(['RequestLimitExceeded', 503, 'server', 1]);
    expect(throttled.message).toBe('Request limit exceeded.');
    expect(fake.requests.length - before).toBe(1);
    // Other operations in that region are fine.
    expect((await ec2.send(new DescribeInstancesCommand({}))).Reservations).toEqual([]);
  });

  it('Organizations: AccessDeniedException for a member account, AWSOrganizationsNotInUseException outside any organization', async () => {
    const member = await failure(clients.orgs(KEY_PROD, once).send(new ListAccountsCommand({})));
    expect([member.name, member.$metadata.httpStatusCode, member.message]).toEqual(['AccessDeniedException', 400, "You don't have permissions to access this resource."]);
    const solo = await failure(clients.orgs(KEY_SOLO, once).send(new ListAccountsCommand({})));
    expect([solo.name, solo.$metadata.httpStatusCode, solo.message]).toEqual(['AWSOrganizationsNotInUseException', 400, 'Your account is not a member of an organization.']);
    const { OrganizationsServiceException, AccessDeniedException } = await import('@aws-sdk/client-organizations');
    expect(member).toBeInstanceOf(AccessDeniedException);
    expect(solo).toBeInstanceOf(OrganizationsServiceException);
  });

  it('SSM ThrottlingException (400) via fault; the SDK retries it as a throttle', async () => {
    const f = await startFakeAws(world, { fault: (req) => (req.op === 'ssm.DescribeInstanceInformation' ? 'ThrottlingException' : undefined) });
    try {
      const ssm = new SSMClient({ region: 'eu-west-1', endpoint: f.endpoint, credentials: creds(KEY_MGMT), maxAttempts: 1 });
      const e = await failure(ssm.send(new DescribeInstanceInformationCommand({})));
      expect([e.name, e.$metadata.httpStatusCode, e.message, e.$metadata.attempts]).toEqual(['ThrottlingException', 400, 'Rate exceeded', 1]);
      const retrying = new SSMClient({ region: 'eu-west-1', endpoint: f.endpoint, credentials: creds(KEY_MGMT), retryStrategy: new ConfiguredRetryStrategy(3, 5) });
      const e3 = await failure(retrying.send(new DescribeInstanceInformationCommand({})));
      expect([e3.name, e3.$metadata.attempts]).toEqual(['ThrottlingException', 3]);
    } finally {
      await f.close();
    }
  });

  it('account-level opErrors and aliases; STS AccessDenied by opErrors', async () => {
    world.accounts[SOLO]!.opErrors = { 'sts.GetCallerIdentity': 'denied', 'ec2.DescribeVpcs': { code: 'Blocked', status: 418, message: 'teapot' } };
    try {
      const sts = await failure(clients.sts(KEY_SOLO, once).send(new GetCallerIdentityCommand({})));
      expect([sts.name, sts.$metadata.httpStatusCode]).toEqual(['AccessDenied', 403]);
      const custom = await failure(clients.ec2('eu-west-1', KEY_SOLO, once).send(new DescribeVpcsCommand({})));
      expect([custom.name, custom.$metadata.httpStatusCode, custom.message]).toEqual(['Blocked', 418, 'teapot']);
    } finally {
      delete world.accounts[SOLO]!.opErrors;
    }
  });
});

describe('fault injection and the SDK\'s own retries', () => {
  it('RequestLimitExceeded twice then success: the SDK retries (standard mode, 3 attempts); attempt counts the same request', async () => {
    const seen: number[] = [];
    const f = await startFakeAws(world, {
      fault: (req, attempt) => {
        if (req.op !== 'ec2.DescribeSecurityGroups') return undefined;
        seen.push(attempt);
        return attempt < 3 ? 'RequestLimitExceeded' : undefined;
      },
    });
    try {
      const fast = new EC2Client({ region: 'eu-west-1', endpoint: f.endpoint, credentials: creds(KEY_MGMT), retryStrategy: new ConfiguredRetryStrategy(3, 5) });
      const out = await fast.send(new DescribeSecurityGroupsCommand({}));
      expect(out.$metadata.attempts).toBe(3);
      expect(out.SecurityGroups).toHaveLength(4);
      expect(seen).toEqual([1, 2, 3]);
      expect(f.requests.map((r) => [r.status, r.errorCode])).toEqual([
        [503, 'RequestLimitExceeded'],
        [503, 'RequestLimitExceeded'],
        [200, undefined],
      ]);
      // A different request (other params) starts again at attempt 1.
      await failure(new EC2Client({ region: 'eu-west-1', endpoint: f.endpoint, credentials: creds(KEY_MGMT), maxAttempts: 1 }).send(new DescribeSecurityGroupsCommand({ GroupIds: ['sg-0aaa1111aaaa11111'] })));
      expect(seen.at(-1)).toBe(1);
    } finally {
      await f.close();
    }
  });

  it('with the default retry strategy (no options): 3 attempts, jittered backoff with the 1 s throttling base', async () => {
    const f = await startFakeAws(world, { fault: (req) => (req.op === 'ec2.DescribeVpcs' ? 'throttle' : undefined) });
    try {
      const ec2 = new EC2Client({ region: 'eu-west-1', endpoint: f.endpoint, credentials: creds(KEY_MGMT) });
      const e = await failure(ec2.send(new DescribeVpcsCommand({})));
      expect([e.name, e.$metadata.httpStatusCode, e.$metadata.attempts]).toEqual(['RequestLimitExceeded', 503, 3]);
      expect(e.$metadata.totalRetryDelay).toBeGreaterThanOrEqual(0);
      expect(e.$metadata.totalRetryDelay).toBeLessThanOrEqual(3000);
      expect(f.requests).toHaveLength(3);
    } finally {
      await f.close();
    }
  });

  it('5xx (InternalError 500, Unavailable 503) are retried as transient; 4xx (403, 401) are not', async () => {
    let n = 0;
    const f = await startFakeAws(world, {
      fault: (req, attempt) => {
        if (req.op === 'ec2.DescribeSubnets') return attempt === 1 ? 'internal' : attempt === 2 ? 'unavailable' : undefined;
        if (req.op === 'ec2.DescribeVpcs') return (n++, 'denied');
        return undefined;
      },
    });
    try {
      const ec2 = new EC2Client({ region: 'eu-west-1', endpoint: f.endpoint, credentials: creds(KEY_MGMT), retryStrategy: new ConfiguredRetryStrategy(3, 5) });
      expect((await ec2.send(new DescribeSubnetsCommand({}))).$metadata.attempts).toBe(3);
      expect(f.requests.slice(0, 2).map((r) => r.errorCode)).toEqual(['InternalError', 'Unavailable']);
      expect((await failure(ec2.send(new DescribeVpcsCommand({})))).name).toBe('UnauthorizedOperation');
      expect(n).toBe(1);
      // Default strategy: OptInRequired / AuthFailure (401) are not retried either. (An error whose Date header is
      // >= 4 min off the local clock would be marked clockSkewCorrected and retried; the fake sends the time.)
      const plain = (region: string, key = KEY_MGMT) => new EC2Client({ region, endpoint: f.endpoint, credentials: creds(key) });
      const optIn = await failure(plain('me-south-1').send(new DescribeInstancesCommand({})));
      expect([optIn.name, optIn.$metadata.attempts]).toEqual(['OptInRequired', 1]);
      const auth = await failure(plain('eu-west-1', 'AKIAUNKNOWN000000000').send(new DescribeInstancesCommand({})));
      expect([auth.name, auth.$metadata.attempts, auth.$metadata.clockSkewCorrected]).toEqual(['AuthFailure', 1, undefined]);
    } finally {
      await f.close();
    }
  });

  it('latencyMs delays every answer', async () => {
    const f = await startFakeAws(world, { latencyMs: 120 });
    try {
      const t0 = Date.now();
      await new STSClient({ region: 'us-east-1', endpoint: f.endpoint, credentials: creds(KEY_MGMT) }).send(new GetCallerIdentityCommand({}));
      expect(Date.now() - t0).toBeGreaterThanOrEqual(110);
    } finally {
      await f.close();
    }
  });
});

describe('endpoint from the environment (AWS_ENDPOINT_URL_EC2 / AWS_ENDPOINT_URL), fresh clients', () => {
  it('service-specific and global variables both reach the fake', async () => {
    const saved = { ec2: process.env.AWS_ENDPOINT_URL_EC2, all: process.env.AWS_ENDPOINT_URL };
    try {
      process.env.AWS_ENDPOINT_URL_EC2 = fake.endpoint;
      process.env.AWS_ENDPOINT_URL = 'http://127.0.0.1:9'; // the EC2-specific variable wins for EC2
      const ec2 = new EC2Client({ region: 'us-east-1', credentials: creds(KEY_MGMT) });
      const out = await ec2.send(new DescribeInstancesCommand({}));
      expect(flattenReservations(out.Reservations).map((i) => i.InstanceId)).toEqual(['i-0ccccccccccccccc1']);
      delete process.env.AWS_ENDPOINT_URL_EC2;
      process.env.AWS_ENDPOINT_URL = fake.endpoint;
      const sts = new STSClient({ region: 'eu-west-1', credentials: creds(KEY_PROD) });
      expect((await sts.send(new GetCallerIdentityCommand({}))).Account).toBe(PROD);
      expect(fake.requests.at(-1)).toMatchObject({ op: 'sts.GetCallerIdentity', region: 'eu-west-1' });
    } finally {
      for (const [k, v] of [['AWS_ENDPOINT_URL_EC2', saved.ec2], ['AWS_ENDPOINT_URL', saved.all]] as const) {
        if (v === undefined) delete process.env[k];
        else process.env[k] = v;
      }
    }
  });
});

/** An EC2 Query request as it goes on the wire, unsigned (the fake reads the key and region off the header). */
async function rawEc2(f: FakeAws, key: string, region: string, body: string): Promise<{ status: number; text: string }> {
  const res = await fetch(f.endpoint, {
    method: 'POST',
    headers: {
      'content-type': 'application/x-www-form-urlencoded',
      authorization: `AWS4-HMAC-SHA256 Credential=${key}/20240101/${region}/ec2/aws4_request, SignedHeaders=host, Signature=0`,
    },
    body,
  });
  return { status: res.status, text: await res.text() };
}

describe('scale', () => {
  it('20,000 security groups and 10,000 instances: the server answers fast; the paginators walk them', async () => {
    const account = MGMT;
    const vpcId = 'vpc-0big';
    const securityGroups = Array.from({ length: 20_000 }, (_, i) =>
      securityGroup({
        account,
        id: `sg-0${i.toString(16).padStart(16, '0')}`,
        name: `sg-${i}`,
        vpcId,
        ingress: [rdpFrom([`10.${i % 250}.0.0/16`]), ipPermission({ protocol: 'tcp', from: 443, to: 443, cidrs: ['0.0.0.0/0'], ipv6: ['::/0'] })],
      }),
    );
    const instances = Array.from({ length: 10_000 }, (_, i) =>
      instance({
        account,
        id: `i-0${i.toString(16).padStart(16, '0')}`,
        name: `vm-${i}`,
        subnetId: 'subnet-0big',
        vpcId,
        privateIp: `10.${(i >> 8) & 255}.${i & 255}.10`,
        publicIp: i % 3 ? undefined : `54.${(i >> 8) & 255}.${i & 255}.1`,
        securityGroups: [securityGroups[i]!, securityGroups[i + 10_000]!],
        windows: i % 2 === 0,
      }),
    );
    world.accounts[MGMT]!.regions['eu-south-1'] = { securityGroups, instances };
    const raw = (action: string, extra = '') => rawEc2(fake, KEY_MGMT, 'eu-south-1', `Action=${action}&Version=2016-11-15&MaxResults=1000${extra}`);
    // Server only (no SDK parsing): first call builds the index; then 1000-item pages are quick.
    await raw('DescribeInstances');
    const t0 = performance.now();
    for (let i = 0; i < 5; i++) expect((await raw('DescribeSecurityGroups')).status).toBe(200);
    for (let i = 0; i < 5; i++) expect((await raw('DescribeInstances')).status).toBe(200);
    const perPage = (performance.now() - t0) / 10;
    expect(perPage).toBeLessThan(250);

    // Through the SDK: every page, every item.
    const ec2 = clients.ec2('eu-south-1');
    const t1 = performance.now();
    let sgs = 0;
    for await (const p of paginateDescribeSecurityGroups({ client: ec2, pageSize: 1000 }, {})) sgs += p.SecurityGroups!.length;
    let insts = 0;
    let pages = 0;
    for await (const p of paginateDescribeInstances({ client: ec2, pageSize: 1000 }, {})) {
      insts += flattenReservations(p.Reservations).length;
      pages++;
    }
    const sdkMs = performance.now() - t1;
    expect([sgs, insts, pages]).toEqual([20_000, 10_000, 10]);
    console.log(`[aws fake scale] server-only ${perPage.toFixed(1)} ms per 1000-item page; SDK walk of 20k SGs + 10k instances ${sdkMs.toFixed(0)} ms`);
    delete world.accounts[MGMT]!.regions['eu-south-1'];
  }, 120_000);
});

void WINDOWS_PLATFORM;

describe('cacheItems (the benchmark): the same answers as written afresh', () => {
  it('DescribeSecurityGroups and DescribeInstances pages are byte for byte the same, twice over, but for the request id', async () => {
    const { awsDemoWorld, AWS_KEY } = await import('../../demo/aws-world.js');
    const demo = awsDemoWorld(); // one world: the fixtures number the ids they make up (reservations, ENIs) as they go
    const plain = await startFakeAws(demo, { pageSize: 4 });
    const cached = await startFakeAws(demo, { pageSize: 4, cacheItems: true });
    try {
      const ask = async (f: FakeAws, action: string, extra = '') => {
        const res = await rawEc2(f, AWS_KEY, 'eu-west-1', `Action=${action}&Version=2016-11-15&MaxResults=5${extra}`);
        expect(res.status).toBe(200);
        return res.text.replace(/<requestId>[^<]*<\/requestId>/, '');
      };
      // Page tokens carry random bytes (opaque, as EC2's are).
      const untokened = (x: string) => x.replace(/<nextToken>[^<]*<\/nextToken>/, '<nextToken/>');
      for (const action of ['DescribeSecurityGroups', 'DescribeInstances']) {
        const first = await ask(plain, action);
        expect(first).toContain('<item>');
        expect(untokened(await ask(cached, action))).toBe(untokened(first));
        const again = await ask(cached, action); // from the cache
        expect(untokened(again)).toBe(untokened(first));
        const token = /<nextToken>([^<]+)<\/nextToken>/.exec(again)?.[1];
        expect(token, action).toBeDefined();
        const next = (f: FakeAws, t: string) => ask(f, action, `&NextToken=${encodeURIComponent(t)}`);
        expect(untokened(await next(cached, token!))).toBe(untokened(await next(plain, /<nextToken>([^<]+)<\/nextToken>/.exec(first)![1]!)));
      }
    } finally {
      await plain.close();
      await cached.close();
    }
  });
});
