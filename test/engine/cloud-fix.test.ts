// The cloud side of fix on GCP as a table: one narrow rule above the deny that stops the fix source, never the
// world without --allow-world, nothing a VPC rule cannot do (../../../shared/docs/interface.md "Fix safety").
import { describe, expect, it } from 'vitest';
import { evaluate } from '../../src/engine/evaluate.js';
import { resolveSource } from '../../src/engine/sources.js';
import { WorldOpenRefused, planCloudFix } from '../../src/engine/cloud-fix.js';
import { gcpLayer, instance, inventory, rule, ruleSet } from './factories.js';

const IAP = '35.235.240.0/20';
function plan(rules: Parameters<typeof ruleSet>[1], source = 'iap', stages = ['vpc'], extra: ReturnType<typeof ruleSet>[] = [], allowWorld = false) {
  const vm = instance({ tags: ['locked'] });
  vm.nics[0].network = 'https://www.googleapis.com/compute/v1/projects/p1/global/networks/default';
  const inv = inventory([ruleSet('vpc', rules, { name: 'VPC firewall rules of default' }), ...extra], [gcpLayer(stages)], [vm]);
  const src = resolveSource(source);
  const [r] = evaluate(inv, [src], 3389).results;
  return planCloudFix(vm, r, src.all.toCidrs(), { allowWorld });
}

describe('cloud-side fix plans', () => {
  it('a deny at 900 stops IAP: allow IAP at 899 for the tag', () => {
    const p = plan([rule('deny-rdp', { priority: 900, action: 'deny', sourceRanges: ['0.0.0.0/0'], targets: { tags: ['locked'] } })]);
    expect(p).toMatchObject({ fix: { project: 'p1', tag: 'rdpcloud-rdp', firewall: { name: 'rdpcloud-allow-rdp-iap', network: 'default', priority: 899, sourceRanges: [IAP], allowed: [{ IPProtocol: 'tcp', ports: ['3389'] }], targetTags: ['rdpcloud-rdp'] } } });
  });
  it('nothing admits it: a rule at the default priority 1000', () => {
    expect(plan([])).toMatchObject({ fix: { firewall: { priority: 1000 } } });
  });
  it('already reachable: nothing to do', () => {
    expect(plan([rule('allow-iap', { sourceRanges: [IAP] })])).toEqual({ nothing: 'tcp:3389 already gets through from iap' });
  });
  it('a hierarchical deny is left alone: a VPC rule cannot override it', () => {
    const org = ruleSet('org', [rule('org-deny', { priority: 10, action: 'deny', sourceRanges: ['0.0.0.0/0'] })], { name: 'hierarchical policy org', kind: 'gcp-firewall-policy' });
    const p = plan([], 'iap', ['org', 'vpc'], [org]);
    expect(p).toEqual({ leftAlone: expect.stringMatching(/hierarchical policy org denies it with "org-deny"/) });
  });
  it('a fix source that is the whole internet is refused without --allow-world', () => {
    expect(() => plan([], 'internet')).toThrow(WorldOpenRefused);
    expect(() => plan([], '0.0.0.0/0')).toThrow(WorldOpenRefused);
    expect(plan([], 'internet', ['vpc'], [], true)).toHaveProperty('fix');
  });
  it('a narrow public source is fine', () => {
    expect(plan([], '81.2.69.0/24')).toMatchObject({ fix: { firewall: { name: 'rdpcloud-allow-rdp', sourceRanges: ['81.2.69.0/24'] } } });
  });
});
