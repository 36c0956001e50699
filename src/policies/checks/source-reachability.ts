// The troubleshooting view as a check: the sources the user declared (--source, named sets in rdpcloud.yaml)
// must reach tcp:port on the instances declared for them. Blocked fails at the policy's severity; reachable
// from part of the source only fails one step lower.
import { SEVERITIES } from '../../model/results.js';
import type { CheckType } from '../types.js';
import { CannotDecide, instanceOf } from './util.js';

export interface ReachParams {
  /** Only these declared sources (default: every declared source except `internet`). */
  sources?: string[];
  /** Whether reachable from part of the source counts as a pass. */
  partialPasses?: boolean;
}

export const sourceReachability: CheckType<ReachParams> = {
  meta: {
    id: 'source-reachability',
    description: 'fails when a declared source cannot reach tcp:port on an instance it is declared for',
    resource: 'instance',
    params: {
      type: 'object',
      additionalProperties: false,
      properties: { sources: { type: 'array', items: { type: 'string', minLength: 1 } }, partialPasses: { type: 'boolean' } },
    },
  },
  check(resource, { params, run, policy }) {
    const instance = instanceOf(resource, 'source-reachability');
    const declared = run.declaredSources.filter((d) => (params.sources ? params.sources.includes(d.label) : d.label !== 'internet'));
    const applicable = declared.filter((d) => !d.mustReach || run.matches(instance, d.mustReach));
    const results = run.resultsOf(instance).filter((r) => applicable.some((d) => d.label === r.source));
    if (results.length === 0) {
      return { status: 'not-applicable', message: declared.length ? 'no declared source applies to this instance' : 'no source declared (--source CIDR or a source set in rdpcloud.yaml)' };
    }
    const unknown = results.filter((r) => r.verdict === 'unknown');
    if (unknown.length) throw new CannotDecide(`cannot tell whether ${unknown.map((r) => r.source).join(', ')} reach${unknown.length === 1 ? 'es' : ''} tcp:${run.port}: a rule layer could not be read`);
    const blocked = results.filter((r) => r.verdict === 'blocked');
    const partial = params.partialPasses ? [] : results.filter((r) => r.verdict === 'partial');
    if (!blocked.length && !partial.length) return { status: 'pass', message: `reachable from ${results.map((r) => r.source).join(', ')}` };
    const denies = (r: (typeof results)[number]) => [...new Set(r.reasons.filter((x) => x.action === 'deny').map((x) => x.rule))];
    const parts = [
      ...blocked.map((r) => `unreachable from ${r.source} (${denies(r).join(', ')})`),
      ...partial.map((r) => `reachable from part of ${r.source} only (${r.allowedRanges.slice(0, 4).join(', ')}${r.allowedRanges.length > 4 ? ', ...' : ''}); the rest stopped by ${denies(r).join(', ')}`),
    ];
    const lower = SEVERITIES[Math.min(SEVERITIES.length - 1, SEVERITIES.indexOf(policy.severity) + 1)];
    return {
      status: 'fail',
      severity: blocked.length ? policy.severity : lower,
      source: [...blocked, ...partial].map((r) => r.source).join(','),
      rules: [...new Set([...blocked, ...partial].flatMap(denies))],
      message: `tcp:${run.port} ${parts.join('; ')}`,
    };
  },
};
