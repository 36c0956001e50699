// `--format json`: the report as documented in README ("JSON report"), versioned by schemaVersion.
// Written in pieces (jsonReportChunks): at 100,000 instances the report is a few hundred megabytes, and one
// string of it would double the audit's memory. The pieces join to exactly JSON.stringify(report, null, 2).
import type { Report } from '../model/results.js';

/** Array elements stringified together. */
const BLOCK = 500;

export function jsonReport(report: Report): string {
  return [...jsonReportChunks(report)].join('');
}

/** The report as JSON with two-space indentation, one top-level field or one block of array elements at a time. */
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
      // A block of elements at a time, stringified as the field itself ({"key": [...]}, which puts them at
      // exactly their depth in the report) and cut out of it: no re-indenting, few and large pieces.
      const list = value as unknown[];
      const open = `{\n  ${JSON.stringify(key)}: [`;
      yield '[';
      for (let i = 0; i < list.length; i += BLOCK) {
        const text = JSON.stringify({ [key]: list.slice(i, i + BLOCK) }, null, 2);
        yield `${i ? ',' : ''}${text.slice(open.length, text.length - '\n  ]\n}'.length)}`;
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
