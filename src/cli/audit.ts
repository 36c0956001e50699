// `rdpcloud audit` and `rdpcloud policies`: the config file, the policy catalog, the inventory, the engine,
// the policies, suppressions and the baseline, then every requested output. Exit codes per interface.md.
import { mkdir, writeFile } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import { EXIT, InputError, UsageError } from '../errors.js';
import { INVENTORY_SCHEMA_VERSION, type Inventory } from '../model/inventory.js';
import type { ScopeInventory } from '../../providers/types.js';
import { REPORT_SCHEMA_VERSION, type Finding, type PolicySummary, type Report, type Severity } from '../model/results.js';
import { parsePort, resolveSource, type Source } from '../engine/sources.js';
import { loadConfig, type Config } from '../policies/config.js';
import { applyOverrides, choosePolicies, loadCatalog } from '../policies/load.js';
import { shownPath } from '../policies/yaml-file.js';
import { Drifting } from '../policies/baseline.js';
import type { Policy } from '../policies/types.js';
import { FORMATS, formatOfFile, renderBlocks, type Format } from '../reporters/index.js';
import { HeapBudget } from './heap-budget.js';
import { byRoute, failsTheRun, Judging, routesFor, type ReportArray } from './judging.js';
import { Progress } from './progress.js';
import { Timings } from './timings.js';
import { inShard, parseShard } from './shard.js';
import { VERSION } from './version.js';
import { JsonShapeError, readObjectStreaming } from './json-stream.js';
import { collectList, readInventory, type CommonOpts, type Io } from './common.js';

export interface AuditOpts extends CommonOpts {
  format?: string;
  output: string[];
  failOn?: Severity | 'none';
  exitZero?: boolean;
  config?: string;
  policy: string[];
  pack: string[];
  baseline?: string;
}

export function policySummary(p: Policy): PolicySummary {
  return {
    id: p.id,
    title: p.title,
    severity: p.severity,
    pack: p.pack,
    description: p.description,
    checkType: p.check.type,
    resource: p.resource,
    compliance: p.compliance,
    references: p.references,
    remediation: p.remediation,
    file: p.file,
  };
}

/** Flags win; the config fills in what the flags leave out (scopes only when no scope flag and no --from). */
export function withConfig(o: AuditOpts, c: Config | undefined): AuditOpts {
  if (!c) return o;
  const anyScope = o.project.length || o.allProjects || o.region.length || o.roleArn.length || o.allAccounts || o.subscription.length || o.from;
  return {
    ...o,
    project: anyScope ? o.project : c.projects,
    allProjects: anyScope ? o.allProjects : c.allProjects,
    region: anyScope ? o.region : c.regions,
    roleArn: anyScope ? o.roleArn : c.roleArns,
    subscription: anyScope ? o.subscription : c.subscriptions,
    source: o.source.length ? o.source : ['internet', ...Object.keys(c.sources)],
    port: o.port ?? (c.port !== undefined ? String(c.port) : undefined),
    concurrency: o.concurrency ?? (c.concurrency !== undefined ? String(c.concurrency) : undefined),
    failOn: o.failOn ?? c.failOn,
    pack: o.pack.length ? o.pack : (c.packs ?? []),
  };
}

/** The arrays of a report read an element at a time (hundreds of megabytes at 100,000 instances). */
const REPORT_ARRAYS: ReadonlySet<string> = new Set<ReportArray>(['instances', 'results', 'findings']);

/**
 * An earlier `audit --format json` report (--baseline, merge), checked enough to be used, read without holding
 * it: the head (every other member) is returned with those arrays empty, and each of their elements is given to
 * `each` as it is read (json-stream.ts); without `each` they are scanned, not parsed.
 */
export async function readReport(
  path: string,
  file: string,
  flag = '--baseline',
  each?: (array: ReportArray, value: unknown, text: string) => void,
  skip?: (array: ReportArray, bytes: Buffer) => boolean,
): Promise<Report> {
  let read: Awaited<ReturnType<typeof readObjectStreaming>>;
  try {
    read = await readObjectStreaming(path, REPORT_ARRAYS, (k, v, text) => each?.(k as ReportArray, v, text), !each || (skip ? (k, bytes) => skip(k as ReportArray, bytes) : false));
  } catch (e) {
    if (e instanceof JsonShapeError) throw new InputError(file, [`not JSON: ${flag} takes an earlier \`rdpcloud audit --format json\` report (${e.message})`]);
    throw new InputError(file, [(e as NodeJS.ErrnoException).code === 'ENOENT' ? `no such file (${flag} names an earlier \`rdpcloud audit --format json\` report)` : `cannot read it: ${(e as Error).message}`]);
  }
  const data = read.members as Partial<Report>;
  if (!read.arrays.has('findings') || typeof data.generatedAt !== 'string' || typeof data.schemaVersion !== 'number') {
    throw new InputError(file, ['not an rdpcloud JSON report (no schemaVersion, generatedAt and findings): write one with `rdpcloud audit --format json -o FILE`']);
  }
  if (data.schemaVersion > REPORT_SCHEMA_VERSION) throw new InputError(file, [`report schemaVersion ${data.schemaVersion} is newer than this rdpcloud reads (${REPORT_SCHEMA_VERSION})`]);
  if (data.schemaVersion < 2) throw new InputError(file, [`report schemaVersion ${data.schemaVersion} predates the policy packs (its findings have other names): make a new report with this rdpcloud`]);
  return { ...data, instances: [], results: [], findings: [] } as unknown as Report;
}

const FAIL = Buffer.from('"fail"');
const ESCAPE = Buffer.from('\\u');

/**
 * Only the failures of a baseline report (all that --baseline compares with), read a finding at a time. Only the
 * findings that can be failures are parsed: the instances and results are skipped, and so is a finding whose
 * text holds no "fail" (a status "fail" is those bytes unless written with \u escapes, which no JSON writer
 * uses for letters but which are parsed to be sure): at 10,000 instances 7 in 8 findings pass.
 */
async function readBaseline(path: string, file: string): Promise<Pick<Report, 'findings' | 'generatedAt'>> {
  const failures: Finding[] = [];
  const head = await readReport(
    path,
    file,
    '--baseline',
    (array, v) => {
      if (array === 'findings' && (v as Finding)?.status === 'fail') failures.push(v as Finding);
    },
    (array, bytes) => array !== 'findings' || (bytes.indexOf(FAIL) < 0 && bytes.indexOf(ESCAPE) < 0),
  );
  return { generatedAt: head.generatedAt, findings: failures };
}

export function exitCodeOf(report: Report, failOn: Severity | 'none', exitZero: boolean): number {
  const incomplete = report.results.some((r) => r.verdict === 'unknown') || report.findings.some((f) => f.status === 'error');
  return exitFrom(report.scopes, incomplete, report.findings.some((f) => failsTheRun(f, failOn, !!report.drift)), exitZero);
}

/** Incomplete (a scope failed or was read in part, a verdict unknown, a check failed) before findings. */
function exitFrom(scopes: Report['scopes'], incomplete: boolean, failing: boolean, exitZero: boolean): number {
  if (incomplete || scopes.some((s) => s.status === 'failed' || s.warnings?.length)) return EXIT.incomplete;
  if (!exitZero && failing) return EXIT.findings;
  return EXIT.clean;
}

export function parseFailOn(v: string | undefined): Severity | 'none' {
  const allowed = ['critical', 'high', 'medium', 'low', 'info', 'none'];
  if (v === undefined) return 'high';
  if (!allowed.includes(v)) throw new UsageError(`--fail-on "${v}": use ${allowed.join(', ')}`);
  return v as Severity | 'none';
}

export function formatNamed(name: string): Format {
  if (!(FORMATS as readonly string[]).includes(name)) throw new UsageError(`--format "${name}": use ${FORMATS.join(', ')}`);
  return name as Format;
}

export async function runAudit(flags: AuditOpts, io: Io): Promise<number> {
  const timings = new Timings(io);
  timings.done('start');
  const cwd = io.cwd ?? process.cwd();
  const config = await loadConfig(flags.config, cwd);
  // Files named on the command line are relative to the working directory the run was given.
  const at = (f: string) => resolve(cwd, f);
  const o = withConfig({ ...flags, ...(flags.from ? { from: at(flags.from) } : {}) }, config);
  const port = parsePort(o.port ?? '3389');
  const failOn = parseFailOn(o.failOn);
  const stdoutFormat = o.format ? formatNamed(o.format) : 'table';
  const outputs = o.output.map((file) => {
    const f = formatOfFile(file) ?? (o.format ? formatNamed(o.format) : undefined);
    if (!f) throw new UsageError(`--output "${file}": cannot tell the format from the extension; add --format or name it .json, .sarif, .xml, .md, .csv, .ocsf.json or .txt`);
    return { file, format: f };
  });
  const catalog = await loadCatalog({ extra: [...(config?.policies ?? []), ...o.policy], cwd });
  const policies = applyOverrides(choosePolicies(catalog, o.pack), config?.overrides ?? {}, config?.file ?? 'rdpcloud.yaml', catalog.policies);
  const named = config?.sources ?? {};
  const labels = [...new Set(o.source.length ? o.source : ['internet'])];
  // Sources a policy names (source-reachability `sources`) are judged too, so its check can read them.
  for (const p of policies) for (const s of (p.check.params.sources as string[] | undefined) ?? []) if (!labels.includes(s)) labels.push(s);
  const sources: Source[] = labels.map((l) => resolveSource(l, named));
  const baseline = o.baseline ? await readBaseline(at(o.baseline), o.baseline) : undefined;

  timings.done('setup'); // rdpcloud.yaml, the policy catalog, the baseline
  const declared = sources.filter((s) => !s.isInternet).map((s) => ({ label: s.label, ...(config?.mustReach[s.label] ? { mustReach: config.mustReach[s.label] } : {}) }));
  const shard = parseShard(o.shard);
  // Rule sets with --shard. A saved inventory is judged whole, so each rule set is reported by the shard that
  // owns its scope, once. A live shard read only its scopes, and a rule set it sees may be another shard's (a
  // Shared VPC host network, an organisation policy) that no shard would report otherwise: it reports every
  // rule set it sees, with the users it sees, and `rdpcloud merge` joins them (identical findings once; a rule
  // is unused when no shard uses it).
  const live = !!shard && !o.from;
  // --shard: report this shard's scopes (a live run read only those; a saved inventory was judged whole).
  const mine = (x: { provider: string; scope: string }) => inShard(shard, x.provider, x.scope);
  // With --shard, a baseline failure is fixed only if this shard judged its resource, or owns its scope (a
  // deleted instance): a live shard may not see a rule set of its scopes that only other shards' instances use.
  const covers = (f: Finding, judged: boolean) => judged || (mine(f.resource) && (f.resource.kind !== 'rule-set' || !live));
  const toStdout = outputs.length === 0 || !!o.format;
  const judging = new Judging({
    policies,
    sources,
    port,
    declared,
    owns: (rs) => live || inShard(shard, rs.provider, rs.scope),
    mine,
    ...(live ? { usersSeenIn: `shard ${shard!.index}/${shard!.count}` } : {}),
    suppressions: config?.suppressions ?? [],
    today: io.now(),
    ...(baseline ? { drifting: new Drifting(baseline, o.baseline!, shard ? covers : undefined) } : {}),
    failOn,
    // What the outputs read is kept; what only JSON reads is spooled; what none reads is dropped.
    routes: routesFor([...outputs.map((x) => x.format), ...(toStdout ? [stdoutFormat] : [])]),
  });
  const budget = new HeapBudget(HEAP_THRESHOLD_MIB, HEAP_GROWING_PERCENT);
  const watching = budget.watch(50);
  try {
    const progress = new Progress(io);
    // A live audit judges each scope as soon as it is read; a saved inventory is one part.
    const inv: Inventory = await readInventory({ ...o, port: String(port) }, io, progress, o.from ? undefined : (part, ordinal) => {
      judging.part(partInventory(part), ordinal);
      budget.check();
    });
    timings.done(o.from ? 'read' : 'collect');
    if (o.from) judging.part(inv, 0);
    timings.spent('engine', judging.engineS, o.from ? undefined : 'collect');
    timings.spent('policies', judging.policiesS, o.from ? undefined : 'collect');
    const fin = judging.finish();
    for (const s of fin.unusedSuppressions) io.stderr(`warning: ${s.where}: the suppression of ${s.policy}${s.resource ? ` for ${s.resource}` : ''} matched no failing result; remove it if it is no longer needed\n`);
    const head: Report = {
      schemaVersion: REPORT_SCHEMA_VERSION,
      tool: { name: 'rdpcloud', version: VERSION },
      generatedAt: io.now().toISOString(),
      port,
      sources: sources.map((s) => s.label),
      scopes: inv.scopes.filter(mine).map((s) => ({ provider: s.provider, scope: s.scope, status: s.status, ...(s.error ? { error: s.error } : {}), ...(s.warnings?.length ? { warnings: s.warnings } : {}) })),
      instances: [],
      results: [],
      findings: [],
      policies: policies.map(policySummary),
      ...(baseline ? { drift: judging.s.drifting!.drift() } : {}),
    };
    // The report holds what is kept in memory; JSON reads the spooled arrays from the spool.
    const { kept, spooled } = byRoute(judging.s.routes, {
      instances: { kept: fin.instancesList, pieces: fin.instances },
      results: { kept: fin.resultsList, pieces: fin.results },
      findings: { kept: fin.findingsList, pieces: fin.findings },
    });
    const report: Report = { ...head, ...kept };
    const sarifLocation = config?.file ?? (flags.from ? shownPath(at(flags.from), cwd) : 'rdpcloud.yaml');
    // A report folder that does not exist yet is made (CI jobs write to reports/...).
    for (const out of outputs) await mkdir(dirname(at(out.file)), { recursive: true });
    // In blocks, so that a large JSON report is never one string in memory.
    const blocks = function* (format: Format, color: boolean) {
      for (const b of renderBlocks(report, format, { color, sarifLocation, kept: judging.kept }, spooled)) {
        yield b;
        budget.check();
      }
    };
    for (const out of outputs) await writeFile(at(out.file), blocks(out.format, false));
    if (toStdout) for (const block of blocks(stdoutFormat, stdoutFormat === 'table' && io.stdoutIsTTY && !io.env.NO_COLOR)) await io.stdout(block);
    timings.done('report');
    if (outputs.length && !o.format) io.stderr(`wrote ${outputs.map((x) => `${x.file} (${x.format})`).join(', ')}\n`);
    for (const s of report.scopes) {
      if (s.status === 'failed') io.stderr(`error: ${s.provider}:${s.scope}: ${s.error}\n`);
      for (const w of s.warnings ?? []) io.stderr(`warning: ${s.provider}:${s.scope}: ${w}\n`);
    }
    return exitFrom(report.scopes, judging.incomplete, judging.failing, !!o.exitZero);
  } finally {
    watching.stop();
    judging.close();
  }
}

/**
 * Past this much heap an audit is a large one, and its heap grows by a quarter of what is alive after each
 * collection instead of V8's default multiple (heap-budget.ts). Measured on the benchmark's organisation at
 * 100,000 instances (80 ms latency): peak RSS 570 -> 429 MiB, for 20.7 -> 25.9 s of CPU and 21.0 -> 22.3 s of
 * wall. Small audits never reach it (the EC2 2,000-group shape peaks at ~85 MiB of heap).
 */
export const HEAP_THRESHOLD_MIB = 160;
export const HEAP_GROWING_PERCENT = 25;

/** One scope as an inventory of its own (its rule sets and paths are all it crosses). */
function partInventory(part: ScopeInventory): Inventory {
  return { schemaVersion: INVENTORY_SCHEMA_VERSION, generatedAt: '', scopes: [part.scope], ruleSets: part.ruleSets, paths: part.paths, instances: part.instances };
}
const SHORT: Record<string, string> = {
  'CIS Google Cloud Platform Foundation Benchmark': 'CIS GCP',
  'CIS Amazon Web Services Foundations Benchmark': 'CIS AWS',
  'CIS Microsoft Azure Foundations Benchmark': 'CIS Azure',
};

export async function runPoliciesList(o: { policy: string[]; pack: string[]; format?: string; config?: string }, io: Io): Promise<number> {
  const cwd = io.cwd ?? process.cwd();
  const config = await loadConfig(o.config, cwd);
  const catalog = await loadCatalog({ extra: [...(config?.policies ?? []), ...o.policy], cwd });
  const policies = applyOverrides(choosePolicies(catalog, o.pack.length ? o.pack : config?.packs), config?.overrides ?? {}, config?.file ?? 'rdpcloud.yaml', catalog.policies);
  if (o.format === 'json') {
    io.stdout(JSON.stringify({ schemaVersion: REPORT_SCHEMA_VERSION, packs: Object.fromEntries(catalog.packs), policies: policies.map(policySummary) }, null, 2) + '\n');
    return EXIT.clean;
  }
  const lines: string[] = [];
  for (const pack of [...new Set(policies.map((p) => p.pack))]) {
    lines.push(`${pack}`);
    for (const p of policies.filter((x) => x.pack === pack)) {
      lines.push(`  ${p.id.padEnd(44)} ${p.severity.padEnd(7)} ${p.resource.padEnd(9)} ${p.title}`);
      if (p.compliance.length) lines.push(`  ${''.padEnd(44)} ${p.compliance.map((c) => `${SHORT[c.framework] ?? c.framework} ${c.version} ${c.id}`).join('; ')}`);
    }
  }
  lines.push('', `${policies.length} policies; packs: ${[...catalog.packs.keys()].join(', ')}`);
  io.stdout(lines.join('\n') + '\n');
  return EXIT.clean;
}

export { collectList };
