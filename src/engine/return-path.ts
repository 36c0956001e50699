// A stateless layer judged on the reply (AWS network ACL egress entries): the instance answers the source on
// the client's ephemeral port, which RDP clients pick from the whole dynamic range, so an address gets through
// only if every port of the range is allowed to it before any is denied (../../shared/docs/interface.md,
// "AWS network ACLs are stateless"). Entries are first-match in rule-number order, per address and port: an
// entry that allows part of the range settles those ports and leaves the rest to later entries.
import type { Rule } from '../model/inventory.js';
import { AddressSet } from './addresses.js';
import { ruleSources } from './rules.js';

type Ports = [number, number][];

const ANY = new Set(['all', '*', '-1', 'any']);

/** The ports of [from, to] that the rule matches for tcp, and how to say so. */
export function rulePorts(rule: Rule, from: number, to: number): { ports: Ports; why: string } {
  const out: Ports = [];
  const said: string[] = [];
  for (const e of rule.protocols) {
    const p = e.protocol.trim().toLowerCase();
    if (ANY.has(p) || ((p === 'tcp' || p === '6') && (!e.ports?.length || e.ports.includes('*')))) {
      said.push(ANY.has(p) ? `protocol ${e.protocol} (every port)` : 'tcp (every port)');
      out.push([from, to]);
      continue;
    }
    if (p !== 'tcp' && p !== '6') continue;
    for (const spec of e.ports ?? []) {
      const [a, b = a] = String(spec).split('-').map(Number);
      const lo = Math.max(a, from);
      const hi = Math.min(b, to);
      if (lo <= hi) {
        out.push([lo, hi]);
        said.push(`tcp:${spec}`);
      }
    }
  }
  return { ports: merge(out), why: said.join(', ') };
}

function merge(p: Ports): Ports {
  const s = [...p].sort((a, b) => a[0] - b[0]);
  const out: Ports = [];
  for (const [lo, hi] of s) {
    const last = out[out.length - 1];
    if (last && lo <= last[1] + 1) last[1] = Math.max(last[1], hi);
    else out.push([lo, hi]);
  }
  return out;
}

function intersect(a: Ports, b: Ports): Ports {
  const out: Ports = [];
  for (const [alo, ahi] of a) for (const [blo, bhi] of b) if (Math.max(alo, blo) <= Math.min(ahi, bhi)) out.push([Math.max(alo, blo), Math.min(ahi, bhi)]);
  return merge(out);
}

function subtract(a: Ports, b: Ports): Ports {
  let out = a;
  for (const [blo, bhi] of b) {
    const next: Ports = [];
    for (const [lo, hi] of out) {
      if (bhi < lo || blo > hi) next.push([lo, hi]);
      else {
        if (lo < blo) next.push([lo, blo - 1]);
        if (bhi < hi) next.push([bhi + 1, hi]);
      }
    }
    out = next;
  }
  return out;
}

const fmt = (p: Ports) => p.map(([a, b]) => (a === b ? `${a}` : `${a}-${b}`)).join(', ');

export interface ReturnDecision {
  rule: Rule;
  action: 'allow' | 'deny';
  set: AddressSet;
  why: string;
}

/**
 * Judges `candidate` against the rules (already in evaluation order). Returns who is allowed, the decisions,
 * and what fell through every rule (left to the layer's `otherwise`).
 */
export function judgeReturn(rules: Rule[], candidate: AddressSet, range: { from: number; to: number }): { allowed: AddressSet; decisions: ReturnDecision[]; rest: AddressSet } {
  const whole: Ports = [[range.from, range.to]];
  // Addresses still undecided, grouped by the ports still undecided for them.
  let parts: { set: AddressSet; ports: Ports }[] = [{ set: candidate, ports: whole }];
  let allowed = AddressSet.EMPTY;
  const decisions: ReturnDecision[] = [];
  for (const rule of rules) {
    if (rule.disabled || rule.action === 'next') continue;
    const { ports, why } = rulePorts(rule, range.from, range.to);
    if (!ports.length) continue;
    const sources = ruleSources(rule);
    const next: typeof parts = [];
    for (const part of parts) {
      const hit = part.set.intersect(sources);
      const touched = intersect(part.ports, ports);
      if (hit.isEmpty || !touched.length) {
        next.push(part);
        continue;
      }
      const rest = part.set.subtract(hit);
      if (!rest.isEmpty) next.push({ set: rest, ports: part.ports });
      if (rule.action === 'deny') {
        decisions.push({ rule, action: 'deny', set: hit, why: `the reply to these addresses on tcp:${fmt(touched)} is denied (${why}); RDP clients answer on any port of ${range.from}-${range.to}` });
        continue;
      }
      const left = subtract(part.ports, touched);
      if (left.length) next.push({ set: hit, ports: left });
      else {
        allowed = allowed.union(hit);
        const all = touched.length === 1 && touched[0][0] === range.from && touched[0][1] === range.to;
        decisions.push({ rule, action: 'allow', set: hit, why: `the reply to these addresses is allowed on ${all ? `tcp:${range.from}-${range.to}` : `the remaining ports ${fmt(touched)}`} (${why})` });
      }
    }
    parts = next;
    if (!parts.length) break;
  }
  const rest = parts.reduce((acc, p) => acc.union(p.set), AddressSet.EMPTY);
  return { allowed, decisions, rest };
}
