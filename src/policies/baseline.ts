// Drift against a previous JSON report (--baseline): which failures are new, which are unchanged, which are
// gone. A failure is the same when its policy and resource (provider, scope, location, id) are: messages and severities may move
// (more of the internet gets through) without it becoming a new finding. Pure.
import type { Drift, Finding, Report } from '../model/results.js';

export const findingKey = (f: Finding) => [f.policyId, f.resource.provider, f.resource.scope, f.resource.location, f.resource.instanceId].join('|');

// Suppressed failures are failures too: accepted for now, not fixed, and not new when the baseline had them.
const failing = (f: Finding) => f.status === 'fail';

/**
 * The comparison a batch of findings at a time (an audit judges scope by scope): mark() each batch, then
 * drift() once every finding has been marked. `covers`: whether this run looked at a baseline failure's
 * resource at all (a `--shard` run judges only its scopes, and what another shard judges is neither fixed nor
 * unchanged here), told whether a finding of this run has its key; every failure when absent.
 */
export class Drifting {
  private readonly before: Map<string, Finding>;
  private readonly now = new Set<string>();
  /** The keys of every finding marked (any status), kept only when `covers` needs them. */
  private readonly judged?: Set<string>;
  private added = 0;
  private unchanged = 0;

  constructor(
    private readonly baseline: Pick<Report, 'findings' | 'generatedAt'>,
    private readonly file: string,
    private readonly covers?: (f: Finding, judged: boolean) => boolean,
  ) {
    this.before = new Map(baseline.findings.filter(failing).map((f) => [findingKey(f), f]));
    if (covers) this.judged = new Set();
  }

  mark(findings: Finding[]): Finding[] {
    return findings.map((f) => {
      const key = findingKey(f);
      this.judged?.add(key);
      if (!failing(f)) return f;
      this.now.add(key);
      const was = this.before.has(key);
      if (was) this.unchanged++;
      else this.added++;
      return { ...f, baseline: was ? ('unchanged' as const) : ('new' as const) };
    });
  }

  drift(): Drift {
    const fixed = [...this.before.entries()].filter(([k, f]) => !this.now.has(k) && (!this.covers || this.covers(f, this.judged!.has(k)))).map(([, f]) => f);
    return { baseline: this.file, baselineGeneratedAt: this.baseline.generatedAt, new: this.added, unchanged: this.unchanged, fixed };
  }
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
