/**
 * How to point the real Azure SDK clients (modular @azure/arm-network 39, @azure/arm-compute 25,
 * @azure/arm-resources-subscriptions 3) at the fake ARM server with a static token. See README.md
 * ("Connecting the real clients") for why each step is needed.
 */
import type { TokenCredential, AccessToken } from '@azure/core-auth';
import type { NetworkManagementClient } from '@azure/arm-network';
import type { FakeArm } from './server.js';

type Pipeline = NetworkManagementClient['pipeline'];
export type PipelinePolicy = Parameters<Pipeline['addPolicy']>[0];

/** A TokenCredential that always returns `token`; records the scopes it was asked for. */
export function staticTokenCredential(token: string): TokenCredential & { scopes: string[][] } {
  const scopes: string[][] = [];
  return {
    scopes,
    async getToken(s: string | string[]): Promise<AccessToken> {
      scopes.push(Array.isArray(s) ? [...s] : [s]);
      return { token, expiresOnTimestamp: Date.now() + 3_600_000 };
    },
  };
}

/** Client options for the endpoint override: `{ endpoint: 'http://127.0.0.1:PORT', allowInsecureConnection: true }`. */
export function fakeEndpointOptions(fake: FakeArm): { endpoint: string; allowInsecureConnection: true } {
  return { endpoint: fake.baseUrl, allowInsecureConnection: true };
}

/**
 * The SDK's bearerTokenAuthenticationPolicy refuses non-https URLs ("Bearer token authentication is not permitted
 * for non-TLS protected (non-https) URLs."), whatever allowInsecureConnection says. Replace it with a policy that
 * asks the same credential for a token and sets the header, on http too.
 */
export function useStaticBearer(client: { pipeline: Pipeline }, credential: TokenCredential, scope = 'https://management.azure.com/.default'): void {
  client.pipeline.removePolicy({ name: 'bearerTokenAuthenticationPolicy' });
  client.pipeline.addPolicy({
    name: 'fakeArmStaticBearer',
    async sendRequest(request, next) {
      const t = await credential.getToken(scope);
      if (t) request.headers.set('authorization', `Bearer ${t.token}`);
      return next(request);
    },
  });
}

/**
 * A pipeline policy that sends requests addressed to `from` (default https://management.azure.com) to the fake
 * instead, over http. Given as `additionalPolicies: [{ policy, position: 'perRetry' }]` it runs after the bearer
 * policy (which then still sees https and adds the token), and it also catches absolute nextLink / Location URLs
 * that name management.azure.com.
 */
export function rewriteToFakePolicy(fake: FakeArm, from = 'https://management.azure.com'): PipelinePolicy {
  const prefix = from.replace(/\/$/, '').toLowerCase();
  return {
    name: 'fakeArmRewrite',
    sendRequest(request, next) {
      if (request.url.toLowerCase().startsWith(prefix)) {
        request.url = fake.baseUrl + request.url.slice(prefix.length);
        request.allowInsecureConnection = true;
      }
      return next(request);
    },
  };
}
