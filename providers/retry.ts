// Retries throttled and transient calls with full-jitter exponential backoff, honouring Retry-After.
// @google-cloud/compute in REST mode retries nothing on HTTP errors (cloud-apis.md 1.5), so every GCP call
// goes through withRetry; the AWS SDK is given the same policy as its retry strategy (aws/client.ts).
// Permanent errors (403 forbidden, 404, API disabled) fail at once.
import { setTimeout as sleep } from 'node:timers/promises';
import type { ProviderContext } from './types.js';

export interface Classified {
  retryable: boolean;
  throttled: boolean;
  /** Seconds from a Retry-After header, when the server sent one. */
  retryAfterSeconds?: number;
}

/**
 * How long to wait before retry number `attempt` (0-based): full jitter over an exponentially growing cap
 * (random between 0 and min(maxMs, baseMs x 2^attempt)), so that many clients throttled together do not come
 * back together. When the server said how long (Retry-After), never sooner: that long plus a spread of up to a
 * tenth of it (at most baseMs), for the same reason.
 */
export function backoffDelay(ctx: ProviderContext, attempt: number, retryAfterSeconds?: number): number {
  const cap = Math.min(ctx.retry.maxMs, ctx.retry.baseMs * 2 ** attempt);
  const jitter = Math.random() * cap;
  if (retryAfterSeconds === undefined || !Number.isFinite(retryAfterSeconds) || retryAfterSeconds < 0) return jitter;
  const after = retryAfterSeconds * 1000;
  return Math.max(after + Math.random() * Math.min(ctx.retry.baseMs, after / 10), jitter);
}

export async function withRetry<T>(
  ctx: ProviderContext,
  op: string,
  call: () => Promise<T>,
  classify: (err: unknown) => Classified,
): Promise<T> {
  for (let attempt = 0; ; attempt++) {
    ctx.stats.requests[op] = (ctx.stats.requests[op] ?? 0) + (attempt === 0 ? 1 : 0);
    try {
      const out = await call();
      ctx.onRequest?.();
      return out;
    } catch (err) {
      ctx.onRequest?.();
      const c = classify(err);
      if (!c.retryable || attempt + 1 >= ctx.retry.attempts) throw err;
      ctx.stats.retries++;
      if (c.throttled) ctx.stats.throttled++;
      await sleep(backoffDelay(ctx, attempt, c.retryAfterSeconds));
    }
  }
}
