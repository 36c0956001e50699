// A rule that should not exist by name, enabled (GCP's `default-allow-rdp`, created with the default
// network: https://cloud.google.com/firewall/docs/firewalls#more_rules_default_vpc).
import type { CheckType } from '../types.js';
import { ruleSetOf } from './util.js';

export interface NamedParams {
  names: string[];
}

export const ruleNamed: CheckType<NamedParams> = {
  meta: {
    id: 'rule-named',
    description: 'fails when the rule set has an enabled rule with one of the given names',
    resource: 'rule-set',
    params: { type: 'object', additionalProperties: false, required: ['names'], properties: { names: { type: 'array', items: { type: 'string', minLength: 1 }, minItems: 1 } } },
  },
  check(resource, { params }) {
    const rs = ruleSetOf(resource, 'rule-named');
    const found = rs.rules.filter((r) => !r.disabled && params.names.includes(r.name)).map((r) => r.name);
    if (found.length === 0) return { status: 'pass', message: `no rule named ${params.names.join(' or ')}` };
    return { status: 'fail', rules: found, message: `${found.join(', ')} present in ${rs.name}` };
  },
};
