// Rule sets no instance uses are audited too: a security group attached to nothing, an NSG associated with no
// subnet or NIC, a VPC network with no VM in it. Their rules apply to no instance today, but a rule in them
// that lets the internet reach tcp:3389 is a finding (the rule-level benchmarks read every group and rule),
// and the next instance attached to them is open on day one. Each cloud through its real SDK path against its
// loopback fake, the demo worlds (test/demo/*-world.ts); expectations written from the clouds' documentation:
//  [sg]   https://docs.aws.amazon.com/vpc/latest/userguide/vpc-security-groups.html - a security group controls the
//         traffic of the resources it is associated with; it can exist associated with none
//  [cis-aws] CIS AWS Foundations 5.2 / Security Hub EC2.13 - no security group allows 0.0.0.0/0 to port 3389
//         (every group of the region, attached or not)
//  [nsg]  https://learn.microsoft.com/azure/virtual-network/network-security-groups-overview - an NSG filters the
//         subnets and network interfaces it is associated with ("zero, or one" per subnet and NIC); source `*` is
//         any address
//  [fw]   https://cloud.google.com/firewall/docs/firewalls - each VPC firewall rule belongs to one VPC network and
//         applies to instances in that network only
//  [nfp]  https://cloud.google.com/firewall/docs/network-firewall-policies - a global network firewall policy takes
//         effect in the VPC networks it is associated with; a regional one in its region, in the networks it is
//         associated with; a policy can exist associated with none
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startFakeAws, type FakeAws } from '../fakes/aws/server.js';
import { startFakeArm, type FakeArm } from '../fakes/azure/server.js';
import { startFakeGce, type FakeGce, type GceWorld } from '../fakes/gce/server.js';
import { instance, network, networkUrl } from '../fakes/gce/fixtures.js';
import { awsEnv, azureEnv, gcpEnv, rdpcloud } from '../cli/helpers.js';
import { PROD, awsDemoWorld } from '../demo/aws-world.js';
import { AZ_PROD, AZ_TOKEN, azureDemoWorld } from '../demo/azure-world.js';
import { DEMO_PROJECTS, demoWorld } from '../demo/gcp-world.js';
import type { Finding, Report } from '../../src/model/results.js';

let aws: FakeAws;
let arm: FakeArm;
let gce: FakeGce;
beforeAll(async () => {
  aws = await startFakeAws(awsDemoWorld(), {});
  arm = await startFakeArm(azureDemoWorld(), { token: AZ_TOKEN, linkBase: 'azure' });
  gce = await startFakeGce(demoWorld(), { token: 'test-token' });
});
afterAll(async () => {
  await aws.close();
  await arm.close();
  await gce.close();
});

async function audit(args: string[], env: Record<string, string>): Promise<Report> {
  const r = await rdpcloud(['audit', ...args, '--format', 'json'], env);
  expect([0, 1, 3], r.stderr).toContain(r.code);
  return JSON.parse(r.stdout) as Report;
}
const finding = (rep: Report, policyId: string, ref: string): Finding | undefined => rep.findings.find((f) => f.policyId === policyId && f.resource.ref === ref);

describe('rule sets no instance uses are judged on their own rules', () => {
  it('AWS: a world-open security group attached to nothing fails the group check and is an unused open rule [sg, cis-aws]', async () => {
    const rep = await audit(['--provider', 'aws', '--region', 'eu-west-1'], awsEnv(aws.port));
    const ref = `aws:${PROD}/sg-0rdplegacy000001`;
    expect(finding(rep, 'aws-security-group-rdp-from-ipv4-internet', ref)).toMatchObject({ status: 'fail', severity: 'high', resource: { kind: 'rule-set', instance: 'security group sg-0rdplegacy000001 (rdp-legacy)' } });
    expect(finding(rep, 'rdp-unused-open-rule', ref)).toMatchObject({ status: 'fail', rules: ['inbound tcp 3389 from 0.0.0.0/0'] });
    // The same rule in a group that instances use: open, but used.
    expect(finding(rep, 'rdp-unused-open-rule', `aws:${PROD}/sg-0rdpworld0000001`)).toMatchObject({ status: 'pass' });
    // Nothing crosses it: no instance's verdict names it.
    expect(rep.results.flatMap((r) => r.reasons).some((x) => x.ruleSet?.includes('sg-0rdplegacy000001'))).toBe(false);
  });

  it('Azure: an NSG associated with no subnet or NIC that admits any source fails the NSG check and is unused [nsg]', async () => {
    const rep = await audit(['--provider', 'azure'], azureEnv(arm.port));
    const ref = `azure:${AZ_PROD}/rg-app/nsg-old-rdp`;
    expect(finding(rep, 'azure-nsg-rdp-from-internet', ref)).toMatchObject({ status: 'fail', resource: { kind: 'rule-set' } });
    expect(finding(rep, 'rdp-unused-open-rule', ref)).toMatchObject({ status: 'fail', rules: ['AllowRdpFromAnywhere'] });
    // An NSG on a VM's NIC, open the same way: used.
    expect(rep.findings.find((f) => f.policyId === 'rdp-unused-open-rule' && f.resource.ref?.startsWith(`azure:${AZ_PROD}/rg-app/nsg-nic-rdp@`))).toMatchObject({ status: 'pass' });
  });

  it("GCP: a service project's own network with no VM in it: its allow-all rule fails the firewall check and is unused [fw]", async () => {
    const rep = await audit(DEMO_PROJECTS.flatMap((p) => ['--project', p]), gcpEnv(gce.port));
    const ref = 'gcp:acme-shared-svc/network/default';
    expect(finding(rep, 'gcp-firewall-rdp-from-internet', ref)).toMatchObject({ status: 'fail', rules: ['svc-allow-all'] });
    expect(finding(rep, 'rdp-unused-open-rule', ref)).toMatchObject({ status: 'fail', rules: ['svc-allow-all'] });
    // Its VMs sit on the host's network and obey the host's rules only.
    expect(rep.results.flatMap((r) => r.reasons).some((x) => x.rule === 'svc-allow-all')).toBe(false);
  });

  it('GCP: network firewall policies no path reads (a network with no VM, a region with none, associated with nothing) are judged on their rules [nfp]', async () => {
    const open = (ruleName: string) => ({ priority: 1000, direction: 'INGRESS', action: 'allow', ruleName, match: { srcIpRanges: ['0.0.0.0/0'], layer4Configs: [{ ipProtocol: 'tcp', ports: ['3389'] }] } });
    const policy = (name: string, nets: string[], rule: string, region?: string) => ({
      name,
      ...(region ? { region: `https://www.googleapis.com/compute/v1/projects/pol-proj/regions/${region}` } : {}),
      associations: nets.map((n) => ({ name: `assoc-${n}`, attachmentTarget: networkUrl('pol-proj', n) })),
      rules: [open(rule)],
    });
    const world: GceWorld = {
      projects: {
        'pol-proj': {
          instances: [instance({ project: 'pol-proj', zone: 'us-central1-a', name: 'win-1', natIP: '34.1.1.1', windows: true })],
          firewalls: [],
          networks: [network('pol-proj', 'default'), network('pol-proj', 'lab')],
          // What Google says applies to the network with the VM: its global policy (as the listing has it).
          effectiveFirewalls: { default: { firewalls: [], firewallPolicys: [{ name: 'default-policy', type: 'NETWORK', rules: [open('default-open')] }] } },
          networkFirewallPolicies: {
            global: [policy('default-policy', ['default'], 'default-open'), policy('lab-policy', ['lab'], 'lab-open'), policy('spare', [], 'spare-open')],
            'regions/us-central1': [policy('central-open', ['default'], 'central-open')],
            'regions/europe-west4': [policy('central-open', ['default'], 'eu-open')],
          },
        },
      },
    };
    const fake = await startFakeGce(world, { token: 'test-token' });
    try {
      const rep = await audit(['--project', 'pol-proj'], gcpEnv(fake.port));
      const unused = (ref: string) => finding(rep, 'rdp-unused-open-rule', ref);
      const open3389 = (ref: string) => finding(rep, 'gcp-firewall-rdp-from-internet', ref);
      // Off every path: world-open and unused.
      for (const [ref, rule] of [
        ['gcp:pol-proj/firewall-policy/lab-policy@lab', 'lab-open'],
        ['gcp:pol-proj/firewall-policy/spare', 'spare-open'],
        ['gcp:pol-proj/firewall-policy/europe-west4/central-open@default', 'eu-open'],
      ] as const) {
        expect(open3389(ref), ref).toMatchObject({ status: 'fail', rules: [rule] });
        expect(unused(ref), ref).toMatchObject({ status: 'fail', rules: [rule] });
      }
      // On the VM's path: used, once each (the same name in two regions is two policies).
      expect(unused('gcp:pol-proj/firewall-policy/default-policy@default')).toMatchObject({ status: 'pass' });
      expect(unused('gcp:pol-proj/firewall-policy/us-central1/central-open@default')).toMatchObject({ status: 'pass' });
      expect(rep.findings.filter((f) => f.policyId === 'rdp-unused-open-rule' && f.resource.ref?.includes('default-policy'))).toHaveLength(1);
      const win = rep.results.find((r) => r.instance === 'win-1' && r.source === 'internet')!;
      expect(win.verdict).toBe('reachable');
      expect(win.reasons.map((x) => x.rule)).not.toContain('eu-open');
      // Nothing more was asked of the API for them: one effective-firewalls call, for the network with the VM.
      expect(fake.requests.filter((r) => r.op === 'networks.getEffectiveFirewalls')).toHaveLength(1);
    } finally {
      await fake.close();
    }
  });
});
