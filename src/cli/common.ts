// What the commands share: the I/O a run gets, the scope and judging flags, reading the scopes into an inventory
// (or a saved one), and the sources.
import { resolve } from 'node:path';
import type { Command } from 'commander';
import { UsageError } from '../errors.js';
import type { Inventory, Provider } from '../model/inventory.js';
import { PROVIDERS } from '../model/inventory.js';
import { resolveSource, type Source } from '../engine/sources.js';
import { collectInventory, type CollectOptions } from './collect.js';
import { timingsOn } from './timings.js';
import { createProviders, impliedProviders } from './providers.js';
import { Progress } from './progress.js';
import { newStats, type CloudProvider } from '../../providers/types.js';
import { VERSION } from './version.js';
import { inShard, parseShard } from './shard.js';

export interface Io {
  /**
   * Writes to stdout. A promise when the reader is behind (a pipe to a slower program): a long report waits
   * for it block by block instead of queueing the whole report in memory. Bytes may be a view a spool reads
   * into again once the promise settles (a Piece): written or copied by then.
   */
  stdout(text: string | Buffer): void | Promise<void>;
  stderr(text: string): void;
  env: NodeJS.ProcessEnv;
  stdoutIsTTY: boolean;
  stderrIsTTY: boolean;
  /** Interactive input, when there is a terminal: consent prompts and the no-echo password prompt. */
  stdinIsTTY?: boolean;
  readStdin?(): Promise<string>;
  promptSecret?(question: string): Promise<string>;
  confirm?(question: string): Promise<boolean>;
  now(): Date;
  /** Where rdpcloud.yaml is looked for and relative paths start (default: the process's). */
  cwd?: string;
}

export interface CommonOpts {
  provider: string[];
  project: string[];
  allProjects?: boolean;
  region: string[];
  profile?: string;
  roleArn: string[];
  allAccounts?: boolean;
  roleName?: string;
  subscription: string[];
  azureCloud?: string;
  azureEndpoint?: string;
  from?: string;
  config?: string;
  shard?: string;
  source: string[];
  port?: string;
  concurrency?: string;
  gcpEndpoint?: string;
  debug?: boolean;
}

/** A file named on the command line: relative to the run's working directory (a library caller's io.cwd), not the process's. */
export const atCwd = (io: Io, file: string): string => resolve(io.cwd ?? process.cwd(), file);

export const collectList = (v: string, prev: string[] = []) => [...prev, ...v.split(',').map((s) => s.trim()).filter(Boolean)];
export const collectRepeat = (v: string, prev: string[] = []) => [...prev, v];

export function scopeOptions(cmd: Command): Command {
  return cmd
    .option('--provider <name>', 'gcp, aws, azure; repeatable or comma-separated (default: what the scope flags name)', collectList, [])
    .option('--project <id>', 'GCP project to audit (repeatable)', collectRepeat, [])
    .option('--all-projects', 'every ACTIVE GCP project the credentials can see (Resource Manager)')
    .option('--region <name>', 'AWS region (repeatable; default: every region enabled for the account)', collectRepeat, [])
    .option('--profile <name>', 'AWS profile from ~/.aws/config (default: the SDK credential chain)')
    .option('--role-arn <arn>', 'AWS role to assume, one account each (repeatable)', collectRepeat, [])
    .option('--all-accounts', 'every ACTIVE account of the AWS organization (needs --role-name)')
    .option('--role-name <name>', 'the role assumed in each account with --all-accounts')
    .option('--subscription <id>', 'Azure subscription (repeatable; default: every enabled one the credential can see)', collectRepeat, [])
    .option('--azure-cloud <cloud>', 'public (default), usgov or china')
    .option('--azure-endpoint <url>', 'replaces the ARM host, e.g. https://management.azure.com (env RDPCLOUD_AZURE_ENDPOINT); http only for loopback')
    .option('--concurrency <n>', 'scopes read in parallel per provider (default: gcp 32, aws 8, azure 32)')
    .option('--shard <i/n>', 'audit only the i-th of n stable parts of the scopes (a CI matrix; rdpcloud merge joins the reports)')
    .option('--gcp-endpoint <url>', 'replaces https://compute.googleapis.com (env RDPCLOUD_GCP_ENDPOINT); http only for loopback')
    .option('--debug', 'show stack traces for internal errors');
}

export function judgeOptions(cmd: Command): Command {
  return cmd
    .option('--from <inventory.json>', 'audit a saved inventory (rdpcloud snapshot) offline, no credentials')
    .option('--source <source>', 'internet (default), iap, a CIDR, or a source set from rdpcloud.yaml; repeatable or comma-separated', collectRepeat, [])
    .option('--config <file>', 'rdpcloud.yaml (named source sets, scopes, policies; default: ./rdpcloud.yaml or ./rdpcloud.yml when present)')
    .option('--port <n>', 'TCP port to judge (default 3389)');
}

export function parseConcurrency(v: string): number {
  if (!/^\d+$/.test(v) || Number(v) < 1 || Number(v) > 256) throw new UsageError(`--concurrency "${v}": a whole number from 1 to 256`);
  return Number(v);
}

export function providerNames(list: string[], fallback: Provider[]): Provider[] {
  const names = list.length ? list : fallback;
  for (const n of names) {
    if (!(PROVIDERS as readonly string[]).includes(n)) throw new UsageError(`--provider "${n}": unknown provider; use gcp, aws or azure`);
  }
  return [...new Set(names)] as Provider[];
}

/** `onPart`: each scope of a live read as soon as it is read (collectInventory's onPart). */
export async function readInventory(o: CommonOpts, io: Io, progress: Progress, onPart?: CollectOptions['onPart']): Promise<Inventory> {
  return (await readScopes(o, io, progress, onPart)).inventory;
}

/** Named source sets from rdpcloud.yaml (--config, or the working directory's), for the commands that judge. */
export async function namedSources(o: CommonOpts, io: Io): Promise<Record<string, string[]>> {
  // Imported here: the config reader brings the policy schemas (ajv, yaml) that a live audit loads anyway,
  // but `probe` and a --version do not need.
  const { loadConfig } = await import('../policies/config.js');
  return (await loadConfig(o.config, io.cwd ?? process.cwd()))?.sources ?? {};
}

/** The inventory, and the providers that read it (explain --verify-with-api asks them again). */
export async function readScopes(o: CommonOpts, io: Io, progress: Progress, onPart?: CollectOptions['onPart']): Promise<{ inventory: Inventory; providers: CloudProvider[] }> {
  const shard = parseShard(o.shard);
  if (o.from) {
    if (o.project.length || o.allProjects || o.region.length || o.roleArn.length || o.allAccounts || o.subscription.length) {
      throw new UsageError('--from reads a saved inventory: leave out the scope flags (--project, --region, --subscription, ...)');
    }
    // The inventory schema (an ajv compile) is needed for saved inventories only.
    const { loadInventory } = await import('./inventory-file.js');
    const inv = await loadInventory(atCwd(io, o.from));
    if (!o.provider.length) return { inventory: inv, providers: [] };
    // --provider narrows a saved inventory to those clouds. (--shard is applied to what is reported: the whole
    // saved inventory is judged, so a Shared VPC host's rules see the service projects of every shard.)
    const keep = new Set(providerNames(o.provider, []));
    const ok = (x: { provider: Provider }) => keep.has(x.provider);
    return { inventory: { ...inv, scopes: inv.scopes.filter(ok), ruleSets: inv.ruleSets.filter((r) => keep.has(r.provider)), instances: inv.instances.filter(ok) }, providers: [] };
  }
  const flags = {
    projects: o.project,
    allProjects: !!o.allProjects,
    gcpEndpoint: o.gcpEndpoint,
    regions: o.region,
    profile: o.profile,
    roleArns: o.roleArn,
    allAccounts: !!o.allAccounts,
    roleName: o.roleName,
    subscriptions: o.subscription,
    azureCloud: o.azureCloud,
    azureEndpoint: o.azureEndpoint,
  };
  const implied = impliedProviders(flags);
  if (!o.provider.length && !implied.length) {
    throw new UsageError('nothing to audit: name a cloud with --provider gcp|aws|azure and its scopes (--project P, --region R, --subscription S), or read a saved inventory with --from inventory.json');
  }
  const names = providerNames(o.provider, implied);
  const ctx = {
    env: io.env,
    warn: (m: string) => io.stderr(`warning: ${m}\n`),
    stats: newStats(),
    onRequest: () => progress.request(ctx.stats),
    // The SDKs' own first backoff is 100 ms; Retry-After, when the cloud sends it, wins (providers/retry.ts).
    retry: { attempts: Number(io.env.RDPCLOUD_RETRY_ATTEMPTS ?? 8), baseMs: Number(io.env.RDPCLOUD_RETRY_BASE_MS ?? 100), maxMs: 30_000 },
  };
  const providers = await createProviders(names, flags, ctx);
  const inv = await collectInventory(providers, {
    // Without --concurrency each provider gets its own default (src/cli/collect.ts DEFAULT_CONCURRENCY).
    concurrency: o.concurrency ? parseConcurrency(o.concurrency) : undefined,
    now: io.now,
    tool: { name: 'rdpcloud', version: VERSION },
    onScope: (done, total) => progress.scopes(done, total),
    ...(timingsOn(io.env) ? { onProviderDone: (p: string, n: number) => io.stderr(`timing: ${p} collected at ${(performance.now() / 1000).toFixed(3)} s (${n} scopes)\n`) } : {}),
    ...(shard ? { filterScopes: (provider: string, scopes: string[]) => scopes.filter((sc) => inShard(shard, provider, sc)) } : {}),
    ...(onPart ? { onPart } : {}),
  });
  progress.done();
  return { inventory: inv, providers };
}

/** --source values (repeatable, or comma-separated: no CIDR has a comma), named sets from rdpcloud.yaml resolved. */
export function sourcesOf(o: CommonOpts, named: Record<string, string[]> = {}): Source[] {
  const given = o.source.flatMap((s) => s.split(',').map((x) => x.trim()).filter(Boolean));
  const labels = given.length ? given : ['internet'];
  const seen = new Set<string>();
  return labels.filter((l) => !seen.has(l) && seen.add(l)).map((l) => resolveSource(l, named));
}
