// How rdpcloud reaches Azure Resource Manager: DefaultAzureCredential (CLI, managed identity, workload identity
// in CI) or a static bearer token from RDPCLOUD_AZURE_TOKEN; the public, US Government and China clouds; an
// endpoint override (RDPCLOUD_AZURE_ENDPOINT / --azure-endpoint) that replaces the ARM host. The override works
// below the SDK: requests, nextLinks and long-running-operation URLs that name the real ARM host are
// rewritten to it, anything else is followed as it is (interface.md). The SDK's own retry policy honours
// Retry-After on 429/503; a pipeline policy counts requests and retries for the progress line and the benchmark.
import type { TokenCredential } from '@azure/core-auth';
import { createDefaultHttpClient, type HttpClient, type PipelinePolicy, type PipelineRequest } from '@azure/core-rest-pipeline';
import { AzureAuthorityHosts, DefaultAzureCredential } from '@azure/identity';
import { AuthError, UsageError } from '../../src/errors.js';
import { isLoopbackHost } from '../endpoints.js';
import type { ProviderContext } from '../types.js';

/* eslint-disable @typescript-eslint/no-explicit-any */

export type AzureCloud = 'public' | 'usgov' | 'china';

export const CLOUDS: Record<AzureCloud, { arm: string; authority: string; computeSetting: string }> = {
  public: { arm: 'https://management.azure.com', authority: AzureAuthorityHosts.AzurePublicCloud, computeSetting: 'AZURE_PUBLIC_CLOUD' },
  usgov: { arm: 'https://management.usgovcloudapi.net', authority: AzureAuthorityHosts.AzureGovernment, computeSetting: 'AZURE_US_GOVERNMENT' },
  china: { arm: 'https://management.chinacloudapi.cn', authority: AzureAuthorityHosts.AzureChina, computeSetting: 'AZURE_CHINA_CLOUD' },
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
  const inner = new DefaultAzureCredential({ authorityHost: CLOUDS[cloud].authority });
  return {
    getToken: async (scopes, options) => {
      try {
        return await inner.getToken(scopes, options);
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
export function rewritingHttpClient(armHost: string, override: URL): HttpClient {
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

export function armOptions(ctx: ProviderContext, cloud: AzureCloud, override: URL | undefined): ArmOptions {
  return {
    ...(override ? { httpClient: rewritingHttpClient(CLOUDS[cloud].arm, override) } : {}),
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
