// `--format table`: grouped by scope, fits 100 columns, colour only when writing to a terminal.
import type { Report, Result, Verdict } from '../model/results.js';
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

export function tableReport(report: Report, o: TableOptions): string {
  const paint = (k: keyof typeof COLORS, s: string) => (o.color ? `${COLORS[k]}${s}\x1b[0m` : s);
  const lines: string[] = [];
  const access = new Map(report.instances.map((i) => [`${i.provider}|${i.scope}|${i.location}|${i.instanceId}`, i]));
  const byScope = new Map<string, Result[]>();
  for (const r of report.results) {
    const k = `${r.provider}:${r.scope}`;
    let list = byScope.get(k);
    if (!list) byScope.set(k, (list = []));
    list.push(r);
  }
  // INSTANCE 20, STATE 11, SOURCE 12, VERDICT 9, ACCESS 15, DECIDING 28 + 5 spaces = 100
  const header = `${fit('INSTANCE', 20)} ${fit('STATE', 11)} ${fit('SOURCE', 12)} ${fit('VERDICT', 9)} ${fit('ACCESS', 15)} DECIDING RULE`;
  for (const s of report.scopes) {
    const k = `${s.provider}:${s.scope}`;
    const rows = byScope.get(k) ?? [];
    if (s.status === 'failed') {
      lines.push(`${k}  FAILED: ${s.error ?? 'unknown error'}`, '');
      continue;
    }
    lines.push(`${k}  (${new Set(rows.map((r) => r.instanceId)).size} instances)`);
    for (const w of s.warnings ?? []) lines.push(`  INCOMPLETE: ${w}`);
    if (rows.length === 0) {
      lines.push('  no instances', '');
      continue;
    }
    lines.push(paint('dim', header));
    for (const r of rows) {
      const a = access.get(`${r.provider}|${r.scope}|${r.location}|${r.instanceId}`);
      const acc = a ? (a.gateway ? `${a.access === 'gateway-only' ? 'gateway' : a.access}:${a.gateway}` : a.access) : '';
      lines.push(
        // Azure's "PowerState/deallocated" reads as "deallocated" here; JSON keeps the cloud's word.
        `${fit(r.instance, 20)} ${fit(r.state.replace(/^PowerState\//, ''), 11)} ${fit(r.source, 12)} ${paint(r.verdict, fit(r.verdict, 9))} ${fit(acc, 15)} ${fit(deciding(r), 28).trimEnd()}`,
      );
    }
    lines.push('');
  }
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
  const counts = (['reachable', 'partial', 'blocked', 'unknown'] as const).map((v) => `${report.results.filter((r) => r.verdict === v).length} ${v}`);
  lines.push(`${report.instances.length} instances in ${report.scopes.length - failed} scope(s)${failed ? `, ${failed} scope(s) failed` : ''}; ${counts.join(', ')}; ${failing.length} finding(s)${report.drift ? ` (${report.drift.new} new, ${report.drift.fixed.length} fixed since the baseline)` : ''}${errors.length ? `, ${errors.length} check(s) could not decide` : ''}`);
  return lines.join('\n') + '\n';
}
