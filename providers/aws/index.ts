// The AWS provider: one account at a time, every enabled region (or --region), with the fewest calls the EC2
// API allows. Per account and region, all paged at the largest page: DescribeInstances, DescribeSecurityGroups,
// DescribeRouteTables, DescribeNetworkAcls, SSM DescribeInstanceInformation; GetManagedPrefixListEntries once
// per prefix list the rules or routes name. Nothing per instance. Accounts: the caller's own, --role-arn per
// account, or every ACTIVE account of the organization (--all-accounts --role-name R). The listings are sent
// by reader.ts (the SDK's endpoint rules, signer and protocol, without its per-request middleware); STS and
// Organizations through the SDK clients.
import type { Instance as Ec2Instance, NetworkAcl, PrefixListEntry, Region, Reservation, RouteTable, SecurityGroup } from '@aws-sdk/client-ec2';
import type { InstanceInformation } from '@aws-sdk/client-ssm';
import type { AwsCredentialIdentityProvider } from '@smithy/types';
import pLimit from 'p-limit';
import { ScopeError, UsageError } from '../../src/errors.js';
import type { Instance, Layer, RuleSet, Scope } from '../../src/model/inventory.js';
import type { CloudProvider, ProviderContext, ScopeInventory } from '../types.js';
import { DEFAULT_REGION, assumedRole, awsAuthError, baseCredentials, callerAccount, checkEndpointEnv, clientConfig, countRequests, defaultCredentials, describeAwsError, retryStrategy, SharedClientSettings, type ClientBase } from './client.js';
import { AwsReader } from './reader.js';
import { useFastXml } from './fast-xml.js';
import { ec2Sdk, organizationsSdk, ssmSdk } from './sdk.js';
import { EC2_READS, earlyGroup, mapInstance, mapRegion, prefixListsNamed, type MappedInstance } from './map.js';

export interface AwsOptions {
  /** --region (repeatable); empty: every region enabled for the account (DescribeRegions). */
  regions: string[];
  profile?: string;
  /** --role-arn (repeatable): one account each. */
  roleArns: string[];
  /** --all-accounts --role-name R: every ACTIVE account of the organization, through role R. */
  allAccounts: boolean;
  roleName?: string;
  /** Regions read in parallel within one account; default REGION_CONCURRENCY. */
  regionConcurrency?: number;
}

// Largest pages: DescribeInstances and DescribeSecurityGroups 5-1000; route tables and network ACLs 5-100;
// prefix list entries up to 100; SSM 5-50 (SDK model documentation).
const PAGE = { instances: 1000, securityGroups: 1000, routeTables: 100, networkAcls: 100, prefixListEntries: 100, ssm: 50 };

/**
 * Every region of an account at once: EC2 and SSM throttle per account and region, so regions do not share a
 * quota, and a region that waits for a slot only lengthens the account's chain (with 8 at a time, 17 regions
 * took three waves, and a throttled request held up its whole wave: 1k org, 10% faults, collect 5.4 -> 5.1 s).
 */
export const REGION_CONCURRENCY = 17;

const ACCOUNT_IN_ARN = /^arn:aws[\w-]*:iam::(\d{12}):role\/.+$/;

export class AwsProvider implements CloudProvider {
  readonly id = 'aws' as const;
  private readonly homeRegion: string;
  private readonly base: ClientBase;
  private readonly roles = new Map<string, string>(); // account -> role ARN
  private readonly credentials = new Map<string, AwsCredentialIdentityProvider | undefined>();

  constructor(
    private readonly opts: AwsOptions,
    private readonly ctx: ProviderContext,
  ) {
    checkEndpointEnv(ctx.env);
    if (opts.allAccounts && !opts.roleName) throw new UsageError('--all-accounts needs --role-name R: the role rdpcloud assumes in each account (e.g. OrganizationAccountAccessRole or a read-only audit role)');
    for (const arn of opts.roleArns) {
      const m = ACCOUNT_IN_ARN.exec(arn);
      if (!m) throw new UsageError(`--role-arn "${arn}": not a role ARN (arn:aws:iam::123456789012:role/NAME)`);
      this.roles.set(m[1], arn);
    }
    this.homeRegion = ctx.env.AWS_REGION || ctx.env.AWS_DEFAULT_REGION || DEFAULT_REGION;
    this.base = { region: this.homeRegion, credentials: baseCredentials(opts.profile, ctx.env), retryStrategy: retryStrategy(ctx), env: ctx.env, shared: new SharedClientSettings() };
  }

  async listScopes(): Promise<string[]> {
    if (this.roles.size && !this.opts.allAccounts) return [...this.roles.keys()];
    if (!this.opts.allAccounts) return [await callerAccount(this.base, this.ctx)];
    const { OrganizationsClient, paginateListAccounts } = organizationsSdk();
    const org = new OrganizationsClient(clientConfig(this.base, 'ORGANIZATIONS'));
    countRequests(org, 'organizations', this.ctx);
    const accounts: string[] = [];
    try {
      for await (const page of paginateListAccounts({ client: org, pageSize: 20 }, {})) {
        for (const a of page.Accounts ?? []) if (a.Id && (a.Status ?? a.State) !== 'SUSPENDED' && (a.State ?? 'ACTIVE') === 'ACTIVE') accounts.push(a.Id);
      }
    } catch (e) {
      throw awsAuthError(e) ?? new ScopeError('aws', '(organization)', describeAwsError(e, 'listing the accounts of the organization (run it with the management or a delegated administrator account)'));
    }
    for (const a of accounts) if (!this.roles.has(a)) this.roles.set(a, `arn:aws:iam::${a}:role/${this.opts.roleName}`);
    return [...new Set([...accounts, ...this.roles.keys()])].sort();
  }

  private credentialsFor(account: string): AwsCredentialIdentityProvider | undefined {
    if (!this.credentials.has(account)) {
      const role = this.roles.get(account);
      this.credentials.set(account, role ? assumedRole(role, this.base, this.ctx) : this.base.credentials);
    }
    return this.credentials.get(account);
  }

  /**
   * An SDK client per service, for its settings only (endpoint rules, protocol, hash): the audit's readers sign
   * and send themselves (reader.ts) and ask the endpoint rules with their own region, so one client serves
   * every region (a client per region and service held ~30 MiB more at an organisation's 17 regions: 1k
   * organisation, AWS alone, 228-232 -> 198-207 MiB). Made for the home region, once per run.
   */
  private readonly templates = new Map<string, { config: unknown }>();
  private template(service: 'ec2' | 'ssm'): { config: unknown } {
    let c = this.templates.get(service);
    if (!c) {
      if (service === 'ec2') {
        const ec2 = new (ec2Sdk().EC2Client)(clientConfig(this.base, 'EC2', this.homeRegion));
        useFastXml(ec2, EC2_READS);
        this.base.shared?.learn(ec2);
        c = ec2;
      } else c = new (ssmSdk().SSMClient)(clientConfig(this.base, 'SSM', this.homeRegion));
      this.templates.set(service, c);
    }
    return c;
  }

  /** A reader of one service in one region with the account's credentials. */
  private reader(service: 'ec2' | 'ssm', account: string, region: string): AwsReader {
    const credentials = this.credentialsFor(account) ?? defaultCredentials(this.base);
    return new AwsReader({ service, region, client: this.template(service), credentials, ctx: this.ctx });
  }

  private async regionsOf(account: string): Promise<string[]> {
    if (this.opts.regions.length) return [...new Set(this.opts.regions)];
    const out = await this.reader('ec2', account, this.homeRegion).call('DescribeRegions', ec2Sdk().DescribeRegions$, {});
    // Without AllRegions only the enabled ones come back; opt-in regions not opted in are left out anyway.
    return ((out.Regions ?? []) as Region[]).filter((r) => r.RegionName && r.OptInStatus !== 'not-opted-in').map((r) => r.RegionName!).sort();
  }

  async collect(account: string): Promise<ScopeInventory> {
    let regions: string[];
    try {
      regions = await this.regionsOf(account);
    } catch (e) {
      throw awsAuthError(e) ?? new ScopeError('aws', account, describeAwsError(e, `listing the regions of account ${account}`));
    }
    const limit = pLimit(this.opts.regionConcurrency ?? REGION_CONCURRENCY);
    const parts = await Promise.all(regions.map((r) => limit(() => this.collectRegion(account, r))));
    const failed = parts.filter((p) => 'error' in p) as { region: string; error: string }[];
    if (failed.length === parts.length && parts.length > 0) throw new ScopeError('aws', account, failed.map((f) => `${f.region}: ${f.error}`).join('; '));
    const scope: Scope = { provider: 'aws', scope: account, status: 'ok' };
    if (failed.length) scope.warnings = failed.map((f) => `region ${f.region} could not be read: ${f.error}; its instances are missing`);
    const read = parts.filter((p): p is ReturnType<typeof mapRegion> => !('error' in p));
    // One region (--region R, the common case at scale): its part as it is, not copied key by key.
    if (read.length === 1) return { scope, ...read[0]! };
    const instances: Instance[] = [];
    const ruleSets = new Map<string, RuleSet>();
    const paths: Record<string, Layer[]> = {};
    for (const p of read) {
      for (const i of p.instances) instances.push(i);
      for (const rs of p.ruleSets) ruleSets.set(rs.id, rs);
      Object.assign(paths, p.paths);
    }
    return { scope, instances, ruleSets: [...ruleSets.values()], paths };
  }

  private async collectRegion(account: string, region: string): Promise<ReturnType<typeof mapRegion> | { region: string; error: string }> {
    const ec2 = this.reader('ec2', account, region);
    const sdk = ec2Sdk();
    const settle = <T>(p: Promise<T>) => p.then((v) => ({ ok: true as const, v }), (e: unknown) => ({ ok: false as const, e }));
    const [instances, sgs, rts, acls, ssm] = await Promise.all([
      // Each page of instances is mapped as it arrives: the SDK's objects for all of them are never held at once.
      settle(all(ec2.pages('DescribeInstances', sdk.DescribeInstances$, { MaxResults: PAGE.instances }), (p) => ((p.Reservations ?? []) as Reservation[]).flatMap((r) => (r.Instances ?? []) as Ec2Instance[]).map((i) => mapInstance(i, account, region)).filter((m): m is MappedInstance => !!m))),
      settle(all(ec2.pages('DescribeSecurityGroups', sdk.DescribeSecurityGroups$, { MaxResults: PAGE.securityGroups }), (p) => ((p.SecurityGroups ?? []) as SecurityGroup[]).map((g) => earlyGroup(g, account)))),
      settle(all(ec2.pages('DescribeRouteTables', sdk.DescribeRouteTables$, { MaxResults: PAGE.routeTables }), (p) => p.RouteTables as RouteTable[])),
      settle(all(ec2.pages('DescribeNetworkAcls', sdk.DescribeNetworkAcls$, { MaxResults: PAGE.networkAcls }), (p) => p.NetworkAcls as NetworkAcl[])),
      settle(this.ssm(account, region)),
    ]);
    if (!instances.ok) {
      const auth = awsAuthError(instances.e);
      if (auth) throw auth;
      return { region, error: describeAwsError(instances.e, 'DescribeInstances') };
    }
    const unreadable: Record<string, string> = {};
    if (!sgs.ok) unreadable.securityGroups = describeAwsError(sgs.e, `DescribeSecurityGroups in ${region}`);
    if (!rts.ok) unreadable.routeTables = describeAwsError(rts.e, `DescribeRouteTables in ${region}`);
    if (!acls.ok) unreadable.networkAcls = describeAwsError(acls.e, `DescribeNetworkAcls in ${region}`);
    const securityGroups = sgs.ok ? sgs.v : [];
    const routeTables = rts.ok ? rts.v : [];
    // Prefix lists named by the rules and the routes, each read once.
    const ids = new Set<string>(prefixListsNamed(securityGroups));
    for (const t of routeTables) for (const r of t.Routes ?? []) if (r.DestinationPrefixListId) ids.add(r.DestinationPrefixListId);
    const prefixLists = new Map<string, string[]>();
    await Promise.all(
      [...ids].map(async (id) => {
        try {
          const entries = await all(ec2.pages('GetManagedPrefixListEntries', sdk.GetManagedPrefixListEntries$, { PrefixListId: id, MaxResults: PAGE.prefixListEntries }), (p) => p.Entries as PrefixListEntry[]);
          prefixLists.set(id, entries.map((e) => e.Cidr).filter((c): c is string => !!c));
        } catch (e) {
          this.ctx.warn(`aws:${account}/${region}: ${describeAwsError(e, `GetManagedPrefixListEntries ${id}`)}`);
        }
      }),
    );
    const mapped = mapRegion({ account, region, instances: [], mapped: instances.v, securityGroups, routeTables, networkAcls: acls.ok ? acls.v : [], prefixLists, ssm: ssm.ok ? ssm.v : undefined, unreadable });
    if (!ssm.ok) this.ctx.warn(`aws:${account}/${region}: ${describeAwsError(ssm.e, 'SSM DescribeInstanceInformation')}: Session Manager access is not shown`);
    return mapped;
  }

  private ssm(account: string, region: string): Promise<InstanceInformation[]> {
    return all(this.reader('ssm', account, region).pages('DescribeInstanceInformation', ssmSdk().DescribeInstanceInformation$, { MaxResults: PAGE.ssm }), (p) => p.InstanceInformationList as InstanceInformation[]);
  }
}

/** The items of every page, `pick`ed from each as it arrives. */
async function all<T>(pages: AsyncIterable<any>, pick: (page: any) => T[] | undefined): Promise<T[]> {
  const out: T[] = [];
  for await (const page of pages) {
    const items = pick(page);
    if (items) for (const x of items) out.push(x);
  }
  return out;
}
