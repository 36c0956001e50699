// EC2 (and SSM) API objects -> the shared model, for one account and region. The path of tcp:3389 into an ENI:
//   route      the subnet's route table (explicit association, else the VPC's main table): the reply to an
//              internet source must leave through an internet gateway (longest prefix wins; a NAT gateway,
//              an egress-only gateway or a blackhole does not carry inbound connections)
//   network ACL the subnet's ACL, inbound entries in rule-number order, first match, the final `*` deny
//   network ACL (return traffic)  the same ACL's outbound entries, judged on the reply (stateless)
//   security groups  the union of every group on the ENI: allow-only, stateful
// Sources: https://docs.aws.amazon.com/vpc/latest/userguide/subnet-route-tables.html,
// https://docs.aws.amazon.com/vpc/latest/userguide/nacl-rules.html, .../vpc-security-groups.html,
// ../../../shared/docs/reference/cloud-apis.md section 2. Nothing here decides a verdict.
import type { Instance as Ec2Instance, IpPermission, NetworkAcl, RouteTable, SecurityGroup, Route } from '@aws-sdk/client-ec2';
import type { InstanceInformation } from '@aws-sdk/client-ssm';
import type { Gateway, Instance, Layer, Nic, OsFamily, Rule, RuleSet } from '../../src/model/inventory.js';
import { fit } from '../../src/model/fit.js';
import type { Pick } from './fast-xml.js';

/**
 * What rdpcloud reads of the two big listings (this file and index.ts): the fast XML path skips the rest of
 * each instance and security group (block devices, DNS names, metadata and CPU options, egress rules, tags of
 * groups...): at 10,000 instances and 20,000 groups the listings then take ~80 MB of heap instead of ~130 MB,
 * and less time. Reading another member here means adding it below; test/providers/aws-fast-xml.test.ts
 * records every member mapRegion touches and fails on one not listed.
 */
export const EC2_READS: Readonly<Record<string, Pick>> = {
  DescribeInstances: {
    NextToken: true,
    Reservations: {
      Instances: {
        InstanceId: true,
        State: true,
        SubnetId: true,
        VpcId: true,
        Platform: true,
        PlatformDetails: true,
        Tags: true,
        Placement: true,
        IamInstanceProfile: true,
        NetworkInterfaces: {
          Attachment: true,
          NetworkInterfaceId: true,
          SubnetId: true,
          VpcId: true,
          Groups: true,
          PrivateIpAddress: true,
          PrivateIpAddresses: true,
          Association: true,
          Ipv6Addresses: true,
        },
      },
    },
  },
  DescribeSecurityGroups: { NextToken: true, SecurityGroups: { GroupId: true, GroupName: true, IpPermissions: true } },
};

export interface AwsRegionData {
  account: string;
  region: string;
  /** The DescribeInstances listing; or (as well) `mapped`: its instances already through mapInstance. */
  instances: Ec2Instance[];
  mapped?: MappedInstance[];
  /**
   * The DescribeSecurityGroups listing, in its order: each group as the SDK gave it, or already its rule set
   * (earlyGroup: a group that names no prefix list needs nothing else, so a page of them is mapped as it arrives
   * and the SDK's objects are not kept until every listing is in).
   */
  securityGroups: (SecurityGroup | MappedGroup)[];
  routeTables: RouteTable[];
  networkAcls: NetworkAcl[];
  /** Managed prefix list id -> its CIDRs (GetManagedPrefixListEntries); a missing id cannot be expanded. */
  prefixLists: Map<string, string[]>;
  /** SSM managed instances (DescribeInstanceInformation); undefined when it could not be read. */
  ssm?: InstanceInformation[];
  /** Why a listing could not be read, by what it is ("route tables"): its layer becomes unknown. */
  unreadable?: Partial<Record<'securityGroups' | 'routeTables' | 'networkAcls', string>>;
}

/** A security group of the listing already mapped to its rule set. */
export interface MappedGroup {
  GroupId: string;
  ruleSet: RuleSet;
}

const NO_PREFIX_LISTS = new Map<string, string[]>();

/** The group's rule set now when it names no prefix list (nothing to wait for), else the group as it is. */
export function earlyGroup(sg: SecurityGroup, account: string): SecurityGroup | MappedGroup {
  if (!sg.GroupId) return sg;
  for (const p of sg.IpPermissions ?? []) if (p.PrefixListIds?.length) return sg;
  return { GroupId: sg.GroupId, ruleSet: securityGroupRuleSet(sg, NO_PREFIX_LISTS, account) };
}

const isMapped = (g: SecurityGroup | MappedGroup): g is MappedGroup => 'ruleSet' in g;

/** The prefix lists the groups' rules name (the mapped ones name none). */
export function prefixListsNamed(groups: readonly (SecurityGroup | MappedGroup)[]): string[] {
  const ids = new Set<string>();
  for (const g of groups) if (!isMapped(g)) for (const p of g.IpPermissions ?? []) for (const l of p.PrefixListIds ?? []) if (l.PrefixListId) ids.add(l.PrefixListId);
  return [...ids];
}

export interface MappedRegion {
  instances: Instance[];
  ruleSets: RuleSet[];
  paths: Record<string, Layer[]>;
}

/** The client's ephemeral ports the reply goes to (IANA's dynamic range, Windows' default): interface.md. */
export const RETURN_PORTS = { from: 49152, to: 65535 };

const tagValue = (tags: { Key?: string; Value?: string }[] | undefined, key: string) => tags?.find((t) => t.Key === key)?.Value;

export function osFamily(i: Ec2Instance): { os: OsFamily; evidence?: string } {
  // `Platform` is set to "windows" for Windows instances only; PlatformDetails names the others.
  if (/windows/i.test(`${i.Platform ?? ''} ${i.PlatformDetails ?? ''}`)) return { os: 'windows', evidence: `platform ${i.PlatformDetails ?? i.Platform}` };
  if (i.PlatformDetails) return { os: 'linux', evidence: `platform ${i.PlatformDetails}` };
  return { os: 'unknown' };
}

function prefixLength(cidr: string): number {
  return Number(cidr.split('/')[1] ?? (cidr.includes(':') ? 128 : 32));
}

function routeTarget(r: Route): string {
  return (
    r.GatewayId ??
    r.NatGatewayId ??
    r.TransitGatewayId ??
    r.VpcPeeringConnectionId ??
    r.NetworkInterfaceId ??
    r.EgressOnlyInternetGatewayId ??
    r.InstanceId ??
    r.LocalGatewayId ??
    r.CarrierGatewayId ??
    r.CoreNetworkArn ??
    'unknown target'
  );
}

/**
 * A route table as a first-match rule set over the reply's destination (the source of the connection):
 * the longest prefix first. `kind` says which address the connection came to: a reply from the public
 * address needs an internet gateway; a reply from the private address must not go to one.
 */
export function routeRuleSet(rt: RouteTable, kind: 'external' | 'internal', prefixLists: Map<string, string[]>, account: string): RuleSet {
  const rules: Rule[] = [];
  for (const r of rt.Routes ?? []) {
    const target = routeTarget(r);
    const dead = r.State === 'blackhole';
    const igw = target.startsWith('igw-');
    let allow: boolean;
    let why: string;
    if (dead) {
      allow = false;
      why = `the route to ${target} is a blackhole (its target is gone)`;
    } else if (target === 'local') {
      // Inside the VPC the reply is delivered directly, whichever address the connection came to.
      allow = true;
      why = 'these addresses are inside the VPC: the reply is delivered locally';
    } else if (kind === 'external') {
      allow = igw;
      why = igw
        ? `the reply leaves through internet gateway ${target}`
        : target.startsWith('nat-')
          ? `the reply would go to NAT gateway ${target}, which carries outbound connections only: no inbound path to a public address`
          : target.startsWith('eigw-')
            ? `egress-only internet gateway ${target} admits no inbound connection`
            : `the reply goes to ${target}, not to an internet gateway`;
    } else {
      allow = !igw && !target.startsWith('nat-') && !target.startsWith('eigw-');
      why = allow ? `the reply to the private address goes to ${target}` : `the reply to these addresses would go to ${target}, which cannot carry it to a private source`;
    }
    const dests = r.DestinationCidrBlock ? [r.DestinationCidrBlock] : r.DestinationIpv6CidrBlock ? [r.DestinationIpv6CidrBlock] : [];
    const list = r.DestinationPrefixListId ? prefixLists.get(r.DestinationPrefixListId) : undefined;
    const label = r.DestinationCidrBlock ?? r.DestinationIpv6CidrBlock ?? r.DestinationPrefixListId ?? '?';
    const base = { action: allow ? ('allow' as const) : ('deny' as const), protocols: [{ protocol: 'all' }], description: why };
    if (r.DestinationPrefixListId && !list) {
      rules.push({ ...base, name: `${label} -> ${target}`, priority: 0, sourceRanges: [], indeterminate: `route destination prefix list ${r.DestinationPrefixListId} could not be read` });
      continue;
    }
    for (const d of list ?? dests) {
      // Longest prefix match: a longer prefix gets a lower (earlier) priority number.
      rules.push({ ...base, name: `${label} -> ${target}`, priority: 128 - prefixLength(d), sourceRanges: [d] });
    }
  }
  const main = rt.Associations?.some((a) => a.Main) ? ' (main)' : '';
  return { id: `aws/${account}/${rt.RouteTableId}/${kind}`, provider: 'aws', scope: account, name: `route table ${rt.RouteTableId}${main}`, kind: 'aws-route-table', rules };
}

function aclRule(e: NonNullable<NetworkAcl['Entries']>[number]): Rule {
  const n = e.RuleNumber ?? 0;
  const proto = String(e.Protocol ?? '-1');
  const ports = e.PortRange && e.PortRange.From !== undefined ? [`${e.PortRange.From}-${e.PortRange.To ?? e.PortRange.From}`] : undefined;
  return {
    // The console shows the final deny entries (32767 IPv4, 32768 IPv6) as "*".
    name: n >= 32767 ? 'rule *' : `rule ${n}`,
    priority: n,
    action: e.RuleAction === 'deny' ? 'deny' : 'allow',
    sourceRanges: [e.CidrBlock ?? e.Ipv6CidrBlock].filter((x): x is string => !!x),
    protocols: [{ protocol: proto, ...(proto === '6' && ports ? { ports } : {}) }],
  };
}

export function aclRuleSets(acl: NetworkAcl, account: string): { inbound: RuleSet; outbound: RuleSet } {
  const entries = acl.Entries ?? [];
  const name = `network ACL ${acl.NetworkAclId}${acl.IsDefault ? ' (default)' : ''}`;
  const mk = (egress: boolean, dir: string): RuleSet => ({
    id: `aws/${account}/${acl.NetworkAclId}/${dir}`,
    provider: 'aws',
    scope: account,
    name,
    kind: 'aws-network-acl',
    rules: entries.filter((e) => !!e.Egress === egress).map(aclRule),
  });
  return { inbound: mk(false, 'in'), outbound: mk(true, 'out') };
}

function permissionProtocol(p: IpPermission): Rule['protocols'][number] {
  const proto = String(p.IpProtocol ?? '-1').toLowerCase();
  if (proto === '-1') return { protocol: '-1' };
  if (proto === 'tcp' || proto === '6') {
    const from = p.FromPort;
    const to = p.ToPort;
    // FromPort/ToPort -1 (or absent) with tcp means every port.
    if (from === undefined || from === -1) return { protocol: 'tcp' };
    return { protocol: 'tcp', ports: [`${from}-${to ?? from}`] };
  }
  return { protocol: proto };
}

function describePermission(p: IpPermission): string {
  const proto = String(p.IpProtocol ?? '-1');
  if (proto === '-1') return 'all traffic';
  if (p.FromPort === undefined || p.FromPort === -1) return `${proto} all ports`;
  return `${proto} ${p.FromPort === p.ToPort ? p.FromPort : `${p.FromPort}-${p.ToPort}`}`;
}

export function securityGroupRuleSet(sg: SecurityGroup, prefixLists: Map<string, string[]>, account: string): RuleSet {
  // Plain loops: an organisation's region can list 20,000 groups, and each of them becomes a rule set.
  const rules: Rule[] = [];
  for (const p of sg.IpPermissions ?? []) {
    const ranges: string[] = [];
    // What the rule's name shows, as the console lists the sources: CIDRs, prefix lists, groups (each once).
    const named: string[] = [];
    const name = (x: string | undefined) => {
      if (x && !named.includes(x)) named.push(x);
    };
    for (const r of p.IpRanges ?? []) if (r.CidrIp) ranges.push(r.CidrIp), name(r.CidrIp);
    for (const r of p.Ipv6Ranges ?? []) if (r.CidrIpv6) ranges.push(r.CidrIpv6), name(r.CidrIpv6);
    let unresolved: string[] | undefined;
    for (const l of p.PrefixListIds ?? []) {
      if (!l.PrefixListId) continue;
      name(l.PrefixListId);
      const cidrs = prefixLists.get(l.PrefixListId);
      if (cidrs) for (const c of cidrs) ranges.push(c);
      else (unresolved ??= []).push(l.PrefixListId);
    }
    let groups: string[] | undefined;
    for (const g of p.UserIdGroupPairs ?? []) {
      (groups ??= []).push(`sg:${g.GroupId}`);
      name(g.GroupId);
    }
    const rule: Rule = {
      name: `inbound ${describePermission(p)} from ${named.length > 2 ? `${named[0]}, ${named[1]} +${named.length - 2}` : named.join(', ')}`,
      priority: 0,
      action: 'allow',
      sourceRanges: fit(ranges),
      protocols: [permissionProtocol(p)],
    };
    // A group reference admits the members of that group (instances), never an outside address.
    if (groups) rule.sourceIdentities = groups;
    if (unresolved) rule.indeterminate = `prefix list ${unresolved.join(', ')} could not be read`;
    rules.push(rule);
  }
  return { id: `aws/${account}/${sg.GroupId}`, provider: 'aws', scope: account, name: `security group ${sg.GroupId} (${sg.GroupName ?? ''})`, kind: 'aws-security-group', rules: fit(rules) };
}

function unreadableSet(id: string, account: string, name: string, kind: string, why: string): RuleSet {
  return { id, provider: 'aws', scope: account, name, kind, unreadable: why, rules: [] };
}

export function mapRegion(d: AwsRegionData): MappedRegion {
  const { account, region } = d;
  const ruleSets = new Map<string, RuleSet>();
  const paths: Record<string, Layer[]> = {};
  const put = (rs: RuleSet) => (ruleSets.has(rs.id) ? ruleSets.get(rs.id)! : (ruleSets.set(rs.id, rs), rs));

  const bySubnetRt = new Map<string, RouteTable>();
  const mainRt = new Map<string, RouteTable>();
  for (const rt of d.routeTables) {
    for (const a of rt.Associations ?? []) {
      if (a.SubnetId) bySubnetRt.set(a.SubnetId, rt);
      if (a.Main && rt.VpcId) mainRt.set(rt.VpcId, rt);
    }
  }
  const bySubnetAcl = new Map<string, NetworkAcl>();
  const defaultAcl = new Map<string, NetworkAcl>();
  for (const acl of d.networkAcls) {
    for (const a of acl.Associations ?? []) if (a.SubnetId) bySubnetAcl.set(a.SubnetId, acl);
    if (acl.IsDefault && acl.VpcId) defaultAcl.set(acl.VpcId, acl);
  }
  const sgs = new Map(d.securityGroups.map((g) => [g.GroupId ?? '', g]));
  const ssmOnline = new Map((d.ssm ?? []).filter((x) => x.PingStatus === 'Online' && x.InstanceId).map((x) => [x.InstanceId!, x]));

  // Each stage's rule set is built once and its id remembered: thousands of instances share a few subnets, and
  // every group is on many paths (external and internal for each ENI).
  const routeStages = new Map<string, string>();
  const routeStage = (subnet: string, vpc: string, kind: 'external' | 'internal'): string => {
    if (d.unreadable?.routeTables) return put(unreadableSet(`aws/${account}/${region}/route-tables-unreadable`, account, 'route tables', 'aws-route-table', d.unreadable.routeTables)).id;
    const key = `${subnet}\u0000${vpc}\u0000${kind}`;
    let id = routeStages.get(key);
    if (id !== undefined) return id;
    const rt = bySubnetRt.get(subnet) ?? mainRt.get(vpc);
    if (!rt) id = put(unreadableSet(`aws/${account}/${region}/no-route-table/${subnet}`, account, `route table of ${subnet}`, 'aws-route-table', `no route table is associated with ${subnet} and ${vpc} has no main table in the listing`)).id;
    else id = put(routeRuleSet(rt, kind, d.prefixLists, account)).id;
    routeStages.set(key, id);
    return id;
  };
  const aclStageMemo = new Map<string, { inbound: string; outbound: string }>();
  const aclStages = (subnet: string, vpc: string): { inbound: string; outbound: string } => {
    if (d.unreadable?.networkAcls) {
      const id = put(unreadableSet(`aws/${account}/${region}/acls-unreadable`, account, 'network ACLs', 'aws-network-acl', d.unreadable.networkAcls)).id;
      return { inbound: id, outbound: id };
    }
    const key = `${subnet}\u0000${vpc}`;
    const known = aclStageMemo.get(key);
    if (known) return known;
    let out: { inbound: string; outbound: string };
    const acl = bySubnetAcl.get(subnet) ?? defaultAcl.get(vpc);
    if (!acl) {
      const id = put(unreadableSet(`aws/${account}/${region}/no-acl/${subnet}`, account, `network ACL of ${subnet}`, 'aws-network-acl', `no network ACL is associated with ${subnet} in the listing`)).id;
      out = { inbound: id, outbound: id };
    } else {
      const { inbound, outbound } = aclRuleSets(acl, account);
      out = { inbound: put(inbound).id, outbound: put(outbound).id };
    }
    aclStageMemo.set(key, out);
    return out;
  };
  const sgStages = new Map<string, string>();
  const sgStage = (groupId: string): string => {
    if (d.unreadable?.securityGroups) return put(unreadableSet(`aws/${account}/${region}/sgs-unreadable`, account, 'security groups', 'aws-security-group', d.unreadable.securityGroups)).id;
    let id = sgStages.get(groupId);
    if (id !== undefined) return id;
    const sg = sgs.get(groupId);
    if (!sg) id = put(unreadableSet(`aws/${account}/${groupId}`, account, `security group ${groupId}`, 'aws-security-group', `security group ${groupId} is not in the listing`)).id;
    else id = put(isMapped(sg) ? sg.ruleSet : securityGroupRuleSet(sg, d.prefixLists, account)).id;
    sgStages.set(groupId, id);
    return id;
  };
  const routeLayers = new Map<string, Map<string, { external?: Layer; internal?: Layer }>>();
  const aclLayers = new Map<string, Map<string, [Layer, Layer]>>();
  const sgLayers = new Map<string, Layer>();
  /** The layers of an ENI's paths (subnet -> VPC -> layers: no key is put together per ENI). */
  const layersOf = (e: MappedInstance['enis'][number]) => {
    const { subnet, vpc, groups } = e;
    let byVpc = aclLayers.get(subnet);
    if (!byVpc) aclLayers.set(subnet, (byVpc = new Map()));
    let acl = byVpc.get(vpc);
    if (!acl) {
      const stages = aclStages(subnet, vpc);
      acl = [
        { name: 'network ACL', stages: [{ ruleSet: stages.inbound, mode: 'first-match' }], otherwise: { action: 'deny', rule: 'rule *', why: 'no entry matched: the final * entry denies' } },
        {
          name: 'network ACL (return traffic)',
          stages: [{ ruleSet: stages.outbound, mode: 'first-match' }],
          otherwise: { action: 'deny', rule: 'rule *', why: `no outbound entry allows the reply on tcp:${RETURN_PORTS.from}-${RETURN_PORTS.to}: the final * entry denies it` },
          returnPorts: RETURN_PORTS,
        },
      ];
      byVpc.set(vpc, acl);
    }
    let routesByVpc = routeLayers.get(subnet);
    if (!routesByVpc) routeLayers.set(subnet, (routesByVpc = new Map()));
    let routes = routesByVpc.get(vpc);
    if (!routes) routesByVpc.set(vpc, (routes = {}));
    const route = (kind: 'external' | 'internal'): Layer =>
      (routes[kind] ??= { name: 'route', stages: [{ ruleSet: routeStage(subnet, vpc, kind), mode: 'first-match' }], otherwise: { action: 'deny', rule: 'no route', why: 'the route table has no route back to these addresses' } });
    // The external route first, then the groups: the rule sets are listed in the order they are first met.
    const externalRoute = route('external');
    const ordered = groups.length === 1 ? groups[0]! : groups.join('+');
    let sg = sgLayers.get(ordered);
    if (!sg) {
      sg = {
        name: 'security groups',
        stages: groups.map((g) => ({ ruleSet: sgStage(g), mode: 'any-allow' as const })),
        otherwise: { action: 'deny', rule: 'no security group rule', why: `security groups allow only what a rule names, and none of ${groups.join(', ') || '(no groups)'} admits these addresses` },
      };
      sgLayers.set(ordered, sg);
    }
    return { acl, sg, externalRoute, route };
  };
  // Layers are shared between the paths that have them: the ACL layers of a subnet, its route layer per kind,
  // and the security-group layer of a list of groups (in the ENI's order) are the same objects on every path
  // they belong to. Nothing changes a layer once made. A path is keyed by the NIC's own path id (the same
  // string object the engine looks it up with later).
  const pathsFor = (e: MappedInstance['enis'][number], nic: Nic | undefined) => {
    const external = nic?.path ?? pathId(account, region, e.subnet, e.groupKey, 'external');
    const internal = nic?.internalPath ?? pathId(account, region, e.subnet, e.groupKey, 'internal');
    const haveExternal = paths[external] !== undefined;
    if (haveExternal && paths[internal] !== undefined) return;
    const { acl, sg, externalRoute, route } = layersOf(e);
    if (!haveExternal) paths[external] = [externalRoute, acl[0], acl[1], sg];
    if (paths[internal] === undefined) paths[internal] = [route('internal'), acl[0], acl[1], sg];
  };

  const instances: Instance[] = [];
  const mapped = [...(d.mapped ?? [])];
  for (const i of d.instances) {
    const m = mapInstance(i, account, region);
    if (m) mapped.push(m);
  }
  for (const { instance: inst, enis } of mapped) {
    // mapInstance makes one NIC per ENI part, in the same order.
    const aligned = inst.nics.length === enis.length;
    enis.forEach((e, k) => pathsFor(e, aligned ? inst.nics[k] : undefined));
    const agent = ssmOnline.get(inst.id);
    if (agent) inst.gateways = [{ kind: 'ssm', name: `Session Manager (SSM agent ${agent.AgentVersion ?? ''} online)`.replace('  ', ' ') } satisfies Gateway];
    instances.push(inst);
  }
  // Every group and network ACL of the listing is judged on its own rules as well, attached or not: a group open
  // to the world that no instance uses is a finding (rdp-unused-open-rule; CIS AWS 5.2 and 5.1 read every
  // group and ACL), and the next instance it is attached to is open on day one. After the ones on paths, in
  // listing order.
  if (!d.unreadable?.securityGroups) for (const g of d.securityGroups) if (g.GroupId) sgStage(g.GroupId);
  if (!d.unreadable?.networkAcls) {
    for (const acl of d.networkAcls) {
      if (!acl.NetworkAclId) continue;
      const { inbound, outbound } = aclRuleSets(acl, account);
      put(inbound);
      put(outbound);
    }
  }
  return { instances, ruleSets: [...ruleSets.values()], paths };
}

/** One instance of the listing, mapped as its page arrives (so the SDK's objects need not all be kept). */
export interface MappedInstance {
  /** Complete but for the gateways, which need the SSM listing (mapRegion adds them). */
  instance: Instance;
  /** Per NIC, what its paths are made of (mapRegion builds them once every listing is in). */
  enis: { subnet: string; vpc: string; groups: string[]; groupKey: string }[];
}

export function pathId(account: string, region: string, subnet: string, groupKey: string, kind: 'external' | 'internal'): string {
  return `aws/${account}/${region}/${subnet}/${groupKey}/${kind}`;
}

/** The model instance, its NICs with their path ids; undefined for what has no network (terminated). */
export function mapInstance(i: Ec2Instance, account: string, region: string): MappedInstance | undefined {
  if (!i.InstanceId || i.State?.Name === 'terminated') return undefined; // a terminated instance has no network left
  const nics: Nic[] = [];
  const parts: MappedInstance['enis'] = [];
  const enis = [...(i.NetworkInterfaces ?? [])].sort((a, b) => (a.Attachment?.DeviceIndex ?? 0) - (b.Attachment?.DeviceIndex ?? 0));
  for (const eni of enis) {
    const subnet = eni.SubnetId ?? i.SubnetId ?? '';
    const vpc = eni.VpcId ?? i.VpcId ?? '';
    const groups = (eni.Groups ?? []).map((g) => g.GroupId).filter((x): x is string => !!x);
    const v6 = eni.Ipv6Addresses?.find((a) => a.Ipv6Address)?.Ipv6Address;
    const groupKey = groups.length > 1 ? [...groups].sort().join('+') : (groups[0] ?? '');
    parts.push({ subnet, vpc, groups, groupKey });
    const nic: Nic = { name: eni.NetworkInterfaceId ?? 'eni', network: vpc, subnet, path: pathId(account, region, subnet, groupKey, 'external'), internalPath: pathId(account, region, subnet, groupKey, 'internal') };
    if (eni.PrivateIpAddress) nic.internalIPv4 = eni.PrivateIpAddress;
    // Public IPv4 or Elastic IP of the ENI's primary private address (secondary ones carry their own).
    const pub = eni.Association?.PublicIp ?? eni.PrivateIpAddresses?.find((p) => p.Association?.PublicIp)?.Association?.PublicIp;
    if (pub) nic.externalIPv4 = pub;
    // An ENI's IPv6 addresses are global: reachable from the internet when the route table sends ::/0 to an igw.
    if (v6) {
      nic.externalIPv6 = v6;
      nic.internalIPv6 = v6;
    }
    nics.push(nic);
  }
  const { os, evidence } = osFamily(i);
  const labels: Record<string, string> = {};
  for (const t of i.Tags ?? []) if (t.Key) labels[t.Key] = t.Value ?? '';
  const inst: Instance = {
    provider: 'aws',
    scope: account,
    location: i.Placement?.AvailabilityZone ?? region,
    name: tagValue(i.Tags, 'Name') || i.InstanceId,
    id: i.InstanceId,
    state: i.State?.Name ?? 'unknown',
    os,
    nics: fit(nics),
    tags: [],
    serviceAccounts: i.IamInstanceProfile?.Arn ? [i.IamInstanceProfile.Arn] : [],
    labels,
  };
  if (evidence) inst.osEvidence = evidence;
  return { instance: inst, enis: parts };
}
