// How rdpcloud reaches AWS: the SDK's default credential chain (profiles, SSO, web identity, env) or a named
// profile, roles assumed per account through STS, SDK-native endpoint overrides (AWS_ENDPOINT_URL,
// AWS_ENDPOINT_URL_EC2, _STS, _SSM, _ORGANIZATIONS), and rdpcloud's backoff policy as the SDK's retry strategy
// so that the paginators retry a page, not the listing, and every request and retry is counted.
import type { AwsCredentialIdentity, AwsCredentialIdentityProvider, RetryErrorInfo, RetryStrategyV2, RetryToken } from '@smithy/types';
import { AuthError, UsageError } from '../../src/errors.js';
import { backoffDelay } from '../retry.js';
import type { ProviderContext } from '../types.js';
import { isLoopbackHost } from '../endpoints.js';
import { credentialProviders, stsSdk } from './sdk.js';
import { agents } from '../http.js';

/* eslint-disable @typescript-eslint/no-explicit-any */

export const DEFAULT_REGION = 'us-east-1';

/** Plain http is accepted for loopback endpoints only: credentials are signed, but the answers are not private. */
export function checkEndpointEnv(env: NodeJS.ProcessEnv): void {
  for (const key of ['AWS_ENDPOINT_URL', 'AWS_ENDPOINT_URL_EC2', 'AWS_ENDPOINT_URL_STS', 'AWS_ENDPOINT_URL_SSM', 'AWS_ENDPOINT_URL_ORGANIZATIONS']) {
    const v = env[key];
    if (!v) continue;
    let url: URL;
    try {
      url = new URL(v);
    } catch {
      throw new UsageError(`${key} "${v}": not a URL (e.g. https://ec2.eu-west-1.amazonaws.com or http://127.0.0.1:4566)`);
    }
    if (url.protocol === 'http:' && !isLoopbackHost(url.hostname)) throw new UsageError(`${key} "${v}": plain http is allowed only for loopback hosts (127.0.0.1, ::1, localhost); use https`);
  }
}

/**
 * The SDK's retry hook, driven by rdpcloud's policy: throttling and transient errors are retried with full
 * jitter up to the budget; each retry is counted. Client errors (403, 400) are not retried.
 */
export function retryStrategy(ctx: ProviderContext): RetryStrategyV2 {
  const token = (count: number, delay: number): RetryToken => ({ getRetryCount: () => count, getRetryDelay: () => delay });
  return {
    acquireInitialRetryToken: async () => token(0, 0),
    refreshRetryTokenForRetry: async (t: RetryToken, info: RetryErrorInfo) => {
      const n = t.getRetryCount();
      const retryable = info.errorType === 'THROTTLING' || info.errorType === 'TRANSIENT' || info.errorType === 'SERVER_ERROR';
      if (!retryable || n + 1 >= ctx.retry.attempts) throw info.error ?? new Error('retries exhausted');
      ctx.stats.retries++;
      if (info.errorType === 'THROTTLING') ctx.stats.throttled++;
      const after = info.retryAfterHint ? Math.max(0, (info.retryAfterHint.getTime() - Date.now()) / 1000) : undefined;
      return token(n + 1, backoffDelay(ctx, n, after));
    },
    recordSuccess: () => {},
  };
}

/** Counts each command once (retries are counted by the strategy), under "service.Operation". */
export function countRequests(client: any, service: string, ctx: ProviderContext): void {
  client.middlewareStack.add(
    (next: any, context: any) => async (args: any) => {
      const op = `${service}.${String(context.commandName ?? 'unknown').replace(/Command$/, '')}`;
      ctx.stats.requests[op] = (ctx.stats.requests[op] ?? 0) + 1;
      try {
        return await next(args);
      } finally {
        ctx.onRequest?.();
      }
    },
    { step: 'initialize', name: 'rdpcloudCountRequests' },
  );
}

export interface ClientBase {
  region: string;
  credentials?: AwsCredentialIdentityProvider;
  retryStrategy: RetryStrategyV2;
  env: NodeJS.ProcessEnv;
  /** Settings and connections the clients of one provider share (EC2 and SSM: one client per account and region). */
  shared?: SharedClientSettings;
}

/** Client configuration for one service: the region, credentials, retry policy and endpoint. */
export function clientConfig(base: ClientBase, service: 'EC2' | 'STS' | 'SSM' | 'ORGANIZATIONS', region = base.region, credentials = base.credentials) {
  return { region, ...(credentials ? { credentials } : {}), retryStrategy: base.retryStrategy, ...endpointFor(base.env, service), ...(base.shared?.config() ?? {}) };
}

/**
 * What every client of a run would work out the same way, worked out once. An audit makes a client per
 * account and region (510 for 30 accounts x 17 regions), and each one reads the FIPS, dual-stack, app-id, auth-scheme
 * and max-attempts settings from the environment and the shared config file on its own, throwing and catching an
 * error for every place a setting is not (about a millisecond of CPU per client, measured in the org
 * benchmark's profile). The first client's answers are the same for all (same environment, same profile),
 * so they are passed on to the clients made after it. And one pair of keep-alive agents serves them all: a
 * region's endpoint is the same host for every account, so its connections are reused.
 */
export class SharedClientSettings {
  private resolved?: Record<string, unknown>;
  private pending?: Promise<void>;
  /** The run's kept connections (providers/http.ts), which the audit's readers use too. */
  private readonly agents = { httpAgent: agents.http, httpsAgent: agents.https };

  config(): Record<string, unknown> {
    return { requestHandler: this.agents, ...this.resolved };
  }

  /** Done once the settings of the first client are read (for tests; clients never wait for it). */
  settled(): Promise<void> {
    return this.pending ?? Promise.resolve();
  }

  /** Reads the settings a client resolved (once per run). */
  learn(client: { config: unknown }): void {
    if (this.resolved || this.pending) return;
    const c = client.config as Record<string, (() => Promise<unknown>) | undefined>;
    const read = (k: string) => (typeof c[k] === 'function' ? c[k]!() : Promise.resolve(undefined));
    this.pending = Promise.all([read('useFipsEndpoint'), read('useDualstackEndpoint'), read('userAgentAppId'), read('authSchemePreference'), read('maxAttempts')]).then(
      ([fips, dualstack, appId, schemes, maxAttempts]) => {
        if (typeof fips !== 'boolean' || typeof dualstack !== 'boolean') return; // not what this SDK version resolves: leave each client to it
        this.resolved = {
          useFipsEndpoint: fips,
          useDualstackEndpoint: dualstack,
          // "None set" is passed on too, as a provider of nothing: an undefined value would send the client to look again.
          userAgentAppId: appId !== undefined ? appId : async () => undefined,
          ...(schemes !== undefined ? { authSchemePreference: schemes } : {}),
          ...(typeof maxAttempts === 'number' ? { maxAttempts } : {}),
        };
      },
      () => undefined, // the SDK's own per-client resolution stays, and reports the problem where it arises
    );
  }
}

/**
 * --profile, else keys in the environment rdpcloud was given, else the SDK's default chain (profiles, SSO,
 * web identity, container and instance roles). Reading the keys from `env` rather than letting the SDK read
 * process.env keeps run(argv, io) hermetic; for the real CLI the two are the same.
 */
export function baseCredentials(profile: string | undefined, env: NodeJS.ProcessEnv): AwsCredentialIdentityProvider | undefined {
  if (profile) {
    return credentialProviders().fromIni({
      profile,
      ...(env.AWS_SHARED_CREDENTIALS_FILE ? { filepath: env.AWS_SHARED_CREDENTIALS_FILE } : {}),
      ...(env.AWS_CONFIG_FILE ? { configFilepath: env.AWS_CONFIG_FILE } : {}),
    });
  }
  if (env.AWS_ACCESS_KEY_ID && env.AWS_SECRET_ACCESS_KEY) {
    const c: AwsCredentialIdentity = { accessKeyId: env.AWS_ACCESS_KEY_ID, secretAccessKey: env.AWS_SECRET_ACCESS_KEY, ...(env.AWS_SESSION_TOKEN ? { sessionToken: env.AWS_SESSION_TOKEN } : {}) };
    return async () => c;
  }
  return undefined;
}

/**
 * The SDK's default credential chain (what a client given no credentials uses), for the audit's readers, which
 * sign themselves: made once per run, so that a profile, SSO token or role is resolved once and cached.
 */
const defaultChains = new WeakMap<ClientBase, AwsCredentialIdentityProvider>();
export function defaultCredentials(base: ClientBase): AwsCredentialIdentityProvider {
  let p = defaultChains.get(base);
  if (!p) defaultChains.set(base, (p = credentialProviders().fromNodeProviderChain()));
  return p;
}

/** The SDK-native endpoint variables, service-specific first (AWS_ENDPOINT_URL_EC2 beats AWS_ENDPOINT_URL). */
export function endpointFor(env: NodeJS.ProcessEnv, service: 'EC2' | 'STS' | 'SSM' | 'ORGANIZATIONS'): { endpoint?: string } {
  if (env.AWS_IGNORE_CONFIGURED_ENDPOINT_URLS === 'true') return {};
  const v = env[`AWS_ENDPOINT_URL_${service}`] ?? env.AWS_ENDPOINT_URL;
  return v ? { endpoint: v } : {};
}

/** Credentials for a role, assumed once and renewed five minutes before they expire. */
export function assumedRole(roleArn: string, base: ClientBase, ctx: ProviderContext): AwsCredentialIdentityProvider {
  let cached: AwsCredentialIdentity | undefined;
  let pending: Promise<AwsCredentialIdentity> | undefined;
  const { AssumeRoleCommand } = stsSdk();
  const sts = stsClient(base, ctx);
  return async () => {
    if (cached && (!cached.expiration || cached.expiration.getTime() - Date.now() > 300_000)) return cached;
    pending ??= sts
      .send(new AssumeRoleCommand({ RoleArn: roleArn, RoleSessionName: 'rdpcloud-audit', DurationSeconds: 3600 }))
      .then((out) => {
        const c = out.Credentials;
        if (!c?.AccessKeyId || !c.SecretAccessKey) throw new Error(`AssumeRole ${roleArn} returned no credentials`);
        cached = { accessKeyId: c.AccessKeyId, secretAccessKey: c.SecretAccessKey, sessionToken: c.SessionToken, expiration: c.Expiration };
        return cached;
      })
      .finally(() => (pending = undefined));
    return pending;
  };
}

/** One STS client per run's settings: every account's role is assumed through it (30 accounts: one client, not 30). */
const stsClients = new WeakMap<ClientBase, InstanceType<ReturnType<typeof stsSdk>['STSClient']>>();
function stsClient(base: ClientBase, ctx: ProviderContext) {
  let sts = stsClients.get(base);
  if (!sts) {
    sts = new (stsSdk().STSClient)(clientConfig(base, 'STS'));
    countRequests(sts, 'sts', ctx);
    stsClients.set(base, sts);
  }
  return sts;
}

export async function callerAccount(base: ClientBase, ctx: ProviderContext): Promise<string> {
  const { GetCallerIdentityCommand } = stsSdk();
  const sts = stsClient(base, ctx);
  try {
    const out = await sts.send(new GetCallerIdentityCommand({}));
    return out.Account ?? 'unknown';
  } catch (e) {
    // Nothing can be audited with credentials STS rejects: a credential error (exit 2), not a failed scope.
    throw awsAuthError(e) ?? new AuthError('aws', describeAwsError(e, 'identifying the caller (STS GetCallerIdentity)'));
  }
}

/** No credentials at all is a usage problem (exit 2) with how to provide them. */
export function awsAuthError(e: unknown): AuthError | undefined {
  const name = (e as any)?.name ?? '';
  if (name === 'CredentialsProviderError' || /Could not load credentials/.test((e as Error)?.message ?? '')) {
    return new AuthError('aws', 'no credentials found: run `aws configure` or `aws sso login`, pick a profile with --profile or AWS_PROFILE, or set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY (in CI: web identity with AWS_ROLE_ARN and AWS_WEB_IDENTITY_TOKEN_FILE)');
  }
  return undefined;
}

/** One line a user can act on, for a call that failed for good. */
export function describeAwsError(e: unknown, what: string): string {
  const err = e as any;
  const code: string = err?.name ?? err?.Code ?? 'Error';
  const status: number | undefined = err?.$metadata?.httpStatusCode;
  const msg = String(err?.message ?? e).split('\n')[0];
  if (/sts:AssumeRole/.test(msg)) return `${what}: the role cannot be assumed (${msg}); its trust policy must allow the calling principal`;
  if (code === 'UnauthorizedOperation' || code === 'AccessDenied' || code === 'AccessDeniedException') {
    return `${what}: permission denied (${msg}); attach the SecurityAudit or ViewOnlyAccess policy (ec2:Describe*, ssm:DescribeInstanceInformation)`;
  }
  if (code === 'AuthFailure' || code === 'InvalidClientTokenId' || code === 'ExpiredToken' || code === 'UnrecognizedClientException') {
    return `${what}: the credentials were rejected (${code}): refresh them (aws sso login) or check the role's trust policy`;
  }
  if (code === 'OptInRequired') return `${what}: the region is not enabled for this account (OptInRequired); enable it or leave it out with --region`;
  if (code === 'RequestLimitExceeded' || code === 'Throttling' || code === 'ThrottlingException') return `${what}: still throttled after retries (${code})`;
  return `${what}: ${code}${status ? ` (HTTP ${status})` : ''}: ${msg}`;
}
