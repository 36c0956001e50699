// A policy's remediation template, its placeholders filled from the rule set a finding names (what `rdpcloud
// merge` does to word a joined finding again, and what each failing finding carries).
import { describe, expect, it } from 'vitest';
import { ruleSetRemediation } from '../../src/policies/run.js';

const sg = { scope: '123456789012', location: '', instance: 'security group sg-0abc (rdp-world)', instanceId: 'aws/123456789012/sg-0abc', ref: 'aws:123456789012/sg-0abc' };

describe('remediation placeholders', () => {
  it.each([
    ['every placeholder a rule set has', 'aws ec2 revoke-security-group-ingress --group-id {ruleSetId} --protocol tcp --port {port} # {rule} in {scope}', 'aws ec2 revoke-security-group-ingress --group-id sg-0abc --protocol tcp --port 3389 # inbound tcp 3389 from 0.0.0.0/0 in 123456789012'],
    ['the same placeholder twice', '{ruleSetId} and {ruleSetId}', 'sg-0abc and sg-0abc'],
    ['a name no value has: kept as written', 'fix {nope} in {ref}', 'fix {nope} in aws:123456789012/sg-0abc'],
    ["a name of Object's prototype is no value", 'see {constructor}{toString}', 'see {constructor}{toString}'],
    ['braces that are no placeholder', 'a {b-c} {} d', 'a {b-c} {} d'],
    ['placeholders side by side, then trimmed', '  {ruleSetId}{port}  ', 'sg-0abc3389'],
    ['an empty value', 'rg [{resourceGroup}]', 'rg []'],
  ])('%s', (_, template, want) => {
    expect(ruleSetRemediation(template, sg, 'inbound tcp 3389 from 0.0.0.0/0', 3389)).toBe(want);
  });

  it('no template: no remediation', () => {
    expect(ruleSetRemediation(undefined, sg, 'r', 3389)).toBeUndefined();
  });
});
