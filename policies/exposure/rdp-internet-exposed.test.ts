// Path exposure, written from the clouds' documentation: GCP firewall rules are first-match by priority with
// deny winning ties and an implied deny ingress (https://cloud.google.com/firewall/docs/firewalls); IAP's
// 35.235.240.0/20 is a gateway, not exposure (../../../shared/docs/interface.md "Access summary").
import { instance, rule, ruleSet } from '../../test/engine/factories.js';
import { firewallPath, policyTester } from '../../test/policies/tester.js';

const vpc = (...rules: Parameters<typeof ruleSet>[1]) => [ruleSet('vpc', rules)];
const paths = { p: firewallPath('vpc') };
const defaultAllowRdp = rule('default-allow-rdp', { priority: 65534, sourceRanges: ['0.0.0.0/0'] });

policyTester('rdp-internet-exposed', [
  { name: 'default-allow-rdp on an instance with an external address: all of the IPv4 internet, high', ruleSets: vpc(defaultAllowRdp), paths, instances: [instance()], expect: { status: 'fail', severity: 'high', message: /all of the IPv4 internet at 34\.1\.2\.3 through default-allow-rdp/ } },
  { name: 'deny at priority 900 shadows default-allow-rdp', ruleSets: vpc(defaultAllowRdp, rule('deny-rdp', { priority: 900, action: 'deny', sourceRanges: ['0.0.0.0/0'] })), paths, instances: [instance()], expect: { status: 'pass' } },
  { name: 'IAP range only: a gateway, not exposure', ruleSets: vpc(rule('allow-iap', { sourceRanges: ['35.235.240.0/20'] })), paths, instances: [instance()], expect: { status: 'pass' } },
  { name: 'no external address: nothing on the internet can reach it', ruleSets: vpc(defaultAllowRdp), paths, instances: [instance({ externalIPv4: null })], expect: { status: 'pass', message: /no usable external address/ } },
  { name: 'a /8 of public space: more than a /16, medium', ruleSets: vpc(rule('wide', { sourceRanges: ['34.0.0.0/8'] })), paths, instances: [instance()], expect: { status: 'fail', severity: 'medium' } },
  { name: 'one office /24: low', ruleSets: vpc(rule('office', { sourceRanges: ['81.2.69.0/24'] })), paths, instances: [instance()], expect: { status: 'fail', severity: 'low', message: /256 IPv4 addresses \(81\.2\.69\.0\/24\)/ } },
  { name: 'the medium threshold is a parameter: a /16 with mediumIPv4 1024 is medium', ruleSets: vpc(rule('office16', { sourceRanges: ['81.2.0.0/16'] })), paths, instances: [instance()], params: { mediumIPv4: 1024 }, expect: { status: 'fail', severity: 'medium' } },
  { name: '::/0 to an external IPv6 address: high', ruleSets: vpc(rule('v6-world', { sourceRanges: ['::/0'] })), paths, instances: [instance({ externalIPv4: null, externalIPv6: '2600:1900:4010:a2::' })], expect: { status: 'fail', severity: 'high', message: /all of the IPv6 internet/ } },
  { name: 'a private range only (default-allow-internal) exposes nothing', ruleSets: vpc(rule('default-allow-internal', { sourceRanges: ['10.128.0.0/9'], protocols: [{ protocol: 'all' }] })), paths, instances: [instance()], expect: { status: 'pass' } },
  { name: 'a rule set that cannot be read: error, not pass', ruleSets: [ruleSet('vpc', [], { unreadable: 'permission denied' })], paths, instances: [instance()], expect: { status: 'error', message: /permission denied/ } },
]);
