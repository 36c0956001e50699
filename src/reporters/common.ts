// Small things several reporters share: the order findings are shown in, and how a resource is named.
import { SEVERITIES, type Finding, type Report } from '../model/results.js';

export const bySeverity = (a: Finding, b: Finding) =>
  SEVERITIES.indexOf(a.severity) - SEVERITIES.indexOf(b.severity) || a.policyId.localeCompare(b.policyId) || refOf(a).localeCompare(refOf(b));

/** gcp:acme-prod/europe-west4-a/win-open, aws:111.../eu-west-1/i-0abc, or PROVIDER:RULE-SET-ID. */
export function refOf(f: Finding): string {
  return f.resource.ref ?? `${f.resource.provider}:${f.resource.scope}/${f.resource.location}/${f.resource.instance}`;
}

/** Failures that count (not suppressed). */
export const activeFailures = (r: Report) => r.findings.filter((f) => f.status === 'fail' && !f.suppressed);

/** A report's findings, as often as a format needs to read them (in memory, or parsed back from a spool). */
export type Findings = () => Iterable<Finding>;

export const titleOf = (r: Report, policyId: string) => r.policies.find((p) => p.id === policyId)?.title ?? policyId;

const keyOf = (f: Finding) => `${f.policyId}|${refOf(f)}`;

/** With --baseline, the baseline's failures that are gone from this report (neither failing nor suppressed now). */
export function goneSinceBaseline(r: Report): Finding[] {
  const now = new Set(r.findings.filter((f) => f.status === 'fail').map(keyOf));
  return (r.drift?.fixed ?? []).filter((f) => !now.has(keyOf(f)));
}

/** With --baseline, whether a failing finding (suppressed or not) was in the baseline. */
export function baselineStateOf(r: Report, f: Finding): 'new' | 'unchanged' | undefined {
  return r.drift ? (f.baseline ?? 'new') : undefined;
}
