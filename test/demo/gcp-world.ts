// The demo organisation "acme" as the Compute Engine API returns it: the raw REST JSON the fake GCE server
// serves. `examples/demo-inventory.json` is `rdpcloud snapshot` of this world (test/demo/demo.test.ts keeps
// the two equal), and the expected verdicts in demo.test.ts are written by hand from Google's documentation.
//
// Projects:
//   acme-prod        default network with the pre-populated rules (default-allow-rdp at 65534), a deny at 900
//                    that shadows it for `finance`, an IPv6 rule, a stopped VM with a static address
//   acme-iap         custom network, RDP only from IAP's range 35.235.240.0/20
//   acme-legacy      an organization policy that denies RDP from everywhere but hands IAP's range and the
//                    office range down (goto_next) to a folder policy and the VPC rules
//   acme-net-host    Shared VPC host: its rules decide for the service project's VMs
//   acme-shared-svc  Shared VPC service project; a kiosk VM opened by 0.0.0.0/1 + 128.0.0.0/1, protocol all
//   acme-dev         rules that target a service account, and a disabled allow
//   acme-sandbox     the Compute Engine API is disabled
import type { GceWorld } from '../fakes/gce/server.js';
import { COMPUTE, firewall, instance, network, networkUrl } from '../fakes/gce/fixtures.js';

export const OFFICE = '81.2.69.0/24';
export const IAP_RANGE = '35.235.240.0/20';
const ORG = 'organizations/4711';
const RDP = [{ IPProtocol: 'tcp', ports: ['3389'] }];

/** The four rules GCE creates with the default network (https://cloud.google.com/vpc/docs/firewalls#more_rules_default_vpc). */
function defaultRules(project: string) {
  return [
    firewall({ project, name: 'default-allow-rdp', priority: 65534, sourceRanges: ['0.0.0.0/0'], allowed: RDP, extra: { description: 'Allow RDP from anywhere' } }),
    firewall({ project, name: 'default-allow-ssh', priority: 65534, sourceRanges: ['0.0.0.0/0'], allowed: [{ IPProtocol: 'tcp', ports: ['22'] }], extra: { description: 'Allow SSH from anywhere' } }),
    firewall({ project, name: 'default-allow-icmp', priority: 65534, sourceRanges: ['0.0.0.0/0'], allowed: [{ IPProtocol: 'icmp' }], extra: { description: 'Allow ICMP from anywhere' } }),
    firewall({
      project,
      name: 'default-allow-internal',
      priority: 65534,
      sourceRanges: ['10.128.0.0/9'],
      allowed: [{ IPProtocol: 'tcp', ports: ['0-65535'] }, { IPProtocol: 'udp', ports: ['0-65535'] }, { IPProtocol: 'icmp' }],
      extra: { description: 'Allow internal traffic on the default network' },
    }),
  ];
}

const win = (project: string, zone: string, name: string, o: Partial<Parameters<typeof instance>[0]> = {}) => instance({ project, zone, name, windows: true, ...o });
const lin = (project: string, zone: string, name: string, o: Partial<Parameters<typeof instance>[0]> = {}) => instance({ project, zone, name, linux: true, ...o });

/** A predefined goto_next rule of every firewall policy (https://cloud.google.com/firewall/docs/pre-defined-rules). */
const predefined = (priority: number, range: string) => ({ kind: 'compute#firewallPolicyRule', priority, direction: 'INGRESS', action: 'goto_next', match: { srcIpRanges: [range], layer4Configs: [{ ipProtocol: 'all' }] } });

const orgPolicy = {
  kind: 'compute#firewallPolicy',
  name: '810000000001',
  shortName: 'org-rdp-guard',
  displayName: 'org-rdp-guard',
  type: 'HIERARCHY',
  rules: [
    { kind: 'compute#firewallPolicyRule', priority: 500, direction: 'INGRESS', action: 'goto_next', description: 'org-iap-to-projects', match: { srcIpRanges: [IAP_RANGE], layer4Configs: [{ ipProtocol: 'tcp', ports: ['3389'] }] } },
    { kind: 'compute#firewallPolicyRule', priority: 600, direction: 'INGRESS', action: 'goto_next', description: 'org-office-to-folders', match: { srcIpRanges: [OFFICE], layer4Configs: [{ ipProtocol: 'tcp', ports: ['3389'] }] } },
    { kind: 'compute#firewallPolicyRule', priority: 1000, direction: 'INGRESS', action: 'deny', description: 'org-deny-rdp', match: { srcIpRanges: ['0.0.0.0/0'], layer4Configs: [{ ipProtocol: 'tcp', ports: ['3389'] }] } },
    predefined(2147483645, '::/0'),
    predefined(2147483647, '0.0.0.0/0'),
  ],
};
const folderPolicy = {
  kind: 'compute#firewallPolicy',
  name: '820000000002',
  shortName: 'legacy-folder',
  displayName: 'legacy-folder',
  type: 'HIERARCHY',
  rules: [
    { kind: 'compute#firewallPolicyRule', priority: 200, direction: 'INGRESS', action: 'allow', description: 'folder-allow-office-rdp', match: { srcIpRanges: [OFFICE], layer4Configs: [{ ipProtocol: 'tcp', ports: ['3389'] }] } },
    predefined(2147483645, '::/0'),
    predefined(2147483647, '0.0.0.0/0'),
  ],
};

export function demoWorld(): GceWorld {
  const prod = 'acme-prod';
  const iap = 'acme-iap';
  const legacy = 'acme-legacy';
  const host = 'acme-net-host';
  const svc = 'acme-shared-svc';
  const dev = 'acme-dev';
  const legacyRules = defaultRules(legacy);
  const sharedVm = (vm: ReturnType<typeof instance>) => {
    vm.networkInterfaces[0].network = networkUrl(host, 'shared-vpc');
    vm.networkInterfaces[0].subnetwork = `${COMPUTE}/projects/${host}/regions/europe-west4/subnetworks/shared-eu`;
    return vm;
  };
  const world: GceWorld = {
    projects: {
      [prod]: {
        projectNumber: '100000000001',
        parent: 'folders/300000000001',
        displayName: 'ACME production',
        instances: [
          win(prod, 'us-central1-a', 'win-web-01', { natIP: '34.118.20.11', networkIP: '10.128.0.11', extra: { labels: { env: 'prod', rdp: 'required' } } }),
          win(prod, 'us-central1-a', 'win-web-02', { natIP: '34.118.20.12', networkIP: '10.128.0.12', status: 'TERMINATED' }),
          win(prod, 'us-central1-b', 'win-fin-01', { natIP: '34.118.20.13', networkIP: '10.128.0.13', tags: ['finance'] }),
          win(prod, 'us-central1-b', 'win-db-01', { networkIP: '10.128.0.14', extra: { labels: { env: 'prod' } } }),
          win(prod, 'europe-west1-b', 'win-v6-01', { natIP: '34.140.7.21', externalIpv6: '2600:1900:4010:a1::', networkIP: '10.132.0.21', tags: ['rdp-v6'] }),
          win(prod, 'europe-west1-b', 'win-fin-02', { natIP: '34.140.7.22', externalIpv6: '2600:1900:4010:a2::', networkIP: '10.132.0.22', tags: ['finance', 'rdp-v6'] }),
          lin(prod, 'us-central1-a', 'lin-web-01', { natIP: '34.118.20.31', networkIP: '10.128.0.31' }),
          lin(prod, 'us-central1-a', 'lin-web-02', { natIP: '34.118.20.32', networkIP: '10.128.0.32' }),
          lin(prod, 'us-central1-b', 'lin-web-03', { natIP: '34.118.20.33', networkIP: '10.128.0.33' }),
          lin(prod, 'us-central1-b', 'lin-db-01', { networkIP: '10.128.0.34' }),
        ],
        firewalls: [
          ...defaultRules(prod),
          firewall({ project: prod, name: 'deny-rdp-finance', priority: 900, sourceRanges: ['0.0.0.0/0'], denied: [{ IPProtocol: 'tcp', ports: ['3000-4000'] }], targetTags: ['finance'] }),
          firewall({ project: prod, name: 'allow-rdp-v6', priority: 1000, sourceRanges: ['::/0'], allowed: RDP, targetTags: ['rdp-v6'] }),
          firewall({ project: prod, name: 'allow-egress-all', direction: 'EGRESS', destinationRanges: ['0.0.0.0/0'], allowed: [{ IPProtocol: 'all' }] }),
        ],
        networks: [network(prod)],
        commonInstanceMetadata: { items: [{ key: 'serial-port-enable', value: 'TRUE' }, { key: 'ssh-keys', value: 'ops:ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIDemoKeyNotASecret ops@acme' }] },
      },
      [iap]: {
        projectNumber: '100000000002',
        parent: 'folders/300000000001',
        displayName: 'ACME IAP-only workloads',
        instances: [
          win(iap, 'europe-west4-a', 'win-jump-01', { network: 'corp-vpc', networkIP: '10.10.0.5', tags: ['rdp'], extra: { labels: { env: 'prod', rdp: 'required' } } }),
          win(iap, 'europe-west4-a', 'win-app-01', { network: 'corp-vpc', natIP: '34.90.44.21', networkIP: '10.10.0.21', tags: ['rdp'] }),
          win(iap, 'europe-west4-b', 'win-app-02', { network: 'corp-vpc', natIP: '34.90.44.22', networkIP: '10.10.0.22' }),
          lin(iap, 'europe-west4-a', 'lin-build-01', { network: 'corp-vpc', networkIP: '10.10.1.11' }),
          lin(iap, 'europe-west4-b', 'lin-build-02', { network: 'corp-vpc', networkIP: '10.10.1.12' }),
          lin(iap, 'europe-west4-c', 'lin-build-03', { network: 'corp-vpc', networkIP: '10.10.1.13' }),
        ],
        firewalls: [
          firewall({ project: iap, network: 'corp-vpc', name: 'allow-rdp-from-iap', sourceRanges: [IAP_RANGE], allowed: RDP, targetTags: ['rdp'], extra: { description: 'IAP TCP forwarding only' } }),
          // Left behind for a vendor that no longer exists: no instance carries the tag (hygiene: rdp-unused-open-rule).
          firewall({ project: iap, network: 'corp-vpc', name: 'allow-rdp-vendor', sourceRanges: ['0.0.0.0/0'], allowed: RDP, targetTags: ['vendor-rdp'] }),
          firewall({ project: iap, network: 'corp-vpc', name: 'allow-ssh-from-iap', sourceRanges: [IAP_RANGE], allowed: [{ IPProtocol: 'tcp', ports: ['22'] }] }),
          firewall({ project: iap, network: 'corp-vpc', name: 'allow-internal-corp', priority: 2000, sourceRanges: ['10.10.0.0/16'], allowed: [{ IPProtocol: 'all' }] }),
        ],
        networks: [network(iap, 'corp-vpc', 'AFTER_CLASSIC_FIREWALL', { autoCreateSubnetworks: false })],
      },
      [legacy]: {
        projectNumber: '100000000003',
        parent: 'folders/300000000002',
        displayName: 'ACME legacy apps',
        instances: [
          win(legacy, 'us-east1-b', 'win-legacy-01', { natIP: '35.185.3.41', networkIP: '10.142.0.41' }),
          lin(legacy, 'us-east1-b', 'lin-legacy-01', { natIP: '35.185.3.42', networkIP: '10.142.0.42' }),
        ],
        firewalls: legacyRules,
        networks: [network(legacy)],
        effectiveFirewalls: { default: { firewalls: legacyRules, firewallPolicys: [folderPolicy, orgPolicy] } },
      },
      [host]: {
        projectNumber: '100000000004',
        parent: 'folders/300000000001',
        displayName: 'ACME network host',
        instances: [],
        firewalls: [
          firewall({ project: host, network: 'shared-vpc', name: 'allow-rdp-corp', sourceRanges: ['10.0.0.0/8'], allowed: RDP }),
          firewall({ project: host, network: 'shared-vpc', name: 'allow-kiosk-any', priority: 1100, sourceRanges: ['0.0.0.0/1', '128.0.0.0/1'], allowed: [{ IPProtocol: 'all' }], targetTags: ['kiosk'] }),
        ],
        networks: [network(host, 'shared-vpc', 'AFTER_CLASSIC_FIREWALL', { autoCreateSubnetworks: false })],
      },
      [svc]: {
        projectNumber: '100000000005',
        parent: 'folders/300000000001',
        displayName: 'ACME shared-VPC service',
        instances: [
          sharedVm(win(svc, 'europe-west4-a', 'win-svc-01', { natIP: '34.91.8.11', networkIP: '10.20.0.11' })),
          sharedVm(win(svc, 'europe-west4-a', 'win-kiosk-01', { natIP: '34.91.8.12', networkIP: '10.20.0.12', tags: ['kiosk'] })),
          sharedVm(lin(svc, 'europe-west4-b', 'lin-svc-01', { networkIP: '10.20.0.13' })),
        ],
        // The service project's own (unused) network: its rules never apply to VMs on the host's network.
        firewalls: [firewall({ project: svc, name: 'svc-allow-all', sourceRanges: ['0.0.0.0/0'], allowed: [{ IPProtocol: 'all' }] })],
        networks: [network(svc)],
      },
      [dev]: {
        projectNumber: '100000000006',
        parent: 'folders/300000000002',
        displayName: 'ACME development',
        instances: [
          win(dev, 'us-west1-a', 'win-dev-01', { natIP: '34.82.60.11', networkIP: '10.138.0.11', serviceAccount: `rdp-dev@${dev}.iam.gserviceaccount.com` }),
          win(dev, 'us-west1-a', 'win-dev-02', { natIP: '34.82.60.12', networkIP: '10.138.0.12', serviceAccount: `100000000006-compute@developer.gserviceaccount.com` }),
          lin(dev, 'us-west1-b', 'lin-dev-01', { natIP: '34.82.60.13', networkIP: '10.138.0.13', serviceAccount: `100000000006-compute@developer.gserviceaccount.com` }),
        ],
        firewalls: [
          firewall({ project: dev, name: 'allow-rdp-dev-sa', sourceRanges: ['0.0.0.0/0'], allowed: RDP, targetServiceAccounts: [`rdp-dev@${dev}.iam.gserviceaccount.com`] }),
          firewall({ project: dev, name: 'allow-rdp-everyone-disabled', priority: 500, sourceRanges: ['0.0.0.0/0'], allowed: RDP, disabled: true }),
        ],
        networks: [network(dev)],
      },
      'acme-sandbox': {
        projectNumber: '100000000007',
        parent: 'folders/300000000002',
        displayName: 'ACME sandbox',
        error: 'serviceDisabled',
        instances: [],
        firewalls: [],
        networks: [],
      },
    },
    folders: {
      'folders/300000000001': { parent: ORG, displayName: 'production' },
      'folders/300000000002': { parent: ORG, displayName: 'legacy' },
    },
    firewallPolicies: {
      [orgPolicy.name]: { ...orgPolicy, parent: ORG },
      [folderPolicy.name]: { ...folderPolicy, parent: 'folders/300000000002' },
    },
  };
  // Stable ids, whatever else the fixture builders made before: the committed demo inventory holds them.
  for (const p of Object.values(world.projects)) {
    p.instances.forEach((vm, i) => (vm.id = `${p.projectNumber}${String(i + 1).padStart(4, '0')}`));
    p.firewalls.forEach((fw, i) => (fw.id = `${p.projectNumber}${String(i + 1).padStart(4, '0')}`));
  }
  return world;
}

export const DEMO_PROJECTS = ['acme-prod', 'acme-iap', 'acme-legacy', 'acme-net-host', 'acme-shared-svc', 'acme-dev', 'acme-sandbox'];
