// The formats written a block of elements at a time (SARIF's results, OCSF's events, through arrayText and
// withArrayAt in src/reporters/json.ts) must be byte for byte the text JSON.stringify(value, null, 2) gives the
// whole value: a SARIF viewer or a data lake ingesting them sees no difference, and nothing ever holds the
// whole text. Checked on shapes that stress the layout (empty arrays, nested arrays and objects, strings with
// newlines and quotes, null and numbers) at every block size around the edges, and on the real reports of the
// demo (with and without a baseline) with more findings than one block.
import { describe, expect, it } from 'vitest';
import type { Finding, Report } from '../../src/model/results.js';
import { arrayText, inBlocks, STREAMED, withArrayAt } from '../../src/reporters/json.js';
import { ocsfBlocks, ocsfReport } from '../../src/reporters/ocsf.js';
import { renderBlocks } from '../../src/reporters/index.js';
import { sarifBlocks, sarifReport } from '../../src/reporters/sarif.js';
import { demoReport, driftReport } from './fixtures.js';

const pretty = (v: unknown) => JSON.stringify(v, null, 2);

/** Elements that exercise JSON.stringify's layout: nesting, empty containers, escapes. */
const ELEMENTS: unknown[] = [
  { a: 1, b: [1, 2, { c: [] }], d: {}, e: 'line one\nline "two"\tand \\ a backslash', f: null },
  [],
  [[], [[]], {}],
  'a string element',
  42,
  null,
  { nested: { deeper: { deepest: ['x', { y: [true, false] }] } } },
  { text: '  leading spaces and a [bracket] and a {brace}' },
];

const elements = (n: number) => Array.from({ length: n }, (_, i) => ELEMENTS[i % ELEMENTS.length]);

describe('arrayText: an array a block at a time, as JSON.stringify lays it out', () => {
  for (const n of [0, 1, 2, 7, 8, 9, 25]) {
    for (const block of [1, 2, 3, 8, 500]) {
      it(`${n} elements in blocks of ${block}, at the top and three levels down`, () => {
        const list = elements(n);
        expect([...arrayText(list, 0, block)].join('')).toBe(pretty(list));
        // The same array as a member three levels deep: { runs: [ { results: [...] } ] }.
        const inside = [...withArrayAt({ v: 1, runs: [{ tool: { x: [] }, results: STREAMED, after: 'tail' }] }, list)].join('');
        expect(inside).toBe(pretty({ v: 1, runs: [{ tool: { x: [] }, results: list, after: 'tail' }] }));
      });
    }
  }

  it('reads its items lazily: a block is made only when the one before it has been taken', () => {
    let made = 0;
    function* items() {
      for (let i = 0; i < 1200; i++) {
        made++;
        yield { i };
      }
    }
    const pieces = arrayText(items(), 0, 500);
    pieces.next();
    expect(made).toBe(500);
    pieces.next();
    expect(made).toBe(1000);
  });

  it('withArrayAt: the array as the whole value, or an element of another array', () => {
    expect([...withArrayAt(STREAMED, [1, [2]])].join('')).toBe(pretty([1, [2]]));
    expect([...withArrayAt({ a: [0, STREAMED, 3] }, [{ b: 1 }])].join('')).toBe(pretty({ a: [0, [{ b: 1 }], 3] }));
    expect(() => [...withArrayAt({ a: 1 }, [])]).toThrow(/no STREAMED member/);
  });
});

describe('SARIF and OCSF written in blocks are the whole text', () => {
  /** The demo report with its failing findings repeated past one block (500 results), ids kept apart. */
  const many = (r: Report, times: number): Report => {
    const fails = r.findings.filter((f) => f.status === 'fail');
    const more: Finding[] = [];
    for (let k = 0; k < times; k++) for (const f of fails) more.push({ ...f, resource: { ...f.resource, instance: `${f.resource.instance}-${k}`, ref: `${f.resource.ref}-${k}` } });
    return { ...r, findings: [...r.findings, ...more] };
  };

  it('the demo report, the drift report (new, unchanged and fixed failures), and 1,000+ failures', async () => {
    const demo = await demoReport();
    const { report: drift } = await driftReport();
    const big = many(demo, 60);
    expect(big.findings.filter((f) => f.status === 'fail').length).toBeGreaterThan(1000);
    for (const r of [demo, drift, big, { ...demo, findings: [] }]) {
      const sarif = sarifReport(r, { artifact: 'rdpcloud.yaml' });
      expect(sarif).toBe(pretty(JSON.parse(sarif)) + '\n');
      const ocsf = ocsfReport(r);
      expect(ocsf).toBe(pretty(JSON.parse(ocsf)) + '\n');
      // What the CLI writes: the blocks gathered into ~1 MiB pieces, the same text.
      expect([...renderBlocks(r, 'sarif', { color: false, sarifLocation: 'rdpcloud.yaml' })].join('')).toBe(sarif);
      expect([...renderBlocks(r, 'ocsf', { color: false })].join('')).toBe(ocsf);
    }
    // Every failure is a result (and an event), in the report's order, then the fixed ones.
    const results = (JSON.parse(sarifReport(big, { artifact: 'x' })) as { runs: { results: { ruleId: string }[] }[] }).runs[0]!.results;
    expect(results.map((x) => x.ruleId)).toEqual(big.findings.filter((f) => f.status === 'fail').map((f) => f.policyId));
    expect((JSON.parse(ocsfReport(big)) as unknown[]).length).toBe(results.length);
  });

  it('a large log leaves in several pieces, none of them the whole text', async () => {
    const big = many(await demoReport(), 400);
    const whole = sarifReport(big, { artifact: 'rdpcloud.yaml' });
    const pieces = [...inBlocks(sarifBlocks(big, { artifact: 'rdpcloud.yaml' }), 1 << 20)];
    expect(whole.length).toBeGreaterThan(3 << 20);
    expect(pieces.length).toBeGreaterThan(2);
    expect(Math.max(...pieces.map((p) => p.length))).toBeLessThan(whole.length / 2);
    const events = [...inBlocks(ocsfBlocks(big), 1 << 20)];
    expect(events.length).toBeGreaterThan(2);
  });
});
