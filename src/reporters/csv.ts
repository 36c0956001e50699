// `--format csv`: one row per policy x resource, for spreadsheets and ad-hoc joins. RFC 4180 quoting.
import type { Finding, Report } from '../model/results.js';
import { refOf, titleOf, type Findings } from './common.js';
import { lazyRequire } from '../lazy.js';

// csv-stringify is loaded when a CSV report is written, not at every start.
const csv = lazyRequire<typeof import('csv-stringify/sync')>('csv-stringify/sync');

export const CSV_COLUMNS = ['status', 'severity', 'policy', 'title', 'provider', 'scope', 'location', 'resource', 'resourceId', 'ref', 'source', 'message', 'rules', 'remediation', 'suppressed', 'suppressedUntil', 'baseline'] as const;

/** Rows stringified together. */
const BLOCK = 500;

function row(report: Report, f: Finding): string[] {
  return [
    f.status,
    f.severity,
    f.policyId,
    titleOf(report, f.policyId),
    f.resource.provider,
    f.resource.scope,
    f.resource.location,
    f.resource.instance,
    f.resource.instanceId,
    refOf(f),
    f.source ?? '',
    f.message,
    (f.rules ?? []).join(' '),
    f.remediation ?? '',
    f.suppressed?.reason ?? '',
    f.suppressed?.expires ?? '',
    f.baseline ?? '',
  ];
}

// RFC 4180 quotes a field with CR or LF; csv-stringify on its own quotes only the record delimiter (CRLF),
// so a lone LF or CR in a message would end the row.
// escape_formulas: names come from the clouds (an AWS Name tag, an NSG rule name, a description can be any
// text), and a field a spreadsheet reads as a formula (=, +, -, @, tab, CR first) would run on opening
// (CSV injection, OWASP): such a field gets a leading ', which spreadsheets show as text.
const stringify = (rows: string[][]) => csv().stringify(rows, { record_delimiter: '\r\n', quoted_match: /[\r\n]/, escape_formulas: true });

export function csvReport(report: Report): string {
  return [...csvBlocks(report)].join('');
}

/**
 * The CSV a block of rows at a time (every record ends with CRLF, so the blocks join to the whole text): the
 * findings are read once, in order, and can come from a spool.
 */
export function* csvBlocks(report: Report, findings: Findings = () => report.findings): Generator<string> {
  let rows: string[][] = [[...CSV_COLUMNS]];
  for (const f of findings()) {
    rows.push(row(report, f));
    if (rows.length >= BLOCK) {
      yield stringify(rows);
      rows = [];
    }
  }
  if (rows.length) yield stringify(rows);
}
