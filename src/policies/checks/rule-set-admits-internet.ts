// The rule-level reading the CIS benchmarks use: does this firewall / security group / network ACL / NSG, on
// its own, let the internet reach tcp:port on anything it targets? Earlier rules that apply to every target
// (a deny at a lower priority number, a NACL entry before it) count; the route and other layers do not.
import { AddressSet } from '../../engine/addresses.js';
import { describeAmount, exposureSeverity } from '../../engine/grade.js';
import { exposureSource } from '../../engine/sources.js';
import type { CheckType } from '../types.js';
import { GRADE_PARAMS, gradeOf, priorityOf, ruleSetOf, type GradeParams } from './util.js';

export interface AdmitsParams extends GradeParams {
  /** Which address families count (CIS AWS 5.2 is IPv4 only, 5.3 IPv6 only). */
  families?: (4 | 6)[];
}

/** The internet (outside the gateways) in these families, made once per list: the check runs per rule set. */
const worlds = new Map<string, AddressSet>();
function worldOf(families: (4 | 6)[]): AddressSet {
  const key = families.join(',');
  let w = worlds.get(key);
  if (!w) worlds.set(key, (w = families.reduce((acc, f) => acc.union(exposureSource().external.only(f)), AddressSet.EMPTY)));
  return w;
}

export const ruleSetAdmitsInternet: CheckType<AdmitsParams> = {
  meta: {
    id: 'rule-set-admits-internet',
    description: 'fails when a rule of the rule set lets the internet (in the chosen address families) reach tcp:port, earlier rules for every target taken into account',
    resource: 'rule-set',
    params: {
      type: 'object',
      additionalProperties: false,
      properties: { ...GRADE_PARAMS, families: { type: 'array', items: { enum: [4, 6] }, minItems: 1, uniqueItems: true } },
    },
  },
  check(resource, { params, run }) {
    const rs = ruleSetOf(resource, 'rule-set-admits-internet');
    const use = run.ruleSetUse(rs);
    if (use.direction === 'return') return { status: 'not-applicable', message: 'egress rules (the return path), not ingress' };
    if (rs.unreadable) return { status: 'not-applicable', message: `not readable: ${rs.unreadable}` };
    const families = params.families ?? [4, 6];
    const world = worldOf(families);
    const fam = families.length === 2 ? 'the internet' : `the IPv${families[0]} internet`;
    const hits = use.admits(world, run.port);
    if (hits.length === 0) return { status: 'pass', message: `no rule lets ${fam} reach tcp:${run.port}` };
    const admitted = hits.reduce((acc, h) => acc.union(h.admitted), AddressSet.EMPTY);
    const rules = hits.map((h) => h.rule.name);
    return {
      status: 'fail',
      severity: exposureSeverity(admitted, gradeOf(params)),
      rules,
      message: `${hits.map((h) => priorityOf(h.rule.name, h.rule.priority, rs.kind)).join(', ')} let${hits.length === 1 ? 's' : ''} ${describeAmount(admitted)} reach tcp:${run.port}`,
    };
  },
};
