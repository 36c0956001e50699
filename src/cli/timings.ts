// RDPCLOUD_TIMINGS=1: one stderr line per phase of an audit (start, setup, collect, engine, policies, report) with its
// wall time and the process's memory then, so that a slow or large run can be told apart by where it spends.
// Off by default: stderr stays for progress, warnings and errors.
import type { Io } from './common.js';

/** RDPCLOUD_TIMINGS set (and not 0). */
export const timingsOn = (env: NodeJS.ProcessEnv): boolean => !!env.RDPCLOUD_TIMINGS && env.RDPCLOUD_TIMINGS !== '0';

export class Timings {
  /** performance.now() counts from the process's start: the first phase ("start") is Node's boot and loading rdpcloud. */
  private last = 0;
  private readonly on: boolean;

  constructor(private readonly io: Io) {
    this.on = timingsOn(io.env);
  }

  /**
   * Time spent in a phase that ran in pieces (the engine and the policies, scope by scope): `inside` the phase
   * whose line already counted it (a live audit judges each scope as collect reads it); otherwise it ends now.
   */
  spent(phase: string, seconds: number, inside?: string): void {
    this.line(phase, seconds, inside ? `; inside ${inside}` : '');
    if (!inside) this.last = performance.now();
  }

  /** The phase that has just ended. */
  done(phase: string): void {
    const now = performance.now();
    this.line(phase, (now - this.last) / 1000, '');
    this.last = now;
  }

  private line(phase: string, seconds: number, more: string): void {
    if (!this.on) return;
    const m = process.memoryUsage();
    const mib = (b: number) => Math.round(b / 2 ** 20);
    this.io.stderr(`timing: ${phase} ${seconds.toFixed(3)} s (rss ${mib(m.rss)} MiB, heap ${mib(m.heapUsed)} MiB${more})\n`);
  }
}
