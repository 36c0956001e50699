// A rule that lets the internet reach tcp:port and applies to no instance in the inventory: nothing needs it
// today, and the next instance that lands in its network (or gets its tag) is open on day one.
import { exposureSource } from '../../engine/sources.js';
import type { CheckType } from '../types.js';
import { priorityOf, ruleSetOf } from './util.js';

export const unusedOpenRule: CheckType = {
  meta: {
    id: 'unused-open-rule',
    description: 'fails when a rule lets the internet reach tcp:port and targets no instance of the inventory',
    resource: 'rule-set',
    params: { type: 'object', additionalProperties: false, properties: {} },
  },
  check(resource, { run }) {
    const rs = ruleSetOf(resource, 'unused-open-rule');
    const use = run.ruleSetUse(rs);
    if (use.direction === 'return' || rs.unreadable) return { status: 'not-applicable', message: 'not an ingress rule set that can be read' };
    const open = use.admits(exposureSource().external, run.port);
    if (open.length === 0) return { status: 'not-applicable', message: `no rule lets the internet reach tcp:${run.port}` };
    const unused = open.filter((h) => use.usersOf(h.rule).length === 0);
    if (unused.length === 0) return { status: 'pass', message: `every rule open to the internet applies to an instance` };
    return {
      status: 'fail',
      rules: unused.map((h) => h.rule.name),
      message: `${unused.map((h) => priorityOf(h.rule.name, h.rule.priority, rs.kind)).join(', ')} open${unused.length === 1 ? 's' : ''} tcp:${run.port} to the internet and appl${unused.length === 1 ? 'ies' : 'y'} to no instance: delete ${unused.length === 1 ? 'it' : 'them'}`,
    };
  },
};
