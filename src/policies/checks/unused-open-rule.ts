// A rule that lets the internet reach tcp:port and applies to no instance in the inventory: nothing needs it
// today, and the next instance that lands in its network (or gets its tag) is open on day one.
//
// Whether a rule is used depends on every instance that may cross the rule set, and a live `--shard i/n` run
// sees only its own scopes' (a Shared VPC host's rules serve projects of other shards): there the result says
// which rules this shard's instances leave unused, and `rdpcloud merge` keeps the rules no shard uses
// (combineUnused, policies/join.ts), worded again by the functions below. An audit judges each scope as it is
// read, and joins its scopes' results the same way.
import { exposureSource } from '../../engine/sources.js';
import type { Finding } from '../../model/results.js';
import type { CheckType } from '../types.js';
import { priorityOf, ruleSetOf } from './util.js';

export const UNUSED_OPEN_RULE = 'unused-open-rule';

/** The pass message: every open rule applies to an instance. */
export const everyOpenRuleUsed = () => 'every rule open to the internet applies to an instance';

/** The fail message for the unused rules (named by `labels`); `seenIn`: the part of the instances looked at. */
export function unusedOpenRules(labels: string[], port: number, seenIn?: string): string {
  const one = labels.length === 1;
  const users = seenIn ? `no instance of ${seenIn} (rdpcloud merge of every shard decides)` : 'no instance';
  return `${labels.join(', ')} open${one ? 's' : ''} tcp:${port} to the internet and appl${one ? 'ies' : 'y'} to ${users}: delete ${one ? 'it' : 'them'}`;
}

export const unusedOpenRule: CheckType = {
  meta: {
    id: UNUSED_OPEN_RULE,
    description: 'fails when a rule lets the internet reach tcp:port and targets no instance of the inventory',
    resource: 'rule-set',
    params: { type: 'object', additionalProperties: false, properties: {} },
  },
  check(resource, { run }) {
    const rs = ruleSetOf(resource, UNUSED_OPEN_RULE);
    const use = run.ruleSetUse(rs);
    if (use.direction === 'return' || rs.unreadable) return { status: 'not-applicable', message: 'not an ingress rule set that can be read' };
    const open = use.admits(exposureSource().external, run.port);
    if (open.length === 0) return { status: 'not-applicable', message: `no rule lets the internet reach tcp:${run.port}` };
    const unused = open.filter((h) => use.usersOf(h.rule).length === 0);
    if (unused.length === 0) return { status: 'pass', message: everyOpenRuleUsed() };
    const ruleLabels = unused.map((h) => priorityOf(h.rule.name, h.rule.priority, rs.kind));
    return { status: 'fail', rules: unused.map((h) => h.rule.name), ruleLabels, message: unusedOpenRules(ruleLabels, run.port, run.usersSeenIn) };
  },
};

/**
 * One finding from the shards' findings of one rule set (each judged with its own scopes' instances): a rule
 * is unused when no shard uses it. A pass anywhere is a pass (that shard uses every open rule); otherwise the
 * rules every shard leaves unused, in the first shard's order. `remediate` fills the policy's fix for a rule.
 */
export function combineUnused(findings: Finding[], port: number, remediate: (f: Finding, rule: string) => string | undefined, seenIn?: string): Finding {
  const fails = findings.filter((f) => f.status === 'fail');
  const decided = findings.find((f) => f.status === 'error') ?? findings.find((f) => f.status === 'not-applicable');
  if (decided) return decided; // the rule set's own facts: the same in every shard
  const base = fails[0] ?? findings[0];
  const passed = (f: Finding): Finding => {
    const { rules: _r, ruleLabels: _l, remediation: _m, suppressed: _s, baseline: _b, ...rest } = f;
    return { ...rest, status: 'pass', message: everyOpenRuleUsed() };
  };
  if (fails.length < findings.length) return passed(findings.find((f) => f.status === 'pass')!);
  const labelOf = new Map<string, string>();
  for (const f of fails) (f.rules ?? []).forEach((r, i) => labelOf.set(r, f.ruleLabels?.[i] ?? r));
  const rules = (base.rules ?? []).filter((r) => fails.every((f) => f.rules?.includes(r)));
  if (rules.length === 0) return passed(base);
  const ruleLabels = rules.map((r) => labelOf.get(r)!);
  const out: Finding = { ...base, rules, ruleLabels, message: unusedOpenRules(ruleLabels, port, seenIn) };
  const fix = remediate(out, rules[0]);
  if (fix) out.remediation = fix;
  else delete out.remediation;
  return out;
}
