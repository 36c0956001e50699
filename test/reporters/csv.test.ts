// CSV (RFC 4180) parsed back with a strict parser written here (csv-parse is not a dependency): the header
// is CSV_COLUMNS, one row per finding with its fields, and awkward values round-trip.
import { beforeAll, describe, expect, it } from 'vitest';
import type { Report } from '../../src/model/results.js';
import { CSV_COLUMNS, csvReport } from '../../src/reporters/csv.js';
import { keyOf, reportsAndOutput, withMessage } from './fixtures.js';

/**
 * RFC 4180: records end in CRLF (the last one may too); a field is bare (no `"`, `,`, CR or LF) or quoted,
 * with `""` for a quote inside. Anything else throws, so sloppy quoting fails the test instead of
 * mis-splitting.
 */
export function parseCsv(text: string): string[][] {
  const rows: string[][] = [];
  let row: string[] = [];
  let i = 0;
  const at = () => `offset ${i}`;
  for (;;) {
    let field = '';
    if (text[i] === '"') {
      i++;
      for (;;) {
        if (i >= text.length) throw new Error(`unterminated quoted field at ${at()}`);
        if (text[i] === '"') {
          if (text[i + 1] === '"') {
            field += '"';
            i += 2;
            continue;
          }
          i++;
          break;
        }
        field += text[i++];
      }
    } else {
      while (i < text.length && !',\r\n'.includes(text[i])) {
        if (text[i] === '"') throw new Error(`quote inside a bare field at ${at()}`);
        field += text[i++];
      }
    }
    row.push(field);
    if (text[i] === ',') {
      i++;
      continue;
    }
    if (text.startsWith('\r\n', i)) {
      i += 2;
      rows.push(row);
      row = [];
      if (i === text.length) return rows;
      continue;
    }
    if (i === text.length) {
      rows.push(row);
      return rows;
    }
    throw new Error(`expected "," or CRLF at ${at()}, found ${JSON.stringify(text[i])}`);
  }
}

describe('CSV reporter', () => {
  let demo: Report;
  let drift: Report;
  let written: string;

  beforeAll(async () => {
    ({ demo, drift, written } = await reportsAndOutput('demo.csv'));
  });

  /** The demo's first failing finding with this message, as CSV parsed back: its row index, the rows, its message cell. */
  const withFailingMessage = (message: string) => {
    const i = demo.findings.findIndex((f) => f.status === 'fail');
    const [header, ...rows] = parseCsv(csvReport(withMessage(demo, i, message)));
    return { i, rows, cell: rows[i][header.indexOf('message')] };
  };

  it('the parser is strict: it rejects a bare quote and an unterminated quoted field', () => {
    expect(parseCsv('a,"b ""c""",d\r\n1,,3\r\n')).toEqual([['a', 'b "c"', 'd'], ['1', '', '3']]);
    expect(() => parseCsv('a,b"c\r\n')).toThrow(/quote inside a bare field/);
    expect(() => parseCsv('a,"bc\r\n')).toThrow(/unterminated/);
    expect(() => parseCsv('a,"b"c\r\n')).toThrow(/expected/);
  });

  it('the CLI writes CSV for --output x.csv, the same as the reporter; CRLF line ends', () => {
    expect(written).toBe(csvReport(demo));
    expect(written.endsWith('\r\n')).toBe(true);
    expect(parseCsv(written)).toHaveLength(demo.findings.length + 1);
  });

  it.each(['demo', 'drift'] as const)('%s: the header is CSV_COLUMNS, one row per finding, every row as wide', (k) => {
    const report = k === 'demo' ? demo : drift;
    const [header, ...rows] = parseCsv(csvReport(report));
    expect(header).toEqual([...CSV_COLUMNS]);
    expect(rows).toHaveLength(report.findings.length);
    for (const r of rows) expect(r).toHaveLength(CSV_COLUMNS.length);
  });

  it('each row holds its finding: status, severity, policy, resource, message, suppression, baseline', () => {
    const [header, ...rows] = parseCsv(csvReport(drift));
    const records = rows.map((r) => Object.fromEntries(header.map((h, i) => [h, r[i]])));
    drift.findings.forEach((f, i) => {
      expect(records[i]).toMatchObject({
        status: f.status,
        severity: f.severity,
        policy: f.policyId,
        provider: f.resource.provider,
        scope: f.resource.scope,
        location: f.resource.location,
        resource: f.resource.instance,
        resourceId: f.resource.instanceId,
        ref: f.resource.ref,
        source: f.source ?? '',
        message: f.message,
        rules: (f.rules ?? []).join(' '),
        remediation: f.remediation ?? '',
        suppressed: f.suppressed?.reason ?? '',
        suppressedUntil: f.suppressed?.expires ?? '',
        baseline: f.baseline ?? '',
      });
      expect(`${records[i].policy}|${records[i].ref}`).toBe(keyOf(f));
    });
    expect(records.filter((r) => r.suppressedUntil === '2027-01-31').length).toBe(drift.findings.filter((f) => f.suppressed).length);
    expect(records.filter((r) => r.baseline === 'new').length).toBe(drift.drift!.new);
  });

  it.each([
    ['commas', 'rule a, rule b, and rule c'],
    ['quotes', 'the rule "allow-rdp" and ""doubled"" quotes'],
    ['a newline', 'line one\nline two'],
    ['a CRLF', 'line one\r\nline two'],
    ['a lone CR', 'before\rafter'],
    ['everything at once', '"quoted, first",\r\n"and" last,'],
    ['leading and trailing spaces', '  padded  '],
    ['an empty string', ''],
    ['non-ASCII', 'Zugriff über 0.0.0.0/0 – 🔓'],
  ])('a message with %s round-trips', (_, message) => {
    const { i, rows, cell } = withFailingMessage(message);
    expect(rows).toHaveLength(demo.findings.length);
    expect(cell).toBe(message);
    expect(rows[i + 1]).toEqual(parseCsv(csvReport(demo))[i + 2]); // the next row is untouched
  });

  // OWASP "CSV Injection": a cell starting with = + - @ tab or CR is a formula to Excel, LibreOffice and
  // Google Sheets; a leading ' makes it text. Cloud names (an AWS Name tag) can start with any of them.
  it.each([
    ['=', '=HYPERLINK("http://127.0.0.1/x","open")'],
    ['+', '+1+cmd|" /C calc"!A0'],
    ['-', '-2+3'],
    ['@', '@SUM(1,1)'],
    ['a tab', '\t=1+1'],
    ['a CR', '\r=1+1'],
  ])('a message starting with %s is written as text, not a formula', (_, message) => {
    expect(withFailingMessage(message).cell).toBe(`'${message}`);
  });

  it('a name from the cloud starting with = is written as text in every column it reaches', () => {
    const copy = structuredClone(demo);
    const i = copy.findings.findIndex((f) => f.resource.kind === undefined);
    copy.findings[i].resource.instance = '=cmd|"/c calc"!A1';
    const [header, ...rows] = parseCsv(csvReport(copy));
    expect(rows[i][header.indexOf('resource')]).toBe(`'=cmd|"/c calc"!A1`);
    for (const row of rows) for (const cell of row) expect(cell).not.toMatch(/^[=+\-@\t\r]/);
  });
});
