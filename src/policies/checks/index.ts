// The check types, registered by hand: a duplicate id is a bug, not a silent override.
import type { CheckType } from '../types.js';
import { internetExposure } from './internet-exposure.js';
import { metadataFlag } from './metadata-flag.js';
import { publicWithoutGateway } from './public-without-gateway.js';
import { ruleNamed } from './rule-named.js';
import { ruleSetAdmitsInternet } from './rule-set-admits-internet.js';
import { sourceReachability } from './source-reachability.js';
import { unusedOpenRule } from './unused-open-rule.js';

function registry(list: CheckType<never>[]): ReadonlyMap<string, CheckType> {
  const m = new Map<string, CheckType>();
  for (const c of list) {
    if (m.has(c.meta.id)) throw new Error(`check type ${c.meta.id} registered twice`);
    m.set(c.meta.id, c as unknown as CheckType);
  }
  return m;
}

export const CHECK_TYPES = registry([internetExposure, ruleSetAdmitsInternet, sourceReachability, metadataFlag, ruleNamed, publicWithoutGateway, unusedOpenRule] as CheckType<never>[]);
