// `--format json`: the report as documented in README ("JSON report"), versioned by schemaVersion.
// Written in pieces (jsonReportChunks): at 100,000 instances the report is a few hundred megabytes, and one
// string of it would double the audit's memory. The pieces join to exactly JSON.stringify(report, null, 2).
import type { Report } from '../model/results.js';

/**
 * A piece of the report's text: a string, or UTF-8 bytes as a spool holds them (an audit's spooled arrays go
 * from the spool to the file or stdout without being decoded and encoded again). Bytes are valid until the next
 * piece is asked for (a spool reads into the same memory again): whoever takes pieces writes or copies each one
 * before asking for the next (fs writeFile of the pieces, Io.stdout awaited, inBlocks' copies).
 */
export type Piece = string | Buffer;

/** Array elements stringified together. */
const BLOCK = 500;

export function jsonReport(report: Report): string {
  return [...jsonReportChunks(report)].join('');
}

/**
 * Elements as they stand in an array whose line is at `level` of a JSON.stringify(..., null, 2) text
 * ("\n<indent>{...},\n<indent>{...}", no brackets): stringified inside `level` objects, which puts them at
 * exactly their depth, and cut out, no re-indenting. After the last element come "\n", the array's indent and
 * "]", then a line break, indent and "}" per object: (level + 1) x (level + 2) characters.
 */
function elementsAt(batch: readonly unknown[], level: number): string {
  let value: unknown = batch;
  for (let i = 0; i < level; i++) value = { k: value };
  const text = JSON.stringify(value, null, 2);
  return text.slice(text.indexOf('[') + 1, text.length - (level + 1) * (level + 2));
}

/** Elements of a report's top-level array as they stand in it, a block at a time. Pieces of one array join with ",". */
export function* elementsText(list: readonly unknown[]): Generator<string> {
  for (let i = 0; i < list.length; i += BLOCK) yield elementsAt(list.slice(i, i + BLOCK), 1);
}

/**
 * An array that stands at `level` of a JSON.stringify(..., null, 2) text (its opening line indented `level`
 * times two spaces), from "[" to "]", a block of elements at a time: exactly the text JSON.stringify gives it
 * there, without the array or its text ever whole. `items` is read lazily, so its elements can be made a block
 * at a time too (SARIF results, OCSF events).
 */
export function* arrayText(items: Iterable<unknown>, level: number, block = BLOCK): Generator<string> {
  const pad = `\n${'  '.repeat(level)}`;
  let n = 0;
  let batch: unknown[] = [];
  const flush = () => {
    const text = elementsAt(batch, level);
    batch = [];
    return `${n++ ? ',' : '['}${text}`;
  };
  for (const item of items) {
    batch.push(item);
    if (batch.length >= block) yield flush();
  }
  if (batch.length) yield flush();
  yield n ? `${pad}]` : '[]';
}

/** Where withArrayAt puts the streamed array: a member of the value holds this (no report text contains it). */
export const STREAMED = '\u0000rdpcloud-streamed-array\u0000';

/**
 * `value` as JSON.stringify(value, null, 2) gives it, with the member that holds STREAMED replaced by the array
 * of `items` (arrayText): the formats whose one large part is one array inside an envelope (SARIF's results).
 */
export function* withArrayAt(value: unknown, items: Iterable<unknown>): Generator<string> {
  const text = JSON.stringify(value, null, 2);
  const quoted = JSON.stringify(STREAMED);
  const at = text.indexOf(quoted);
  if (at < 0) throw new Error('withArrayAt: the value holds no STREAMED member');
  // The array's level: the indentation of its member's line, in steps of two spaces.
  const line = text.slice(text.lastIndexOf('\n', at) + 1, at);
  const level = (line.length - line.trimStart().length) / 2;
  yield text.slice(0, at);
  yield* arrayText(items, level);
  yield text.slice(at + quoted.length);
}

/**
 * The elements of pieces of one array (elementsText's, or their bytes from a spool) as values again, a piece at
 * a time: how the formats that stream the findings read an audit's spooled ones.
 */
export function* elementsOf(pieces: Iterable<Piece>): Generator<unknown> {
  for (const piece of pieces) {
    const text = typeof piece === 'string' ? piece : piece.toString('utf8');
    yield* JSON.parse(`[${text}]`) as unknown[];
  }
}

/** One element as elementsText cuts it (at its depth in the report), for arrays whose elements are kept apart. */
export const elementText = (item: unknown): string => elementsAt([item], 1);

/**
 * The report as JSON with two-space indentation, one top-level field or one block of array elements at a time.
 * `spooled`: arrays whose elements are elsewhere (an audit that wrote each scope's results out as it went),
 * as elementsText pieces; the report's own array for that key is not read.
 */
export function* jsonReportChunks(report: Report, spooled: Partial<Record<keyof Report, () => Iterable<Piece>>> = {}): Generator<Piece> {
  const entries = Object.entries(report).filter(([, v]) => v !== undefined && typeof v !== 'function');
  yield '{';
  let first = true;
  for (const [key, value] of entries) {
    const pieces = spooled[key as keyof Report] ?? (Array.isArray(value) && value.length > 0 ? () => elementsText(value as unknown[]) : undefined);
    const text = pieces ? '' : JSON.stringify(value, null, 2);
    if (text === undefined) continue; // as JSON.stringify leaves out what has no JSON form
    yield `${first ? '' : ','}\n  ${JSON.stringify(key)}: `;
    first = false;
    if (pieces) {
      let n = 0;
      for (const piece of pieces()) {
        if (typeof piece === 'string') yield `${n++ ? ',' : '['}${piece}`;
        else {
          yield n++ ? ',' : '[';
          yield piece;
        }
      }
      yield n ? '\n  ]' : '[]';
    } else {
      yield text.replace(/\n/g, '\n  ');
    }
  }
  yield first ? '}\n' : '\n}\n';
}

/**
 * Pieces gathered into blocks of about `size` characters, so that a file is written in few calls. Large bytes (a
 * spool's block of elements) pass as they are, after what was gathered before them; small ones (a small
 * scope's few elements) are gathered with the text around them.
 */
export function* inBlocks(chunks: Iterable<Piece>, size = 1 << 20): Generator<Piece> {
  let block: Piece[] = [];
  let n = 0;
  /**
   * What is gathered, as one piece of UTF-8 bytes, and the gathering started again. Bytes, not a joined
   * string: a megabyte string is a large object of the heap's old generation (only full collections free
   * it), while a buffer's bytes are outside the heap; the file or stdout takes bytes anyway.
   */
  const take = (): Piece => {
    let bytes = 0;
    for (const p of block) bytes += typeof p === 'string' ? Buffer.byteLength(p, 'utf8') : p.length;
    const out = Buffer.allocUnsafe(bytes);
    let at = 0;
    for (const p of block) at += typeof p === 'string' ? out.write(p, at, 'utf8') : p.copy(out, at);
    block = [];
    n = 0;
    return out;
  };
  for (const c of chunks) {
    if (typeof c !== 'string' && c.length >= size >> 2) {
      if (n > 0) yield take();
      yield c;
      continue;
    }
    block.push(c);
    n += c.length;
    if (n >= size) yield take();
  }
  if (n > 0) yield take();
}
