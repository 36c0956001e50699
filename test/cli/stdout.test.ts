// stdout as pipelines use it: a reader slower than the report (`rdpcloud audit --format json | jq`) holds the
// report back block by block instead of letting the whole of it queue in memory, and a reader that stops early
// (`| head`) ends the output without a stack trace while the exit code still says what the audit found.
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { rdpcloud } from './helpers.js';

const DEMO = 'examples/demo-inventory.json';
const BIN = resolve('dist', 'src', 'cli', 'bin.js');

/** The demo's instances `times` over (new names and ids, the same networks): a report of several megabytes. */
function largeInventory(times = 30): string {
  const inv = JSON.parse(readFileSync(DEMO, 'utf8'));
  inv.instances = Array.from({ length: times }, (_, k) => inv.instances.map((i: { name: string; id: string }) => ({ ...i, name: `${i.name}-${k}`, id: `${i.id}-${k}` }))).flat();
  const file = join(mkdtempSync(join(tmpdir(), 'rdpcloud-stdout-')), 'inv.json');
  writeFileSync(file, JSON.stringify(inv));
  return file;
}

describe('stdout in a pipeline', () => {
  it('waits for a slow reader: no block is written before the one before it was taken', async () => {
    const file = largeInventory();
    const whole = await rdpcloud(['audit', '--from', file, '--format', 'json']);
    expect(whole.stdout.length).toBeGreaterThan(3 * 2 ** 20); // blocks of 1 MiB: several writes
    let pending = 0;
    let most = 0;
    let text = '';
    let writes = 0;
    const r = await rdpcloud(['audit', '--from', file, '--format', 'json'], {}, {
      // A reader that is always behind: every write waits until it has been read.
      stdout: (s) => {
        writes++;
        pending++;
        most = Math.max(most, pending);
        return new Promise<void>((done) =>
          setTimeout(() => {
            text += typeof s === 'string' ? s : s.toString('utf8');
            pending--;
            done();
          }, 1),
        );
      },
    });
    expect(r.code).toBe(whole.code);
    expect(writes).toBeGreaterThan(3);
    expect(most).toBe(1);
    expect(text.replace(/"generatedAt": "[^"]+"/, '')).toBe(whole.stdout.replace(/"generatedAt": "[^"]+"/, ''));
  });

  // The spool reads each block into the same memory: what stdout was given must be written before the next
  // block is read over it, however slowly the pipe is read (the process itself, a real pipe). On Linux Node
  // writes a pipe synchronously; on macOS it does not, and waiting for each write (bin.ts) is what keeps the
  // bytes intact there. The test above holds the contract in-process: a write is read only when it settles.
  it('the real process piped to a slow reader writes the same bytes as to its --output file', async () => {
    const file = largeInventory(60);
    const out = join(mkdtempSync(join(tmpdir(), 'rdpcloud-stdout-')), 'report.json');
    const child = spawn(process.execPath, [BIN, 'audit', '--from', file, '--format', 'json', '-o', out], { stdio: ['ignore', 'pipe', 'pipe'] });
    const chunks: Buffer[] = [];
    child.stdout.on('data', (d: Buffer) => {
      chunks.push(d);
      // A reader that takes a chunk, then looks away for a moment.
      child.stdout.pause();
      setTimeout(() => child.stdout.resume(), 2);
    });
    const code = await new Promise<number | null>((done) => child.on('close', done));
    expect(code).toBe(3);
    const written = readFileSync(out);
    expect(written.length).toBeGreaterThan(6 * 2 ** 20);
    expect(Buffer.concat(chunks).equals(written)).toBe(true);
  });

  it('a reader that closes early: no EPIPE trace, the audit exit code (3: the demo has a failed project)', async () => {
    const child = spawn(process.execPath, [BIN, 'audit', '--from', DEMO, '--format', 'json'], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    // `| head -c 1`: take the first chunk, then go away.
    child.stdout.once('data', () => child.stdout.destroy());
    const code = await new Promise<number | null>((done) => child.on('close', done));
    expect(stderr).not.toMatch(/EPIPE|Error:|\n\s+at /);
    expect(code).toBe(3);
  });
});
