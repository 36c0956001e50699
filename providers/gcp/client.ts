// How rdpcloud reaches Google: credentials (ADC or a static token), endpoints (private endpoints and
// emulators), error classification, and paging with retry per page.
import { GoogleAuth, OAuth2Client, type AuthClient } from 'google-auth-library';
import { AuthError, UsageError } from '../../src/errors.js';
import type { Classified } from '../retry.js';
import { withRetry } from '../retry.js';
import type { ProviderContext } from '../types.js';
import { isLoopbackHost } from '../endpoints.js';

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

/** GOOGLE_OAUTH_ACCESS_TOKEN (Terraform's convention) or Application Default Credentials. */
export async function gcpAuth(env: NodeJS.ProcessEnv): Promise<AuthClient> {
  const token = env.GOOGLE_OAUTH_ACCESS_TOKEN?.trim();
  if (token) {
    const c = new OAuth2Client();
    c.setCredentials({ access_token: token }); // no expiry: used as given
    return c;
  }
  try {
    return (await new GoogleAuth({ scopes: SCOPES }).getClient()) as AuthClient;
  } catch {
    throw new AuthError(
      'gcp',
      'no credentials found: run `gcloud auth application-default login`, set GOOGLE_APPLICATION_CREDENTIALS to a credentials file (workload identity federation in CI), or set GOOGLE_OAUTH_ACCESS_TOKEN',
    );
  }
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
const TRANSIENT_CODES = new Set(['ECONNRESET', 'ECONNREFUSED', 'ETIMEDOUT', 'EPIPE', 'EAI_AGAIN', 'UND_ERR_SOCKET']);

export function classifyGcp(err: unknown): Classified {
  const { status, reason } = readGcpError(err);
  const retryAfter = Number((err as any)?.response?.headers?.get?.('retry-after') ?? (err as any)?.response?.headers?.['retry-after']);
  const ra = Number.isFinite(retryAfter) && retryAfter >= 0 ? { retryAfterSeconds: retryAfter } : {};
  if (status === 429) return { retryable: true, throttled: true, ...ra };
  if (status === 403 && reason && RETRY_403.has(reason)) return { retryable: true, throttled: true, ...ra };
  if (status && [500, 502, 503, 504].includes(status)) return { retryable: true, throttled: false, ...ra };
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

type PageCall<T> = (req: Record<string, unknown>) => Promise<[T, Record<string, unknown> | null | undefined, unknown]>;

/**
 * Pages through a list call one page at a time, retrying a page (not the listing) when throttled.
 * Nothing above the provider sees a page token.
 */
export async function* pages<T>(
  ctx: ProviderContext,
  op: string,
  first: Record<string, unknown>,
  call: PageCall<T>,
  onResponse?: (raw: any) => void,
): AsyncGenerator<T> {
  let req: Record<string, unknown> | null | undefined = first;
  while (req) {
    const current: Record<string, unknown> = req;
    const [items, next, raw] = await withRetry(ctx, op, () => call(current), classifyGcp);
    onResponse?.(raw);
    yield items;
    req = next && next.pageToken ? next : null;
  }
}

export function callOnce<T>(ctx: ProviderContext, op: string, call: () => Promise<T>): Promise<T> {
  return withRetry(ctx, op, call, classifyGcp);
}
