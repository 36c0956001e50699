// How rdpcloud reaches Google: credentials (ADC or a static token), endpoints (private endpoints and
// emulators), error classification, and a lean JSON-over-HTTPS client for the read path of an audit.
//
// The audit reads Compute Engine and Resource Manager with plain REST (GcpRest): node:http with kept
// connections (providers/http.ts), JSON.parse, no protobuf round trip. @google-cloud/compute costs 1.3 s and ~190 MB just to load (its descriptor is huge) and
// ~5 ms of CPU per page to turn JSON into protobuf objects and back; an organisation is thousands of pages. The
// REST answers are the same JSON the client would have decoded (field names, int64 as strings, enums as
// names). The gax clients are still used, loaded on demand, for the writes and the per-instance calls of
// fix, diagnose, explain --verify-with-api and the serial console.
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { AuthClient } from 'google-auth-library';
import pLimit, { type LimitFunction } from 'p-limit';
import { AuthError, UsageError } from '../../src/errors.js';
import type { Classified } from '../retry.js';
import { withRetry } from '../retry.js';
import type { ProviderContext } from '../types.js';
import { isLoopbackHost } from '../endpoints.js';
import { ahead, HttpTransportError, send, TRANSIENT_CODES } from '../http.js';

/* eslint-disable @typescript-eslint/no-explicit-any */

export const SCOPES = ['https://www.googleapis.com/auth/cloud-platform'];


export interface Endpoint {
  apiEndpoint: string;
  port: number;
  protocol: 'http' | 'https';
}

/**
 * Parses an endpoint override. The port must be passed apart: inside apiEndpoint it is ignored by the
 * client, which then calls port 443 (cloud-apis.md 1.5). Plain http only for loopback hosts, so a token
 * never crosses a network unencrypted.
 */
export function parseEndpoint(value: string, flag: string): Endpoint {
  let url: URL;
  try {
    url = new URL(value.includes('://') ? value : `https://${value}`);
  } catch {
    throw new UsageError(`${flag} "${value}": not a URL (e.g. https://compute.example.internal or http://127.0.0.1:8080)`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new UsageError(`${flag} "${value}": only http and https are supported`);
  const protocol = url.protocol === 'http:' ? 'http' : 'https';
  const host = url.hostname.replace(/^\[|\]$/g, '');
  if (protocol === 'http' && !isLoopbackHost(host)) {
    throw new UsageError(`${flag} "${value}": plain http is allowed only for loopback hosts (127.0.0.1, ::1, localhost); use https`);
  }
  const port = url.port ? Number(url.port) : protocol === 'http' ? 80 : 443;
  return { apiEndpoint: host, port, protocol };
}

/**
 * The Application Default Credentials file `env` names, as google-auth-library would find it: the file in
 * GOOGLE_APPLICATION_CREDENTIALS, else gcloud's (CLOUDSDK_CONFIG, else %APPDATA%\gcloud or ~/.config/gcloud)
 * when it exists. Found here, from the run's environment rather than the process's, so that a library caller's
 * `env` decides which credentials are used (the library itself reads process.env).
 */
export function adcFile(env: NodeJS.ProcessEnv, platform = process.platform): { file: string; from: string } | undefined {
  const named = (env.GOOGLE_APPLICATION_CREDENTIALS ?? env.google_application_credentials)?.trim();
  if (named) return { file: named, from: 'GOOGLE_APPLICATION_CREDENTIALS' };
  const dir = env.CLOUDSDK_CONFIG || (platform === 'win32' ? env.APPDATA && join(env.APPDATA, 'gcloud') : env.HOME && join(env.HOME, '.config', 'gcloud'));
  const file = dir ? join(dir, 'application_default_credentials.json') : undefined;
  return file && existsSync(file) ? { file, from: "gcloud's application default credentials" } : undefined;
}

const NO_CREDENTIALS =
  'no credentials found: run `gcloud auth application-default login`, set GOOGLE_APPLICATION_CREDENTIALS to a credentials file (workload identity federation in CI), or set GOOGLE_OAUTH_ACCESS_TOKEN';

/**
 * GOOGLE_OAUTH_ACCESS_TOKEN (Terraform's convention) or Application Default Credentials: the credentials file
 * `env` names (adcFile), else the metadata server of a GCE or GKE machine, unless METADATA_SERVER_DETECTION=none.
 */
export async function gcpAuth(env: NodeJS.ProcessEnv): Promise<AuthClient> {
  const { GoogleAuth, OAuth2Client } = await import('google-auth-library');
  const token = env.GOOGLE_OAUTH_ACCESS_TOKEN?.trim();
  if (token) {
    const c = new OAuth2Client();
    c.setCredentials({ access_token: token }); // no expiry: used as given
    return c;
  }
  const adc = adcFile(env);
  if (adc) {
    // Read here and handed over as JSON, as the library reads its own ADC file: given as keyFilename instead,
    // a file that is not JSON would be taken for a PEM key and the requests would go out without credentials.
    const bad = (why: string) => new AuthError('gcp', `${adc.from} "${adc.file}": ${why}; fix the file, or run \`gcloud auth application-default login\``);
    let json: unknown;
    try {
      json = JSON.parse(await readFile(adc.file, 'utf8'));
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      throw bad(code === 'ENOENT' ? 'no such file' : code ? `cannot be read (${code})` : 'not JSON');
    }
    try {
      return (await new GoogleAuth({ scopes: SCOPES, credentials: json as any }).getClient()) as AuthClient;
    } catch (e) {
      throw bad(`not a credentials file google-auth-library accepts (${(e as Error).message.split('\n')[0]})`);
    }
  }
  if (env.METADATA_SERVER_DETECTION?.trim().toLowerCase() === 'none') throw new AuthError('gcp', NO_CREDENTIALS);
  try {
    return (await new GoogleAuth({ scopes: SCOPES }).getClient()) as AuthClient;
  } catch {
    throw new AuthError('gcp', NO_CREDENTIALS);
  }
}

/** The request headers credentials add (Authorization, x-goog-user-project); a static token needs no library. */
export function gcpHeaders(env: NodeJS.ProcessEnv): () => Promise<Record<string, string>> {
  const token = env.GOOGLE_OAUTH_ACCESS_TOKEN?.trim();
  if (token) {
    const h = { authorization: `Bearer ${token}` };
    return async () => h;
  }
  let client: Promise<AuthClient> | undefined;
  return async () => {
    client ??= gcpAuth(env);
    const h = await (await client).getRequestHeaders();
    return h instanceof Headers ? Object.fromEntries(h.entries()) : { ...(h as Record<string, string>) };
  };
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any
export function clientOptions(endpoint: Endpoint | undefined, authClient: AuthClient): any {
  return { ...(endpoint ?? {}), authClient, fallback: true };
}

interface GoogleErrorBody {
  code?: number;
  message?: string;
  status?: string;
  errors?: { reason?: string; message?: string }[];
  details?: { reason?: string; '@type'?: string }[];
}

export interface GcpError {
  status?: number;
  reason?: string;
  message: string;
}

/** GaxiosError in REST mode: numeric `status`/`code`, and the raw JSON error body in `message`. */
export function readGcpError(err: unknown): GcpError {
  const e = err as any;
  const status: number | undefined = typeof e?.status === 'number' ? e.status : typeof e?.code === 'number' ? e.code : e?.response?.status;
  let body: GoogleErrorBody | undefined;
  const text = typeof e?.message === 'string' ? e.message : '';
  try {
    body = JSON.parse(text)?.error;
  } catch {
    body = e?.response?.data?.error;
  }
  const reason = body?.errors?.[0]?.reason ?? body?.details?.find((d) => d.reason)?.reason;
  const message = (body?.message ?? text ?? String(err)).split('\n')[0];
  return { status, reason, message };
}

const RETRY_403 = new Set(['rateLimitExceeded', 'userRateLimitExceeded', 'RATE_LIMIT_EXCEEDED']);

export function classifyGcp(err: unknown): Classified {
  const { status, reason } = readGcpError(err);
  const retryAfter = Number((err as any)?.response?.headers?.get?.('retry-after') ?? (err as any)?.response?.headers?.['retry-after']);
  const ra = Number.isFinite(retryAfter) && retryAfter >= 0 ? { retryAfterSeconds: retryAfter } : {};
  if (status === 429) return { retryable: true, throttled: true, ...ra };
  if (status === 403 && reason && RETRY_403.has(reason)) return { retryable: true, throttled: true, ...ra };
  if (status && [500, 502, 503, 504].includes(status)) return { retryable: true, throttled: false, ...ra };
  // Ours (HttpTransportError) and the gax clients' (callOnce) both carry the system error code.
  const code = (err as any)?.code;
  if (typeof code === 'string' && TRANSIENT_CODES.has(code)) return { retryable: true, throttled: false };
  return { retryable: false, throttled: false };
}

/** One line a user can act on, for a call that failed for good. */
export function describeGcpError(err: unknown, project: string, what: string): string {
  const { status, reason, message } = readGcpError(err);
  if (reason === 'accessNotConfigured' || reason === 'SERVICE_DISABLED' || /has not been used|is disabled/.test(message)) {
    return `Compute Engine API is disabled in project ${project}: enable it (gcloud services enable compute.googleapis.com --project ${project}) or leave the project out`;
  }
  if (status === 401) return `${what}: the credentials were rejected (401): refresh them (gcloud auth application-default login) or the token in GOOGLE_OAUTH_ACCESS_TOKEN`;
  if (status === 403) return `${what}: permission denied (${message}); grant roles/compute.securityReviewer or roles/compute.viewer on ${project}`;
  if (status === 404) return `${what}: not found (${message}); check the project id`;
  if (status === 429 || reason === 'rateLimitExceeded') return `${what}: still throttled after retries (${message})`;
  return `${what}: ${status ? `HTTP ${status}: ` : ''}${message}`;
}

/** An HTTP error answer, shaped like the GaxiosError the clients throw (status, raw body as message, headers). */
export class GcpHttpError extends Error {
  readonly code: number;
  readonly response: { status: number; headers: Headers };
  constructor(
    readonly status: number,
    body: string,
    headers: Headers,
  ) {
    super(body || `HTTP ${status}`);
    this.code = status;
    this.response = { status, headers };
  }
}

const DEFAULT_HOSTS = { compute: 'https://compute.googleapis.com', rm: 'https://cloudresourcemanager.googleapis.com' };
const TIMEOUT_MS = 120_000;

function origin(ep: Endpoint | undefined, api: 'compute' | 'rm'): string {
  if (!ep) return DEFAULT_HOSTS[api];
  const host = ep.apiEndpoint.includes(':') ? `[${ep.apiEndpoint}]` : ep.apiEndpoint;
  return `${ep.protocol}://${host}:${ep.port}`;
}

/**
 * Compute Engine and Resource Manager over plain REST: one GET per call, retried per request (withRetry),
 * pages followed by pageToken one at a time, each page handed over as it comes (nothing keeps it).
 */
/** Requests in flight per project at most: Compute Engine's rate quotas are per project. */
export const PER_PROJECT_IN_FLIGHT = 8;

export class GcpRest {
  private readonly base: Record<'compute' | 'rm', string>;
  private readonly perProject = new Map<string, LimitFunction>();
  constructor(
    private readonly ctx: ProviderContext,
    private readonly headers: () => Promise<Record<string, string>>,
    endpoints: { compute?: Endpoint; rm?: Endpoint },
  ) {
    this.base = { compute: origin(endpoints.compute, 'compute'), rm: origin(endpoints.rm, 'rm') };
  }

  private async send(api: 'compute' | 'rm', path: string, query: Record<string, string | number | boolean | undefined>): Promise<any> {
    const url = new URL(this.base[api] + path);
    for (const [k, v] of Object.entries(query)) if (v !== undefined) url.searchParams.set(k, String(v));
    const headers = await this.headers();
    const res = await send(url, { headers: { ...headers, accept: 'application/json' }, timeoutMs: TIMEOUT_MS });
    const text = res.text;
    if (res.status < 200 || res.status > 299) throw new GcpHttpError(res.status, text, res.headers);
    try {
      return text ? JSON.parse(text) : {};
    } catch {
      throw new HttpTransportError(`${url.origin}${url.pathname}: the answer is not JSON (${text.slice(0, 80).replace(/\s+/g, ' ')})`, 'EBADJSON');
    }
  }

  /** One GET, retried when throttled or transient. */
  get<T = any>(op: string, api: 'compute' | 'rm', path: string, query: Record<string, string | number | boolean | undefined> = {}): Promise<T> {
    // A slot of the project's is held while the request is on the wire, not while it waits to be retried.
    const project = /\/projects\/([^/]+)/.exec(path)?.[1];
    let limit = project ? this.perProject.get(project) : undefined;
    if (project && !limit) this.perProject.set(project, (limit = pLimit(PER_PROJECT_IN_FLIGHT)));
    return withRetry(this.ctx, op, () => (limit ? limit(() => this.send(api, path, query)) : this.send(api, path, query)), classifyGcp);
  }

  /**
   * Every page of a list: the raw answer of each (items, unreachables...), retried per page. The next page is
   * asked for as soon as this one names it, before the caller maps this one: in a long listing the pages are
   * the chain of round trips the audit waits for, and mapping a page (or the event loop being busy with
   * other scopes) would otherwise be added to every link of it.
   */
  async *pages(op: string, api: 'compute' | 'rm', path: string, query: Record<string, string | number | boolean | undefined>): AsyncGenerator<any> {
    let next: Promise<any> | undefined = this.get(op, api, path, query);
    while (next) {
      const page: any = await next;
      const token: string | undefined = page?.nextPageToken || undefined;
      next = token ? ahead(this.get(op, api, path, { ...query, pageToken: token })) : undefined;
      yield page;
    }
  }
}

export function callOnce<T>(ctx: ProviderContext, op: string, call: () => Promise<T>): Promise<T> {
  return withRetry(ctx, op, call, classifyGcp);
}
