// A RuleTester for policies (ESLint's shape): each case is an inventory built from factories, the sources the
// run declares, and the result expected for one resource. The real built-in catalog is loaded, the real engine
// evaluates, the real runtime runs the policy. Every table must prove both sides: at least one pass and one fail.
import { describe, expect, it } from 'vitest';
import type { Instance, Inventory, Layer, RuleSet, Scope } from '../../src/model/inventory.js';
import { INVENTORY_SCHEMA_VERSION } from '../../src/model/inventory.js';
import type { Finding, FindingStatus, Severity } from '../../src/model/results.js';
import { evaluate } from '../../src/engine/evaluate.js';
import { resolveSource } from '../../src/engine/sources.js';
import { loadCatalog } from '../../src/policies/load.js';
import { runContext, runPolicies } from '../../src/policies/run.js';
import type { Selector } from '../../src/policies/types.js';

export interface PolicyCase {
  name: string;
  ruleSets?: RuleSet[];
  /** Layer paths by id (default: none). */
  paths?: Record<string, Layer[]>;
  instances?: Instance[];
  scopes?: Scope[];
  /** Sources the run judges besides `internet`: CIDRs or named sets from `named`. */
  sources?: string[];
  named?: Record<string, string[]>;
  mustReach?: Record<string, Selector>;
  /** Parameters merged over the policy's own. */
  params?: Record<string, unknown>;
  /** The resource whose result is checked: an instance name or a rule-set id (default: the only one). */
  resource?: string;
  /** `none`: the policy selects no resource at all. */
  expect: { status: FindingStatus; severity?: Severity; message?: RegExp } | 'none';
}

const catalog = loadCatalog();

export async function runCase(policyId: string, c: PolicyCase): Promise<Finding[]> {
  const { policies } = await catalog;
  const base = policies.find((p) => p.id === policyId);
  if (!base) throw new Error(`no built-in policy ${policyId}`);
  const policy = { ...base, check: { ...base.check, params: { ...base.check.params, ...(c.params ?? {}) } } };
  const inv: Inventory = {
    schemaVersion: INVENTORY_SCHEMA_VERSION,
    generatedAt: '2026-01-01T00:00:00Z',
    scopes: c.scopes ?? [...new Set([...(c.instances ?? []), ...(c.ruleSets ?? [])].map((x) => `${x.provider}|${x.scope}`))].map((k) => ({ provider: k.split('|')[0] as Scope['provider'], scope: k.split('|')[1], status: 'ok' as const })),
    ruleSets: c.ruleSets ?? [],
    paths: c.paths ?? {},
    instances: c.instances ?? [],
  };
  const sources = ['internet', ...(c.sources ?? [])].map((s) => resolveSource(s, c.named ?? {}));
  const ev = evaluate(inv, sources, 3389);
  const declared = sources.filter((s) => !s.isInternet).map((s) => ({ label: s.label, ...(c.mustReach?.[s.label] ? { mustReach: c.mustReach[s.label] } : {}) }));
  return runPolicies([policy], runContext(inv, ev, 3389, declared));
}

export function policyTester(policyId: string, cases: PolicyCase[]): void {
  const statuses = new Set(cases.map((c) => (c.expect === 'none' ? 'none' : c.expect.status)));
  if (!statuses.has('pass') || !statuses.has('fail')) throw new Error(`${policyId}: a policy's table needs at least one passing and one failing case`);
  describe(`policy ${policyId}`, () => {
    it.each(cases.map((c) => [c.name, c] as const))('%s', async (_name, c) => {
      const found = await runCase(policyId, c);
      if (c.expect === 'none') {
        expect(found).toEqual([]);
        return;
      }
      const pick = c.resource ? found.filter((f) => f.resource.instance === c.resource || f.resource.instanceId === c.resource) : found;
      expect(pick, `results: ${JSON.stringify(found.map((f) => [f.resource.instance, f.status, f.message]))}`).toHaveLength(1);
      const f = pick[0];
      expect({ status: f.status, message: f.message }).toMatchObject({ status: c.expect.status });
      if (c.expect.severity) expect(f.severity).toBe(c.expect.severity);
      if (c.expect.message) expect(f.message).toMatch(c.expect.message);
    });
  });
}

/** A GCP VPC firewall layer over the given rule sets (implied deny ingress last). */
export function firewallPath(...ruleSets: string[]): Layer[] {
  return [
    {
      name: 'firewall',
      stages: ruleSets.map((ruleSet) => ({ ruleSet, mode: 'first-match' as const })),
      otherwise: { action: 'deny', rule: 'implied deny ingress', why: 'no rule matched' },
    },
  ];
}

/** AWS: a network ACL then security groups (the route is left out: the subnet is public). */
export function awsPath(acl: string | undefined, groups: string[]): Layer[] {
  return [
    ...(acl ? [{ name: 'network ACL', stages: [{ ruleSet: acl, mode: 'first-match' as const }], otherwise: { action: 'deny' as const, rule: '*', why: 'no entry matched' } }] : []),
    { name: 'security groups', stages: groups.map((ruleSet) => ({ ruleSet, mode: 'any-allow' as const })), otherwise: { action: 'deny' as const, rule: 'no security group rule', why: 'security groups allow only' } },
  ];
}

/** Azure: the subnet's NSG then the NIC's, each first-match after NAT, default rules left to the case. */
export function azurePath(...nsgs: string[]): Layer[] {
  return nsgs.map((ruleSet, i) => ({ name: i === 0 ? 'subnet NSG' : 'NIC NSG', afterNat: true, stages: [{ ruleSet, mode: 'first-match' as const }], otherwise: { action: 'deny' as const, rule: 'DenyAllInBound', why: 'default rule 65500' } }));
}
