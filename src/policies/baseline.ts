// Drift against a previous JSON report (--baseline): which failures are new, which are unchanged, which are
// gone. A failure is the same when its policy and resource (provider, scope, location, id) are: messages and severities may move
// (more of the internet gets through) without it becoming a new finding. Pure.
import type { Drift, Finding, Report } from '../model/results.js';

export const findingKey = (f: Finding) => [f.policyId, f.resource.provider, f.resource.scope, f.resource.location, f.resource.instanceId].join('|');

// Suppressed failures are failures too: accepted for now, not fixed, and not new when the baseline had them.
const failing = (f: Finding) => f.status === 'fail';

/**
 * `covers`: whether this run looked at a baseline failure's resource at all (a `--shard` run judges only its
 * scopes, and what another shard judges is neither fixed nor unchanged here); every failure when absent.
 */
export function compareBaseline(findings: Finding[], baseline: Pick<Report, 'findings' | 'generatedAt'>, file: string, covers: (f: Finding) => boolean = () => true): { findings: Finding[]; drift: Drift } {
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
  const fixed = [...before.entries()].filter(([k, f]) => !now.has(k) && covers(f)).map(([, f]) => f);
  return { findings: marked, drift: { baseline: file, baselineGeneratedAt: baseline.generatedAt, new: added, unchanged, fixed } };
}

/**
 * The drift of a merged report, from its findings (a failure several shards report counts once) and the
 * shards' fixed lists (less what another shard still finds failing).
 */
export function mergeDrift(findings: Finding[], drifts: Drift[]): Drift {
  const now = new Set(findings.filter(failing).map(findingKey));
  const fixed = new Map<string, Finding>();
  for (const d of drifts) for (const f of d.fixed) if (!now.has(findingKey(f))) fixed.set(findingKey(f), f);
  return {
    baseline: [...new Set(drifts.map((d) => d.baseline))].join(', '),
    baselineGeneratedAt: drifts.map((d) => d.baselineGeneratedAt).sort()[0],
    new: findings.filter((f) => failing(f) && f.baseline === 'new').length,
    unchanged: findings.filter((f) => failing(f) && f.baseline === 'unchanged').length,
    fixed: [...fixed.values()],
  };
}
