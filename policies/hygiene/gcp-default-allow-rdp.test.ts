// The default network's pre-populated rules include default-allow-rdp (tcp:3389 from 0.0.0.0/0, priority 65534)
// (https://cloud.google.com/firewall/docs/firewalls#more_rules_default_vpc).
import { rule, ruleSet } from '../../test/engine/factories.js';
import { policyTester } from '../../test/policies/tester.js';

const vpc = (...rules: Parameters<typeof ruleSet>[1]) => [ruleSet('gcp/vpc/projects/p1/global/networks/default', rules)];

policyTester('gcp-default-allow-rdp', [
  { name: 'default-allow-rdp present', ruleSets: vpc(rule('default-allow-rdp', { priority: 65534, sourceRanges: ['0.0.0.0/0'] })), expect: { status: 'fail', severity: 'low' } },
  { name: 'disabled', ruleSets: vpc(rule('default-allow-rdp', { priority: 65534, sourceRanges: ['0.0.0.0/0'], disabled: true })), expect: { status: 'pass' } },
  { name: 'deleted (another rule only)', ruleSets: vpc(rule('allow-iap-rdp', { sourceRanges: ['35.235.240.0/20'] })), expect: { status: 'pass' } },
  { name: 'firewall policies are not selected', ruleSets: [ruleSet('gcp/policy/1@projects/p1/global/networks/default', [rule('default-allow-rdp', {})], { kind: 'gcp-firewall-policy' })], expect: 'none' },
]);
