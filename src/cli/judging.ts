// An audit judged a scope at a time: each scope's inventory goes through the engine and the policies as soon as
// it is read, its instances, results and instance findings are written out (to a spool), and nothing of it is
// kept but what the end needs: the rule-set findings (few, and joined over the scopes that share a rule set),
// the suppressions used, the drift counts and what decides the exit code. At 100,000 instances the report is
// hundreds of megabytes and the inventory a few hundred more: held whole, they would not fit a pipeline job.
//
// The report is the one a whole-inventory judgement gives, in the same order: instances and results in
// inventory order (provider, scope as listed, instance name), findings by policy, then by scope, the rule-set
// findings of a policy after its instance findings... of which a policy has one kind only.
import { evaluate } from '../engine/evaluate.js';
import { atOrAbove } from '../engine/grade.js';
import type { Source } from '../engine/sources.js';
import type { Inventory, RuleSet } from '../model/inventory.js';
import type { Finding, InstanceSummary, Report, Result, Severity } from '../model/results.js';
import { Drifting } from '../policies/baseline.js';
import { joinFindings } from '../policies/join.js';
import { runContext, runPolicies } from '../policies/run.js';
import { applySuppressions, type Suppression } from '../policies/suppressions.js';
import type { Policy, RunContext } from '../policies/types.js';
import { READS, type Format } from '../reporters/index.js';
import { elementsText, type Piece } from '../reporters/json.js';
import { addTableRows, emptyTableRows, type TableRows } from '../reporters/table.js';
import { TextSpool, type Span } from './spool.js';

/** A finding that fails the run: a failure at or above --fail-on, not suppressed, and new when there is a baseline (the known backlog is tracked, not re-failed). */
export const failsTheRun = (f: Finding, failOn: Severity | 'none', withBaseline: boolean): boolean =>
  f.status === 'fail' && !f.suppressed && atOrAbove(f.severity, failOn) && (!withBaseline || f.baseline === 'new');

export interface JudgeSetup {
  policies: Policy[];
  sources: Source[];
  port: number;
  declared: RunContext['declaredSources'];
  /** The rule sets this run reports on (a saved inventory's shard: those of its scopes). */
  owns(rs: RuleSet): boolean;
  /** The instances this run reports on (its shard's scopes). */
  mine(x: { provider: string; scope: string }): boolean;
  /** A live shard: the part of the instances a rule set's users are looked for in. */
  usersSeenIn?: string;
  suppressions: Suppression[];
  today: Date;
  drifting?: Drifting;
  failOn: Severity | 'none';
  /** Where each of the scopes' arrays goes (routesFor: what the run's formats read). */
  routes: Routes;
}

/**
 * Where one of the scopes' arrays goes: kept in memory (a format other than JSON reads it), written to the
 * spool (JSON reads it back from there as text; the formats that stream the findings, JUnit and CSV, parse
 * them back), or dropped (no output shows it).
 */
export type Route = 'memory' | 'spool' | 'drop';
export interface Routes {
  instances: Route;
  results: Route;
  findings: Route;
  /** The table's rows of the results are made as each scope is judged (READS `rows`), not the results kept. */
  tableRows: boolean;
  /** Findings kept in memory: only those that failed or could not decide (the only ones the formats read). */
  failingOnly: boolean;
  /**
   * The findings go to the spool (JSON and the streaming formats read them all there) and the shown ones are kept
   * in memory as well, for the formats that show only those: at 100,000 instances most findings pass.
   */
  shownKept: boolean;
}

/**
 * The routes for a run's output formats (src/reporters/index.ts READS says what each format reads). `rows`
 * false: a format that reads the table's rows or a count keeps the whole arrays instead (`rdpcloud merge`, which
 * joins the parts' results before it can make rows of them).
 */
export function routesFor(formats: readonly Format[], o: { rows?: boolean } = {}): Routes {
  const rows = o.rows ?? true;
  const others = formats.filter((f) => f !== 'json').map((f) => READS[f]);
  const json = formats.includes('json');
  const route = (kept: boolean): Route => (kept ? 'memory' : json ? 'spool' : 'drop');
  // Findings are read from memory (the formats that show failures only, most of them) or as a stream of the
  // spooled JSON text (JSON itself, JUnit and CSV). Both: the spool has them all, memory the shown ones.
  const fromMemory = others.filter((r) => r.findings !== 'none' && !r.findingsStreamed);
  const streamed = json || others.some((r) => r.findings !== 'none' && r.findingsStreamed);
  const allInMemory = fromMemory.some((r) => r.findings === 'all');
  return {
    instances: route(others.some((r) => r.instances === true || (!rows && r.instances))),
    results: route(others.some((r) => r.results === true || (!rows && r.results))),
    tableRows: rows && others.some((r) => r.results === 'rows'),
    findings: allInMemory ? 'memory' : streamed ? 'spool' : fromMemory.length ? 'memory' : 'drop',
    failingOnly: !allInMemory && !streamed && fromMemory.length > 0,
    shownKept: !allInMemory && streamed && fromMemory.length > 0,
  };
}

/** The per-scope arrays of a report. */
export type ReportArray = 'instances' | 'results' | 'findings';

/** Each array of a report by its route: kept in memory (in the report), spooled (as JSON pieces), or neither. */
export function byRoute(
  routes: Routes,
  arrays: { [K in ReportArray]: { kept(): Report[K]; pieces(): Iterable<Piece> } },
): { kept: Pick<Report, ReportArray>; spooled: Partial<Record<ReportArray, () => Iterable<Piece>>> } {
  const spooled: Partial<Record<ReportArray, () => Iterable<Piece>>> = {};
  for (const a of ['instances', 'results', 'findings'] as const) if (routes[a] === 'spool') spooled[a] = () => arrays[a].pieces();
  const kept = <K extends ReportArray>(a: K): Report[K] => (routes[a] === 'memory' || (a === 'findings' && routes.shownKept) ? arrays[a].kept() : []);
  return { kept: { instances: kept('instances'), results: kept('results'), findings: kept('findings') }, spooled };
}

type Section = 'instances' | 'results';

/** Where the scopes' arrays go: kept in memory, or written as JSON text to a temporary file. */
interface Store {
  put(section: Section | number, ordinal: number, items: readonly unknown[]): void;
  /** The items of a section (a policy's findings: its index), in ordinal order. */
  items(section: Section | number): unknown[];
  /** The same as elementsText pieces of the section's report array (text, or its UTF-8 bytes). */
  pieces(section: Section | number): Iterable<Piece>;
  close(): void;
}

class MemoryStore implements Store {
  private readonly kept = new Map<Section | number, { ordinal: number; items: readonly unknown[] }[]>();
  put(section: Section | number, ordinal: number, items: readonly unknown[]): void {
    if (items.length === 0) return;
    let list = this.kept.get(section);
    if (!list) this.kept.set(section, (list = []));
    list.push({ ordinal, items });
  }
  items(section: Section | number): unknown[] {
    const out: unknown[] = [];
    for (const x of [...(this.kept.get(section) ?? [])].sort((a, b) => a.ordinal - b.ordinal)) for (const i of x.items) out.push(i);
    return out;
  }
  *pieces(section: Section | number): Iterable<Piece> {
    yield* elementsText(this.items(section));
  }
  close(): void {}
}

/** The text of each put() appended to the spool (spool.ts); read back range by range, in ordinal order. */
class FileStore implements Store {
  private readonly spool = new TextSpool();
  private readonly ranges = new Map<Section | number, { ordinal: number; span: Span }[]>();

  put(section: Section | number, ordinal: number, items: readonly unknown[]): void {
    if (items.length === 0) return;
    let list = this.ranges.get(section);
    if (!list) this.ranges.set(section, (list = []));
    for (const text of elementsText(items)) list.push({ ordinal, span: this.spool.write(text) });
  }
  items(): unknown[] {
    throw new Error('a spooled audit reads its scopes back as JSON text only');
  }
  *pieces(section: Section | number): Iterable<Piece> {
    // Stable: the pieces of one scope stay in the order they were written. As bytes: they go to a file or
    // stdout as they are.
    for (const r of [...(this.ranges.get(section) ?? [])].sort((a, b) => a.ordinal - b.ordinal)) yield this.spool.readBytes(r.span);
  }
  close(): void {
    this.spool.close();
  }
}

/** Nothing kept: a section no output shows. */
class NoStore implements Store {
  put(): void {}
  items(): unknown[] {
    return [];
  }
  *pieces(): Iterable<Piece> {}
  close(): void {}
}

/** Each section to its route's store; the spool file is made only when a section goes there. */
class RoutedStore implements Store {
  private readonly memory = new MemoryStore();
  private readonly none = new NoStore();
  private file?: FileStore;
  constructor(private readonly routes: Routes) {}
  private of(section: Section | number): Store {
    const route = this.routes[typeof section === 'number' ? 'findings' : section];
    return route === 'memory' ? this.memory : route === 'drop' ? this.none : (this.file ??= new FileStore());
  }
  put(section: Section | number, ordinal: number, items: readonly unknown[]): void {
    this.of(section).put(section, ordinal, items);
  }
  items(section: Section | number): unknown[] {
    return this.of(section).items(section);
  }
  pieces(section: Section | number): Iterable<Piece> {
    return this.of(section).pieces(section);
  }
  close(): void {
    this.file?.close();
  }
}

/** A finding some format other than JSON shows: a failure (suppressed or not) or a check that could not decide. */
export const shown = (f: Finding) => f.status === 'fail' || f.status === 'error';

export class Judging {
  private readonly store: Store;
  /** The shown findings, when the store spools them all (Routes.shownKept). */
  private readonly shown = new MemoryStore();
  private readonly policyIndex: Map<string, number>;
  /** Rule-set findings, with where they were made (joined at the end, in the order first made). */
  private readonly ruleSetFindings: { ordinal: number; seq: number; f: Finding }[] = [];
  private readonly unusedSuppressions: Set<Suppression>;
  private seq = 0;
  /** Seconds in the engine and in the policies, over the scopes. */
  engineS = 0;
  policiesS = 0;
  /** A result the engine could not decide, or a check that failed: the audit is incomplete. */
  incomplete = false;
  /** A failure that fails the run (--fail-on, not suppressed, new with --baseline). */
  failing = false;
  /** The instances judged (this shard's), and the table's rows when a table reads them (Routes.tableRows). */
  readonly kept: { rows?: TableRows; instances: number };

  constructor(readonly s: JudgeSetup) {
    this.store = new RoutedStore(s.routes);
    this.policyIndex = new Map(s.policies.map((p, i) => [p.id, i]));
    this.unusedSuppressions = new Set(s.suppressions);
    this.kept = { instances: 0, ...(s.routes.tableRows ? { rows: emptyTableRows() } : {}) };
  }

  /** One scope (or a whole saved inventory, ordinal 0). */
  part(inv: Inventory, ordinal: number): void {
    const s = this.s;
    const t0 = performance.now();
    const ev = evaluate(inv, s.sources, s.port);
    const t1 = performance.now();
    const raw = runPolicies(s.policies, runContext(inv, ev, s.port, s.declared, s.usersSeenIn), s.owns);
    this.policiesS += (performance.now() - t1) / 1000;
    this.engineS += (t1 - t0) / 1000;
    const results: Result[] = ev.results.filter(s.mine);
    if (results.some((r) => r.verdict === 'unknown')) this.incomplete = true;
    const instances: InstanceSummary[] = ev.instances.filter(s.mine);
    this.kept.instances += instances.length;
    if (this.kept.rows) addTableRows(this.kept.rows, results, instances);
    this.store.put('instances', ordinal, instances);
    this.store.put('results', ordinal, results);
    const byPolicy = new Map<number, Finding[]>();
    for (const f of raw) {
      if (f.resource.kind === 'rule-set') {
        this.ruleSetFindings.push({ ordinal, seq: this.seq++, f });
        continue;
      }
      if (!s.mine(f.resource)) continue;
      const p = this.policyIndex.get(f.policyId)!;
      let list = byPolicy.get(p);
      if (!list) byPolicy.set(p, (list = []));
      list.push(f);
    }
    for (const [p, list] of byPolicy) {
      const settled = this.settle(list);
      this.store.put(p, ordinal, s.routes.failingOnly ? settled.filter(shown) : settled);
      if (s.routes.shownKept) this.shown.put(p, ordinal, settled.filter(shown));
    }
  }

  /** Suppressions and the baseline applied, the exit code's facts noted. */
  private settle(findings: Finding[]): Finding[] {
    const { findings: suppressed, unused } = applySuppressions(findings, this.s.suppressions, this.s.today);
    const still = new Set(unused);
    for (const x of this.unusedSuppressions) if (!still.has(x)) this.unusedSuppressions.delete(x);
    const marked = this.s.drifting ? this.s.drifting.mark(suppressed) : suppressed;
    for (const f of marked) {
      if (f.status === 'error') this.incomplete = true;
      if (failsTheRun(f, this.s.failOn, !!this.s.drifting)) this.failing = true;
    }
    return marked;
  }

  /** Removes the spool (after the report is written, or when the audit stopped). */
  close(): void {
    this.store.close();
  }

  /** After the last scope: the rule-set findings joined and settled, each policy's findings in place. */
  finish(): { unusedSuppressions: Suppression[]; findings(): Iterable<Piece>; findingsList(): Finding[]; instances(): Iterable<Piece>; results(): Iterable<Piece>; instancesList(): InstanceSummary[]; resultsList(): Result[] } {
    const made = this.ruleSetFindings.sort((a, b) => a.ordinal - b.ordinal || a.seq - b.seq).map((x) => x.f);
    const byId = new Map(this.s.policies.map((p) => [p.id, { checkType: p.check.type, remediation: p.remediation }]));
    const joined = this.settle(joinFindings(made, (id) => byId.get(id), this.s.port, this.s.usersSeenIn));
    const ruleSetsOf = new Map<number, Finding[]>();
    let at = 0;
    for (const f of joined) {
      // An expired suppression's finding follows the failure it suppressed (same policy block).
      at = this.policyIndex.get(f.policyId) ?? at;
      let list = ruleSetsOf.get(at);
      if (!list) ruleSetsOf.set(at, (list = []));
      list.push(f);
    }
    const store = this.store;
    const listed = this.s.routes.shownKept ? this.shown : this.store;
    const onlyShown = this.s.routes.shownKept || this.s.routes.failingOnly;
    const n = this.s.policies.length;
    return {
      unusedSuppressions: this.s.suppressions.filter((x) => this.unusedSuppressions.has(x)),
      *findings() {
        for (let p = 0; p < n; p++) {
          yield* store.pieces(p);
          yield* elementsText(ruleSetsOf.get(p) ?? []);
        }
      },
      findingsList() {
        const out: Finding[] = [];
        for (let p = 0; p < n; p++) out.push(...(listed.items(p) as Finding[]), ...((onlyShown ? ruleSetsOf.get(p)?.filter(shown) : ruleSetsOf.get(p)) ?? []));
        return out;
      },
      instances: () => store.pieces('instances'),
      results: () => store.pieces('results'),
      instancesList: () => store.items('instances') as InstanceSummary[],
      resultsList: () => store.items('results') as Result[],
    };
  }
}
