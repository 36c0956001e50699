// Rule sets judged on their own, as the rule-level benchmarks (CIS) read them: which rules let which part of
// a source reach tcp:port on any instance they target, and which instances a rule set and its rules apply
// to. Pure, like the rest of the engine; the path verdicts (evaluate.ts) stay the real answer.
import type { Instance, Inventory, Nic, Rule, RuleSet, Stage } from '../model/inventory.js';
import { fit } from '../model/fit.js';
import { AddressSet } from './addresses.js';
import { prepareRules } from './rules.js';

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

/** What every rule set's record of one inventory shares: which paths cross it, and the NICs on each path. */
class UseIndex {
  /** Per rule set: how its first stage judges, and the paths that cross it (each once, in the inventory's order). */
  readonly crossing = new Map<string, { mode: Stage['mode']; direction: RuleSetUse['direction']; paths: string[] }>();
  private nicsOnPath?: Map<string, { instance: Instance; nic: Nic }[]>;
  /** A NIC is one user however many of its paths cross the rule set; the key is made once per NIC. */
  private readonly nicKeys = new Map<Nic, string>();
  /** Which users list last took each NIC key (Use.users: a NIC once, without a set per rule set). */
  readonly takenBy = new Map<string, number>();
  private lists = 0;

  constructor(private readonly inv: Inventory) {
    // One lookup per stage, and a list rather than a set per rule set: a region's 20,000 security groups each
    // had a Set. A path's stages are read together, so a path seen twice is the list's last entry.
    for (const pathId in inv.paths) {
      for (const layer of inv.paths[pathId]!) {
        for (const s of layer.stages) {
          const c = this.crossing.get(s.ruleSet);
          if (!c) this.crossing.set(s.ruleSet, { mode: s.mode, direction: layer.returnPorts ? 'return' : 'ingress', paths: [pathId] });
          else if (c.paths[c.paths.length - 1] !== pathId) c.paths.push(pathId);
        }
      }
    }
  }

  onPath(p: string): { instance: Instance; nic: Nic }[] {
    if (!this.nicsOnPath) {
      const by = (this.nicsOnPath = new Map());
      const add = (q: string, u: { instance: Instance; nic: Nic }) => {
        const list = by.get(q);
        if (!list) by.set(q, [u]);
        else list.push(u);
      };
      for (const instance of this.inv.instances) {
        for (const nic of instance.nics) {
          const u = { instance, nic };
          add(nic.path, u);
          if (nic.internalPath !== undefined && nic.internalPath !== nic.path) add(nic.internalPath, u);
        }
      }
    }
    return this.nicsOnPath.get(p) ?? [];
  }

  /** A number for a new users list, as takenBy records it. */
  nextList(): number {
    return ++this.lists;
  }

  keyOf(u: { instance: Instance; nic: Nic }): string {
    let k = this.nicKeys.get(u.nic);
    if (k === undefined) this.nicKeys.set(u.nic, (k = `${u.instance.provider}|${u.instance.scope}|${u.instance.location}|${u.instance.id}|${u.nic.name}`));
    return k;
  }
}

/**
 * One rule set's record. A class, and its state made when first asked: a region can hold 20,000 security groups,
 * most of them only ever asked whether they admit the internet, and a record of closures and maps per group cost
 * ~1 KB each (23 MiB of the EC2 20k shape's heap).
 */
class Use implements RuleSetUse {
  readonly mode: Stage['mode'];
  readonly direction: RuleSetUse['direction'];
  private list?: { instance: Instance; nic: Nic }[];
  /** Users by what a rule can target: tag, service account (instance), group (NIC). */
  private index?: Map<string, number[]>;
  private usersOfRule?: Map<Rule, Instance[]>;
  /** One list for every untargeted rule of the set. */
  private everyone?: Instance[];

  constructor(
    private readonly rs: RuleSet,
    private readonly shared: UseIndex,
  ) {
    const st = shared.crossing.get(rs.id);
    this.mode = st?.mode ?? (rs.kind === 'aws-security-group' ? 'any-allow' : 'first-match');
    this.direction = st?.direction ?? 'ingress';
  }

  get users(): { instance: Instance; nic: Nic }[] {
    if (this.list) return this.list;
    const me = this.shared.nextList();
    const taken = this.shared.takenBy;
    const users: { instance: Instance; nic: Nic }[] = [];
    for (const p of this.shared.crossing.get(this.rs.id)?.paths ?? []) {
      for (const u of this.shared.onPath(p)) {
        const k = this.shared.keyOf(u);
        if (taken.get(k) !== me) users.push(u), taken.set(k, me);
      }
    }
    return (this.list = fit(users));
  }

  admits(candidate: AddressSet, port: number): Admission[] {
    return admissions(this.rs, this.mode, candidate, port);
  }

  private byTarget(): Map<string, number[]> {
    if (this.index) return this.index;
    const index = (this.index = new Map<string, number[]>());
    const add = (key: string, i: number) => {
      const list = index.get(key);
      if (!list) index.set(key, [i]);
      else if (list[list.length - 1] !== i) list.push(i);
    };
    this.users.forEach((u, i) => {
      for (const t of u.instance.tags) add(`tag\u0000${t}`, i);
      for (const a of u.instance.serviceAccounts) add(`sa\u0000${a}`, i);
      for (const g of u.nic.groups ?? []) add(`group\u0000${g}`, i);
    });
    return index;
  }

  usersOf(rule: Rule): Instance[] {
    const known = this.usersOfRule?.get(rule);
    if (known) return known;
    const all = this.users;
    let found: Instance[];
    if (untargeted(rule)) {
      found = this.everyone ??= [...new Set(all.map((u) => u.instance))];
    } else {
      // The users any target names (matchTarget's rule: a tag, a service account or a group in common), in
      // the users' order.
      const hit = new Set<number>();
      const t = rule.targets!;
      for (const [kind, names] of [['tag', t.tags], ['sa', t.serviceAccounts], ['group', t.groups]] as const) {
        for (const n of names ?? []) for (const i of this.byTarget().get(`${kind}\u0000${n}`) ?? []) hit.add(i);
      }
      found = [...new Set([...hit].sort((x, y) => x - y).map((i) => all[i].instance))];
    }
    (this.usersOfRule ??= new Map()).set(rule, found);
    return found;
  }
}

/**
 * One use record per rule set of the inventory, built once per run. Who uses a rule set is worked out when a
 * check first asks (most rule sets are only asked whether they admit the internet), and the instances a rule
 * applies to are found through an index of the users by tag, service account and group: an organisation's
 * firewall can have 40,000 users and hundreds of open rules.
 */
export function ruleSetUses(inv: Inventory): Map<string, RuleSetUse> {
  const shared = new UseIndex(inv);
  const out = new Map<string, RuleSetUse>();
  for (const rs of inv.ruleSets) out.set(rs.id, new Use(rs, shared));
  return out;
}
