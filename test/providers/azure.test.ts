// The Azure provider end to end: the real @azure/arm-compute, @azure/arm-network and
// @azure/arm-resources-subscriptions clients, through `rdpcloud audit`, against the loopback fake ARM serving the
// demo organisation (test/demo/azure-world.ts). Expected verdicts are written by hand from Microsoft's
// documentation (linked in test/engine/azure-semantics.test.ts).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startFakeArm, type FakeArm } from '../fakes/azure/server.js';
import { azureEnv, rdpcloud } from '../cli/helpers.js';
import { AZ_DEV, AZ_PROD, AZ_TOKEN, azureDemoWorld } from '../demo/azure-world.js';
import { OFFICE } from '../demo/gcp-world.js';
import type { Report } from '../../src/model/results.js';


let fake: FakeArm;
// nextLinks name https://management.azure.com, as ARM's do: rdpcloud must bring them back to the override.
beforeAll(async () => {
  fake = await startFakeArm(azureDemoWorld(), { token: AZ_TOKEN, pageSize: 3, linkBase: 'azure' });
});
afterAll(() => fake.close());

const find = (rep: Report, name: string, source = 'internet') => rep.results.find((r) => r.instance === name && r.source === source)!;
const summary = (rep: Report, name: string) => rep.instances.find((i) => i.instance === name)!;

describe('azure provider against the fake ARM', () => {
  let rep: Report;
  let code: number;
  beforeAll(async () => {
    fake.requests.length = 0;
    const r = await rdpcloud(['audit', '--provider', 'azure', '--format', 'json'], azureEnv(fake.port));
    code = r.code;
    rep = JSON.parse(r.stdout) as Report;
  });

  it('lists every enabled subscription; an unreadable NSG listing gives unknown, never a skip (exit 3)', () => {
    expect(rep.scopes.map((s) => [s.scope, s.status])).toEqual([[AZ_PROD, 'ok'], [AZ_DEV, 'ok']]);
    expect(find(rep, 'az-win-dev-01').verdict).toBe('unknown');
    expect(find(rep, 'az-win-dev-01').reasons).toContainEqual(expect.objectContaining({ action: 'unknown', why: expect.stringMatching(/permission denied/) }));
    expect(code).toBe(3);
  });

  it.each([
    ['az-win-web-01', 'blocked', [{ layer: 'subnet NSG', rule: 'DenyRdpFromInternet', action: 'deny' }, { layer: 'NIC NSG', rule: 'AllowRdpFromInternet', action: 'allow' }], 'gateway-only'],
    ['az-win-app-01', 'reachable', [{ layer: 'NIC NSG', rule: 'AllowRdpFromInternet', action: 'allow' }], 'exposed'],
    ['az-win-any-01', 'reachable', [{ layer: 'NIC NSG', rule: 'AllowAnyAny', action: 'allow' }], 'exposed'],
    ['az-win-range-01', 'reachable', [{ layer: 'NIC NSG', rule: 'AllowRemoteRange', action: 'allow' }], 'exposed'],
    ['az-win-std-01', 'blocked', [{ layer: 'public IP', rule: 'Standard SKU public IP', action: 'deny' }], 'gateway-only'],
    ['az-win-basic-01', 'reachable', [{ layer: 'public IP', rule: 'Basic SKU public IP', action: 'allow' }], 'exposed'],
    ['az-win-bastion-01', 'blocked', [{ layer: 'address', rule: 'no usable address', action: 'deny' }], 'gateway-only'],
    ['az-win-office-01', 'partial', [{ layer: 'NIC NSG', rule: 'AllowRdpFromOffice', action: 'allow' }, { layer: 'NIC NSG', rule: 'DenyAllInBound', action: 'deny' }], 'exposed'],
    ['az-win-dealloc-01', 'reachable', [{ layer: 'NIC NSG', rule: 'AllowRdpFromInternet', action: 'allow' }], 'exposed'],
    ['az-lin-app-01', 'blocked', [{ layer: 'address', rule: 'no usable address', action: 'deny' }], 'gateway-only'],
  ] as const)('%s: %s, %s', (name, verdict, deciding, acc) => {
    const r = find(rep, name);
    expect(r, name).toBeDefined();
    expect(r.verdict, JSON.stringify(r.reasons, null, 1)).toBe(verdict);
    for (const d of deciding) expect(r.reasons).toContainEqual(expect.objectContaining(d));
    expect(summary(rep, name).access).toBe(acc);
    if (acc === 'gateway-only') expect(summary(rep, name).gateway).toBe('bastion');
  });

  it('reads power states, OS, addresses and priorities as ARM returns them', () => {
    expect(find(rep, 'az-win-dealloc-01').state).toBe('PowerState/deallocated');
    expect(find(rep, 'az-win-app-01').state).toBe('PowerState/running');
    expect(summary(rep, 'az-lin-app-01').os).toBe('linux');
    expect(summary(rep, 'az-win-app-01')).toMatchObject({ provider: 'azure', scope: AZ_PROD, location: 'westeurope', externalAddresses: ['20.50.1.12'] });
    expect(find(rep, 'az-win-office-01').allowedRanges).toEqual([OFFICE]);
    expect(find(rep, 'az-win-web-01').reasons.find((r) => r.rule === 'DenyRdpFromInternet')).toMatchObject({ priority: 200, ruleSet: 'NSG nsg-snet-web (rg-app)' });
  });

  it('makes no per-VM call; nextLinks pointing at management.azure.com are followed through the override', () => {
    const ops = fake.requests.reduce<Record<string, number>>((acc, q) => ({ ...acc, [q.op]: (acc[q.op] ?? 0) + 1 }), {});
    // 10 VMs over pages of 3 = 4 pages, listed twice (configuration, then statusOnly power states)
    expect(ops['compute.virtualMachines.listAll']).toBe(4 * 2 + 2); // + the dev subscription's one page, twice
    expect(ops['compute.virtualMachines.get']).toBeUndefined();
    expect(ops['compute.virtualMachines.instanceView']).toBeUndefined();
    expect(ops['network.networkInterfaces.listEffectiveNetworkSecurityGroups']).toBeUndefined();
    expect(fake.requests.every((q) => q.authorization === `Bearer ${AZ_TOKEN}`)).toBe(true);
  });
});

describe('azure scopes and errors', () => {
  it('--subscription picks one; explain narrows the open rule to the Bastion subnet and connects through Bastion', async () => {
    const r = await rdpcloud(['explain', 'az-win-app-01', '--subscription', AZ_PROD], azureEnv(fake.port));
    expect(r.code).toBe(0);
    expect(r.stdout).toContain(`azure:${AZ_PROD}/rg-app/az-win-app-01`);
    expect(r.stdout).toContain('az network nsg rule update --resource-group rg-app --nsg-name nsg-nic-rdp --name AllowRdpFromInternet --source-address-prefixes 10.40.255.0/26');
    expect(r.stdout).toContain('az network bastion rdp --name bas-app');
  });

  it('a subnet deny: an allow above it in the subnet NSG for a declared source', async () => {
    const r = await rdpcloud(['explain', `azure:${AZ_PROD}/rg-app/az-win-web-01`, '--subscription', AZ_PROD, '--source', OFFICE], azureEnv(fake.port));
    expect(r.stdout).toContain(`az network nsg rule create --resource-group rg-app --nsg-name nsg-snet-web --name rdpcloud-allow-rdp --priority 199 --direction Inbound --access Allow --protocol Tcp --destination-port-ranges 3389 --source-address-prefixes ${OFFICE}`);
  });

  it('retries 429 with Retry-After and loses nothing', async () => {
    const flaky = await startFakeArm(azureDemoWorld(), { token: AZ_TOKEN, pageSize: 3, throttleRetryAfterSeconds: 1, fault: (_req, attempt) => (attempt === 1 ? 'throttled' : undefined) });
    try {
      const r = await rdpcloud(['audit', '--subscription', AZ_PROD, '--format', 'json'], azureEnv(flaky.port));
      const rep = JSON.parse(r.stdout) as Report;
      expect(rep.instances).toHaveLength(10);
      expect(flaky.requests.filter((q) => q.status === 429).length).toBeGreaterThan(0);
    } finally {
      await flaky.close();
    }
  });

  it('a rejected token fails the subscription with what to do', async () => {
    const r = await rdpcloud(['audit', '--subscription', AZ_PROD], azureEnv(fake.port, 'wrong-token'));
    expect(r.code).toBe(3);
    expect(r.stderr).toMatch(/credentials were rejected \(401/);
  });

  it('plain http to a non-loopback ARM endpoint is refused; an unknown cloud is a usage error', async () => {
    const a = await rdpcloud(['audit', '--subscription', AZ_PROD, '--azure-endpoint', 'http://arm.example.com'], { RDPCLOUD_AZURE_TOKEN: 't' });
    expect(a.code).toBe(2);
    expect(a.stderr).toMatch(/plain http is allowed only for loopback/);
    const b = await rdpcloud(['audit', '--subscription', AZ_PROD, '--azure-cloud', 'mars'], { RDPCLOUD_AZURE_TOKEN: 't' });
    expect(b.code).toBe(2);
    expect(b.stderr).toMatch(/--azure-cloud "mars": use public, usgov or china/);
  });
});
