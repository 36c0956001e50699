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

export class TextSpool {
  private readonly dir = mkdtempSync(join(tmpdir(), 'rdpcloud-audit-'));
  private readonly fd = openSync(join(this.dir, 'spool.json'), 'w+', 0o600);
  private readonly unlinked = removed(this.dir);
  private end = 0;
  private closed = false;

  write(text: string): Span {
    const buf = Buffer.from(text, 'utf8');
    writeSync(this.fd, buf, 0, buf.length, this.end);
    const span = { at: this.end, bytes: buf.length };
    this.end += buf.length;
    return span;
  }

  read(span: Span): string {
    const buf = Buffer.allocUnsafe(span.bytes);
    let got = 0;
    while (got < span.bytes) got += readSync(this.fd, buf, got, span.bytes - got, span.at + got);
    return buf.toString('utf8');
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
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
