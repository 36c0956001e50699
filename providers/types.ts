// The port every cloud provider implements: it reads one scope (project, account, subscription) into the
// shared model. Providers do I/O and mapping; they never decide a verdict.
import type { EffectiveView, Instance, Inventory, Layer, Provider, RuleSet, Scope } from '../src/model/inventory.js';

export type { EffectiveView };

/** What one scope contributes to the inventory. */
export interface ScopeInventory {
  scope: Scope;
  instances: Instance[];
  ruleSets: RuleSet[];
  paths: Record<string, Layer[]>;
}

/** Counts API requests by operation, retries and throttles apart (the benchmark reads it). */
export interface RequestStats {
  requests: Record<string, number>;
  retries: number;
  throttled: number;
}

export interface ProviderContext {
  env: NodeJS.ProcessEnv;
  /** Warnings a user should see (stderr); never secrets. */
  warn(message: string): void;
  stats: RequestStats;
  /** Called after every request, for the progress line. */
  onRequest?(): void;
  /** Retry budget and backoff base; tests shorten the base. */
  retry: { attempts: number; baseMs: number; maxMs: number };
}

export interface CloudProvider {
  readonly id: Provider;
  /** The scopes to read: from flags, or listed (all projects the caller can see). */
  listScopes(): Promise<string[]>;
  /** Reads one scope. Throws ScopeError when the scope as a whole cannot be read. */
  collect(scope: string): Promise<ScopeInventory>;
  /** The cloud's own effective rules for one instance, where the cloud has such an API (one call per NIC). */
  effectiveView?(instance: Instance, inventory: Inventory): Promise<EffectiveView>;
}

export function newStats(): RequestStats {
  return { requests: {}, retries: 0, throttled: 0 };
}
