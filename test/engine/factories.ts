// Builders for model objects in engine tables. They build the model directly (no SDK, no provider):
// the provider tests check the mapping from the clouds' JSON separately.
import { INVENTORY_SCHEMA_VERSION, type Instance, type Inventory, type Layer, type Rule, type RuleSet } from '../../src/model/inventory.js';

export function rule(name: string, r: Partial<Rule> & { action?: Rule['action'] }): Rule {
  return {
    name,
    priority: 1000,
    action: 'allow',
    sourceRanges: [],
    protocols: [{ protocol: 'tcp', ports: ['3389'] }],
    ...r,
  };
}

export function ruleSet(id: string, rules: Rule[], extra: Partial<RuleSet> = {}): RuleSet {
  return { id, provider: 'gcp', scope: 'p1', name: id, kind: 'gcp-vpc-firewall', rules, ...extra };
}

export interface InstanceOpts {
  name?: string;
  tags?: string[];
  serviceAccounts?: string[];
  externalIPv4?: string | null;
  externalIPv6?: string;
  internalIPv4?: string;
  internalIPv6?: string;
  path?: string;
  groups?: string[];
  provider?: Instance['provider'];
}

export function instance(o: InstanceOpts = {}): Instance {
  return {
    provider: o.provider ?? 'gcp',
    scope: 'p1',
    location: 'us-central1-a',
    name: o.name ?? 'win-1',
    id: '1',
    state: 'RUNNING',
    os: 'windows',
    tags: o.tags ?? [],
    serviceAccounts: o.serviceAccounts ?? [],
    labels: {},
    nics: [
      {
        name: 'nic0',
        network: 'default',
        internalIPv4: o.internalIPv4 ?? '10.128.0.2',
        ...(o.internalIPv6 ? { internalIPv6: o.internalIPv6 } : {}),
        ...(o.externalIPv4 === null ? {} : { externalIPv4: o.externalIPv4 ?? '34.1.2.3' }),
        ...(o.externalIPv6 ? { externalIPv6: o.externalIPv6 } : {}),
        ...(o.groups ? { groups: o.groups } : {}),
        path: o.path ?? 'p',
      },
    ],
  };
}

/** GCP's single firewall layer: stages in evaluation order, then the implied deny ingress (priority 65535). */
export function gcpLayer(stages: string[]): Layer {
  return {
    name: 'firewall',
    stages: stages.map((s) => ({ ruleSet: s, mode: 'first-match' as const })),
    otherwise: { action: 'deny', rule: 'implied deny ingress', why: 'no rule matched: the implied deny-ingress rule (priority 65535) applies' },
  };
}

export function inventory(ruleSets: RuleSet[], layers: Layer[], instances: Instance[]): Inventory {
  return {
    schemaVersion: INVENTORY_SCHEMA_VERSION,
    generatedAt: '2026-01-01T00:00:00Z',
    scopes: [{ provider: 'gcp', scope: 'p1', status: 'ok' }],
    ruleSets,
    paths: { p: layers },
    instances,
  };
}
