// collectInventory: scopes in flight per provider (its default, or --concurrency for every provider), every
// scope kept in listing order whatever finishes first, a big scope's instances joined without a stack overflow.
import { describe, expect, it } from 'vitest';
import { setTimeout as sleep } from 'node:timers/promises';
import { DEFAULT_CONCURRENCY, collectInventory } from '../../src/cli/collect.js';
import type { CloudProvider, ScopeInventory } from '../../providers/types.js';
import type { Instance, Provider } from '../../src/model/inventory.js';

function provider(id: Provider, scopes: number, o: { instances?: number; delayMs?: number } = {}) {
  let inFlight = 0;
  const seen = { peak: 0 };
  const p: CloudProvider = {
    id,
    listScopes: async () => Array.from({ length: scopes }, (_, i) => `s${String(i).padStart(3, '0')}`),
    collect: async (scope): Promise<ScopeInventory> => {
      seen.peak = Math.max(seen.peak, ++inFlight);
      await sleep(o.delayMs ?? (scope.endsWith('1') ? 5 : 1));
      inFlight--;
      const instances: Instance[] = Array.from({ length: o.instances ?? 1 }, (_, k) => ({ provider: id, scope, location: 'z', name: `vm-${(o.instances ?? 1) - k}`, id: `${scope}/${k}`, state: 'RUNNING', os: 'windows', nics: [], tags: [], serviceAccounts: [], labels: {} }));
      return { scope: { provider: id, scope, status: 'ok' }, instances, ruleSets: [], paths: {} };
    },
  };
  return { p, seen };
}

const opts = { now: () => new Date(0), tool: { name: 'rdpcloud', version: 'test' } };

describe('collectInventory', () => {
  it('reads each provider with its own default concurrency, or --concurrency for all', async () => {
    const g = provider('gcp', 60);
    const a = provider('aws', 60);
    const z = provider('azure', 60);
    const inv = await collectInventory([g.p, a.p, z.p], opts);
    expect([g.seen.peak, a.seen.peak, z.seen.peak]).toEqual([DEFAULT_CONCURRENCY.gcp, DEFAULT_CONCURRENCY.aws, DEFAULT_CONCURRENCY.azure]);
    expect(inv.scopes.map((s) => `${s.provider}:${s.scope}`)).toEqual([...['gcp', 'aws', 'azure'].flatMap((p) => Array.from({ length: 60 }, (_, i) => `${p}:s${String(i).padStart(3, '0')}`))]);
    const g3 = provider('gcp', 20);
    const a3 = provider('aws', 20);
    await collectInventory([g3.p, a3.p], { ...opts, concurrency: 3 });
    expect([g3.seen.peak, a3.seen.peak]).toEqual([3, 3]);
  });

  it('joins a scope of 200,000 instances (sorted by name) without overflowing the stack', async () => {
    const big = provider('gcp', 1, { instances: 200_000, delayMs: 0 });
    const inv = await collectInventory([big.p], opts);
    expect(inv.instances).toHaveLength(200_000);
    expect(inv.instances.every((x, i) => i === 0 || inv.instances[i - 1]!.name.localeCompare(x.name) <= 0)).toBe(true);
  });
});
