// Exit 70: anything that is not one of rdpcloud's typed errors is a bug, reported in one "please report" line
// (the stack only with --debug), never a silent 0 (../../shared/docs/interface.md exit codes). Triggered here by
// an output that fails underneath the CLI, as a closed pipe would.
import { describe, expect, it } from 'vitest';
import { rdpcloud } from './helpers.js';

const failingStdout = { stdout: () => { throw new Error('write EPIPE'); } };

describe('exit 70: an internal error', () => {
  it('one line asking for a report, no stack trace', async () => {
    const r = await rdpcloud(['audit', '--from', 'examples/demo-inventory.json'], {}, failingStdout);
    expect(r.code).toBe(70);
    expect(r.stderr).toMatch(/^internal error: write EPIPE - this is a bug in rdpcloud \S+; please report it \(run with --debug for details\)\n$/m);
    expect(r.stderr).not.toMatch(/\n\s+at .+:\d+:\d+/);
  });

  it('--debug adds the stack', async () => {
    const r = await rdpcloud(['audit', '--from', 'examples/demo-inventory.json', '--debug'], {}, failingStdout);
    expect(r.code).toBe(70);
    expect(r.stderr).toMatch(/\n\s+at .+:\d+:\d+/);
  });
});
