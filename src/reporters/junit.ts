// `--format junit`: for CI test tabs (GitLab, Azure Pipelines, Jenkins). One testsuite per policy, one
// testcase per policy x resource: fail -> <failure>, error -> <error>, not-applicable and suppressed ->
// <skipped> with the reason. Failed scopes are a suite of their own, each an <error>, so a lost project is
// as visible as a failing check.
import type { XMLBuilder } from 'fast-xml-parser';
import { lazyRequire } from '../lazy.js';
import type { Finding, Report } from '../model/results.js';
import { refOf, titleOf } from './common.js';

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

export function junitReport(report: Report): string {
  const groups = new Map<string, Finding[]>();
  for (const f of report.findings) {
    let list = groups.get(f.policyId);
    if (!list) groups.set(f.policyId, (list = []));
    list.push(f);
  }
  const suites = [...groups].map(([id, list]) => ({
    '@name': `${id}: ${titleOf(report, id)}`,
    '@tests': list.length,
    '@failures': list.filter((f) => f.status === 'fail' && !f.suppressed).length,
    '@errors': list.filter((f) => f.status === 'error').length,
    '@skipped': list.filter((f) => f.status === 'not-applicable' || f.suppressed).length,
    '@time': '0',
    '@timestamp': report.generatedAt.replace(/\.\d+Z$/, ''),
    testcase: list.map((f) => testcase(f, `rdpcloud.${id}`)),
  }));
  const failedScopes = report.scopes.filter((s) => s.status === 'failed' || s.warnings?.length);
  if (failedScopes.length) {
    suites.push({
      '@name': 'scopes: every project, account and subscription was read',
      // A suite's tests is its number of testcases: one per scope that failed or was read only in part.
      '@tests': failedScopes.length,
      '@failures': 0,
      '@errors': failedScopes.length,
      '@skipped': 0,
      '@time': '0',
      '@timestamp': report.generatedAt.replace(/\.\d+Z$/, ''),
      testcase: failedScopes.map((s) => ({
        '@name': `${s.provider}:${s.scope}`,
        '@classname': 'rdpcloud.scopes',
        '@time': '0',
        error: { '@message': s.error ?? `incomplete: ${(s.warnings ?? []).join('; ')}`, '@type': s.status === 'failed' ? 'scope-failed' : 'scope-incomplete' },
      })) as never,
    });
  }
  const total = (k: '@tests' | '@failures' | '@errors' | '@skipped') => suites.reduce((n, s) => n + (s[k] as number), 0);
  const doc = {
    '?xml': { '@version': '1.0', '@encoding': 'UTF-8' },
    testsuites: { '@name': 'rdpcloud audit', '@tests': total('@tests'), '@failures': total('@failures'), '@errors': total('@errors'), '@skipped': total('@skipped'), '@time': '0', testsuite: suites },
  };
  return xmlChars(builder().build(doc) as string);
}
