// `--format json`: the report as documented in README ("JSON report"), versioned by schemaVersion.
import type { Report } from '../model/results.js';

export function jsonReport(report: Report): string {
  return JSON.stringify(report, null, 2) + '\n';
}
