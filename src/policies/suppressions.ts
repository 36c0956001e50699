// Suppressions: a failing result the team has accepted, with a reason and an expiry date. A suppressed
// failure stays in every report, marked, and no longer fails the run; once the date has passed the
// suppression stops working and is itself reported, so nothing stays accepted by default (cdk-nag keeps
// suppressions visible with their reason the same way).
import type { Finding } from '../model/results.js';
import { globToRegExp } from './run.js';

export interface Suppression {
  /** A policy id, or a glob over ids. */
  policy: string;
  /** A glob over the resource reference (gcp:acme-dev/europe-west4-a/lab-*); default every resource. */
  resource?: string;
  reason: string;
  /** YYYY-MM-DD: the last day it applies (UTC). */
  expires: string;
  /** Where it was written, for messages: "rdpcloud.yaml, line 12". */
  where: string;
}

export const EXPIRED_POLICY = 'suppression-expired';

export interface Suppressed {
  findings: Finding[];
  /** Suppressions that matched no failing result: stale, worth a warning. */
  unused: Suppression[];
}

export function applySuppressions(findings: Finding[], list: Suppression[], today: Date): Suppressed {
  const day = today.toISOString().slice(0, 10);
  const used = new Set<Suppression>();
  const out: Finding[] = [];
  const matchers = list.map((s) => ({ s, policy: globToRegExp(s.policy), resource: globToRegExp(s.resource ?? '*') }));
  for (const f of findings) {
    if (f.status !== 'fail') {
      out.push(f);
      continue;
    }
    const ref = f.resource.ref ?? `${f.resource.provider}:${f.resource.scope}/${f.resource.instance}`;
    const hit = matchers.filter((m) => m.policy.test(f.policyId) && m.resource.test(ref));
    hit.forEach((m) => used.add(m.s));
    const live = hit.find((m) => m.s.expires >= day);
    if (live) {
      out.push({ ...f, suppressed: { reason: live.s.reason, expires: live.s.expires } });
      continue;
    }
    out.push(f);
    for (const m of hit) {
      out.push({
        policyId: EXPIRED_POLICY,
        severity: 'low',
        status: 'fail',
        resource: f.resource,
        message: `the suppression of ${f.policyId} (${m.s.where}: "${m.s.reason}") expired on ${m.s.expires}; the failure counts again: fix it, or renew the suppression with a new date`,
      });
    }
  }
  return { findings: out, unused: list.filter((s) => !used.has(s)) };
}
