// The fast EC2 XML path (providers/aws/fast-xml.ts) gives exactly the SDK's output: the same answers read by a
// stock EC2Client and by one with useFastXml, compared whole (toStrictEqual: Dates, undefined members, arrays).
// First every operation rdpcloud calls (and a few more) against the fake EC2 serving the demo organisation plus
// awkward values; then hand-written documents the fast path must either read identically or hand back to the SDK.
import http from 'node:http';
import type { AddressInfo } from 'node:net';
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
} from '@aws-sdk/client-ec2';
import { fastXmlStats, pickFrom, useFastXml, type Pick } from '../../providers/aws/fast-xml.js';
import { EC2_READS, mapRegion } from '../../providers/aws/map.js';
import { startFakeAws, type FakeAws } from '../fakes/aws/server.js';
import { instance, ipPermission, securityGroup } from '../fakes/aws/fixtures.js';
import { AWS_KEY, PROD, awsDemoWorld } from '../demo/aws-world.js';

const client = (endpoint: string, fast: boolean, picks: Record<string, Pick> = {}) => {
  const c = new EC2Client({ region: 'eu-west-1', endpoint, credentials: { accessKeyId: AWS_KEY, secretAccessKey: 'x' }, maxAttempts: 1 });
  if (fast) useFastXml(c, picks);
  return c;
};

/** Both clients' answer (or error) to the same command; the fake's request ids and page tokens (random per answer) masked. */
async function both(endpoint: string, make: () => any, picks?: Record<string, Pick>) {
  const settle = (p: Promise<any>) =>
    p.then(
      (v) => ({ v: { ...v, $metadata: { ...v.$metadata, requestId: 'id' } }, ...(v.NextToken ? { token: v.NextToken as string } : {}) }),
      (e: any) => ({ e: { name: e?.name, message: e?.message, status: e?.$metadata?.httpStatusCode } }),
    );
  const sdk = await settle(client(endpoint, false).send(make()));
  const fast = await settle(client(endpoint, true, picks).send(make()));
  if (picks && 'v' in sdk) {
    const op = make().constructor.name.replace(/Command$/, '');
    const { $metadata, ...rest } = sdk.v;
    sdk.v = { ...(pickFrom(rest, picks[op] ?? true) as object), $metadata };
  }
  return { sdk, fast };
}

describe('fast EC2 XML = the SDK, on the fake EC2', () => {
  let fake: FakeAws;
  beforeAll(async () => {
    const w = awsDemoWorld();
    const r = w.accounts[PROD].regions['eu-west-1'];
    const vpcId = r.securityGroups![0].VpcId!;
    // Values that need escaping, non-ASCII, line breaks and blanks.
    r.securityGroups!.push(
      securityGroup({ account: PROD, name: `odd <&> "quoted" 'single' ünïcødé ☃`, vpcId, description: 'line one\nline two\n', tags: { '': ' ', 'a&b': '<x/>', blank: '\n  \n' }, ingress: [ipPermission({ protocol: 'tcp', port: 3389, cidrs: [{ cidr: '0.0.0.0/0', description: 'a &amp; b &#38; c' }] })] }),
    );
    r.instances!.push(instance({ account: PROD, subnetId: 'subnet-0public0000001', vpcId, name: '  spaced  ', tags: { empty: '' }, windows: true }));
    fake = await startFakeAws(w, { pageSize: 4 });
  });
  afterAll(() => fake.close());

  const paged = async (endpoint: string, make: (token?: string) => any, picks?: Record<string, Pick>) => {
    let token: string | undefined;
    let pages = 0;
    do {
      const { sdk, fast } = await both(endpoint, () => make(token), picks);
      token = (sdk as any).token;
      expect(typeof (fast as any).token).toBe(typeof token);
      for (const r of [sdk, fast] as any[]) if (r.token) r.v.NextToken = r.token = 'token';
      expect(fast).toStrictEqual(sdk);
      pages++;
    } while (token);
    return pages;
  };

  it.each([
    ['DescribeInstances', (t?: string) => new DescribeInstancesCommand({ MaxResults: 5, NextToken: t })],
    ['DescribeSecurityGroups', (t?: string) => new DescribeSecurityGroupsCommand({ MaxResults: 5, NextToken: t })],
    ['DescribeRouteTables', (t?: string) => new DescribeRouteTablesCommand({ MaxResults: 5, NextToken: t })],
    ['DescribeNetworkAcls', (t?: string) => new DescribeNetworkAclsCommand({ MaxResults: 5, NextToken: t })],
    ['DescribeSubnets', (t?: string) => new DescribeSubnetsCommand({ MaxResults: 5, NextToken: t })],
    ['DescribeVpcs', (t?: string) => new DescribeVpcsCommand({ MaxResults: 5, NextToken: t })],
    ['DescribeManagedPrefixLists', (t?: string) => new DescribeManagedPrefixListsCommand({ MaxResults: 5, NextToken: t })],
    ['DescribeNetworkInterfaces', (t?: string) => new DescribeNetworkInterfacesCommand({ MaxResults: 5, NextToken: t })],
    ['GetManagedPrefixListEntries', (t?: string) => new GetManagedPrefixListEntriesCommand({ PrefixListId: 'pl-0office000000001', MaxResults: 1, NextToken: t })],
  ] as const)('%s, every page', async (_, make) => {
    const before = fastXmlStats.fast;
    const pages = await paged(fake.endpoint, make);
    expect(fastXmlStats.fast - before).toBe(pages); // read by the fast path, not handed back
  });

  it.each([
    ['DescribeInstances', (t?: string) => new DescribeInstancesCommand({ MaxResults: 5, NextToken: t })],
    ['DescribeSecurityGroups', (t?: string) => new DescribeSecurityGroupsCommand({ MaxResults: 5, NextToken: t })],
  ] as const)('%s with the members rdpcloud reads (EC2_READS): the SDK answer, picked', async (_, make) => {
    const before = fastXmlStats.fast;
    const pages = await paged(fake.endpoint, make, EC2_READS as Record<string, Pick>);
    expect(fastXmlStats.fast - before).toBe(pages);
  });

  it('mapRegion reads nothing of instances and groups that EC2_READS leaves out, and maps the picked listing the same', async () => {
    const c = client(fake.endpoint, false);
    const instances: any[] = [];
    const groups: any[] = [];
    for (let t: string | undefined, first = true; first || t; first = false) {
      const p: any = await c.send(new DescribeInstancesCommand({ MaxResults: 5, NextToken: t }));
      for (const r of p.Reservations ?? []) instances.push(...(r.Instances ?? []));
      t = p.NextToken;
    }
    for (let t: string | undefined, first = true; first || t; first = false) {
      const p: any = await c.send(new DescribeSecurityGroupsCommand({ MaxResults: 5, NextToken: t }));
      groups.push(...(p.SecurityGroups ?? []));
      t = p.NextToken;
    }
    expect(instances.length).toBeGreaterThan(10);
    const reads = new Set<string>();
    const spy = (v: any, path: string): any =>
      v === null || typeof v !== 'object' || v instanceof Date
        ? v
        : new Proxy(v, {
            get(target, key, receiver) {
              const x = Reflect.get(target, key, receiver);
              if (typeof key === 'symbol') return x;
              if (Array.isArray(target)) return /^\d+$/.test(key) ? spy(x, `${path}[]`) : x;
              reads.add(`${path}.${key}`);
              return spy(x, `${path}.${key}`);
            },
          });
    const data = (i: any[], g: any[]) => ({ account: PROD, region: 'eu-west-1', instances: i, securityGroups: g, routeTables: [], networkAcls: [], prefixLists: new Map([['pl-0office000000001', ['81.2.69.0/24']]]) });
    const full = mapRegion(data(instances, groups));
    mapRegion(data(instances.map((i) => spy(i, 'Reservations[].Instances[]')), groups.map((g) => spy(g, 'SecurityGroups[]'))));
    const allowed = (path: string, pick: Pick): boolean => {
      let p: Pick = pick;
      for (const seg of path.split(/\.|\[\]/).filter(Boolean)) {
        if (p === true) return true;
        if (p[seg] === undefined) return false;
        p = p[seg]!;
      }
      return true;
    };
    const outside = [...reads].filter((r) => !allowed(r, r.startsWith('SecurityGroups') ? EC2_READS.DescribeSecurityGroups! : EC2_READS.DescribeInstances!));
    expect(outside).toEqual([]);
    expect(reads.size).toBeGreaterThan(20);
    const picked = mapRegion(data(instances.map((i) => pickFrom({ Reservations: [{ Instances: [i] }] }, EC2_READS.DescribeInstances!) as any).map((x) => x.Reservations[0].Instances[0]), (pickFrom({ SecurityGroups: groups }, EC2_READS.DescribeSecurityGroups!) as any).SecurityGroups));
    expect(picked).toStrictEqual(full);
  });

  it('DescribeRegions (not paged) and errors (left to the SDK)', async () => {
    const ok = await both(fake.endpoint, () => new DescribeRegionsCommand({ AllRegions: true }));
    expect(ok.fast).toStrictEqual(ok.sdk);
    const bad = await both(fake.endpoint, () => new DescribeSecurityGroupsCommand({ GroupIds: ['sg-0doesnotexist0001'] }));
    expect(bad.sdk).toHaveProperty('e.name', 'InvalidGroup.NotFound');
    expect(bad.fast).toStrictEqual(bad.sdk);
  });
});

describe('fast EC2 XML on documents EC2 does not send today', () => {
  let server: http.Server;
  let endpoint = '';
  let body = '';
  beforeAll(async () => {
    server = http.createServer((req, res) => {
      req.resume();
      req.on('end', () => {
        res.writeHead(200, { 'content-type': 'text/xml;charset=UTF-8', 'x-amzn-requestid': 'req-1' });
        res.end(body);
      });
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    endpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(() => new Promise<void>((r) => server.close(() => r())));

  const NS = 'xmlns="http://ec2.amazonaws.com/doc/2016-11-15/"';
  const sg = (inner: string) => `<?xml version="1.0" encoding="UTF-8"?>\n<DescribeSecurityGroupsResponse ${NS}><requestId>r</requestId><securityGroupInfo><item>${inner}</item></securityGroupInfo></DescribeSecurityGroupsResponse>`;
  const perm = '<ipPermissions><item><ipProtocol>tcp</ipProtocol><fromPort>3389</fromPort><toPort>3389</toPort><groups/><ipRanges><item><cidrIp>0.0.0.0/0</cidrIp></item></ipRanges><ipv6Ranges/><prefixListIds/></item></ipPermissions>';

  it.each([
    ['plain', sg(`<groupId>sg-1</groupId><groupName>a</groupName>${perm}`), true],
    ['pretty-printed, as EC2 sends it', sg(`\n    <groupId>sg-1</groupId>\n    <groupName>a</groupName>\n    ${perm.replaceAll('><', '>\n      <')}\n`), true],
    ['entities, numeric references, an empty scalar and a blank one', sg('<groupId>sg-&#x31;&#50;</groupId><groupName>a &amp; b &lt;c&gt; &quot;d&quot; &apos;e&apos; &unknown;</groupName><groupDescription></groupDescription><vpcId>\n  </vpcId><ownerId>  </ownerId>'), true],
    ['empty lists and structures, self-closed', sg('<groupId>sg-1</groupId><ipPermissions/><tagSet></tagSet><ipPermissionsEgress><item/></ipPermissionsEgress>'), true],
    ['elements the schema does not name', sg('<groupId>sg-1</groupId><futureField><a><b>1</b></a><c/></futureField><ipPermissions><item><bogus>x</bogus><ipProtocol>-1</ipProtocol></item><notAnItem>y</notAnItem></ipPermissions>'), true],
    ['no result members at all', `<DescribeSecurityGroupsResponse ${NS}><requestId>r</requestId></DescribeSecurityGroupsResponse>`, true],
    ['a self-closed root', `<DescribeSecurityGroupsResponse ${NS}/>`, true],
    ['numbers and booleans in odd spellings', sg('<groupId>sg-1</groupId><ipPermissions><item><fromPort> 22 </fromPort><toPort>x</toPort></item></ipPermissions>'), true],
    ['CDATA (handed back)', sg('<groupId><![CDATA[sg-<1>]]></groupId>'), false],
    ['a comment (handed back)', sg('<groupId>sg-1</groupId><!-- c --><groupName>a</groupName>'), false],
    ['attributes below the root (handed back)', sg('<groupId kind="x">sg-1</groupId>'), false],
    ['mixed content (handed back)', sg('<groupId>sg-1</groupId>stray text<groupName>a</groupName>'), false],
    ['a repeated member (handed back)', sg('<groupId>sg-1</groupId><groupId>sg-2</groupId>'), false],
    ['carriage returns (handed back)', sg('<groupId>sg-1</groupId>\r\n<groupName>a\r\nb</groupName>'), false],
    ['a child inside a scalar (handed back)', sg('<groupId><x>1</x></groupId>'), false],
  ] as const)('%s', async (_, xml, fast) => {
    body = xml;
    const before = { ...fastXmlStats };
    const r = await both(endpoint, () => new DescribeSecurityGroupsCommand({}));
    expect(r.fast).toStrictEqual(r.sdk);
    expect(fastXmlStats.fast - before.fast).toBe(fast ? 1 : 0);
    expect(fastXmlStats.handedBack - before.handedBack).toBe(fast ? 0 : 1);
  });

  it('timestamps and nested instance shapes', async () => {
    body = `<DescribeInstancesResponse ${NS}><requestId>r</requestId><reservationSet><item><reservationId>r-1</reservationId><instancesSet><item><instanceId>i-1</instanceId><launchTime>2024-03-01T10:00:00.000Z</launchTime><instanceState><code>16</code><name>running</name></instanceState><ebsOptimized>TRUE</ebsOptimized><networkInterfaceSet><item><attachment><attachTime>2024-03-01T10:00:00Z</attachTime><deviceIndex>0</deviceIndex></attachment><groupSet><item><groupId>sg-1</groupId></item></groupSet></item></networkInterfaceSet></item></instancesSet></item></reservationSet></DescribeInstancesResponse>`;
    const r = await both(endpoint, () => new DescribeInstancesCommand({}));
    expect(r.fast).toStrictEqual(r.sdk);
    expect((r.fast as any).v.Reservations[0].Instances[0].LaunchTime).toBeInstanceOf(Date);
  });
});
