// Drift against a previous JSON report (--baseline): which failures are new, which are unchanged, which are
// gone. A failure is the same when its policy and resource (provider, scope, location, id) are: messages and severities may move
// (more of the internet gets through) without it becoming a new finding. Pure.
import type { Drift, Finding, Report } from '../model/results.js';

export const findingKey = (f: Finding) => [f.policyId, f.resource.provider, f.resource.scope, f.resource.location, f.resource.instanceId].join('|');

// Suppressed failures are failures too: accepted for now, not fixed, and not new when the baseline had them.
const failing = (f: Finding) => f.status === 'fail';

export function compareBaseline(findings: Finding[], baseline: Pick<Report, 'findings' | 'generatedAt'>, file: string): { findings: Finding[]; drift: Drift } {
  const before = new Map(baseline.findings.filter(failing).map((f) => [findingKey(f), f]));
  const now = new Set(findings.filter(failing).map(findingKey));
  let added = 0;
  let unchanged = 0;
  const marked = findings.map((f) => {
    if (!failing(f)) return f;
    const was = before.has(findingKey(f));
    if (was) unchanged++;
    else added++;
    return { ...f, baseline: was ? ('unchanged' as const) : ('new' as const) };
  });
  const fixed = [...before.entries()].filter(([k]) => !now.has(k)).map(([, f]) => f);
  return { findings: marked, drift: { baseline: file, baselineGeneratedAt: baseline.generatedAt, new: added, unchanged, fixed } };
}
