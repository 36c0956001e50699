// `--format markdown`: for pull-request comments and job summaries ($GITHUB_STEP_SUMMARY, GitLab's
// markdown artifacts). Short: the counts, the failing findings by severity, what could not be read.
import { SEVERITIES, type Report } from '../model/results.js';
import { activeFailures, bySeverity, refOf, titleOf } from './common.js';

const cell = (s: string) => s.replace(/\|/g, '\\|').replace(/\r?\n/g, ' ');
const code = (s: string) => `\`${s.replace(/`/g, "'")}\``;

/** `instances`: how many were judged, when the report does not hold them (an audit that kept only the count). */
export function markdownReport(report: Report, instances = report.instances.length): string {
  const out: string[] = ['# rdpcloud audit', ''];
  const failing = activeFailures(report).sort(bySeverity);
  const failedScopes = report.scopes.filter((s) => s.status === 'failed');
  const counts = SEVERITIES.map((s) => [s, failing.filter((f) => f.severity === s).length] as const).filter(([, n]) => n > 0);
  out.push(
    `${instances} instances in ${report.scopes.length - failedScopes.length} of ${report.scopes.length} scopes, ${report.policies.length} policies, ` +
      (failing.length ? `**${failing.length} failing**: ${counts.map(([s, n]) => `${n} ${s}`).join(', ')}.` : '**no failing findings**.'),
    '',
  );
  if (report.drift) out.push(`Against the baseline of ${report.drift.baselineGeneratedAt}: ${report.drift.new} new, ${report.drift.unchanged} unchanged, ${report.drift.fixed.length} fixed.`, '');
  if (failing.length) {
    out.push('| severity | policy | resource | finding | fix |', '|---|---|---|---|---|');
    for (const f of failing) {
      const isNew = f.baseline === 'new' ? ' **new**' : '';
      out.push(`| ${f.severity}${isNew} | ${cell(titleOf(report, f.policyId))} (${code(f.policyId)}) | ${code(refOf(f))} | ${cell(f.message)} | ${f.remediation ? code(cell(f.remediation)) : ''} |`);
    }
    out.push('');
  }
  const suppressed = report.findings.filter((f) => f.suppressed);
  if (suppressed.length) {
    out.push(`<details><summary>${suppressed.length} suppressed</summary>`, '', '| policy | resource | reason | until |', '|---|---|---|---|');
    for (const f of suppressed) out.push(`| ${code(f.policyId)} | ${code(refOf(f))} | ${cell(f.suppressed!.reason)} | ${f.suppressed!.expires} |`);
    out.push('', '</details>', '');
  }
  if (report.drift?.fixed.length) {
    out.push(`<details><summary>${report.drift.fixed.length} fixed since the baseline</summary>`, '');
    for (const f of report.drift.fixed) out.push(`- ${code(f.policyId)} ${code(refOf(f))}: ${cell(f.message)}`);
    out.push('', '</details>', '');
  }
  const errors = report.findings.filter((f) => f.status === 'error');
  if (failedScopes.length || errors.length || report.scopes.some((s) => s.warnings?.length)) {
    out.push('## Incomplete', '');
    for (const s of failedScopes) out.push(`- scope ${code(`${s.provider}:${s.scope}`)} failed: ${cell(s.error ?? '')}`);
    for (const s of report.scopes) for (const w of s.warnings ?? []) out.push(`- scope ${code(`${s.provider}:${s.scope}`)}: ${cell(w)}`);
    for (const f of errors) out.push(`- ${code(f.policyId)} on ${code(refOf(f))} could not decide: ${cell(f.message)}`);
    out.push('');
  }
  return out.join('\n');
}
