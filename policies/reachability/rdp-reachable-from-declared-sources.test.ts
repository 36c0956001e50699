// The troubleshooting view: a declared source must reach tcp:3389 on the Windows instances declared for it.
// GCP semantics as in rdp-internet-exposed.test.ts (https://cloud.google.com/firewall/docs/firewalls); a CIDR
// outside RFC 1918 reaches the external address, inside it the internal one (../../../shared/docs/interface.md).
import { instance, rule, ruleSet } from '../../test/engine/factories.js';
import { firewallPath, policyTester } from '../../test/policies/tester.js';

const paths = { p: firewallPath('vpc') };
const corp = { corp: ['81.2.69.0/24'] };
const win = (labels: Record<string, string> = {}, os: 'windows' | 'linux' = 'windows') => ({ ...instance(), labels, os });

policyTester('rdp-reachable-from-declared-sources', [
  { name: 'corp is allowed: pass', ruleSets: [ruleSet('vpc', [rule('allow-corp', { sourceRanges: ['81.2.69.0/24'] })])], paths, instances: [win()], sources: ['corp'], named: corp, expect: { status: 'pass', message: /reachable from corp/ } },
  { name: 'nothing admits corp: blocked by the implied deny, medium', ruleSets: [ruleSet('vpc', [])], paths, instances: [win()], sources: ['corp'], named: corp, expect: { status: 'fail', severity: 'medium', message: /unreachable from corp \(implied deny ingress\)/ } },
  { name: 'half of corp admitted: partial, one step lower', ruleSets: [ruleSet('vpc', [rule('allow-half', { sourceRanges: ['81.2.69.0/25'] })])], paths, instances: [win()], sources: ['corp'], named: corp, expect: { status: 'fail', severity: 'low', message: /part of corp only \(81\.2\.69\.0\/25\)/ } },
  { name: 'partialPasses: half of corp is enough', ruleSets: [ruleSet('vpc', [rule('allow-half', { sourceRanges: ['81.2.69.0/25'] })])], paths, instances: [win()], sources: ['corp'], named: corp, params: { partialPasses: true }, expect: { status: 'pass' } },
  { name: 'no source declared: not applicable', ruleSets: [ruleSet('vpc', [])], paths, instances: [win()], expect: { status: 'not-applicable' } },
  { name: 'corp must reach rdp=required only: another instance is not applicable', ruleSets: [ruleSet('vpc', [])], paths, instances: [win({ rdp: 'optional' })], sources: ['corp'], named: corp, mustReach: { corp: { labels: { rdp: 'required' } } }, expect: { status: 'not-applicable' } },
  { name: 'corp must reach rdp=required: the labelled instance fails', ruleSets: [ruleSet('vpc', [])], paths, instances: [win({ rdp: 'required' })], sources: ['corp'], named: corp, mustReach: { corp: { labels: { rdp: 'required' } } }, expect: { status: 'fail' } },
  { name: 'a Linux instance is not selected', ruleSets: [ruleSet('vpc', [])], paths, instances: [win({}, 'linux')], sources: ['corp'], named: corp, expect: 'none' },
  { name: 'a VPN range reaches the internal address', ruleSets: [ruleSet('vpc', [rule('allow-vpn', { sourceRanges: ['10.8.0.0/16'] })])], paths, instances: [{ ...win(), nics: [{ ...instance().nics[0], externalIPv4: undefined }] }], sources: ['10.8.0.0/16'], expect: { status: 'pass' } },
]);
