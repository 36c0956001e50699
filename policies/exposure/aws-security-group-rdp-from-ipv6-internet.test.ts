// CIS AWS 5.3 (v3.0.0) / 5.4 (v5.0.0): the same for ::/0
// (https://docs.aws.amazon.com/vpc/latest/userguide/security-group-rules.html).
import { rule, ruleSet } from '../../test/engine/factories.js';
import { policyTester } from '../../test/policies/tester.js';

const sg = (...rules: Parameters<typeof ruleSet>[1]) => [ruleSet('aws/111122223333/sg-0abc', rules, { provider: 'aws', scope: '111122223333', kind: 'aws-security-group' })];
const inbound = (cidr: string) => rule(`inbound tcp 3389 from ${cidr}`, { priority: 0, sourceRanges: [cidr], protocols: [{ protocol: '6', ports: ['3389-3389'] }] });

policyTester('aws-security-group-rdp-from-ipv6-internet', [
  { name: 'tcp 3389 from ::/0', ruleSets: sg(inbound('::/0')), expect: { status: 'fail', severity: 'high', message: /all of the IPv6 internet/ } },
  { name: '0.0.0.0/0 only is the IPv4 policy', ruleSets: sg(inbound('0.0.0.0/0')), expect: { status: 'pass' } },
  { name: 'the VPC IPv6 range only (a /56 of global unicast) is still public space: low', ruleSets: sg(inbound('2a05:d018:abc:1200::/56')), expect: { status: 'fail', severity: 'low' } },
  { name: 'unique local fc00::/7 is not internet', ruleSets: sg(inbound('fd00::/8')), expect: { status: 'pass' } },
]);
