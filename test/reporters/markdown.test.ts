// Markdown for pull-request comments and job summaries: the counts line, a table row per failing unsuppressed
// finding (GitHub-flavoured table: cells split on unescaped pipes), the suppressed and fixed sections, and
// what could not be read.
import { beforeAll, describe, expect, it } from 'vitest';
import { SEVERITIES, type Report } from '../../src/model/results.js';
import { markdownReport } from '../../src/reporters/markdown.js';
import { refOf, reportsAndOutput, withMessage } from './fixtures.js';

const HEADER = '| severity | policy | resource | finding | fix |';

/** The findings table's rows, each split into its cells (GFM: `\|` is a pipe inside a cell). */
function tableRows(md: string): string[][] {
  const lines = md.split('\n');
  const start = lines.indexOf(HEADER);
  if (start < 0) return [];
  expect(lines[start + 1]).toBe('|---|---|---|---|---|');
  const rows: string[][] = [];
  for (const line of lines.slice(start + 2)) {
    if (!line.startsWith('|')) break;
    const cells = line.split(/(?<!\\)\|/);
    expect(cells.shift()).toBe('');
    expect(cells.pop()).toBe('');
    rows.push(cells.map((c) => c.trim().replace(/\\\|/g, '|')));
  }
  return rows;
}

const active = (r: Report) => r.findings.filter((f) => f.status === 'fail' && !f.suppressed);

function countsLine(r: Report): string {
  const failing = active(r);
  const failed = r.scopes.filter((s) => s.status === 'failed').length;
  const by = SEVERITIES.map((s) => [s, failing.filter((f) => f.severity === s).length] as const).filter(([, n]) => n);
  return `${r.instances.length} instances in ${r.scopes.length - failed} of ${r.scopes.length} scopes, ${r.policies.length} policies, **${failing.length} failing**: ${by.map(([s, n]) => `${n} ${s}`).join(', ')}.`;
}

describe('Markdown reporter', () => {
  let demo: Report;
  let drift: Report;
  let written: string;

  beforeAll(async () => {
    ({ demo, drift, written } = await reportsAndOutput('summary.md'));
  });

  it('the CLI writes Markdown for --output x.md, the same as the reporter', () => {
    expect(written).toBe(markdownReport(demo));
    expect(written.startsWith('# rdpcloud audit\n\n')).toBe(true);
  });

  it.each(['demo', 'drift'] as const)('%s: the counts line has instances, scopes read, policies and failures by severity', (k) => {
    const r = k === 'demo' ? demo : drift;
    expect(markdownReport(r).split('\n')).toContain(countsLine(r));
  });

  it.each(['demo', 'drift'] as const)('%s: one table row per failing unsuppressed finding, most severe first, five cells each', (k) => {
    const r = k === 'demo' ? demo : drift;
    const rows = tableRows(markdownReport(r));
    expect(rows).toHaveLength(active(r).length);
    for (const row of rows) expect(row).toHaveLength(5);
    const got = rows.map((row) => `${row[1].match(/\(`([^`]+)`\)$/)![1]}|${row[2].replace(/^`|`$/g, '')}`);
    expect(got.sort()).toEqual(active(r).map((f) => `${f.policyId}|${refOf(f)}`).sort());
    const rank = rows.map((row) => SEVERITIES.indexOf(row[0].replace(' **new**', '') as (typeof SEVERITIES)[number]));
    expect(rank.every((x) => x >= 0)).toBe(true);
    expect([...rank].sort((a, b) => a - b)).toEqual(rank);
  });

  it('with a baseline: the drift line, **new** on the new rows, the suppressed and fixed sections', () => {
    const md = markdownReport(drift);
    const d = drift.drift!;
    expect(md).toContain(`Against the baseline of 2026-11-18T12:00:00.000Z: ${d.new} new, ${d.unchanged} unchanged, ${d.fixed.length} fixed.`);
    expect(tableRows(md).filter((row) => row[0].endsWith(' **new**'))).toHaveLength(d.new);
    const suppressed = drift.findings.filter((f) => f.suppressed);
    expect(md).toContain(`<details><summary>${suppressed.length} suppressed</summary>`);
    for (const f of suppressed) expect(md).toContain(`| \`${f.policyId}\` | \`${refOf(f)}\` | legacy RDP hosts, replaced by IAP in Q1 | 2027-01-31 |`);
    expect(md).toContain(`<details><summary>${d.fixed.length} fixed since the baseline</summary>`);
    expect(md).toContain('- `rdp-internet-exposed` `gcp:acme-prod/us-central1-a/win-gone-01`: tcp:3389 reachable');
  });

  it('the failed scopes and the checks that could not decide are listed under Incomplete', () => {
    const md = markdownReport(demo);
    const incomplete = md.slice(md.indexOf('## Incomplete\n'));
    const failed = demo.scopes.filter((s) => s.status === 'failed');
    expect(failed.map((s) => `${s.provider}:${s.scope}`)).toEqual(['gcp:acme-sandbox', 'aws:333333333333']);
    for (const s of failed) expect(incomplete).toContain(`- scope \`${s.provider}:${s.scope}\` failed: ${s.error}\n`);
    expect(incomplete.match(/could not decide/g)).toHaveLength(demo.findings.filter((f) => f.status === 'error').length);
  });

  it.each([
    ['a pipe', 'allow | deny', 'allow | deny'],
    ['several pipes', '|a||b|', '|a||b|'],
    ['a newline (one table row per finding)', 'first line\nsecond | line', 'first line second | line'],
    ['a CRLF', 'first\r\nsecond', 'first second'],
  ])('a message with %s stays in its cell', (_, message, shown) => {
    const i = demo.findings.findIndex((f) => f.status === 'fail' && f.severity === 'high');
    const md = markdownReport(withMessage(demo, i, message));
    const rows = tableRows(md);
    expect(rows).toHaveLength(active(demo).length);
    const row = rows.find((r) => r[2] === `\`${refOf(demo.findings[i])}\`` && r[1].endsWith(`(\`${demo.findings[i].policyId}\`)`))!;
    expect(row).toHaveLength(5);
    expect(row[3]).toBe(shown);
  });

  it('a pipe in a fix command is escaped inside its code span', () => {
    const copy = structuredClone(demo);
    const i = copy.findings.findIndex((f) => f.status === 'fail' && f.severity === 'high');
    copy.findings[i] = { ...copy.findings[i], remediation: "gcloud compute instances list --format='value(name)' | grep win" };
    const row = tableRows(markdownReport(copy)).find((r) => r[2] === `\`${refOf(copy.findings[i])}\`` && r[1].endsWith(`(\`${copy.findings[i].policyId}\`)`))!;
    expect(row).toHaveLength(5);
    expect(row[4]).toBe("`gcloud compute instances list --format='value(name)' | grep win`");
  });

  it('no failing findings: says so, and no table', () => {
    const clean = { ...structuredClone(demo), findings: demo.findings.filter((f) => f.status !== 'fail') };
    const md = markdownReport(clean);
    expect(md).toContain('**no failing findings**.');
    expect(md).not.toContain(HEADER);
  });
});
