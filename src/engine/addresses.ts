// Exact set arithmetic over IPv4 and IPv6 address ranges. Verdicts are computed as sets, not by comparing
// CIDR strings, so that 0.0.0.0/1 + 128.0.0.0/1 is the whole IPv4 space and a deny for a sub-range of an
// allow leaves exactly the difference. Parsing is ipaddr.js's; the interval algebra is ours (no library
// offers union/intersection/difference over interval lists without string round trips).
//
// Representation: IPv4 ranges as one flat array of plain numbers [lo0, hi0, lo1, hi1, ...] (addresses are
// below 2^32, numbers are exact below 2^53), IPv6 ranges as [lo, hi] bigint pairs. An organisation-wide audit
// makes millions of sets (each rule carves the remainder of the candidate), and numbers need no allocation per
// value, which bigints do. Both are kept normalized: sorted, disjoint, never adjacent, so that a set has one
// representation.
import ipaddr from 'ipaddr.js';

export type Family = 4 | 6;
/** Inclusive [lo, hi]. */
export type Range = readonly [bigint, bigint];
/** IPv4 ranges, flat: [lo0, hi0, lo1, hi1, ...]. */
type Flat = readonly number[];

const MAX4 = 2 ** 32 - 1;
const MAX6 = (1n << 128n) - 1n;
const POW2 = Array.from({ length: 33 }, (_, i) => 2 ** i);

export class CidrError extends Error {
  constructor(
    readonly input: string,
    reason: string,
  ) {
    super(`"${input}" is not a valid CIDR or address: ${reason}`);
  }
}

function bytesToBigint(bytes: number[]): bigint {
  let v = 0n;
  for (const b of bytes) v = (v << 8n) | BigInt(b);
  return v;
}

/** Parses "10.0.0.0/8", "2001:db8::/32" or a bare address. Host bits are masked, as the clouds do. */
export function parseCidr(input: string): { family: Family; range: Range } {
  const r = parseRange(input);
  return r.family === 4 ? { family: 4, range: [BigInt(r.lo), BigInt(r.hi)] } : r;
}

type Parsed = { family: 4; lo: number; hi: number } | { family: 6; range: Range };

/**
 * A dotted-quad IPv4 address with an optional prefix length ("10.1.2.3", "10.0.0.0/8") read by hand, as
 * [value, prefix], or undefined for anything else. Four decimal parts of at most 255 without leading zeros
 * (ipaddr's isValidFourPartDecimal) and a prefix of 1-3 digits up to 32; parseRange's general path stays the
 * reference for everything else, and gives the errors.
 */
function quad(text: string): [number, number] | undefined {
  let value = 0;
  let i = 0;
  for (let part = 0; part < 4; part++) {
    if (part > 0) {
      if (text.charCodeAt(i) !== 46) return undefined; // '.'
      i++;
    }
    const start = i;
    let n = 0;
    for (let c = text.charCodeAt(i); c >= 48 && c <= 57; c = text.charCodeAt(++i)) n = n * 10 + c - 48;
    const len = i - start;
    if (len === 0 || len > 3 || n > 255 || (len > 1 && text.charCodeAt(start) === 48)) return undefined;
    value = value * 256 + n;
  }
  if (i === text.length) return [value, 32];
  if (text.charCodeAt(i) !== 47) return undefined; // '/'
  const start = ++i;
  let p = 0;
  for (let c = text.charCodeAt(i); c >= 48 && c <= 57; c = text.charCodeAt(++i)) p = p * 10 + c - 48;
  if (i !== text.length || i === start || i - start > 3 || p > 32) return undefined;
  return [value, p];
}

/** The number of a plain dotted-quad IPv4 address, or -1. */
export function ipv4Value(text: string): number {
  const q = quad(text);
  return q && q[1] === 32 && text.indexOf('/') < 0 ? q[0] : -1;
}

function parseRange(input: string): Parsed {
  const text = input.trim();
  // Dotted-quad IPv4, the common case (rules hold prefix lists of 50 CIDRs), read without ipaddr.js.
  const q = quad(text);
  if (q) {
    const size = POW2[32 - q[1]];
    const lo = q[0] - (q[0] % size);
    return { family: 4, lo, hi: lo + size - 1 };
  }
  const slash = text.indexOf('/');
  const addrText = slash < 0 ? text : text.slice(0, slash);
  let addr: ipaddr.IPv4 | ipaddr.IPv6;
  try {
    addr = ipaddr.parse(addrText);
  } catch {
    throw new CidrError(input, 'not an IPv4 or IPv6 address');
  }
  if (addr.kind() === 'ipv4' && !ipaddr.IPv4.isValidFourPartDecimal(addrText)) {
    throw new CidrError(input, 'IPv4 addresses need four decimal parts');
  }
  const family: Family = addr.kind() === 'ipv4' ? 4 : 6;
  const bits = family === 4 ? 32 : 128;
  let prefix = bits;
  if (slash >= 0) {
    const p = text.slice(slash + 1);
    if (!/^\d{1,3}$/.test(p) || Number(p) > bits) throw new CidrError(input, `prefix length must be 0-${bits}`);
    prefix = Number(p);
  }
  const value = bytesToBigint(addr.toByteArray());
  const hostBits = BigInt(bits - prefix);
  const lo = (value >> hostBits) << hostBits;
  const hi = lo | ((1n << hostBits) - 1n);
  return family === 4 ? { family, lo: Number(lo), hi: Number(hi) } : { family, range: [lo, hi] };
}

export function isCidr(input: string): boolean {
  try {
    parseCidr(input);
    return true;
  } catch {
    return false;
  }
}

/** One address (no prefix) as a number. */
export function parseAddress(input: string): { family: Family; value: bigint } {
  const { family, range } = parseCidr(input);
  return { family, value: range[0] };
}

// ---------------------------------------------------------------------------------------------------------
// The set operations take and give normalized lists. The engine subtracts and intersects small rule sources
// from large remainders (the internet minus hundreds of carved-out ranges) thousands of times, so they are
// linear merges that skip with binary search, and the IPv6 ones reuse the input's untouched pairs.

// --- IPv4, flat numbers

function normalize4(pairs: [number, number][]): Flat {
  pairs.sort((a, b) => a[0] - b[0]);
  const out: number[] = [];
  for (const [lo, hi] of pairs) {
    const n = out.length;
    if (n && lo <= out[n - 1] + 1) {
      if (hi > out[n - 1]) out[n - 1] = hi;
    } else out.push(lo, hi);
  }
  return out;
}

/** The first range (by number, from `from`) that ends at or after v. */
function firstEnding4(r: Flat, v: number, from: number): number {
  let lo = from;
  let hi = r.length >> 1;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (r[2 * mid + 1] < v) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/**
 * The ranges an operation on `a` and `b` gives, added in order: no list is made while they are a prefix of
 * either input, and an input the result equals is given back itself (the engine's memos key sets by identity).
 */
class Result4 {
  private out?: number[];
  private sameA = true;
  private sameB = true;
  private n = 0;
  constructor(
    private readonly a: Flat,
    private readonly b: Flat,
  ) {}

  add(lo: number, hi: number): void {
    const { a, b, n } = this;
    if (this.out) this.out.push(lo, hi);
    else {
      const wasA = this.sameA;
      this.sameA &&= a[n] === lo && a[n + 1] === hi;
      this.sameB &&= b[n] === lo && b[n + 1] === hi;
      if (!this.sameA && !this.sameB) {
        this.out = (wasA ? a : b).slice(0, n);
        this.out.push(lo, hi);
      }
    }
    this.n = n + 2;
  }

  list(): Flat {
    if (this.out) return this.out;
    if (this.sameA && this.n === this.a.length) return this.a;
    if (this.sameB && this.n === this.b.length) return this.b;
    return (this.sameA ? this.a : this.b).slice(0, this.n);
  }
}

function union4(a: Flat, b: Flat): Flat {
  if (a.length === 0) return b;
  if (b.length === 0) return a;
  // The union is often `a` itself (what is allowed already holds what a rule adds) or `b`.
  const out = new Result4(a, b);
  let i = 0;
  let j = 0;
  let lo: number;
  let hi: number;
  if (a[0] <= b[0]) {
    lo = a[0];
    hi = a[1];
    i = 2;
  } else {
    lo = b[0];
    hi = b[1];
    j = 2;
  }
  for (;;) {
    const more = i < a.length || j < b.length;
    let rlo = 0;
    let rhi = 0;
    if (more) {
      if (j >= b.length || (i < a.length && a[i] <= b[j])) {
        rlo = a[i];
        rhi = a[i + 1];
        i += 2;
      } else {
        rlo = b[j];
        rhi = b[j + 1];
        j += 2;
      }
      if (rlo <= hi + 1) {
        if (rhi > hi) hi = rhi;
        continue;
      }
    }
    out.add(lo, hi); // [lo, hi] is complete
    if (!more) break;
    lo = rlo;
    hi = rhi;
  }
  return out.list();
}

/** Whether two lists share an address, without building the intersection. */
function overlap4(x: Flat, y: Flat): boolean {
  const a = x.length <= y.length ? x : y;
  const b = a === x ? y : x;
  const nb = b.length >> 1;
  let j = 0;
  for (let i = 0; i < a.length; i += 2) {
    j = firstEnding4(b, a[i], j);
    if (j >= nb) return false;
    if (b[2 * j] <= a[i + 1]) return true;
  }
  return false;
}

function intersect4(x: Flat, y: Flat): Flat {
  // Walk the shorter list; find its overlaps in the longer one by binary search. Most intersections give back
  // one of the lists whole (a remainder inside what a layer allows).
  const a = x.length <= y.length ? x : y;
  const b = a === x ? y : x;
  const out = new Result4(a, b);
  const nb = b.length >> 1;
  let j = 0;
  for (let i = 0; i < a.length; i += 2) {
    const lo = a[i];
    const hi = a[i + 1];
    j = firstEnding4(b, lo, j);
    if (j >= nb) break;
    for (let k = j; k < nb && b[2 * k] <= hi; k++) {
      const rlo = lo > b[2 * k] ? lo : b[2 * k];
      const rhi = hi < b[2 * k + 1] ? hi : b[2 * k + 1];
      out.add(rlo, rhi);
    }
  }
  return out.list();
}

function subtract4(a: Flat, b: Flat): Flat {
  // Most subtractions take nothing away (a rule's ranges outside what remains): `a` itself, unless it changes.
  let out: number[] | undefined;
  const nb = b.length >> 1;
  let j = 0;
  for (let i = 0; i < a.length; i += 2) {
    const rlo = a[i];
    const rhi = a[i + 1];
    j = firstEnding4(b, rlo, j);
    if (j >= nb) {
      // Nothing left to take away: the rest of `a` is untouched.
      if (!out) return a;
      for (let k = i; k < a.length; k++) out.push(a[k]);
      break;
    }
    if (b[2 * j] > rhi) {
      out?.push(rlo, rhi);
      continue;
    }
    out ??= a.slice(0, i);
    let lo = rlo;
    let done = false;
    for (let k = j; k < nb && b[2 * k] <= rhi; k++) {
      if (b[2 * k] > lo) out.push(lo, b[2 * k] - 1);
      if (b[2 * k + 1] >= rhi) {
        done = true;
        break;
      }
      lo = b[2 * k + 1] + 1;
    }
    if (!done) out.push(lo, rhi);
  }
  return out ?? a;
}

function equal4(a: Flat, b: Flat): boolean {
  if (a === b) return true;
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

// --- IPv6, bigint pairs

function normalize6(ranges: Range[]): Range[] {
  if (ranges.length <= 1) return ranges;
  const sorted = [...ranges].sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
  const out: [bigint, bigint][] = [];
  for (const [lo, hi] of sorted) {
    const last = out[out.length - 1];
    if (last && lo <= last[1] + 1n) {
      if (hi > last[1]) last[1] = hi;
    } else out.push([lo, hi]);
  }
  return out;
}

/** The first index >= from whose range ends at or after v. */
function firstEnding6(r: readonly Range[], v: bigint, from: number): number {
  let lo = from;
  let hi = r.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (r[mid][1] < v) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

function union6(a: readonly Range[], b: readonly Range[]): readonly Range[] {
  if (a.length === 0) return b;
  if (b.length === 0) return a;
  const out: Range[] = [];
  let i = 0;
  let j = 0;
  const next = () => (j >= b.length || (i < a.length && a[i][0] <= b[j][0]) ? a[i++] : b[j++]);
  // The range being grown, and the input pair it still equals (reused when nothing merged into it).
  let pair: Range | undefined = next();
  let lo = pair[0];
  let hi = pair[1];
  while (i < a.length || j < b.length) {
    const r = next();
    if (r[0] <= hi + 1n) {
      if (r[1] > hi) {
        hi = r[1];
        pair = r[0] === lo ? r : undefined;
      }
      continue;
    }
    out.push(pair ?? [lo, hi]);
    pair = r;
    lo = r[0];
    hi = r[1];
  }
  out.push(pair ?? [lo, hi]);
  const same = orInput6(out, a);
  return same === a ? a : orInput6(out, b);
}

function overlap6(x: readonly Range[], y: readonly Range[]): boolean {
  const a = x.length <= y.length ? x : y;
  const b = a === x ? y : x;
  let j = 0;
  for (const r of a) {
    j = firstEnding6(b, r[0], j);
    if (j >= b.length) return false;
    if (b[j][0] <= r[1]) return true;
  }
  return false;
}

/** `out`, or `a` itself when out holds the same ranges (then the caller keeps a's identity). */
function orInput6(out: Range[], a: readonly Range[]): readonly Range[] {
  if (out.length !== a.length) return out;
  for (let k = 0; k < out.length; k++) if (out[k] !== a[k] && (out[k][0] !== a[k][0] || out[k][1] !== a[k][1])) return out;
  return a;
}

function intersect6(x: readonly Range[], y: readonly Range[]): readonly Range[] {
  const a = x.length <= y.length ? x : y;
  const b = a === x ? y : x;
  const out: Range[] = [];
  let j = 0;
  for (const r of a) {
    j = firstEnding6(b, r[0], j);
    if (j >= b.length) break;
    for (let k = j; k < b.length && b[k][0] <= r[1]; k++) {
      const s = b[k];
      const lo = r[0] > s[0] ? r[0] : s[0];
      const hi = r[1] < s[1] ? r[1] : s[1];
      out.push(lo === s[0] && hi === s[1] ? s : lo === r[0] && hi === r[1] ? r : [lo, hi]);
    }
  }
  const same = orInput6(out, a);
  return same === a ? a : orInput6(out, b);
}

function subtract6(a: readonly Range[], b: readonly Range[]): readonly Range[] {
  const out: Range[] = [];
  let j = 0;
  for (let i = 0; i < a.length; i++) {
    const r = a[i];
    j = firstEnding6(b, r[0], j);
    if (j >= b.length) {
      for (; i < a.length; i++) out.push(a[i]);
      break;
    }
    if (b[j][0] > r[1]) {
      out.push(r);
      continue;
    }
    let lo = r[0];
    let done = false;
    for (let k = j; k < b.length && b[k][0] <= r[1]; k++) {
      if (b[k][0] > lo) out.push([lo, b[k][0] - 1n]);
      if (b[k][1] >= r[1]) {
        done = true;
        break;
      }
      lo = b[k][1] + 1n;
    }
    if (!done) out.push([lo, r[1]]);
  }
  return orInput6(out, a);
}

function equal6(a: readonly Range[], b: readonly Range[]): boolean {
  return a === b || (a.length === b.length && a.every((r, i) => r[0] === b[i][0] && r[1] === b[i][1]));
}

// ---------------------------------------------------------------------------------------------------------

const NONE4: Flat = [];
const NONE6: readonly Range[] = [];

/** An immutable set of IPv4 and IPv6 addresses. */
export class AddressSet {
  static readonly EMPTY = new AddressSet([], []);
  static readonly ALL = new AddressSet([0, MAX4], [[0n, MAX6]]);

  // Derived values, kept with the (immutable) set.
  private only4?: AddressSet;
  private only6?: AddressSet;
  private pairs4?: readonly Range[];
  private hashValue?: number;

  private constructor(
    private readonly v4: Flat,
    private readonly v6: readonly Range[],
  ) {}

  static of(cidrs: Iterable<string>): AddressSet {
    const v4: [number, number][] = [];
    const v6: Range[] = [];
    for (const c of cidrs) {
      const r = parseRange(c);
      if (r.family === 4) v4.push([r.lo, r.hi]);
      else v6.push(r.range);
    }
    return new AddressSet(normalize4(v4), normalize6(v6));
  }

  static family(f: Family): AddressSet {
    return f === 4 ? new AddressSet([0, MAX4], []) : new AddressSet([], [[0n, MAX6]]);
  }

  get isEmpty(): boolean {
    return this.v4.length === 0 && this.v6.length === 0;
  }

  /** The ranges of one family as [lo, hi] pairs. */
  ranges(f: Family): readonly Range[] {
    if (f === 6) return this.v6;
    if (!this.pairs4) {
      const out: Range[] = [];
      for (let i = 0; i < this.v4.length; i += 2) out.push([BigInt(this.v4[i]), BigInt(this.v4[i + 1])]);
      this.pairs4 = out;
    }
    return this.pairs4;
  }

  only(f: Family): AddressSet {
    // Cached: the engine asks each source for its families once per instance.
    if (f === 4) return (this.only4 ??= this.v6.length === 0 ? this : this.v4.length === 0 ? AddressSet.EMPTY : new AddressSet(this.v4, []));
    return (this.only6 ??= this.v4.length === 0 ? this : this.v6.length === 0 ? AddressSet.EMPTY : new AddressSet([], this.v6));
  }

  union(o: AddressSet): AddressSet {
    if (o.isEmpty || o === this) return this;
    if (this.isEmpty) return o;
    return this.made(union4(this.v4, o.v4), union6(this.v6, o.v6), o);
  }

  /**
   * The set of these lists: this set or `o` when the lists are theirs (an operation that changed nothing gives
   * back its input, which keeps the memos' identities and allocates nothing), else a new one.
   */
  private made(v4: Flat, v6: readonly Range[], o: AddressSet): AddressSet {
    if (v4.length === 0 && v6.length === 0) return AddressSet.EMPTY;
    if (equal4(v4, this.v4) && equal6(v6, this.v6)) return this;
    if (equal4(v4, o.v4) && equal6(v6, o.v6)) return o;
    return new AddressSet(v4, v6);
  }

  /** Whether the two sets share an address (cheaper than intersect(o).isEmpty: builds nothing). */
  overlaps(o: AddressSet): boolean {
    return (this.v4.length > 0 && o.v4.length > 0 && overlap4(this.v4, o.v4)) || (this.v6.length > 0 && o.v6.length > 0 && overlap6(this.v6, o.v6));
  }

  intersect(o: AddressSet): AddressSet {
    if (this.isEmpty || o.isEmpty) return AddressSet.EMPTY;
    if (o === this) return this;
    const v4 = this.v4.length && o.v4.length ? intersect4(this.v4, o.v4) : NONE4;
    const v6 = this.v6.length && o.v6.length ? intersect6(this.v6, o.v6) : NONE6;
    return this.made(v4, v6, o);
  }

  subtract(o: AddressSet): AddressSet {
    if (this.isEmpty || o.isEmpty) return this;
    if (o === this) return AddressSet.EMPTY;
    const v4 = this.v4.length && o.v4.length ? subtract4(this.v4, o.v4) : this.v4;
    const v6 = this.v6.length && o.v6.length ? subtract6(this.v6, o.v6) : this.v6;
    return this.made(v4, v6, this);
  }

  equals(o: AddressSet): boolean {
    return o === this || (equal4(this.v4, o.v4) && equal6(this.v6, o.v6));
  }

  covers(o: AddressSet): boolean {
    return o === this || o.subtract(this).isEmpty;
  }

  /** Number of addresses in one family. */
  size(f: Family): bigint {
    if (f === 4) {
      let n = 0;
      for (let i = 0; i < this.v4.length; i += 2) n += this.v4[i + 1] - this.v4[i] + 1;
      return BigInt(n);
    }
    let n = 0n;
    for (const [lo, hi] of this.v6) n += hi - lo + 1n;
    return n;
  }

  contains(address: string): boolean {
    const r = parseRange(address);
    if (r.family === 4) {
      const k = firstEnding4(this.v4, r.hi, 0);
      return k < this.v4.length >> 1 && this.v4[2 * k] <= r.lo;
    }
    return this.v6.some(([lo, hi]) => lo <= r.range[0] && r.range[1] <= hi);
  }

  /** Whether one IPv4 address (ipv4Value) is in the set. */
  hasIPv4(v: number): boolean {
    const k = firstEnding4(this.v4, v, 0);
    return k < this.v4.length >> 1 && this.v4[2 * k] <= v;
  }

  /** Whether one address (parsed by parseAddress) is in the set. */
  has(family: Family, value: bigint): boolean {
    if (family === 4) {
      const v = Number(value);
      const k = firstEnding4(this.v4, v, 0);
      return k < this.v4.length >> 1 && this.v4[2 * k] <= v;
    }
    const k = firstEnding6(this.v6, value, 0);
    return k < this.v6.length && this.v6[k][0] <= value;
  }

  /** A hash of the content (equal sets, equal hashes), for memos keyed by what a set holds. */
  hash(): number {
    if (this.hashValue !== undefined) return this.hashValue;
    let h = 0x811c9dc5;
    const mix = (x: number) => (h = Math.imul(h ^ (x | 0), 0x01000193) ^ Math.floor(x / 4294967296));
    for (let i = 0; i < this.v4.length; i++) mix(this.v4[i]);
    mix(-1);
    // IPv6 values as doubles: imprecise, which a hash may be.
    for (let i = 0; i < this.v6.length; i++) {
      mix(Number(this.v6[i][0]) / 2 ** 75);
      mix(Number(this.v6[i][1]) / 2 ** 75);
    }
    return (this.hashValue = h >>> 0);
  }

  /** The fewest CIDR blocks that cover exactly this set, IPv4 first. */
  toCidrs(): string[] {
    return this.cidrs(Infinity).cidrs;
  }

  /** toCidrs' first `limit` blocks, and how many there are in all (counting is cheaper than writing). */
  cidrs(limit: number): { cidrs: string[]; total: number } {
    const cidrs: string[] = [];
    let total = 0;
    for (let i = 0; i < this.v4.length; i += 2) total += blocks4(this.v4[i], this.v4[i + 1], limit, cidrs);
    for (const [lo, hi] of this.v6) total += blocks6(lo, hi, limit, cidrs);
    return { cidrs, total };
  }

  /**
   * The fewest CIDR blocks that, intersected with `context`, give exactly this set (which lies inside it).
   * Addresses outside the context do not matter, so a block may cover them: "0.0.0.0/0" reads better than
   * the 160 blocks of the public IPv4 space when the context is `internet`.
   */
  toCidrsWithin(context: AddressSet): string[] {
    return this.cidrsWithin(context, Infinity).cidrs;
  }

  /** toCidrsWithin's first `limit` blocks, and how many there are in all. */
  cidrsWithin(context: AddressSet, limit: number): { cidrs: string[]; total: number } {
    const outside = complementOf(context);
    const cidrs: string[] = [];
    const total = blocksWithin4(this.v4, outside.v4, limit, cidrs) + blocksWithin6(this.v6, outside.v6, limit, cidrs);
    return { cidrs, total };
  }

  toString(): string {
    return this.toCidrs().join(', ');
  }
}

// The complement of a context, per context object (the engine formats thousands of sets within the same few).
const complements = new WeakMap<AddressSet, AddressSet>();
function complementOf(context: AddressSet): AddressSet {
  let c = complements.get(context);
  if (!c) complements.set(context, (c = AddressSet.ALL.subtract(context)));
  return c;
}

// ---------------------------------------------------------------------------------------------------------
// Writing sets as CIDRs. A set carved by hundreds of rules (the internet minus every range an earlier rule
// decided) makes thousands of blocks, and reasons show only the first few with a count of the rest: blocks
// are written while there is room and otherwise only counted.

const formatIPv4 = (v: number) => `${Math.floor(v / 16777216)}.${Math.floor(v / 65536) % 256}.${Math.floor(v / 256) % 256}.${v % 256}`;

// IPv4 blocks as text, one string per block: sets carved by the same rules share most of their blocks, and
// results then share the strings. Bounded, for long-lived processes.
const blockText = new Map<number, string>();
function cidr4(lo: number, hostBits: number): string {
  const key = lo * 64 + hostBits;
  let t = blockText.get(key);
  if (t === undefined) {
    if (blockText.size >= 1_000_000) blockText.clear();
    blockText.set(key, (t = `${formatIPv4(lo)}/${32 - hostBits}`));
  }
  return t;
}

function formatIPv6(value: bigint): string {
  const parts: number[] = [];
  for (let s = 112n; s >= 0n; s -= 16n) parts.push(Number((value >> s) & 0xffffn));
  return ipaddr.fromByteArray(parts.flatMap((p) => [p >> 8, p & 255])).toString();
}

const bitLength = (v: bigint) => v.toString(2).length;

/** Host bits of the largest aligned IPv4 block that starts at lo and ends at or before hi. */
function blockBits4(lo: number, hi: number): number {
  const left = hi - lo + 1;
  // The lowest set bit of lo (its alignment), capped by the highest bit of what is left.
  return Math.min(lo === 0 ? 32 : 31 - Math.clz32(lo & -lo), left >= 0x100000000 ? 32 : 31 - Math.clz32(left));
}

function blockBits6(lo: bigint, hi: bigint): number {
  return Math.min(lo === 0n ? 128 : bitLength(lo & -lo) - 1, bitLength(hi - lo + 1n) - 1);
}

function popcount32(v: number): number {
  v = v - ((v >>> 1) & 0x55555555);
  v = (v & 0x33333333) + ((v >>> 2) & 0x33333333);
  return (((v + (v >>> 4)) & 0x0f0f0f0f) * 0x01010101) >>> 24;
}

/**
 * How many blocks the greedy split of IPv4 [x, y) makes, without making them. Unless [x, y) is one aligned
 * block, it splits at M, the aligned point where x and y-1 first differ: blocks climb from x to M by the
 * set bits of M - x, then descend from M to y by the set bits of y - M.
 */
function countBlocks4(x: number, y: number): number {
  const len = y - x;
  if (POW2[Math.round(Math.log2(len))] === len && x % len === 0) return 1;
  const top = 31 - Math.clz32((x ^ (y - 1)) >>> 0);
  const m = Math.floor((y - 1) / POW2[top]) * POW2[top];
  return popcount32(m - x) + popcount32(y - m);
}

/** The blocks of IPv4 [lo, hi]: written into `out` while it holds fewer than `limit`; returns how many in all. */
function blocks4(lo: number, hi: number, limit: number, out: string[]): number {
  let n = 0;
  for (; lo <= hi && out.length < limit; n++) {
    const bits = blockBits4(lo, hi);
    out.push(cidr4(lo, bits));
    lo += POW2[bits];
  }
  return lo <= hi ? n + countBlocks4(lo, hi + 1) : n;
}

function blocks6(lo: bigint, hi: bigint, limit: number, out: string[]): number {
  let n = 0;
  for (; lo <= hi; n++) {
    const bits = blockBits6(lo, hi);
    if (out.length < limit) out.push(`${formatIPv6(lo)}/${128 - bits}`);
    lo += 1n << BigInt(bits);
  }
  return n;
}

// The blocks of `mine` read within a context, given the context's complement `outside` (disjoint from mine):
// the blocks of mine U outside that hold some address of mine. Walks the union range by range without
// building it; a range that is one range of mine alone is split (and counted) as it is, a range merged with
// outside parts is split block by block, keeping the blocks that touch mine. Outside ranges are never
// adjacent to each other, nor mine to mine: a union range alternates between them.

function blocksWithin4(mine: Flat, outside: Flat, limit: number, out: string[]): number {
  let n = 0;
  let i = 0;
  let j = 0;
  const no = outside.length >> 1;
  while (i < mine.length) {
    const first = i;
    let lo = mine[i];
    let hi = mine[i + 1];
    i += 2;
    let merged = false;
    j = firstEnding4(outside, lo - 1, j);
    if (j < no && outside[2 * j + 1] === lo - 1) {
      lo = outside[2 * j];
      merged = true;
      j++;
    }
    for (;;) {
      if (j < no && outside[2 * j] === hi + 1) {
        hi = outside[2 * j + 1];
        merged = true;
        j++;
      } else if (i < mine.length && mine[i] === hi + 1) {
        hi = mine[i + 1];
        i += 2;
      } else break;
    }
    if (!merged) {
      n += blocks4(lo, hi, limit, out);
      continue;
    }
    // Keep the blocks that touch one of mine[first..i).
    let k = first;
    for (let b = lo; b <= hi; ) {
      const bits = blockBits4(b, hi);
      const end = b + POW2[bits] - 1;
      while (k < i && mine[k + 1] < b) k += 2;
      if (k < i && mine[k] <= end) {
        n++;
        if (out.length < limit) out.push(cidr4(b, bits));
      }
      b = end + 1;
    }
  }
  return n;
}

function blocksWithin6(mine: readonly Range[], outside: readonly Range[], limit: number, out: string[]): number {
  let n = 0;
  let i = 0;
  let j = 0;
  while (i < mine.length) {
    const first = i;
    let lo = mine[i][0];
    let hi = mine[i][1];
    i++;
    let merged = false;
    j = firstEnding6(outside, lo - 1n, j);
    if (j < outside.length && outside[j][1] === lo - 1n) {
      lo = outside[j][0];
      merged = true;
      j++;
    }
    for (;;) {
      if (j < outside.length && outside[j][0] === hi + 1n) {
        hi = outside[j][1];
        merged = true;
        j++;
      } else if (i < mine.length && mine[i][0] === hi + 1n) {
        hi = mine[i][1];
        i++;
      } else break;
    }
    if (!merged) {
      n += blocks6(lo, hi, limit, out);
      continue;
    }
    let k = first;
    for (let b = lo; b <= hi; ) {
      const bits = blockBits6(b, hi);
      const end = b + (1n << BigInt(bits)) - 1n;
      while (k < i && mine[k][1] < b) k++;
      if (k < i && mine[k][0] <= end) {
        n++;
        if (out.length < limit) out.push(`${formatIPv6(b)}/${128 - bits}`);
      }
      b = end + 1n;
    }
  }
  return n;
}
