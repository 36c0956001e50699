// Reading a large JSON report without holding it: the members of its top-level object are parsed one by one,
// and the elements of the arrays named (instances, results, findings: hundreds of megabytes at 100,000
// instances) are handed over one at a time, as their bytes arrive from the file. Only element boundaries are
// found here (brackets and commas outside strings, on bytes: no UTF-8 sequence contains an ASCII byte); each
// element and member is parsed by JSON.parse, which checks it. Why not a streaming parser library: stream-json
// took 11 s for the 86 MiB part of a sharded 100,000-instance audit that JSON.parse reads in 0.9 s.
import { createReadStream } from 'node:fs';

export class JsonShapeError extends Error {}

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const OPEN_OBJECT = 0x7b;
const CLOSE_OBJECT = 0x7d;
const OPEN_ARRAY = 0x5b;
const CLOSE_ARRAY = 0x5d;
const COMMA = 0x2c;
const COLON = 0x3a;
const isSpace = (b: number) => b === 0x20 || b === 0x0a || b === 0x0d || b === 0x09;
/** The bytes that matter inside a value: quotes and brackets (one table lookup per byte instead of five tests). */
const STRUCTURAL = new Uint8Array(256);
for (const b of [QUOTE, OPEN_OBJECT, CLOSE_OBJECT, OPEN_ARRAY, CLOSE_ARRAY]) STRUCTURAL[b] = 1;
/** How far the end of a string is looked for byte by byte before indexOf. */
const SHORT = 24;

type Phase = 'start' | 'key' | 'colon' | 'value' | 'after' | 'end';

/**
 * Reads the JSON object in `path`: returns its members, except that each member named in `streamed` whose value
 * is an array is not returned (its name is in `arrays`) but its elements are given to `onElement` (member name,
 * element, and the element's text as it stands in the file, from after the `[` or `,` before it to the `,` or
 * `]` after it) in order; with `skip`, they are not even decoded nor parsed (a function: the elements it says
 * true for, given their member name and bytes). Throws JsonShapeError when the file is not one JSON object, and
 * the file system's errors as they are. `chunkBytes`: how much is read at a time.
 */
export async function readObjectStreaming(
  path: string,
  streamed: ReadonlySet<string>,
  onElement: (key: string, value: unknown, text: string) => void,
  skip: boolean | ((key: string, bytes: Buffer) => boolean) = false,
  chunkBytes = 1 << 20,
): Promise<{ members: Record<string, unknown>; arrays: Set<string> }> {
  const out: Record<string, unknown> = {};
  const arrays = new Set<string>();
  let phase: Phase = 'start';
  let depth = 0; // open containers, the top-level object included
  let inString = false;
  let escaped = false;
  let key = '';
  let streaming = false; // inside a streamed array (depth 2 is its elements' level)
  let sawValue = false; // the current capture holds more than whitespace
  // The bytes of what is being read (a key, a member's value, an element), across chunks.
  let parts: Buffer[] = [];
  let from = -1;
  const takeBytes = (chunk: Buffer, to: number): Buffer => {
    parts.push(chunk.subarray(from, to));
    const bytes = parts.length === 1 ? parts[0]! : Buffer.concat(parts);
    parts = [];
    from = -1;
    return bytes;
  };
  const take = (chunk: Buffer, to: number): string => takeBytes(chunk, to).toString('utf8');
  const drop = () => {
    parts = [];
    from = -1;
  };
  const parse = (text: string, what: string): unknown => {
    try {
      return JSON.parse(text);
    } catch (e) {
      throw new JsonShapeError(`${what}: ${(e as Error).message}`);
    }
  };
  const element = (chunk: Buffer, i: number) => {
    if (from < 0) return;
    if (!sawValue || skip === true) return drop(); // `[]`, whitespace before `]`, or nothing wanted
    sawValue = false;
    const bytes = takeBytes(chunk, i);
    if (skip && skip(key, bytes)) return;
    const text = bytes.toString('utf8');
    onElement(key, parse(text, `an element of "${key}"`), text);
  };

  for await (const chunk of createReadStream(path, { highWaterMark: chunkBytes }) as AsyncIterable<Buffer>) {
    // Most of the bytes are inside strings: the end of one is looked for with indexOf, not byte by byte.
    let backslash = chunk.indexOf(BACKSLASH);
    for (let i = 0; i < chunk.length; i++) {
      if (inString) {
        if (escaped) {
          escaped = false;
          continue; // this byte is escaped
        }
        // Most strings are short (names, ids, states): their end is looked for here first, then by indexOf
        // (a native call per string costs more than the bytes of a short one).
        let q = -1;
        const near = i + SHORT < chunk.length ? i + SHORT : chunk.length;
        for (let j = i; j < near; j++) {
          if (chunk[j] === QUOTE) {
            q = j;
            break;
          }
        }
        if (q < 0 && near < chunk.length) q = chunk.indexOf(QUOTE, near);
        if (backslash >= 0 && backslash < i) backslash = chunk.indexOf(BACKSLASH, i);
        if (backslash >= 0 && (q < 0 || backslash < q)) {
          // An escape before the next quote: skip past it (the escaped byte may be in the next chunk).
          i = backslash;
          escaped = true;
          backslash = chunk.indexOf(BACKSLASH, i + 1);
          continue;
        }
        if (q < 0) break; // the string goes on in the next chunk
        i = q;
        inString = false;
        if (phase === 'key' && depth === 1) {
          key = parse(take(chunk, i + 1), 'a member name') as string;
          phase = 'colon';
        }
        continue;
      }
      if (depth >= 3 || (depth === 2 && !streaming)) {
        // Inside a value, only strings and brackets matter (not commas, colons or the indentation).
        while (STRUCTURAL[chunk[i]!] === 0 && ++i < chunk.length);
        if (i >= chunk.length) break;
      }
      const b = chunk[i]!;
      if (phase === 'start') {
        if (isSpace(b)) continue;
        if (b !== OPEN_OBJECT) throw new JsonShapeError('not a JSON object');
        depth = 1;
        phase = 'key';
        continue;
      }
      if (phase === 'end') {
        if (!isSpace(b)) throw new JsonShapeError('more after the end of the object');
        continue;
      }
      if (depth === 1 && phase === 'key') {
        if (isSpace(b)) continue;
        if (b === CLOSE_OBJECT && !key && !Object.keys(out).length) {
          phase = 'end';
          depth = 0;
          continue;
        }
        if (b !== QUOTE) throw new JsonShapeError('a member name was expected');
        inString = true;
        from = i;
        continue;
      }
      if (depth === 1 && phase === 'colon') {
        if (isSpace(b)) continue;
        if (b !== COLON) throw new JsonShapeError(`":" was expected after "${key}"`);
        phase = 'value';
        continue;
      }
      if (depth === 1 && phase === 'value' && from < 0 && !streaming) {
        if (isSpace(b)) continue;
        if (b === OPEN_ARRAY && streamed.has(key)) {
          arrays.add(key);
          streaming = true;
          depth = 2;
          from = i + 1;
          sawValue = false;
          continue;
        }
        from = i; // the member's value starts here
      }
      if (streaming && depth === 2 && from >= 0 && !sawValue && !isSpace(b) && b !== COMMA && b !== CLOSE_ARRAY) sawValue = true;
      switch (b) {
        case QUOTE:
          inString = true;
          break;
        case OPEN_OBJECT:
        case OPEN_ARRAY:
          depth++;
          break;
        case COMMA:
          if (streaming && depth === 2) {
            element(chunk, i);
            from = i + 1;
          } else if (depth === 1) {
            if (from >= 0) out[key] = parse(take(chunk, i), `"${key}"`);
            phase = 'key';
            key = '';
          }
          break;
        case CLOSE_ARRAY:
          if (streaming && depth === 2) {
            element(chunk, i);
            streaming = false;
            depth = 1;
            phase = 'after';
            break;
          }
          if (--depth < 1) throw new JsonShapeError('unbalanced brackets');
          break;
        case CLOSE_OBJECT:
          if (depth === 1) {
            if (phase === 'value' && from >= 0) out[key] = parse(take(chunk, i), `"${key}"`);
            else if (phase !== 'after') throw new JsonShapeError(`no value for "${key}"`);
            phase = 'end';
            depth = 0;
            break;
          }
          if (--depth < 1) throw new JsonShapeError('unbalanced brackets');
          break;
        default:
          if (depth === 1 && phase === 'after' && !isSpace(b)) throw new JsonShapeError(`"," was expected after "${key}"`);
      }
    }
    if (from >= 0) {
      parts.push(chunk.subarray(from));
      from = 0;
    }
  }
  if (phase !== 'end') throw new JsonShapeError(inString ? 'a string does not end' : 'the object does not end');
  return { members: out, arrays };
}
