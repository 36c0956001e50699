// The terminal table: colour only when asked (ANSI SGR escapes), and with colour off exactly the coloured
// text without its escapes.
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import type { Report } from '../../src/model/results.js';
import { render } from '../../src/reporters/index.js';
import { tableReport } from '../../src/reporters/table.js';
import { rdpcloud } from '../cli/helpers.js';
import { audit, DEMO, demoReport, driftReport, INCOMPLETE, tempDir } from './fixtures.js';

/** Any ANSI escape sequence (CSI ... final byte), or a bare ESC. */
const ANSI = /\x1b\[[0-9;?]*[ -/]*[@-~]|\x1b/g;
const strip = (s: string) => s.replace(ANSI, '');

describe('table reporter', () => {
  let demo: Report;
  let drift: Report;

  beforeAll(async () => {
    demo = await demoReport();
    drift = (await driftReport()).report;
  });

  it.each(['demo', 'drift'] as const)('%s: no ANSI escapes with color false', (k) => {
    const out = tableReport(k === 'demo' ? demo : drift, { color: false });
    expect(out.match(ANSI)).toBeNull();
  });

  it.each(['demo', 'drift'] as const)('%s: ANSI colour with color true; stripped, the same text as color false', (k) => {
    const r = k === 'demo' ? demo : drift;
    const out = tableReport(r, { color: true });
    expect(out).toMatch(/\x1b\[31mreachable/); // verdicts
    expect(out).toMatch(/\x1b\[32mblocked/);
    expect(out).toMatch(/\x1b\[31mHIGH/); // severities
    expect(out).toMatch(/\x1b\[2mINSTANCE/); // the dim header
    // Every escape is a known SGR and every colour is reset.
    for (const m of out.match(ANSI)!) expect(m).toMatch(/^\x1b\[(0|2|31|32|33|35|36)m$/);
    expect(out.match(/\x1b\[(2|3\d)m/g)!.length).toBe(out.match(/\x1b\[0m/g)!.length);
    expect(strip(out)).toBe(tableReport(r, { color: false }));
  });

  it('the CLI prints no colour when stdout is not a terminal, and colour on a terminal unless NO_COLOR is set', async () => {
    const piped = await audit([]);
    expect(piped.stdout.match(ANSI)).toBeNull();
    const tty = await rdpcloud(['audit', '--from', DEMO], { NO_COLOR: undefined }, { stdoutIsTTY: true });
    expect(tty.code, tty.stderr).toBe(INCOMPLETE);
    expect(tty.stdout).toMatch(ANSI);
    expect(strip(tty.stdout)).toBe(piped.stdout);
    const noColor = await rdpcloud(['audit', '--from', DEMO], { NO_COLOR: '1' }, { stdoutIsTTY: true });
    expect(noColor.stdout.match(ANSI)).toBeNull();
  });

  it('--output x.txt writes the table without colour', async () => {
    const file = join(await tempDir(), 'audit.txt');
    await audit(['--output', file]);
    const text = await readFile(file, 'utf8');
    expect(text.match(ANSI)).toBeNull();
    expect(text).toBe(render(demo, 'table', { color: false }));
  });

  it('one row per result under each scope header, every row within 100 columns', () => {
    const lines = tableReport(demo, { color: false }).split('\n');
    const rows: string[] = [];
    lines.forEach((l, i) => {
      if (!l.startsWith('INSTANCE ')) return;
      for (let j = i + 1; lines[j]; j++) rows.push(lines[j]);
    });
    expect(rows).toHaveLength(demo.results.length);
    for (const l of rows) expect(l.length, l).toBeLessThanOrEqual(100);
  });
});
