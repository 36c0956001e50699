// The read path of an audit on AWS: the listings of EC2 (Query API) and SSM (JSON 1.1), signed with the SDK's
// own SigV4 signer and read back by the SDK's own protocol object (the EC2 one with the fast XML reader,
// fast-xml.ts), but sent over node:http with connections kept for the run (providers/http.ts) instead of the
// SDK's middleware stack.
//
// Why: an audit of 30 accounts x 17 regions is ~2,700 listing requests, and the SDK's per-request machinery
// (middleware chain, endpoint rules, schema serializer, its HTTP handler, one client per account and region)
// cost ~0.8 ms of CPU each, measured here against a local server (node:http: ~0.1 ms). At that rate the audit
// is bound by CPU, not by the round trips it cannot avoid. What the SDK decides stays the SDK's: the endpoint
// (its rule set, FIPS and dual-stack settings, AWS_ENDPOINT_URL_*), the signing (SignatureV4 with the
// credentials rdpcloud resolved), the answers and the error objects (the protocol's deserializeResponse: a
// failed call throws the SDK's modelled exception, name and $metadata as with client.send), and which errors
// are throttling, transient or clock skew (@smithy/core's classifiers, as in its standard retry strategy).
// The retries are rdpcloud's (providers/retry.ts), counted per operation as with the SDK.
//
// The requests themselves are the SDK's for these operations: the same Action, Version and parameters (EC2
// Query: form-encoded POST; SSM: JSON with X-Amz-Target), test/providers/aws-reader.test.ts compares them with
// what the SDK sends, and checks the signature independently.
import type { AwsCredentialIdentityProvider } from '@smithy/types';
import { withRetry, type Classified } from '../retry.js';
import type { ProviderContext } from '../types.js';
import { ahead, HttpTransportError, isTransient, send } from '../http.js';
import { signatureV4, smithyRetry, smithySchema } from './sdk.js';

/* eslint-disable @typescript-eslint/no-explicit-any */

type SignatureV4Ctor = typeof import('@smithy/signature-v4').SignatureV4;

/**
 * An operation's schema as the SDK's deserialization step hands it to the protocol: a client package exports
 * each operation as [kind, namespace, name, traits, input, output] (e.g. DescribeSecurityGroups$).
 */
const operations = new WeakMap<object, unknown>();
function operationOf(ref: unknown): unknown {
  let op = operations.get(ref as object);
  if (!op) {
    const [, ns, n, t, i, o] = ref as unknown[];
    operations.set(ref as object, (op = smithySchema().operation(ns as string, n as string, t as any, i as any, o as any)));
  }
  return op;
}

/** The EC2 Query API version every EC2 operation is sent with (the SDK's service shape). */
export const EC2_API_VERSION = '2016-11-15';

/** The SDK's way of telling errors apart, as its standard retry strategy does. */
export function classifyAws(err: unknown): Classified {
  if (err instanceof HttpTransportError) return { retryable: isTransient(err), throttled: false };
  const { isThrottlingError, isTransientError, isServerError, isClockSkewError } = smithyRetry();
  const e = err as any;
  if (isThrottlingError(e)) return { retryable: true, throttled: true };
  if (isClockSkewError(e) || isTransientError(e) || isServerError(e)) return { retryable: true, throttled: false };
  return { retryable: false, throttled: false };
}

/** What a reader takes from an SDK client of the service: its resolved settings, protocol and hash. */
interface ClientConfig {
  protocol: { deserializeResponse(op: unknown, context: unknown, response: unknown): Promise<any> };
  endpointProvider: (params: Record<string, unknown>, context?: unknown) => { url: URL; properties?: Record<string, any> };
  sha256: any;
  useFipsEndpoint?: () => Promise<boolean>;
  useDualstackEndpoint?: () => Promise<boolean>;
  endpoint?: () => Promise<{ protocol: string; hostname: string; port?: number; path: string }>;
}

export interface ReaderOptions {
  service: 'ec2' | 'ssm';
  region: string;
  /** An SDK client of the service for that region: only its configuration is used, never its send(). */
  client: { config: unknown };
  credentials: AwsCredentialIdentityProvider;
  ctx: ProviderContext;
}

/** One service in one region for one account's credentials: signed requests, the SDK's answers. */
export class AwsReader {
  private readonly config: ClientConfig;
  private target?: Promise<{ url: URL; signer: InstanceType<SignatureV4Ctor> }>;
  /** What the protocol's deserializer is given as its context (the client's configuration), made once. */
  private serdeContext?: Record<string, unknown>;
  /** How far (ms) the server's clock is ahead of ours, learnt from a clock-skew answer's Date header. */
  private clockOffsetMs = 0;

  constructor(private readonly o: ReaderOptions) {
    this.config = o.client.config as ClientConfig;
  }

  /** Where the requests go and how they are signed: the SDK's endpoint rule set, asked once. */
  private resolve(): Promise<{ url: URL; signer: InstanceType<SignatureV4Ctor> }> {
    this.target ??= (async () => {
      const c = this.config;
      const custom = c.endpoint ? await c.endpoint() : undefined;
      const params: Record<string, unknown> = { Region: this.o.region, UseFIPS: (await c.useFipsEndpoint?.()) ?? false, UseDualStack: (await c.useDualstackEndpoint?.()) ?? false };
      if (custom) params.Endpoint = `${custom.protocol}//${custom.hostname}${custom.port ? `:${custom.port}` : ''}${custom.path ?? ''}`;
      const ep = c.endpointProvider(params, {});
      const scheme = ep.properties?.authSchemes?.find((s: any) => String(s?.name ?? '').startsWith('sigv4'));
      const { SignatureV4 } = signatureV4();
      const signer = new SignatureV4({
        service: scheme?.signingName ?? this.o.service,
        region: scheme?.signingRegion ?? this.o.region,
        credentials: this.o.credentials,
        sha256: c.sha256,
        uriEscapePath: true,
      });
      return { url: new URL(ep.url.href), signer };
    })();
    return this.target;
  }

  /** The endpoint the requests go to (the SDK's rules for this region and settings). */
  async endpoint(): Promise<string> {
    return (await this.resolve()).url.href;
  }

  /**
   * One call (an operation and its parameters), retried by rdpcloud's policy; the SDK's output or exception.
   * `peek`: told the NextToken an answer ends with as soon as its bytes are in, before they are read.
   */
  call(operation: string, schema: unknown, input: Record<string, string | number | undefined>, peek?: (token: string) => void): Promise<any> {
    return withRetry(this.o.ctx, `${this.o.service}.${operation}`, () => this.once(operation, schema, input, peek), classifyAws);
  }

  /**
   * Every page of a listing, following NextToken, each as the SDK gives it. The next page is asked for as soon
   * as this one's token is seen at the end of its bytes (peekNextToken), so that reading a page (a thousand
   * instances: ~40 ms) and waiting for the next overlap; a page whose token is not where EC2 and SSM put it
   * is read first, then followed. The SDK's reading of the page decides: a token it does not confirm is not
   * followed (that request is wasted, never used).
   */
  async *pages(operation: string, schema: unknown, input: Record<string, string | number | undefined>): AsyncGenerator<any> {
    // At most one page asked for early: the one after the page being waited for (head), as soon as head's
    // answer shows its token. A slow reader of the pages holds two pages at most, as before one.
    const seen = new Map<Promise<any>, string>();
    let head: Promise<any> | undefined;
    let early: { token: string; page: Promise<any> } | undefined;
    const goAhead = (token: string, of: string | undefined) => {
      if (!early && token !== of) early = { token, page: fetch(token) };
    };
    const fetch = (token?: string): Promise<any> => {
      const p: Promise<any> = ahead(
        this.call(operation, schema, token === undefined ? input : { ...input, NextToken: token }, (peeked) => {
          seen.set(p, peeked);
          if (p === head) goAhead(peeked, token);
        }),
      );
      return p;
    };
    head = fetch();
    while (head) {
      const page: any = await head;
      seen.delete(head);
      const token: string | undefined = page?.NextToken || undefined;
      // A wrong guess (the page read says another token) is dropped: its answer is never used.
      const next = !token ? undefined : early?.token === token ? early.page : fetch(token);
      early = undefined;
      head = next;
      const peeked = head && seen.get(head);
      if (peeked) goAhead(peeked, token);
      yield page;
    }
  }

  private async once(operation: string, schema: unknown, input: Record<string, string | number | undefined>, peek?: (token: string) => void): Promise<any> {
    const { url, signer } = await this.resolve();
    const headers: Record<string, string> = { host: url.host };
    let body: string;
    if (this.o.service === 'ec2') {
      headers['content-type'] = 'application/x-www-form-urlencoded';
      body = `Action=${operation}&Version=${EC2_API_VERSION}`;
      for (const [k, v] of Object.entries(input)) if (v !== undefined) body += `&${k}=${queryEscape(String(v))}`;
    } else {
      headers['content-type'] = 'application/x-amz-json-1.1';
      headers['x-amz-target'] = `AmazonSSM.${operation}`;
      const json: Record<string, string | number> = {};
      for (const [k, v] of Object.entries(input)) if (v !== undefined) json[k] = v;
      body = JSON.stringify(json);
    }
    const signed = (await signer.sign(
      { method: 'POST', protocol: url.protocol, hostname: url.hostname, port: url.port ? Number(url.port) : undefined, path: url.pathname || '/', query: {}, headers, body } as any,
      { signingDate: new Date(Date.now() + this.clockOffsetMs) },
    )) as unknown as { headers: Record<string, string> };
    const answer = await send(url, { method: 'POST', headers: signed.headers, body });
    // Node's header names are lower case already; the protocol rewrites the object it is given, so a copy.
    const headerRecord = { ...answer.rawHeaders } as Record<string, string>;
    const response = { statusCode: answer.status, headers: headerRecord, body: answer.body };
    if (peek && answer.status < 300) {
      const token = peekNextToken(this.o.service, answer.body);
      if (token) peek(token);
    }
    try {
      this.serdeContext ??= { ...this.config, streamCollector: async (b: Uint8Array) => b };
      return await this.config.protocol.deserializeResponse(operationOf(schema), this.serdeContext, response);
    } catch (e) {
      // A clock-skew answer says the server's time: the retry is signed with it (as the SDK does).
      const date = Date.parse(headerRecord.date ?? '');
      if (Number.isFinite(date) && smithyRetry().isClockSkewError(e as any)) this.clockOffsetMs = date - Date.now();
      throw e;
    }
  }
}

/** Form encoding as the SDK's Query serializer writes values (RFC 3986: !'()* escaped too). */
function queryEscape(v: string): string {
  return encodeURIComponent(v).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
}

/** How far from the end of an answer its token is looked for: EC2 and SSM write it last, after the items. */
const TAIL = 2048;
const EC2_TOKEN = /<nextToken>([^<&]+)<\/nextToken>\s*<\/[A-Za-z]+Response>\s*$/;
const SSM_TOKEN = /[{,]\s*"NextToken"\s*:\s*"([^"\\]+)"\s*\}\s*$/;

/**
 * The NextToken an answer ends with, read from its last bytes without reading the rest: EC2's `<nextToken>` as
 * the root's last element (as EC2 writes it, after the item set), SSM's "NextToken" as the object's last member.
 * Undefined when it is not there or not plain (an entity, an escape): the page is then read before it is
 * followed. A guess only: pages() follows it early, and uses that answer only if the page read says the same.
 */
export function peekNextToken(service: 'ec2' | 'ssm', body: Uint8Array): string | undefined {
  const from = Math.max(0, body.byteLength - TAIL);
  const tail = Buffer.from(body.buffer, body.byteOffset + from, body.byteLength - from).toString('latin1');
  const m = (service === 'ec2' ? EC2_TOKEN : SSM_TOKEN).exec(tail);
  // latin1 keeps any byte: a token with non-ASCII bytes is left to the page read.
  return m && /^[\x21-\x7e]+$/.test(m[1]!) ? m[1] : undefined;
}
