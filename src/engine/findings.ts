// The built-in findings until the policy packs take over: RDP open to the internet (exposure, severity by
// how much of it gets through) and RDP unreachable from a source the user declared (reachability).
import type { Finding, Result, Severity } from '../model/results.js';
import { SEVERITIES } from '../model/results.js';
import type { Evaluation } from './evaluate.js';
import { IAP, INTERNET } from './sources.js';
import type { AddressSet } from './addresses.js';

export interface FindingOptions {
  /** More than this many IPv4 addresses (default 65,536, a /16) is medium, not low. */
  mediumIPv4: bigint;
  /** More than a /N of IPv6 (default /48) is medium, not low. */
  mediumIPv6Prefix: number;
  port: number;
}

export const DEFAULT_FINDING_OPTIONS: FindingOptions = { mediumIPv4: 65536n, mediumIPv6Prefix: 48, port: 3389 };

/** Whole-family coverage is judged with the gateway range put back: IAP's /20 does not make a world-open rule narrower. */
function wholeFamily(e: AddressSet, f: 4 | 6): boolean {
  return e.union(IAP).covers(INTERNET.only(f));
}

export function exposureSeverity(e: AddressSet, o: FindingOptions): Severity {
  if (wholeFamily(e, 4) || wholeFamily(e, 6)) return 'high';
  if (e.size(4) > o.mediumIPv4 || e.size(6) > 1n << BigInt(128 - o.mediumIPv6Prefix)) return 'medium';
  return 'low';
}

function describeAmount(e: AddressSet): string {
  const parts: string[] = [];
  if (wholeFamily(e, 4)) parts.push('all of the IPv4 internet');
  else if (e.size(4) > 0n) parts.push(`${e.size(4).toLocaleString('en-US')} IPv4 addresses`);
  if (wholeFamily(e, 6)) parts.push('all of the IPv6 internet');
  else if (e.size(6) > 0n) parts.push(`${e.ranges(6).length} IPv6 range(s)`);
  return parts.join(' and ');
}

export function builtinFindings(ev: Evaluation, o: FindingOptions = DEFAULT_FINDING_OPTIONS): Finding[] {
  const out: Finding[] = [];
  for (const x of ev.exposures) {
    const resource = { provider: x.instance.provider, scope: x.instance.scope, location: x.instance.location, instance: x.instance.instance, instanceId: x.instance.instanceId };
    if (x.verdict === 'unknown') {
      out.push({ policyId: 'rdp-world-open', severity: 'high', status: 'error', resource, source: 'internet', message: `cannot tell whether tcp:${o.port} is open to the internet: ${x.reasons.filter((r) => r.action === 'unknown').map((r) => r.why).join('; ')}` });
      continue;
    }
    if (x.exposed.isEmpty) {
      out.push({ policyId: 'rdp-world-open', severity: 'high', status: 'pass', resource, source: 'internet', message: `tcp:${o.port} is not reachable from the internet` });
      continue;
    }
    // Name the allows of the layer nearest the instance (security groups, the NIC's NSG, the firewall): the
    // route and the subnet-level layers let much more through than RDP.
    const allows = x.reasons.filter((r) => r.action === 'allow');
    const nearest = allows.length ? allows[allows.length - 1].layer : '';
    const rules = [...new Set(allows.filter((r) => r.layer === nearest).map((r) => r.rule))];
    const addresses = x.instance.externalAddresses.filter((a) => x.exposed.ranges(a.includes(':') ? 6 : 4).length > 0);
    out.push({
      policyId: 'rdp-world-open',
      severity: exposureSeverity(x.exposed, o),
      status: 'fail',
      resource,
      source: 'internet',
      message: `tcp:${o.port} reachable from ${describeAmount(x.exposed)} (${addresses.join(', ')}) through ${rules.join(', ')}`,
    });
  }
  return out;
}

/** A declared source (not `internet`) that cannot reach an instance that may run RDP. */
export function reachabilityFindings(results: Result[], osOf: (r: Result) => string): Finding[] {
  const out: Finding[] = [];
  for (const r of results) {
    if (r.source === 'internet' || osOf(r) === 'linux') continue;
    const resource = { provider: r.provider, scope: r.scope, location: r.location, instance: r.instance, instanceId: r.instanceId };
    const base = { policyId: 'rdp-unreachable-from-source', resource, source: r.source };
    const denies = [...new Set(r.reasons.filter((x) => x.action === 'deny').map((x) => x.rule))].join(', ');
    if (r.verdict === 'reachable') out.push({ ...base, severity: 'medium', status: 'pass', message: `reachable from ${r.source}` });
    else if (r.verdict === 'blocked') out.push({ ...base, severity: 'medium', status: 'fail', message: `tcp:${r.port} unreachable from ${r.source}: ${denies}` });
    else if (r.verdict === 'partial') out.push({ ...base, severity: 'low', status: 'fail', message: `tcp:${r.port} reachable from part of ${r.source} only (${r.allowedRanges.slice(0, 4).join(', ')}${r.allowedRanges.length > 4 ? ', ...' : ''}); blocked by ${denies}` });
    else out.push({ ...base, severity: 'medium', status: 'error', message: `cannot tell whether ${r.source} reaches tcp:${r.port}: a rule layer could not be read` });
  }
  return out;
}

export function atOrAbove(severity: Severity, threshold: Severity | 'none'): boolean {
  if (threshold === 'none') return false;
  return SEVERITIES.indexOf(severity) <= SEVERITIES.indexOf(threshold);
}
