/**
 * Fake AWS: EC2 Query API (2016-11-15), STS Query API (2011-06-15), Organizations and SSM (JSON 1.1),
 * all on ONE http server on 127.0.0.1 (random port). Requests are told apart the way the real SDK sends them:
 * JSON by `X-Amz-Target`, Query by the SigV4 credential scope in `Authorization`
 * (`Credential=AKID/yyyymmdd/<region>/<service>/aws4_request`), which also gives the region and the access key id.
 * Signatures are not checked. See README.md in this folder for the world shape and the observed SDK behaviours.
 */
import { attemptCounter, listenOnLoopback } from '../loopback.js';
import http from 'node:http';
import { createHash, randomBytes, randomUUID } from 'node:crypto';
import type {
  Instance,
  ManagedPrefixList,
  NetworkAcl,
  NetworkInterface,
  PrefixListEntry,
  Reservation,
  RouteTable,
  SecurityGroup,
  Subnet,
  Tag,
  Vpc,
} from '@aws-sdk/client-ec2';
import type { InstanceInformation } from '@aws-sdk/client-ssm';
import type { Account as OrgAccount } from '@aws-sdk/client-organizations';
import * as S from './shapes.js';

const HOST = '127.0.0.1' as const;
const EC2_NS = 'http://ec2.amazonaws.com/doc/2016-11-15/';
const STS_NS = 'https://sts.amazonaws.com/doc/2011-06-15/';

// ------------------------------------------------------------------------------------------------
// World
// ------------------------------------------------------------------------------------------------

export type OptInStatus = 'opt-in-not-required' | 'opted-in' | 'not-opted-in';

/** A managed prefix list as DescribeManagedPrefixLists shows it, plus its entries (GetManagedPrefixListEntries). */
export type FakePrefixList = ManagedPrefixList & { Entries?: PrefixListEntry[] };

export interface AwsRegionWorld {
  /**
   * DescribeRegions' OptInStatus (default opt-in-not-required). A `not-opted-in` region answers every EC2 call with
   * OptInRequired (401), or with `error` if set (e.g. 'AuthFailure'), and SSM with UnrecognizedClientException.
   */
  optIn?: OptInStatus;
  /** Reservations (`{ReservationId, OwnerId, Instances: [...]}`) or bare instances (each gets its own reservation), or a mix. */
  instances?: (Instance | Reservation)[];
  securityGroups?: SecurityGroup[];
  subnets?: Subnet[];
  vpcs?: Vpc[];
  routeTables?: RouteTable[];
  networkAcls?: NetworkAcl[];
  prefixLists?: FakePrefixList[];
  /** DescribeNetworkInterfaces; default: derived from the instances' NetworkInterfaces. */
  networkInterfaces?: NetworkInterface[];
  /** SSM DescribeInstanceInformation's InstanceInformationList. */
  ssm?: InstanceInformation[];
  /** Every EC2 / SSM request into this region fails like this. */
  error?: AwsFault;
  /** Per operation in this region, e.g. { 'ec2.DescribeSecurityGroups': 'UnauthorizedOperation' }. */
  opErrors?: Record<string, AwsFault>;
}

export interface AccessKeySpec {
  accessKeyId: string;
  /** The principal; default `arn:aws:iam::<account>:user/auditor`. */
  arn?: string;
  /** GetCallerIdentity's UserId; default a stable `AIDA...` id. */
  userId?: string;
}

export interface AwsAccountWorld {
  /** Access key ids that act as this account (long-term keys; AssumeRole adds temporary ones). */
  accessKeys: (string | AccessKeySpec)[];
  /** Region name -> resources. DescribeRegions lists these; a region not listed is served as empty. */
  regions: Record<string, AwsRegionWorld>;
  /** Every request by this account fails like this. */
  error?: AwsFault;
  /** Per operation in every region, e.g. { 'ec2.DescribeInstances': 'UnauthorizedOperation', 'sts.AssumeRole': 'AccessDenied' }. */
  opErrors?: Record<string, AwsFault>;
}

export interface AwsRole {
  /** Default: the account in the ARN. */
  account?: string;
  /** Who may assume it: account ids, principal ARNs, or '*'. Default ['*'] (any caller the world knows). */
  trustedBy?: string[];
  /** If set, AssumeRole must pass this ExternalId. */
  externalId?: string;
  /** Seconds; DurationSeconds above it fails. Default 3600. */
  maxSessionDuration?: number;
}

export interface AwsOrganization {
  managementAccountId: string;
  /** Also allowed to call ListAccounts (delegated administrators). */
  delegatedAdministrators?: string[];
  /** ListAccounts output, in order (SDK shape: Id, Arn, Email, Name, Status 'ACTIVE'|'SUSPENDED', JoinedMethod, JoinedTimestamp). */
  accounts: OrgAccount[];
}

export interface AwsWorld {
  accounts: Record<string, AwsAccountWorld>;
  /** Role ARN -> who may assume it. */
  roles?: Record<string, AwsRole>;
  /** Without one, ListAccounts answers AWSOrganizationsNotInUseException. */
  organization?: AwsOrganization;
}

// ------------------------------------------------------------------------------------------------
// Errors
// ------------------------------------------------------------------------------------------------

export type AwsErrorCode =
  // EC2
  | 'RequestLimitExceeded'
  | 'UnauthorizedOperation'
  | 'OptInRequired'
  | 'AuthFailure'
  | 'InternalError'
  | 'Unavailable'
  // STS
  | 'AccessDenied'
  | 'InvalidClientTokenId'
  | 'Throttling'
  | 'RegionDisabledException'
  // Organizations
  | 'AccessDeniedException'
  | 'AWSOrganizationsNotInUseException'
  | 'TooManyRequestsException'
  | 'ServiceException'
  // SSM (and JSON services in general)
  | 'ThrottlingException'
  | 'InternalServerError'
  | 'UnrecognizedClientException';

/** Service-neutral aliases, mapped to each service's own code (handy in `fault`). */
export type AwsErrorAlias = 'throttle' | 'denied' | 'internal' | 'unavailable';

export type AwsFault = AwsErrorCode | AwsErrorAlias | { code: string; status: number; message?: string };

export type AwsService = 'ec2' | 'sts' | 'organizations' | 'ssm' | 'unknown';

export interface AwsLoggedRequest {
  service: AwsService;
  /** e.g. 'ec2.DescribeInstances', 'sts.AssumeRole', 'organizations.ListAccounts', 'ssm.DescribeInstanceInformation'. */
  op: string;
  /** The caller's account, when the access key is known. */
  account?: string;
  /** From the credential scope. */
  region?: string;
  accessKeyId?: string;
  status?: number;
  /** AWS error code of the answer, if it was an error. */
  errorCode?: string;
  /** Query: the form fields as sent (incl. Action, Version). JSON: the parsed body. */
  params: Record<string, unknown>;
}

export interface FakeAwsOptions {
  /** Server-side cap on items per page for EC2 (min'd with MaxResults). Default 1000. */
  pageSize?: number;
  /** Per-op caps, e.g. { 'ssm.DescribeInstanceInformation': 10 }. Defaults: Organizations 20, SSM 50. */
  pageSizeByOp?: Record<string, number>;
  /** Override the accepted MaxResults range per op, e.g. { 'ec2.DescribeNetworkAcls': [5, 100] }. */
  maxResultsRanges?: Record<string, [number, number]>;
  /** Delay per response (ms). */
  latencyMs?: number;
  /**
   * Inject throttling / 5xx per request (called after the access key check). `attempt` is 1 the first time
   * this exact request (service, op, access key, region, body) is seen, 2 for the SDK's retry, and so on.
   */
  fault?: (req: AwsLoggedRequest, attempt: number) => AwsFault | undefined;
  /**
   * Keep each listed item's XML once written (the benchmark: a world that never changes, served as if EC2 took
   * no time; a 1000-group page is ~25 ms of rendering otherwise). Tests leave it off, so a world changed
   * between requests is served as it is.
   */
  cacheItems?: boolean;
}

export interface FakeAws {
  port: number;
  host: '127.0.0.1';
  /** `http://127.0.0.1:PORT`, for `endpoint`. */
  endpoint: string;
  requests: AwsLoggedRequest[];
  close(): Promise<void>;
}

/** MaxResults ranges (the EC2 model's constraints as in botocore's service-2.json; DescribeInstances from its API reference). */
export const MAX_RESULTS_RANGES: Readonly<Record<string, readonly [number, number]>> = {
  'ec2.DescribeInstances': [5, 1000],
  'ec2.DescribeSecurityGroups': [5, 1000],
  'ec2.DescribeSubnets': [5, 1000],
  'ec2.DescribeVpcs': [5, 1000],
  'ec2.DescribeRouteTables': [5, 100],
  'ec2.DescribeNetworkAcls': [5, 1000],
  'ec2.DescribeManagedPrefixLists': [1, 100],
  'ec2.GetManagedPrefixListEntries': [1, 100],
  'ec2.DescribeNetworkInterfaces': [5, 1000],
  'organizations.ListAccounts': [1, 20],
  'ssm.DescribeInstanceInformation': [5, 50],
};

interface Principal {
  accessKeyId: string;
  account: string;
  arn: string;
  userId: string;
  sessionToken?: string;
}

/** What an error answer needs to know about the request. */
interface ErrCtx {
  service: AwsService;
  action: string;
  principal?: Principal;
  region?: string;
  resource?: string;
}

interface ErrorSpec {
  code: string;
  status: number;
  message: string;
  /** Extra members of a JSON error body (Organizations `Type`, `Reason`). */
  extra?: Record<string, string>;
}

const ALIASES: Record<AwsErrorAlias, Record<Exclude<AwsService, 'unknown'>, string>> = {
  throttle: { ec2: 'RequestLimitExceeded', sts: 'Throttling', organizations: 'TooManyRequestsException', ssm: 'ThrottlingException' },
  denied: { ec2: 'UnauthorizedOperation', sts: 'AccessDenied', organizations: 'AccessDeniedException', ssm: 'AccessDeniedException' },
  internal: { ec2: 'InternalError', sts: 'InternalFailure', organizations: 'ServiceException', ssm: 'InternalServerError' },
  unavailable: { ec2: 'Unavailable', sts: 'ServiceUnavailable', organizations: 'ServiceException', ssm: 'ServiceUnavailable' },
};

function iamAction(ctx: ErrCtx): string {
  return `${ctx.service}:${ctx.action}`;
}

function errorSpec(fault: AwsFault, ctx: ErrCtx): ErrorSpec {
  if (typeof fault === 'object') return { code: fault.code, status: fault.status, message: fault.message ?? fault.code };
  const svc = ctx.service === 'unknown' ? 'ec2' : ctx.service;
  const code = fault in ALIASES ? ALIASES[fault as AwsErrorAlias][svc] : fault;
  const who = ctx.principal?.arn ?? 'anonymous';
  switch (code) {
    case 'RequestLimitExceeded':
      return { code, status: 503, message: 'Request limit exceeded.' };
    case 'UnauthorizedOperation':
      return {
        code,
        status: 403,
        message:
          `You are not authorized to perform this operation. User: ${who} is not authorized to perform: ${iamAction(ctx)} ` +
          `because no identity-based policy allows the ${iamAction(ctx)} action`,
      };
    case 'OptInRequired':
      return { code, status: 401, message: 'You are not subscribed to this service. Please go to http://aws.amazon.com to subscribe.' };
    case 'AuthFailure':
      return { code, status: 401, message: 'AWS was not able to validate the provided access credentials' };
    case 'InternalError':
      return { code, status: 500, message: 'An internal error has occurred' };
    case 'Unavailable':
      return { code, status: 503, message: "The server is overloaded and can't handle the request" };
    case 'AccessDenied':
      return { code, status: 403, message: `User: ${who} is not authorized to perform: ${iamAction(ctx)} on resource: ${ctx.resource ?? '*'}` };
    case 'InvalidClientTokenId':
      return { code, status: 403, message: 'The security token included in the request is invalid.' };
    case 'Throttling':
      return { code, status: 400, message: 'Rate exceeded' };
    case 'RegionDisabledException':
      return {
        code,
        status: 403,
        message:
          `STS is not activated in this region for account:${ctx.principal?.account ?? ''}. Your account administrator can ` +
          'activate STS in this region using the IAM Console.',
      };
    case 'InternalFailure':
      return { code, status: 500, message: 'An internal error occurred.' };
    case 'ServiceUnavailable':
      return { code, status: 503, message: 'Service is unavailable.' };
    case 'AccessDeniedException':
      return ctx.service === 'organizations'
        ? { code, status: 400, message: "You don't have permissions to access this resource." }
        : {
            code,
            status: 400,
            message:
              `User: ${who} is not authorized to perform: ${iamAction(ctx)} on resource: ` +
              `arn:aws:${ctx.service}:${ctx.region ?? 'us-east-1'}:${ctx.principal?.account ?? ''}:* because no identity-based policy allows the ${iamAction(ctx)} action`,
          };
    case 'AWSOrganizationsNotInUseException':
      return { code, status: 400, message: 'Your account is not a member of an organization.' };
    case 'TooManyRequestsException':
      return { code, status: 400, message: 'AWS Organizations can\'t complete your request because another request is already in progress. Try again later.', extra: { Type: 'TooManyRequestsException' } };
    case 'ServiceException':
      return { code, status: 500, message: 'AWS Organizations can\'t complete your request because of an internal service error. Try again later.' };
    case 'ThrottlingException':
      return { code, status: 400, message: 'Rate exceeded' };
    case 'InternalServerError':
      return { code, status: 500, message: 'An error occurred on the server side.' };
    case 'UnrecognizedClientException':
      return { code, status: 400, message: 'The security token included in the request is invalid.' };
    default:
      return { code, status: 400, message: code };
  }
}

// ------------------------------------------------------------------------------------------------
// Results
// ------------------------------------------------------------------------------------------------

interface Result {
  status: number;
  body: string;
  contentType: string;
  headers?: Record<string, string>;
  errorCode?: string;
}

const requestId = () => randomUUID();

function ec2Error(e: ErrorSpec): Result {
  const id = requestId();
  return {
    status: e.status,
    contentType: 'text/xml;charset=UTF-8',
    errorCode: e.code,
    headers: { 'x-amzn-requestid': id },
    body:
      '<?xml version="1.0" encoding="UTF-8"?>\n' +
      `<Response><Errors><Error><Code>${S.xmlEscape(e.code)}</Code><Message>${S.xmlEscape(e.message)}</Message></Error></Errors>` +
      `<RequestID>${id}</RequestID></Response>`,
  };
}

function stsError(e: ErrorSpec): Result {
  const id = requestId();
  return {
    status: e.status,
    contentType: 'text/xml',
    errorCode: e.code,
    headers: { 'x-amzn-requestid': id },
    body:
      `<ErrorResponse xmlns="${STS_NS}">\n  <Error>\n    <Type>${e.status >= 500 ? 'Receiver' : 'Sender'}</Type>\n` +
      `    <Code>${S.xmlEscape(e.code)}</Code>\n    <Message>${S.xmlEscape(e.message)}</Message>\n  </Error>\n` +
      `  <RequestId>${id}</RequestId>\n</ErrorResponse>\n`,
  };
}

function jsonError(e: ErrorSpec): Result {
  const id = requestId();
  // Organizations' error structures name the member `Message`; SSM's mostly `Message` too; the SDK reads either.
  const body = { __type: e.code, Message: e.message, ...(e.extra ?? {}) };
  return {
    status: e.status,
    contentType: 'application/x-amz-json-1.1',
    errorCode: e.code,
    headers: { 'x-amzn-requestid': id, 'x-amzn-errortype': e.code },
    body: JSON.stringify(body),
  };
}

function errorResult(fault: AwsFault, ctx: ErrCtx): Result {
  const spec = errorSpec(fault, ctx);
  if (ctx.service === 'sts') return stsError(spec);
  if (ctx.service === 'organizations' || ctx.service === 'ssm') return jsonError(spec);
  return ec2Error(spec);
}

function ec2Ok(action: string, inner: string): Result {
  const id = requestId();
  return {
    status: 200,
    contentType: 'text/xml;charset=UTF-8',
    headers: { 'x-amzn-requestid': id, server: 'AmazonEC2' },
    body: `<?xml version="1.0" encoding="UTF-8"?>\n<${action}Response xmlns="${EC2_NS}"><requestId>${id}</requestId>${inner}</${action}Response>`,
  };
}

function stsOk(action: string, inner: string): Result {
  const id = requestId();
  return {
    status: 200,
    contentType: 'text/xml',
    headers: { 'x-amzn-requestid': id },
    body:
      `<${action}Response xmlns="${STS_NS}">\n  <${action}Result>${inner}</${action}Result>\n` +
      `  <ResponseMetadata>\n    <RequestId>${id}</RequestId>\n  </ResponseMetadata>\n</${action}Response>\n`,
  };
}

/** JSON timestamps are epoch seconds (awsJson1_1). */
function jsonReplacer(this: unknown, key: string, value: unknown): unknown {
  const raw = (this as Record<string, unknown>)[key];
  return raw instanceof Date ? raw.getTime() / 1000 : value;
}

function jsonOk(body: unknown): Result {
  return {
    status: 200,
    contentType: 'application/x-amz-json-1.1',
    headers: { 'x-amzn-requestid': requestId() },
    body: JSON.stringify(body, jsonReplacer),
  };
}

// ------------------------------------------------------------------------------------------------
// Request parsing helpers
// ------------------------------------------------------------------------------------------------

interface Scope {
  accessKeyId: string;
  date: string;
  region: string;
  service: string;
}

function parseScope(authorization: string | undefined): Scope | undefined {
  if (!authorization) return undefined;
  const m = /Credential=([^/,\s]+)\/(\d{8})\/([^/,\s]+)\/([^/,\s]+)\/aws4_request/.exec(authorization);
  if (!m) return undefined;
  return { accessKeyId: m[1]!, date: m[2]!, region: m[3]!, service: m[4]! };
}

/** `Name.1=a&Name.2=b` -> ['a', 'b'] in index order. */
function listParam(p: Record<string, string>, name: string): string[] {
  const found: [number, string][] = [];
  const prefix = `${name}.`;
  for (const k in p) {
    if (!k.startsWith(prefix)) continue;
    const n = Number(k.slice(prefix.length));
    if (Number.isInteger(n)) found.push([n, p[k]!]);
  }
  return found.sort((a, b) => a[0] - b[0]).map((x) => x[1]);
}

interface Filter {
  name: string;
  values: string[];
}

function parseFilters(p: Record<string, string>): Filter[] {
  const byIndex = new Map<number, { name?: string; values: [number, string][] }>();
  for (const k in p) {
    const m = /^Filter\.(\d+)\.(?:(Name)|Value\.(\d+))$/.exec(k);
    if (!m) continue;
    const i = Number(m[1]);
    let f = byIndex.get(i);
    if (!f) byIndex.set(i, (f = { values: [] }));
    if (m[2]) f.name = p[k];
    else f.values.push([Number(m[3]), p[k]!]);
  }
  return [...byIndex.entries()]
    .sort((a, b) => a[0] - b[0])
    .map(([, f]) => ({ name: f.name ?? '', values: f.values.sort((a, b) => a[0] - b[0]).map((v) => v[1]) }));
}

const wildcardCache = new Map<string, RegExp>();
function valueMatches(pattern: string, actual: string): boolean {
  if (!pattern.includes('*') && !pattern.includes('?')) return pattern === actual;
  let re = wildcardCache.get(pattern);
  if (!re) {
    const body = pattern.replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*').replace(/\?/g, '.');
    re = new RegExp(`^${body}$`, 's');
    wildcardCache.set(pattern, re);
  }
  return re.test(actual);
}

type FilterValue = string | number | boolean | undefined | null;
type FilterFn<T> = (x: T) => FilterValue | FilterValue[];
type FilterTable<T> = Record<string, FilterFn<T>>;

function asStrings(v: FilterValue | FilterValue[]): string[] {
  const arr = Array.isArray(v) ? v : [v];
  const out: string[] = [];
  for (const x of arr) if (x !== undefined && x !== null) out.push(String(x));
  return out;
}

class Ec2ClientError {
  constructor(
    readonly code: string,
    readonly message: string,
    readonly status = 400,
  ) {}
}

function applyFilters<T>(items: T[], filters: Filter[], table: FilterTable<T>, tags: (x: T) => Tag[] | undefined): T[] {
  if (filters.length === 0) return items;
  const fns: [FilterFn<T>, string[]][] = [];
  for (const f of filters) {
    let fn: FilterFn<T> | undefined = table[f.name];
    if (!fn && f.name.startsWith('tag:')) {
      const key = f.name.slice(4);
      fn = (x) => (tags(x) ?? []).filter((t) => t.Key === key).map((t) => t.Value);
    } else if (!fn && f.name === 'tag-key') fn = (x) => (tags(x) ?? []).map((t) => t.Key);
    else if (!fn && f.name === 'tag-value') fn = (x) => (tags(x) ?? []).map((t) => t.Value);
    if (!fn) throw new Ec2ClientError('InvalidParameterValue', `The filter '${f.name}' is invalid`);
    fns.push([fn, f.values]);
  }
  return items.filter((x) => fns.every(([fn, values]) => asStrings(fn(x)).some((a) => values.some((v) => valueMatches(v, a)))));
}

/** Keep items whose id is in `ids`; every id must exist. */
function selectIds<T>(items: T[], ids: string[], idOf: (x: T) => string | undefined, notFound: (missing: string[]) => Ec2ClientError): T[] {
  if (ids.length === 0) return items;
  const want = new Set(ids);
  const out = items.filter((x) => want.has(idOf(x) ?? ''));
  const have = new Set(out.map(idOf));
  const missing = ids.filter((i) => !have.has(i));
  if (missing.length) throw notFound(missing);
  return out;
}

function notFoundError(code: string, noun: string, plural = `${noun}s`) {
  return (missing: string[]) =>
    new Ec2ClientError(
      code,
      missing.length === 1 ? `The ${noun} '${missing[0]}' does not exist` : `The ${plural} '${missing.join(', ')}' do not exist`,
    );
}

// ---- Page tokens (opaque to callers) ----
function encodeToken(op: string, scope: string, offset: number): string {
  return Buffer.from(JSON.stringify({ v: 1, op, s: scope, o: offset, r: randomBytes(6).toString('hex') })).toString('base64url');
}
function decodeToken(token: string, op: string, scope: string): number | undefined {
  try {
    const t = JSON.parse(Buffer.from(token, 'base64url').toString('utf8'));
    if (t?.v === 1 && t.op === op && t.s === scope && Number.isInteger(t.o) && t.o >= 0) return t.o;
  } catch {
    /* fall through */
  }
  return undefined;
}

// ------------------------------------------------------------------------------------------------
// Per-region indexes (built once per instances / networkInterfaces array; the key is the array and its length)
// ------------------------------------------------------------------------------------------------

interface FlatInstance {
  res: Reservation;
  inst: Instance;
}

interface RegionIndex {
  instancesRef?: unknown[];
  instancesLen: number;
  eniRef?: unknown[];
  eniLen: number;
  flat: FlatInstance[];
  enis: NetworkInterface[];
}

const shortHash = (s: string, n: number, alphabet = '0123456789abcdef') => {
  const h = createHash('sha256').update(s).digest();
  let out = '';
  for (let i = 0; i < n; i++) out += alphabet[h[i]! % alphabet.length];
  return out;
};

function isReservation(x: Instance | Reservation): x is Reservation {
  return Array.isArray((x as Reservation).Instances) || 'ReservationId' in x;
}

function flattenInstances(account: string, list: (Instance | Reservation)[]): FlatInstance[] {
  const out: FlatInstance[] = [];
  for (const x of list) {
    if (isReservation(x)) {
      for (const inst of x.Instances ?? []) out.push({ res: x, inst });
    } else {
      const res: Reservation = { ReservationId: `r-0${shortHash(x.InstanceId ?? String(out.length), 16)}`, OwnerId: account, Groups: [] };
      out.push({ res, inst: x });
    }
  }
  return out;
}

function defined<T extends object>(o: T): T {
  for (const k of Object.keys(o) as (keyof T)[]) if (o[k] === undefined) delete o[k];
  return o;
}

/** DescribeNetworkInterfaces derived from the instances (used when the region has no `networkInterfaces`). */
function deriveEnis(account: string, flatList: FlatInstance[]): NetworkInterface[] {
  const out: NetworkInterface[] = [];
  for (const { inst } of flatList) {
    for (const nic of inst.NetworkInterfaces ?? []) {
      const a = nic.Attachment;
      out.push(
        defined<NetworkInterface>({
          Association: nic.Association ? defined({ ...nic.Association }) : undefined,
          Attachment: a
            ? defined({
                AttachTime: a.AttachTime,
                AttachmentId: a.AttachmentId,
                DeleteOnTermination: a.DeleteOnTermination,
                DeviceIndex: a.DeviceIndex,
                NetworkCardIndex: a.NetworkCardIndex,
                InstanceId: inst.InstanceId,
                InstanceOwnerId: account,
                Status: a.Status,
              })
            : undefined,
          AvailabilityZone: inst.Placement?.AvailabilityZone,
          AvailabilityZoneId: inst.Placement?.AvailabilityZoneId,
          Description: nic.Description,
          Groups: nic.Groups,
          InterfaceType: nic.InterfaceType as NetworkInterface['InterfaceType'],
          Ipv6Addresses: nic.Ipv6Addresses?.map((x) => defined({ Ipv6Address: x.Ipv6Address, IsPrimaryIpv6: x.IsPrimaryIpv6 })),
          MacAddress: nic.MacAddress,
          NetworkInterfaceId: nic.NetworkInterfaceId,
          OwnerId: nic.OwnerId ?? account,
          PrivateDnsName: nic.PrivateDnsName,
          PrivateIpAddress: nic.PrivateIpAddress,
          PrivateIpAddresses: nic.PrivateIpAddresses?.map((x) =>
            defined({ Association: x.Association, Primary: x.Primary, PrivateDnsName: x.PrivateDnsName, PrivateIpAddress: x.PrivateIpAddress }),
          ),
          Ipv4Prefixes: nic.Ipv4Prefixes,
          Ipv6Prefixes: nic.Ipv6Prefixes,
          RequesterManaged: false,
          SourceDestCheck: nic.SourceDestCheck,
          Status: nic.Status,
          SubnetId: nic.SubnetId,
          TagSet: [],
          VpcId: nic.VpcId,
        }),
      );
    }
  }
  return out;
}

const indexes = new WeakMap<AwsRegionWorld, RegionIndex>();
const EMPTY_REGION: AwsRegionWorld = Object.freeze({}) as AwsRegionWorld;

function regionIndex(account: string, r: AwsRegionWorld): RegionIndex {
  const inst = r.instances;
  const eni = r.networkInterfaces;
  let idx = indexes.get(r);
  if (idx && idx.instancesRef === inst && idx.instancesLen === (inst?.length ?? 0) && idx.eniRef === eni && idx.eniLen === (eni?.length ?? 0)) {
    return idx;
  }
  const flatList = flattenInstances(account, inst ?? []);
  idx = {
    instancesRef: inst,
    instancesLen: inst?.length ?? 0,
    eniRef: eni,
    eniLen: eni?.length ?? 0,
    flat: flatList,
    enis: eni ?? deriveEnis(account, flatList),
  };
  if (r !== EMPTY_REGION) indexes.set(r, idx);
  return idx;
}

// ------------------------------------------------------------------------------------------------
// EC2 filter tables (names as in the EC2 API reference)
// ------------------------------------------------------------------------------------------------

const INSTANCE_FILTERS: FilterTable<FlatInstance> = {
  'instance-id': (x) => x.inst.InstanceId,
  'reservation-id': (x) => x.res.ReservationId,
  'owner-id': (x) => x.res.OwnerId,
  'instance-state-name': (x) => x.inst.State?.Name,
  'instance-state-code': (x) => x.inst.State?.Code,
  'instance-type': (x) => x.inst.InstanceType,
  'image-id': (x) => x.inst.ImageId,
  platform: (x) => x.inst.Platform,
  'platform-details': (x) => x.inst.PlatformDetails,
  'vpc-id': (x) => x.inst.VpcId,
  'subnet-id': (x) => x.inst.SubnetId,
  'availability-zone': (x) => x.inst.Placement?.AvailabilityZone,
  'private-ip-address': (x) => x.inst.PrivateIpAddress,
  'ip-address': (x) => x.inst.PublicIpAddress,
  'instance.group-id': (x) => (x.inst.SecurityGroups ?? []).map((g) => g.GroupId),
  'instance.group-name': (x) => (x.inst.SecurityGroups ?? []).map((g) => g.GroupName),
  'network-interface.network-interface-id': (x) => (x.inst.NetworkInterfaces ?? []).map((n) => n.NetworkInterfaceId),
  'network-interface.subnet-id': (x) => (x.inst.NetworkInterfaces ?? []).map((n) => n.SubnetId),
  'network-interface.vpc-id': (x) => (x.inst.NetworkInterfaces ?? []).map((n) => n.VpcId),
  'network-interface.group-id': (x) => (x.inst.NetworkInterfaces ?? []).flatMap((n) => (n.Groups ?? []).map((g) => g.GroupId)),
  'network-interface.association.public-ip': (x) => (x.inst.NetworkInterfaces ?? []).map((n) => n.Association?.PublicIp),
  'network-interface.ipv6-addresses.ipv6-address': (x) =>
    (x.inst.NetworkInterfaces ?? []).flatMap((n) => (n.Ipv6Addresses ?? []).map((a) => a.Ipv6Address)),
};

const SG_FILTERS: FilterTable<SecurityGroup> = {
  'group-id': (g) => g.GroupId,
  'group-name': (g) => g.GroupName,
  description: (g) => g.Description,
  'vpc-id': (g) => g.VpcId,
  'owner-id': (g) => g.OwnerId,
  'ip-permission.protocol': (g) => (g.IpPermissions ?? []).map((p) => p.IpProtocol),
  'ip-permission.from-port': (g) => (g.IpPermissions ?? []).map((p) => p.FromPort),
  'ip-permission.to-port': (g) => (g.IpPermissions ?? []).map((p) => p.ToPort),
  'ip-permission.cidr': (g) => (g.IpPermissions ?? []).flatMap((p) => (p.IpRanges ?? []).map((r) => r.CidrIp)),
  'ip-permission.ipv6-cidr': (g) => (g.IpPermissions ?? []).flatMap((p) => (p.Ipv6Ranges ?? []).map((r) => r.CidrIpv6)),
  'ip-permission.prefix-list-id': (g) => (g.IpPermissions ?? []).flatMap((p) => (p.PrefixListIds ?? []).map((r) => r.PrefixListId)),
  'ip-permission.group-id': (g) => (g.IpPermissions ?? []).flatMap((p) => (p.UserIdGroupPairs ?? []).map((r) => r.GroupId)),
  'egress.ip-permission.cidr': (g) => (g.IpPermissionsEgress ?? []).flatMap((p) => (p.IpRanges ?? []).map((r) => r.CidrIp)),
};

const SUBNET_FILTERS: FilterTable<Subnet> = {
  'subnet-id': (s) => s.SubnetId,
  'vpc-id': (s) => s.VpcId,
  'availability-zone': (s) => s.AvailabilityZone,
  'availability-zone-id': (s) => s.AvailabilityZoneId,
  'cidr-block': (s) => s.CidrBlock,
  cidr: (s) => s.CidrBlock,
  cidrBlock: (s) => s.CidrBlock,
  'default-for-az': (s) => s.DefaultForAz,
  defaultForAz: (s) => s.DefaultForAz,
  'map-public-ip-on-launch': (s) => s.MapPublicIpOnLaunch,
  state: (s) => s.State,
  'owner-id': (s) => s.OwnerId,
  'ipv6-cidr-block-association.ipv6-cidr-block': (s) => (s.Ipv6CidrBlockAssociationSet ?? []).map((a) => a.Ipv6CidrBlock),
};

const VPC_FILTERS: FilterTable<Vpc> = {
  'vpc-id': (v) => v.VpcId,
  'is-default': (v) => v.IsDefault,
  cidr: (v) => v.CidrBlock,
  'cidr-block-association.cidr-block': (v) => (v.CidrBlockAssociationSet ?? []).map((a) => a.CidrBlock),
  'ipv6-cidr-block-association.ipv6-cidr-block': (v) => (v.Ipv6CidrBlockAssociationSet ?? []).map((a) => a.Ipv6CidrBlock),
  state: (v) => v.State,
  'owner-id': (v) => v.OwnerId,
  'dhcp-options-id': (v) => v.DhcpOptionsId,
};

const RT_FILTERS: FilterTable<RouteTable> = {
  'route-table-id': (t) => t.RouteTableId,
  'vpc-id': (t) => t.VpcId,
  'owner-id': (t) => t.OwnerId,
  'association.subnet-id': (t) => (t.Associations ?? []).map((a) => a.SubnetId),
  'association.main': (t) => (t.Associations ?? []).map((a) => a.Main),
  'association.route-table-association-id': (t) => (t.Associations ?? []).map((a) => a.RouteTableAssociationId),
  'association.route-table-id': (t) => (t.Associations ?? []).map((a) => a.RouteTableId),
  'association.gateway-id': (t) => (t.Associations ?? []).map((a) => a.GatewayId),
  'route.gateway-id': (t) => (t.Routes ?? []).map((r) => r.GatewayId),
  'route.nat-gateway-id': (t) => (t.Routes ?? []).map((r) => r.NatGatewayId),
  'route.destination-cidr-block': (t) => (t.Routes ?? []).map((r) => r.DestinationCidrBlock),
  'route.destination-ipv6-cidr-block': (t) => (t.Routes ?? []).map((r) => r.DestinationIpv6CidrBlock),
  'route.destination-prefix-list-id': (t) => (t.Routes ?? []).map((r) => r.DestinationPrefixListId),
  'route.egress-only-internet-gateway-id': (t) => (t.Routes ?? []).map((r) => r.EgressOnlyInternetGatewayId),
  'route.transit-gateway-id': (t) => (t.Routes ?? []).map((r) => r.TransitGatewayId),
  'route.vpc-peering-connection-id': (t) => (t.Routes ?? []).map((r) => r.VpcPeeringConnectionId),
  'route.instance-id': (t) => (t.Routes ?? []).map((r) => r.InstanceId),
  'route.state': (t) => (t.Routes ?? []).map((r) => r.State),
  'route.origin': (t) => (t.Routes ?? []).map((r) => r.Origin),
};

const NACL_FILTERS: FilterTable<NetworkAcl> = {
  'network-acl-id': (a) => a.NetworkAclId,
  'vpc-id': (a) => a.VpcId,
  'owner-id': (a) => a.OwnerId,
  default: (a) => a.IsDefault,
  'association.subnet-id': (a) => (a.Associations ?? []).map((x) => x.SubnetId),
  'association.network-acl-id': (a) => (a.Associations ?? []).map((x) => x.NetworkAclId),
  'association.association-id': (a) => (a.Associations ?? []).map((x) => x.NetworkAclAssociationId),
  'entry.rule-number': (a) => (a.Entries ?? []).map((e) => e.RuleNumber),
  'entry.protocol': (a) => (a.Entries ?? []).map((e) => e.Protocol),
  'entry.rule-action': (a) => (a.Entries ?? []).map((e) => e.RuleAction),
  'entry.egress': (a) => (a.Entries ?? []).map((e) => e.Egress),
  'entry.cidr': (a) => (a.Entries ?? []).map((e) => e.CidrBlock),
  'entry.ipv6-cidr': (a) => (a.Entries ?? []).map((e) => e.Ipv6CidrBlock),
  'entry.port-range.from': (a) => (a.Entries ?? []).map((e) => e.PortRange?.From),
  'entry.port-range.to': (a) => (a.Entries ?? []).map((e) => e.PortRange?.To),
};

const PL_FILTERS: FilterTable<FakePrefixList> = {
  'prefix-list-id': (p) => p.PrefixListId,
  'prefix-list-name': (p) => p.PrefixListName,
  'owner-id': (p) => p.OwnerId,
};

const ENI_FILTERS: FilterTable<NetworkInterface> = {
  'network-interface-id': (n) => n.NetworkInterfaceId,
  'attachment.instance-id': (n) => n.Attachment?.InstanceId,
  'attachment.instance-owner-id': (n) => n.Attachment?.InstanceOwnerId,
  'attachment.status': (n) => n.Attachment?.Status,
  'attachment.device-index': (n) => n.Attachment?.DeviceIndex,
  'subnet-id': (n) => n.SubnetId,
  'vpc-id': (n) => n.VpcId,
  'group-id': (n) => (n.Groups ?? []).map((g) => g.GroupId),
  'availability-zone': (n) => n.AvailabilityZone,
  'private-ip-address': (n) => n.PrivateIpAddress,
  'addresses.private-ip-address': (n) => (n.PrivateIpAddresses ?? []).map((a) => a.PrivateIpAddress),
  'association.public-ip': (n) => n.Association?.PublicIp,
  'ipv6-addresses.ipv6-address': (n) => (n.Ipv6Addresses ?? []).map((a) => a.Ipv6Address),
  'interface-type': (n) => n.InterfaceType,
  status: (n) => n.Status,
  'owner-id': (n) => n.OwnerId,
  'requester-managed': (n) => n.RequesterManaged,
};

const REGION_FILTERS: FilterTable<{ RegionName: string; Endpoint: string; OptInStatus: string }> = {
  'region-name': (r) => r.RegionName,
  endpoint: (r) => r.Endpoint,
  'opt-in-status': (r) => r.OptInStatus,
};

const tagsOf = (x: { Tags?: Tag[] }) => x.Tags;

// ------------------------------------------------------------------------------------------------
// SSM filters
// ------------------------------------------------------------------------------------------------

const SSM_FILTER_KEYS: Record<string, (i: InstanceInformation) => string | undefined> = {
  InstanceIds: (i) => i.InstanceId,
  AgentVersion: (i) => i.AgentVersion,
  PingStatus: (i) => i.PingStatus,
  PlatformTypes: (i) => i.PlatformType,
  ActivationIds: (i) => i.ActivationId,
  IamRole: (i) => i.IamRole,
  ResourceType: (i) => i.ResourceType,
  AssociationStatus: (i) => i.AssociationStatus,
};

const SSM_FIELDS = new Set([
  'InstanceId', 'PingStatus', 'LastPingDateTime', 'AgentVersion', 'IsLatestVersion', 'PlatformType', 'PlatformName',
  'PlatformVersion', 'ActivationId', 'IamRole', 'RegistrationDate', 'ResourceType', 'Name', 'IPAddress', 'ComputerName',
  'AssociationStatus', 'LastAssociationExecutionDate', 'LastSuccessfulAssociationExecutionDate', 'AssociationOverview',
  'SourceId', 'SourceType',
]);
const ORG_ACCOUNT_FIELDS = new Set(['Id', 'Arn', 'Email', 'Name', 'Status', 'State', 'Paths', 'JoinedMethod', 'JoinedTimestamp']);

function checkJsonFields(items: object[], allowed: Set<string>, shape: string) {
  for (const it of items) for (const k of Object.keys(it)) if (!allowed.has(k)) throw new S.FixtureError(`fixture field ${shape}.${k} is not served by the fake`);
}

// ------------------------------------------------------------------------------------------------
// The server
// ------------------------------------------------------------------------------------------------

const EC2_ACTIONS = new Set<string>([...Object.keys(S.EC2_RESULTS)]);
const STS_ACTIONS = new Set(['GetCallerIdentity', 'AssumeRole']);
const SKIP_ENTRIES = new Set(['Entries']);
const SKIP_INSTANCES = new Set(['Instances']);

export async function startFakeAws(world: AwsWorld, opts: FakeAwsOptions = {}): Promise<FakeAws> {
  const requests: AwsLoggedRequest[] = [];
  const attemptOf = attemptCounter();
  /** Temporary credentials issued by AssumeRole. */
  const sessions = new Map<string, Principal>();

  const pageCap = (op: string, dflt: number) => opts.pageSizeByOp?.[op] ?? (op.startsWith('ec2.') ? (opts.pageSize ?? dflt) : dflt);
  const rangeOf = (op: string) => opts.maxResultsRanges?.[op] ?? MAX_RESULTS_RANGES[op];

  const findPrincipal = (accessKeyId: string): Principal | undefined => {
    const s = sessions.get(accessKeyId);
    if (s) return s;
    for (const [account, a] of Object.entries(world.accounts)) {
      for (const k of a.accessKeys) {
        const spec = typeof k === 'string' ? { accessKeyId: k } : k;
        if (spec.accessKeyId !== accessKeyId) continue;
        const arn = spec.arn ?? `arn:aws:iam::${account}:user/auditor`;
        return { accessKeyId, account, arn, userId: spec.userId ?? `AIDA${shortHash(arn, 17, 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567')}` };
      }
    }
    return undefined;
  };

  const regionOf = (account: string, region: string | undefined): AwsRegionWorld =>
    (region && world.accounts[account]?.regions[region]) || EMPTY_REGION;

  // ---- EC2 ----
  const ec2Page = (op: string, p: Record<string, string>, scope: string): { start: number; size: number } => {
    const raw = p.MaxResults;
    let size = pageCap(op, 1000);
    if (raw !== undefined) {
      const n = Number(raw);
      const [min, max] = rangeOf(op) ?? [1, 1000];
      if (!Number.isInteger(n)) throw new Ec2ClientError('InvalidParameterValue', `Value ( ${raw} ) for parameter maxResults is invalid. Expecting an integer.`);
      if (n < min) throw new Ec2ClientError('InvalidParameterValue', `Value ( ${n} ) for parameter maxResults is invalid. Expecting a value greater than ${min}.`);
      if (n > max) throw new Ec2ClientError('InvalidParameterValue', `Value ( ${n} ) for parameter maxResults is invalid. Expecting a value less than ${max}.`);
      size = Math.min(size, n);
    }
    let start = 0;
    if (p.NextToken !== undefined) {
      const o = decodeToken(p.NextToken, op, scope);
      if (o === undefined) throw new Ec2ClientError('InvalidPaginationToken', 'The specified pagination token is not valid or is expired.');
      start = o;
    }
    return { start, size: Math.max(1, size) };
  };

  // One cache per `skip` set (the same item is written without different members at different call sites).
  const itemCache = new Map<ReadonlySet<string> | undefined, WeakMap<object, string>>();
  const xmlItem = (shape: S.StructShape, x: object, skip?: ReadonlySet<string>): string => {
    if (!opts.cacheItems) return S.xmlItem(shape, x, skip);
    let byItem = itemCache.get(skip);
    if (!byItem) itemCache.set(skip, (byItem = new WeakMap()));
    let text = byItem.get(x);
    if (text === undefined) byItem.set(x, (text = S.xmlItem(shape, x, skip)));
    return text;
  };

  const listBody = (action: S.Ec2Action, items: object[], op: string, p: Record<string, string>, scope: string, skip?: ReadonlySet<string>, paged = true): string => {
    const { tag, item } = S.EC2_RESULTS[action];
    if (!paged) {
      let s = items.length ? `<${tag}>` : `<${tag}/>`;
      for (const x of items) s += xmlItem(item, x, skip);
      return items.length ? s + `</${tag}>` : s;
    }
    const { start, size } = ec2Page(op, p, scope);
    const page = items.slice(start, start + size);
    let s = page.length ? `<${tag}>` : `<${tag}/>`;
    for (const x of page) s += xmlItem(item, x, skip);
    if (page.length) s += `</${tag}>`;
    if (start + size < items.length) s += `<nextToken>${encodeToken(op, scope, start + size)}</nextToken>`;
    return s;
  };

  const ec2Handle = (action: string, p: Record<string, string>, principal: Principal, region: string | undefined): Result => {
    const op = `ec2.${action}`;
    const account = principal.account;
    const r = regionOf(account, region);
    const scope = `${account}/${region ?? ''}`;
    const filters = parseFilters(p);
    switch (action) {
      case 'DescribeRegions': {
        const acct = world.accounts[account];
        const all = p.AllRegions === 'true';
        let regions = Object.entries(acct?.regions ?? {})
          .map(([name, rw]) => ({ RegionName: name, Endpoint: `ec2.${name}.amazonaws.com`, OptInStatus: rw.optIn ?? 'opt-in-not-required' }))
          .sort((a, b) => a.RegionName.localeCompare(b.RegionName));
        if (!all) regions = regions.filter((x) => x.OptInStatus !== 'not-opted-in');
        const names = listParam(p, 'RegionName');
        if (names.length) {
          const missing = names.filter((n) => !regions.some((x) => x.RegionName === n));
          if (missing.length) throw new Ec2ClientError('InvalidParameterValue', `Invalid region: ${missing[0]}`);
          regions = regions.filter((x) => names.includes(x.RegionName));
        }
        regions = applyFilters(regions, filters, REGION_FILTERS, () => undefined);
        return ec2Ok(action, listBody('DescribeRegions', regions, op, p, scope, undefined, false));
      }
      case 'DescribeInstances': {
        const ids = listParam(p, 'InstanceId');
        if (ids.length && p.MaxResults !== undefined) {
          throw new Ec2ClientError('InvalidParameterCombination', 'The parameter instancesSet cannot be used with the parameter maxResults');
        }
        const idx = regionIndex(account, r);
        let items = selectIds(idx.flat, ids, (x) => x.inst.InstanceId, notFoundError('InvalidInstanceID.NotFound', 'instance ID'));
        items = applyFilters(items, filters, INSTANCE_FILTERS, (x) => x.inst.Tags);
        const { start, size } = ec2Page(op, p, scope);
        const page = items.slice(start, start + size);
        // Consecutive instances of one reservation on this page share one <item>.
        let s = page.length ? '<reservationSet>' : '<reservationSet/>';
        for (let i = 0; i < page.length; ) {
          const res = page[i]!.res;
          let inner = '';
          while (i < page.length && page[i]!.res === res) inner += xmlItem(S.Instance, page[i++]!.inst);
          s += `<item>${S.xmlStruct(S.Reservation, res as Record<string, unknown>, SKIP_INSTANCES)}<instancesSet>${inner}</instancesSet></item>`;
        }
        if (page.length) s += '</reservationSet>';
        if (start + size < items.length) s += `<nextToken>${encodeToken(op, scope, start + size)}</nextToken>`;
        return ec2Ok(action, s);
      }
      case 'DescribeSecurityGroups': {
        let items = r.securityGroups ?? [];
        items = selectIds(items, listParam(p, 'GroupId'), (g) => g.GroupId, notFoundError('InvalidGroup.NotFound', 'security group'));
        items = selectIds(items, listParam(p, 'GroupName'), (g) => g.GroupName, notFoundError('InvalidGroup.NotFound', 'security group'));
        items = applyFilters(items, filters, SG_FILTERS, tagsOf);
        return ec2Ok(action, listBody('DescribeSecurityGroups', items, op, p, scope));
      }
      case 'DescribeSubnets': {
        let items = r.subnets ?? [];
        items = selectIds(items, listParam(p, 'SubnetId'), (x) => x.SubnetId, notFoundError('InvalidSubnetID.NotFound', 'subnet ID'));
        items = applyFilters(items, filters, SUBNET_FILTERS, tagsOf);
        return ec2Ok(action, listBody('DescribeSubnets', items, op, p, scope));
      }
      case 'DescribeVpcs': {
        let items = r.vpcs ?? [];
        items = selectIds(items, listParam(p, 'VpcId'), (x) => x.VpcId, notFoundError('InvalidVpcID.NotFound', 'vpc ID'));
        items = applyFilters(items, filters, VPC_FILTERS, tagsOf);
        return ec2Ok(action, listBody('DescribeVpcs', items, op, p, scope));
      }
      case 'DescribeRouteTables': {
        let items = r.routeTables ?? [];
        items = selectIds(items, listParam(p, 'RouteTableId'), (x) => x.RouteTableId, notFoundError('InvalidRouteTableID.NotFound', 'routeTable ID'));
        items = applyFilters(items, filters, RT_FILTERS, tagsOf);
        return ec2Ok(action, listBody('DescribeRouteTables', items, op, p, scope));
      }
      case 'DescribeNetworkAcls': {
        let items = r.networkAcls ?? [];
        items = selectIds(items, listParam(p, 'NetworkAclId'), (x) => x.NetworkAclId, notFoundError('InvalidNetworkAclID.NotFound', 'networkAcl ID'));
        items = applyFilters(items, filters, NACL_FILTERS, tagsOf);
        return ec2Ok(action, listBody('DescribeNetworkAcls', items, op, p, scope));
      }
      case 'DescribeManagedPrefixLists': {
        let items = r.prefixLists ?? [];
        items = selectIds(items, listParam(p, 'PrefixListId'), (x) => x.PrefixListId, notFoundError('InvalidPrefixListID.NotFound', 'prefix list ID'));
        items = applyFilters(items, filters, PL_FILTERS, tagsOf);
        return ec2Ok(action, listBody('DescribeManagedPrefixLists', items, op, p, scope, SKIP_ENTRIES));
      }
      case 'GetManagedPrefixListEntries': {
        const id = p.PrefixListId;
        if (!id) throw new Ec2ClientError('MissingParameter', "The request must contain the parameter PrefixListId");
        const pl = (r.prefixLists ?? []).find((x) => x.PrefixListId === id);
        if (!pl) throw new Ec2ClientError('InvalidPrefixListID.NotFound', `The prefix list (${id}) does not exist.`);
        return ec2Ok(action, listBody('GetManagedPrefixListEntries', pl.Entries ?? [], op, p, `${scope}/${id}`));
      }
      case 'DescribeNetworkInterfaces': {
        const ids = listParam(p, 'NetworkInterfaceId');
        if (ids.length && p.MaxResults !== undefined) {
          throw new Ec2ClientError('InvalidParameterCombination', 'The parameter networkInterfaceIdSet cannot be used with the parameter maxResults');
        }
        let items = regionIndex(account, r).enis;
        items = selectIds(items, ids, (x) => x.NetworkInterfaceId, notFoundError('InvalidNetworkInterfaceID.NotFound', 'networkInterface ID'));
        items = applyFilters(items, filters, ENI_FILTERS, (x) => x.TagSet);
        return ec2Ok(action, listBody('DescribeNetworkInterfaces', items, op, p, scope));
      }
    }
    throw new Ec2ClientError('InvalidAction', `The action ${action} is not valid for this web service.`);
  };

  // ---- STS ----
  const stsHandle = (action: string, p: Record<string, string>, principal: Principal, ctx: ErrCtx): Result => {
    if (action === 'GetCallerIdentity') {
      return stsOk(
        action,
        `\n    <Arn>${S.xmlEscape(principal.arn)}</Arn>\n    <UserId>${S.xmlEscape(principal.userId)}</UserId>\n    <Account>${principal.account}</Account>\n  `,
      );
    }
    // AssumeRole
    const roleArn = p.RoleArn;
    const session = p.RoleSessionName;
    if (!roleArn || !session) {
      const missing = !roleArn ? 'roleArn' : 'roleSessionName';
      return errorResult({ code: 'ValidationError', status: 400, message: `1 validation error detected: Value null at '${missing}' failed to satisfy constraint: Member must not be null` }, ctx);
    }
    const duration = p.DurationSeconds !== undefined ? Number(p.DurationSeconds) : 3600;
    const m = /^arn:aws[\w-]*:iam::(\d{12}):role\/(?:.*\/)?([^/]+)$/.exec(roleArn);
    const role = world.roles?.[roleArn];
    const denied = () => errorResult('AccessDenied', { ...ctx, resource: roleArn });
    if (!m || !role) return denied();
    const trusted = role.trustedBy ?? ['*'];
    if (!trusted.some((t) => t === '*' || t === principal.account || t === principal.arn)) return denied();
    if (role.externalId !== undefined && p.ExternalId !== role.externalId) return denied();
    if (!Number.isInteger(duration) || duration < 900) {
      return errorResult({ code: 'ValidationError', status: 400, message: `1 validation error detected: Value '${p.DurationSeconds}' at 'durationSeconds' failed to satisfy constraint: Member must have value greater than or equal to 900` }, ctx);
    }
    if (duration > (role.maxSessionDuration ?? 3600)) {
      return errorResult({ code: 'ValidationError', status: 400, message: 'The requested DurationSeconds exceeds the MaxSessionDuration set for this role.' }, ctx);
    }
    const account = role.account ?? m[1]!;
    const roleName = m[2]!;
    const roleId = `AROA${shortHash(roleArn, 17, 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567')}`;
    const akid = `ASIA${randomBytes(10).toString('hex').toUpperCase().slice(0, 16)}`;
    const secret = randomBytes(30).toString('base64');
    const token = `FwoGZXIvYXdzE${randomBytes(48).toString('base64')}`;
    const assumedArn = `arn:aws:sts::${account}:assumed-role/${roleName}/${session}`;
    sessions.set(akid, { accessKeyId: akid, account, arn: assumedArn, userId: `${roleId}:${session}`, sessionToken: token });
    const expiration = new Date(Math.floor(Date.now() / 1000 + duration) * 1000).toISOString().replace('.000Z', 'Z');
    return stsOk(
      action,
      `\n    <AssumedRoleUser>\n      <AssumedRoleId>${roleId}:${S.xmlEscape(session)}</AssumedRoleId>\n      <Arn>${S.xmlEscape(assumedArn)}</Arn>\n    </AssumedRoleUser>\n` +
        `    <Credentials>\n      <AccessKeyId>${akid}</AccessKeyId>\n      <SecretAccessKey>${secret}</SecretAccessKey>\n` +
        `      <SessionToken>${S.xmlEscape(token)}</SessionToken>\n      <Expiration>${expiration}</Expiration>\n    </Credentials>\n  `,
    );
  };

  // ---- JSON paging ----
  const jsonPage = (op: string, body: Record<string, unknown>, scope: string, ctx: ErrCtx): { start: number; size: number } | Result => {
    const [min, max] = rangeOf(op)!;
    let size = pageCap(op, max);
    const raw = body.MaxResults;
    if (raw !== undefined) {
      const n = Number(raw);
      if (op.startsWith('ssm.') && (n < min || n > max || !Number.isInteger(n))) {
        const bound = n < min ? `greater than or equal to ${min}` : `less than or equal to ${max}`;
        return errorResult({ code: 'ValidationException', status: 400, message: `1 validation error detected: Value '${raw}' at 'maxResults' failed to satisfy constraint: Member must have value ${bound}` }, ctx);
      }
      if (op.startsWith('organizations.') && (n < min || n > max || !Number.isInteger(n))) {
        const reason = n < min ? 'MIN_VALUE_EXCEEDED' : 'MAX_VALUE_EXCEEDED';
        const message = n < min ? 'You provided a value that is less than the minimum allowed value.' : 'You provided a value that exceeds the maximum allowed value.';
        return jsonError({ code: 'InvalidInputException', status: 400, message, extra: { Reason: reason } });
      }
      size = Math.min(size, n);
    }
    let start = 0;
    if (body.NextToken !== undefined) {
      const o = typeof body.NextToken === 'string' ? decodeToken(body.NextToken, op, scope) : undefined;
      if (o === undefined) {
        return op.startsWith('ssm.')
          ? errorResult({ code: 'InvalidNextToken', status: 400, message: 'The specified token is not valid.' }, ctx)
          : jsonError({ code: 'InvalidInputException', status: 400, message: 'The NextToken value is not valid.', extra: { Reason: 'INVALID_PAGINATION_TOKEN' } });
      }
      start = o;
    }
    return { start, size: Math.max(1, size) };
  };

  const orgsHandle = (body: Record<string, unknown>, principal: Principal, ctx: ErrCtx): Result => {
    const org = world.organization;
    const inOrg = org && (org.managementAccountId === principal.account || org.accounts.some((a) => a.Id === principal.account));
    if (!org || !inOrg) return errorResult('AWSOrganizationsNotInUseException', ctx);
    if (org.managementAccountId !== principal.account && !(org.delegatedAdministrators ?? []).includes(principal.account)) {
      return errorResult('AccessDeniedException', ctx);
    }
    checkJsonFields(org.accounts, ORG_ACCOUNT_FIELDS, 'Account');
    const pg = jsonPage('organizations.ListAccounts', body, org.managementAccountId, ctx);
    if ('status' in pg) return pg;
    const page = org.accounts.slice(pg.start, pg.start + pg.size);
    const out: Record<string, unknown> = { Accounts: page };
    if (pg.start + pg.size < org.accounts.length) out.NextToken = encodeToken('organizations.ListAccounts', org.managementAccountId, pg.start + pg.size);
    return jsonOk(out);
  };

  const ssmHandle = (body: Record<string, unknown>, principal: Principal, region: string | undefined, ctx: ErrCtx): Result => {
    const r = regionOf(principal.account, region);
    let items = r.ssm ?? [];
    checkJsonFields(items, SSM_FIELDS, 'InstanceInformation');
    const conds: [string, string[]][] = [];
    for (const f of (body.Filters as { Key?: string; Values?: string[] }[] | undefined) ?? []) conds.push([f.Key ?? '', f.Values ?? []]);
    for (const f of (body.InstanceInformationFilterList as { key?: string; valueSet?: string[] }[] | undefined) ?? []) conds.push([f.key ?? '', f.valueSet ?? []]);
    for (const [key, values] of conds) {
      const fn = SSM_FILTER_KEYS[key];
      if (!fn) return errorResult({ code: 'InvalidFilterKey', status: 400, message: `The specified key ${key} isn't valid.` }, ctx);
      items = items.filter((i) => values.includes(fn(i) ?? ''));
    }
    const scope = `${principal.account}/${region ?? ''}`;
    const pg = jsonPage('ssm.DescribeInstanceInformation', body, scope, ctx);
    if ('status' in pg) return pg;
    const out: Record<string, unknown> = { InstanceInformationList: items.slice(pg.start, pg.start + pg.size) };
    if (pg.start + pg.size < items.length) out.NextToken = encodeToken('ssm.DescribeInstanceInformation', scope, pg.start + pg.size);
    return jsonOk(out);
  };

  // ---- Routing ----
  interface Parsed {
    service: AwsService;
    action: string;
    params: Record<string, unknown>;
    query?: Record<string, string>;
    json?: Record<string, unknown>;
    bad?: Result;
  }

  const parse = (req: http.IncomingMessage, body: string, scope: Scope | undefined): Parsed => {
    const target = req.headers['x-amz-target'];
    if (typeof target === 'string') {
      const dot = target.indexOf('.');
      const prefix = target.slice(0, dot);
      const action = target.slice(dot + 1);
      const service: AwsService = prefix === 'AWSOrganizationsV20161128' ? 'organizations' : prefix === 'AmazonSSM' ? 'ssm' : 'unknown';
      let json: Record<string, unknown> = {};
      try {
        json = body ? JSON.parse(body) : {};
      } catch {
        return { service, action, params: {}, bad: jsonError({ code: 'SerializationException', status: 400, message: 'Start of structure or map found where not expected.' }) };
      }
      return { service, action, params: json, json };
    }
    const url = new URL(req.url ?? '/', `http://${HOST}`);
    const query: Record<string, string> = {};
    for (const [k, v] of url.searchParams) query[k] = v;
    for (const [k, v] of new URLSearchParams(body)) query[k] = v;
    const action = query.Action ?? '';
    let service: AwsService;
    if (scope?.service === 'ec2' || scope?.service === 'sts') service = scope.service;
    else if (query.Version === '2011-06-15' || STS_ACTIONS.has(action)) service = 'sts';
    else service = 'ec2';
    return { service, action, params: query, query };
  };

  const respond = (parsed: Parsed, scope: Scope | undefined, req: http.IncomingMessage, logged: AwsLoggedRequest, attempt: number): Result => {
    const { service, action } = parsed;
    const region = scope?.region;
    const baseCtx: ErrCtx = { service, action, ...(region !== undefined ? { region } : {}) };
    if (parsed.bad) return parsed.bad;

    // Who is calling?
    const principal = scope ? findPrincipal(scope.accessKeyId) : undefined;
    const token = req.headers['x-amz-security-token'];
    if (!principal || (principal.sessionToken !== undefined && principal.sessionToken !== token)) {
      if (service === 'sts') return errorResult('InvalidClientTokenId', baseCtx);
      if (service === 'ec2') return errorResult('AuthFailure', baseCtx);
      return errorResult('UnrecognizedClientException', { ...baseCtx, service: service === 'unknown' ? 'ssm' : service });
    }
    logged.account = principal.account;
    const ctx: ErrCtx = { ...baseCtx, principal };

    // Unknown operations.
    if (service === 'ec2' && !EC2_ACTIONS.has(action)) {
      return ec2Error({ code: 'InvalidAction', status: 400, message: `The action ${action} is not valid for this web service.` });
    }
    if (service === 'sts' && !STS_ACTIONS.has(action)) {
      return stsError({ code: 'InvalidAction', status: 400, message: `Could not find operation ${action} for version 2011-06-15` });
    }
    if (service === 'unknown' || (service === 'organizations' && action !== 'ListAccounts') || (service === 'ssm' && action !== 'DescribeInstanceInformation')) {
      return jsonError({ code: 'UnknownOperationException', status: 400, message: '' });
    }

    const injected = opts.fault?.(logged, attempt);
    if (injected) return errorResult(injected, ctx);

    const acct = world.accounts[principal.account];
    const regional = service === 'ec2' || service === 'ssm';
    const rw = regional && region ? acct?.regions[region] : undefined;
    if (rw?.optIn === 'not-opted-in') {
      // EC2 answers OptInRequired (or the region's own `error`, e.g. 'AuthFailure', which is what some accounts
      // see today); other services do not know the credentials in a disabled region.
      return errorResult(service === 'ec2' ? (rw.error ?? 'OptInRequired') : 'UnrecognizedClientException', ctx);
    }
    const op = logged.op;
    const configured = acct?.error ?? acct?.opErrors?.[op] ?? (rw ? (rw.error ?? rw.opErrors?.[op]) : undefined);
    if (configured) return errorResult(configured, ctx);

    if (service === 'ec2') {
      const p = parsed.query!;
      if (p.DryRun === 'true') return ec2Error({ code: 'DryRunOperation', status: 412, message: 'Request would have succeeded, but DryRun flag is set.' });
      try {
        return ec2Handle(action, p, principal, region);
      } catch (e) {
        if (e instanceof Ec2ClientError) return ec2Error({ code: e.code, status: e.status, message: e.message });
        throw e;
      }
    }
    if (service === 'sts') return stsHandle(action, parsed.query!, principal, ctx);
    if (service === 'organizations') return orgsHandle(parsed.json!, principal, ctx);
    return ssmHandle(parsed.json!, principal, region, ctx);
  };

  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks).toString('utf8');
      const scope = parseScope(req.headers.authorization);
      const parsed = parse(req, body, scope);
      const logged: AwsLoggedRequest = {
        service: parsed.service,
        op: `${parsed.service}.${parsed.action}`,
        ...(scope ? { region: scope.region, accessKeyId: scope.accessKeyId } : {}),
        params: parsed.params,
      };
      requests.push(logged);
      const key = `${logged.op}|${scope?.accessKeyId ?? ''}|${scope?.region ?? ''}|${req.headers['x-amz-target'] ?? ''}|${body}`;
      const attempt = attemptOf(key);

      let result: Result;
      try {
        result = respond(parsed, scope, req, logged, attempt);
      } catch (e) {
        const message = `Internal error in fake: ${(e as Error)?.message ?? e}`;
        const spec = { code: parsed.service === 'ssm' ? 'InternalServerError' : parsed.service === 'organizations' ? 'ServiceException' : parsed.service === 'sts' ? 'InternalFailure' : 'InternalError', status: 500, message };
        result = parsed.service === 'sts' ? stsError(spec) : parsed.service === 'ec2' ? ec2Error(spec) : jsonError(spec);
      }
      logged.status = result.status;
      if (result.errorCode) logged.errorCode = result.errorCode;

      const send = () => {
        res.writeHead(result.status, {
          'content-type': result.contentType,
          'content-length': Buffer.byteLength(result.body),
          date: new Date().toUTCString(),
          ...(result.headers ?? {}),
        });
        res.end(result.body);
      };
      if (opts.latencyMs && opts.latencyMs > 0) setTimeout(send, opts.latencyMs);
      else send();
    });
  });

  const { port, close } = await listenOnLoopback(server);

  return {
    port,
    host: HOST,
    endpoint: `http://${HOST}:${port}`,
    requests,
    close,
  };
}

