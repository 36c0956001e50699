/**
 * The console screen buffer of a SAC cmd channel: 80x24, NO scrollback, and a renderer that sends it the way
 * SAC's VT-UTF8 channel does: by redrawing changed rows with cursor positioning (`ESC[r;cH`), erase-to-end-of-line
 * (`ESC[K`) and full clears (`ESC[2J`).
 *
 * sacsess.exe samples the console buffer and sends what changed since the last sample, so a line that scrolls off
 * the top between two samples is never sent at all: `flush()` is that sample. A client must bracket its commands
 * with markers, keep output short, and/or read the stream through a terminal emulator.
 */

export const COLS = 80;
export const ROWS = 24;

const CSI = '\x1b[';

export class ConsoleScreen {
  private rows: string[] = Array.from({ length: ROWS }, () => '');
  private r = 0;
  private c = 0;
  /** What the terminal was last sent (null: unknown, next flush redraws everything). */
  private sent: string[] | null = null;
  private sentCursor = '';

  /** Writes text as a console does: CR, LF, BS, TAB; wraps at column 80; scrolls (losing the top row) past row 24. */
  write(text: string): void {
    for (const ch of text) {
      if (ch === '\r') this.c = 0;
      else if (ch === '\n') this.lineFeed();
      else if (ch === '\b') this.c = Math.max(0, this.c - 1);
      else if (ch === '\t') {
        const n = 8 - (this.c % 8);
        this.put(' '.repeat(n));
      } else if (ch === '\x07' || ch < ' ') continue;
      else this.put(ch);
    }
  }

  private put(s: string): void {
    for (const ch of s) {
      const row = this.rows[this.r].padEnd(this.c, ' ');
      this.rows[this.r] = row.slice(0, this.c) + ch + row.slice(this.c + 1);
      this.c++;
      if (this.c >= COLS) {
        // the Windows console wraps at once (the cursor moves to the next row)
        this.c = 0;
        this.lineFeed();
      }
    }
  }

  private lineFeed(): void {
    if (this.r < ROWS - 1) this.r++;
    else {
      this.rows.shift();
      this.rows.push('');
    }
  }

  /** Erases `n` characters before the cursor on the current row (console backspace). */
  backspace(n = 1): void {
    for (let i = 0; i < n; i++) {
      if (this.c === 0) {
        if (this.r === 0) return;
        this.r--;
        this.c = COLS - 1;
      } else this.c--;
      const row = this.rows[this.r].padEnd(COLS, ' ');
      this.rows[this.r] = (row.slice(0, this.c) + ' ' + row.slice(this.c + 1)).trimEnd();
    }
  }

  clear(): void {
    this.rows = Array.from({ length: ROWS }, () => '');
    this.r = 0;
    this.c = 0;
  }

  /** The 24 rows as text (trailing blanks trimmed). */
  text(): string[] {
    return this.rows.map((r) => r.trimEnd());
  }

  cursor(): { row: number; col: number } {
    return { row: this.r, col: this.c };
  }

  /** Forget what the terminal shows: the next flush clears it and redraws every row. */
  invalidate(): void {
    this.sent = null;
  }

  /** The bytes that bring the terminal up to date with the buffer (empty if nothing changed). */
  flush(): string {
    const cur = this.text();
    let out = '';
    if (this.sent === null) {
      out += `${CSI}0m${CSI}2J${CSI}H`;
      cur.forEach((row, i) => {
        if (row !== '') out += `${CSI}${i + 1};1H${row}`;
      });
    } else {
      cur.forEach((row, i) => {
        // no ESC[K after a full 80-column row: at the pending-wrap position it would erase the last character
        if (row !== this.sent![i]) out += `${CSI}${i + 1};1H${row}${row.length >= COLS ? '' : `${CSI}K`}`;
      });
    }
    const cursor = `${CSI}${this.r + 1};${this.c + 1}H`;
    if (out !== '' || cursor !== this.sentCursor) out += cursor;
    this.sent = cur;
    this.sentCursor = cursor;
    return out;
  }
}
