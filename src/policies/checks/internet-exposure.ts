// The path verdict: can any part of the internet (gateway ranges such as IAP's aside) open tcp:port on the
// instance through every layer (route, NACL, security groups; subnet and NIC NSGs; firewall policies and
// VPC rules)? Graded by how much of the internet gets through.
import { describeAmount, exposureSeverity } from '../../engine/grade.js';
import type { CheckType } from '../types.js';
import { CannotDecide, GRADE_PARAMS, gradeOf, instanceOf, type GradeParams } from './util.js';

export const internetExposure: CheckType<GradeParams> = {
  meta: {
    id: 'internet-exposure',
    description: 'fails when tcp:port is reachable from the internet (outside the gateway ranges) through every rule layer of the path',
    resource: 'instance',
    params: { type: 'object', additionalProperties: false, properties: { ...GRADE_PARAMS } },
  },
  check(resource, { params, run }) {
    const instance = instanceOf(resource, 'internet-exposure');
    const x = run.exposureOf(instance);
    if (x.verdict === 'unknown') {
      throw new CannotDecide(`cannot tell whether tcp:${run.port} is open to the internet: ${x.reasons.filter((r) => r.action === 'unknown').map((r) => r.why).join('; ')}`);
    }
    if (x.exposed.isEmpty) {
      const why = x.instance.externalAddresses.length ? 'no rule path lets the internet in' : 'no usable external address';
      return { status: 'pass', message: `tcp:${run.port} is not reachable from the internet (${why})`, source: 'internet' };
    }
    // Name the allows of the layer nearest the instance (security groups, the NIC's NSG, the firewall): the
    // route and the subnet-level layers let much more through than RDP.
    const allows = x.reasons.filter((r) => r.action === 'allow');
    const nearest = allows.length ? allows[allows.length - 1].layer : '';
    const rules = [...new Set(allows.filter((r) => r.layer === nearest).map((r) => r.rule))];
    const addresses = x.instance.externalAddresses.filter((a) => x.exposed.ranges(a.includes(':') ? 6 : 4).length > 0);
    return {
      status: 'fail',
      severity: exposureSeverity(x.exposed, gradeOf(params)),
      source: 'internet',
      rules,
      message: `tcp:${run.port} reachable from ${describeAmount(x.exposed)} at ${addresses.join(', ')} through ${rules.join(', ')}`,
    };
  },
};
