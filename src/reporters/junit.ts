// `--format junit`: for CI test tabs (GitLab, Azure Pipelines, Jenkins). One testsuite per policy, one
// testcase per policy x resource: fail -> <failure>, error -> <error>, not-applicable and suppressed ->
// <skipped> with the reason. Failed scopes are a suite of their own, each an <error>, so a lost project is
// as visible as a failing check.
import type { XMLBuilder } from 'fast-xml-parser';
import { lazyRequire } from '../lazy.js';
import type { Finding, Report } from '../model/results.js';
import { refOf, titleOf, type Findings } from './common.js';

// fast-xml-parser is loaded when a JUnit report is first written (~25 ms at every start otherwise).
const fxp = lazyRequire<typeof import('fast-xml-parser')>('fast-xml-parser');
let built: XMLBuilder | undefined;
const builder = () => (built ??= new (fxp().XMLBuilder)({ ignoreAttributes: false, attributeNamePrefix: '@', format: true, suppressEmptyNode: true, processEntities: true }));

function testcase(f: Finding, classname: string) {
  const tc: Record<string, unknown> = { '@name': refOf(f), '@classname': classname, '@time': '0' };
  const detail = `${f.severity.toUpperCase()} ${f.policyId} ${refOf(f)}\n${f.message}${f.remediation ? `\nfix: ${f.remediation}` : ''}`;
  if (f.status === 'fail' && f.suppressed) tc.skipped = { '@message': `suppressed until ${f.suppressed.expires}: ${f.suppressed.reason}` };
  else if (f.status === 'fail') tc.failure = { '@message': f.message, '@type': f.severity, '#text': detail };
  else if (f.status === 'error') tc.error = { '@message': f.message, '@type': 'check-error', '#text': detail };
  else if (f.status === 'not-applicable') tc.skipped = { '@message': `not applicable: ${f.message}` };
  else tc['system-out'] = f.message;
  return tc;
}

/**
 * XML 1.0 allows no control characters but tab, newline and carriage return, and no lone surrogates, not even
 * as character references: one in a message (an API error, a rule description) would make a strict parser
 * (Jenkins, GitLab) reject the whole file. They become U+FFFD. The markup itself is ASCII, so the whole
 * document can be filtered.
 */
const xmlChars = (s: string) => s.replace(/[^\t\n\r\u0020-\uD7FF\uE000-\uFFFD\u{10000}-\u{10FFFF}]/gu, '\uFFFD');

/** Testcases rendered together (as JSON's blocks of elements). */
const BLOCK = 500;

/** Marks where a suite's testcases go in the skeleton document (no report text contains U+0000). */
const MARK = '\u0000rdpcloud-testcases-';

/** Testcases as they stand inside a suite of the document: built inside a testsuites > testsuite wrapper and cut out. */
const WRAP_HEAD = '<testsuites>\n  <testsuite>\n'.length;
const WRAP_TAIL = '  </testsuite>\n</testsuites>\n'.length;
function testcasesText(cases: readonly Record<string, unknown>[]): string {
  const text = builder().build({ testsuites: { testsuite: { testcase: cases } } }) as string;
  return xmlChars(text.slice(WRAP_HEAD, text.length - WRAP_TAIL));
}

interface Suite {
  id: string;
  tests: number;
  failures: number;
  errors: number;
  skipped: number;
  /** Its testcases still to come in the second pass. */
  left: number;
}

export function junitReport(report: Report): string {
  return [...junitBlocks(report)].join('');
}

/**
 * The JUnit document a block of testcases at a time: the same text as building the whole document at once
 * (tested), without its testcases ever in memory together, so the findings can come from a spool. Two passes
 * over the findings: the first counts each suite's tests, failures, errors and skips (its opening tag says them
 * before its testcases), the second writes the testcases. A suite is one policy's findings, in the order their
 * policies first appear; they come policy by policy, but an expired suppression's finding follows the failure
 * it suppressed, so its suite's testcases are held until the suites before it are written.
 */
export function* junitBlocks(report: Report, findings: Findings = () => report.findings): Generator<string> {
  const suites = new Map<string, Suite>();
  for (const f of findings()) {
    let s = suites.get(f.policyId);
    if (!s) suites.set(f.policyId, (s = { id: f.policyId, tests: 0, failures: 0, errors: 0, skipped: 0, left: 0 }));
    s.tests++;
    if (f.status === 'fail' && !f.suppressed) s.failures++;
    if (f.status === 'error') s.errors++;
    if (f.status === 'not-applicable' || f.suppressed) s.skipped++;
  }
  const order = [...suites.values()];
  const timestamp = report.generatedAt.replace(/\.\d+Z$/, '');
  const head = order.map((s, i) => ({
    '@name': `${s.id}: ${titleOf(report, s.id)}`,
    '@tests': s.tests,
    '@failures': s.failures,
    '@errors': s.errors,
    '@skipped': s.skipped,
    '@time': '0',
    '@timestamp': timestamp,
    testcase: [{ '@name': `${MARK}${i}` }],
  }));
  const failedScopes = report.scopes.filter((s) => s.status === 'failed' || s.warnings?.length);
  if (failedScopes.length) {
    head.push({
      '@name': 'scopes: every project, account and subscription was read',
      // A suite's tests is its number of testcases: one per scope that failed or was read only in part.
      '@tests': failedScopes.length,
      '@failures': 0,
      '@errors': failedScopes.length,
      '@skipped': 0,
      '@time': '0',
      '@timestamp': timestamp,
      testcase: failedScopes.map((s) => ({
        '@name': `${s.provider}:${s.scope}`,
        '@classname': 'rdpcloud.scopes',
        '@time': '0',
        error: { '@message': s.error ?? `incomplete: ${(s.warnings ?? []).join('; ')}`, '@type': s.status === 'failed' ? 'scope-failed' : 'scope-incomplete' },
      })) as never,
    });
  }
  const total = (k: '@tests' | '@failures' | '@errors' | '@skipped') => head.reduce((n, s) => n + (s[k] as number), 0);
  const skeleton = builder().build({
    '?xml': { '@version': '1.0', '@encoding': 'UTF-8' },
    testsuites: { '@name': 'rdpcloud audit', '@tests': total('@tests'), '@failures': total('@failures'), '@errors': total('@errors'), '@skipped': total('@skipped'), '@time': '0', testsuite: head },
  }) as string;
  // The skeleton around each suite's placeholder line: parts[i] comes before suite i's testcases.
  const parts: string[] = [];
  let from = 0;
  for (let i = 0; i < order.length; i++) {
    const at = skeleton.indexOf(`${MARK}${i}"`, from);
    const lineStart = skeleton.lastIndexOf('\n', at) + 1;
    parts.push(xmlChars(skeleton.slice(from, lineStart)));
    from = skeleton.indexOf('\n', at) + 1;
  }
  const end = xmlChars(skeleton.slice(from));

  for (const s of order) s.left = s.tests;
  // Suites are written in order; the one being written (order[current]) streams, later ones wait in `held`.
  let current = 0;
  let batch: Record<string, unknown>[] = [];
  const held = new Map<string, Record<string, unknown>[]>();
  const flush = () => {
    const text = batch.length ? testcasesText(batch) : '';
    batch = [];
    return text;
  };
  if (order.length) yield parts[0]!;
  for (const f of findings()) {
    const s = suites.get(f.policyId)!;
    s.left--;
    const tc = testcase(f, `rdpcloud.${f.policyId}`);
    if (s !== order[current]) {
      let list = held.get(s.id);
      if (!list) held.set(s.id, (list = []));
      list.push(tc);
      continue;
    }
    batch.push(tc);
    if (batch.length >= BLOCK) yield flush();
    // The suite is complete: on to the next, whose testcases read so far were held.
    while (current < order.length && order[current]!.left === 0) {
      const text = flush();
      if (text) yield text;
      current++;
      if (current < order.length) {
        yield parts[current]!;
        batch = held.get(order[current]!.id) ?? [];
        held.delete(order[current]!.id);
      }
    }
  }
  yield end;
}
