// Keeps a large audit's heap near what it holds alive. V8 sizes its heap for the machine: after each full
// collection it lets the old generation grow to a multiple of what survived (up to ~4x while collections are
// cheap), and on a machine with gigabytes it has no reason to stop, so an audit that judges scope by scope
// and keeps almost nothing still climbed to ~600 MiB of RSS at 100,000 instances, most of it garbage waiting.
// Once the heap passes a threshold (so small audits, whose heap never gets there, keep V8's defaults and speed),
// the growth after a collection is cut to a quarter of what survived (V8's --heap-growing-percent, which it
// reads at each collection). A soft bound: V8 still grows the heap when more is alive, and a hard limit
// (--max-old-space-size) would kill an audit whose one scope is larger than the limit.
import { getHeapStatistics, setFlagsFromString } from 'node:v8';

const MiB = 2 ** 20;

export class HeapBudget {
  /** Whether the tighter growth is on. */
  tight = false;

  constructor(
    private readonly thresholdMiB: number,
    private readonly growingPercent: number,
  ) {}

  /** Between two pieces of work: past the threshold, tighten the heap's growth (once). */
  check(): void {
    if (this.tight || getHeapStatistics().used_heap_size < this.thresholdMiB * MiB) return;
    try {
      setFlagsFromString(`--heap-growing-percent=${this.growingPercent}`);
      this.tight = true;
    } catch {
      this.tight = true; // a runtime that refuses the flag: keep its defaults
    }
  }

  /** check() every `ms` while the event loop is free (between the pages and scopes of a collect). */
  watch(ms: number): { stop(): void } {
    const t = setInterval(() => this.check(), ms);
    t.unref();
    return { stop: () => clearInterval(t) };
  }
}
