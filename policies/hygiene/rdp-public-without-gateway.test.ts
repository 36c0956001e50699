// A public RDP path with no sanctioned gateway: on GCP the gateway is IAP TCP forwarding, which needs a rule
// for 35.235.240.0/20 (https://cloud.google.com/iap/docs/using-tcp-forwarding#create-firewall-rule).
import { instance, rule, ruleSet } from '../../test/engine/factories.js';
import { firewallPath, policyTester } from '../../test/policies/tester.js';

const paths = { p: firewallPath('vpc') };
const world = rule('default-allow-rdp', { priority: 65534, sourceRanges: ['0.0.0.0/0'] });
const office = rule('allow-office', { sourceRanges: ['81.2.69.0/24'] });
const iap = rule('allow-iap', { sourceRanges: ['35.235.240.0/20'] });

policyTester('rdp-public-without-gateway', [
  { name: 'public to an office range, no IAP rule', ruleSets: [ruleSet('vpc', [office])], paths, instances: [instance()], expect: { status: 'fail', message: /public on 34\.1\.2\.3 and no gateway reaches it \(iap not allowed/ } },
  { name: 'public, and IAP is allowed too: a gateway is in use', ruleSets: [ruleSet('vpc', [office, iap])], paths, instances: [instance()], expect: { status: 'pass', message: /gateway is in use: iap/ } },
  { name: 'default-allow-rdp admits IAP as well (0.0.0.0/0 includes it)', ruleSets: [ruleSet('vpc', [world])], paths, instances: [instance()], expect: { status: 'pass' } },
  { name: 'an external address but RDP closed', ruleSets: [ruleSet('vpc', [iap])], paths, instances: [instance()], expect: { status: 'pass' } },
  { name: 'no external address', ruleSets: [ruleSet('vpc', [office])], paths, instances: [instance({ externalIPv4: null })], expect: { status: 'not-applicable' } },
]);
