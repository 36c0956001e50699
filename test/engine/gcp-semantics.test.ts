// GCP firewall semantics as a table of cases. Each expectation is written from Google's documentation:
//  [fw]  https://cloud.google.com/vpc/docs/firewalls (priority, deny beats allow at equal priority, disabled,
//        targets, sourceTags never match external traffic, implied deny ingress at 65535)
//  [pol] https://cloud.google.com/firewall/docs/firewall-policies-rule-eval-order (hierarchical policies first,
//        org then folders; goto_next; networkFirewallPolicyEnforcementOrder AFTER/BEFORE_CLASSIC_FIREWALL)
//  [iap] https://cloud.google.com/iap/docs/using-tcp-forwarding (35.235.240.0/20 reaches the internal address)
//  [ifc] ../../shared/docs/interface.md (sources, verdicts, access summary)
import { describe, expect, it } from 'vitest';
import { evaluate } from '../../src/engine/evaluate.js';
import { resolveSource } from '../../src/engine/sources.js';
import type { Instance, Layer, Rule, RuleSet } from '../../src/model/inventory.js';
import { gcpLayer, instance, inventory, rule, ruleSet } from './factories.js';

interface Case {
  name: string;
  rules?: Rule[];
  /** Extra stages (policies) and the order: defaults to just the VPC rules. */
  ruleSets?: RuleSet[];
  stages?: string[];
  instance?: Instance;
  source?: string;
  port?: number;
  expect: 'reachable' | 'partial' | 'blocked' | 'unknown';
  deciding?: string | string[];
  allowed?: string[];
  access?: string;
}

const WORLD = ['0.0.0.0/0'];
const defaultAllowRdp = rule('default-allow-rdp', { priority: 65534, sourceRanges: WORLD });

const cases: Case[] = [
  { name: 'default-allow-rdp opens tcp:3389 to the whole IPv4 internet [fw]', rules: [defaultAllowRdp], expect: 'reachable', deciding: 'default-allow-rdp', access: 'exposed' },
  {
    name: 'deny at priority 900 shadows default-allow-rdp [fw]',
    rules: [defaultAllowRdp, rule('deny-rdp-900', { priority: 900, action: 'deny', sourceRanges: WORLD })],
    expect: 'blocked',
    deciding: 'deny-rdp-900',
  },
  {
    name: 'deny beats allow at equal priority [fw]',
    rules: [rule('allow-1000', { sourceRanges: WORLD }), rule('deny-1000', { action: 'deny', sourceRanges: WORLD })],
    expect: 'blocked',
    deciding: 'deny-1000',
  },
  {
    name: 'a lower-priority-number allow wins over a later deny [fw]',
    rules: [rule('allow-100', { priority: 100, sourceRanges: WORLD }), rule('deny-200', { priority: 200, action: 'deny', sourceRanges: WORLD })],
    expect: 'reachable',
    deciding: 'allow-100',
  },
  {
    name: 'a disabled deny is ignored [fw]',
    rules: [defaultAllowRdp, rule('deny-off', { priority: 10, action: 'deny', sourceRanges: WORLD, disabled: true })],
    expect: 'reachable',
    deciding: 'default-allow-rdp',
  },
  {
    name: 'a disabled allow opens nothing: the implied deny applies [fw]',
    rules: [rule('allow-off', { sourceRanges: WORLD, disabled: true })],
    expect: 'blocked',
    deciding: 'implied deny ingress',
  },
  { name: 'no rule at all: implied deny ingress [fw]', rules: [], expect: 'blocked', deciding: 'implied deny ingress', access: 'unreachable' },
  {
    name: 'target tag not on the instance: the rule does not apply [fw]',
    rules: [rule('allow-rdp-tag', { sourceRanges: WORLD, targets: { tags: ['rdp'] } })],
    instance: instance({ tags: ['web'] }),
    expect: 'blocked',
    deciding: 'implied deny ingress',
  },
  {
    name: 'target tag on the instance: the rule applies [fw]',
    rules: [rule('allow-rdp-tag', { sourceRanges: WORLD, targets: { tags: ['rdp'] } })],
    instance: instance({ tags: ['web', 'rdp'] }),
    expect: 'reachable',
    deciding: 'allow-rdp-tag',
  },
  {
    name: 'target service account matches the instance service account [fw]',
    rules: [rule('allow-sa', { sourceRanges: WORLD, targets: { serviceAccounts: ['win@p1.iam.gserviceaccount.com'] } })],
    instance: instance({ serviceAccounts: ['win@p1.iam.gserviceaccount.com'] }),
    expect: 'reachable',
    deciding: 'allow-sa',
  },
  {
    name: 'target service account of another identity does not apply [fw]',
    rules: [rule('allow-sa', { sourceRanges: WORLD, targets: { serviceAccounts: ['other@p1.iam.gserviceaccount.com'] } })],
    instance: instance({ serviceAccounts: ['win@p1.iam.gserviceaccount.com'] }),
    expect: 'blocked',
  },
  {
    name: 'sourceTags never match internet traffic [fw]',
    rules: [rule('allow-from-bastion-tag', { sourceRanges: [], sourceIdentities: ['tag:bastion'] })],
    expect: 'blocked',
    deciding: 'implied deny ingress',
  },
  {
    name: 'sourceRanges OR sourceTags: the range part still matches [fw]',
    rules: [rule('allow-mixed', { sourceRanges: WORLD, sourceIdentities: ['tag:bastion'] })],
    expect: 'reachable',
    deciding: 'allow-mixed',
  },
  {
    name: 'default-allow-internal exposes nothing to the internet [ifc]',
    rules: [rule('default-allow-internal', { priority: 65534, sourceRanges: ['10.128.0.0/9'], protocols: [{ protocol: 'tcp', ports: ['0-65535'] }] })],
    expect: 'blocked',
    access: 'private-only',
  },
  {
    name: 'default-allow-internal admits a private source to the internal address [ifc]',
    rules: [rule('default-allow-internal', { priority: 65534, sourceRanges: ['10.128.0.0/9'], protocols: [{ protocol: 'tcp', ports: ['0-65535'] }] })],
    source: '10.128.4.0/24',
    expect: 'reachable',
    deciding: 'default-allow-internal',
  },
  {
    name: '0.0.0.0/1 + 128.0.0.0/1 is the whole internet',
    rules: [rule('low-half', { sourceRanges: ['0.0.0.0/1'] }), rule('high-half', { sourceRanges: ['128.0.0.0/1'] })],
    expect: 'reachable',
    deciding: ['low-half', 'high-half'],
  },
  {
    name: 'a deny for a sub-range of an allow gives partial, without that range',
    rules: [rule('allow-world', { priority: 1000, sourceRanges: WORLD }), rule('deny-one', { priority: 900, action: 'deny', sourceRanges: ['8.8.8.0/24'] })],
    source: '8.8.0.0/16',
    expect: 'partial',
    deciding: ['allow-world', 'deny-one'],
    allowed: ['8.8.0.0/21', '8.8.9.0/24', '8.8.10.0/23', '8.8.12.0/22', '8.8.16.0/20', '8.8.32.0/19', '8.8.64.0/18', '8.8.128.0/17'],
  },
  {
    name: 'port range 3000-4000 covers 3389 [fw]',
    rules: [rule('range', { sourceRanges: WORLD, protocols: [{ protocol: 'tcp', ports: ['3000-4000'] }] })],
    expect: 'reachable',
    deciding: 'range',
  },
  {
    name: 'a port list without 3389 does not match [fw]',
    rules: [rule('web', { sourceRanges: WORLD, protocols: [{ protocol: 'tcp', ports: ['80', '443', '3390-3400'] }] })],
    expect: 'blocked',
  },
  { name: 'protocol all matches every port [fw]', rules: [rule('all', { sourceRanges: WORLD, protocols: [{ protocol: 'all' }] })], expect: 'reachable', deciding: 'all' },
  { name: 'tcp with no ports matches every port [fw]', rules: [rule('tcp-any', { sourceRanges: WORLD, protocols: [{ protocol: 'tcp' }] })], expect: 'reachable' },
  { name: 'protocol number "6" is tcp [fw]', rules: [rule('six', { sourceRanges: WORLD, protocols: [{ protocol: '6', ports: ['3389'] }] })], expect: 'reachable' },
  { name: 'udp:3389 does not open tcp:3389 [fw]', rules: [rule('udp', { sourceRanges: WORLD, protocols: [{ protocol: 'udp', ports: ['3389'] }] })], expect: 'blocked' },
  {
    name: '--port changes the port judged',
    rules: [rule('rdp-alt', { sourceRanges: WORLD, protocols: [{ protocol: 'tcp', ports: ['13389'] }] })],
    port: 13389,
    expect: 'reachable',
  },
  {
    name: 'IPv6: ::/0 opens the external IPv6 address; an IPv4-only rule leaves IPv6 shut -> partial [fw]',
    rules: [rule('v4', { sourceRanges: WORLD })],
    instance: instance({ externalIPv6: '2600:1900:4000:1::' }),
    expect: 'partial',
    deciding: ['v4', 'implied deny ingress'],
  },
  {
    name: 'IPv6: v4 and v6 rules together reach every family the instance has',
    rules: [rule('v4', { sourceRanges: WORLD }), rule('v6', { sourceRanges: ['::/0'] })],
    instance: instance({ externalIPv6: '2600:1900:4000:1::' }),
    expect: 'reachable',
  },
  {
    name: 'IPv6 only: ::/0 on an IPv6-only external address is reachable (IPv4 has no external address)',
    rules: [rule('v6', { sourceRanges: ['::/0'] })],
    instance: instance({ externalIPv4: null, externalIPv6: '2600:1900:4000:1::' }),
    expect: 'reachable',
    access: 'exposed',
  },
  {
    name: 'no external address: internet is blocked whatever the rules say [ifc]',
    rules: [defaultAllowRdp],
    instance: instance({ externalIPv4: null }),
    expect: 'blocked',
    deciding: 'no usable address',
    // 0.0.0.0/0 includes IAP's 35.235.240.0/20, which reaches the internal address [iap]
    access: 'gateway-only',
  },
  {
    name: 'iap reaches the internal address of a VM with no external IP [iap]',
    rules: [rule('allow-iap', { sourceRanges: ['35.235.240.0/20'] })],
    instance: instance({ externalIPv4: null }),
    source: 'iap',
    expect: 'reachable',
    deciding: 'allow-iap',
    access: 'gateway-only',
  },
  {
    name: 'an IAP-only rule on a VM with an external IP: internet partial, access gateway-only [ifc]',
    rules: [rule('allow-iap', { sourceRanges: ['35.235.240.0/20'] })],
    expect: 'partial',
    allowed: ['35.235.240.0/20'],
    access: 'gateway-only',
  },
  {
    name: 'iap blocked when only the world rule targets another tag',
    rules: [rule('allow-tagged', { sourceRanges: WORLD, targets: { tags: ['rdp'] } })],
    source: 'iap',
    expect: 'blocked',
  },
  {
    name: 'hierarchical deny at the org beats a VPC allow [pol]',
    rules: [defaultAllowRdp],
    ruleSets: [ruleSet('org', [rule('org-deny-rdp', { priority: 100, action: 'deny', sourceRanges: WORLD })], { kind: 'gcp-firewall-policy' })],
    stages: ['org', 'vpc'],
    expect: 'blocked',
    deciding: 'org-deny-rdp',
  },
  {
    name: 'goto_next in the org policy hands the decision to the VPC rules [pol]',
    rules: [defaultAllowRdp],
    ruleSets: [ruleSet('org', [rule('org-next', { priority: 100, action: 'next', sourceRanges: WORLD, protocols: [{ protocol: 'all' }] })])],
    stages: ['org', 'vpc'],
    expect: 'reachable',
    deciding: 'default-allow-rdp',
  },
  {
    name: 'a folder policy allow is final: a VPC deny never sees the traffic [pol]',
    rules: [rule('vpc-deny', { priority: 0, action: 'deny', sourceRanges: WORLD })],
    ruleSets: [
      ruleSet('org', [rule('org-next', { priority: 2147483647, action: 'next', sourceRanges: WORLD, protocols: [{ protocol: 'all' }] })]),
      ruleSet('folder', [rule('folder-allow', { priority: 10, sourceRanges: WORLD })]),
    ],
    stages: ['org', 'folder', 'vpc'],
    expect: 'reachable',
    deciding: 'folder-allow',
  },
  {
    name: 'AFTER_CLASSIC_FIREWALL: the VPC rule decides before the network policy [pol]',
    rules: [defaultAllowRdp],
    ruleSets: [ruleSet('netpol', [rule('netpol-deny', { priority: 1, action: 'deny', sourceRanges: WORLD })])],
    stages: ['vpc', 'netpol'],
    expect: 'reachable',
    deciding: 'default-allow-rdp',
  },
  {
    name: 'BEFORE_CLASSIC_FIREWALL: the network policy decides first [pol]',
    rules: [defaultAllowRdp],
    ruleSets: [ruleSet('netpol', [rule('netpol-deny', { priority: 1, action: 'deny', sourceRanges: WORLD })])],
    stages: ['netpol', 'vpc'],
    expect: 'blocked',
    deciding: 'netpol-deny',
  },
  {
    name: 'an unreadable hierarchical policy makes the verdict unknown [task 2]',
    rules: [defaultAllowRdp],
    ruleSets: [ruleSet('org', [], { unreadable: 'permission denied: compute.firewallPolicies.get' })],
    stages: ['org', 'vpc'],
    expect: 'unknown',
  },
  {
    name: 'an unreadable stage after a rule that decided everything does not matter',
    rules: [defaultAllowRdp],
    ruleSets: [ruleSet('netpol', [], { unreadable: 'permission denied' })],
    stages: ['vpc', 'netpol'],
    expect: 'reachable',
    deciding: 'default-allow-rdp',
  },
  {
    name: 'destinationRanges limit an ingress rule to those instance addresses [fw]',
    rules: [rule('to-other-ip', { sourceRanges: WORLD, destinationRanges: ['34.9.9.9/32'] })],
    expect: 'blocked',
  },
  {
    name: 'destinationRanges that include the instance address apply [fw]',
    rules: [rule('to-my-ip', { sourceRanges: WORLD, destinationRanges: ['34.1.2.0/24'] })],
    expect: 'reachable',
  },
  {
    name: 'a geo-restricted rule cannot be judged offline: unknown [pol]',
    ruleSets: [ruleSet('netpol', [rule('geo-allow', { priority: 10, sourceRanges: [], indeterminate: 'matches by srcRegionCodes (US), which cannot be evaluated offline' })])],
    rules: [],
    stages: ['vpc', 'netpol'],
    expect: 'unknown',
  },
  {
    name: 'a source set mixing private and public ranges, both allowed: reachable on both addresses',
    rules: [rule('corp', { sourceRanges: ['10.0.0.0/8', '198.51.100.0/24'] })],
    source: 'corp',
    expect: 'reachable',
  },
];

describe('GCP firewall semantics', () => {
  it.each(cases)('$name', (c) => {
    const vpc = ruleSet('vpc', c.rules ?? []);
    const sets = [vpc, ...(c.ruleSets ?? [])];
    const layer: Layer = gcpLayer(c.stages ?? ['vpc']);
    const inv = inventory(sets, [layer], [c.instance ?? instance()]);
    const src = resolveSource(c.source ?? 'internet', { corp: ['10.0.0.0/8', '198.51.100.0/24'] });
    const { results, instances } = evaluate(inv, [src], c.port ?? 3389);
    expect(results).toHaveLength(1);
    const r = results[0];
    expect(r.verdict).toBe(c.expect);
    if (c.deciding) {
      const names = r.reasons.map((x) => x.rule);
      for (const d of [c.deciding].flat()) expect(names).toContain(d);
    }
    if (c.allowed) expect(r.allowedRanges).toEqual(c.allowed);
    if (c.expect === 'reachable' && !c.allowed) expect(r.allowedRanges.length).toBeGreaterThan(0);
    if (c.expect === 'blocked') expect(r.allowedRanges).toEqual([]);
    if (c.access) expect(instances[0].access).toBe(c.access);
  });
});
