// The spool (src/cli/spool.ts) gathers writes and reads ahead a block at a time: whatever the order of the reads
// and the size of the pieces (past a block, across blocks, multi-byte UTF-8), each reads back as written.
import { mkdtemp, readdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { TextSpool, type Span } from '../../src/cli/spool.js';

describe('TextSpool', () => {
  it('reads every piece back as written, in order and out of order, and leaves no file', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'rdpcloud-spool-test-'));
    const before = process.env.TMPDIR;
    process.env.TMPDIR = dir;
    let spool: TextSpool;
    try {
      spool = new TextSpool();
    } finally {
      if (before === undefined) delete process.env.TMPDIR;
      else process.env.TMPDIR = before;
    }
    let seed = 3;
    const rand = () => ((seed = (seed * 1103515245 + 12345) >>> 0) / 2 ** 32);
    const sizes = [0, 1, 5, 300, 70_000, (1 << 20) + 17, 3 << 20, 12];
    const written: { span: Span; text: string }[] = [];
    for (let i = 0; i < 400; i++) {
      const n = i < sizes.length ? sizes[i]! : Math.floor(rand() * 20_000);
      // Cut by code points: JSON.stringify never leaves a lone surrogate, which UTF-8 cannot carry.
      const text = `${i}:` + [...'aé名🖥'.repeat(Math.ceil(n / 4))].slice(0, n).join('');
      written.push({ span: spool.write(text), text });
      // Some reads while writing: what is still gathered must be read too.
      if (i % 37 === 0) expect(spool.read(written[Math.floor(rand() * written.length)]!.span)).toBeTypeOf('string');
    }
    for (const w of written) expect(spool.read(w.span)).toBe(w.text);
    // As bytes (what an audit sends on to its file or stdout): the UTF-8 of the text. A small piece is its own
    // copy, still right after later reads (inBlocks gathers them); a large one is a view of the block read,
    // right until the next read (the spool reads into the same memory again: the writers write it first).
    const copies: { bytes: Buffer; text: string }[] = [];
    for (let k = 0; k < 300; k++) {
      const w = written[Math.floor(rand() * written.length)]!;
      expect(spool.read(w.span)).toBe(w.text);
      const bytes = spool.readBytes(w.span);
      expect(bytes.equals(Buffer.from(w.text, 'utf8'))).toBe(true);
      if (bytes.length < 1 << 18) {
        expect(bytes.buffer.byteLength).toBeLessThan(1 << 20); // not a view of a megabyte block
        copies.push({ bytes, text: w.text });
      }
    }
    expect(copies.length).toBeGreaterThan(100);
    for (const v of copies) expect(v.bytes.toString('utf8')).toBe(v.text);
    expect(await readdir(dir)).toEqual([]); // unlinked as soon as it was open
    spool.close();
  });
});
