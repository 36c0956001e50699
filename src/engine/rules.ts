// Matching one rule against one instance and tcp:port. The clouds spell protocols and ports differently
// (GCP "tcp"/"6"/"all" with ["3389","3000-4000"]; AWS "-1" and From/To; Azure "*" and "3380-3390"); the
// providers keep the cloud's spelling and this file reads all of them.
import type { Instance, Nic, Rule, RuleSet } from '../model/inventory.js';
import { AddressSet } from './addresses.js';
import { INTERNET } from './sources.js';

const TCP_NAMES = new Set(['tcp', '6']);
const ANY_PROTOCOL = new Set(['all', '*', '-1', 'any']);

/** The port ranges of a protocol entry that cover `port`, or undefined if it does not match tcp:port. */
export function matchProtocol(entry: Rule['protocols'][number], port: number): string | undefined {
  const p = entry.protocol.trim().toLowerCase();
  if (ANY_PROTOCOL.has(p)) return `protocol ${entry.protocol} (every port)`;
  if (!TCP_NAMES.has(p)) return undefined;
  if (!entry.ports || entry.ports.length === 0) return `tcp (every port)`;
  for (const spec of entry.ports) {
    const s = String(spec).trim();
    if (s === '*') return `tcp:*`;
    const dash = s.indexOf('-');
    const lo = Number(dash < 0 ? s : s.slice(0, dash));
    const hi = Number(dash < 0 ? s : s.slice(dash + 1));
    if (lo <= port && port <= hi) return `tcp:${s}`;
  }
  return undefined;
}

export function matchTarget(rule: Rule, instance: Instance, nic: Nic): string | undefined {
  const t = rule.targets;
  const hasAny = t && ((t.tags?.length ?? 0) > 0 || (t.serviceAccounts?.length ?? 0) > 0 || (t.groups?.length ?? 0) > 0);
  if (!hasAny) return 'all instances';
  const tag = t!.tags?.find((x) => instance.tags.includes(x));
  if (tag !== undefined) return `target tag ${tag}`;
  const sa = t!.serviceAccounts?.find((x) => instance.serviceAccounts.includes(x));
  if (sa !== undefined) return `target service account ${sa}`;
  const g = t!.groups?.find((x) => nic.groups?.includes(x));
  if (g !== undefined) return `target group ${g}`;
  return undefined;
}

// Rules repeat the same lists (a prefix list of 50 CIDRs pasted into many rules, the same corporate ranges):
// parsed once per distinct list. Bounded, as the process may read many inventories (tests, merge).
const listCache = new Map<string, AddressSet>();
const LIST_CACHE_MAX = 100_000;

/** Forgets the parsed lists, so that the next inventory is read as a fresh process would (benchmarks). */
export function forgetParsedLists(): void {
  listCache.clear();
}

/** CIDRs plus the tokens `*` (everything) and `internet` (the public address space). */
function addressesOf(list: string[]): AddressSet {
  const key = list.join('\n');
  let s = listCache.get(key);
  if (!s) {
    if (listCache.size >= LIST_CACHE_MAX) listCache.clear();
    listCache.set(key, (s = parseList(list)));
  }
  return s;
}

function parseList(list: string[]): AddressSet {
  let s = AddressSet.EMPTY;
  const cidrs: string[] = [];
  for (const r of list) {
    if (r === '*') s = AddressSet.ALL;
    else if (r === 'internet') s = s.union(INTERNET);
    else cidrs.push(r);
  }
  return s.union(AddressSet.of(cidrs));
}

const sourceCache = new WeakMap<Rule, AddressSet>();
/** The rule's address sources as a set; identity sources (tags, service accounts) never match outside addresses. */
export function ruleSources(rule: Rule): AddressSet {
  let s = sourceCache.get(rule);
  if (!s) sourceCache.set(rule, (s = addressesOf(rule.sourceRanges)));
  return s;
}

const destCache = new WeakMap<Rule, AddressSet>();
export function ruleDestinations(rule: Rule): AddressSet | undefined {
  if (!rule.destinationRanges || rule.destinationRanges.length === 0) return undefined;
  let d = destCache.get(rule);
  if (!d) destCache.set(rule, (d = addressesOf(rule.destinationRanges)));
  return d;
}

export interface PreparedRule {
  rule: Rule;
  sources: AddressSet;
  protocolWhy: string;
}

const ORDER: Record<string, number> = { deny: 0, allow: 1, next: 2 };
const preparedCache = new WeakMap<RuleSet, Map<number, PreparedRule[]>>();

/**
 * The enabled rules of a rule set that can match tcp:port, in evaluation order: lower priority first,
 * and at equal priority deny before allow (GCP: "DENY rules take precedence over ALLOW rules if they have
 * equal priority", https://cloud.google.com/vpc/docs/firewalls). Cached per rule set and port.
 */
export function prepareRules(ruleSet: RuleSet, port: number): PreparedRule[] {
  let byPort = preparedCache.get(ruleSet);
  if (!byPort) preparedCache.set(ruleSet, (byPort = new Map()));
  let list = byPort.get(port);
  if (list) return list;
  list = [];
  for (const rule of ruleSet.rules) {
    if (rule.disabled) continue;
    let protocolWhy: string | undefined;
    for (const entry of rule.protocols) {
      protocolWhy = matchProtocol(entry, port);
      if (protocolWhy) break;
    }
    if (!protocolWhy) continue;
    const sources = ruleSources(rule);
    if (sources.isEmpty && !rule.indeterminate) continue; // identity-only sources never match an outside address
    list.push({ rule, sources, protocolWhy });
  }
  list.sort((a, b) => a.rule.priority - b.rule.priority || ORDER[a.rule.action] - ORDER[b.rule.action]);
  byPort.set(port, list);
  return list;
}
