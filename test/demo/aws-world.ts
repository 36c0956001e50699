// The demo organisation "acme" on AWS, as the EC2/STS/SSM/Organizations APIs return it (served by the fake AWS).
//   111111111111 acme-aws-prod (the caller's own account): eu-west-1 with a public, a private (NAT), a locked
//                (NACL deny at rule 90 before an allow at 100) and a stateless (no outbound return) subnet; an
//                IPv6-only instance; a prefix list; Session Manager; us-east-1 empty.
//   222222222222 acme-aws-dev, reached with a role: one world-open instance.
//   333333333333 acme-aws-legacy: the role cannot be assumed (AccessDenied): a failed scope.
import type { AwsWorld } from '../fakes/aws/server.js';
import { aclEntry, instance, ipPermission, networkAcl, orgAccount, prefixList, rdpFrom, routeTable, securityGroup, ssmInstance } from '../fakes/aws/fixtures.js';
import { OFFICE } from './gcp-world.js';

export const PROD = '111111111111';
export const DEV = '222222222222';
export const LEGACY = '333333333333';
export const AWS_KEY = 'AKIADEMOPROD0000001';
export const DEV_ROLE = `arn:aws:iam::${DEV}:role/rdpcloud-audit`;
export const LEGACY_ROLE = `arn:aws:iam::${LEGACY}:role/rdpcloud-audit`;

const VPC = 'vpc-0acme0prod000001';
const CIDR = '10.20.0.0/16';
const V6 = '2a05:d018:abc:1200::/56';
const PUB = 'subnet-0public0000001';
const PRIV = 'subnet-0private000001';
const LOCKED = 'subnet-0locked0000001';
const STATELESS = 'subnet-0stateless0001';

export function awsDemoWorld(): AwsWorld {
  const sg = {
    world: securityGroup({ account: PROD, id: 'sg-0rdpworld0000001', name: 'rdp-world', vpcId: VPC, ingress: [rdpFrom(['0.0.0.0/0'])] }),
    range: securityGroup({ account: PROD, id: 'sg-0rdprange0000001', name: 'rdp-range', vpcId: VPC, ingress: [ipPermission({ protocol: 'tcp', from: 3380, to: 3390, cidrs: ['0.0.0.0/0'] })] }),
    v6: securityGroup({ account: PROD, id: 'sg-0rdpv60000000001', name: 'rdp-v6', vpcId: VPC, ingress: [rdpFrom([], ['::/0'])] }),
    office: securityGroup({ account: PROD, id: 'sg-0rdpoffice000001', name: 'rdp-office', vpcId: VPC, ingress: [ipPermission({ protocol: 'tcp', port: 3389, prefixLists: ['pl-0office000000001'] })] }),
    ssh: securityGroup({ account: PROD, id: 'sg-0sshworld0000001', name: 'ssh-world', vpcId: VPC, ingress: [ipPermission({ protocol: 'tcp', port: 22, cidrs: ['0.0.0.0/0'] })] }),
    internal: securityGroup({ account: PROD, id: 'sg-0internal0000001', name: 'from-bastion-sg', vpcId: VPC, ingress: [ipPermission({ protocol: '-1', groups: [{ GroupId: 'sg-0bastion00000001', UserId: PROD }] })] }),
    // Attached to no instance: judged on its own rules (world-open, and unused).
    legacy: securityGroup({ account: PROD, id: 'sg-0rdplegacy000001', name: 'rdp-legacy', vpcId: VPC, ingress: [rdpFrom(['0.0.0.0/0'])] }),
  };
  const win = (name: string, id: string, o: Omit<Parameters<typeof instance>[0], 'account' | 'vpcId' | 'id' | 'name'>) => instance({ account: PROD, vpcId: VPC, id, name, windows: true, ...o });
  const devVpc = 'vpc-0acme0dev0000001';
  return {
    accounts: {
      [PROD]: {
        accessKeys: [{ accessKeyId: AWS_KEY, arn: `arn:aws:iam::${PROD}:user/auditor` }],
        regions: {
          'eu-west-1': {
            instances: [
              win('aws-win-web-01', 'i-0a000000000000001', { subnetId: PUB, privateIp: '10.20.1.11', publicIp: '54.229.10.11', eip: true, securityGroups: [sg.world] }),
              win('aws-win-range-01', 'i-0a000000000000002', { subnetId: PUB, privateIp: '10.20.1.12', publicIp: '54.229.10.12', securityGroups: [sg.range] }),
              win('aws-win-private-01', 'i-0a000000000000003', { subnetId: PRIV, privateIp: '10.20.2.11', securityGroups: [sg.world] }),
              win('aws-win-natted-01', 'i-0a000000000000004', { subnetId: PRIV, privateIp: '10.20.2.12', publicIp: '54.229.10.14', securityGroups: [sg.world] }),
              win('aws-win-locked-01', 'i-0a000000000000005', { subnetId: LOCKED, privateIp: '10.20.3.11', publicIp: '54.229.10.15', securityGroups: [sg.world] }),
              win('aws-win-noreturn-01', 'i-0a000000000000006', { subnetId: STATELESS, privateIp: '10.20.4.11', publicIp: '54.229.10.16', securityGroups: [sg.world] }),
              win('aws-win-v6-01', 'i-0a000000000000007', { subnetId: PUB, privateIp: '10.20.1.17', ipv6: ['2a05:d018:abc:1201::17'], securityGroups: [sg.v6] }),
              win('aws-win-office-01', 'i-0a000000000000008', { subnetId: PUB, privateIp: '10.20.1.18', publicIp: '54.229.10.18', securityGroups: [sg.office] }),
              win('aws-win-ssm-01', 'i-0a000000000000009', { subnetId: PRIV, privateIp: '10.20.2.19', securityGroups: [sg.internal] }),
              win('aws-win-stopped-01', 'i-0a00000000000000a', { subnetId: PUB, privateIp: '10.20.1.20', publicIp: '54.229.10.20', eip: true, state: 'stopped', securityGroups: [sg.world] }),
              instance({ account: PROD, vpcId: VPC, id: 'i-0a00000000000000b', name: 'aws-lin-web-01', subnetId: PUB, privateIp: '10.20.1.21', publicIp: '54.229.10.21', securityGroups: [sg.ssh] }),
            ],
            securityGroups: Object.values(sg),
            routeTables: [
              routeTable({ account: PROD, id: 'rtb-0public00000001', vpcId: VPC, vpcCidr: CIDR, vpcIpv6Cidr: V6, igw: 'igw-0acme0000000001', subnetIds: [PUB, LOCKED, STATELESS] }),
              routeTable({ account: PROD, id: 'rtb-0main0000000001', vpcId: VPC, vpcCidr: CIDR, vpcIpv6Cidr: V6, main: true, nat: 'nat-0acme0000000001' }),
            ],
            networkAcls: [
              networkAcl({ account: PROD, id: 'acl-0default0000001', vpcId: VPC, isDefault: true, subnetIds: [PUB, PRIV] }),
              networkAcl({
                account: PROD,
                id: 'acl-0locked00000001',
                vpcId: VPC,
                subnetIds: [LOCKED],
                entries: [
                  aclEntry({ rule: 90, action: 'deny', protocol: '6', cidr: '0.0.0.0/0', from: 3389 }),
                  aclEntry({ rule: 100, action: 'allow', protocol: '-1', cidr: '0.0.0.0/0' }),
                  aclEntry({ rule: 100, action: 'allow', protocol: '-1', cidr: '0.0.0.0/0', egress: true }),
                ],
              }),
              networkAcl({
                account: PROD,
                id: 'acl-0stateless00001',
                vpcId: VPC,
                subnetIds: [STATELESS],
                entries: [
                  aclEntry({ rule: 100, action: 'allow', protocol: '-1', cidr: '0.0.0.0/0' }),
                  aclEntry({ rule: 100, action: 'allow', protocol: '6', cidr: '0.0.0.0/0', from: 443, egress: true }),
                ],
              }),
            ],
            prefixLists: [prefixList({ account: PROD, id: 'pl-0office000000001', name: 'acme-office', cidrs: [OFFICE] })],
            ssm: [ssmInstance({ instanceId: 'i-0a000000000000009', ping: 'Online', platform: 'Windows', agentVersion: '3.3.1142.0' })],
          },
          'us-east-1': {},
        },
      },
      [DEV]: {
        accessKeys: [],
        regions: {
          'us-east-1': {
            instances: [instance({ account: DEV, vpcId: devVpc, id: 'i-0d000000000000001', name: 'aws-win-dev-01', az: 'us-east-1a', subnetId: 'subnet-0dev00000000001', privateIp: '10.30.1.11', publicIp: '3.80.10.11', windows: true, securityGroups: ['sg-0devworld00000001'] })],
            securityGroups: [securityGroup({ account: DEV, region: 'us-east-1', id: 'sg-0devworld00000001', name: 'dev-rdp', vpcId: devVpc, ingress: [rdpFrom(['0.0.0.0/0'])] })],
            routeTables: [routeTable({ account: DEV, id: 'rtb-0dev00000000001', vpcId: devVpc, vpcCidr: '10.30.0.0/16', main: true, igw: 'igw-0dev00000000001' })],
            networkAcls: [networkAcl({ account: DEV, id: 'acl-0dev00000000001', vpcId: devVpc, isDefault: true, subnetIds: ['subnet-0dev00000000001'] })],
          },
        },
      },
      [LEGACY]: { accessKeys: [], regions: {} },
    },
    roles: {
      [`arn:aws:iam::${PROD}:role/rdpcloud-audit`]: { trustedBy: [PROD] },
      [DEV_ROLE]: { trustedBy: [PROD] },
      [LEGACY_ROLE]: { trustedBy: ['999999999999'] }, // does not trust the auditor: AccessDenied
    },
    organization: {
      managementAccountId: PROD,
      accounts: [
        orgAccount({ id: PROD, name: 'acme-aws-prod', managementAccountId: PROD }),
        orgAccount({ id: DEV, name: 'acme-aws-dev', managementAccountId: PROD }),
        orgAccount({ id: LEGACY, name: 'acme-aws-legacy', managementAccountId: PROD }),
        orgAccount({ id: '444444444444', name: 'acme-aws-closed', managementAccountId: PROD, status: 'SUSPENDED' }),
      ],
    },
  };
}
