// CIS Azure 6.1 (v2.1.0) / 7.1 (v3.0.0, v5.0.0): NSG rules are processed by priority, lowest first, and
// processing stops at the first match; the Internet service tag and * (Any) are internet sources
// (https://learn.microsoft.com/en-us/azure/virtual-network/network-security-groups-overview#security-rules).
import { rule, ruleSet } from '../../test/engine/factories.js';
import { policyTester } from '../../test/policies/tester.js';

const SUB = 'a1c3e000-0000-4000-8000-000000000001';
const nsg = (...rules: Parameters<typeof ruleSet>[1]) => [ruleSet(`azure//subscriptions/${SUB}/resourcegroups/rg-app/providers/microsoft.network/networksecuritygroups/nsg-web`, rules, { provider: 'azure', scope: SUB, kind: 'azure-nsg', name: 'NSG nsg-web (rg-app)' })];
const r = (name: string, priority: number, action: 'allow' | 'deny', src: string) => rule(name, { priority, action, sourceRanges: [src] });

policyTester('azure-nsg-rdp-from-internet', [
  { name: 'allow from the Internet tag', ruleSets: nsg(r('AllowRdp', 300, 'allow', 'internet')), expect: { status: 'fail', severity: 'high', message: /AllowRdp \(priority 300\)/ } },
  { name: 'allow from * (Any)', ruleSets: nsg(r('AllowAnyRdp', 300, 'allow', '*')), expect: { status: 'fail', severity: 'high' } },
  { name: 'a deny from Internet at 200 stops the allow from * at 300', ruleSets: nsg(r('DenyRdpFromInternet', 200, 'deny', 'internet'), r('AllowAnyRdp', 300, 'allow', '*')), expect: { status: 'pass' } },
  { name: 'the virtual network range only', ruleSets: nsg(r('AllowVnetRdp', 300, 'allow', '10.1.0.0/16')), expect: { status: 'pass' } },
  { name: 'an office /24: low', ruleSets: nsg(r('AllowRdpFromOffice', 300, 'allow', '81.2.69.0/24')), expect: { status: 'fail', severity: 'low' } },
]);
