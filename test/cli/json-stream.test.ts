// The streaming reader of large reports (src/cli/json-stream.ts) must read exactly what JSON.parse reads, whatever
// the layout (indentation, none, escapes, brackets and commas inside strings, multi-byte UTF-8) and wherever the
// file's chunks end, and refuse what JSON.parse refuses.
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { JsonShapeError, readObjectStreaming } from '../../src/cli/json-stream.js';

let dir: string;
let n = 0;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'rdpcloud-json-stream-'));
});

const STREAMED = new Set(['instances', 'findings']);

/** What readObjectStreaming gives, put back together as one object in the file's member order. */
async function read(text: string, chunkBytes: number): Promise<unknown> {
  const file = join(dir, `doc-${n++}.json`);
  await writeFile(file, text);
  const arrays: Record<string, unknown[]> = {};
  const { members, arrays: seen } = await readObjectStreaming(file, STREAMED, (k, v) => (arrays[k] ??= []).push(v), false, chunkBytes);
  const whole = JSON.parse(text) as Record<string, unknown>;
  // Rebuilt in JSON.parse's key order, to compare the two.
  return Object.fromEntries(Object.keys(whole).map((k) => [k, seen.has(k) ? (arrays[k] ?? []) : members[k]]));
}

const DOCS: [string, string][] = [
  ['an empty object', '{}'],
  ['the report layout', JSON.stringify({ schemaVersion: 2, tool: { name: 'rdpcloud' }, instances: [{ a: 1 }, { b: [1, 2, { c: 'x' }] }], results: [{ r: 1 }], findings: [], policies: [{ id: 'p' }] }, null, 2)],
  ['no whitespace at all', JSON.stringify({ instances: [{ a: [] }, {}, { b: {} }], x: [1, [2, [3]]], findings: [{ f: null }] })],
  ['strings with brackets, commas, colons, quotes and backslashes', JSON.stringify({ instances: [{ s: '],}{[,:"\\' }, 'a "quoted" \\ string ]', '\\\\'], 'key "with" quotes': '}', findings: ['\\"', '"\\'] })],
  ['multi-byte UTF-8 and escapes', JSON.stringify({ instances: [{ name: 'wïn-ünïcode-名前-🖥️' }, '\u0000\u001f\t\n'], note: 'café ✓' })],
  ['scalars as elements and streamed keys that are not arrays', '{ "instances" : [ 1 , -2.5e3 , true , null , "s" ] , "findings" : null , "n" : 0 }'],
  ['an array member that is not streamed, and odd whitespace', '\n\t{\r\n "other": [ [ ] , { } ] ,\n"instances":[\n]\n}\n\n'],
  ['a streamed key nested deeper is not streamed', JSON.stringify({ wrap: { instances: [1, 2] }, instances: [{ instances: [3] }] })],
];

describe('readObjectStreaming', () => {
  it.each(DOCS)('%s: the same as JSON.parse, at every chunk size', async (_name, text) => {
    const want = JSON.parse(text) as unknown;
    for (const chunk of [1, 2, 3, 7, 64, 1 << 20]) expect(await read(text, chunk), `chunks of ${chunk}`).toEqual(want);
  });

  it('random reports: the same as JSON.parse', async () => {
    let seed = 7;
    const rand = () => ((seed = (seed * 1103515245 + 12345) >>> 0) / 2 ** 32);
    const pieces = ['a', ']', '[', '{', '}', ',', ':', '"', '\\', 'é', '🖥', ' ', '\n'];
    // Short strings and long ones (the reader looks for a string's end byte by byte over its first 24 bytes,
    // then with indexOf), escapes anywhere in them.
    const str = () => Array.from({ length: Math.floor(rand() * (rand() < 0.3 ? 90 : 8)) }, () => pieces[Math.floor(rand() * pieces.length)]).join('');
    const value = (depth: number): unknown => {
      const k = Math.floor(rand() * (depth > 3 ? 4 : 6));
      if (k === 0) return str();
      if (k === 1) return Math.floor(rand() * 1e6) / 100;
      if (k === 2) return rand() < 0.5;
      if (k === 3) return null;
      if (k === 4) return Array.from({ length: Math.floor(rand() * 4) }, () => value(depth + 1));
      return Object.fromEntries(Array.from({ length: Math.floor(rand() * 4) }, () => [str(), value(depth + 1)]));
    };
    for (let i = 0; i < 80; i++) {
      const doc = { [str()]: value(1), instances: Array.from({ length: Math.floor(rand() * 5) }, () => value(1)), findings: Array.from({ length: Math.floor(rand() * 5) }, () => value(1)) };
      const text = JSON.stringify(doc, null, i % 2 ? 2 : undefined);
      expect(await read(text, 1 + (i % 13))).toEqual(JSON.parse(text));
    }
  });

  it.each([
    ['a trailing comma', '{"a": 1,}'],
    ['more after the end', '{"a": 1} x'],
    ['no colon', '{"a" 1}'],
    ['an unbalanced element', '{"instances": [{"a": 1]}'],
    ['a string that does not end', '{"instances": ["abc'],
    ['an object that does not end', '{"instances": [1, 2'],
    ['a broken element', '{"instances": [{"a": tru}]}'],
    ['an empty file', ''],
  ])('%s: refused', async (_name, text) => {
    expect(() => JSON.parse(text)).toThrow();
    await expect(read(text, 3)).rejects.toThrow(JsonShapeError);
  });

  it('JSON that is not an object (a report is one): refused', async () => {
    await expect(read('[1, 2]', 3)).rejects.toThrow(/not a JSON object/);
  });
});
