// Driving Windows' Special Administration Console over the GCE serial port (COM1). The traps it is built around
// (../../../../shared/docs/reference/serial-console-and-rdp-probe.md section 2):
//  - at `SAC>` a line is matched by prefix ("shutdown /r" runs SAC's immediate shutdown), so only the exact SAC
//    commands below are ever typed there;
//  - a cmd channel is an 80x24 VT-UTF8 screen without scrollback: it is read through a headless terminal
//    emulator, and each command is bracketed by markers whose text only the command's output can produce;
//  - the guest agent's log lines interleave on COM1; old output is replayed at connect; idle channels lock.
// Every wait has a timeout. Secrets given to `login` never reach the transcript.
import xterm from '@xterm/headless';

export interface Wire {
  write(data: string): void;
  onData(listener: (data: string) => void): void;
  onClose(listener: () => void): void;
}

export interface SacOptions {
  /** Longest wait for any one answer. */
  timeoutMs: number;
  /** Pause between chunks of typed input: SAC reads COM1 into a small buffer. */
  keyDelayMs?: number;
  /** Every byte sent and received, secrets replaced; for --transcript. */
  transcript?: (direction: 'sent' | 'received', text: string) => void;
}

export type SacErrorKind = 'timeout' | 'closed' | 'silent' | 'cmd-unavailable' | 'login-failed' | 'output-too-long';

export class SacError extends Error {
  constructor(
    readonly kind: SacErrorKind,
    message: string,
  ) {
    super(message);
  }
}

// The guest agent writes whole lines to COM1 ("2026/12/02 10:00:00 GCEGuestAgent: ..."), which land between,
// or inside, SAC's own output.
const AGENT = '(?:\\d{4}/\\d{2}/\\d{2} \\d{2}:\\d{2}:\\d{2} )?(?:GCEGuestAgent|GCEMetadataScripts|OSConfigAgent|GCEWindowsAgent|GCEInstanceSetup)\\b';
const AGENT_LINE = new RegExp(`^\\s*${AGENT}`);
const AGENT_LINES = new RegExp(`${AGENT}[^\\r\\n]*(?:\\r?\\n)?`, 'g');
const CMD_PROMPT = /[A-Z]:\\[^>\r\n]*>\s*$/m;
// eslint-disable-next-line no-control-regex
const ANSI = /\x1b\[[0-9;?]*[ -/]*[@-~]|\x1b[()][0-9A-Za-z]|\x1b[=>78DEHMc]/g;

export class SacDriver {
  private readonly term: InstanceType<typeof xterm.Terminal>;
  /** Everything received, for prompts and EVENT lines that a redraw may move about (matched without escapes). */
  private text = '';
  private closed = false;
  private readonly waiters = new Set<() => void>();
  private seq = 0;
  private secrets: string[] = [];
  /** Kept in memory only, to log in again when an idle channel locks. */
  private credentials?: { user: string; domain: string; password: string };

  constructor(
    private readonly wire: Wire,
    private readonly opts: SacOptions,
  ) {
    this.term = new xterm.Terminal({ cols: 80, rows: 24, scrollback: 0, allowProposedApi: true });
    wire.onData((d) => {
      this.opts.transcript?.('received', this.redact(d));
      // Kept raw: an escape sequence may be split across chunks, so it is taken out when matching.
      this.text += d;
      if (this.text.length > 200_000) this.text = this.text.slice(-100_000);
      this.term.write(d, () => this.wake());
    });
    wire.onClose(() => {
      this.closed = true;
      this.wake();
    });
  }

  private wake(): void {
    for (const w of [...this.waiters]) w();
  }

  private redact(s: string): string {
    let out = s;
    for (const x of this.secrets) if (x) out = out.split(x).join('********');
    return out;
  }

  private async send(data: string, secret = false): Promise<void> {
    if (this.closed) throw new SacError('closed', 'the serial console connection closed');
    this.opts.transcript?.('sent', secret ? '********\r' : this.redact(data));
    const delay = this.opts.keyDelayMs ?? 0;
    if (!delay) return this.wire.write(data);
    for (let i = 0; i < data.length; i += 16) {
      this.wire.write(data.slice(i, i + 16));
      await new Promise((r) => setTimeout(r, delay));
    }
  }

  /** The screen as text, one line per row, agent log lines left out. */
  screen(): string[] {
    const b = this.term.buffer.active;
    const rows: string[] = [];
    for (let i = 0; i < this.term.rows; i++) rows.push(b.getLine(b.viewportY + i)?.translateToString(true) ?? '');
    return rows.filter((l) => !AGENT_LINE.test(l));
  }

  /** Waits until `test` finds something in the text received since `from` (an offset into it). */
  private async until<T>(what: string, test: () => T | undefined, timeoutMs = this.opts.timeoutMs): Promise<T> {
    const found = test();
    if (found !== undefined) return found;
    return new Promise<T>((resolve, reject) => {
      const done = (f: () => void) => {
        clearTimeout(timer);
        this.waiters.delete(check);
        f();
      };
      const check = () => {
        const v = test();
        if (v !== undefined) done(() => resolve(v));
        else if (this.closed) done(() => reject(new SacError('closed', `the serial console connection closed while waiting for ${what}`)));
      };
      const timer = setTimeout(() => done(() => reject(new SacError('timeout', `no ${what} within ${Math.round(timeoutMs / 1000)} s`))), timeoutMs);
      this.waiters.add(check);
    });
  }

  /** Matches the text received since `from`, with the guest agent's COM1 lines taken out (they land anywhere). */
  private match(re: RegExp, from: number): RegExpExecArray | undefined {
    return re.exec(this.text.slice(from).replace(ANSI, '').replace(AGENT_LINES, '')) ?? undefined;
  }

  /** A fresh `SAC>` after our own Enter (replayed history can hold old prompts). */
  async toSacPrompt(): Promise<void> {
    const mark = this.text.length;
    // The console may still show a channel an earlier session left open: ESC TAB 0 returns to the SAC channel
    // from anywhere (at SAC> it shows the next channel's header, and 0 comes back).
    await this.send('\x1b\t0');
    await this.send('\r');
    try {
      await this.until('SAC> prompt', () => this.match(/SAC>\s*$/, mark), this.opts.timeoutMs);
    } catch (e) {
      if (e instanceof SacError && e.kind === 'timeout' && this.text.length === 0) {
        throw new SacError('silent', 'the serial console is silent: Emergency Management Services (EMS) is probably off in the guest; enable it (bcdedit /ems {current} on, bcdedit /emssettings EMSPORT:1 EMSBAUDRATE:115200) and reboot');
      }
      throw e;
    }
  }

  /** `cmd` at SAC>: the new channel's name (Cmd0006 - the number counts for the whole boot). */
  async openCmdChannel(): Promise<string> {
    const mark = this.text.length;
    await this.send('cmd\r');
    const r = await this.until('a new Command Prompt channel', () => {
      const m = this.match(/Channel:\s*(Cmd\d{4})|(Unable to launch a Command Prompt[^\r\n]*)|(maximum number of channels)|(Launching of Command Prompt channels is disabled)/, mark);
      return m ?? undefined;
    });
    if (!r[1]) throw new SacError('cmd-unavailable', `SAC cannot open a Command Prompt: ${r[0].trim()} (the guest may still be booting, or the sacsvr service is stopped)`);
    return r[1];
  }

  /** `ch -sn NAME`, past the switching header, to the channel's login. */
  async switchTo(channel: string): Promise<void> {
    if (!/^Cmd\d{4}$/.test(channel)) throw new Error(`not a channel name: ${channel}`);
    const mark = this.text.length;
    await this.send(`ch -sn ${channel}\r`);
    await this.until('the channel switching header', () => this.match(/Use any other key to view this channel\./, mark));
    await this.send('\r');
  }

  /** Answers Username / Domain / Password; resolves at the cmd prompt. */
  async login(user: string, domain: string, password: string): Promise<void> {
    this.secrets = [password];
    this.credentials = { user, domain, password };
    let mark = this.text.length;
    const onScreen = () => (/Username:\s*$/.test(this.screen().filter((l) => l.trim()).pop() ?? '') ? ([''] as unknown as RegExpExecArray) : undefined);
    await this.until('Username:', () => onScreen() ?? this.match(/Username:\s*$/m, 0) ?? this.match(CMD_PROMPT, mark));
    if (!onScreen() && this.match(CMD_PROMPT, mark) && !this.match(/Username:/, mark)) return; // already logged in
    mark = this.text.length;
    await this.send(`${user}\r`);
    await this.until('Domain  :', () => this.match(/Domain\s*:\s*$/m, mark));
    mark = this.text.length;
    await this.send(`${domain}\r`);
    await this.until('Password:', () => this.match(/Password:\s*$/m, mark));
    mark = this.text.length;
    await this.send(`${password}\r`, true);
    const r = await this.until('the Command Prompt after logging in', () => this.match(CMD_PROMPT, mark) ?? this.match(/(Unable to authenticate|logon failure|user name or password is incorrect)[^\r\n]*/i, mark));
    if (!CMD_PROMPT.test(r[0])) throw new SacError('login-failed', `Windows refused the login for ${domain ? `${domain}\\` : ''}${user}: ${r[0].trim()}`);
  }

  /**
   * Runs one cmd.exe command and returns what it printed and its errorlevel. The markers are echoed with
   * %ERRORLEVEL% so the typed line (which shows the literal %ERRORLEVEL%) never matches them; the END marker is
   * a second line because cmd expands %...% when it reads a line, before running it.
   */
  async run(command: string, timeoutMs = this.opts.timeoutMs): Promise<{ output: string; errorlevel: number; truncated?: boolean }> {
    // An idle cmd channel locks and asks for credentials again: anything typed now would go into Username:.
    const last = this.screen().filter((l) => l.trim()).pop() ?? '';
    if (/Username:\s*$/.test(last) && this.credentials) {
      const { user, domain, password } = this.credentials;
      await this.login(user, domain, password);
    }
    const id = `${process.pid.toString(36)}${(++this.seq).toString(36)}`;
    const begin = new RegExp(`RDPCLOUD-B-${id}-\\d+`);
    const end = new RegExp(`RDPCLOUD-E-${id}-(\\d+)`);
    const mark = this.text.length;
    await this.send(`echo RDPCLOUD-B-${id}-%ERRORLEVEL% & ${command}\r`);
    await this.send(`echo RDPCLOUD-E-${id}-%ERRORLEVEL%\r`);
    const m = await this.until(`the output of "${command.slice(0, 40)}"`, () => this.match(end, mark), timeoutMs);
    // Let the screen settle (the emulator may still be parsing the last chunk), then read it.
    await new Promise<void>((r) => this.term.write('', r));
    const rows = this.screen();
    const b = rows.findIndex((l) => begin.test(l));
    const e = rows.findIndex((l) => end.test(l));
    // The beginning scrolled off the 24 rows: what is left is the end of the output (errorlevel still exact).
    const out = rows
      .slice(b + 1, e < 0 ? undefined : e)
      .filter((l) => !l.includes('RDPCLOUD-'))
      .join('\n')
      .replace(/\s+$/, '');
    return { output: out, errorlevel: Number(m[1]), ...(b < 0 ? { truncated: true } : {}) };
  }

  /** `exit` closes the cmd channel; ESC TAB 0 returns to SAC. */
  async closeChannel(): Promise<void> {
    if (this.closed) return;
    await this.send('exit\r');
    await this.send('\x1b\t0');
  }

  dispose(): void {
    this.term.dispose();
  }
}
