// Rule-level reading of CIS GCP 3.7 ("Ensure that RDP access is restricted from the Internet"): a rule with
// tcp:3389 from 0.0.0.0/0 fails whether or not an instance uses it. Deny wins at equal priority, a lower
// number is evaluated first (https://cloud.google.com/firewall/docs/firewalls#priority_order_for_firewall_rules).
import { rule, ruleSet } from '../../test/engine/factories.js';
import { policyTester } from '../../test/policies/tester.js';

const vpc = (...rules: Parameters<typeof ruleSet>[1]) => [ruleSet('gcp/vpc/projects/p1/global/networks/default', rules)];

policyTester('gcp-firewall-rdp-from-internet', [
  { name: 'default-allow-rdp with no instance at all still fails', ruleSets: vpc(rule('default-allow-rdp', { priority: 65534, sourceRanges: ['0.0.0.0/0'] })), expect: { status: 'fail', severity: 'high', message: /default-allow-rdp \(priority 65534\) lets all of the IPv4 internet reach tcp:3389/ } },
  { name: 'an untargeted deny at a lower number shadows it', ruleSets: vpc(rule('default-allow-rdp', { priority: 65534, sourceRanges: ['0.0.0.0/0'] }), rule('deny-rdp', { priority: 900, action: 'deny', sourceRanges: ['0.0.0.0/0'] })), expect: { status: 'pass' } },
  { name: 'a deny for one tag does not protect the instances without it', ruleSets: vpc(rule('default-allow-rdp', { priority: 65534, sourceRanges: ['0.0.0.0/0'] }), rule('deny-tagged', { priority: 900, action: 'deny', sourceRanges: ['0.0.0.0/0'], targets: { tags: ['locked'] } })), expect: { status: 'fail', severity: 'high' } },
  { name: 'IAP TCP forwarding range only', ruleSets: vpc(rule('allow-iap', { sourceRanges: ['35.235.240.0/20'] })), expect: { status: 'pass' } },
  { name: 'the world on tcp:22 only is not RDP', ruleSets: vpc(rule('default-allow-ssh', { sourceRanges: ['0.0.0.0/0'], protocols: [{ protocol: 'tcp', ports: ['22'] }] })), expect: { status: 'pass' } },
  { name: 'all protocols from the world includes RDP', ruleSets: vpc(rule('allow-all', { sourceRanges: ['0.0.0.0/0'], protocols: [{ protocol: 'all' }] })), expect: { status: 'fail', severity: 'high' } },
  { name: 'a disabled rule opens nothing', ruleSets: vpc(rule('default-allow-rdp', { sourceRanges: ['0.0.0.0/0'], disabled: true })), expect: { status: 'pass' } },
  { name: 'a port range that covers 3389', ruleSets: vpc(rule('range', { sourceRanges: ['::/0'], protocols: [{ protocol: 'tcp', ports: ['3000-4000'] }] })), expect: { status: 'fail', severity: 'high', message: /IPv6 internet/ } },
  { name: 'one office /24: low', ruleSets: vpc(rule('office', { sourceRanges: ['81.2.69.0/24'] })), expect: { status: 'fail', severity: 'low' } },
]);
