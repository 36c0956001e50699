// `--format json`: the report as documented in README ("JSON report"), versioned by schemaVersion.
// Written in pieces (jsonReportChunks): at 100,000 instances the report is a few hundred megabytes, and one
// string of it would double the audit's memory. The pieces join to exactly JSON.stringify(report, null, 2).
import type { Report } from '../model/results.js';

export function jsonReport(report: Report): string {
  return [...jsonReportChunks(report)].join('');
}

/** The report as JSON with two-space indentation, one top-level field or one array element at a time. */
export function* jsonReportChunks(report: Report): Generator<string> {
  const entries = Object.entries(report).filter(([, v]) => v !== undefined && typeof v !== 'function');
  yield '{';
  let first = true;
  for (const [key, value] of entries) {
    const whole = Array.isArray(value) && value.length > 0;
    const text = whole ? '' : JSON.stringify(value, null, 2);
    if (text === undefined) continue; // as JSON.stringify leaves out what has no JSON form
    yield `${first ? '' : ','}\n  ${JSON.stringify(key)}: `;
    first = false;
    if (whole) {
      yield '[';
      for (let i = 0; i < (value as unknown[]).length; i++) {
        // Nested two levels deep: every line of the element moves in by four spaces. JSON text holds no raw
        // newline inside a string, so each '\n' is a line break of the layout.
        const el = JSON.stringify((value as unknown[])[i], null, 2) ?? 'null';
        yield `${i ? ',' : ''}\n    ${el.replace(/\n/g, '\n    ')}`;
      }
      yield '\n  ]';
    } else {
      yield text.replace(/\n/g, '\n  ');
    }
  }
  yield first ? '}\n' : '\n}\n';
}

/** Pieces gathered into blocks of about `size` characters, so that a file is written in few calls. */
export function* inBlocks(chunks: Iterable<string>, size = 1 << 20): Generator<string> {
  let block: string[] = [];
  let n = 0;
  for (const c of chunks) {
    block.push(c);
    n += c.length;
    if (n >= size) {
      yield block.join('');
      block = [];
      n = 0;
    }
  }
  if (n > 0) yield block.join('');
}
