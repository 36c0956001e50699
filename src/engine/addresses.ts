// Exact set arithmetic over IPv4 and IPv6 address ranges. Verdicts are computed as sets, not by comparing
// CIDR strings, so that 0.0.0.0/1 + 128.0.0.0/1 is the whole IPv4 space and a deny for a sub-range of an
// allow leaves exactly the difference. Parsing is ipaddr.js's; the interval algebra is ours (no library
// offers union/intersection/difference over interval lists in bigint without string round trips).
import ipaddr from 'ipaddr.js';

export type Family = 4 | 6;
/** Inclusive [lo, hi]. */
export type Range = readonly [bigint, bigint];

const MAX: Record<Family, bigint> = { 4: (1n << 32n) - 1n, 6: (1n << 128n) - 1n };
const BITS: Record<Family, number> = { 4: 32, 6: 128 };

export class CidrError extends Error {
  constructor(readonly input: string, reason: string) {
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
  const text = input.trim();
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
  const bits = BITS[family];
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
  return { family, range: [lo, hi] };
}

export function isCidr(input: string): boolean {
  try {
    parseCidr(input);
    return true;
  } catch {
    return false;
  }
}

function normalize(ranges: Range[]): Range[] {
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

function intersectRanges(a: readonly Range[], b: readonly Range[]): Range[] {
  const out: Range[] = [];
  let i = 0;
  let j = 0;
  while (i < a.length && j < b.length) {
    const lo = a[i][0] > b[j][0] ? a[i][0] : b[j][0];
    const hi = a[i][1] < b[j][1] ? a[i][1] : b[j][1];
    if (lo <= hi) out.push([lo, hi]);
    if (a[i][1] < b[j][1]) i++;
    else j++;
  }
  return out;
}

function subtractRanges(a: readonly Range[], b: readonly Range[]): Range[] {
  const out: Range[] = [];
  let j = 0;
  for (const [alo, ahi] of a) {
    let lo = alo;
    while (j < b.length && b[j][1] < lo) j++;
    let k = j;
    let done = false;
    while (k < b.length && b[k][0] <= ahi) {
      if (b[k][0] > lo) out.push([lo, b[k][0] - 1n]);
      if (b[k][1] >= ahi) {
        done = true;
        break;
      }
      lo = b[k][1] + 1n;
      k++;
    }
    if (!done) out.push([lo, ahi]);
  }
  return out;
}

/** An immutable set of IPv4 and IPv6 addresses. */
export class AddressSet {
  static readonly EMPTY = new AddressSet([], []);
  static readonly ALL = new AddressSet([[0n, MAX[4]]], [[0n, MAX[6]]]);

  private constructor(
    readonly v4: readonly Range[],
    readonly v6: readonly Range[],
  ) {}

  static of(cidrs: Iterable<string>): AddressSet {
    const v4: Range[] = [];
    const v6: Range[] = [];
    for (const c of cidrs) {
      const { family, range } = parseCidr(c);
      (family === 4 ? v4 : v6).push(range);
    }
    return new AddressSet(normalize(v4), normalize(v6));
  }

  static family(f: Family): AddressSet {
    return f === 4 ? new AddressSet([[0n, MAX[4]]], []) : new AddressSet([], [[0n, MAX[6]]]);
  }

  get isEmpty(): boolean {
    return this.v4.length === 0 && this.v6.length === 0;
  }

  ranges(f: Family): readonly Range[] {
    return f === 4 ? this.v4 : this.v6;
  }

  only(f: Family): AddressSet {
    return f === 4 ? new AddressSet(this.v4, []) : new AddressSet([], this.v6);
  }

  union(o: AddressSet): AddressSet {
    if (o.isEmpty) return this;
    if (this.isEmpty) return o;
    return new AddressSet(normalize([...this.v4, ...o.v4]), normalize([...this.v6, ...o.v6]));
  }

  intersect(o: AddressSet): AddressSet {
    if (this.isEmpty || o.isEmpty) return AddressSet.EMPTY;
    return new AddressSet(intersectRanges(this.v4, o.v4), intersectRanges(this.v6, o.v6));
  }

  subtract(o: AddressSet): AddressSet {
    if (this.isEmpty || o.isEmpty) return this;
    return new AddressSet(subtractRanges(this.v4, o.v4), subtractRanges(this.v6, o.v6));
  }

  equals(o: AddressSet): boolean {
    const eq = (a: readonly Range[], b: readonly Range[]) =>
      a.length === b.length && a.every((r, i) => r[0] === b[i][0] && r[1] === b[i][1]);
    return eq(this.v4, o.v4) && eq(this.v6, o.v6);
  }

  covers(o: AddressSet): boolean {
    return o.subtract(this).isEmpty;
  }

  /** Number of addresses in one family. */
  size(f: Family): bigint {
    let n = 0n;
    for (const [lo, hi] of this.ranges(f)) n += hi - lo + 1n;
    return n;
  }

  contains(address: string): boolean {
    const { family, range } = parseCidr(address);
    return this.ranges(family).some(([lo, hi]) => lo <= range[0] && range[1] <= hi);
  }

  /** The fewest CIDR blocks that cover exactly this set, IPv4 first. */
  toCidrs(): string[] {
    return [...rangesToCidrs(this.v4, 4), ...rangesToCidrs(this.v6, 6)];
  }

  /**
   * The fewest CIDR blocks that, intersected with `context`, give exactly this set (which lies inside it).
   * Addresses outside the context do not matter, so a block may cover them: "0.0.0.0/0" reads better than
   * the 160 blocks of the public IPv4 space when the context is `internet`.
   */
  toCidrsWithin(context: AddressSet): string[] {
    const loose = this.union(AddressSet.ALL.subtract(context));
    return loose.toCidrs().filter((c) => !AddressSet.of([c]).intersect(this).isEmpty);
  }

  toString(): string {
    return this.toCidrs().join(', ');
  }
}

function formatAddress(value: bigint, f: Family): string {
  if (f === 4) {
    return [24n, 16n, 8n, 0n].map((s) => String((value >> s) & 255n)).join('.');
  }
  const parts: number[] = [];
  for (let s = 112n; s >= 0n; s -= 16n) parts.push(Number((value >> s) & 0xffffn));
  return ipaddr.fromByteArray(parts.flatMap((p) => [p >> 8, p & 255])).toString();
}

function rangesToCidrs(ranges: readonly Range[], f: Family): string[] {
  const out: string[] = [];
  const bits = BigInt(BITS[f]);
  for (const [rlo, hi] of ranges) {
    let lo = rlo;
    while (lo <= hi) {
      // Largest aligned block starting at lo that fits in [lo, hi].
      let size = lo === 0n ? bits : 0n;
      if (lo !== 0n) while (size < bits && ((lo >> size) & 1n) === 0n) size++;
      while (size > 0n && lo + (1n << size) - 1n > hi) size--;
      out.push(`${formatAddress(lo, f)}/${bits - size}`);
      lo += 1n << size;
    }
  }
  return out;
}
