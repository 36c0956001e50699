// Retries throttled and transient calls with full-jitter exponential backoff, honouring Retry-After.
// @google-cloud/compute in REST mode retries nothing on HTTP errors (cloud-apis.md 1.5), so every
// provider call goes through here. Permanent errors (403 forbidden, 404, API disabled) fail at once.
import { setTimeout as sleep } from 'node:timers/promises';
import type { ProviderContext } from './types.js';

export interface Classified {
  retryable: boolean;
  throttled: boolean;
  /** Seconds from a Retry-After header, when the server sent one. */
  retryAfterSeconds?: number;
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
      const cap = Math.min(ctx.retry.maxMs, ctx.retry.baseMs * 2 ** attempt);
      const jitter = Math.random() * cap;
      const wait = c.retryAfterSeconds !== undefined ? Math.max(c.retryAfterSeconds * 1000, jitter) : jitter;
      await sleep(wait);
    }
  }
}
