// The reachability engine: inventory + sources + port in, verdicts with the deciding rule at every layer
// out. Pure: no I/O, no clock. Results are computed once per class of instances that the rules cannot tell
// apart (same layer paths, tags, service accounts, groups and kinds of address) and shared.
import type { Instance, Inventory, Layer, Nic, Rule, RuleSet } from '../model/inventory.js';
import type { Access, InstanceSummary, Reason, Result, Verdict } from '../model/results.js';
import { fit } from '../model/fit.js';
import { AddressSet, ipv4Value, parseAddress, type Family } from './addresses.js';
import { PRIVATE, exposureSource, internetSource, resolveSource, type Source } from './sources.js';
import { matchTarget, prepareRules, ruleDestinations, type PreparedRule } from './rules.js';
import { judgeReturn } from './return-path.js';
import { NumMemo } from './memo.js';

interface Decision {
  layer: string;
  rule: string;
  action: 'allow' | 'deny' | 'unknown';
  priority?: number;
  why: string;
  ruleSet?: string;
  set: AddressSet;
  /** Decisions by the same rule at the same layer (merged into one reason per target): the same number. */
  mid: number;
  /** Decisions that read the same but for their set: the same number. */
  cid: number;
  /** Its reason within each candidate it was read in (a few: the sources' parts for one kind and family). */
  read?: { whole: AddressSet; target: string; reason: Reason }[];
  /** It restricted to each source part (by candidate id; null: nothing of it is in the part). */
  restricted?: Map<number, Decision | null>;
}

interface Outcome {
  allowed: AddressSet;
  unknown: AddressSet;
  decisions: Decision[];
}

/** An outcome kept in a memo; its id stands for it in the keys of the memos built on it. */
interface Shared extends Outcome {
  id: number;
  /** Its reasons for a target within a candidate, made once (a restricted outcome serves one of each). */
  reasons?: { target: string; cand: AddressSet; list: Reason[] };
  /** Whether two decisions are by the same rule at the same layer (their reasons merge). */
  repeats?: boolean;
}

export interface Index {
  ruleSets: Map<string, RuleSet>;
  paths: Record<string, Layer[]>;
}

export function indexInventory(inv: Inventory): Index {
  return { ruleSets: new Map(inv.ruleSets.map((r) => [r.id, r])), paths: inv.paths };
}

type Kind = 'external' | 'internal';
const KINDS = ['external', 'internal'] as const;
const FAMILIES = [4, 6] as const;
const TARGETS = { 4: { external: 'external IPv4', internal: 'internal IPv4' }, 6: { external: 'external IPv6', internal: 'internal IPv6' } } as const;
const RETURN_ORDER: Record<string, number> = { deny: 0, allow: 1, next: 2 };
const MAX_RANGES = 8;

// How the work is shared. Rules look at an instance only through its tags, service accounts and NIC groups
// (targets) and, for rules with destination ranges, whether its address is inside them. So:
//  - each rule set is read once per evaluate() call for the port, and indexed by target, so that an instance
//    walks only the rules that apply to it (an untargeted rule, or one naming one of its tags/accounts/groups);
//  - each layer is walked once per (rules that apply, destination ranges the address is in, candidate), for
//    every instance and source that lead to the same walk (two paths holding the same layer share it);
//  - a layer is walked with the union of every source's addresses for that kind of address and family, and
//    each source's answer is that walk restricted to the source: rules decide address by address, so the
//    restriction of the union's decisions is exactly what walking the source alone gives (same rules, same
//    order, the empty ones dropped);
//  - an instance's class (what rules cannot tell apart) keys its judged results, and classes whose walks come
//    out the same share the judged result; reasons and CIDR lists are values, one object per distinct one.

/** What a rule's target can see of one NIC: the instance's tags and service accounts, the NIC's groups. */
interface Identity {
  instance: Instance;
  nic: Nic;
  key: string;
}

/** The targeted rules of a stage that apply to one identity: ascending indexes into `prepared`, and why each applies. */
interface Targeted {
  index: number[];
  why: string[];
  /** The same number for the same rules with the same reasons: part of the layer memo's key. */
  sig: number;
}

const ALL_INSTANCES = 'all instances';
const NO_TARGETED: Targeted = { index: [], why: [], sig: 0 };
const hasTargets = (r: Rule) => !!r.targets && ((r.targets.tags?.length ?? 0) > 0 || (r.targets.serviceAccounts?.length ?? 0) > 0 || (r.targets.groups?.length ?? 0) > 0);

/**
 * One rule set as an evaluate() call reads it for tcp:port: the rules that can match, indexed by target.
 * An identity walks the untargeted rules (kept once) merged with the targeted ones that name it.
 */
class StageRules {
  readonly prepared: PreparedRule[];
  readonly untargeted: number[] = [];
  private readonly byTarget = new Map<string, number[]>();
  private readonly forIdentity = new Map<string, Targeted>();
  private readonly bySig = new Map<string, Targeted>();
  private returnOrder?: Rule[];

  constructor(
    readonly rs: RuleSet,
    port: number,
  ) {
    this.prepared = prepareRules(rs, port);
    this.prepared.forEach((p, i) => {
      if (!hasTargets(p.rule)) return this.untargeted.push(i);
      const t = p.rule.targets!;
      for (const [kind, names] of [['tag', t.tags], ['sa', t.serviceAccounts], ['group', t.groups]] as const) {
        for (const name of names ?? []) {
          const k = `${kind}\u0000${name}`;
          const list = this.byTarget.get(k);
          if (!list) this.byTarget.set(k, [i]);
          else if (list[list.length - 1] !== i) list.push(i);
        }
      }
    });
  }

  /** The targeted rules that apply to the identity (shared by every identity they come out the same for). */
  targeted(id: Identity): Targeted {
    if (this.byTarget.size === 0) return NO_TARGETED; // route tables, network ACLs, security groups
    let t = this.forIdentity.get(id.key);
    if (t) return t;
    const picked = new Set<number>();
    const add = (kind: string, names: readonly string[] | undefined) => {
      for (const n of names ?? []) for (const i of this.byTarget.get(`${kind}\u0000${n}`) ?? []) picked.add(i);
    };
    add('tag', id.instance.tags);
    add('sa', id.instance.serviceAccounts);
    add('group', id.nic.groups);
    const index: number[] = [];
    const why: string[] = [];
    for (const i of [...picked].sort((x, y) => x - y)) {
      const w = matchTarget(this.prepared[i].rule, id.instance, id.nic);
      if (w === undefined) continue;
      index.push(i);
      why.push(w);
    }
    const key = index.map((i, k) => `${i}=${why[k]}`).join('\u0000');
    t = this.bySig.get(key);
    if (!t) this.bySig.set(key, (t = { index, why, sig: this.bySig.size }));
    this.forIdentity.set(id.key, t);
    return t;
  }

  /** Every enabled rule by number, deny first at equal numbers (stateless return path). */
  returnRules(): Rule[] {
    return (this.returnOrder ??= this.rs.rules.filter((r) => !r.disabled).sort((a, b) => a.priority - b.priority || RETURN_ORDER[a.action] - RETURN_ORDER[b.action]));
  }
}

interface LayerInfo {
  id: number;
  layer: Layer;
  /** Per stage: its rules, or undefined when the rule set is missing or unreadable. */
  stages: (StageRules | undefined)[];
  /** Destination ranges of the layer's rules: whether the address is in each is part of the walk's key. */
  destinations: AddressSet[];
  /** Per rule and reason it applies: the texts and ids of its decisions in this layer (made once). */
  texts: Map<PreparedRule, Map<string, RuleTexts>>;
}

/** What a rule's decisions say in one layer, for one reason it applies ("target tag rdp"). */
interface RuleTexts {
  why: string;
  mid: number;
  cid: number;
  /** The same for its `unknown` decisions (indeterminate matches). */
  unknown?: { why: string; mid: number; cid: number };
}

interface PathInfo {
  id: number;
  layers: LayerInfo[];
  /** Whether a layer has rules with destination ranges (then the address is part of the class). */
  destinations: boolean;
}

/** A parsed address; `text` for messages. */
interface Address {
  text: string;
  family: Family;
  value: bigint;
}

/** Per (kind of address, family): the source's addresses, and the candidate its layers are walked with. */
interface SourcePart {
  cand: AddressSet;
  candId: number;
  walk: AddressSet;
  walkId: number;
  /** Whether `walk` is the shared candidate (then the class's walks serve this source). */
  shared: boolean;
  /** The decision when the instance has no address of this kind. */
  none: Decision;
}

interface SourcePlan {
  id: number;
  source: Source;
  parts: Record<Family, Record<Kind, SourcePart>>;
}

class Engine {
  readonly ruleSets: Map<string, RuleSet>;
  readonly paths: Record<string, Layer[]>;
  private readonly stages = new Map<RuleSet, StageRules>();
  private readonly layers = new Map<Layer, LayerInfo>();
  /** Layers by content (interned names, ports, stages): two paths' equal layers are one. */
  private readonly layerByContent = new NumMemo<LayerInfo>();
  private layerIds = 0;
  private readonly pathInfos = new Map<string, PathInfo | null>();
  private readonly setIds = new Map<AddressSet, number>();
  private readonly walkWith: Record<Family, Record<Kind, AddressSet>>;
  private readonly plans = new Map<Source, SourcePlan>();
  private readonly gatewaySources = new Map<string, Source>();
  private readonly layerMemo = new NumMemo<Shared>();
  private readonly missingMemo = new Map<string, Shared>();
  private readonly pathMemo = new NumMemo<Shared>();
  private readonly derivedMemo = new NumMemo<Shared>();
  readonly judged = new NumMemo<Judged>();
  readonly classes = new Map<number, ClassRecord[]>();
  private ids = 0;
  private readonly names = new Map<string, number>();
  private readonly byCid: Map<number, Decision[]>[] = [];
  private readonly reasonByContent = new Map<string, Reason>();
  private readonly lists = new Map<string, string[]>();
  private readonly cidrMemo = new Map<string, { set: AddressSet; cidrs: string[] }[]>();

  constructor(
    inv: Inventory,
    readonly port: number,
    known: Source[],
  ) {
    const idx = indexInventory(inv);
    this.ruleSets = idx.ruleSets;
    this.paths = idx.paths;
    // The union of every known source, per kind of address and family: the candidate layers are walked with.
    const union = (kind: Kind, f: Family) => known.reduce((acc, s) => acc.union((kind === 'external' ? s.external : s.internal).only(f)), AddressSet.EMPTY);
    this.walkWith = { 4: { external: union('external', 4), internal: union('internal', 4) }, 6: { external: union('external', 6), internal: union('internal', 6) } };
  }

  /** A small number per distinct name (paths, tags, groups, decision texts): keys stay short however long the ids are. */
  intern(name: string): number {
    let n = this.names.get(name);
    if (n === undefined) this.names.set(name, (n = this.names.size));
    return n;
  }

  /**
   * A decision, as one object per distinct content: walks for different classes decide the same sets by the
   * same rules, and then they share what is derived from the decision (its restriction to each source, its
   * reason).
   */
  decision(d: Omit<Decision, 'mid' | 'cid'>): Decision {
    const mid = this.intern(`${d.layer}\u0000${d.ruleSet ?? ''}\u0000${d.rule}\u0000${d.action}`);
    const cid = this.intern(`${mid}\u0000${d.priority ?? ''}\u0000${d.why}`);
    return this.canonical((this.byCid[cid] ??= new Map()), d.set, () => ({ layer: d.layer, rule: d.rule, action: d.action, priority: d.priority, why: d.why, ruleSet: d.ruleSet, set: d.set, mid, cid }));
  }

  /** A rule's decision in a walk: its texts are made once per layer, rule and reason it applies. */
  ruleDecision(info: LayerInfo, rs: RuleSet, p: PreparedRule, targetWhy: string, unknown: boolean, set: AddressSet): Decision {
    let byWhy = info.texts.get(p);
    if (!byWhy) info.texts.set(p, (byWhy = new Map()));
    let t = byWhy.get(targetWhy);
    const layer = info.layer.name;
    const ids = (action: string, why: string) => {
      const mid = this.intern(`${layer}\u0000${rs.name}\u0000${p.rule.name}\u0000${action}`);
      return { why, mid, cid: this.intern(`${mid}\u0000${p.rule.priority}\u0000${why}`) };
    };
    if (!t) {
      const r = p.rule.sourceRanges;
      const srcs = r.length > 3 ? `${r.slice(0, 3).join(', ')}, ...` : r.join(', ');
      byWhy.set(targetWhy, (t = ids(p.rule.action, `${targetWhy}; source ${srcs || 'any'}; ${p.protocolWhy}`)));
    }
    let x: { why: string; mid: number; cid: number } = t;
    if (unknown) x = t.unknown ??= ids('unknown', `${t.why}; ${[p.rule.indeterminate, p.rule.targetIndeterminate].filter(Boolean).join('; ')}`);
    const action = unknown ? 'unknown' : (p.rule.action as 'allow' | 'deny');
    return this.canonical((this.byCid[x.cid] ??= new Map()), set, () => ({ layer, rule: p.rule.name, action, priority: p.rule.priority, why: x.why, ruleSet: rs.name, set, mid: x.mid, cid: x.cid }));
  }

  /** The decision of `bySet` (decisions with the same cid, by set hash) with this set, made by `make` the first time. */
  private canonical(bySet: Map<number, Decision[]>, set: AddressSet, make: () => Decision): Decision {
    const h = set.hash();
    const list = bySet.get(h);
    const known = list?.find((x) => x.set.equals(set));
    if (known) return known;
    const d = make();
    if (list) list.push(d);
    else bySet.set(h, [d]);
    return d;
  }

  /** One array per distinct list of CIDRs: instances and reasons share them. */
  list(cidrs: string[]): string[] {
    const key = cidrs.join(',');
    const known = this.lists.get(key);
    if (known) return known;
    this.lists.set(key, cidrs);
    return cidrs;
  }

  /**
   * The reason for a decision, read within the candidate `whole` of its target. Reasons are values: one
   * object per distinct reason, shared by every result that gives it (100,000 instances give a few thousand).
   */
  reason(d: Decision, target: string, whole: AddressSet, merged: boolean): Reason {
    // Kept on the decision: one object per distinct decision, read within the few candidates of its kind.
    const known = merged ? undefined : d.read?.find((x) => x.whole === whole && x.target === target);
    if (known) return known.reason;
    const ranges = d.set.equals(whole) ? undefined : this.cidrsWithin(d.set, whole, MAX_RANGES);
    const key = `${d.cid}\u0000${target}\u0000${ranges?.join(',') ?? '*'}`;
    let r = this.reasonByContent.get(key);
    if (!r) {
      r = { layer: d.layer, rule: d.rule, action: d.action, why: d.why, target };
      if (d.priority !== undefined) r.priority = d.priority;
      if (d.ruleSet) r.ruleSet = d.ruleSet;
      if (ranges) r.ranges = ranges;
      this.reasonByContent.set(key, r);
    }
    if (!merged) (d.read ??= []).push({ whole, target, reason: r });
    return r;
  }

  /**
   * `set` as CIDRs within `whole`: all of them, or the first `limit` and a count of the rest. Kept by content:
   * walks for different classes make equal sets (the internet minus what the same rules took), and a set the
   * rules carved into thousands of blocks costs as much to count as to write.
   */
  cidrsWithin(set: AddressSet, whole: AddressSet, limit: number): string[] {
    const key = `${set.hash()}|${this.setId(whole)}|${limit}`;
    const bucket = this.cidrMemo.get(key);
    const hit = bucket?.find((x) => x.set.equals(set));
    if (hit) return hit.cidrs;
    const { cidrs, total } = set.cidrsWithin(whole, limit);
    const shown = this.list(total > limit ? [...cidrs, `... ${total - limit} more`] : cidrs);
    if (bucket) bucket.push({ set, cidrs: shown });
    else this.cidrMemo.set(key, [{ set, cidrs: shown }]);
    return shown;
  }

  private setId(s: AddressSet): number {
    let id = this.setIds.get(s);
    if (id === undefined) this.setIds.set(s, (id = this.setIds.size));
    return id;
  }

  plan(source: Source): SourcePlan {
    let p = this.plans.get(source);
    if (p) return p;
    const part = (kind: Kind, f: Family): SourcePart => {
      const cand = (kind === 'external' ? source.external : source.internal).only(f);
      // A source outside the known ones (a gateway's ranges) is walked on its own.
      const all = this.walkWith[f][kind];
      const walk = all.covers(cand) ? all : cand;
      const none = this.decision({ layer: 'address', rule: `no ${kind} IPv${f} address`, action: 'deny', why: `this part of the source needs an ${kind} IPv${f} address and the instance has none`, set: cand });
      return { cand, candId: this.setId(cand), walk, walkId: this.setId(walk), shared: walk === all, none };
    };
    p = {
      id: this.plans.size,
      source,
      parts: { 4: { external: part('external', 4), internal: part('internal', 4) }, 6: { external: part('external', 6), internal: part('internal', 6) } },
    };
    this.plans.set(source, p);
    return p;
  }

  /** One Source object per gateway range list, so that instances behind the same bastion share its judgement. */
  gatewaySource(g: { kind: string; name: string; sourceRanges: string[] }): Source {
    const key = g.sourceRanges.join(',');
    let s = this.gatewaySources.get(key);
    if (!s) {
      const ranges = AddressSet.of(g.sourceRanges);
      this.gatewaySources.set(key, (s = { label: `${g.kind} ${g.name}`, external: AddressSet.EMPTY, internal: ranges, all: ranges, isInternet: false }));
    }
    return s;
  }

  stage(rs: RuleSet): StageRules {
    let st = this.stages.get(rs);
    if (!st) this.stages.set(rs, (st = new StageRules(rs, this.port)));
    return st;
  }

  layerInfo(layer: Layer): LayerInfo {
    let info = this.layers.get(layer);
    if (info) return info;
    // Providers build a layer per path (AWS: per subnet and set of groups); the same layer in two paths is
    // one layer for the memo, so its walk is shared.
    const o = layer.otherwise;
    const m = this.layerByContent.start().push(this.intern(layer.name)).push(this.intern(o.action)).push(this.intern(o.rule)).push(this.intern(o.why));
    m.push(layer.returnPorts ? layer.returnPorts.from : -1).push(layer.returnPorts ? layer.returnPorts.to : -1).push(layer.afterNat ? 1 : 0);
    for (const st of layer.stages) m.push(this.intern(st.ruleSet)).push(this.intern(st.mode));
    info = m.get();
    if (!info) {
      const stages = layer.stages.map((stage) => {
        const rs = this.ruleSets.get(stage.ruleSet);
        return rs && !rs.unreadable ? this.stage(rs) : undefined;
      });
      const destinations: AddressSet[] = [];
      // A return layer never looks at the destination (its rules are judged on the reply).
      if (!layer.returnPorts) {
        for (const st of stages) {
          for (const p of st?.prepared ?? []) {
            const d = ruleDestinations(p.rule);
            if (d && !destinations.includes(d)) destinations.push(d);
          }
        }
      }
      info = m.set({ id: this.layerIds++, layer, stages, destinations, texts: new Map() });
    }
    this.layers.set(layer, info);
    return info;
  }

  /** A path's layers, or null when the inventory has none under that id. */
  pathInfo(pathId: string): PathInfo | null {
    let pi = this.pathInfos.get(pathId);
    if (pi !== undefined) return pi;
    const layers = this.paths[pathId];
    if (!layers) pi = null;
    else {
      const infos = layers.map((l) => this.layerInfo(l));
      pi = { id: this.pathInfos.size, layers: infos, destinations: infos.some((l) => l.destinations.length > 0) };
    }
    this.pathInfos.set(pathId, pi);
    return pi;
  }

  private share(o: Outcome, repeats?: boolean): Shared {
    return { allowed: o.allowed, unknown: o.unknown, decisions: o.decisions, id: this.ids++, reasons: undefined, repeats };
  }
  /** pathOutcome's layer outcomes (reused: it is not reentrant). */
  private readonly outcomes: Shared[] = [];

  /** The outcome of one layer for one NIC's identity and address, walked with `walk` (memoized). */
  layerOutcome(info: LayerInfo, id: Identity, addr: Address | undefined, walk: AddressSet, walkId: number): Shared {
    const m = this.layerMemo.start().push(info.id).push(walkId);
    if (!info.layer.returnPorts) {
      for (const st of info.stages) m.push(st ? st.targeted(id).sig : -1);
      if (info.destinations.length) {
        m.push(-2);
        if (addr) for (let i = 0; i < info.destinations.length; i++) if (info.destinations[i]!.has(addr.family, addr.value)) m.push(i);
      }
    }
    return m.get() ?? m.set(this.share(walkLayer(this, info, id, walk, addr)));
  }

  /** Every layer of the path must allow; each layer is judged on the whole candidate so that each names its deciding rule. */
  pathOutcome(id: Identity, kind: Kind, addr: Address, walk: AddressSet, walkId: number): Shared {
    const nic = id.nic;
    const pathId = pathOf(nic, kind);
    const pi = this.pathInfo(pathId);
    if (!pi) {
      const key = `${pathId}|${nic.network}|${walkId}`;
      let o = this.missingMemo.get(key);
      if (!o) {
        const decisions = [this.decision({ layer: 'network', rule: pathId, action: 'unknown', why: `no rule layers known for ${nic.network}`, set: walk })];
        this.missingMemo.set(key, (o = this.share({ allowed: AddressSet.EMPTY, unknown: walk, decisions })));
      }
      return o;
    }
    const outcomes = this.outcomes;
    outcomes.length = 0;
    for (const info of pi.layers) {
      // Azure NSGs see the packet after the public address is translated: destinations are the private address.
      const seen = info.layer.afterNat ? natAddress(nic, addr) : addr;
      outcomes.push(this.layerOutcome(info, id, seen, walk, walkId));
    }
    const m = this.pathMemo.start().push(walkId);
    for (const x of outcomes) m.push(x.id);
    const known = m.get();
    if (known) return known;
    let allowed = walk;
    let possible = walk;
    const decisions: Decision[] = [];
    for (const x of outcomes) {
      allowed = allowed.intersect(x.allowed);
      possible = possible.intersect(x.allowed.union(x.unknown));
      for (const d of x.decisions) decisions.push(d);
    }
    let repeats = false;
    if (decisions.length > 16) repeats = new Set(decisions.map((d) => d.mid)).size < decisions.length;
    else for (let i = 1; i < decisions.length && !repeats; i++) for (let j = 0; j < i; j++) if (decisions[j]!.mid === decisions[i]!.mid) repeats = true;
    return m.set(this.share({ allowed, unknown: possible.subtract(allowed), decisions }, repeats));
  }

  /** A walk's outcome restricted to the source's own addresses. */
  restrict(o: Shared, part: SourcePart): Shared {
    if (part.cand === part.walk) return o;
    const m = this.derivedMemo.start().push(o.id).push(part.candId);
    let r = m.get();
    if (!r) {
      const decisions: Decision[] = [];
      for (const d of o.decisions) {
        const x = this.restrictDecision(d, part);
        if (x) decisions.push(x);
      }
      r = m.set(this.share({ allowed: o.allowed.intersect(part.cand), unknown: o.unknown.intersect(part.cand), decisions }, o.repeats));
    }
    return r;
  }

  /** One decision restricted to a source (null: none of the source's addresses), the same object each time. */
  private restrictDecision(d: Decision, part: SourcePart): Decision | null {
    const m = (d.restricted ??= new Map());
    let x = m.get(part.candId);
    if (x === undefined) {
      const set = d.set.intersect(part.cand);
      x = set.isEmpty ? null : set.equals(d.set) ? d : this.canonical((this.byCid[d.cid] ??= new Map()), set, () => ({ ...d, set, read: undefined, restricted: undefined }));
      m.set(part.candId, x);
    }
    return x;
  }
}

function natAddress(nic: Nic, addr: Address): Address {
  const text = (addr.family === 6 ? nic.internalIPv6 : nic.internalIPv4) ?? addr.text;
  return text === addr.text ? addr : parsed(text);
}

function parsed(text: string): Address {
  const { family, value } = parseAddress(text);
  return { text, family, value };
}

function walkLayer(eng: Engine, info: LayerInfo, id: Identity, candidate: AddressSet, addr: Address | undefined): Outcome {
  const layer = info.layer;
  let remaining = candidate;
  let allowed = AddressSet.EMPTY;
  let unknown = AddressSet.EMPTY;
  const decisions: Decision[] = [];
  for (let s = 0; s < layer.stages.length; s++) {
    const stage = layer.stages[s];
    if (remaining.isEmpty) break;
    const st = info.stages[s];
    if (!st) {
      // A stage that could decide but cannot be read: whatever reaches it has an unknown fate.
      const rs = eng.ruleSets.get(stage.ruleSet);
      unknown = unknown.union(remaining);
      decisions.push(
        eng.decision({
          layer: layer.name,
          rule: rs?.name ?? stage.ruleSet,
          action: 'unknown',
          why: rs?.unreadable ?? `rule set ${stage.ruleSet} is missing from the inventory`,
          set: remaining,
        }),
      );
      remaining = AddressSet.EMPTY;
      break;
    }
    const rs = st.rs;
    if (layer.returnPorts) {
      const o = judgeReturn(st.returnRules(), remaining, layer.returnPorts);
      allowed = allowed.union(o.allowed);
      for (const d of o.decisions) decisions.push(eng.decision({ layer: layer.name, rule: d.rule.name, action: d.action, priority: d.rule.priority, why: d.why, ruleSet: rs.name, set: d.set }));
      remaining = o.rest;
      continue;
    }
    let handedOn = AddressSet.EMPTY;
    const all = st.untargeted;
    const mine = st.targeted(id);
    // The untargeted rules and the identity's targeted ones, merged in evaluation order.
    for (let u = 0, t = 0; u < all.length || t < mine.index.length; ) {
      let p: PreparedRule;
      let targetWhy: string;
      if (t >= mine.index.length || (u < all.length && all[u] < mine.index[t])) {
        p = st.prepared[all[u++]];
        targetWhy = ALL_INSTANCES;
      } else {
        p = st.prepared[mine.index[t]];
        targetWhy = mine.why[t++];
      }
      if (remaining.isEmpty) break;
      const dest = ruleDestinations(p.rule);
      if (dest && (!addr || !dest.has(addr.family, addr.value))) continue;
      // `indeterminate`: the rule may also match beyond its ranges (geo, FQDN...: OR'ed with them).
      // `targetIndeterminate`: whether it applies to this instance at all is unknown.
      // Most rules name none of what remains (private ranges against the internet, ...): skipped unbuilt.
      if (!p.rule.indeterminate && !remaining.overlaps(p.sources)) continue;
      let matched = remaining.intersect(p.sources);
      let maybe = p.rule.indeterminate ? remaining.subtract(p.sources) : AddressSet.EMPTY;
      if (p.rule.targetIndeterminate) {
        maybe = maybe.union(matched);
        matched = AddressSet.EMPTY;
      }
      if (matched.isEmpty && maybe.isEmpty) continue;
      remaining = remaining.subtract(matched).subtract(maybe);
      if (!maybe.isEmpty) {
        unknown = unknown.union(maybe);
        decisions.push(eng.ruleDecision(info, rs, p, targetWhy, true, maybe));
      }
      if (matched.isEmpty) continue;
      if (p.rule.action === 'next') {
        handedOn = handedOn.union(matched);
        continue; // goto_next decides nothing: the next stage does
      }
      if (p.rule.action === 'allow') allowed = allowed.union(matched);
      decisions.push(eng.ruleDecision(info, rs, p, targetWhy, false, matched));
    }
    remaining = remaining.union(handedOn);
  }
  if (!remaining.isEmpty) {
    if (layer.otherwise.action === 'allow') allowed = allowed.union(remaining);
    decisions.push(eng.decision({ layer: layer.name, rule: layer.otherwise.rule, action: layer.otherwise.action, why: layer.otherwise.why, set: remaining }));
  }
  return { allowed, unknown, decisions };
}

/** The path traffic to this kind of address crosses. */
function pathOf(nic: Nic, kind: Kind): string {
  return kind === 'internal' ? (nic.internalPath ?? nic.path) : nic.path;
}

/** What a source does to one kind of address in one family: per NIC the outcome, or none (no such address). */
interface Part {
  target: string;
  cand: AddressSet;
  outcomes?: Shared[];
  /** The instance has no address of this kind: the source's part for it is denied. */
  none?: Decision;
}

/** Decisions by the same rule at the same layer for the same target merged into one reason each (several NICs, stages). */
function reasonsOf(eng: Engine, decisions: Decision[], target: string, cand: AddressSet, repeats = true): Reason[] {
  if (!repeats) return decisions.map((d) => eng.reason(d, target, cand, false));
  const merged = new Map<number, { d: Decision; merged: boolean }>();
  for (const d of decisions) {
    const m = merged.get(d.mid);
    if (m) merged.set(d.mid, { d: { ...m.d, set: m.d.set.union(d.set) }, merged: true });
    else merged.set(d.mid, { d, merged: false });
  }
  const out: Reason[] = [];
  for (const { d, merged: m } of merged.values()) out.push(eng.reason(d, target, cand, m));
  return fit(out);
}

function toReasons(eng: Engine, parts: Part[]): Reason[] {
  const out: Reason[] = [];
  for (const part of parts) {
    let list: Reason[];
    if (part.none) list = [eng.reason(part.none, part.target, part.cand, false)];
    else if (part.outcomes!.length === 1) {
      // One NIC: the outcome (shared by every class that walks the same) keeps its reasons.
      const o = part.outcomes![0];
      if (o.reasons?.target !== part.target || o.reasons.cand !== part.cand) o.reasons = { target: part.target, cand: part.cand, list: reasonsOf(eng, o.decisions, part.target, part.cand, o.repeats !== false) };
      list = o.reasons.list;
    } else list = reasonsOf(eng, part.outcomes!.flatMap((o) => o.decisions), part.target, part.cand);
    for (const r of list) out.push(r);
  }
  return fit(out);
}

interface Judged {
  verdict: Verdict;
  allowedRanges: string[];
  reasons: Reason[];
  /** Allowed part of the source, for the access summary. */
  allowed: AddressSet;
}

function addressesOf(nic: Nic, kind: Kind, f: Family): string | undefined {
  if (kind === 'external') return f === 4 ? nic.externalIPv4 : nic.externalIPv6;
  return f === 4 ? nic.internalIPv4 : nic.internalIPv6;
}

/** What rules can see of an instance's NICs, one identity per NIC. */
function identitiesOf(eng: Engine, instance: Instance): Identity[] {
  const ids = (names: readonly string[] | undefined) => {
    let k = '';
    for (const n of names ?? []) k += `${eng.intern(n)},`;
    return k;
  };
  const base = `${ids(instance.tags)}|${ids(instance.serviceAccounts)}|`;
  return instance.nics.map((nic) => ({ instance, nic, key: base + ids(nic.groups) }));
}

// The class key: numbers (for names, paths, kinds of address and destination ranges held) written into one
// reused array, looked up by their hash and compared number by number. It is made for every instance
// (100,000 of them), so it builds no string.
const keyParts: number[] = [];
const NIC = -1;
const DEST = -2;
const NO_ADDRESS = -3;
const ADDRESS = -4;
const SAME_PATH = -5;
const TAGS_END = -6;

/**
 * The class of an instance: everything the rules can tell apart. Tags, service accounts, and per NIC its
 * paths, groups, which kinds of address it has and, for layers with destination ranges, which of them hold
 * the address the layer sees. Written into keyParts; returns its hash.
 */
function classKey(eng: Engine, instance: Instance): number {
  const k = keyParts;
  k.length = 0;
  for (const t of instance.tags) k.push(eng.intern(t));
  k.push(TAGS_END);
  for (const a of instance.serviceAccounts) k.push(eng.intern(a));
  for (const n of instance.nics) {
    k.push(NIC);
    for (const g of n.groups ?? []) k.push(eng.intern(g));
    const external = eng.pathInfo(n.path);
    const internal = n.internalPath === undefined ? undefined : eng.pathInfo(n.internalPath);
    // A path missing from the inventory: its reason names the path and the network.
    k.push(external ? external.id : -1000 - eng.intern(`${n.path}\u0000${n.network}`));
    k.push(internal === undefined ? SAME_PATH : internal ? internal.id : -1000 - eng.intern(`${n.internalPath}\u0000${n.network}`));
    for (const kind of KINDS) {
      const pi = kind === 'internal' && internal !== undefined ? internal : external;
      for (const f of FAMILIES) {
        const text = addressesOf(n, kind, f);
        k.push(text ? ADDRESS : NO_ADDRESS);
        if (!text || !pi?.destinations) continue;
        for (const info of pi.layers) {
          if (info.destinations.length === 0) continue;
          // Azure NSGs see the private address (natAddress).
          const seen = (info.layer.afterNat ? (f === 6 ? n.internalIPv6 : n.internalIPv4) : undefined) ?? text;
          const v4 = ipv4Value(seen);
          const addr = v4 >= 0 ? undefined : parsed(seen);
          k.push(DEST);
          for (let i = 0; i < info.destinations.length; i++) {
            const d = info.destinations[i];
            if (addr ? d.has(addr.family, addr.value) : d.hasIPv4(v4)) k.push(i);
          }
        }
      }
    }
  }
  let h = 0x811c9dc5;
  for (let i = 0; i < k.length; i++) h = Math.imul(h ^ k[i], 0x01000193);
  return h >>> 0;
}

/** The class of the instance whose key is in keyParts, made from it when new. */
function classOf(eng: Engine, hash: number, instance: Instance): ClassRecord {
  const k = keyParts;
  let list = eng.classes.get(hash);
  if (list) {
    // Loops, not find/every: this runs for every instance.
    for (const c of list) {
      if (c.key.length !== k.length) continue;
      let i = 0;
      while (i < k.length && c.key[i] === k[i]) i++;
      if (i === k.length) return c;
    }
  }
  const cls = new ClassRecord(instance, identitiesOf(eng, instance), k.slice());
  if (list) list.push(cls);
  else eng.classes.set(hash, (list = [cls]));
  return cls;
}

/**
 * One class of instances: its judged result per source, and its path outcomes with the shared candidate (per
 * family, kind of address and NIC), which every known source restricts. Built from the first instance of the
 * class; the others are alike for every rule.
 */
class ClassRecord {
  readonly judged: Judged[] = [];
  /** Access summaries by cloud and gateways. */
  readonly access = new Map<string, ClassAccess>();
  private readonly outcomes: (Shared | undefined)[] = [];

  constructor(
    readonly instance: Instance,
    readonly ids: Identity[],
    readonly key: number[],
  ) {}

  outcome(eng: Engine, f: Family, kind: Kind, nic: number, sp: SourcePart): Shared {
    const id = this.ids[nic];
    const addr = () => parsed(addressesOf(id.nic, kind, f)!);
    if (!sp.shared) return eng.pathOutcome(id, kind, addr(), sp.walk, sp.walkId);
    const k = (nic * 2 + (kind === 'external' ? 0 : 1)) * 2 + (f === 4 ? 0 : 1);
    return (this.outcomes[k] ??= eng.pathOutcome(id, kind, addr(), sp.walk, sp.walkId));
  }
}

/** In judge's key: a part with no address of its kind, and the part markers (TARGET_END - 0..3). */
const NONE = -1;
const TARGET_END = -2;

function judge(eng: Engine, cls: ClassRecord, plan: SourcePlan): Judged {
  const { instance, ids } = cls;
  const source = plan.source;
  // First the (memoized) outcome of every family x kind of address x NIC the source reaches: they key the
  // judged result, which classes whose walks come out the same share.
  const parts: Part[] = [];
  // The key: the plan, then per part its target's number and the outcome ids (NONE: no such address).
  const key: number[] = [plan.id];
  for (const f of FAMILIES) {
    const usable = (k: Kind) => !plan.parts[f][k].cand.isEmpty && instance.nics.some((n) => addressesOf(n, k, f));
    if (!usable('external') && !usable('internal')) continue; // this family has no address the source could use: not counted
    for (const kind of KINDS) {
      const sp = plan.parts[f][kind];
      if (sp.cand.isEmpty) continue;
      const target = TARGETS[f][kind];
      key.push(TARGET_END - (f === 4 ? 0 : 2) - (kind === 'external' ? 0 : 1));
      if (!usable(kind)) {
        parts.push({ target, cand: sp.cand, none: sp.none });
        key.push(NONE);
        continue;
      }
      const outcomes: Shared[] = [];
      for (let n = 0; n < ids.length; n++) {
        if (!addressesOf(ids[n].nic, kind, f)) continue;
        const o = eng.restrict(cls.outcome(eng, f, kind, n, sp), sp);
        outcomes.push(o);
        key.push(o.id);
      }
      parts.push({ target, cand: sp.cand, outcomes });
    }
  }
  const m = eng.judged.start();
  for (const x of key) m.push(x);
  let j = m.get();
  if (j) return j;

  let relevant = AddressSet.EMPTY;
  let allowed = AddressSet.EMPTY;
  let unknown = AddressSet.EMPTY;
  for (const { cand, outcomes } of parts) {
    relevant = relevant.union(cand);
    for (const o of outcomes ?? []) {
      allowed = allowed.union(o.allowed);
      unknown = unknown.union(o.unknown);
    }
  }
  if (relevant.isEmpty) {
    const needs = source.internal.isEmpty ? 'an external address' : source.external.isEmpty ? 'an internal address' : 'an address';
    j = {
      verdict: 'blocked',
      allowedRanges: [],
      allowed: AddressSet.EMPTY,
      reasons: [{ layer: 'address', rule: 'no usable address', action: 'deny', why: `source ${source.label} needs ${needs} in a family the instance has; it has none` }],
    };
  } else {
    let verdict: Verdict;
    if (allowed.covers(relevant)) verdict = 'reachable';
    else if (!unknown.subtract(allowed).isEmpty) verdict = 'unknown';
    else if (allowed.isEmpty) verdict = 'blocked';
    else verdict = 'partial';
    j = { verdict, allowedRanges: eng.cidrsWithin(allowed, relevant, Infinity), allowed, reasons: toReasons(eng, parts) };
  }
  return m.set(j);
}

/** What the internet can do to one instance, for the exposure checks. */
export interface Exposure {
  instance: InstanceSummary;
  verdict: Verdict;
  /** Internet addresses that get through, gateway ranges (IAP) taken out. */
  exposed: AddressSet;
  /** The deciding rules for those addresses (the allows are what exposes it). */
  reasons: Reason[];
  /** The sanctioned gateways (iap, bastion, ssm) and whether each can reach the instance. */
  gateways: { gateway: string; allowed: boolean }[];
}

export interface Evaluation {
  results: Result[];
  instances: InstanceSummary[];
  exposures: Exposure[];
}

/** Sources that mean nothing on a provider (iap off GCP) give no result there. */
function appliesTo(source: Source, instance: Instance): boolean {
  return !source.providers || source.providers.includes(instance.provider);
}

/** What the access summary and the exposure say of a class of instances with one set of gateways. */
interface ClassAccess {
  access: InstanceSummary['access'];
  gateway?: string;
  verdict: Verdict;
  exposed: AddressSet;
  reasons: Reason[];
  gateways: { gateway: string; allowed: boolean }[];
}

export function evaluate(inv: Inventory, sources: Source[], port: number): Evaluation {
  // The access summary always looks at the internet and the cloud's gateways, whatever --source says.
  const summarySources = summarySourceSet(sources);
  const eng = new Engine(inv, port, [...sources, ...Object.values(summarySources)]);
  const results: Result[] = [];
  const instances: InstanceSummary[] = [];
  const exposures: Exposure[] = [];
  const judgedBy = (cls: ClassRecord, s: Source): Judged => {
    const plan = eng.plan(s);
    return (cls.judged[plan.id] ??= judge(eng, cls, plan));
  };
  const plans = sources.map((s) => eng.plan(s));
  const accessOfClass = (cls: ClassRecord, instance: Instance): ClassAccess => {
    // Instances of a class differ only in their gateways (the bastion in reach, an SSM agent) and cloud.
    let key = instance.provider;
    for (const g of instance.gateways ?? []) key += `|${g.kind}:${g.sourceRanges?.join(',') ?? ''}`;
    let a = cls.access.get(key);
    if (a) return a;
    const internet = judgedBy(cls, summarySources.internet);
    // The internet without the gateway ranges: its allows are the rules that expose the instance.
    const outside = judgedBy(cls, summarySources.exposure);
    const gateways: { gateway: string; allowed: boolean }[] = [];
    if (instance.provider === 'gcp') gateways.push({ gateway: 'iap', allowed: !judgedBy(cls, summarySources.iap).allowed.isEmpty });
    for (const g of instance.gateways ?? []) {
      if (!g.sourceRanges) {
        gateways.push({ gateway: g.kind, allowed: true }); // SSM: the agent dials out, no inbound rule involved
        continue;
      }
      gateways.push({ gateway: g.kind, allowed: !judgedBy(cls, eng.gatewaySource({ kind: g.kind, name: g.name, sourceRanges: g.sourceRanges })).allowed.isEmpty });
    }
    const verdict = internet.verdict === 'unknown' || outside.verdict === 'unknown' ? 'unknown' : internet.verdict;
    a = { ...accessOf(outside, gateways, judgedBy(cls, summarySources.private)), verdict, exposed: outside.allowed, reasons: verdict === 'unknown' ? internet.reasons : outside.reasons, gateways };
    cls.access.set(key, a);
    return a;
  };
  for (const instance of inv.instances) {
    const cls = classOf(eng, classKey(eng, instance), instance);
    for (let i = 0; i < sources.length; i++) {
      const s = sources[i];
      if (!appliesTo(s, instance)) continue;
      const j = (cls.judged[plans[i].id] ??= judge(eng, cls, plans[i]));
      // Written out, not spread from a shared head: a literal of one shape is the cheapest object V8 makes, and
      // there are a few hundred thousand of them.
      results.push({
        provider: instance.provider,
        scope: instance.scope,
        location: instance.location,
        instance: instance.name,
        instanceId: instance.id,
        state: instance.state,
        source: s.label,
        port,
        verdict: j.verdict,
        allowedRanges: j.allowedRanges,
        reasons: j.reasons,
      });
    }
    const a = accessOfClass(cls, instance);
    const externalAddresses: string[] = [];
    for (const n of instance.nics) {
      if (n.externalIPv4) externalAddresses.push(n.externalIPv4);
      if (n.externalIPv6) externalAddresses.push(n.externalIPv6);
    }
    const summary: InstanceSummary = {
      provider: instance.provider,
      scope: instance.scope,
      location: instance.location,
      instance: instance.name,
      instanceId: instance.id,
      state: instance.state,
      os: instance.os,
      externalAddresses: fit(externalAddresses),
      access: a.access,
    };
    if (a.gateway !== undefined) summary.gateway = a.gateway;
    instances.push(summary);
    exposures.push({ instance: summary, verdict: a.verdict, exposed: a.exposed, reasons: a.reasons, gateways: a.gateways });
  }
  return { results, instances, exposures };
}

function summarySourceSet(sources: Source[]) {
  // Reuse the user's own `internet`/`iap` entries when present so their judged results are shared.
  const find = (label: string, make: () => Source) => sources.find((s) => s.label === label) ?? make();
  return {
    internet: find('internet', internetSource),
    iap: find('iap', () => resolveSource('iap')),
    private: { label: 'private ranges', external: AddressSet.EMPTY, internal: PRIVATE, all: PRIVATE, isInternet: false } as Source,
    exposure: exposureSource(),
  };
}

function accessOf(outside: Judged, gateways: { gateway: string; allowed: boolean }[], priv: Judged): { access: Access; gateway?: string } {
  // IAP's range is public space: an IAP-only rule on an instance with an external address lets part of the
  // internet through, but that part is a gateway, not exposure (../../shared/docs/interface.md).
  if (!outside.allowed.isEmpty) return { access: 'exposed' };
  const via = gateways.find((g) => g.allowed);
  if (via) return { access: 'gateway-only', gateway: via.gateway };
  if (!priv.allowed.isEmpty) return { access: 'private-only' };
  return { access: 'unreachable' };
}
