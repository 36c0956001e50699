// What every benchmark section shares: running the real CLI as its own process (wall time, peak RSS of that
// process alone, exit code, stderr), and the shape of a result row. Sections are bench/*.ts modules with
// `run(options) => Section`; bench/run.ts prints them as one table and writes JSON.
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

export interface Row {
  /** What was measured, e.g. "EC2 2,000 SGs / 1,000 instances: wall". */
  name: string;
  measured: number;
  unit: string;
  /** The target it must meet (<=), when there is one. */
  target?: number;
  /** How the target was derived ("1.05 x minimum 1,234"). */
  targetNote?: string;
  ok?: boolean;
  detail?: string;
}

export interface Section {
  title: string;
  rows: Row[];
  /** Anything else worth keeping in the JSON (per-operation request counts...). */
  data?: Record<string, unknown>;
}

export const ROOT = resolve(new URL('../..', import.meta.url).pathname);
export const BIN = join(ROOT, 'dist', 'src', 'cli', 'bin.js');

export interface CliRun {
  code: number;
  wallMs: number;
  peakRssMiB: number;
  /** CPU time of the rdpcloud process (user + system), and of this process (the fakes) while it ran. */
  cpuS: number;
  benchCpuS: number;
  stdout: string;
  stderr: string;
}

/** Runs `node dist/src/cli/bin.js ...args` with `env` (added to a clean base) and measures it. */
/** RDPCLOUD_BENCH_PROFILE=DIR: each rdpcloud run writes a V8 CPU profile there (to see where its time goes); RDPCLOUD_BENCH_NODE_FLAGS: more node flags for it (to try V8 settings). */
const profileFlags = () => [...(process.env.RDPCLOUD_BENCH_PROFILE ? ['--cpu-prof', `--cpu-prof-dir=${process.env.RDPCLOUD_BENCH_PROFILE}`] : []), ...(process.env.RDPCLOUD_BENCH_NODE_FLAGS?.split(' ').filter(Boolean) ?? [])];

export function runCli(args: string[], env: Record<string, string>, o: { stdoutToFile?: boolean } = {}): Promise<CliRun> {
  const rssFile = join(mkdtempSync(join(tmpdir(), 'rdpcloud-bench-')), 'rss');
  return new Promise((done, fail) => {
    const t0 = performance.now();
    const c0 = process.cpuUsage();
    const child = spawn(process.execPath, [...profileFlags(), '--require', join(ROOT, 'bench', 'rss.cjs'), BIN, ...args], {
      env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '/tmp', AWS_EC2_METADATA_DISABLED: 'true', METADATA_SERVER_DETECTION: 'none', NO_COLOR: '1', RDPCLOUD_BENCH_RSS_FILE: rssFile, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => {
      if (!o.stdoutToFile) stdout += d.toString();
    });
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', fail);
    child.on('close', (code) => {
      const wallMs = performance.now() - t0;
      const c = process.cpuUsage(c0);
      let [kib, user, system] = [0, 0, 0];
      try {
        [kib, user, system] = readFileSync(rssFile, 'utf8').split(' ').map(Number) as [number, number, number];
      } catch {
        /* the process died before its exit hook */
      }
      done({ code: code ?? -1, wallMs, peakRssMiB: kib / 1024, cpuS: ((user ?? 0) + (system ?? 0)) / 1e6, benchCpuS: (c.user + c.system) / 1e6, stdout, stderr });
    });
  });
}

export const fmt = (n: number, digits = 0) => n.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits });

/** The `timing:` lines of RDPCLOUD_TIMINGS (src/cli/timings.ts): seconds and RSS after each phase. */
export function phasesOf(stderr: string): Record<string, { s: number; rssMiB: number }> {
  const out: Record<string, { s: number; rssMiB: number }> = {};
  for (const m of stderr.matchAll(/^timing: (\w+) ([\d.]+) s \(rss (\d+) MiB/gm)) out[m[1]!] = { s: Number(m[2]), rssMiB: Number(m[3]) };
  return out;
}

/** "collect 1.23 s, engine 0.45 s, ..." from phasesOf. */
export const phasesText = (phases: ReturnType<typeof phasesOf>): string =>
  Object.entries(phases).map(([p, x]) => `${p} ${fmt(x.s, 2)} s`).join(', ');

/** "gcp 3.09 s, aws 3.55 s, azure 1.05 s": when each cloud had read all its scopes (RDPCLOUD_TIMINGS), the last one being the long pole. */
export function collectedText(stderr: string): string {
  return [...stderr.matchAll(/^timing: (\w+) collected at ([\d.]+) s/gm)].map((m) => `${m[1]} ${fmt(Number(m[2]), 2)} s`).join(', ');
}
