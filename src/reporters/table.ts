// `--format table`: grouped by scope, fits 100 columns, colour only when writing to a terminal.
import type { InstanceSummary, Report, Result, Verdict } from '../model/results.js';
import { activeFailures, bySeverity, refOf, titleOf } from './common.js';

export interface TableOptions {
  color: boolean;
  width?: number;
}

const COLORS: Record<Verdict | 'high' | 'medium' | 'low' | 'dim', string> = {
  reachable: '\x1b[31m',
  partial: '\x1b[33m',
  blocked: '\x1b[32m',
  unknown: '\x1b[35m',
  high: '\x1b[31m',
  medium: '\x1b[33m',
  low: '\x1b[36m',
  dim: '\x1b[2m',
};

function fit(text: string, width: number): string {
  if (text.length <= width) return text.padEnd(width);
  return text.slice(0, Math.max(0, width - 1)) + '~';
}

function deciding(r: Result): string {
  // Name the rules that let the source in; else the ones that stopped it. The first one, and how many more:
  // `explain` has them all.
  const pick = r.verdict === 'blocked' ? r.reasons.filter((x) => x.action === 'deny') : r.verdict === 'unknown' ? r.reasons.filter((x) => x.action === 'unknown') : r.reasons.filter((x) => x.action === 'allow');
  const names = [...new Set(pick.map((x) => (x.priority !== undefined ? `${x.rule} (${x.priority})` : x.rule)))];
  return names.length <= 1 ? (names[0] ?? '') : `${names[0]} +${names.length - 1}`;
}

/**
 * One row of the table: INSTANCE, STATE, SOURCE, VERDICT, ACCESS, DECIDING RULE, as text before fitting and
 * colour. An audit keeps these instead of its results when the table is the only output that reads them
 * (src/cli/judging.ts): at 100,000 instances a result with its reasons is ~1 KB, a row ~100 bytes.
 */
export type TableRow = readonly [instance: string, state: string, source: string, verdict: Verdict, access: string, deciding: string];

/** What the table shows of the instances and results, by scope (PROVIDER:SCOPE), rows in report order. */
export interface TableRows {
  byScope: Map<string, { rows: TableRow[]; instances: Set<string> }>;
  /** Instances in the report, and results by verdict: the closing line. */
  instances: number;
  verdicts: Record<Verdict, number>;
}

export const emptyTableRows = (): TableRows => ({ byScope: new Map(), instances: 0, verdicts: { reachable: 0, partial: 0, blocked: 0, unknown: 0 } });

/** Adds the rows of some results (and their instances' summaries, for ACCESS) to `into`. */
export function addTableRows(into: TableRows, results: readonly Result[], instances: readonly InstanceSummary[]): TableRows {
  const key = (x: { provider: string; scope: string; location: string; instanceId: string }) => `${x.provider}|${x.scope}|${x.location}|${x.instanceId}`;
  const access = new Map(instances.map((i) => [key(i), i]));
  into.instances += instances.length;
  for (const r of results) {
    const k = `${r.provider}:${r.scope}`;
    let scope = into.byScope.get(k);
    if (!scope) into.byScope.set(k, (scope = { rows: [], instances: new Set() }));
    scope.instances.add(r.instanceId);
    const a = access.get(key(r));
    const acc = a ? (a.gateway ? `${a.access === 'gateway-only' ? 'gateway' : a.access}:${a.gateway}` : a.access) : '';
    // Azure's "PowerState/deallocated" reads as "deallocated" here; JSON keeps the cloud's word.
    scope.rows.push([r.instance, r.state.replace(/^PowerState\//, ''), r.source, r.verdict, acc, deciding(r)]);
    into.verdicts[r.verdict]++;
  }
  return into;
}

/** `rows`: what an audit kept of its instances and results instead of them (else made from the report's). */
export function tableReport(report: Report, o: TableOptions, rows?: TableRows): string {
  return [...tableBlocks(report, o, rows)].join('');
}

/** The table a scope at a time (one string of it at 100,000 instances is tens of megabytes). */
export function* tableBlocks(report: Report, o: TableOptions, rows = addTableRows(emptyTableRows(), report.results, report.instances)): Generator<string> {
  const paint = (k: keyof typeof COLORS, s: string) => (o.color ? `${COLORS[k]}${s}\x1b[0m` : s);
  // INSTANCE 20, STATE 11, SOURCE 12, VERDICT 9, ACCESS 15, DECIDING 28 + 5 spaces = 100
  const header = `${fit('INSTANCE', 20)} ${fit('STATE', 11)} ${fit('SOURCE', 12)} ${fit('VERDICT', 9)} ${fit('ACCESS', 15)} DECIDING RULE`;
  for (const s of report.scopes) {
    const lines: string[] = [];
    const k = `${s.provider}:${s.scope}`;
    const scope = rows.byScope.get(k);
    if (s.status === 'failed') {
      yield `${k}  FAILED: ${s.error ?? 'unknown error'}\n\n`;
      continue;
    }
    lines.push(`${k}  (${scope?.instances.size ?? 0} instances)`);
    for (const w of s.warnings ?? []) lines.push(`  INCOMPLETE: ${w}`);
    if (!scope?.rows.length) {
      lines.push('  no instances', '');
      yield lines.join('\n') + '\n';
      continue;
    }
    lines.push(paint('dim', header));
    for (const [instance, state, source, verdict, acc, rule] of scope.rows) {
      lines.push(`${fit(instance, 20)} ${fit(state, 11)} ${fit(source, 12)} ${paint(verdict, fit(verdict, 9))} ${fit(acc, 15)} ${fit(rule, 28).trimEnd()}`);
    }
    lines.push('');
    yield lines.join('\n') + '\n';
  }
  const lines: string[] = [];
  // Findings grouped by policy, most severe first; each resource on its own line with the message under it.
  const failing = activeFailures(report).sort(bySeverity);
  if (failing.length) {
    lines.push(`FINDINGS (${failing.length})`);
    let last = '';
    for (const f of failing) {
      const group = `${f.policyId}|${f.severity}`;
      if (group !== last) {
        const sev = f.severity.toUpperCase().padEnd(6);
        lines.push(`${paint(f.severity === 'high' || f.severity === 'critical' ? 'high' : f.severity === 'medium' ? 'medium' : 'low', sev)} ${f.policyId}: ${titleOf(report, f.policyId)}`);
        last = group;
      }
      lines.push(`  ${refOf(f)}${f.baseline === 'new' ? ' (new)' : ''}`);
      lines.push(`    ${f.message.length > 94 ? f.message.slice(0, 93) + '~' : f.message}`);
    }
    lines.push('');
  }
  const suppressed = report.findings.filter((f) => f.suppressed);
  if (suppressed.length) lines.push(paint('dim', `${suppressed.length} suppressed finding(s) (see --format json or sarif for reasons and expiry dates)`), '');
  const errors = report.findings.filter((f) => f.status === 'error');
  const failed = report.scopes.filter((s) => s.status === 'failed').length;
  const counts = (['reachable', 'partial', 'blocked', 'unknown'] as const).map((v) => `${rows.verdicts[v]} ${v}`);
  lines.push(`${rows.instances} instances in ${report.scopes.length - failed} scope(s)${failed ? `, ${failed} scope(s) failed` : ''}; ${counts.join(', ')}; ${failing.length} finding(s)${report.drift ? ` (${report.drift.new} new, ${report.drift.fixed.length} fixed since the baseline)` : ''}${errors.length ? `, ${errors.length} check(s) could not decide` : ''}`);
  yield lines.join('\n') + '\n';
}
