// The audit's AWS read path (providers/aws/reader.ts) against a loopback server that records what it receives:
// the requests are the ones the real SDK client sends for the same operation, the signature is valid by
// AWS's own recipe (checked here with node:crypto, independently of the SDK's signer), and error answers
// written as EC2 and SSM document them come back as the SDK's exceptions, retried when they are throttling,
// transient or clock skew.
//
// Signature Version 4: https://docs.aws.amazon.com/IAM/latest/UserGuide/create-signed-request.html
// EC2 error answers: https://docs.aws.amazon.com/AWSEC2/latest/APIReference/errors-overview.html
// SSM (JSON 1.1) errors: https://docs.aws.amazon.com/systems-manager/latest/APIReference/CommonErrors.html
import { createHash, createHmac } from 'node:crypto';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import { gzipSync } from 'node:zlib';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { DescribeSecurityGroupsCommand, EC2Client, DescribeSecurityGroups$, GetManagedPrefixListEntriesCommand, GetManagedPrefixListEntries$ } from '@aws-sdk/client-ec2';
import { DescribeInstanceInformationCommand, DescribeInstanceInformation$, SSMClient } from '@aws-sdk/client-ssm';
import { AwsReader, peekNextToken } from '../../providers/aws/reader.js';
import { describeAwsError } from '../../providers/aws/client.js';
import { useFastXml } from '../../providers/aws/fast-xml.js';
import { newStats, type ProviderContext } from '../../providers/types.js';

const CREDS = { accessKeyId: 'AKIAREADERTEST000001', secretAccessKey: 'reader-test-secret-not-real', sessionToken: 'reader-test-session-token' };

interface Seen {
  method: string;
  url: string;
  headers: IncomingHttpHeaders;
  body: string;
}
type Answer = { status: number; headers?: Record<string, string>; body: string | Buffer };

let server: Server;
let endpoint: string;
const seen: Seen[] = [];
let answers: Answer[] = [];
const EMPTY_SGS = '<?xml version="1.0" encoding="UTF-8"?>\n<DescribeSecurityGroupsResponse xmlns="http://ec2.amazonaws.com/doc/2016-11-15/"><requestId>r-1</requestId><securityGroupInfo/></DescribeSecurityGroupsResponse>';

beforeAll(async () => {
  server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      seen.push({ method: req.method!, url: req.url!, headers: req.headers, body: Buffer.concat(chunks).toString('utf8') });
      const a = answers.shift() ?? { status: 200, headers: { 'content-type': 'text/xml;charset=UTF-8' }, body: EMPTY_SGS };
      res.writeHead(a.status, a.headers ?? {});
      res.end(a.body);
    });
  });
  await new Promise<void>((ok) => server.listen(0, '127.0.0.1', ok));
  endpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(() => new Promise<void>((ok) => server.close(() => ok())));
beforeEach(() => {
  seen.length = 0;
  answers = [];
});

const ctx = (): ProviderContext => ({ env: {}, warn: () => {}, stats: newStats(), retry: { attempts: 4, baseMs: 1, maxMs: 5 } });
const ec2Client = () => new EC2Client({ region: 'eu-west-1', endpoint, credentials: CREDS, maxAttempts: 1 });
const ec2Reader = (c: ProviderContext, client = ec2Client()) => {
  useFastXml(client);
  return new AwsReader({ service: 'ec2', region: 'eu-west-1', client, credentials: async () => CREDS, ctx: c });
};
const ssmClient = () => new SSMClient({ region: 'eu-west-1', endpoint, credentials: CREDS, maxAttempts: 1 });
const form = (body: string) => Object.fromEntries(new URLSearchParams(body));

/** Recomputes the request's SigV4 signature from what arrived, as AWS's documentation describes it. */
function expectValidSignature(s: Seen, secret: string): void {
  const auth = String(s.headers.authorization);
  const m = /^AWS4-HMAC-SHA256 Credential=([^/]+)\/(\d{8})\/([^/]+)\/([^/]+)\/aws4_request, SignedHeaders=([^,]+), Signature=([0-9a-f]{64})$/.exec(auth);
  expect(m, auth).not.toBeNull();
  const [, , date, region, service, signedHeaders, signature] = m!;
  const amzDate = String(s.headers['x-amz-date']);
  expect(amzDate.slice(0, 8)).toBe(date);
  const sha = (x: string) => createHash('sha256').update(x, 'utf8').digest('hex');
  const names = signedHeaders!.split(';');
  expect(names).toEqual([...names].sort());
  for (const required of ['host', 'x-amz-date']) expect(names).toContain(required);
  const canonicalHeaders = names.map((n) => `${n}:${String(s.headers[n]).trim().replace(/\s+/g, ' ')}\n`).join('');
  const [path, query = ''] = s.url.split('?');
  const canonical = [s.method, path, query, canonicalHeaders, signedHeaders, sha(s.body)].join('\n');
  const scope = `${date}/${region}/${service}/aws4_request`;
  const toSign = ['AWS4-HMAC-SHA256', amzDate, scope, sha(canonical)].join('\n');
  let key: Buffer = createHmac('sha256', `AWS4${secret}`).update(date!).digest();
  for (const part of [region!, service!, 'aws4_request']) key = createHmac('sha256', key).update(part).digest();
  expect(createHmac('sha256', key).update(toSign).digest('hex')).toBe(signature);
}

describe('requests: what the SDK sends, validly signed', () => {
  it('EC2 DescribeSecurityGroups with a NextToken needing escapes: the SDK client and the reader send the same request', async () => {
    const token = "a+b/c=d!'()*~";
    await ec2Client().send(new DescribeSecurityGroupsCommand({ MaxResults: 1000, NextToken: token }));
    await ec2Reader(ctx()).call('DescribeSecurityGroups', DescribeSecurityGroups$, { MaxResults: 1000, NextToken: token });
    const [sdk, ours] = seen as [Seen, Seen];
    expect(ours.method).toBe(sdk.method);
    expect(ours.url).toBe(sdk.url);
    expect(ours.headers['content-type']).toBe(sdk.headers['content-type']);
    expect(form(ours.body)).toEqual(form(sdk.body));
    expect(form(ours.body)).toEqual({ Action: 'DescribeSecurityGroups', Version: '2016-11-15', MaxResults: '1000', NextToken: token });
    expect(ours.headers['x-amz-security-token']).toBe(CREDS.sessionToken);
    // Same credential scope: region and signing name from the SDK's endpoint rules.
    const scopeOf = (s: Seen) => /Credential=[^/]+\/\d{8}\/([^,]+),/.exec(String(s.headers.authorization))?.[1];
    expect(scopeOf(ours)).toBe(scopeOf(sdk));
    expect(scopeOf(ours)).toBe('eu-west-1/ec2/aws4_request');
    expectValidSignature(sdk, CREDS.secretAccessKey); // the recipe here is right ...
    expectValidSignature(ours, CREDS.secretAccessKey); // ... and the reader's signature passes it
  });

  it('EC2 GetManagedPrefixListEntries: the same parameters as the SDK', async () => {
    const body = '<GetManagedPrefixListEntriesResponse xmlns="http://ec2.amazonaws.com/doc/2016-11-15/"><requestId>r</requestId><entrySet><item><cidr>10.0.0.0/8</cidr></item></entrySet></GetManagedPrefixListEntriesResponse>';
    answers = [{ status: 200, body }, { status: 200, body }];
    const viaSdk = await ec2Client().send(new GetManagedPrefixListEntriesCommand({ PrefixListId: 'pl-0abc', MaxResults: 100 }));
    const ours = await ec2Reader(ctx()).call('GetManagedPrefixListEntries', GetManagedPrefixListEntries$, { PrefixListId: 'pl-0abc', MaxResults: 100 });
    expect(form(seen[1]!.body)).toEqual(form(seen[0]!.body));
    expect(ours.Entries).toEqual(viaSdk.Entries);
    expect(ours.Entries).toEqual([{ Cidr: '10.0.0.0/8' }]);
  });

  it('SSM DescribeInstanceInformation (JSON 1.1): the same target, body and answer as the SDK client', async () => {
    const body = JSON.stringify({ InstanceInformationList: [{ InstanceId: 'i-0abc', PingStatus: 'Online', AgentVersion: '3.3.40.0', LastPingDateTime: 1767225600 }], NextToken: 'n2' });
    answers = [{ status: 200, headers: { 'content-type': 'application/x-amz-json-1.1' }, body }, { status: 200, headers: { 'content-type': 'application/x-amz-json-1.1' }, body }];
    const viaSdk = await ssmClient().send(new DescribeInstanceInformationCommand({ MaxResults: 50 }));
    const reader = new AwsReader({ service: 'ssm', region: 'eu-west-1', client: ssmClient(), credentials: async () => CREDS, ctx: ctx() });
    const ours = await reader.call('DescribeInstanceInformation', DescribeInstanceInformation$, { MaxResults: 50 });
    const [sdk, mine] = seen as [Seen, Seen];
    expect(mine.headers['x-amz-target']).toBe('AmazonSSM.DescribeInstanceInformation');
    expect(mine.headers['x-amz-target']).toBe(sdk.headers['x-amz-target']);
    expect(mine.headers['content-type']).toBe(sdk.headers['content-type']);
    expect(JSON.parse(mine.body)).toEqual(JSON.parse(sdk.body));
    expectValidSignature(mine, CREDS.secretAccessKey);
    const { $metadata: _a, ...a } = ours;
    const { $metadata: _b, ...b } = viaSdk;
    expect(a).toEqual(b);
    expect(ours.InstanceInformationList[0].LastPingDateTime).toEqual(new Date(1767225600 * 1000));
  });

  it('pages follow NextToken until the answer has none, one request per page', async () => {
    const page = (n: number, next?: string) =>
      `<DescribeSecurityGroupsResponse xmlns="http://ec2.amazonaws.com/doc/2016-11-15/"><requestId>r</requestId><securityGroupInfo><item><groupId>sg-${n}</groupId></item></securityGroupInfo>${next ? `<nextToken>${next}</nextToken>` : ''}</DescribeSecurityGroupsResponse>`;
    answers = [{ status: 200, body: page(1, 't2') }, { status: 200, body: page(2, 't3') }, { status: 200, body: page(3) }];
    const c = ctx();
    const ids: string[] = [];
    for await (const p of ec2Reader(c).pages('DescribeSecurityGroups', DescribeSecurityGroups$, { MaxResults: 1000 })) for (const g of p.SecurityGroups) ids.push(g.GroupId);
    expect(ids).toEqual(['sg-1', 'sg-2', 'sg-3']);
    expect(seen.map((s) => form(s.body).NextToken)).toEqual([undefined, 't2', 't3']);
    expect(c.stats.requests).toEqual({ 'ec2.DescribeSecurityGroups': 3 });
    expect(c.stats.retries).toBe(0);
  });

  it('the next page is asked for as soon as a page\'s bytes show its token, and never more than one page ahead', async () => {
    const page = (n: number, next?: string) =>
      `<DescribeSecurityGroupsResponse xmlns="http://ec2.amazonaws.com/doc/2016-11-15/"><requestId>r</requestId><securityGroupInfo><item><groupId>sg-${n}</groupId></item></securityGroupInfo>${next ? `<nextToken>${next}</nextToken>` : ''}</DescribeSecurityGroupsResponse>`;
    answers = [1, 2, 3, 4, 5].map((n) => ({ status: 200, body: page(n, n < 5 ? `t${n + 1}` : undefined) }));
    const c = ctx();
    const pages = ec2Reader(c).pages('DescribeSecurityGroups', DescribeSecurityGroups$, { MaxResults: 1000 });
    const first = await pages.next();
    expect(first.value.SecurityGroups[0].GroupId).toBe('sg-1');
    // Held at page 1: page 2 was asked for early (page 1's token), page 3 once page 2 (the next to be read) was in.
    for (let waited = 0; seen.length < 3 && waited < 2000; waited += 10) await new Promise((ok) => setTimeout(ok, 10));
    await new Promise((ok) => setTimeout(ok, 100));
    expect(seen.length).toBe(3);
    const ids = ['sg-1'];
    for await (const p of pages) for (const g of p.SecurityGroups) ids.push(g.GroupId);
    expect(ids).toEqual(['sg-1', 'sg-2', 'sg-3', 'sg-4', 'sg-5']);
    expect(seen.map((s) => form(s.body).NextToken)).toEqual([undefined, 't2', 't3', 't4', 't5']);
    expect(c.stats.requests).toEqual({ 'ec2.DescribeSecurityGroups': 5 });
  });

  it.each([
    ['ec2', '<R><set/><nextToken>eyJ2IjoxfQ</nextToken></DescribeInstancesResponse>', 'eyJ2IjoxfQ'],
    ['ec2', '<R><set/><nextToken>abc+/=</nextToken></DescribeSecurityGroupsResponse>\n', 'abc+/='],
    ['ec2', '<R><set/></DescribeInstancesResponse>', undefined], // the last page
    ['ec2', '<R><nextToken>abc</nextToken><set/></DescribeInstancesResponse>', undefined], // not last: read first
    ['ec2', '<R><set><item><nextToken>x</nextToken></item></set></DescribeInstancesResponse>', undefined], // not the root's
    ['ec2', '<R><set/><nextToken>a&amp;b</nextToken></DescribeInstancesResponse>', undefined], // an entity: read first
    ['ssm', '{"InstanceInformationList":[],"NextToken":"AAEAAf=="}', 'AAEAAf=='],
    ['ssm', '{"NextToken":"AAE","InstanceInformationList":[]}', undefined], // not the last member
    ['ssm', '{"InstanceInformationList":[{"x":{"NextToken":"no"}}]}', undefined],
    ['ssm', '{"InstanceInformationList":[],"NextToken":"a\\u0041"}', undefined], // an escape: read first
  ] as const)('peekNextToken(%s, %j) = %j', (service, text, want) => {
    expect(peekNextToken(service, Buffer.from(text))).toBe(want);
  });

  it('a gzip-compressed answer is inflated', async () => {
    answers = [{ status: 200, headers: { 'content-encoding': 'gzip' }, body: gzipSync(EMPTY_SGS) }];
    const out = await ec2Reader(ctx()).call('DescribeSecurityGroups', DescribeSecurityGroups$, { MaxResults: 1000 });
    expect(out.SecurityGroups ?? []).toEqual([]);
    expect(seen[0]!.headers['accept-encoding']).toContain('gzip');
  });
});

describe('endpoints: the SDK\'s rules for the region and settings', () => {
  // https://docs.aws.amazon.com/general/latest/gr/ec2-service.html and ssm.html (service endpoints)
  it.each([
    ['ec2', 'eu-west-1', {}, 'https://ec2.eu-west-1.amazonaws.com/'],
    ['ssm', 'eu-west-1', {}, 'https://ssm.eu-west-1.amazonaws.com/'],
    ['ec2', 'us-east-1', { useFipsEndpoint: true }, 'https://ec2-fips.us-east-1.amazonaws.com/'],
    ['ec2', 'cn-north-1', {}, 'https://ec2.cn-north-1.amazonaws.com.cn/'],
    ['ec2', 'us-gov-west-1', {}, 'https://ec2.us-gov-west-1.amazonaws.com/'],
    ['ec2', 'eu-west-1', { endpoint: 'http://127.0.0.1:4566' }, 'http://127.0.0.1:4566/'],
  ] as const)('%s in %s %o -> %s', async (service, region, settings, expected) => {
    const client = service === 'ec2' ? new EC2Client({ region, credentials: CREDS, ...settings }) : new SSMClient({ region, credentials: CREDS, ...settings });
    expect(await new AwsReader({ service, region, client, credentials: async () => CREDS, ctx: ctx() }).endpoint()).toBe(expected);
  });
});

const ec2Error = (code: string, message: string) => `<?xml version="1.0" encoding="UTF-8"?>\n<Response><Errors><Error><Code>${code}</Code><Message>${message}</Message></Error></Errors><RequestID>ea966190-f9aa-478e-9ede-example</RequestID></Response>`;

describe('errors: the SDK exception, retried as the SDK would', () => {
  it.each([
    ['503 RequestLimitExceeded (EC2 throttling)', 503, 'RequestLimitExceeded', true],
    ['503 Unavailable', 503, 'Unavailable', false],
    ['500 InternalError', 500, 'InternalError', false],
  ] as const)('%s is retried and the page still arrives', async (_label, status, code, throttled) => {
    answers = [{ status, body: ec2Error(code, 'try again') }];
    const c = ctx();
    const out = await ec2Reader(c).call('DescribeSecurityGroups', DescribeSecurityGroups$, { MaxResults: 1000 });
    expect(out.$metadata.httpStatusCode).toBe(200);
    expect(seen).toHaveLength(2);
    expect(c.stats).toEqual({ requests: { 'ec2.DescribeSecurityGroups': 1 }, retries: 1, throttled: throttled ? 1 : 0 });
  });

  it('403 UnauthorizedOperation fails at once with the SDK error name and status, and the permission hint', async () => {
    answers = [{ status: 403, body: ec2Error('UnauthorizedOperation', 'You are not authorized to perform this operation.') }];
    const c = ctx();
    const err: any = await ec2Reader(c).call('DescribeSecurityGroups', DescribeSecurityGroups$, { MaxResults: 1000 }).catch((e) => e);
    expect(err.name).toBe('UnauthorizedOperation');
    expect(err.$metadata.httpStatusCode).toBe(403);
    expect(seen).toHaveLength(1);
    expect(describeAwsError(err, 'DescribeSecurityGroups')).toMatch(/^DescribeSecurityGroups: permission denied \(You are not authorized/);
  });

  it('SSM 400 ThrottlingException (JSON __type) is retried as throttling', async () => {
    const json = { 'content-type': 'application/x-amz-json-1.1' };
    answers = [
      { status: 400, headers: json, body: JSON.stringify({ __type: 'ThrottlingException', message: 'Rate exceeded' }) },
      { status: 200, headers: json, body: JSON.stringify({ InstanceInformationList: [] }) },
    ];
    const c = ctx();
    const out = await new AwsReader({ service: 'ssm', region: 'eu-west-1', client: ssmClient(), credentials: async () => CREDS, ctx: c }).call('DescribeInstanceInformation', DescribeInstanceInformation$, { MaxResults: 50 });
    expect(out.InstanceInformationList).toEqual([]);
    expect(c.stats).toEqual({ requests: { 'ssm.DescribeInstanceInformation': 1 }, retries: 1, throttled: 1 });
  });

  it('a clock-skew answer (RequestExpired) is retried signed with the server time from its Date header', async () => {
    const serverTime = new Date(Date.now() + 3 * 3600_000);
    answers = [{ status: 400, headers: { date: serverTime.toUTCString() }, body: ec2Error('RequestExpired', 'Request has expired.') }];
    await ec2Reader(ctx()).call('DescribeSecurityGroups', DescribeSecurityGroups$, { MaxResults: 1000 });
    expect(seen).toHaveLength(2);
    const amz = (s: Seen) => {
      const d = String(s.headers['x-amz-date']);
      return Date.parse(`${d.slice(0, 4)}-${d.slice(4, 6)}-${d.slice(6, 8)}T${d.slice(9, 11)}:${d.slice(11, 13)}:${d.slice(13, 15)}Z`);
    };
    expect(Math.abs(amz(seen[1]!) - serverTime.getTime())).toBeLessThan(60_000);
    expect(Math.abs(amz(seen[0]!) - Date.now())).toBeLessThan(60_000);
  });

  it('a connection reset before any answer is retried (transport error)', async () => {
    let first = true;
    const flaky = createServer((req, res) => {
      if (first) {
        first = false;
        req.socket.destroy();
        return;
      }
      req.resume();
      req.on('end', () => res.end(EMPTY_SGS));
    });
    await new Promise<void>((ok) => flaky.listen(0, '127.0.0.1', ok));
    try {
      const client = new EC2Client({ region: 'eu-west-1', endpoint: `http://127.0.0.1:${(flaky.address() as AddressInfo).port}`, credentials: CREDS });
      const c = ctx();
      const out = await ec2Reader(c, client).call('DescribeSecurityGroups', DescribeSecurityGroups$, { MaxResults: 1000 });
      expect(out.$metadata.httpStatusCode).toBe(200);
      expect(c.stats.retries).toBe(1);
    } finally {
      await new Promise<void>((ok) => flaky.close(() => ok()));
    }
  });
});
