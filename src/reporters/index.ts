// The report formats by name, and the format a file's extension implies. A reporter is a pure function of
// the report; the CLI writes the files.
import type { Finding, Report } from '../model/results.js';
import type { Findings } from './common.js';
import { csvBlocks, csvReport } from './csv.js';
import { elementsOf, inBlocks, jsonReport, jsonReportChunks, type Piece } from './json.js';
import { junitBlocks, junitReport } from './junit.js';
import { markdownReport } from './markdown.js';
import { ocsfBlocks, ocsfReport } from './ocsf.js';
import { sarifBlocks, sarifReport } from './sarif.js';
import { tableBlocks, tableReport, type TableRows } from './table.js';

export const FORMATS = ['table', 'json', 'sarif', 'junit', 'markdown', 'csv', 'ocsf'] as const;
export type Format = (typeof FORMATS)[number];

/**
 * What of an audit's per-scope arrays each format reads, so that an audit keeps only that (src/cli/judging.ts):
 * at 100,000 instances the results and the passing findings are most of its memory, and SARIF or OCSF shows
 * neither. `failing`: the findings that failed (suppressed or not) or could not decide, the only ones shown.
 */
export interface Reads {
  /** `count`: how many there are, nothing else of them. */
  instances: boolean | 'count';
  /** `rows`: the table's rows of them (TableRows), made as each scope is judged. */
  results: boolean | 'rows';
  findings: 'all' | 'failing' | 'none';
  /**
   * The findings are read in order, a block at a time, and may be parsed back from the JSON text an audit
   * spooled (renderBlocks): at 100,000 instances JUnit and CSV held every finding in memory (~770 MiB of RSS).
   */
  findingsStreamed?: true;
}
export const READS: Record<Format, Reads> = {
  json: { instances: true, results: true, findings: 'all' },
  table: { instances: 'count', results: 'rows', findings: 'failing' },
  markdown: { instances: 'count', results: false, findings: 'failing' },
  csv: { instances: false, results: false, findings: 'all', findingsStreamed: true },
  junit: { instances: false, results: false, findings: 'all', findingsStreamed: true },
  sarif: { instances: false, results: false, findings: 'failing' },
  ocsf: { instances: false, results: false, findings: 'failing' },
};

export interface RenderOptions {
  color: boolean;
  /** The file SARIF results point at (GitHub code scanning needs a location in the repository). */
  sarifLocation?: string;
  /** What an audit kept for the table and the count of instances, when the report does not hold them (READS). */
  kept?: { rows?: TableRows; instances: number };
}

export function render(report: Report, format: Format, o: RenderOptions): string {
  switch (format) {
    case 'table':
      return tableReport(report, { color: o.color }, o.kept?.rows);
    case 'json':
      return jsonReport(report);
    case 'sarif':
      return sarifReport(report, { artifact: o.sarifLocation ?? 'rdpcloud.yaml' });
    case 'junit':
      return junitReport(report);
    case 'markdown':
      return markdownReport(report, o.kept?.instances);
    case 'csv':
      return csvReport(report);
    case 'ocsf':
      return ocsfReport(report);
  }
}

/**
 * The same text in blocks of about a megabyte, for files and stdout: JSON, SARIF and OCSF are made a block of
 * elements at a time (the large ones: none of them ever becomes one string), the others whole. `spooled`
 * (JSON only): arrays written elsewhere as they were made (jsonReportChunks).
 */
export function renderBlocks(report: Report, format: Format, o: RenderOptions, spooled?: Parameters<typeof jsonReportChunks>[1]): Iterable<Piece> {
  // The formats that stream the findings read them back from the spool when they are there.
  const spooledFindings = spooled?.findings;
  const findings: Findings = spooledFindings ? () => elementsOf(spooledFindings()) as Iterable<Finding> : () => report.findings;
  switch (format) {
    case 'csv':
      return inBlocks(csvBlocks(report, findings));
    case 'junit':
      return inBlocks(junitBlocks(report, findings));
    case 'json':
      return inBlocks(jsonReportChunks(report, spooled));
    case 'sarif':
      return inBlocks(sarifBlocks(report, { artifact: o.sarifLocation ?? 'rdpcloud.yaml' }));
    case 'ocsf':
      return inBlocks(ocsfBlocks(report));
    case 'table':
      return inBlocks(tableBlocks(report, { color: o.color }, o.kept?.rows));
    default:
      return [render(report, format, o)];
  }
}

/** .ocsf.json before .json, .sarif(.json), .xml for JUnit, .md, .csv, .txt for the table. */
export function formatOfFile(file: string): Format | undefined {
  const f = file.toLowerCase();
  if (f.endsWith('.ocsf.json') || f.endsWith('.ocsf')) return 'ocsf';
  if (f.endsWith('.sarif') || f.endsWith('.sarif.json')) return 'sarif';
  if (f.endsWith('.json')) return 'json';
  if (f.endsWith('.xml') || f.endsWith('.junit')) return 'junit';
  if (f.endsWith('.md') || f.endsWith('.markdown')) return 'markdown';
  if (f.endsWith('.csv')) return 'csv';
  if (f.endsWith('.txt')) return 'table';
  return undefined;
}
