// JUnit XML as CI test tabs read it, parsed back with fast-xml-parser: well-formed, counts that add up, one
// testcase per policy x resource (plus one per failed scope), each status as the right element, and
// messages escaped.
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { XMLParser, XMLValidator } from 'fast-xml-parser';
import { beforeAll, describe, expect, it } from 'vitest';
import type { Finding, Report } from '../../src/model/results.js';
import { junitReport } from '../../src/reporters/junit.js';
import { audit, demoReport, driftReport, refOf, tempDir, withMessage } from './fixtures.js';

interface Outcome {
  '@message'?: string;
  '@type'?: string;
  '#text'?: string;
}
interface TestCase {
  '@name': string;
  '@classname': string;
  failure?: Outcome;
  error?: Outcome;
  skipped?: Outcome;
  'system-out'?: string;
}
interface Suite {
  '@name': string;
  '@tests': string;
  '@failures': string;
  '@errors': string;
  '@skipped': string;
  testcase: TestCase[];
}
interface Doc {
  testsuites: Omit<Suite, 'testcase'> & { testsuite: Suite[] };
}

const parser = new XMLParser({ ignoreAttributes: false, attributeNamePrefix: '@', parseAttributeValue: false, isArray: (name) => name === 'testsuite' || name === 'testcase' });

function parse(xml: string): Doc {
  expect(XMLValidator.validate(xml)).toBe(true);
  return parser.parse(xml) as Doc;
}

/** Only characters XML 1.0 allows (fast-xml-parser's validator does not check this; strict parsers do). */
const XML_CHARS = /^[\t\n\r\u0020-\uD7FF\uE000-\uFFFD\u{10000}-\u{10FFFF}]*$/u;
const SCOPES = 'rdpcloud.scopes';

const cases = (d: Doc) => d.testsuites.testsuite.flatMap((s) => s.testcase);
const outcome = (tc: TestCase) => (['failure', 'error', 'skipped'] as const).filter((k) => tc[k] !== undefined);

describe('JUnit reporter', () => {
  let demo: Report;
  let drift: Report;
  const xml: Record<'demo' | 'drift', string> = { demo: '', drift: '' };

  beforeAll(async () => {
    demo = await demoReport();
    const d = await driftReport();
    drift = d.report;
    const dir = await tempDir();
    await audit(['--output', join(dir, 'demo.xml')]);
    xml.demo = await readFile(join(dir, 'demo.xml'), 'utf8');
    xml.drift = (await audit([...d.argv, '--format', 'junit'], { cwd: d.dir })).stdout;
  });

  it('the CLI writes JUnit for --output x.xml, the same as the reporter on the JSON report', () => {
    expect(xml.demo).toBe(junitReport(demo));
    expect(xml.drift).toBe(junitReport(drift));
  });

  it.each(['demo', 'drift'] as const)('%s: well-formed XML 1.0 with a <testsuites> root', (k) => {
    expect(xml[k]).toMatch(/^<\?xml version="1\.0" encoding="UTF-8"\?>\n<testsuites /);
    expect(XML_CHARS.test(xml[k])).toBe(true);
    expect(parse(xml[k]).testsuites.testsuite.length).toBeGreaterThan(0);
  });

  it.each(['demo', 'drift'] as const)('%s: each suite counts its testcases; <testsuites> totals are the sums', (k) => {
    const d = parse(xml[k]);
    const sum = { tests: 0, failures: 0, errors: 0, skipped: 0 };
    for (const s of d.testsuites.testsuite) {
      const count = { tests: s.testcase.length, failures: 0, errors: 0, skipped: 0 };
      for (const tc of s.testcase) for (const o of outcome(tc)) count[o === 'failure' ? 'failures' : o === 'error' ? 'errors' : 'skipped']++;
      expect({ tests: +s['@tests'], failures: +s['@failures'], errors: +s['@errors'], skipped: +s['@skipped'] }, s['@name']).toEqual(count);
      for (const key of Object.keys(sum) as (keyof typeof sum)[]) sum[key] += count[key];
    }
    const t = d.testsuites;
    expect({ tests: +t['@tests'], failures: +t['@failures'], errors: +t['@errors'], skipped: +t['@skipped'] }).toEqual(sum);
  });

  it.each(['demo', 'drift'] as const)('%s: one testcase per policy x resource, plus one per failed scope', (k) => {
    const report = k === 'demo' ? demo : drift;
    const all = cases(parse(xml[k]));
    const findings = all.filter((tc) => tc['@classname'] !== SCOPES);
    expect(findings).toHaveLength(report.findings.length);
    expect(findings.map((tc) => `${tc['@classname'].replace(/^rdpcloud\./, '')}|${tc['@name']}`).sort()).toEqual(report.findings.map((f) => `${f.policyId}|${refOf(f)}`).sort());
    const scopes = all.filter((tc) => tc['@classname'] === SCOPES);
    const failed = report.scopes.filter((s) => s.status === 'failed');
    expect(failed.map((s) => `${s.provider}:${s.scope}`)).toEqual(['gcp:acme-sandbox', 'aws:333333333333']);
    expect(scopes.map((tc) => [tc['@name'], tc.error])).toEqual(failed.map((s) => [`${s.provider}:${s.scope}`, { '@message': s.error, '@type': 'scope-failed' }]));
    // One suite per policy with findings, named by id and title.
    for (const s of parse(xml[k]).testsuites.testsuite.filter((x) => x.testcase[0]['@classname'] !== SCOPES)) expect(s['@name']).toMatch(/^[a-z0-9-]+: \S/);
  });

  const statuses: { what: string; pick: (f: Finding) => boolean; element: 'failure' | 'error' | 'skipped' | undefined; check?: (o: Outcome, f: Finding) => void }[] = [
    { what: 'fail', pick: (f) => f.status === 'fail' && !f.suppressed, element: 'failure', check: (o, f) => expect(o).toMatchObject({ '@message': f.message, '@type': f.severity, '#text': expect.stringContaining(`${f.severity.toUpperCase()} ${f.policyId} ${refOf(f)}\n${f.message}`) }) },
    { what: 'error', pick: (f) => f.status === 'error', element: 'error', check: (o, f) => expect(o).toMatchObject({ '@message': f.message, '@type': 'check-error' }) },
    { what: 'not-applicable', pick: (f) => f.status === 'not-applicable', element: 'skipped', check: (o, f) => expect(o['@message']).toBe(`not applicable: ${f.message}`) },
    { what: 'suppressed', pick: (f) => !!f.suppressed, element: 'skipped', check: (o, f) => expect(o['@message']).toBe(`suppressed until ${f.suppressed!.expires}: ${f.suppressed!.reason}`) },
    { what: 'pass', pick: (f) => f.status === 'pass', element: undefined },
  ];
  it.each(statuses.map((s) => [`${s.what} -> ${s.element ? `<${s.element}>` : 'a passing testcase (system-out)'}`, s] as const))('%s', (_, { pick, element, check }) => {
    const d = parse(xml.drift);
    const picked = drift.findings.filter(pick);
    expect(picked.length).toBeGreaterThan(0);
    for (const f of picked) {
      const tc = d.testsuites.testsuite.flatMap((s) => s.testcase).find((x) => x['@classname'] === `rdpcloud.${f.policyId}` && x['@name'] === refOf(f))!;
      expect(outcome(tc), `${f.policyId} ${refOf(f)}`).toEqual(element ? [element] : []);
      if (element && check) check(tc[element]!, f);
      if (!element) expect(tc['system-out']).toBe(f.message);
    }
  });

  const nasty: { what: string; message: string; expected?: string }[] = [
    { what: 'markup and entities', message: `<script>alert("x")</script> & 'quoted' > done` },
    { what: 'a CDATA end and an entity lookalike', message: `]]> &amp; &#x41; <![CDATA[ x ]]>` },
    { what: 'non-ASCII', message: 'Zugriff über 0.0.0.0/0 – 🔓 erlaubt' },
    { what: 'control characters (not XML 1.0)', message: 'ANSI \u001b[31mred\u001b[0m, bell \u0007, nul \u0000.', expected: 'ANSI \uFFFD[31mred\uFFFD[0m, bell \uFFFD, nul \uFFFD.' },
  ];
  it.each(nasty.map((n) => [n.what, n] as const))('a failing message with %s is escaped and parses back', (_, { message, expected }) => {
    const i = demo.findings.findIndex((f) => f.status === 'fail');
    const out = junitReport(withMessage(demo, i, message));
    expect(XML_CHARS.test(out)).toBe(true);
    expect(out).not.toContain('<script>');
    const f = demo.findings[i];
    const tc = cases(parse(out)).find((x) => x['@classname'] === `rdpcloud.${f.policyId}` && x['@name'] === refOf(f))!;
    expect(tc.failure?.['@message']).toBe(expected ?? message);
    expect(tc.failure?.['#text']).toContain(`\n${expected ?? message}`);
  });
});
