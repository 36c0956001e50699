// One request over node:http / node:https with keep-alive connections shared by the whole run: the read path
// of GCP (GcpRest), Azure (ArmRest) and EC2 (Ec2Reader). An audit of an organisation is thousands of small
// requests, and what each one costs in CPU decides its wall time once the scopes run in parallel: measured here
// (bench, 2 cores), Node's fetch (undici, web streams) took ~0.65 ms of CPU per request and node:http ~0.1 ms.
// Answers are asked for compressed (gzip, br, deflate) and inflated by zlib; the body comes back as text.
import { createRequire } from 'node:module';
import type { IncomingHttpHeaders, IncomingMessage } from 'node:http';
import { createBrotliDecompress, createGunzip, createInflate } from 'node:zlib';
import type { Readable } from 'node:stream';

// node:http and node:https by require: an ESM import of node:http copies its exports into the module namespace,
// which reads its lazy getters and so loads undici (Node's fetch) for nothing: ~10 ms of every run's start.
const load = createRequire(import.meta.url);
const { Agent: HttpAgent, request: httpRequest } = load('node:http') as typeof import('node:http');
const { Agent: HttpsAgent, request: httpsRequest } = load('node:https') as typeof import('node:https');

/**
 * Connections are kept and reused per host; as many sockets as requests in flight (the callers limit those).
 * The AWS SDK clients of a run (STS, Organizations) are given the same agents (aws/client.ts).
 */
export const agents = { http: new HttpAgent({ keepAlive: true, maxSockets: 256 }), https: new HttpsAgent({ keepAlive: true, maxSockets: 256 }) };

export interface HttpAnswer {
  status: number;
  /** The response headers (names in lower case), as Node gives them and as web Headers. */
  readonly rawHeaders: IncomingHttpHeaders;
  readonly headers: Headers;
  /** The body, inflated, and as UTF-8 text. */
  readonly body: Buffer;
  readonly text: string;
}

/** A transport failure: the system error code (ECONNRESET, ETIMEDOUT, ECONNREFUSED...) and what happened. */
export class HttpTransportError extends Error {
  constructor(
    message: string,
    readonly code: string,
  ) {
    super(message);
  }
}

export interface HttpRequest {
  method?: 'GET' | 'POST';
  headers?: Record<string, string>;
  body?: string;
  timeoutMs?: number;
}

/** System error codes of a failure worth retrying: the connection, not the request, went wrong. */
export const TRANSIENT_CODES: ReadonlySet<string> = new Set(['ECONNRESET', 'ECONNREFUSED', 'ETIMEDOUT', 'EPIPE', 'EAI_AGAIN', 'ECONNABORTED', 'EHOSTUNREACH', 'ENETUNREACH']);

/** A transport failure that a retry may not meet again. */
export const isTransient = (err: unknown): boolean => err instanceof HttpTransportError && TRANSIENT_CODES.has(err.code);

const DEFAULT_TIMEOUT_MS = 120_000;

function toHeaders(res: IncomingMessage): Headers {
  const h = new Headers();
  for (const [k, v] of Object.entries(res.headers)) {
    if (v === undefined) continue;
    for (const one of Array.isArray(v) ? v : [v]) h.append(k, one);
  }
  return h;
}

function decoded(res: IncomingMessage): Readable {
  switch ((res.headers['content-encoding'] ?? '').toLowerCase().trim()) {
    case 'gzip':
    case 'x-gzip':
      return res.pipe(createGunzip());
    case 'br':
      return res.pipe(createBrotliDecompress());
    case 'deflate':
      return res.pipe(createInflate());
    default:
      return res;
  }
}

/** Sends one request and reads the whole answer; rejects with HttpTransportError (and only that) when no answer came. */
export function send(url: URL, o: HttpRequest = {}): Promise<HttpAnswer> {
  const https = url.protocol === 'https:';
  const body = o.body === undefined ? undefined : Buffer.from(o.body, 'utf8');
  return new Promise((resolve, reject) => {
    let settled = false;
    const fail = (e: unknown, fallback = 'ECONNRESET') => {
      if (settled) return;
      settled = true;
      const err = e as NodeJS.ErrnoException;
      reject(e instanceof HttpTransportError ? e : new HttpTransportError(`${url.origin}: ${err?.message ?? String(e)}`, err?.code ?? fallback));
    };
    const onAnswer = (res: IncomingMessage) => {
      const stream = decoded(res);
      const chunks: Buffer[] = [];
      stream.on('data', (c: Buffer) => chunks.push(c));
      stream.on('error', (e) => fail(e));
      res.on('aborted', () => fail(new HttpTransportError(`${url.origin}: the answer was cut off`, 'ECONNRESET')));
      stream.on('end', () => {
        if (settled) return;
        settled = true;
        const body = chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks);
        // Made when asked for: most answers need only one of them, error answers their headers.
        let headers: Headers | undefined;
        let text: string | undefined;
        resolve({
          status: res.statusCode ?? 0,
          rawHeaders: res.headers,
          body,
          get text() {
            return (text ??= body.toString('utf8'));
          },
          get headers() {
            return (headers ??= toHeaders(res));
          },
        });
      });
    };
    const options = {
      method: o.method ?? 'GET',
      agent: https ? agents.https : agents.http,
      headers: { 'accept-encoding': 'gzip, br, deflate', ...(body ? { 'content-length': String(body.length) } : {}), ...o.headers },
    };
    let req: ReturnType<typeof httpRequest>;
    try {
      req = https ? httpsRequest(url, options, onAnswer) : httpRequest(url, options, onAnswer);
    } catch (e) {
      fail(e); // a request Node refuses to make (a bad header value): no answer, as a transport failure
      return;
    }
    req.setTimeout(o.timeoutMs ?? DEFAULT_TIMEOUT_MS, () => {
      fail(new HttpTransportError(`${url.origin}: no answer within ${Math.round((o.timeoutMs ?? DEFAULT_TIMEOUT_MS) / 1000)} s`, 'ETIMEDOUT'));
      req.destroy();
    });
    req.on('error', (e) => fail(e));
    req.end(body);
  });
}

/**
 * A request started ahead of its use (the next page of a listing): a failure is reported where it is awaited;
 * if nothing awaits it (the listing was abandoned), it is not an unhandled rejection.
 */
export function ahead<T>(p: Promise<T>): Promise<T> {
  p.catch(() => undefined);
  return p;
}
