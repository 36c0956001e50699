// The whole process against a zero-latency fake EC2, one account and one region, at organisation scale:
//   small  2,000 security groups (half open to the world on tcp:3389), 1,000 instances     target <= 0.8 s wall
//   large  20,000 security groups, 10,000 instances spread over them                      target <= 1.6 s wall, <= 250 MiB
// Each instance has a public IPv4 and 1-3 security groups; the VPC has public subnets whose route table sends
// 0.0.0.0/0 to an internet gateway and the default network ACL, so an instance is exposed exactly when one of
// its groups is world-open on 3389. The real `rdpcloud audit --provider aws --region eu-west-1 --format json`
// runs as its own process (bench/harness.ts runCli: its own wall and peak RSS), against the fake from the test
// suite (test/fakes/aws/server.ts) with EC2's real page limit (1000); the answer is checked (every instance,
// the exposed ones exactly, every world-open group and the unused ones among them) and the requests are
// counted by operation. Best of 3 runs (`--runs N` to change), after one that warms the fake's cache.
import type { Instance, SecurityGroup } from '@aws-sdk/client-ec2';
import { instance, ipPermission, networkAcl, rdpFrom, routeTable, securityGroup, subnet, vpc } from '../test/fakes/aws/fixtures.js';
import { startFakeAws, type AwsWorld } from '../test/fakes/aws/server.js';
import type { Report } from '../src/model/results.js';
import { fmt, phasesOf, phasesText, runCli, type CliRun, type Row, type Section } from './harness.js';

const ACCOUNT = '123456789012';
const KEY = 'AKIABENCH0000000001';
const REGION = 'eu-west-1';
const VPC_ID = 'vpc-0bench00000000001';
const SUBNETS = 4; // /18 each in 10.0.0.0/16: room for 16,000 instances apiece

interface Shape {
  name: string;
  securityGroups: number;
  instances: number;
  wallTargetS: number;
  rssTargetMiB?: number;
  /** The rule-level scanners on the same shape, from the issue ("Org-scale audits"): the fastest, then all. */
  fastest: string;
  others: string;
}

const SHAPES: Shape[] = [
  { name: '2,000 SGs / 1,000 instances', securityGroups: 2_000, instances: 1_000, wallTargetS: 0.8, fastest: 'Cloud Custodian 0.86 s', others: 'Custodian 0.86 s, CloudSploit 1.0 s, Prowler 1.35 s, ScoutSuite 62 s' },
  { name: '20,000 SGs / 10,000 instances', securityGroups: 20_000, instances: 10_000, wallTargetS: 1.6, rssTargetMiB: 250, fastest: 'Cloud Custodian 3.2 s', others: 'Custodian 3.2 s (250 MB), CloudSploit 5.3 s, Prowler 89 s, ScoutSuite ~730 s' },
];

/** EC2's largest page (DescribeInstances, DescribeSecurityGroups: 1000), which the fake enforces too. */
const PAGE = 1000;

/** Deterministic pseudo-random numbers (mulberry32), so every run builds the same world. */
function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const hex = (prefix: string, n: number, salt: number) => `${prefix}-0${salt.toString(16)}${n.toString(16).padStart(15, '0')}`;

interface Built {
  world: AwsWorld;
  /** What a right answer says. */
  expect: { instances: number; exposed: number; windows: number; worldOpenGroups: number; unusedWorldOpenGroups: number };
}

export function buildShape(s: Shape, salt: number): Built {
  const rand = rng(0x5eed + s.securityGroups);
  const subnets = Array.from({ length: SUBNETS }, (_, i) => subnet({ account: ACCOUNT, id: hex('subnet', i, salt), vpcId: VPC_ID, cidr: `10.0.${i * 64}.0/18`, az: `${REGION}${'abc'[i % 3]}`, mapPublicIp: true }));
  const groups: SecurityGroup[] = [];
  const open = new Set<string>();
  for (let g = 0; g < s.securityGroups; g++) {
    const id = hex('sg', g, salt);
    const world = g % 2 === 0; // half of them world-open on 3389
    const ingress = world
      ? [rdpFrom(['0.0.0.0/0']), ipPermission({ protocol: 'tcp', port: 443, cidrs: ['0.0.0.0/0'] })]
      : [ipPermission({ protocol: 'tcp', port: 3389, cidrs: ['10.0.0.0/8'] }), ipPermission({ protocol: 'tcp', port: 443, cidrs: ['0.0.0.0/0'] })];
    if (world) open.add(id);
    groups.push(securityGroup({ account: ACCOUNT, region: REGION, id, name: `bench-${world ? 'rdp-world' : 'internal'}-${g}`, vpcId: VPC_ID, ingress }));
  }
  const instances: Instance[] = [];
  const attached = new Set<string>();
  let exposed = 0;
  let windows = 0;
  for (let k = 0; k < s.instances; k++) {
    const n = 1 + Math.floor(rand() * 3);
    const mine = new Set<SecurityGroup>();
    while (mine.size < n) mine.add(groups[Math.floor(rand() * groups.length)]!);
    const sn = k % SUBNETS;
    const j = Math.floor(k / SUBNETS);
    const win = k % 10 !== 9; // a tenth are Linux: judged the same (a path is a path)
    if (win) windows++;
    if ([...mine].some((g) => open.has(g.GroupId!))) exposed++;
    for (const g of mine) attached.add(g.GroupId!);
    instances.push(
      instance({
        account: ACCOUNT,
        id: hex('i', k, salt),
        name: `bench-${win ? 'win' : 'lin'}-${k}`,
        az: subnets[sn]!.AvailabilityZone,
        subnetId: subnets[sn]!.SubnetId!,
        vpcId: VPC_ID,
        privateIp: `10.0.${sn * 64 + Math.floor(j / 250)}.${(j % 250) + 4}`,
        publicIp: `52.${16 + ((k >> 16) & 255)}.${(k >> 8) & 255}.${k & 255}`,
        securityGroups: [...mine],
        windows: win,
        tags: { team: `team-${k % 17}` },
      }),
    );
  }
  const world: AwsWorld = {
    accounts: {
      [ACCOUNT]: {
        accessKeys: [KEY],
        regions: {
          [REGION]: {
            vpcs: [vpc({ account: ACCOUNT, id: VPC_ID, cidr: '10.0.0.0/16' })],
            subnets,
            securityGroups: groups,
            instances,
            routeTables: [routeTable({ account: ACCOUNT, id: hex('rtb', 1, salt), vpcId: VPC_ID, vpcCidr: '10.0.0.0/16', main: true, igw: hex('igw', 1, salt), subnetIds: subnets.map((x) => x.SubnetId!) })],
            networkAcls: [networkAcl({ account: ACCOUNT, id: hex('acl', 1, salt), vpcId: VPC_ID, isDefault: true, ipv6: false, subnetIds: subnets.map((x) => x.SubnetId!) })],
          },
        },
      },
    },
  };
  // Every group is judged on its own rules, attached or not: each world-open one fails the group check, and the
  // world-open ones attached to nothing are unused open rules.
  const unusedWorldOpenGroups = [...open].filter((g) => !attached.has(g)).length;
  return { world, expect: { instances: s.instances, exposed, windows, worldOpenGroups: open.size, unusedWorldOpenGroups } };
}

/** The requests a right run makes: pages of the two listings, one of each other listing, nothing per instance. */
function expectedRequests(s: Shape): Record<string, number> {
  return {
    'ec2.DescribeInstances': Math.ceil(s.instances / PAGE),
    'ec2.DescribeNetworkAcls': 1,
    'ec2.DescribeRouteTables': 1,
    'ec2.DescribeSecurityGroups': Math.ceil(s.securityGroups / PAGE),
    'ssm.DescribeInstanceInformation': 1,
    'sts.GetCallerIdentity': 1,
  };
}

/** What is wrong with the audit's answer, or undefined. */
function check(r: CliRun, e: Built['expect']): string | undefined {
  if (r.code !== 0 && r.code !== 1) return `exit ${r.code}: ${r.stderr.trim().split('\n').slice(-3).join(' / ')}`;
  let rep: Report;
  try {
    rep = JSON.parse(r.stdout) as Report;
  } catch (err) {
    return `stdout is not JSON (${(err as Error).message})`;
  }
  if (rep.scopes.length !== 1 || rep.scopes[0]!.status !== 'ok' || rep.scopes[0]!.warnings?.length) return `scopes ${JSON.stringify(rep.scopes)}`;
  if (rep.instances.length !== e.instances) return `${rep.instances.length} instances, expected ${e.instances}`;
  const exposed = rep.instances.filter((i) => i.access === 'exposed').length;
  if (exposed !== e.exposed) return `${exposed} exposed, expected ${e.exposed}`;
  const reachable = rep.results.filter((x) => x.source === 'internet' && x.verdict === 'reachable').length;
  if (reachable !== e.exposed) return `${reachable} reachable from the internet, expected ${e.exposed}`;
  // Every other group admits 3389 from 10.0.0.0/8 only: the rest are reachable from inside the VPC alone.
  const others = rep.instances.filter((i) => i.access !== 'exposed' && i.access !== 'private-only');
  if (others.length) return `${others.length} instances neither exposed nor private-only (${others[0]!.access})`;
  if (rep.instances.filter((i) => i.os === 'windows').length !== e.windows) return 'wrong number of Windows instances';
  const fails = (policy: string) => rep.findings.filter((f) => f.policyId === policy && f.status === 'fail').length;
  if (fails('aws-security-group-rdp-from-ipv4-internet') !== e.worldOpenGroups) return `${fails('aws-security-group-rdp-from-ipv4-internet')} world-open groups found, expected ${e.worldOpenGroups}`;
  if (fails('rdp-unused-open-rule') !== e.unusedWorldOpenGroups) return `${fails('rdp-unused-open-rule')} unused world-open groups found, expected ${e.unusedWorldOpenGroups}`;
  return undefined;
}

export async function run(o: { quick: boolean; args: string[] }): Promise<Section> {
  const i = o.args.indexOf('--runs');
  const runs = i >= 0 ? Math.max(1, Number(o.args[i + 1]) || 3) : 3;
  const rows: Row[] = [];
  const data: Record<string, unknown> = { runs };
  const shapes = o.quick ? SHAPES.slice(0, 1) : SHAPES;
  let salt = 1;
  for (const s of shapes) {
    const built = buildShape(s, salt++);
    // The fake keeps each item's XML once written, and a first run (not counted) writes them: EC2 answering in
    // no time is the premise, and rendering a 1000-group page costs the fake ~25 ms of its own.
    const fake = await startFakeAws(built.world, { pageSize: PAGE, latencyMs: 0, cacheItems: true });
    const env = {
      AWS_ACCESS_KEY_ID: KEY,
      AWS_SECRET_ACCESS_KEY: 'bench-secret-not-real',
      AWS_REGION: REGION,
      AWS_ENDPOINT_URL: fake.endpoint,
      AWS_EC2_METADATA_DISABLED: 'true',
    };
    const all: { wallMs: number; peakRssMiB: number; cpuS: number; fakeCpuS: number; code: number; phases: ReturnType<typeof phasesOf> }[] = [];
    let requests: Record<string, number> = {};
    let wrong: string | undefined;
    let reportBytes = 0;
    const audit = ['audit', '--provider', 'aws', '--region', REGION, '--format', 'json'];
    try {
      await runCli(audit, env);
      for (let n = 0; n < runs; n++) {
        fake.requests.length = 0;
        const r = await runCli(audit, { ...env, RDPCLOUD_TIMINGS: '1' });
        all.push({ wallMs: r.wallMs, peakRssMiB: r.peakRssMiB, cpuS: r.cpuS, fakeCpuS: r.benchCpuS, code: r.code, phases: phasesOf(r.stderr) });
        wrong ??= check(r, built.expect);
        reportBytes = Buffer.byteLength(r.stdout);
        requests = {};
        for (const q of fake.requests) requests[q.op] = (requests[q.op] ?? 0) + 1;
        const want = expectedRequests(s);
        const sorted = (x: Record<string, number>) => JSON.stringify(Object.fromEntries(Object.entries(x).sort()));
        if (sorted(requests) !== sorted(want)) wrong ??= `requests ${sorted(requests)}, expected ${sorted(want)}`;
      }
    } finally {
      await fake.close();
    }
    const wall = Math.min(...all.map((x) => x.wallMs)) / 1000;
    const fastest = all.reduce((x, y) => (y.wallMs < x.wallMs ? y : x));
    const rss = Math.min(...all.map((x) => x.peakRssMiB));
    const total = Object.values(requests).reduce((a, b) => a + b, 0);
    const reqs = Object.entries(requests)
      .sort()
      .map(([op, c]) => `${op.replace(/^\w+\./, '')} ${c}`)
      .join(', ');
    const answer = wrong ? `WRONG ANSWER: ${wrong}` : `${fmt(built.expect.exposed)} of ${fmt(built.expect.instances)} exposed, ${fmt(built.expect.worldOpenGroups)} world-open groups (${fmt(built.expect.unusedWorldOpenGroups)} attached to nothing), as built`;
    const walls = all.map((x) => fmt(x.wallMs / 1000, 2)).join(' / ');
    rows.push({
      name: `EC2 ${s.name}: wall`,
      measured: wall,
      unit: 's',
      target: s.wallTargetS,
      targetNote: `fastest rule-level scanner: ${s.fastest}`,
      ok: !wrong && wall <= s.wallTargetS,
      detail: `best of ${runs} (${walls} s; the best: ${phasesText(fastest.phases)}; cpu: rdpcloud ${fmt(fastest.cpuS, 2)} s, the fake ${fmt(fastest.fakeCpuS, 2)} s); ${answer}; ${total} requests: ${reqs}`,
    });
    rows.push({
      name: `EC2 ${s.name}: peak RSS`,
      measured: rss,
      unit: 'MiB',
      ...(s.rssTargetMiB !== undefined ? { target: s.rssTargetMiB, ok: !wrong && rss <= s.rssTargetMiB } : {}),
      detail: `best of ${runs} (${all.map((x) => fmt(x.peakRssMiB)).join(' / ')} MiB); report ${fmt(reportBytes / 2 ** 20, 1)} MiB of JSON`,
    });
    data[s.name] = { securityGroups: s.securityGroups, instances: s.instances, expected: built.expect, runs: all, requests, totalRequests: total, reportBytes, ruleLevelScanners: s.others, ...(wrong ? { wrong } : {}) };
  }
  return { title: 'Whole process against a zero-latency fake EC2 (one region, pages of 1000)', rows, data };
}
