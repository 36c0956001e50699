// How rdpcloud reaches Azure Resource Manager: DefaultAzureCredential (CLI, managed identity, workload identity
// in CI) or a static bearer token from RDPCLOUD_AZURE_TOKEN; the public, US Government and China clouds; an
// endpoint override (RDPCLOUD_AZURE_ENDPOINT / --azure-endpoint) that replaces the ARM host: requests, nextLinks
// and long-running-operation URLs that name the real ARM host are rewritten to it, anything else is followed as
// it is (interface.md).
//
// The audit's listings go over plain REST (ArmRest): node:http with kept connections (providers/http.ts),
// JSON.parse, nextLink followed page by page, each request retried by rdpcloud's own policy (providers/retry.ts: throttling 429 with or without Retry-After, 5xx,
// transport errors; full jitter; never sooner than Retry-After). The SDK clients (@azure/arm-network,
// arm-compute: ~1 s and ~60 MB to load, and a deserializer pass per item) are used for the long-running
// effective-NSG operation of explain --verify-with-api only, with a pipeline policy that counts requests.
import type { TokenCredential } from '@azure/core-auth';
import type { HttpClient, PipelinePolicy, PipelineRequest } from '@azure/core-rest-pipeline';
import { AuthError, UsageError } from '../../src/errors.js';
import { isLoopbackHost } from '../endpoints.js';
import { ahead, HttpTransportError, isTransient, send } from '../http.js';
import { withRetry, type Classified } from '../retry.js';
import type { ProviderContext } from '../types.js';

/* eslint-disable @typescript-eslint/no-explicit-any */

export type AzureCloud = 'public' | 'usgov' | 'china';

// Authority hosts as @azure/identity's AzureAuthorityHosts names them (written out: identity loads on demand).
export const CLOUDS: Record<AzureCloud, { arm: string; authority: string; computeSetting: string }> = {
  public: { arm: 'https://management.azure.com', authority: 'https://login.microsoftonline.com', computeSetting: 'AZURE_PUBLIC_CLOUD' },
  usgov: { arm: 'https://management.usgovcloudapi.net', authority: 'https://login.microsoftonline.us', computeSetting: 'AZURE_US_GOVERNMENT' },
  china: { arm: 'https://management.chinacloudapi.cn', authority: 'https://login.chinacloudapi.cn', computeSetting: 'AZURE_CHINA_CLOUD' },
};

export function parseCloud(v: string | undefined): AzureCloud {
  const c = (v ?? 'public').toLowerCase();
  if (c === 'public' || c === 'usgov' || c === 'china') return c;
  throw new UsageError(`--azure-cloud "${v}": use public, usgov or china`);
}

/** Checks an endpoint override: a URL, https unless the host is loopback. */
export function parseArmEndpoint(value: string, flag: string): URL {
  let url: URL;
  try {
    url = new URL(value.includes('://') ? value : `https://${value}`);
  } catch {
    throw new UsageError(`${flag} "${value}": not a URL (e.g. https://arm.example.internal or http://127.0.0.1:8443)`);
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') throw new UsageError(`${flag} "${value}": only http and https are supported`);
  if (url.protocol === 'http:' && !isLoopbackHost(url.hostname)) throw new UsageError(`${flag} "${value}": plain http is allowed only for loopback hosts (127.0.0.1, ::1, localhost); use https`);
  return url;
}

/** RDPCLOUD_AZURE_TOKEN as given (a pipeline that already holds one), else DefaultAzureCredential for the cloud. */
export function azureCredential(env: NodeJS.ProcessEnv, cloud: AzureCloud): TokenCredential {
  const token = env.RDPCLOUD_AZURE_TOKEN?.trim();
  if (token) return { getToken: async () => ({ token, expiresOnTimestamp: Date.now() + 3_600_000 }) };
  let inner: Promise<TokenCredential> | undefined;
  return {
    getToken: async (scopes, options) => {
      try {
        inner ??= import('@azure/identity').then(({ DefaultAzureCredential }) => new DefaultAzureCredential({ authorityHost: CLOUDS[cloud].authority }));
        return await (await inner).getToken(scopes, options);
      } catch (e) {
        throw new AuthError(
          'azure',
          `no credentials found (${String((e as Error)?.message ?? e).split('\n')[0]}): run \`az login\`, use a managed identity or workload identity (AZURE_CLIENT_ID, AZURE_TENANT_ID, AZURE_FEDERATED_TOKEN_FILE), or set RDPCLOUD_AZURE_TOKEN`,
        );
      }
    },
  };
}

/** Sends requests for the ARM host to the override instead; other URLs go where they point. */
export async function rewritingHttpClient(armHost: string, override: URL): Promise<HttpClient> {
  const { createDefaultHttpClient } = await import('@azure/core-rest-pipeline');
  const inner = createDefaultHttpClient();
  const base = override.href.replace(/\/$/, '');
  const host = new URL(armHost).host.toLowerCase();
  return {
    sendRequest: async (req: PipelineRequest) => {
      const u = new URL(req.url);
      if (u.host.toLowerCase() !== host) return inner.sendRequest(req);
      // Rewritten for this send only: a retry passes through the bearer policy again, which must still see https.
      const { url, allowInsecureConnection } = req;
      req.url = base + u.pathname + u.search;
      if (override.protocol === 'http:') req.allowInsecureConnection = true;
      try {
        return await inner.sendRequest(req);
      } finally {
        req.url = url;
        req.allowInsecureConnection = allowInsecureConnection;
      }
    },
  };
}

/** "azure.networkSecurityGroups" from ".../providers/Microsoft.Network/networkSecurityGroups?..." */
export function operationOf(url: string): string {
  const path = new URL(url).pathname.replace(/\/$/, '');
  const seg = path.split('/').filter(Boolean);
  const p = seg.lastIndexOf('providers');
  if (p >= 0 && seg.length >= p + 3) return `azure.${seg.slice(p + 2).filter((_, i) => i % 2 === 0).join('.')}`;
  return `azure.${seg[seg.length - 1] ?? 'root'}`;
}

/** Counts every request once and every retry apart (the SDK's retry policy re-sends the same request object). */
export function countingPolicy(ctx: ProviderContext): PipelinePolicy {
  const last = new WeakMap<PipelineRequest, number>();
  return {
    name: 'rdpcloudCountRequests',
    async sendRequest(req, next) {
      const prev = last.get(req);
      if (prev === undefined) {
        const op = operationOf(req.url);
        ctx.stats.requests[op] = (ctx.stats.requests[op] ?? 0) + 1;
      } else {
        ctx.stats.retries++;
        if (prev === 429) ctx.stats.throttled++;
      }
      try {
        const res = await next(req);
        last.set(req, res.status);
        return res;
      } catch (e) {
        last.set(req, (e as any)?.statusCode ?? 0);
        throw e;
      } finally {
        ctx.onRequest?.();
      }
    },
  };
}

/**
 * For a plain-http override (loopback only, checked by parseArmEndpoint) the SDK's bearer policy refuses to
 * sign ("not permitted for non-TLS protected URLs", whatever allowInsecureConnection says): it is replaced by one
 * that asks the same credential for the token. Never used for a non-loopback host.
 */
export function signOverHttpLoopback(client: { pipeline: { removePolicy(o: { name: string }): unknown; addPolicy(p: PipelinePolicy): void } }, credential: TokenCredential, scope: string): void {
  client.pipeline.removePolicy({ name: 'bearerTokenAuthenticationPolicy' });
  client.pipeline.addPolicy({
    name: 'rdpcloudLoopbackBearer',
    async sendRequest(req, next) {
      const t = await credential.getToken(scope);
      if (t) req.headers.set('authorization', `Bearer ${t.token}`);
      return next(req);
    },
  });
}

export interface ArmOptions {
  httpClient?: HttpClient;
  retryOptions: { maxRetries: number; retryDelayInMs: number; maxRetryDelayInMs: number };
  additionalPolicies: { policy: PipelinePolicy; position: 'perRetry' }[];
}

export async function armOptions(ctx: ProviderContext, cloud: AzureCloud, override: URL | undefined): Promise<ArmOptions> {
  return {
    ...(override ? { httpClient: await rewritingHttpClient(CLOUDS[cloud].arm, override) } : {}),
    retryOptions: { maxRetries: Math.max(0, ctx.retry.attempts - 1), retryDelayInMs: ctx.retry.baseMs, maxRetryDelayInMs: ctx.retry.maxMs },
    additionalPolicies: [{ policy: countingPolicy(ctx), position: 'perRetry' }],
  };
}

/** One line a user can act on, for a call that failed for good. */
export function describeAzureError(e: unknown, what: string): string {
  const err = e as any;
  const status: number | undefined = err?.statusCode;
  const code: string | undefined = err?.code;
  const msg = String(err?.message ?? e).split('\n')[0];
  if (status === 403 || code === 'AuthorizationFailed') return `${what}: permission denied (${code ?? 403}); assign the Reader role (or Network Reader and Virtual Machine Reader) on the subscription`;
  if (status === 401) return `${what}: the credentials were rejected (401 ${code ?? ''}): refresh them (az login) or the token in RDPCLOUD_AZURE_TOKEN`.replace(' )', ')');
  if (status === 404 || code === 'SubscriptionNotFound') return `${what}: not found (${code ?? 404}); check the subscription id`;
  if (status === 429) return `${what}: still throttled after retries (${code ?? 429})`;
  return `${what}: ${status ? `HTTP ${status} ` : ''}${code ? `${code}: ` : ''}${msg}`;
}

// ------------------------------------------------------------------------------------------------
// Plain REST for the listings
// ------------------------------------------------------------------------------------------------

/** An ARM error answer: the HTTP status, ARM's error code and message, the headers (Retry-After). */
export class ArmHttpError extends Error {
  readonly statusCode: number;
  readonly code?: string;
  readonly headers: Headers;
  constructor(status: number, body: string, headers: Headers) {
    let code: string | undefined;
    let message = body.slice(0, 300) || `HTTP ${status}`;
    try {
      const e = JSON.parse(body)?.error;
      if (e?.code) code = String(e.code);
      if (e?.message) message = String(e.message);
    } catch {
      // not JSON (a gateway's HTML page): the start of the body is the message
    }
    super(message);
    this.statusCode = status;
    this.code = code;
    this.headers = headers;
  }
}

const RETRY_STATUS = new Set([408, 429, 500, 502, 503, 504]);

/** Seconds to wait from retry-after-ms / x-ms-retry-after-ms (ms) or Retry-After (seconds or an HTTP date). */
export function retryAfterSeconds(h: Headers | undefined, now = Date.now()): number | undefined {
  if (!h) return undefined;
  for (const name of ['retry-after-ms', 'x-ms-retry-after-ms']) {
    const v = Number(h.get(name));
    if (h.get(name) !== null && Number.isFinite(v) && v >= 0) return v / 1000;
  }
  const ra = h.get('retry-after');
  if (ra === null) return undefined;
  const secs = Number(ra);
  if (Number.isFinite(secs) && secs >= 0) return secs;
  const at = Date.parse(ra);
  return Number.isFinite(at) ? Math.max(0, (at - now) / 1000) : undefined;
}

/** Throttling (429) and transient answers (408, 5xx but 501/505, resets) are retried; Retry-After is honoured. */
export function classifyArm(err: unknown): Classified {
  if (err instanceof ArmHttpError) {
    if (!RETRY_STATUS.has(err.statusCode)) return { retryable: false, throttled: false };
    const ra = retryAfterSeconds(err.headers);
    return { retryable: true, throttled: err.statusCode === 429, ...(ra !== undefined ? { retryAfterSeconds: ra } : {}) };
  }
  if (isTransient(err)) return { retryable: true, throttled: false };
  return { retryable: false, throttled: false };
}

const TIMEOUT_MS = 120_000;

/**
 * ARM over plain REST: GETs signed with the credential's token (cached until five minutes before it expires),
 * URLs naming the ARM host sent to the override, nextLinks followed one page at a time, each page handed over as
 * it comes. Tokens go over https, or plain http to a loopback override only (parseArmEndpoint checks it).
 */
export class ArmRest {
  private readonly arm: URL;
  private token?: { token: string; expiresOnTimestamp: number };
  private pending?: Promise<string>;
  constructor(
    private readonly ctx: ProviderContext,
    private readonly credential: TokenCredential,
    cloud: AzureCloud,
    private readonly override?: URL,
  ) {
    this.arm = new URL(CLOUDS[cloud].arm);
  }

  private bearer(): Promise<string> {
    if (this.token && this.token.expiresOnTimestamp - Date.now() > 300_000) return Promise.resolve(this.token.token);
    this.pending ??= this.credential
      .getToken(`${this.arm.origin}/.default`)
      .then((t) => {
        if (!t?.token) throw new AuthError('azure', 'the credential returned no token for Azure Resource Manager');
        this.token = t;
        return t.token;
      })
      .finally(() => (this.pending = undefined));
    return this.pending;
  }

  /** Where a URL really goes: the override for the ARM host, anything else as it is (https only). */
  private target(url: string): URL {
    const u = new URL(url, this.arm);
    if (u.host.toLowerCase() === this.arm.host.toLowerCase() && this.override) {
      const base = this.override.href.replace(/\/$/, '');
      return new URL(base + u.pathname + u.search);
    }
    const loopbackOverride = this.override && u.origin === this.override.origin;
    if (u.protocol !== 'https:' && !(loopbackOverride && isLoopbackHost(u.hostname))) {
      throw new HttpTransportError(`refusing to send a token to ${u.origin} over plain http`, 'EINSECURE');
    }
    return u;
  }

  private async send(url: string): Promise<any> {
    const target = this.target(url);
    const token = await this.bearer();
    const res = await send(target, { headers: { authorization: `Bearer ${token}`, accept: 'application/json' }, timeoutMs: TIMEOUT_MS });
    const text = res.text;
    if (res.status < 200 || res.status > 299) throw new ArmHttpError(res.status, text, res.headers);
    try {
      return text ? JSON.parse(text) : {};
    } catch {
      throw new HttpTransportError(`${target.origin}${target.pathname}: the answer is not JSON`, 'EBADJSON');
    }
  }

  /** One GET (a path under the ARM host, or an absolute URL), retried by rdpcloud's policy. */
  get(url: string): Promise<any> {
    return withRetry(this.ctx, operationOf(new URL(url, this.arm).href), () => this.send(url), classifyArm);
  }

  /** The items of every page of a list, following nextLink; the next page asked for before this one is mapped. */
  async *pages(path: string): AsyncGenerator<any[]> {
    let next: Promise<any> | undefined = this.get(path);
    while (next) {
      const page: any = await next;
      const link: string | undefined = page?.nextLink || undefined;
      next = link ? ahead(this.get(link)) : undefined;
      yield (page?.value ?? []) as any[];
    }
  }
}
