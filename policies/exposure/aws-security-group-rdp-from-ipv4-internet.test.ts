// CIS AWS 5.2 (v3.0.0) / 5.3 (v5.0.0), rule-level: security groups allow only, so any inbound rule with
// tcp:3389 (or all traffic, IpProtocol -1) from 0.0.0.0/0 opens the port
// (https://docs.aws.amazon.com/vpc/latest/userguide/security-group-rules.html).
import type { Rule } from '../../src/model/inventory.js';
import { rule, ruleSet } from '../../test/engine/factories.js';
import { policyTester } from '../../test/policies/tester.js';

const sg = (...rules: Parameters<typeof ruleSet>[1]) => [ruleSet('aws/111122223333/sg-0abc', rules, { provider: 'aws', scope: '111122223333', kind: 'aws-security-group', name: 'security group sg-0abc (rdp)' })];
const inbound = (name: string, cidr: string, protocols: Rule['protocols'] = [{ protocol: '6', ports: ['3389-3389'] }]) => rule(name, { priority: 0, sourceRanges: [cidr], protocols });

policyTester('aws-security-group-rdp-from-ipv4-internet', [
  { name: 'tcp 3389 from 0.0.0.0/0', ruleSets: sg(inbound('inbound tcp 3389 from 0.0.0.0/0', '0.0.0.0/0')), expect: { status: 'fail', severity: 'high', message: /inbound tcp 3389 from 0\.0\.0\.0\/0 lets all of the IPv4 internet/ } },
  { name: 'all traffic (-1) from 0.0.0.0/0', ruleSets: sg(inbound('inbound all from 0.0.0.0/0', '0.0.0.0/0', [{ protocol: '-1' }])), expect: { status: 'fail', severity: 'high' } },
  { name: 'a port range 3380-3390 from 0.0.0.0/0', ruleSets: sg(inbound('range', '0.0.0.0/0', [{ protocol: '6', ports: ['3380-3390'] }])), expect: { status: 'fail', severity: 'high' } },
  { name: '::/0 only is the IPv6 policy, not this one', ruleSets: sg(inbound('v6', '::/0')), expect: { status: 'pass' } },
  { name: 'the VPC range only', ruleSets: sg(inbound('vpc', '10.0.0.0/16')), expect: { status: 'pass' } },
  { name: 'tcp 22 from the world is not RDP', ruleSets: sg(inbound('ssh', '0.0.0.0/0', [{ protocol: '6', ports: ['22-22'] }])), expect: { status: 'pass' } },
  { name: 'an office /24: low', ruleSets: sg(inbound('office', '81.2.69.0/24')), expect: { status: 'fail', severity: 'low' } },
]);
