// `explain --verify-with-api`: the computed path against the cloud's own effective rules for the same instance,
// both judged by the same engine, source by source. A disagreement means one of the two sees a rule the other
// does not (a policy the audit could not read, a rule the API leaves out), and is reported, not resolved.
import type { EffectiveView, Instance, Inventory } from '../model/inventory.js';
import type { Result, Verdict } from '../model/results.js';
import { evaluate } from './evaluate.js';
import type { Source } from './sources.js';

export interface VerifyCheck {
  source: string;
  computed: Verdict;
  cloud: Verdict;
  agrees: boolean;
  computedRanges: string[];
  cloudRanges: string[];
  /** The deciding rules in the cloud's view, when the two differ. */
  cloudReasons?: Result['reasons'];
}

export interface Verification {
  api: string;
  agrees: boolean;
  checks: VerifyCheck[];
}

export function compareViews(inv: Inventory, instance: Instance, view: EffectiveView, sources: Source[], port: number): Verification {
  const computed = evaluate({ ...inv, instances: [instance] }, sources, port).results;
  const cloudInv: Inventory = { ...inv, ruleSets: [...inv.ruleSets, ...view.ruleSets], paths: { ...inv.paths, ...view.paths }, instances: [{ ...instance, nics: view.nics }] };
  const cloud = evaluate(cloudInv, sources, port).results;
  const checks = computed.map((a, i): VerifyCheck => {
    const b = cloud[i];
    const agrees = a.verdict === b.verdict && JSON.stringify(a.allowedRanges) === JSON.stringify(b.allowedRanges);
    return { source: a.source, computed: a.verdict, cloud: b.verdict, agrees, computedRanges: a.allowedRanges, cloudRanges: b.allowedRanges, ...(agrees ? {} : { cloudReasons: b.reasons }) };
  });
  return { api: view.api, agrees: checks.every((c) => c.agrees), checks };
}
