// rdpcloud's retry policy (providers/retry.ts) and how GCP and Azure answers are classified for it: full jitter
// over an exponential cap, never sooner than Retry-After, throttles and transient errors retried, permanent
// errors thrown at once, every request and retry counted.
import { describe, expect, it } from 'vitest';
import { backoffDelay, withRetry } from '../../providers/retry.js';
import { newStats, type ProviderContext } from '../../providers/types.js';
import { GcpHttpError, classifyGcp } from '../../providers/gcp/client.js';
import { ArmHttpError, classifyArm, retryAfterSeconds } from '../../providers/azure/client.js';

const ctx = (attempts = 4, baseMs = 100, maxMs = 1000): ProviderContext => ({ env: {}, warn: () => {}, stats: newStats(), retry: { attempts, baseMs, maxMs } });

describe('backoffDelay', () => {
  it('full jitter: between 0 and min(maxMs, baseMs x 2^attempt)', () => {
    const c = ctx(6, 100, 1000);
    for (let attempt = 0; attempt < 6; attempt++) {
      const cap = Math.min(1000, 100 * 2 ** attempt);
      const ds = Array.from({ length: 500 }, () => backoffDelay(c, attempt));
      expect(Math.min(...ds)).toBeGreaterThanOrEqual(0);
      expect(Math.max(...ds)).toBeLessThan(cap);
      expect(Math.max(...ds)).toBeGreaterThan(cap * 0.8); // spread over the whole range, not a fixed step
    }
  });
  it('never sooner than Retry-After, spread by at most a tenth of it (and at most baseMs)', () => {
    const c = ctx(6, 100, 30_000);
    for (let k = 0; k < 200; k++) {
      const d = backoffDelay(c, 0, 2);
      expect(d).toBeGreaterThanOrEqual(2000);
      expect(d).toBeLessThanOrEqual(2100);
      expect(backoffDelay(c, 0, 0.5)).toBeLessThanOrEqual(550);
    }
    // A Retry-After shorter than the exponential step: the step wins (it is at least as long).
    expect(backoffDelay(ctx(6, 1000, 30_000), 4, 0)).toBeGreaterThanOrEqual(0);
  });
});

describe('withRetry', () => {
  it('retries throttles and transient errors up to the budget, counting the request once and each retry', async () => {
    const c = ctx(4, 1, 5);
    let n = 0;
    const out = await withRetry(c, 'op.list', async () => {
      if (++n < 3) throw new GcpHttpError(n === 1 ? 429 : 503, '{"error":{"code":503,"message":"x","errors":[{"reason":"backendError"}]}}', new Headers());
      return 'ok';
    }, classifyGcp);
    expect(out).toBe('ok');
    expect(c.stats).toEqual({ requests: { 'op.list': 1 }, retries: 2, throttled: 1 });
  });
  it('throws a permanent error at once, and a retryable one after the last attempt', async () => {
    const c = ctx(3, 1, 5);
    let n = 0;
    const forbidden = new GcpHttpError(403, '{"error":{"code":403,"message":"Required permission","errors":[{"reason":"forbidden"}]}}', new Headers());
    await expect(withRetry(c, 'op', async () => { n++; throw forbidden; }, classifyGcp)).rejects.toBe(forbidden);
    expect(n).toBe(1);
    n = 0;
    const limited = new GcpHttpError(403, '{"error":{"code":403,"message":"Quota exceeded","errors":[{"reason":"rateLimitExceeded"}]}}', new Headers());
    await expect(withRetry(c, 'op', async () => { n++; throw limited; }, classifyGcp)).rejects.toBe(limited);
    expect(n).toBe(3);
  });
});

describe('classifying answers', () => {
  it('GCP: 429, 403 rateLimitExceeded and 5xx are retried (Retry-After read), 403 forbidden and 404 are not', () => {
    const h = new Headers({ 'retry-after': '3' });
    expect(classifyGcp(new GcpHttpError(429, '{"error":{"code":429,"status":"RESOURCE_EXHAUSTED"}}', h))).toEqual({ retryable: true, throttled: true, retryAfterSeconds: 3 });
    expect(classifyGcp(new GcpHttpError(403, '{"error":{"code":403,"errors":[{"reason":"userRateLimitExceeded"}]}}', new Headers()))).toMatchObject({ retryable: true, throttled: true });
    expect(classifyGcp(new GcpHttpError(502, '<html>bad gateway</html>', new Headers()))).toMatchObject({ retryable: true, throttled: false });
    expect(classifyGcp(new GcpHttpError(403, '{"error":{"code":403,"errors":[{"reason":"accessNotConfigured"}]}}', new Headers()))).toMatchObject({ retryable: false });
    expect(classifyGcp(new GcpHttpError(404, '{"error":{"code":404}}', new Headers()))).toMatchObject({ retryable: false });
  });
  it('Azure: 429 with or without Retry-After, 408 and 5xx are retried; 4xx otherwise not', () => {
    expect(classifyArm(new ArmHttpError(429, '{"error":{"code":"SubscriptionRequestsThrottled","message":"m"}}', new Headers({ 'retry-after': '17' })))).toEqual({ retryable: true, throttled: true, retryAfterSeconds: 17 });
    expect(classifyArm(new ArmHttpError(429, '', new Headers()))).toEqual({ retryable: true, throttled: true });
    expect(classifyArm(new ArmHttpError(503, '', new Headers({ 'retry-after-ms': '250' })))).toEqual({ retryable: true, throttled: false, retryAfterSeconds: 0.25 });
    expect(classifyArm(new ArmHttpError(500, '{"error":{"code":"InternalServerError"}}', new Headers()))).toMatchObject({ retryable: true });
    expect(classifyArm(new ArmHttpError(403, '{"error":{"code":"AuthorizationFailed","message":"no"}}', new Headers()))).toMatchObject({ retryable: false });
    expect(classifyArm(new ArmHttpError(501, '', new Headers()))).toMatchObject({ retryable: false });
    const e = new ArmHttpError(403, '{"error":{"code":"AuthorizationFailed","message":"The client does not have authorization"}}', new Headers());
    expect([e.statusCode, e.code, e.message]).toEqual([403, 'AuthorizationFailed', 'The client does not have authorization']);
  });
  it('Retry-After as seconds, milliseconds or an HTTP date', () => {
    const now = Date.parse('2026-01-01T00:00:00Z');
    expect(retryAfterSeconds(new Headers({ 'retry-after': '5' }), now)).toBe(5);
    expect(retryAfterSeconds(new Headers({ 'x-ms-retry-after-ms': '1500' }), now)).toBe(1.5);
    expect(retryAfterSeconds(new Headers({ 'retry-after': 'Thu, 01 Jan 2026 00:00:10 GMT' }), now)).toBe(10);
    expect(retryAfterSeconds(new Headers({ 'retry-after': 'soon' }), now)).toBeUndefined();
    expect(retryAfterSeconds(new Headers(), now)).toBeUndefined();
  });
});
