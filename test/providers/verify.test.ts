// `explain --verify-with-api`: the computed verdict against the cloud's own effective rules, through the real SDKs
// and the fakes (GCP instances.getEffectiveFirewalls, Azure listEffectiveNetworkSecurityGroups, a long-running
// operation). Agreement on the demo; a disagreement when the cloud's view holds a rule the audit could not see.
import { describe, expect, it } from 'vitest';
import { startFakeGce } from '../fakes/gce/server.js';
import { startFakeArm } from '../fakes/azure/server.js';
import { nicId, nsgId } from '../fakes/azure/fixtures.js';
import { azureEnv, gcpEnv, rdpcloud } from '../cli/helpers.js';
import { DEMO_PROJECTS, demoWorld } from '../demo/gcp-world.js';
import { AZ_PROD, AZ_TOKEN, azureDemoWorld } from '../demo/azure-world.js';

const projects = DEMO_PROJECTS.flatMap((p) => ['--project', p]);

describe('explain --verify-with-api', () => {
  it('GCP: the effective firewalls agree with the computed path, hierarchical policies included', async () => {
    const fake = await startFakeGce(demoWorld(), { token: 'test-token' });
    try {
      const r = await rdpcloud(['explain', 'win-legacy-01', ...projects, '--source', 'internet', '--source', 'iap', '--verify-with-api'], gcpEnv(fake.port));
      expect(r.code, r.stderr).toBe(0);
      expect(r.stdout).toContain("checked against the cloud's own view (instances.getEffectiveFirewalls): it agrees");
      expect(fake.requests.filter((q) => q.op === 'instances.getEffectiveFirewalls')).toHaveLength(1);
    } finally {
      await fake.close();
    }
  });

  it("GCP: a policy only the instance's effective view shows is a disagreement (exit 3)", async () => {
    const w = demoWorld();
    const deny = { name: '830000000003', shortName: 'late-org-deny', type: 'HIERARCHY', rules: [{ priority: 10, direction: 'INGRESS', action: 'deny', description: 'deny-rdp-everywhere', match: { srcIpRanges: ['0.0.0.0/0'], layer4Configs: [{ ipProtocol: 'tcp', ports: ['3389'] }] } }] };
    w.projects['acme-prod'].regionalEffectiveFirewalls = { 'us-central1/default': { firewalls: w.projects['acme-prod'].firewalls, firewallPolicys: [deny] } };
    const fake = await startFakeGce(w, { token: 'test-token' });
    try {
      const r = await rdpcloud(['explain', 'win-web-01', ...projects, '--verify-with-api', '--format', 'json'], gcpEnv(fake.port));
      expect(r.code).toBe(3);
      const out = JSON.parse(r.stdout);
      expect(out.verification).toMatchObject({ api: 'instances.getEffectiveFirewalls', agrees: false });
      expect(out.verification.checks[0]).toMatchObject({ source: 'internet', computed: 'reachable', cloud: 'blocked' });
      expect(out.verification.checks[0].cloudReasons[0]).toMatchObject({ rule: 'deny-rdp-everywhere', action: 'deny' });
    } finally {
      await fake.close();
    }
  });

  it('Azure: the effective NSGs (subnet, then NIC) agree with the computed path', async () => {
    const fake = await startFakeArm(azureDemoWorld(), { token: AZ_TOKEN, linkBase: 'azure' });
    try {
      for (const name of ['az-win-app-01', 'az-win-web-01', 'az-win-std-01']) {
        const r = await rdpcloud(['explain', name, '--subscription', AZ_PROD, '--verify-with-api'], azureEnv(fake.port));
        expect(r.stdout, name).toContain("checked against the cloud's own view (networkInterfaces.listEffectiveNetworkSecurityGroups): it agrees");
        expect(r.code, name).toBe(0);
      }
    } finally {
      await fake.close();
    }
  });

  it('Azure: an effective rule the NSG listing did not show is a disagreement', async () => {
    const w = azureDemoWorld();
    const nic = nicId(AZ_PROD, 'rg-app', 'az-win-app-01-nic');
    w.subscriptions[AZ_PROD].effectiveNetworkSecurityGroups = {
      [nic]: {
        value: [
          {
            networkSecurityGroup: { id: nsgId(AZ_PROD, 'rg-app', 'nsg-nic-rdp') },
            association: { networkInterface: { id: nic } },
            effectiveSecurityRules: [
              { name: 'securityRules/AdminDenyRdp', protocol: 'Tcp', sourcePortRange: '0-65535', destinationPortRange: '3389-3389', sourceAddressPrefix: '0.0.0.0/0', destinationAddressPrefix: '0.0.0.0/0', access: 'Deny', priority: 100, direction: 'Inbound' },
              { name: 'defaultSecurityRules/DenyAllInBound', protocol: 'All', sourcePortRange: '0-65535', destinationPortRange: '0-65535', sourceAddressPrefix: '0.0.0.0/0', destinationAddressPrefix: '0.0.0.0/0', access: 'Deny', priority: 65500, direction: 'Inbound' },
            ],
          },
        ],
      },
    };
    const fake = await startFakeArm(w, { token: AZ_TOKEN, linkBase: 'azure' });
    try {
      const r = await rdpcloud(['explain', 'az-win-app-01', '--subscription', AZ_PROD, '--verify-with-api'], azureEnv(fake.port));
      expect(r.code).toBe(3);
      expect(r.stdout).toContain('IT DISAGREES');
      expect(r.stdout).toContain("from internet: computed REACHABLE (0.0.0.0/0), the cloud's rules give BLOCKED");
      expect(r.stdout).toContain('NIC NSG: DENY by AdminDenyRdp (priority 100)');
    } finally {
      await fake.close();
    }
  });

  it('AWS has no effective-rules API: said, not faked; --from cannot be verified', async () => {
    const demo = new URL('../../examples/demo-inventory.json', import.meta.url).pathname;
    const r = await rdpcloud(['explain', 'aws-win-web-01', '--from', demo, '--verify-with-api']);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/--verify-with-api asks the cloud: leave out --from/);
  });
});
