// Reads every scope of every chosen provider into one inventory, scopes concurrently within a limit.
// One scope that fails is recorded as failed with its reason; the others are kept.
import pLimit from 'p-limit';
import { AuthError, ScopeError, UsageError } from '../errors.js';
import { INVENTORY_SCHEMA_VERSION, type Inventory, type RuleSet } from '../model/inventory.js';
import type { CloudProvider, ScopeInventory } from '../../providers/types.js';

/**
 * Scopes read in parallel per provider when --concurrency is not given. Each cloud rate-limits per scope
 * (Compute Engine per project, EC2 per account and region, ARM per subscription and principal), so scopes in
 * flight do not share a quota; what bounds them is the work in flight on this side (sockets, pages being
 * mapped). A GCP project keeps up to 5 requests in flight (its listings), an Azure subscription 7, an AWS
 * account 17 regions x 5 listings: 32 / 32 / 8 scopes are ~160 / ~225 / ~680 requests in flight. More scopes
 * in flight let the one with the longest chain of pages start at once instead of waiting for a slot (measured
 * at 100,000 instances: collect 16.4 s with 16 / 16 / 8, 14.6 s with 32 / 40 / 8).
 */
export const DEFAULT_CONCURRENCY: Record<'gcp' | 'aws' | 'azure', number> = { gcp: 32, aws: 8, azure: 32 };

export interface CollectOptions {
  /** --concurrency: scopes in flight for every provider; default DEFAULT_CONCURRENCY per provider. */
  concurrency?: number;
  now: () => Date;
  tool: { name: string; version: string };
  /** Scopes done / total, for the progress line. */
  onScope?(done: number, total: number): void;
  /** A provider has read all its scopes (RDPCLOUD_TIMINGS says when: which cloud is the long pole). */
  onProviderDone?(provider: string, scopes: number): void;
  /** Keep only the scopes this shard owns (`--shard i/n`). */
  filterScopes?(provider: string, scopes: string[]): string[];
  /**
   * Each scope as soon as it is read (its instances sorted), with its place in the inventory's order
   * (`ordinal`: provider order, then the order the scopes were listed). When set, the inventory returned holds
   * the scopes only: a scope's instances, rule sets and paths are the caller's, and nothing keeps them.
   */
  onPart?(part: ScopeInventory, ordinal: number): void;
}

export async function collectInventory(providers: CloudProvider[], opts: CollectOptions): Promise<Inventory> {
  const inv: Inventory = {
    schemaVersion: INVENTORY_SCHEMA_VERSION,
    generatedAt: opts.now().toISOString(),
    tool: opts.tool,
    scopes: [],
    ruleSets: [],
    paths: {},
    instances: [],
  };
  const ruleSets = new Map<string, RuleSet>();
  // By name (then zone), whatever order the API paged them in: reports read like a list, and diff cleanly.
  const sorted = (part: ScopeInventory) => part.instances.sort((a, b) => a.name.localeCompare(b.name) || a.location.localeCompare(b.location));
  const add = (part: ScopeInventory) => {
    inv.scopes.push(part.scope);
    // (One at a time: push(...list) of a scope with 100,000+ instances would overflow the call stack.)
    for (const i of part.instances) inv.instances.push(i);
    for (const rs of part.ruleSets) if (!ruleSets.has(rs.id)) ruleSets.set(rs.id, rs);
    Object.assign(inv.paths, part.paths);
  };
  const lists = await Promise.all(
    providers.map(async (p) => {
      try {
        const scopes = await p.listScopes();
        return { p, scopes: opts.filterScopes ? opts.filterScopes(p.id, scopes) : scopes };
      } catch (e) {
        if (e instanceof AuthError || e instanceof UsageError) throw e;
        const message = e instanceof ScopeError ? e.message : `listing scopes failed: ${(e as Error).message}`;
        inv.scopes.push({ provider: p.id, scope: '(listing)', status: 'failed', error: message });
        return { p, scopes: [] as string[] };
      }
    }),
  );
  const total = lists.reduce((n, l) => n + l.scopes.length, 0);
  let done = 0;
  let first = 0;
  const parts = await Promise.all(
    lists.map(({ p, scopes }) => {
      const limit = pLimit(Math.max(1, opts.concurrency ?? DEFAULT_CONCURRENCY[p.id] ?? 8));
      const base = first;
      first += scopes.length;
      const all = Promise.all(
        scopes.map((scope, k) =>
          limit(async (): Promise<ScopeInventory> => {
            let part: ScopeInventory;
            try {
              part = await p.collect(scope);
            } catch (e) {
              if (e instanceof AuthError) throw e;
              const error = e instanceof ScopeError ? e.message : `${(e as Error).message ?? e}`;
              part = { scope: { provider: p.id, scope, status: 'failed', error }, instances: [], ruleSets: [], paths: {} };
            } finally {
              opts.onScope?.(++done, total);
            }
            sorted(part);
            if (!opts.onPart) return part;
            opts.onPart(part, base + k);
            return { scope: part.scope, instances: [], ruleSets: [], paths: {} };
          }),
        ),
      );
      return all.then((list) => {
        opts.onProviderDone?.(p.id, list.length);
        return list;
      });
    }),
  );
  // Deterministic order whatever finished first: provider order, then scope order as listed.
  for (const list of parts) for (const part of list) add(part);
  inv.ruleSets = [...ruleSets.values()];
  return inv;
}
