// `--format sarif`: SARIF 2.1.0 for GitHub code scanning and other SARIF viewers. One rule per policy (with
// short and full description, help text and markdown, security-severity so GitHub ranks it), one result per
// failing policy x resource. Results are about cloud resources, not source lines: each names the resource as a
// logical location and points at the file that configures the audit (rdpcloud.yaml, or the inventory), which
// GitHub needs to show an alert. Suppressed failures carry a SARIF suppression; with --baseline, each result
// says new or unchanged and failures fixed since then come back as `absent`.
import { createHash } from 'node:crypto';
import type { Log, ReportingDescriptor, Result as SarifResult } from 'sarif';
import type { Finding, PolicySummary, Report, Severity } from '../model/results.js';
import { baselineStateOf, goneSinceBaseline, refOf } from './common.js';
import { STREAMED, withArrayAt } from './json.js';

export interface SarifOptions {
  /** The file every result points at: a path relative to the repository root (or absolute), written as a URI reference. */
  artifact: string;
}

const LEVEL: Record<Severity, SarifResult.level> = { critical: 'error', high: 'error', medium: 'warning', low: 'note', info: 'note' };
/** GitHub's security-severity bands: critical > 9.0, high 7.0-8.9, medium 4.0-6.9, low 0.1-3.9. */
const SECURITY_SEVERITY: Record<Severity, string> = { critical: '9.5', high: '8.0', medium: '5.5', low: '3.0', info: '0.5' };

function help(p: PolicySummary): { text: string; markdown: string } {
  const fixes = Object.entries(p.remediation);
  const text = [
    p.description,
    fixes.length ? `Fix:\n${fixes.map(([cloud, cmd]) => `  ${cloud}: ${cmd}`).join('\n')}` : '',
    p.compliance.length ? `Compliance: ${p.compliance.map((c) => `${c.framework} v${c.version} ${c.id}`).join('; ')}` : '',
    p.references.length ? `References:\n${p.references.map((r) => `  ${r}`).join('\n')}` : '',
  ].filter(Boolean);
  const markdown = [
    p.description,
    fixes.length ? `**Fix**\n\n${fixes.map(([cloud, cmd]) => `- ${cloud}: \`${cmd.replace(/`/g, "'")}\``).join('\n')}` : '',
    p.compliance.length ? `**Compliance**\n\n${p.compliance.map((c) => `- ${c.framework} v${c.version}, ${c.id}: ${c.title}`).join('\n')}` : '',
    p.references.length ? `**References**\n\n${p.references.map((r) => `- <${r}>`).join('\n')}` : '',
  ].filter(Boolean);
  return { text: text.join('\n\n'), markdown: markdown.join('\n\n') };
}

function rule(p: PolicySummary): ReportingDescriptor {
  const name = p.id.replace(/(^|-)([a-z0-9])/g, (_, _d: string, c: string) => c.toUpperCase());
  return {
    id: p.id,
    name,
    shortDescription: { text: p.title },
    fullDescription: { text: p.description },
    help: help(p),
    ...(p.references.length ? { helpUri: p.references[0] } : {}),
    defaultConfiguration: { level: LEVEL[p.severity] },
    properties: {
      tags: ['security', 'rdp', p.pack, ...p.compliance.map((c) => `${c.framework.replace(/ Benchmark$/, '')} v${c.version} ${c.id}`)],
      precision: 'high',
      'problem.severity': p.severity === 'high' || p.severity === 'critical' ? 'error' : p.severity === 'medium' ? 'warning' : 'recommendation',
      'security-severity': SECURITY_SEVERITY[p.severity],
    },
  };
}

/**
 * A file path as an artifactLocation.uri, which is a URI reference, not a path: `/` separators, every segment
 * percent-encoded (spaces, `%`, `#`, non-ASCII), and an absolute path as a `file:` URI (a bare `/tmp/x` is a
 * relative reference that must not begin with a slash). GitHub's upload-sarif makes absolute file: URIs
 * relative to its checkout_path.
 */
export function artifactUri(path: string): string {
  const p = path.replace(/\\/g, '/');
  const encode = (s: string) => s.split('/').map(encodeURIComponent).join('/');
  if (/^[A-Za-z]:\//.test(p)) return `file:///${p.slice(0, 2)}${encode(p.slice(2))}`; // C:\src\x -> file:///C:/src/x
  if (p.startsWith('//')) return `file:${encode(p)}`; // \\server\share\x -> file://server/share/x
  if (p.startsWith('/')) return `file://${encode(p)}`;
  return encode(p.replace(/^(\.\/)+/, ''));
}

const fingerprint = (f: Finding) => createHash('sha256').update(`${f.policyId}|${refOf(f)}`).digest('hex');

function result(f: Finding, ruleIndex: number, o: SarifOptions, baselineState?: SarifResult.baselineState): SarifResult {
  const ref = refOf(f);
  const r: SarifResult = {
    ruleId: f.policyId,
    ruleIndex,
    kind: 'fail',
    level: LEVEL[f.severity],
    message: { text: `${ref}: ${f.message}${f.remediation ? `. Fix: ${f.remediation}` : ''}` },
    locations: [
      {
        physicalLocation: { artifactLocation: { uri: artifactUri(o.artifact) }, region: { startLine: 1 } },
        logicalLocations: [{ name: f.resource.instance, fullyQualifiedName: ref, kind: 'resource' }],
      },
    ],
    // Every result points at the same file and line: the fingerprint keeps them apart for GitHub.
    partialFingerprints: { primaryLocationLineHash: fingerprint(f), 'rdpcloudFinding/v1': `${f.policyId}|${ref}` },
    properties: {
      severity: f.severity,
      provider: f.resource.provider,
      scope: f.resource.scope,
      location: f.resource.location,
      resource: f.resource.instance,
      resourceId: f.resource.instanceId,
      ...(f.source ? { source: f.source } : {}),
      ...(f.rules?.length ? { rules: f.rules } : {}),
    },
  };
  if (f.suppressed) r.suppressions = [{ kind: 'external', status: 'accepted', justification: `${f.suppressed.reason} (until ${f.suppressed.expires})` }];
  if (baselineState) r.baselineState = baselineState;
  return r;
}

/**
 * The SARIF log in pieces (a block of results at a time), which join to exactly sarifReport's text: at
 * organisation scale the failing findings are tens of thousands, and the log as one string (and every result
 * object at once) would be the largest thing the audit holds.
 */
export function* sarifBlocks(report: Report, o: SarifOptions): Generator<string> {
  const rules = report.policies.map(rule);
  const index = new Map(rules.map((r, i) => [r.id, i]));
  const failing = report.findings.filter((f) => f.status === 'fail');
  const gone = goneSinceBaseline(report);
  // A finding of a policy the report does not list (a baseline's): give it a rule so the log stays whole. All
  // of them before the log's head is written, which lists the rules.
  for (const f of [...failing, ...gone]) {
    if (index.has(f.policyId)) continue;
    index.set(f.policyId, rules.push({ id: f.policyId, shortDescription: { text: f.policyId }, fullDescription: { text: f.policyId }, help: { text: f.policyId, markdown: f.policyId }, properties: { 'security-severity': SECURITY_SEVERITY[f.severity] } }) - 1);
  }
  function* results(): Generator<SarifResult> {
    for (const f of failing) yield result(f, index.get(f.policyId)!, o, baselineStateOf(report, f));
    for (const f of gone) yield result(f, index.get(f.policyId)!, o, 'absent');
  }
  const problems = [
    ...report.scopes.filter((s) => s.status === 'failed').map((s) => ({ level: 'error' as const, message: { text: `${s.provider}:${s.scope}: ${s.error ?? 'failed'}` } })),
    ...report.scopes.flatMap((s) => (s.warnings ?? []).map((w) => ({ level: 'warning' as const, message: { text: `${s.provider}:${s.scope}: ${w}` } }))),
    ...report.findings.filter((f) => f.status === 'error').map((f) => ({ level: 'warning' as const, message: { text: `${f.policyId} on ${refOf(f)} could not decide: ${f.message}` } })),
  ];
  const log: Omit<Log, 'runs'> & { runs: (Omit<Log['runs'][number], 'results'> & { results: typeof STREAMED })[] } = {
    $schema: 'https://json.schemastore.org/sarif-2.1.0.json',
    version: '2.1.0',
    runs: [
      {
        tool: { driver: { name: report.tool.name, version: report.tool.version, semanticVersion: report.tool.version, rules } },
        automationDetails: { id: 'rdpcloud/audit/' },
        // No run.artifacts: an entry with only the location that every result already names is what SARIF2004 flags.
        invocations: [{ executionSuccessful: !report.scopes.some((s) => s.status === 'failed'), endTimeUtc: report.generatedAt, ...(problems.length ? { toolExecutionNotifications: problems } : {}) }],
        results: STREAMED,
        columnKind: 'utf16CodeUnits',
      },
    ],
  };
  yield* withArrayAt(log, results());
  yield '\n';
}

export const sarifReport = (report: Report, o: SarifOptions): string => [...sarifBlocks(report, o)].join('');
