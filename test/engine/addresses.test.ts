// Set arithmetic over address ranges: the ground the verdicts stand on.
import { existsSync, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { AddressSet, parseCidr } from '../../src/engine/addresses.js';
import { INTERNET, IAP, resolveSource } from '../../src/engine/sources.js';
import { SPECIAL_PURPOSE } from '../../src/engine/special-ranges.js';

const S = (...c: string[]) => AddressSet.of(c);

describe('AddressSet', () => {
  it.each([
    { name: 'two halves make the whole IPv4 space', a: ['0.0.0.0/1', '128.0.0.0/1'], op: 'union', b: [], expect: ['0.0.0.0/0'] },
    { name: 'adjacent blocks merge', a: ['10.0.0.0/25'], op: 'union', b: ['10.0.0.128/25'], expect: ['10.0.0.0/24'] },
    { name: 'a hole in the middle', a: ['10.0.0.0/24'], op: 'subtract', b: ['10.0.0.128/26'], expect: ['10.0.0.0/25', '10.0.0.192/26'] },
    { name: 'intersection of overlapping blocks', a: ['10.0.0.0/8'], op: 'intersect', b: ['10.1.0.0/16', '11.0.0.0/8'], expect: ['10.1.0.0/16'] },
    { name: 'IPv6 subtract', a: ['::/0'], op: 'subtract', b: ['8000::/1'], expect: ['::/1'] },
    { name: 'families never mix', a: ['0.0.0.0/0'], op: 'intersect', b: ['::/0'], expect: [] },
    { name: 'host bits are masked as the clouds do', a: ['10.1.2.3/8'], op: 'union', b: [], expect: ['10.0.0.0/8'] },
    { name: 'a bare address is a /32', a: ['34.1.2.3'], op: 'union', b: [], expect: ['34.1.2.3/32'] },
  ])('$name', ({ a, op, b, expect: want }) => {
    const x = S(...a);
    const y = S(...b);
    const out = op === 'union' ? x.union(y) : op === 'subtract' ? x.subtract(y) : x.intersect(y);
    expect(out.toCidrs()).toEqual(want);
  });

  it('rejects malformed input', () => {
    for (const bad of ['10.0.0/8', '10.0.0.0/33', '1.2.3.4.5', 'fe80::/129', 'banana', '10.0.0.0/-1', '']) expect(() => parseCidr(bad), bad).toThrow();
  });

  it('sizes and containment', () => {
    expect(S('10.0.0.0/16').size(4)).toBe(65536n);
    expect(S('2001:db8::/48').size(6)).toBe(1n << 80n);
    expect(S('10.0.0.0/8').contains('10.9.9.9')).toBe(true);
    expect(S('10.0.0.0/8').contains('11.0.0.0')).toBe(false);
  });

  // Against a model that holds every address: random blocks in 10.0.0.0/24 and 2001:db8::/120 (256 addresses
  // each), and chains of operations on their results. An operation whose result is one of its inputs gives
  // back that very object (the engine's memos key sets by identity).
  it('union, intersect and subtract agree with address-by-address sets; a result equal to an input is that input', () => {
    let seed = 7;
    const rand = (n: number) => ((seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) >>> 8) % n;
    const block = (): string => {
      const len = 24 + rand(9); // /24 .. /32 within the window
      const size = 2 ** (32 - len);
      const at = rand(256 / size) * size;
      return rand(3) === 0 ? `2001:db8::${at.toString(16)}/${len + 96}` : `10.0.0.${at}/${len}`;
    };
    const members = (x: AddressSet): Set<string> => {
      const out = new Set<string>();
      for (let v = 0; v < 256; v++) {
        if (x.contains(`10.0.0.${v}`)) out.add(`4:${v}`);
        if (x.contains(`2001:db8::${v.toString(16)}`)) out.add(`6:${v}`);
      }
      return out;
    };
    const pool: { set: AddressSet; has: Set<string> }[] = [{ set: AddressSet.EMPTY, has: new Set() }];
    for (let n = 0; n < 40; n++) {
      const set = S(...Array.from({ length: rand(5) }, block));
      pool.push({ set, has: members(set) });
    }
    const ops = ['union', 'intersect', 'subtract'] as const;
    for (let n = 0; n < 3000; n++) {
      const a = pool[rand(pool.length)];
      const b = pool[rand(pool.length)];
      const op = ops[rand(3)];
      const got = a.set[op](b.set);
      const want = new Set([...a.has, ...b.has].filter((m) => (op === 'union' ? a.has.has(m) || b.has.has(m) : op === 'intersect' ? a.has.has(m) && b.has.has(m) : a.has.has(m) && !b.has.has(m))));
      const has = members(got);
      expect([...has].sort(), `${a.set.toCidrs()} ${op} ${b.set.toCidrs()}`).toEqual([...want].sort());
      if (has.size === a.has.size && [...has].every((m) => a.has.has(m))) expect(got === a.set || has.size === 0, `${op} kept ${a.set.toCidrs()}`).toBe(true);
      else if (op !== 'subtract' && has.size === b.has.size && [...has].every((m) => b.has.has(m))) expect(got === b.set || has.size === 0, `${op} kept ${b.set.toCidrs()}`).toBe(true);
      expect(got.equals(S(...got.toCidrs()))).toBe(true); // normalized: the same lists as one built from its CIDRs
      if (pool.length < 400) pool.push({ set: got, has });
    }
  });
});

describe('sources', () => {
  it('internet excludes the special-purpose ranges and keeps their public exceptions', () => {
    for (const c of ['10.0.0.0/8', '192.168.1.0/24', '100.64.0.0/10', '127.0.0.1', '169.254.169.254', 'fc00::/7', 'fe80::1', '2001:db8::1', '224.0.0.1']) {
      expect(INTERNET.intersect(S(c)).isEmpty, c).toBe(true);
    }
    for (const c of ['8.8.8.8', '34.1.2.3', '35.235.240.1', '2600:1900::1', '192.0.0.9', '2001:4:112::1']) expect(INTERNET.contains(c), c).toBe(true);
  });

  it('iap names 35.235.240.0/20 and reaches the internal address', () => {
    const s = resolveSource('iap');
    expect(s.internal.equals(IAP)).toBe(true);
    expect(s.external.isEmpty).toBe(true);
    expect(IAP.toCidrs()).toEqual(['35.235.240.0/20']);
  });

  it('a CIDR splits into the private part (internal) and the rest (external)', () => {
    const s = resolveSource('10.0.0.0/7');
    expect(s.internal.toCidrs()).toEqual(['10.0.0.0/8']);
    expect(s.external.toCidrs()).toEqual(['11.0.0.0/8']);
  });

  it('named source sets resolve through rdpcloud.yaml entries, and refuse cycles', () => {
    const s = resolveSource('corp', { corp: ['10.0.0.0/8', 'vpn'], vpn: ['34.99.0.0/16'] });
    expect(s.all.toCidrs()).toEqual(['10.0.0.0/8', '34.99.0.0/16']);
    expect(() => resolveSource('a', { a: ['b'], b: ['a'] })).toThrow(/refers to itself/);
  });

  it('the bundled copy of the special-purpose ranges equals shared/data', () => {
    const shared = new URL('../../../shared/data/special-purpose-ranges.json', import.meta.url);
    if (!existsSync(shared)) return; // a checkout without shared/ beside it: nothing to compare with
    const d = JSON.parse(readFileSync(shared, 'utf8'));
    expect(SPECIAL_PURPOSE.notPublic).toEqual(d.notPublic);
    expect(SPECIAL_PURPOSE.publicExceptions).toEqual(d.publicExceptions);
    expect(SPECIAL_PURPOSE.iap).toEqual(d.iap);
    expect(SPECIAL_PURPOSE.privateReachesInternal).toEqual(d.privateReachesInternal);
  });
});
