// The command line. run(argv, io) returns an exit code; only bin.ts exits the process.
import { Command, CommanderError, Option } from 'commander';
import { writeFile } from 'node:fs/promises';
import { EXIT, InputError, RdpcloudError, UsageError } from '../errors.js';
import type { Inventory, Provider } from '../model/inventory.js';
import { PROVIDERS } from '../model/inventory.js';
import { REPORT_SCHEMA_VERSION, SEVERITIES, type Report, type Severity } from '../model/results.js';
import { evaluate } from '../engine/evaluate.js';
import { atOrAbove, builtinFindings, reachabilityFindings, DEFAULT_FINDING_OPTIONS } from '../engine/findings.js';
import { exposureSource, parsePort, resolveSource, type Source } from '../engine/sources.js';
import { remedyFor } from '../engine/remediation.js';
import { compareViews, type Verification } from '../engine/verify.js';
import { jsonReport } from '../reporters/json.js';
import { tableReport } from '../reporters/table.js';
import { explainText } from '../reporters/explain.js';
import { collectInventory } from './collect.js';
import { loadInventory, saveInventory } from './inventory-file.js';
import { createProviders, impliedProviders } from './providers.js';
import { findInstance } from '../model/instance-ref.js';
import { Progress } from './progress.js';
import { newStats, type CloudProvider } from '../../providers/types.js';
import { VERSION } from './version.js';

export interface Io {
  stdout(text: string): void;
  stderr(text: string): void;
  env: NodeJS.ProcessEnv;
  stdoutIsTTY: boolean;
  stderrIsTTY: boolean;
  now(): Date;
}

const FORMATS = ['table', 'json'] as const;
type Format = (typeof FORMATS)[number];

interface CommonOpts {
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
  source: string[];
  port: string;
  concurrency: string;
  gcpEndpoint?: string;
  debug?: boolean;
}

const collectList = (v: string, prev: string[] = []) => [...prev, ...v.split(',').map((s) => s.trim()).filter(Boolean)];
const collectRepeat = (v: string, prev: string[] = []) => [...prev, v];

function scopeOptions(cmd: Command): Command {
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
    .option('--concurrency <n>', 'scopes read in parallel per provider', '8')
    .option('--gcp-endpoint <url>', 'replaces https://compute.googleapis.com (env RDPCLOUD_GCP_ENDPOINT); http only for loopback')
    .option('--debug', 'show stack traces for internal errors');
}

function judgeOptions(cmd: Command): Command {
  return cmd
    .option('--from <inventory.json>', 'audit a saved inventory (rdpcloud snapshot) offline, no credentials')
    .option('--source <source>', 'internet (default), iap, a CIDR, or a source set from rdpcloud.yaml; repeatable', collectRepeat, [])
    .option('--port <n>', 'TCP port to judge', '3389');
}

function parseConcurrency(v: string): number {
  if (!/^\d+$/.test(v) || Number(v) < 1 || Number(v) > 256) throw new UsageError(`--concurrency "${v}": a whole number from 1 to 256`);
  return Number(v);
}

function providerNames(list: string[], fallback: Provider[]): Provider[] {
  const names = list.length ? list : fallback;
  for (const n of names) {
    if (!(PROVIDERS as readonly string[]).includes(n)) throw new UsageError(`--provider "${n}": unknown provider; use gcp, aws or azure`);
  }
  return [...new Set(names)] as Provider[];
}

async function readInventory(o: CommonOpts, io: Io, progress: Progress): Promise<Inventory> {
  return (await readScopes(o, io, progress)).inventory;
}

/** The inventory, and the providers that read it (explain --verify-with-api asks them again). */
async function readScopes(o: CommonOpts, io: Io, progress: Progress): Promise<{ inventory: Inventory; providers: CloudProvider[] }> {
  if (o.from) {
    if (o.project.length || o.allProjects || o.region.length || o.roleArn.length || o.allAccounts || o.subscription.length) {
      throw new UsageError('--from reads a saved inventory: leave out the scope flags (--project, --region, --subscription, ...)');
    }
    return { inventory: await loadInventory(o.from), providers: [] };
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
    retry: { attempts: Number(io.env.RDPCLOUD_RETRY_ATTEMPTS ?? 6), baseMs: Number(io.env.RDPCLOUD_RETRY_BASE_MS ?? 500), maxMs: 30_000 },
  };
  const providers = createProviders(names, flags, ctx);
  const inv = await collectInventory(providers, {
    concurrency: parseConcurrency(o.concurrency),
    now: io.now,
    tool: { name: 'rdpcloud', version: VERSION },
    onScope: (done, total) => progress.scopes(done, total),
  });
  progress.done();
  return { inventory: inv, providers };
}

function sourcesOf(o: CommonOpts): Source[] {
  const labels = o.source.length ? o.source : ['internet'];
  const seen = new Set<string>();
  return labels.filter((l) => !seen.has(l) && seen.add(l)).map((l) => resolveSource(l));
}

function buildReport(inv: Inventory, sources: Source[], port: number, io: Io): Report {
  const ev = evaluate(inv, sources, port);
  const os = new Map(inv.instances.map((i) => [`${i.provider}|${i.scope}|${i.location}|${i.id}`, i.os]));
  const findings = [
    ...builtinFindings(ev, { ...DEFAULT_FINDING_OPTIONS, port }),
    ...reachabilityFindings(ev.results, (r) => os.get(`${r.provider}|${r.scope}|${r.location}|${r.instanceId}`) ?? 'unknown'),
  ];
  return {
    schemaVersion: REPORT_SCHEMA_VERSION,
    tool: { name: 'rdpcloud', version: VERSION },
    generatedAt: io.now().toISOString(),
    port,
    sources: sources.map((s) => s.label),
    scopes: inv.scopes.map((s) => ({ provider: s.provider, scope: s.scope, status: s.status, ...(s.error ? { error: s.error } : {}), ...(s.warnings?.length ? { warnings: s.warnings } : {}) })),
    instances: ev.instances,
    results: ev.results,
    findings,
  };
}

/** One line per failed scope (error) and per incomplete one (warning), on stderr. */
function reportScopeProblems(scopes: { provider: string; scope: string; status: string; error?: string; warnings?: string[] }[], io: Io): void {
  for (const s of scopes) {
    if (s.status === 'failed') io.stderr(`error: ${s.provider}:${s.scope}: ${s.error}\n`);
    for (const w of s.warnings ?? []) io.stderr(`warning: ${s.provider}:${s.scope}: ${w}\n`);
  }
}

export function exitCodeOf(report: Report, failOn: Severity | 'none', exitZero: boolean): number {
  if (report.scopes.some((s) => s.status === 'failed' || s.warnings?.length) || report.results.some((r) => r.verdict === 'unknown') || report.findings.some((f) => f.status === 'error')) {
    return EXIT.incomplete;
  }
  if (!exitZero && report.findings.some((f) => f.status === 'fail' && !f.suppressed && atOrAbove(f.severity, failOn))) return EXIT.findings;
  return EXIT.clean;
}

function formatOf(name: string | undefined, file?: string): Format {
  const f = name ?? (file?.endsWith('.json') ? 'json' : 'table');
  if (!(FORMATS as readonly string[]).includes(f)) throw new UsageError(`--format "${f}": use ${FORMATS.join(' or ')}`);
  return f as Format;
}

function render(report: Report, format: Format, color: boolean): string {
  return format === 'json' ? jsonReport(report) : tableReport(report, { color });
}

export async function run(argv: string[], io: Io): Promise<number> {
  let code: number = EXIT.clean;
  const program = new Command('rdpcloud')
    .description('Can Remote Desktop (tcp:3389) reach your Windows VMs? Why not, and what must change.')
    .version(VERSION)
    .exitOverride()
    .configureOutput({ writeOut: (s) => io.stdout(s), writeErr: (s) => io.stderr(s), outputError: (s, write) => write(s) })
    .showSuggestionAfterError();

  const audit = judgeOptions(scopeOptions(program.command('audit').description('verdicts and findings for every instance in the chosen scopes')))
    .addOption(new Option('--format <format>', 'table or json').choices([...FORMATS]))
    .option('-o, --output <file>', 'write the report to a file (format from the extension); repeatable', collectRepeat, [])
    .addOption(new Option('--fail-on <severity>', 'exit 1 on findings at or above this severity').choices([...SEVERITIES, 'none']).default('high'))
    .option('--exit-zero', 'findings do not fail the run (exit 0 instead of 1)')
    .action(async (o: CommonOpts & { format?: string; output: string[]; failOn: Severity | 'none'; exitZero?: boolean }) => {
      const port = parsePort(o.port);
      const sources = sourcesOf(o);
      const progress = new Progress(io);
      const inv = await readInventory(o, io, progress);
      const report = buildReport(inv, sources, port, io);
      for (const file of o.output) {
        await writeFile(file, render(report, formatOf(o.format, file), false));
      }
      if (o.output.length === 0 || o.format) io.stdout(render(report, formatOf(o.format), io.stdoutIsTTY && !io.env.NO_COLOR));
      reportScopeProblems(report.scopes, io);
      code = exitCodeOf(report, o.failOn, !!o.exitZero);
    });
  void audit;

  scopeOptions(program.command('snapshot').description('save the inventory (versioned JSON) for offline audits'))
    .requiredOption('-o, --output <file>', 'inventory file to write')
    .action(async (o: CommonOpts & { output: string }) => {
      const progress = new Progress(io);
      const inv = await readInventory({ ...o, source: [], port: '3389' }, io, progress);
      await saveInventory(o.output, inv);
      const failed = inv.scopes.filter((s) => s.status === 'failed');
      reportScopeProblems(inv.scopes, io);
      io.stderr(`wrote ${o.output}: ${inv.instances.length} instances, ${inv.ruleSets.length} rule sets, ${inv.scopes.length - failed.length}/${inv.scopes.length} scopes\n`);
      code = failed.length || inv.scopes.some((s) => s.warnings?.length) ? EXIT.incomplete : EXIT.clean;
    });

  judgeOptions(scopeOptions(program.command('explain').description('every layer of one instance, the deciding rules and the one change that fixes it')))
    .argument('<instance>', 'a name, or gcp:PROJECT/ZONE/NAME')
    .addOption(new Option('--format <format>', 'text or json').choices(['text', 'json']).default('text'))
    .option('--verify-with-api', "cross-check the verdicts with the cloud's own effective rules (GCP instances.getEffectiveFirewalls, Azure listEffectiveNetworkSecurityGroups)")
    .action(async (ref: string, o: CommonOpts & { format: string; verifyWithApi?: boolean }) => {
      const port = parsePort(o.port);
      const sources = sourcesOf(o);
      const progress = new Progress(io);
      if (o.verifyWithApi && o.from) throw new UsageError('--verify-with-api asks the cloud: leave out --from and name the scope (--project, --subscription)');
      const { inventory: inv, providers } = await readScopes(o, io, progress);
      const failed = inv.scopes.filter((s) => s.status === 'failed');
      if (failed.length && inv.instances.length === 0) {
        for (const s of failed) io.stderr(`error: ${s.provider}:${s.scope}: ${s.error}\n`);
        code = EXIT.incomplete;
        return;
      }
      const instance = findInstance(inv, ref);
      const only = { ...inv, instances: [instance] };
      const ev = evaluate(only, sources, port);
      // What the remedy needs besides the asked sources: which allows expose it, and whether IAP gets in.
      const [exposure, iap] = evaluate(only, [exposureSource(), resolveSource('iap')], port).results;
      const explanation = {
        instance,
        summary: ev.instances[0],
        results: ev.results.map((result) => {
          const src = sources.find((s) => s.label === result.source);
          const remedy = remedyFor(instance, result, { inventory: inv, sourceCidrs: src?.all.toCidrs() ?? [result.source], exposure, iap: iap?.source === 'iap' ? iap : undefined });
          return remedy ? { result, remedy } : { result };
        }),
      };
      let verification: Verification | undefined;
      let verifyNote: string | undefined;
      if (o.verifyWithApi) {
        const provider = providers.find((p) => p.id === instance.provider);
        if (provider?.effectiveView) verification = compareViews(inv, instance, await provider.effectiveView(instance, inv), sources, port);
        else verifyNote = `${instance.provider} has no API that returns the effective rules of an instance: nothing to cross-check`;
      }
      const full = { ...explanation, ...(verification ? { verification } : {}), ...(verifyNote ? { verificationNote: verifyNote } : {}) };
      io.stdout(o.format === 'json' ? JSON.stringify({ schemaVersion: REPORT_SCHEMA_VERSION, ...full }, null, 2) + '\n' : explainText(full));
      // A disagreement with the cloud's own view means the verdict cannot be trusted as it stands.
      code = ev.results.some((r) => r.verdict === 'unknown') || (verification && !verification.agrees) ? EXIT.incomplete : EXIT.clean;
    });

  try {
    await program.parseAsync(argv, { from: 'user' });
    return code;
  } catch (e) {
    if (e instanceof CommanderError) {
      if (e.code === 'commander.helpDisplayed' || e.code === 'commander.version' || e.code === 'commander.help') return EXIT.clean;
      if (e.code === 'commander.executeSubCommandAsync') return EXIT.clean;
      return EXIT.usage; // commander already printed "error: ..." in one line
    }
    if (e instanceof InputError) {
      if (e.problems.length === 1) io.stderr(`error: ${e.file}: ${e.problems[0]}\n`);
      else io.stderr(`error: ${e.file}: ${e.problems.length} problems:\n${e.problems.map((p) => `  - ${p}\n`).join('')}`);
      return e.exitCode;
    }
    if (e instanceof RdpcloudError) {
      io.stderr(`error: ${e.message}\n`);
      return e.exitCode;
    }
    const argvHasDebug = argv.includes('--debug');
    io.stderr(`internal error: ${(e as Error)?.message ?? e} - this is a bug in rdpcloud ${VERSION}; please report it${argvHasDebug ? '' : ' (run with --debug for details)'}\n`);
    if (argvHasDebug) io.stderr(`${(e as Error)?.stack ?? ''}\n`);
    return EXIT.internal;
  }
}
