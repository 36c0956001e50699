// One list of findings from several judgements of overlapping parts: the shards of a CI matrix (`merge`), or the
// scopes of one audit judged as each was read. A rule set that two parts share (a Shared VPC host network, an
// organisation policy, a security group two shards both see) is judged in each with that part's instances:
// what depends on the rules alone comes out the same and is kept once; whether an open rule is unused depends
// on every instance, and is decided over all of them (combineUnused). Pure.
import type { Finding } from '../model/results.js';
import { findingKey } from './baseline.js';
import { combineUnused, UNUSED_OPEN_RULE } from './checks/unused-open-rule.js';
import { ruleSetRemediation } from './run.js';

export interface JoinPolicy {
  checkType: string;
  /** The remediation template by cloud. */
  remediation: Partial<Record<string, string>>;
}

/**
 * Which findings are one: the same policy, resource, status and source (the last part's is kept), except that
 * the unused-open-rule findings of one rule set are a group, decided over every part (combineUnused).
 */
export function joinKey(f: Finding, policyOf: (id: string) => JoinPolicy | undefined): { key: string; group: boolean } {
  if (f.resource.kind === 'rule-set' && policyOf(f.policyId)?.checkType === UNUSED_OPEN_RULE) return { key: `unused|${findingKey(f)}|${f.source ?? ''}`, group: true };
  return { key: `${findingKey(f)}|${f.status}|${f.source ?? ''}`, group: false };
}

/** A group's one finding: whether its open rules are unused, over all the parts that judged the rule set. */
export function joinGroup(group: Finding[], policyOf: (id: string) => JoinPolicy | undefined, port: number, seenIn?: string): Finding {
  const remediate = (f: Finding, rule: string) => (f.resource.provider === 'host' ? undefined : ruleSetRemediation(policyOf(f.policyId)?.remediation[f.resource.provider], f.resource, rule, port));
  return combineUnused(group, port, remediate, seenIn);
}

/**
 * Each finding once, in the order first seen (a finding that several parts carry: the last one's). `seenIn`:
 * the part of the instances all of them looked at (a live shard), for the wording of an unused rule.
 */
export function joinFindings(all: Iterable<Finding>, policyOf: (id: string) => JoinPolicy | undefined, port: number, seenIn?: string): Finding[] {
  const out = new Map<string, Finding | Finding[]>();
  for (const f of all) {
    const { key, group } = joinKey(f, policyOf);
    if (!group) out.set(key, f);
    else {
      const g = out.get(key);
      if (Array.isArray(g)) g.push(f);
      else out.set(key, [f]);
    }
  }
  return [...out.values()].map((x) => (Array.isArray(x) ? joinGroup(x, policyOf, port, seenIn) : x));
}
