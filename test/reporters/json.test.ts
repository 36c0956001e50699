// The JSON report is written in pieces (src/reporters/json.ts); the pieces must join to exactly what
// JSON.stringify(report, null, 2) writes, whatever the report holds, and a file must equal stdout.
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { Report } from '../../src/model/results.js';
import { elementsText, inBlocks, jsonReport, jsonReportChunks } from '../../src/reporters/json.js';
import { audit, demoReport, tempDir } from './fixtures.js';

const reference = (x: unknown) => JSON.stringify(x, null, 2) + '\n';

/** As evaluate() and the policies make them: results of one class share their reasons, findings their resource. */
function sharedValues() {
  const reasons = [{ layer: 'firewall', rule: 'default-allow-rdp', action: 'allow', why: 'source 0.0.0.0/0', ranges: ['0.0.0.0/0'] }];
  const resource = { provider: 'gcp', scope: 'p', location: 'z', instance: 'vm', instanceId: '1' };
  return {
    results: Array.from({ length: 1200 }, (_, i) => ({ instance: `vm-${i}`, port: 3389, allowedRanges: i % 2 ? [] : ['0.0.0.0/0'], reasons })),
    findings: Array.from({ length: 30 }, (_, i) => ({ policyId: `p${i % 3}`, resource, rules: i % 2 ? undefined : ['r'] })),
  };
}

describe('JSON report in pieces', () => {
  it('joins to JSON.stringify(report, null, 2) on the demo report', async () => {
    const report = await demoReport();
    expect(report.results.length).toBeGreaterThan(10);
    expect(jsonReport(report)).toBe(reference(report));
    // Across the blocks of elements stringified together (500): every boundary joins as JSON.stringify's.
    const big = { ...report, results: Array.from({ length: 1234 }, (_, i) => report.results[i % report.results.length]) };
    expect(jsonReport(big)).toBe(reference(big));
    expect([...jsonReportChunks(big)].length).toBeGreaterThan(3);
  });

  it.each([
    ['no fields', {}],
    ['empty arrays and an undefined field', { schemaVersion: 2, results: [], findings: [], drift: undefined }],
    ['nested arrays, empty objects and strings with newlines and quotes', { a: [[1, [2, {}]], { b: [] }], s: 'line\none "two"\t', n: null, t: true }],
    ['an array of scalars and nulls', { xs: [1, 'two', null, false], o: { deep: { deeper: [{ k: 'v' }] } } }],
    ['one list of reasons shared by many elements, and one resource object by several', sharedValues()],
    [
      'elements that are not plain objects, and fields JSON leaves out or converts',
      { xs: [new Date(0), { toJSON: () => ({ as: 'json' }) }, [1, [2]], undefined, () => 1, { u: undefined, f: () => 1, d: new Date(0), n: Number.NaN, e: {}, a: [] }, Object.assign(Object.create(null), { bare: true })] },
    ],
  ])('joins to the reference with %s', (_name, value) => {
    expect(jsonReport(value as unknown as Report)).toBe(reference(value));
  });

  it('gathers the pieces into blocks without losing or reordering any', () => {
    const pieces = Array.from({ length: 1000 }, (_, i) => `piece ${i};`);
    const blocks = [...inBlocks(pieces, 100)];
    expect(blocks.join('')).toBe(pieces.join(''));
    expect(blocks.length).toBeGreaterThan(10);
    expect(blocks.every((b) => b.length >= 100 || b === blocks.at(-1))).toBe(true);
    expect([...inBlocks([])]).toEqual([]);
  });

  it('passes bytes through as they are, after the text gathered before them, in order', () => {
    const big = (c: string) => Buffer.from(c.repeat(30));
    const pieces = ['a', 'b', big('é'), 'c', Buffer.from('d'), Buffer.from('e'), 'f', big('g'), 'h'.repeat(120), 'i'];
    const blocks = [...inBlocks(pieces, 100)];
    const shown = (b: string | Buffer) => (typeof b === 'string' ? `s:${b}` : `b:${b.toString('utf8')}`);
    // Large bytes as they are; small ones gathered with the text around them, all as UTF-8 bytes.
    expect(blocks.map(shown)).toEqual(['b:ab', `b:${'é'.repeat(30)}`, 'b:cdef', `b:${'g'.repeat(30)}`, `b:${'h'.repeat(120)}`, 'b:i']);
    // A spooled array given as bytes joins to the same report as given as text.
    const report = { schemaVersion: 2, findings: [{ a: 1 }, { b: 'é' }] } as unknown as Report;
    const asText = [...elementsText(report.findings)];
    const joined = (x: Iterable<string | Buffer>) => Buffer.concat([...x].map((p) => (typeof p === 'string' ? Buffer.from(p) : p))).toString('utf8');
    expect(joined(jsonReportChunks(report, { findings: () => asText.map((t) => Buffer.from(t)) }))).toBe(jsonReport(report));
  });

  it('writes the same report to a file (--output) as to stdout', async () => {
    const dir = await tempDir();
    const file = join(dir, 'report.json');
    const both = await audit(['--format', 'json', '--output', file]);
    expect(await readFile(file, 'utf8')).toBe(both.stdout);
    expect(reference(JSON.parse(both.stdout))).toBe(both.stdout);
  });
});
