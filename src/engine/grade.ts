// How much of the internet gets through, in words and as a severity: the whole public space of a family is
// high; more than a /16 of IPv4 (65,536 addresses) or more than a /48 of IPv6 is medium; narrower is low
// (../../shared/docs/interface.md "Severities"). Both thresholds are policy parameters.
import type { Severity } from '../model/results.js';
import { SEVERITIES } from '../model/results.js';
import { IAP, INTERNET } from './sources.js';
import type { AddressSet } from './addresses.js';

export interface GradeOptions {
  /** More than this many IPv4 addresses is medium, not low. */
  mediumIPv4: bigint;
  /** More than a /N of IPv6 is medium, not low. */
  mediumIPv6Prefix: number;
}

export const DEFAULT_GRADE: GradeOptions = { mediumIPv4: 65536n, mediumIPv6Prefix: 48 };

/** Whole-family coverage is judged with the gateway range put back: IAP's /20 does not make a world-open rule narrower. */
export function wholeFamily(e: AddressSet, f: 4 | 6): boolean {
  let m = wholeCache.get(e);
  if (!m) wholeCache.set(e, (m = {}));
  return (m[f] ??= e.union(IAP).covers(INTERNET.only(f)));
}

// Per set: the engine shares one exposed set among every instance of a class, and the checks grade each
// instance (100,000 of them in an organisation), so the answers are kept with the (immutable) set.
const wholeCache = new WeakMap<AddressSet, { 4?: boolean; 6?: boolean }>();
const amountCache = new WeakMap<AddressSet, string>();

export function exposureSeverity(e: AddressSet, o: GradeOptions = DEFAULT_GRADE): Severity {
  if (wholeFamily(e, 4) || wholeFamily(e, 6)) return 'high';
  if (e.size(4) > o.mediumIPv4 || e.size(6) > 1n << BigInt(128 - o.mediumIPv6Prefix)) return 'medium';
  return 'low';
}

export function describeAmount(e: AddressSet): string {
  const known = amountCache.get(e);
  if (known !== undefined) return known;
  const parts: string[] = [];
  if (wholeFamily(e, 4)) parts.push('all of the IPv4 internet');
  else if (e.size(4) > 0n) {
    const { cidrs, total } = e.only(4).cidrs(3);
    parts.push(`${e.size(4).toLocaleString('en-US')} IPv4 address${e.size(4) === 1n ? '' : 'es'} (${total <= 3 ? cidrs.join(', ') : `${total} ranges`})`);
  }
  if (wholeFamily(e, 6)) parts.push('all of the IPv6 internet');
  else if (e.size(6) > 0n) parts.push(`${e.ranges(6).length} IPv6 range(s)`);
  const text = parts.join(' and ');
  amountCache.set(e, text);
  return text;
}

/** The lesser of two severities (a graded result never exceeds its policy's). */
export function atMost(s: Severity, cap: Severity): Severity {
  return SEVERITIES.indexOf(s) < SEVERITIES.indexOf(cap) ? cap : s;
}

export function atOrAbove(severity: Severity, threshold: Severity | 'none'): boolean {
  if (threshold === 'none') return false;
  return SEVERITIES.indexOf(severity) <= SEVERITIES.indexOf(threshold);
}
