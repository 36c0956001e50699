// A memo keyed by a short list of numbers (outcome ids, candidate ids, rule signatures). The engine's memos are
// asked once or more per class of instances, and where every class is its own (an AWS region whose instances
// each have their own set of security groups) nearly every question is new: a key written as a string cost a
// concatenation, its flattening and a hash each time, and stayed in the heap with its entry. Here the key is
// written into a reused array, hashed as numbers, and copied only when an entry is made.

/** FNV-1a over the numbers (32 bits). */
function hashOf(k: readonly number[], n: number): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < n; i++) h = Math.imul(h ^ k[i]!, 0x01000193);
  return h >>> 0;
}

interface Entry<T> {
  key: number[];
  value: T;
}

export class NumMemo<T> {
  private readonly byHash = new Map<number, Entry<T> | Entry<T>[]>();
  /** The key being written: `k[0..n)`. */
  readonly k: number[] = [];
  n = 0;
  private hash = 0;

  /** Starts a new key. */
  start(): this {
    this.n = 0;
    return this;
  }

  push(x: number): this {
    this.k[this.n++] = x;
    return this;
  }

  /** The value kept under the key written since start(), if any. */
  get(): T | undefined {
    this.hash = hashOf(this.k, this.n);
    const e = this.byHash.get(this.hash);
    if (e === undefined) return undefined;
    if (!Array.isArray(e)) return this.same(e.key) ? e.value : undefined;
    for (const x of e) if (this.same(x.key)) return x.value;
    return undefined;
  }

  /** Keeps `value` under the key just looked up with get() (which found nothing). */
  set(value: T): T {
    const entry: Entry<T> = { key: this.k.slice(0, this.n), value };
    const e = this.byHash.get(this.hash);
    if (e === undefined) this.byHash.set(this.hash, entry);
    else if (Array.isArray(e)) e.push(entry);
    else this.byHash.set(this.hash, [e, entry]);
    return value;
  }

  private same(key: number[]): boolean {
    if (key.length !== this.n) return false;
    for (let i = 0; i < this.n; i++) if (key[i] !== this.k[i]) return false;
    return true;
  }
}
