// CIS AWS 5.1 (v3.0.0) / 5.2 (v5.0.0): network ACL entries are read lowest rule number first, the first match
// applies, and a final * entry denies (https://docs.aws.amazon.com/vpc/latest/userguide/nacl-rules.html). The
// default ACL allows all traffic. The egress half is judged with the path (return ports), not here.
import type { Rule } from '../../src/model/inventory.js';
import { rule, ruleSet } from '../../test/engine/factories.js';
import { policyTester } from '../../test/policies/tester.js';

const acl = (dir: 'in' | 'out', ...rules: Parameters<typeof ruleSet>[1]) => ruleSet(`aws/111122223333/acl-0abc/${dir}`, rules, { provider: 'aws', scope: '111122223333', kind: 'aws-network-acl', name: 'network ACL acl-0abc' });
const entry = (n: number, action: 'allow' | 'deny', cidr: string, protocols: Rule['protocols'] = [{ protocol: '-1' }]) => rule(`rule ${n}`, { priority: n, action, sourceRanges: [cidr], protocols });

policyTester('aws-network-acl-rdp-from-internet', [
  { name: 'the default ACL: rule 100 allows all from 0.0.0.0/0', ruleSets: [acl('in', entry(100, 'allow', '0.0.0.0/0'))], expect: { status: 'fail', severity: 'medium', message: /rule 100 \(priority 100\)/ } },
  { name: 'a deny for tcp 3389 at 90 before the allow at 100', ruleSets: [acl('in', entry(100, 'allow', '0.0.0.0/0'), entry(90, 'deny', '0.0.0.0/0', [{ protocol: '6', ports: ['3389-3389'] }]))], expect: { status: 'pass' } },
  { name: 'an allow at 100 after a deny at 200 still admits (lowest number first)', ruleSets: [acl('in', entry(200, 'deny', '0.0.0.0/0'), entry(100, 'allow', '0.0.0.0/0'))], expect: { status: 'fail' } },
  { name: 'only the VPC range allowed', ruleSets: [acl('in', entry(100, 'allow', '10.0.0.0/16'))], expect: { status: 'pass' } },
  { name: 'the egress entries are no resource of this policy', ruleSets: [acl('out', entry(100, 'allow', '0.0.0.0/0'))], expect: 'none' },
  { name: '::/0 all traffic also counts', ruleSets: [acl('in', entry(101, 'allow', '::/0'))], expect: { status: 'fail', message: /IPv6/ } },
]);
