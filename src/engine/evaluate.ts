// The reachability engine: inventory + sources + port in, verdicts with the deciding rule at every layer
// out. Pure: no I/O, no clock. Results are computed once per class of instances that the rules cannot tell
// apart (same layer paths, tags, service accounts, groups and kinds of address) and shared.
import type { Instance, Inventory, Layer, Nic, RuleSet } from '../model/inventory.js';
import type { Access, InstanceSummary, Reason, Result, Verdict } from '../model/results.js';
import { AddressSet, type Family } from './addresses.js';
import { PRIVATE, exposureSource, internetSource, resolveSource, type Source } from './sources.js';
import { matchTarget, prepareRules, ruleDestinations } from './rules.js';
import { judgeReturn } from './return-path.js';

interface Decision {
  layer: string;
  rule: string;
  action: 'allow' | 'deny' | 'unknown';
  priority?: number;
  why: string;
  ruleSet?: string;
  set: AddressSet;
  target: string;
}

interface Outcome {
  allowed: AddressSet;
  unknown: AddressSet;
  decisions: Decision[];
}

export interface Index {
  ruleSets: Map<string, RuleSet>;
  paths: Record<string, Layer[]>;
}

export function indexInventory(inv: Inventory): Index {
  return { ruleSets: new Map(inv.ruleSets.map((r) => [r.id, r])), paths: inv.paths };
}

const RETURN_ORDER: Record<string, number> = { deny: 0, allow: 1, next: 2 };

function evaluateLayer(
  idx: Index,
  layer: Layer,
  instance: Instance,
  nic: Nic,
  candidate: AddressSet,
  port: number,
  address: string | undefined,
  target: string,
): Outcome {
  let remaining = candidate;
  let allowed = AddressSet.EMPTY;
  let unknown = AddressSet.EMPTY;
  const decisions: Decision[] = [];
  // Azure NSGs see the packet after the public address is translated: destinations are the private address.
  if (layer.afterNat && address) address = (address.includes(':') ? nic.internalIPv6 : nic.internalIPv4) ?? address;
  for (const stage of layer.stages) {
    if (remaining.isEmpty) break;
    const rs = idx.ruleSets.get(stage.ruleSet);
    if (!rs || rs.unreadable) {
      // A stage that could decide but cannot be read: whatever reaches it has an unknown fate.
      unknown = unknown.union(remaining);
      decisions.push({
        layer: layer.name,
        rule: rs?.name ?? stage.ruleSet,
        action: 'unknown',
        why: rs?.unreadable ?? `rule set ${stage.ruleSet} is missing from the inventory`,
        set: remaining,
        target,
      });
      remaining = AddressSet.EMPTY;
      break;
    }
    if (layer.returnPorts) {
      const rules = rs.rules.filter((r) => !r.disabled).sort((a, b) => a.priority - b.priority || RETURN_ORDER[a.action] - RETURN_ORDER[b.action]);
      const o = judgeReturn(rules, remaining, layer.returnPorts);
      allowed = allowed.union(o.allowed);
      for (const d of o.decisions) decisions.push({ layer: layer.name, rule: d.rule.name, action: d.action, priority: d.rule.priority, why: d.why, ruleSet: rs.name, set: d.set, target });
      remaining = o.rest;
      continue;
    }
    let handedOn = AddressSet.EMPTY;
    for (const p of prepareRules(rs, port)) {
      if (remaining.isEmpty) break;
      const targetWhy = matchTarget(p.rule, instance, nic);
      if (targetWhy === undefined) continue;
      const dest = ruleDestinations(p.rule);
      if (dest && (!address || !dest.contains(address))) continue;
      // `indeterminate`: the rule may also match beyond its ranges (geo, FQDN...: OR'ed with them).
      // `targetIndeterminate`: whether it applies to this instance at all is unknown.
      let matched = remaining.intersect(p.sources);
      let maybe = p.rule.indeterminate ? remaining.subtract(p.sources) : AddressSet.EMPTY;
      if (p.rule.targetIndeterminate) {
        maybe = maybe.union(matched);
        matched = AddressSet.EMPTY;
      }
      if (matched.isEmpty && maybe.isEmpty) continue;
      remaining = remaining.subtract(matched).subtract(maybe);
      const srcs = p.rule.sourceRanges.length > 3 ? `${p.rule.sourceRanges.slice(0, 3).join(', ')}, ...` : p.rule.sourceRanges.join(', ');
      const why = `${targetWhy}; source ${srcs || 'any'}; ${p.protocolWhy}`;
      if (!maybe.isEmpty) {
        unknown = unknown.union(maybe);
        const note = [p.rule.indeterminate, p.rule.targetIndeterminate].filter(Boolean).join('; ');
        decisions.push({ layer: layer.name, rule: p.rule.name, action: 'unknown', priority: p.rule.priority, why: `${why}; ${note}`, ruleSet: rs.name, set: maybe, target });
      }
      if (matched.isEmpty) continue;
      if (p.rule.action === 'next') {
        handedOn = handedOn.union(matched);
        continue; // goto_next decides nothing: the next stage does
      }
      if (p.rule.action === 'allow') allowed = allowed.union(matched);
      decisions.push({ layer: layer.name, rule: p.rule.name, action: p.rule.action, priority: p.rule.priority, why, ruleSet: rs.name, set: matched, target });
    }
    remaining = remaining.union(handedOn);
  }
  if (!remaining.isEmpty) {
    if (layer.otherwise.action === 'allow') allowed = allowed.union(remaining);
    decisions.push({ layer: layer.name, rule: layer.otherwise.rule, action: layer.otherwise.action, why: layer.otherwise.why, set: remaining, target });
  }
  return { allowed, unknown, decisions };
}

/** The path traffic to this kind of address crosses. */
function pathOf(nic: Nic, kind: 'external' | 'internal'): string {
  return kind === 'internal' ? (nic.internalPath ?? nic.path) : nic.path;
}

/** Every layer must allow; each layer is judged on the whole candidate so that each names its deciding rule. */
function evaluatePath(idx: Index, instance: Instance, nic: Nic, kind: 'external' | 'internal', candidate: AddressSet, port: number, address: string | undefined, target: string): Outcome {
  const pathId = pathOf(nic, kind);
  const layers = idx.paths[pathId];
  if (!layers) {
    return {
      allowed: AddressSet.EMPTY,
      unknown: candidate,
      decisions: [{ layer: 'network', rule: pathId, action: 'unknown', why: `no rule layers known for ${nic.network}`, set: candidate, target }],
    };
  }
  let allowed = candidate;
  let possible = candidate;
  const decisions: Decision[] = [];
  for (const layer of layers) {
    const o = evaluateLayer(idx, layer, instance, nic, candidate, port, address, target);
    allowed = allowed.intersect(o.allowed);
    possible = possible.intersect(o.allowed.union(o.unknown));
    decisions.push(...o.decisions);
  }
  return { allowed, unknown: possible.subtract(allowed), decisions };
}

const MAX_RANGES = 8;
function toReasons(decisions: Decision[], candidates: Map<string, AddressSet>): Reason[] {
  // Merge decisions by the same rule at the same layer for the same target (several NICs, stages).
  const merged = new Map<string, Decision>();
  for (const d of decisions) {
    const key = `${d.target}\u0000${d.layer}\u0000${d.ruleSet ?? ''}\u0000${d.rule}\u0000${d.action}`;
    const m = merged.get(key);
    if (m) merged.set(key, { ...m, set: m.set.union(d.set) });
    else merged.set(key, d);
  }
  return [...merged.values()].map((d) => {
    const r: Reason = { layer: d.layer, rule: d.rule, action: d.action, why: d.why, target: d.target };
    if (d.priority !== undefined) r.priority = d.priority;
    if (d.ruleSet) r.ruleSet = d.ruleSet;
    const whole = candidates.get(d.target);
    if (!whole || !d.set.equals(whole)) {
      const cidrs = whole ? d.set.toCidrsWithin(whole) : d.set.toCidrs();
      r.ranges = cidrs.length > MAX_RANGES ? [...cidrs.slice(0, MAX_RANGES), `... ${cidrs.length - MAX_RANGES} more`] : cidrs;
    }
    return r;
  });
}

interface Judged {
  verdict: Verdict;
  allowedRanges: string[];
  reasons: Reason[];
  /** Allowed part of the source, for the access summary. */
  allowed: AddressSet;
}

function addressesOf(nic: Nic, kind: 'external' | 'internal', f: Family): string | undefined {
  if (kind === 'external') return f === 4 ? nic.externalIPv4 : nic.externalIPv6;
  return f === 4 ? nic.internalIPv4 : nic.internalIPv6;
}

function judge(idx: Index, instance: Instance, source: Source, port: number): Judged {
  let relevant = AddressSet.EMPTY;
  let allowed = AddressSet.EMPTY;
  let unknown = AddressSet.EMPTY;
  const decisions: Decision[] = [];
  const candidates = new Map<string, AddressSet>();
  for (const f of [4, 6] as const) {
    const parts = { external: source.external.only(f), internal: source.internal.only(f) };
    const usable = (['external', 'internal'] as const).filter(
      (k) => !parts[k].isEmpty && instance.nics.some((n) => addressesOf(n, k, f)),
    );
    if (usable.length === 0) continue; // this family has no address the source could use: not counted
    for (const kind of ['external', 'internal'] as const) {
      const cand = parts[kind];
      if (cand.isEmpty) continue;
      relevant = relevant.union(cand);
      const target = `${kind} IPv${f}`;
      candidates.set(target, cand);
      if (!usable.includes(kind)) {
        decisions.push({ layer: 'address', rule: `no ${kind} IPv${f} address`, action: 'deny', why: `this part of the source needs an ${kind} IPv${f} address and the instance has none`, set: cand, target });
        continue;
      }
      for (const nic of instance.nics) {
        const address = addressesOf(nic, kind, f);
        if (!address) continue;
        const o = evaluatePath(idx, instance, nic, kind, cand, port, address, target);
        allowed = allowed.union(o.allowed);
        unknown = unknown.union(o.unknown);
        decisions.push(...o.decisions);
      }
    }
  }
  if (relevant.isEmpty) {
    const needs = source.internal.isEmpty ? 'an external address' : source.external.isEmpty ? 'an internal address' : 'an address';
    return {
      verdict: 'blocked',
      allowedRanges: [],
      allowed: AddressSet.EMPTY,
      reasons: [{ layer: 'address', rule: 'no usable address', action: 'deny', why: `source ${source.label} needs ${needs} in a family the instance has; it has none` }],
    };
  }
  let verdict: Verdict;
  if (allowed.covers(relevant)) verdict = 'reachable';
  else if (!unknown.subtract(allowed).isEmpty) verdict = 'unknown';
  else if (allowed.isEmpty) verdict = 'blocked';
  else verdict = 'partial';
  return { verdict, allowedRanges: allowed.toCidrsWithin(relevant), allowed, reasons: toReasons(decisions, candidates) };
}

function classKey(idx: Index, instance: Instance, sourceKey: string, port: number): string {
  const nics = instance.nics.map((n) => {
    const kinds = [n.externalIPv4 ? 'e4' : '', n.externalIPv6 ? 'e6' : '', n.internalIPv4 ? 'i4' : '', n.internalIPv6 ? 'i6' : ''].join('');
    // Rules with destination ranges look at the address itself; only then is it part of the class.
    const dest = pathHasDestinations(idx, n.path) || (n.internalPath && pathHasDestinations(idx, n.internalPath)) ? `@${n.externalIPv4},${n.externalIPv6},${n.internalIPv4},${n.internalIPv6}` : '';
    return `${n.path}|${n.internalPath ?? ''}|${kinds}|${(n.groups ?? []).join(',')}${dest}`;
  });
  return `${sourceKey}|${port}|${instance.tags.join(',')}|${instance.serviceAccounts.join(',')}|${nics.join(';')}`;
}

const destPathCache = new WeakMap<Index, Map<string, boolean>>();
function pathHasDestinations(idx: Index, pathId: string): boolean {
  let m = destPathCache.get(idx);
  if (!m) destPathCache.set(idx, (m = new Map()));
  let v = m.get(pathId);
  if (v === undefined) {
    v = (idx.paths[pathId] ?? []).some((l) =>
      l.stages.some((s) => idx.ruleSets.get(s.ruleSet)?.rules.some((r) => (r.destinationRanges?.length ?? 0) > 0)),
    );
    m.set(pathId, v);
  }
  return v;
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

export function evaluate(inv: Inventory, sources: Source[], port: number): Evaluation {
  const idx = indexInventory(inv);
  const cache = new Map<string, Judged>();
  const results: Result[] = [];
  const instances: InstanceSummary[] = [];
  const exposures: Exposure[] = [];
  // The access summary always looks at the internet and the cloud's gateways, whatever --source says.
  const summarySources = summarySourceSet(sources);
  for (const instance of inv.instances) {
    const ref = { provider: instance.provider, scope: instance.scope, location: instance.location, instance: instance.name, instanceId: instance.id };
    const judgedBy = (s: Source, key: string | number): Judged => {
      const k = classKey(idx, instance, String(key), port);
      let j = cache.get(k);
      if (!j) cache.set(k, (j = judge(idx, instance, s, port)));
      return j;
    };
    sources.forEach((s, i) => {
      if (!appliesTo(s, instance)) return;
      const j = judgedBy(s, i);
      results.push({ ...ref, state: instance.state, source: s.label, port, verdict: j.verdict, allowedRanges: j.allowedRanges, reasons: j.reasons });
    });
    const internet = judgedBy(summarySources.internet.source, summarySources.internet.index);
    // The internet without the gateway ranges: its allows are the rules that expose the instance.
    const outside = judgedBy(summarySources.exposure.source, summarySources.exposure.index);
    const gateways: { gateway: string; allowed: boolean }[] = [];
    if (instance.provider === 'gcp') gateways.push({ gateway: 'iap', allowed: !judgedBy(summarySources.iap.source, summarySources.iap.index).allowed.isEmpty });
    for (const g of instance.gateways ?? []) {
      if (!g.sourceRanges) {
        gateways.push({ gateway: g.kind, allowed: true }); // SSM: the agent dials out, no inbound rule involved
        continue;
      }
      const ranges = AddressSet.of(g.sourceRanges);
      const src: Source = { label: `${g.kind} ${g.name}`, external: AddressSet.EMPTY, internal: ranges, all: ranges, isInternet: false };
      gateways.push({ gateway: g.kind, allowed: !judgedBy(src, `gw:${g.sourceRanges.join(',')}`).allowed.isEmpty });
    }
    const priv = judgedBy(summarySources.private.source, summarySources.private.index);
    const externalAddresses = instance.nics.flatMap((n) => [n.externalIPv4, n.externalIPv6].filter((a): a is string => !!a));
    const summary: InstanceSummary = { ...ref, state: instance.state, os: instance.os, externalAddresses, ...accessOf(outside, gateways, priv) };
    instances.push(summary);
    const verdict = internet.verdict === 'unknown' || outside.verdict === 'unknown' ? 'unknown' : internet.verdict;
    exposures.push({ instance: summary, verdict, exposed: outside.allowed, reasons: verdict === 'unknown' ? internet.reasons : outside.reasons, gateways });
  }
  return { results, instances, exposures };
}

function summarySourceSet(sources: Source[]) {
  // Reuse the user's own `internet`/`iap` entries when present so their cache entries are shared.
  const find = (label: string, make: () => Source, offset: number) => {
    const i = sources.findIndex((s) => s.label === label);
    return i >= 0 ? { source: sources[i], index: i } : { source: make(), index: sources.length + offset };
  };
  return {
    internet: find('internet', internetSource, 0),
    iap: find('iap', () => resolveSource('iap'), 1),
    private: { source: { label: 'private ranges', external: AddressSet.EMPTY, internal: PRIVATE, all: PRIVATE, isInternet: false } as Source, index: sources.length + 2 },
    exposure: { source: exposureSource(), index: sources.length + 3 },
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
