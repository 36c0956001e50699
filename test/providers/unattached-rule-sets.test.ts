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
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startFakeAws, type FakeAws } from '../fakes/aws/server.js';
import { startFakeArm, type FakeArm } from '../fakes/azure/server.js';
import { startFakeGce, type FakeGce } from '../fakes/gce/server.js';
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
});
