// `rdpcloud merge a.json b.json ...`: one report from the JSON reports of sharded runs (`--shard i/n` in a CI
// matrix). Scopes, instances, results and findings are joined, each once (a scope or finding that two parts
// both carry is kept from the later report), except that an open rule is unused only if it is in every part
// that judged its rule set; policies are joined by id; drift is counted again from the merged findings. The exit
// code is what one audit of everything would have given. The parts are read an element at a time (json-stream.ts)
// and, as in an audit, the merge keeps only what its outputs read: what only JSON shows waits in a spool as text
// (spool.ts).
import { mkdir, writeFile } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import { UsageError } from '../errors.js';
import { REPORT_SCHEMA_VERSION, type Finding, type InstanceSummary, type PolicySummary, type Report, type Result, type Severity } from '../model/results.js';
import { mergeDrift } from '../policies/baseline.js';
import { joinGroup, joinKey } from '../policies/join.js';
import { formatOfFile, renderBlocks, type Format } from '../reporters/index.js';
import { elementText, type Piece } from '../reporters/json.js';
import { exitCodeOf, formatNamed, HEAP_GROWING_PERCENT, HEAP_THRESHOLD_MIB, parseFailOn, readReport } from './audit.js';
import { HeapBudget } from './heap-budget.js';
import type { Io } from './common.js';
import { byRoute, routesFor, shown, type ReportArray, type Route, type Routes } from './judging.js';
import { TextSpool, type Span } from './spool.js';
import { VERSION } from './version.js';

export interface MergeOpts {
  format?: string;
  output: string[];
  failOn?: string;
  exitZero?: boolean;
}

const ref = (x: { provider: string; scope: string; location: string; instanceId: string }) => `${x.provider}|${x.scope}|${x.location}|${x.instanceId}`;

/** What is held of one element: the element (in memory), its text (in the spool), or a group of findings still to join. */
interface Held<T> {
  item?: T;
  span?: Span;
  group?: Finding[];
}

/**
 * One array of the merged report: each element once by key, where it was first seen, the last part's (a Map
 * keeps a key's first place when it is set again). By its route the elements are kept, spooled as text or
 * dropped; `needed` ones are kept whatever the route, for the exit code and the drift.
 */
class Joined<T> {
  readonly held = new Map<string, Held<T>>();
  /**
   * Whether the part being read is laid out as rdpcloud writes a report (JSON.stringify(report, null, 2)): then
   * an element's own text in it is what elementText makes of the element, and is copied as it stands instead of
   * being stringified again (at 100,000 instances that was ~1 s of the merge). Decided on each part's first
   * LAYOUT_SAMPLE elements of the array, each compared with elementText; a part laid out otherwise (compacted,
   * re-indented by another tool) is stringified throughout, so the merged report is laid out as an audit's.
   */
  private asWritten: boolean | undefined;
  private checked = 0;
  constructor(
    private readonly route: Route,
    private readonly spool: () => TextSpool,
    private readonly needed: (t: T) => boolean,
    private readonly inMemory: (t: T) => boolean = () => true,
  ) {}
  /** The next part's elements follow: its layout is looked at again. */
  newPart(): void {
    this.asWritten = undefined;
    this.checked = 0;
  }
  /** `text`: the element as it stands in its part (readObjectStreaming), when it was read from a file. */
  add(key: string, item: T, text?: string): void {
    const h: Held<T> = {};
    if ((this.route === 'memory' && this.inMemory(item)) || this.needed(item)) h.item = item;
    if (this.route === 'spool') h.span = this.spool().write(this.textOf(item, text));
    this.held.set(key, h);
  }
  private textOf(item: T, text: string | undefined): string {
    // The element's text runs from after the `[` or `,` before it: its own line break and indentation come
    // with it, and the last one of an array also has the line break before the `]`.
    if (text !== undefined && this.asWritten) return text.trimEnd();
    const made = elementText(item);
    if (text !== undefined && this.asWritten === undefined) {
      if (text.trimEnd() !== made) this.asWritten = false;
      else if (++this.checked >= LAYOUT_SAMPLE) this.asWritten = true;
    }
    return made;
  }
  addToGroup(key: string, f: Finding): void {
    const h = this.held.get(key);
    if (h?.group) h.group.push(f);
    else this.held.set(key, { group: [f] });
  }
  /** The elements kept in memory, in order. */
  kept(): T[] {
    const out: T[] = [];
    for (const h of this.held.values()) if (h.item !== undefined) out.push(h.item);
    return out;
  }
  /** The array as JSON pieces (a spooled route): text, as inBlocks gathers many small elements into one write. */
  *pieces(): Iterable<string> {
    for (const h of this.held.values()) {
      if (h.span) yield this.spool().read(h.span);
      else if (h.item !== undefined) yield elementText(h.item);
    }
  }
}

/** How many elements of a part are compared with elementText before its own text is trusted (Joined). */
const LAYOUT_SAMPLE = 100;

/** Results the exit code reads: undecided verdicts (and, of the findings, those `shown`). */
const undecided = (r: Result) => r.verdict === 'unknown';

/**
 * The merge a part at a time: each part's arrays go to their routes (routesFor the outputs) as it is read, so
 * that only one part is ever parsed in memory and what only the JSON output reads waits in a spool.
 */
export class Merger {
  private spoolFile?: TextSpool;
  private readonly spool = () => (this.spoolFile ??= new TextSpool());
  private port?: number;
  private readonly sources = new Set<string>();
  private readonly scopes = new Map<string, Report['scopes'][number]>();
  private readonly policies = new Map<string, PolicySummary>();
  private readonly drifts: NonNullable<Report['drift']>[] = [];
  readonly instances: Joined<InstanceSummary>;
  readonly results: Joined<Result>;
  readonly findings: Joined<Finding>;

  constructor(readonly routes: Routes) {
    this.instances = new Joined(routes.instances, this.spool, () => false);
    this.results = new Joined(routes.results, this.spool, undecided);
    this.findings = new Joined(routes.findings, this.spool, shown, routes.failingOnly ? shown : undefined);
  }

  /** A part's head (a report without its arrays): first the heads of every part, then their elements. */
  addHead(part: Report): void {
    if (this.port !== undefined && part.port !== this.port) throw new UsageError(`the reports judge different ports (${this.port}, ${part.port}): merge runs of the same audit`);
    this.port = part.port;
    for (const x of part.sources) this.sources.add(x);
    for (const x of part.scopes) this.scopes.set(`${x.provider}|${x.scope}`, x);
    for (const x of part.policies ?? []) this.policies.set(x.id, x);
    if (part.drift) this.drifts.push(part.drift);
  }

  /** One element of a part's arrays, parts in order (every policy is known by then: it says which findings join). */
  addElement(array: ReportArray, value: unknown, text?: string): void {
    if (array === 'instances') {
      const x = value as InstanceSummary;
      this.instances.add(ref(x), x, text);
    } else if (array === 'results') {
      const x = value as Result;
      this.results.add(`${ref(x)}|${x.source}|${x.port}`, x, text);
    } else {
      const f = value as Finding;
      const { key, group } = joinKey(f, (id) => this.policies.get(id));
      if (group) this.findings.addToGroup(key, f);
      else this.findings.add(key, f, text);
    }
  }

  /** The elements of another part follow (its layout is looked at again). */
  newPart(): void {
    for (const j of [this.instances, this.results, this.findings]) j.newPart();
  }

  /** The merged report (its spooled arrays empty), and the spooled arrays as JSON pieces. */
  finish(now: Date): { report: Report; spooled: Partial<Record<keyof Report, () => Iterable<Piece>>> } {
    const policyOf = (id: string) => this.policies.get(id);
    // The unused-open-rule groups, decided over every part; kept in memory (one per open rule set).
    for (const h of this.findings.held.values()) if (h.group) h.item = joinGroup(h.group, policyOf, this.port ?? 3389);
    const { kept, spooled } = byRoute(this.routes, {
      instances: { kept: () => this.instances.kept(), pieces: () => this.instances.pieces() },
      results: { kept: () => this.results.kept(), pieces: () => this.results.pieces() },
      findings: { kept: () => this.findings.kept(), pieces: () => this.findings.pieces() },
    });
    const report: Report = {
      schemaVersion: REPORT_SCHEMA_VERSION,
      tool: { name: 'rdpcloud', version: VERSION },
      generatedAt: now.toISOString(),
      port: this.port ?? 3389,
      sources: [...this.sources],
      scopes: [...this.scopes.values()],
      ...kept,
      policies: [...this.policies.values()],
    };
    if (this.drifts.length) report.drift = mergeDrift(this.findings.kept(), this.drifts);
    return { report, spooled };
  }

  /** What the exit code reads: the scopes, the undecided results, the failures and undecided checks. */
  exitCode(report: Report, failOn: Severity | 'none', exitZero: boolean): number {
    return exitCodeOf({ ...report, results: this.results.kept().filter(undecided), findings: this.findings.kept().filter(shown) }, failOn, exitZero);
  }

  close(): void {
    this.spoolFile?.close();
  }
}

const IN_MEMORY: Routes = { instances: 'memory', results: 'memory', findings: 'memory', tableRows: false, failingOnly: false, shownKept: false };

/** The merged report of parts already read (everything in memory). */
export function mergeReports(parts: Report[], now: Date): Report {
  const m = new Merger(IN_MEMORY);
  for (const p of parts) m.addHead(p);
  for (const p of parts) for (const array of ['instances', 'results', 'findings'] as const) for (const x of p[array]) m.addElement(array, x);
  return m.finish(now).report;
}

export async function runMerge(files: string[], o: MergeOpts, io: Io): Promise<number> {
  const cwd = io.cwd ?? process.cwd();
  if (files.length === 0) throw new UsageError('merge: name the JSON reports of the shards (rdpcloud audit --shard i/n --format json -o part-i.json)');
  const failOn = parseFailOn(o.failOn);
  const stdoutFormat: Format = o.format ? formatNamed(o.format) : 'table';
  const outputs = o.output.map((file) => {
    const f = formatOfFile(file) ?? (o.format ? formatNamed(o.format) : undefined);
    if (!f) throw new UsageError(`--output "${file}": cannot tell the format from the extension; add --format`);
    return { file, format: f };
  });
  // The parts' instances and results are joined first (a part's may repeat another's): the table is made of them then.
  const merger = new Merger(routesFor([...outputs.map((x) => x.format), ...(!outputs.length || o.format ? [stdoutFormat] : [])], { rows: false }));
  try {
    // Twice over the files: first their heads (every file checked, and every policy known, before any work),
    // then their arrays an element at a time, into their routes: no part is ever held whole.
    for (const f of files) merger.addHead(await readReport(resolve(cwd, f), f, 'merge'));
    const budget = new HeapBudget(HEAP_THRESHOLD_MIB, HEAP_GROWING_PERCENT);
    for (const f of files) {
      budget.check();
      merger.newPart();
      await readReport(resolve(cwd, f), f, 'merge', (array, value, text) => merger.addElement(array, value, text));
    }
    const { report, spooled } = merger.finish(io.now());
    for (const out of outputs) {
      await mkdir(dirname(resolve(cwd, out.file)), { recursive: true });
      await writeFile(resolve(cwd, out.file), renderBlocks(report, out.format, { color: false }, spooled));
    }
    if (!outputs.length || o.format) for (const block of renderBlocks(report, stdoutFormat, { color: stdoutFormat === 'table' && io.stdoutIsTTY && !io.env.NO_COLOR }, spooled)) await io.stdout(block);
    else io.stderr(`merged ${files.length} reports (${report.scopes.length} scopes, ${merger.instances.held.size} instances) into ${outputs.map((x) => x.file).join(', ')}\n`);
    return merger.exitCode(report, failOn, !!o.exitZero);
  } finally {
    merger.close();
  }
}
