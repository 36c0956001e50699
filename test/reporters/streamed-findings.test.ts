// JUnit and CSV written a block of findings at a time, from findings that may be parsed back from an audit's
// spool: the same bytes as the whole document built at once (the reference below is how junit.ts built it
// before it streamed: fast-xml-parser's builder on the whole document), whatever the findings' order, their
// number against the block size, expired suppressions placed after the failures they suppressed, failed
// scopes, no findings at all; and the CLI writes the same file whether it is the only format or another one keeps
// the shown findings in memory as well (SARIF), and that file is the whole document's.
import { join } from 'node:path';
import { readFile } from 'node:fs/promises';
import { XMLBuilder } from 'fast-xml-parser';
import { stringify } from 'csv-stringify/sync';
import { beforeAll, describe, expect, it } from 'vitest';
import type { Finding, Report } from '../../src/model/results.js';
import { CSV_COLUMNS, csvBlocks, csvReport } from '../../src/reporters/csv.js';
import { junitBlocks, junitReport } from '../../src/reporters/junit.js';
import { elementsOf, elementsText } from '../../src/reporters/json.js';
import { routesFor } from '../../src/cli/judging.js';
import { audit, demoReport, driftReport, tempDir } from './fixtures.js';

const builder = new XMLBuilder({ ignoreAttributes: false, attributeNamePrefix: '@', format: true, suppressEmptyNode: true, processEntities: true });
const ref = (f: Finding) => f.resource.ref ?? `${f.resource.provider}:${f.resource.scope}/${f.resource.location}/${f.resource.instance}`;
const title = (r: Report, id: string) => r.policies.find((p) => p.id === id)?.title ?? id;
const xmlChars = (s: string) => s.replace(/[^\t\n\r\u0020-\uD7FF\uE000-\uFFFD\u{10000}-\u{10FFFF}]/gu, '\uFFFD');

/** The whole JUnit document at once: suites by policy in the order policies first appear. */
function junitReference(report: Report): string {
  const groups = new Map<string, Finding[]>();
  for (const f of report.findings) groups.set(f.policyId, [...(groups.get(f.policyId) ?? []), f]);
  const stamp = report.generatedAt.replace(/\.\d+Z$/, '');
  const suites: Record<string, unknown>[] = [...groups].map(([id, list]) => ({
    '@name': `${id}: ${title(report, id)}`,
    '@tests': list.length,
    '@failures': list.filter((f) => f.status === 'fail' && !f.suppressed).length,
    '@errors': list.filter((f) => f.status === 'error').length,
    '@skipped': list.filter((f) => f.status === 'not-applicable' || f.suppressed).length,
    '@time': '0',
    '@timestamp': stamp,
    testcase: list.map((f) => {
      const tc: Record<string, unknown> = { '@name': ref(f), '@classname': `rdpcloud.${id}`, '@time': '0' };
      const detail = `${f.severity.toUpperCase()} ${f.policyId} ${ref(f)}\n${f.message}${f.remediation ? `\nfix: ${f.remediation}` : ''}`;
      if (f.status === 'fail' && f.suppressed) tc.skipped = { '@message': `suppressed until ${f.suppressed.expires}: ${f.suppressed.reason}` };
      else if (f.status === 'fail') tc.failure = { '@message': f.message, '@type': f.severity, '#text': detail };
      else if (f.status === 'error') tc.error = { '@message': f.message, '@type': 'check-error', '#text': detail };
      else if (f.status === 'not-applicable') tc.skipped = { '@message': `not applicable: ${f.message}` };
      else tc['system-out'] = f.message;
      return tc;
    }),
  }));
  const failed = report.scopes.filter((s) => s.status === 'failed' || s.warnings?.length);
  if (failed.length) {
    suites.push({
      '@name': 'scopes: every project, account and subscription was read',
      '@tests': failed.length,
      '@failures': 0,
      '@errors': failed.length,
      '@skipped': 0,
      '@time': '0',
      '@timestamp': stamp,
      testcase: failed.map((s) => ({ '@name': `${s.provider}:${s.scope}`, '@classname': 'rdpcloud.scopes', '@time': '0', error: { '@message': s.error ?? `incomplete: ${(s.warnings ?? []).join('; ')}`, '@type': s.status === 'failed' ? 'scope-failed' : 'scope-incomplete' } })),
    });
  }
  const total = (k: string) => suites.reduce((n, s) => n + (s[k] as number), 0);
  const doc = {
    '?xml': { '@version': '1.0', '@encoding': 'UTF-8' },
    testsuites: { '@name': 'rdpcloud audit', '@tests': total('@tests'), '@failures': total('@failures'), '@errors': total('@errors'), '@skipped': total('@skipped'), '@time': '0', testsuite: suites },
  };
  return xmlChars(builder.build(doc) as string);
}

/** The whole CSV at once. */
function csvReference(report: Report): string {
  const rows = report.findings.map((f) => [f.status, f.severity, f.policyId, title(report, f.policyId), f.resource.provider, f.resource.scope, f.resource.location, f.resource.instance, f.resource.instanceId, ref(f), f.source ?? '', f.message, (f.rules ?? []).join(' '), f.remediation ?? '', f.suppressed?.reason ?? '', f.suppressed?.expires ?? '', f.baseline ?? '']);
  return stringify([[...CSV_COLUMNS], ...rows], { record_delimiter: '\r\n', quoted_match: /[\r\n]/, escape_formulas: true });
}

/** `report` with its findings repeated to `n` (resources renamed), a failed scope and an expired suppression's finding after each 97th failure. */
function grown(report: Report, n: number): Report {
  const findings: Finding[] = [];
  const byPolicy = new Map<string, Finding[]>();
  for (let i = 0; findings.length < n; i++) {
    const f = report.findings[i % report.findings.length]!;
    const copy: Finding = { ...f, resource: { ...f.resource, instance: `${f.resource.instance}-${i}`, ref: `${ref(f)}-${i}` } };
    byPolicy.set(copy.policyId, [...(byPolicy.get(copy.policyId) ?? []), copy]);
    findings.push(copy);
  }
  // As the audit orders them: policy by policy, an expired suppression's finding right after its failure.
  const ordered: Finding[] = [];
  let k = 0;
  for (const list of byPolicy.values()) {
    for (const f of list) {
      ordered.push(f);
      if (f.status === 'fail' && ++k % 97 === 0) ordered.push({ policyId: 'suppression-expired', severity: 'low', status: 'fail', resource: f.resource, message: `the suppression of ${f.policyId} expired \u0001 on 2026-10-01` });
    }
  }
  return { ...report, findings: ordered, scopes: [...report.scopes, { provider: 'aws', scope: '111111111111', status: 'failed', error: 'AccessDenied <sts:AssumeRole> & "more"' }] };
}

describe('JUnit and CSV a block of findings at a time', () => {
  let demo: Report;
  let drift: Report;
  beforeAll(async () => {
    demo = await demoReport();
    drift = (await driftReport()).report;
  });

  const shapes: [string, () => Report][] = [
    ['the demo report', () => demo],
    ['the suppressions and baseline report (expired suppressions)', () => drift],
    ['1,234 findings (three blocks), expired suppressions among them, a failed scope', () => grown(drift, 1234)],
    ['exactly one block of findings', () => grown(demo, 500)],
    ['no findings', () => ({ ...demo, findings: [] })],
    ['no findings and a failed scope', () => ({ ...grown(demo, 0), findings: [] })],
  ];

  it.each(shapes)('JUnit: %s joins to the whole document', (_, make) => {
    const r = make();
    expect(junitReport(r)).toBe(junitReference(r));
  });

  it.each(shapes)('CSV: %s joins to the whole file', (_, make) => {
    const r = make();
    expect(csvReport(r)).toBe(csvReference(r));
  });

  it('reads findings parsed back from spooled JSON text the same as from memory, blocks of at most ~500 testcases or rows', () => {
    const r = grown(drift, 1234);
    const pieces = [...elementsText(r.findings)].map((t) => Buffer.from(t, 'utf8'));
    const spooled = () => elementsOf(pieces) as Iterable<Finding>;
    expect([...spooled()]).toEqual(r.findings);
    const blocks = [...junitBlocks({ ...r, findings: [] }, spooled)];
    expect(blocks.join('')).toBe(junitReference(r));
    expect(Math.max(...blocks.map((b) => (b.match(/<testcase /g) ?? []).length))).toBeLessThanOrEqual(1000);
    const rows = [...csvBlocks({ ...r, findings: [] }, spooled)];
    expect(rows.join('')).toBe(csvReference(r));
    expect(rows.length).toBe(3);
  });

  it('an audit spools the findings for JUnit and CSV, and keeps the shown ones in memory too when another format reads them there', () => {
    expect(routesFor(['junit']).findings).toBe('spool');
    expect(routesFor(['csv', 'json']).findings).toBe('spool');
    // With a format that shows only the failures: spooled for the stream, the shown ones kept as well.
    expect(routesFor(['junit', 'sarif'])).toMatchObject({ findings: 'spool', shownKept: true, failingOnly: false });
    expect(routesFor(['csv', 'table'])).toMatchObject({ findings: 'spool', shownKept: true });
    expect(routesFor(['sarif'])).toMatchObject({ findings: 'memory', shownKept: false, failingOnly: true });
  });

  it.each(['junit', 'csv'] as const)('the CLI writes the same %s alone as beside a format that keeps the shown findings in memory', async (format) => {
    const dir = await tempDir();
    const spooled = await audit(['--format', format]);
    const kept = await audit(['--format', format, '--output', join(dir, 'also.sarif')]);
    expect(spooled.stdout).toBe(kept.stdout);
    expect(spooled.stdout).toBe(format === 'junit' ? junitReference(demo) : csvReference(demo));
    expect(JSON.parse(await readFile(join(dir, 'also.sarif'), 'utf8')).runs).toHaveLength(1);
  });
});
