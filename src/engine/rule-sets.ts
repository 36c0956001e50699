// Rule sets judged on their own, as the rule-level benchmarks (CIS) read them: which rules let which part of
// a source reach tcp:port on any instance they target, and which instances a rule set and its rules apply
// to. Pure, like the rest of the engine; the path verdicts (evaluate.ts) stay the real answer.
import type { Instance, Inventory, Nic, Rule, RuleSet, Stage } from '../model/inventory.js';
import { AddressSet } from './addresses.js';
import { matchTarget, prepareRules } from './rules.js';

export interface Admission {
  rule: Rule;
  /** The part of the candidate this rule lets in, after earlier rules that apply to every target it has. */
  admitted: AddressSet;
}

export interface RuleSetUse {
  mode: Stage['mode'];
  /** Ingress rules, or the stateless return path (AWS network ACL egress) that judges replies. */
  direction: 'ingress' | 'return';
  /** Instances (and the NIC) whose traffic crosses this rule set. */
  users: { instance: Instance; nic: Nic }[];
  /** Rules that let part of `candidate` reach tcp:port, with what each lets in. */
  admits(candidate: AddressSet, port: number): Admission[];
  /** The instances a rule applies to: it is in their path and its target matches them. */
  usersOf(rule: Rule): Instance[];
}

const targetKey = (r: Rule) => JSON.stringify(r.targets ?? {});
const untargeted = (r: Rule) => !r.targets || ((r.targets.tags?.length ?? 0) === 0 && (r.targets.serviceAccounts?.length ?? 0) === 0 && (r.targets.groups?.length ?? 0) === 0);

export function admissions(ruleSet: RuleSet, mode: Stage['mode'], candidate: AddressSet, port: number): Admission[] {
  const out: Admission[] = [];
  if (mode === 'any-allow') {
    for (const p of prepareRules(ruleSet, port)) {
      const admitted = candidate.intersect(p.sources);
      if (p.rule.action === 'allow' && !admitted.isEmpty) out.push({ rule: p.rule, admitted });
    }
    return out;
  }
  // First match: a rule for every target shadows the later ones; a targeted rule only shadows later rules
  // with the same targets (other instances never see it).
  let decided = AddressSet.EMPTY;
  const decidedFor = new Map<string, AddressSet>();
  for (const p of prepareRules(ruleSet, port)) {
    const key = targetKey(p.rule);
    const before = untargeted(p.rule) ? decided : decided.union(decidedFor.get(key) ?? AddressSet.EMPTY);
    const matched = candidate.intersect(p.sources).subtract(before);
    if (matched.isEmpty) continue;
    if (p.rule.action === 'allow') out.push({ rule: p.rule, admitted: matched });
    if (untargeted(p.rule)) decided = decided.union(matched);
    else decidedFor.set(key, (decidedFor.get(key) ?? AddressSet.EMPTY).union(matched));
  }
  return out;
}

/** One use record per rule set of the inventory, built once per run. */
export function ruleSetUses(inv: Inventory): Map<string, RuleSetUse> {
  const stageOf = new Map<string, { mode: Stage['mode']; direction: RuleSetUse['direction'] }>();
  const pathsWith = new Map<string, Set<string>>();
  for (const [pathId, layers] of Object.entries(inv.paths)) {
    for (const layer of layers) {
      for (const s of layer.stages) {
        if (!stageOf.has(s.ruleSet)) stageOf.set(s.ruleSet, { mode: s.mode, direction: layer.returnPorts ? 'return' : 'ingress' });
        let set = pathsWith.get(s.ruleSet);
        if (!set) pathsWith.set(s.ruleSet, (set = new Set()));
        set.add(pathId);
      }
    }
  }
  const nicsOnPath = new Map<string, { instance: Instance; nic: Nic }[]>();
  for (const instance of inv.instances) {
    for (const nic of instance.nics) {
      for (const p of new Set([nic.path, nic.internalPath ?? nic.path])) {
        let list = nicsOnPath.get(p);
        if (!list) nicsOnPath.set(p, (list = []));
        list.push({ instance, nic });
      }
    }
  }
  const out = new Map<string, RuleSetUse>();
  for (const rs of inv.ruleSets) {
    const st = stageOf.get(rs.id) ?? { mode: rs.kind === 'aws-security-group' ? 'any-allow' : 'first-match', direction: 'ingress' as const };
    const seen = new Set<string>();
    const users: { instance: Instance; nic: Nic }[] = [];
    for (const p of pathsWith.get(rs.id) ?? []) {
      for (const u of nicsOnPath.get(p) ?? []) {
        const k = `${u.instance.provider}|${u.instance.scope}|${u.instance.location}|${u.instance.id}|${u.nic.name}`;
        if (!seen.has(k)) users.push(u), seen.add(k);
      }
    }
    out.set(rs.id, {
      ...st,
      users,
      admits: (candidate, port) => admissions(rs, st.mode, candidate, port),
      usersOf: (rule) => [...new Set(users.filter((u) => matchTarget(rule, u.instance, u.nic) !== undefined).map((u) => u.instance))],
    });
  }
  return out;
}
