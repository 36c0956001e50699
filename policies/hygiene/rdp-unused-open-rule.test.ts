// A world-open rule that applies to no instance: GCP rules apply to instances with a target tag or service
// account, or to all instances of the network when they name none
// (https://cloud.google.com/firewall/docs/firewalls#rule_assignment).
import { instance, rule, ruleSet } from '../../test/engine/factories.js';
import { firewallPath, policyTester } from '../../test/policies/tester.js';

const paths = { p: firewallPath('vpc') };
const tagged = rule('allow-rdp-tagged', { sourceRanges: ['0.0.0.0/0'], targets: { tags: ['rdp'] } });

policyTester('rdp-unused-open-rule', [
  { name: 'open to the world for tag rdp, no instance has it', ruleSets: [ruleSet('vpc', [tagged])], paths, instances: [instance({ tags: ['web'] })], expect: { status: 'fail', message: /allow-rdp-tagged \(priority 1000\) opens tcp:3389 to the internet and applies to no instance/ } },
  { name: 'an instance has the tag', ruleSets: [ruleSet('vpc', [tagged])], paths, instances: [instance({ tags: ['rdp'] })], expect: { status: 'pass' } },
  { name: 'an untargeted rule in a network with no instance', ruleSets: [ruleSet('vpc', [rule('default-allow-rdp', { sourceRanges: ['0.0.0.0/0'] })])], paths, instances: [], expect: { status: 'fail' } },
  { name: 'no rule open to the internet', ruleSets: [ruleSet('vpc', [rule('allow-iap', { sourceRanges: ['35.235.240.0/20'] })])], paths, instances: [instance()], expect: { status: 'not-applicable' } },
]);
