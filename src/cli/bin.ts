#!/usr/bin/env node
// The only place that exits the process, and the only one that touches the real terminal.
import * as nodeModule from 'node:module';
import { createInterface } from 'node:readline';

// Node's on-disk cache of compiled modules (in the OS temp folder): the cloud SDKs are thousands of files, and
// compiling them again on every run is a sizeable part of a small audit (~0.2 s of the 1,000-instance EC2
// run). Enabled before anything else is loaded, so run.js and what it imports are read through it; the
// cache is only an optimisation, so a read-only temp folder is not an error.
try {
  (nodeModule as { enableCompileCache?: () => unknown }).enableCompileCache?.(); // Node 22.1 and later
} catch {
  /* no cache: compile as usual */
}
const { run } = await import('./run.js');

async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const c of process.stdin) chunks.push(c as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

/** Reads a line from the terminal; with `secret`, nothing typed is shown. */
function ask(question: string, secret: boolean): Promise<string> {
  return new Promise((resolve) => {
    const rl = createInterface({ input: process.stdin, output: process.stderr, terminal: true });
    if (secret) {
      // Print the question, then swallow the echo of every key.
      process.stderr.write(question);
      (rl as unknown as { _writeToOutput: (s: string) => void })._writeToOutput = () => {};
      rl.question('', (answer) => {
        process.stderr.write('\n');
        rl.close();
        resolve(answer);
      });
      return;
    }
    rl.question(question, (answer) => {
      rl.close();
      resolve(answer);
    });
  });
}

// A reader that stops early (`rdpcloud audit --format json | head`): the rest of the output is dropped, no
// EPIPE stack trace, and the exit code still says what the audit found.
let stdoutGone = false;
process.stdout.on('error', () => {
  stdoutGone = true;
});

/**
 * Writes to stdout; when a pipe's reader is behind, a promise for when it has caught up (or gone). Bytes are
 * waited for until written: they may be a spool's read block, reused for the next piece (the stream would
 * otherwise keep the view and send what was read into it later).
 */
function toStdout(s: string | Buffer): void | Promise<void> {
  if (stdoutGone) return;
  if (typeof s !== 'string') return new Promise((resolve) => process.stdout.write(s, () => resolve()));
  if (process.stdout.write(s)) return;
  return new Promise((resolve) => {
    const done = () => {
      for (const e of ['drain', 'close', 'error'] as const) process.stdout.off(e, done);
      resolve();
    };
    for (const e of ['drain', 'close', 'error'] as const) process.stdout.once(e, done);
  });
}

const code = await run(process.argv.slice(2), {
  stdout: toStdout,
  stderr: (s) => process.stderr.write(s),
  env: process.env,
  stdoutIsTTY: !!process.stdout.isTTY,
  stderrIsTTY: !!process.stderr.isTTY,
  stdinIsTTY: !!process.stdin.isTTY,
  readStdin,
  promptSecret: (q) => ask(q, true),
  confirm: async (q) => /^y(es)?$/i.test((await ask(q, false)).trim()),
  now: () => new Date(),
});
process.exitCode = code;
