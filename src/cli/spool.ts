// A temporary file of JSON text, written piece by piece and read back by range: how a large audit or merge keeps
// the arrays only its JSON output reads out of memory. The file (mode 0600) is unlinked as soon as it is open,
// so only the descriptor reaches it and nothing is left behind however the run ends; where the system refuses
// that (Windows), close() removes it.
import { closeSync, mkdtempSync, openSync, readSync, rmSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** Where a piece of text is in the spool. */
export interface Span {
  at: number;
  bytes: number;
}

/** Writes are gathered and reads served from a block read ahead: a merge writes and reads back ~500,000 small pieces. */
const BLOCK = 1 << 20;

export class TextSpool {
  private readonly dir = mkdtempSync(join(tmpdir(), 'rdpcloud-audit-'));
  private readonly fd = openSync(join(this.dir, 'spool.json'), 'w+', 0o600);
  private readonly unlinked = removed(this.dir);
  /** Bytes given to write(), and of those, bytes in the file. */
  private end = 0;
  private flushed = 0;
  private pending: string[] = [];
  /** The block last read, and where it starts in the file. */
  private cache = Buffer.alloc(0);
  private cacheAt = 0;
  /**
   * The memory blocks are read into and written from, reused: a fresh megabyte per block is memory outside the
   * heap that V8 answers with full collections ("external memory pressure"), ~30 of them while a
   * 100,000-instance report (250 MB) was copied out, half of its report phase.
   */
  private readScratch = Buffer.alloc(0);
  private writeScratch = Buffer.alloc(0);
  private closed = false;

  write(text: string): Span {
    const span = { at: this.end, bytes: Buffer.byteLength(text, 'utf8') };
    this.end += span.bytes;
    this.pending.push(text);
    if (this.end - this.flushed >= BLOCK) this.flush();
    return span;
  }

  read(span: Span): string {
    const { block, from } = this.around(span);
    return block.toString('utf8', from, from + span.bytes);
  }

  /**
   * The bytes of a piece, as written. A large piece is a view of the block read ahead, valid until the next
   * read of another block (the spool reuses that memory): write it out, or copy it, before asking for the next
   * piece, as the report's writers do (a Piece's contract, reporters/json.ts). A small one is a copy, so that
   * small pieces gathered from all over the file (one per scope) can be kept together.
   */
  readBytes(span: Span): Buffer {
    const { block, from } = this.around(span);
    const view = block.subarray(from, from + span.bytes);
    return span.bytes >= BLOCK >> 2 ? view : Buffer.from(view);
  }

  /** The block read ahead that holds the span, and where the span starts in it. */
  private around(span: Span): { block: Buffer; from: number } {
    if (span.at + span.bytes > this.flushed) this.flush();
    if (span.at < this.cacheAt || span.at + span.bytes > this.cacheAt + this.cache.length) {
      const size = Math.min(Math.max(BLOCK, span.bytes), this.flushed - span.at);
      if (this.readScratch.length < size) this.readScratch = Buffer.allocUnsafe(Math.max(size, BLOCK));
      const buf = this.readScratch.subarray(0, size);
      let got = 0;
      while (got < size) got += readSync(this.fd, buf, got, size - got, span.at + got);
      this.cache = buf;
      this.cacheAt = span.at;
    }
    return { block: this.cache, from: span.at - this.cacheAt };
  }

  private flush(): void {
    if (!this.pending.length) return;
    // Each piece encoded into one buffer: no joined string (a megabyte of it is a large object of the heap's
    // old generation, and ~35 MiB of them at the 20k EC2 shape, collected by full collections).
    const bytes = this.end - this.flushed;
    if (this.writeScratch.length < bytes) this.writeScratch = Buffer.allocUnsafe(Math.max(bytes, BLOCK + (BLOCK >> 1)));
    const buf = this.writeScratch.subarray(0, bytes);
    let at = 0;
    for (const p of this.pending) at += buf.write(p, at, 'utf8');
    this.pending = [];
    let done = 0;
    while (done < buf.length) done += writeSync(this.fd, buf, done, buf.length - done, this.flushed + done);
    this.flushed += buf.length;
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.pending = [];
    closeSync(this.fd);
    if (!this.unlinked) rmSync(this.dir, { recursive: true, force: true });
  }
}

function removed(dir: string): boolean {
  try {
    rmSync(dir, { recursive: true });
    return true;
  } catch {
    return false;
  }
}
