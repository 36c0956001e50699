// What several check types share: reading the grading parameters, and the error a check throws when the
// inventory cannot tell (an unreadable rule layer): the runtime turns it into an `error` result.
import { DEFAULT_GRADE, type GradeOptions } from '../../engine/grade.js';
import type { Instance, RuleSet } from '../../model/inventory.js';
import type { Resource } from '../types.js';

export class CannotDecide extends Error {}

export interface GradeParams {
  mediumIPv4?: number;
  mediumIPv6Prefix?: number;
}

export const GRADE_PARAMS = {
  mediumIPv4: { type: 'integer', minimum: 0, description: 'more than this many IPv4 addresses is medium, not low (default 65536, a /16)' },
  mediumIPv6Prefix: { type: 'integer', minimum: 0, maximum: 128, description: 'more than a /N of IPv6 is medium, not low (default 48)' },
} as const;

export function gradeOf(p: GradeParams): GradeOptions {
  return { mediumIPv4: p.mediumIPv4 !== undefined ? BigInt(p.mediumIPv4) : DEFAULT_GRADE.mediumIPv4, mediumIPv6Prefix: p.mediumIPv6Prefix ?? DEFAULT_GRADE.mediumIPv6Prefix };
}

export function instanceOf(r: Resource, check: string): Instance {
  if (r.kind !== 'instance') throw new Error(`check ${check} judges instances, not ${r.kind}s`);
  return r.instance;
}

export function ruleSetOf(r: Resource, check: string): RuleSet {
  if (r.kind !== 'rule-set') throw new Error(`check ${check} judges rule sets, not ${r.kind}s`);
  return r.ruleSet;
}

export const priorityOf = (name: string, priority: number, kind: string) => (kind === 'aws-security-group' ? name : `${name} (priority ${priority})`);
