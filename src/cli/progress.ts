// A one-line progress display on stderr, only when stderr is a terminal: stdout stays clean for pipes.
import type { RequestStats } from '../../providers/types.js';

export class Progress {
  private scopeText = '';
  private last = 0;
  private shown = false;
  constructor(private readonly io: { stderr(s: string): void; stderrIsTTY: boolean; now(): Date }) {}

  scopes(done: number, total: number): void {
    this.scopeText = `scopes ${done}/${total}`;
    this.draw(done === total);
  }

  request(stats: RequestStats): void {
    if (!this.io.stderrIsTTY) return; // called after every request: nothing to count when nothing is drawn
    const n = Object.values(stats.requests).reduce((a, b) => a + b, 0);
    this.reqText = `requests ${n}, retries ${stats.retries}, throttled ${stats.throttled}`;
    this.draw(false);
  }

  private reqText = '';

  private draw(force: boolean): void {
    if (!this.io.stderrIsTTY) return;
    const t = this.io.now().getTime();
    if (!force && t - this.last < 100) return;
    this.last = t;
    this.shown = true;
    this.io.stderr(`\r\x1b[2K${[this.scopeText, this.reqText].filter(Boolean).join(' | ')}`);
  }

  done(): void {
    if (this.shown) this.io.stderr('\r\x1b[2K');
  }
}
