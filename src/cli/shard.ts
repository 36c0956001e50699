// `--shard i/n`: a stable split of the scopes (projects, accounts, subscriptions) over n jobs, so a CI matrix
// can audit an organisation in parallel and `rdpcloud merge` the parts. A scope's shard depends only on its
// provider and id (FNV-1a), not on the order the APIs list them or on which other scopes exist.
import { UsageError } from '../errors.js';

export interface Shard {
  index: number;
  count: number;
}

export function parseShard(text: string | undefined): Shard | undefined {
  if (text === undefined) return undefined;
  const m = /^(\d+)\/(\d+)$/.exec(text.trim());
  if (!m || Number(m[1]) < 1 || Number(m[2]) < 1 || Number(m[1]) > Number(m[2]) || Number(m[2]) > 1000) {
    throw new UsageError(`--shard "${text}": i/n with 1 <= i <= n <= 1000 (e.g. --shard 2/4 for the second of four jobs)`);
  }
  return { index: Number(m[1]), count: Number(m[2]) };
}

function fnv1a(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h;
}

export function inShard(shard: Shard | undefined, provider: string, scope: string): boolean {
  return !shard || fnv1a(`${provider}:${scope}`) % shard.count === shard.index - 1;
}
