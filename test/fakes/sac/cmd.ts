/**
 * A small cmd.exe interpreter over the guest model (guest.ts), answering in the real Windows output formats.
 *
 * Parsing follows cmd.exe where it matters to a client:
 * - `%VAR%` is expanded once, when the whole line is read, BEFORE any command of it runs. So
 *   `reg query X /v Y & echo %ERRORLEVEL%` prints the errorlevel from before the line (as real cmd does);
 *   `call echo %^ERRORLEVEL%` (or a separate line) gives the fresh value. Undefined variables stay as typed.
 * - `&`, `&&`, `||`, a pipe `|` (into find, findstr or more), `>nul`, `2>nul`, `2>&1`, `> file`, `>> file`,
 *   `^` escapes and double quotes. No parenthesised blocks, no `if`/`for`.
 * - stdout and stderr are separate (reg's and net's errors go to stderr, so they are not piped into find).
 * - `net stop` with running dependents, and `reg add`/`reg delete` without /f, ask a question and wait for a line
 *   (from the console, or from a pipe: `echo y| net stop termservice`).
 * - Changing the system (reg add HKLM, net start, sc config, netsh set ...) needs a member of Administrators,
 *   as a SAC cmd session of an administrator is elevated.
 * See README.md for every command and the sources of the formats.
 */
import {
  type Actor,
  type FirewallRule,
  type Guest,
  type RegType,
  type RegValue,
  type Service,
  type StartType,
  addFirewallRule,
  addGroupMember,
  findAccount,
  findGroup,
  findService,
  gpoRefresh,
  isAdmin,
  killProcess,
  normalizeKeyPath,
  reconcile,
  regDeleteKey,
  regDeleteValue,
  regGet,
  regKeyExists,
  regSet,
  regSubkeys,
  regValues,
  removeGroupMember,
  setAccountEnabled,
  setAccountPassword,
  setProfileState,
  setRuleEnabled,
  setServiceState,
  setStartType,
  writeFile,
} from './guest.js';

const NL = '\r\n';

/** The console the interpreter runs on. */
export interface CmdIo {
  /** Writes to the console screen. */
  write(text: string): void;
  /** Reads one line typed at the console (net stop's Y/N, reg's Yes/No). Typed text is echoed by the console. */
  readLine(): Promise<string>;
  /** Reads one key (for `more`). Defaults to readLine. */
  readKey?(): Promise<string>;
  /** Clears the screen (`cls`). */
  clear?(): void;
  /** Screen height (for `more`), default 24. */
  rows?: number;
}

export interface CmdSessionOptions {
  /** The account logged in (decides elevation). */
  user: string;
  domain?: string;
  /** SAC channel name, for the journal. */
  channel?: string;
  /** `shutdown /r` or `/s` was run. */
  onPower?: (what: 'restart' | 'shutdown') => void;
}

/** The text cmd.exe prints for an unknown command (to stderr), with errorlevel 9009. */
export function notRecognized(name: string): string {
  return `'${name}' is not recognized as an internal or external command,${NL}operable program or batch file.${NL}`;
}

/** Programs that exist on Windows but that this fake does not model: they answer with this, errorlevel 1. */
export function notModelled(name: string): string {
  return `[fake guest] '${name}' exists on Windows but is not modelled by this fake; use the cmd commands listed in test/fakes/sac/README.md.${NL}`;
}
const NOT_MODELLED = new Set([
  'powershell', 'pwsh', 'wmic', 'gpresult', 'bcdedit', 'ping', 'tracert', 'nslookup', 'certutil', 'schtasks', 'icacls',
  'route', 'arp', 'curl', 'bitsadmin', 'mstsc', 'sfc', 'dism', 'chkdsk', 'diskpart', 'quser', 'logoff', 'runas', 'timeout',
]);

/** `net user NAME PASSWORD` -> `net user NAME ********` (the journal never holds a password). */
export function redactLine(line: string): string {
  return line.replace(/(\bnet(?:\.exe)?\s+user\s+(?:"[^"]*"|[^\s/]\S*)\s+)(?!\/)("[^"]*"|\S+)/gi, '$1********');
}

interface Token {
  text: string;
  quoted: boolean;
}

interface Redir {
  fd: 0 | 1 | 2;
  to: 'nul' | '&1' | '&2' | { file: string; append: boolean };
}
interface SimpleCmd {
  raw: string;
  redirs: Redir[];
}
interface ChainItem {
  op: '&' | '&&' | '||' | null;
  pipeline: SimpleCmd[];
}

function splitArgs(s: string): Token[] {
  const out: Token[] = [];
  let cur = '';
  let quoted = false;
  let inQ = false;
  let have = false;
  for (const c of s) {
    if (c === '"') {
      inQ = !inQ;
      quoted = true;
      have = true;
      continue;
    }
    if (!inQ && /\s/.test(c)) {
      if (have) out.push({ text: cur, quoted });
      cur = '';
      quoted = false;
      have = false;
      continue;
    }
    cur += c;
    have = true;
  }
  if (have) out.push({ text: cur, quoted });
  return out;
}

class SyntaxError_ extends Error {}

function parseLine(s: string): ChainItem[] {
  const items: ChainItem[] = [];
  let pipeline: SimpleCmd[] = [];
  let cur: SimpleCmd = { raw: '', redirs: [] };
  let op: ChainItem['op'] = null;
  let inQ = false;
  const endSimple = (opText: string) => {
    if (cur.raw.trim() === '') throw new SyntaxError_(`${opText} was unexpected at this time.`);
    pipeline.push(cur);
    cur = { raw: '', redirs: [] };
  };
  const endItem = (opText: string, next: ChainItem['op']) => {
    endSimple(opText);
    items.push({ op, pipeline });
    pipeline = [];
    op = next;
  };
  let i = 0;
  while (i < s.length) {
    const c = s[i];
    if (inQ) {
      cur.raw += c;
      if (c === '"') inQ = false;
      i++;
      continue;
    }
    if (c === '"') {
      inQ = true;
      cur.raw += c;
      i++;
      continue;
    }
    if (c === '^') {
      if (i + 1 < s.length) cur.raw += s[i + 1];
      i += 2;
      continue;
    }
    if (c === '&') {
      const two = s[i + 1] === '&';
      endItem(two ? '&&' : '&', two ? '&&' : '&');
      i += two ? 2 : 1;
      continue;
    }
    if (c === '|') {
      if (s[i + 1] === '|') {
        endItem('||', '||');
        i += 2;
      } else {
        endSimple('|');
        i++;
      }
      continue;
    }
    const fdRedir = (c === '1' || c === '2') && s[i + 1] === '>' && (cur.raw === '' || /\s$/.test(cur.raw));
    if (c === '>' || c === '<' || fdRedir) {
      let fd: 0 | 1 | 2 = c === '<' ? 0 : 1;
      if (fdRedir) {
        fd = c === '2' ? 2 : 1;
        i++;
      }
      i++; // past > or <
      let append = false;
      if (fd !== 0 && s[i] === '>') {
        append = true;
        i++;
      }
      if (s[i] === '&' && /[12]/.test(s[i + 1] ?? '')) {
        cur.redirs.push({ fd, to: s[i + 1] === '1' ? '&1' : '&2' });
        i += 2;
        continue;
      }
      while (s[i] === ' ' || s[i] === '\t') i++;
      let target = '';
      if (s[i] === '"') {
        const j = s.indexOf('"', i + 1);
        target = s.slice(i + 1, j < 0 ? s.length : j);
        i = j < 0 ? s.length : j + 1;
      } else {
        while (i < s.length && !/[\s&|<>]/.test(s[i])) target += s[i++];
      }
      if (!target) throw new SyntaxError_('The syntax of the command is incorrect.');
      cur.redirs.push({ fd, to: target.toLowerCase() === 'nul' ? 'nul' : { file: target, append } });
      continue;
    }
    cur.raw += c;
    i++;
  }
  if (cur.raw.trim() !== '' || pipeline.length > 0) {
    if (cur.raw.trim() === '' && pipeline.length > 0) throw new SyntaxError_('The syntax of the command is incorrect.');
    pipeline.push(cur);
    items.push({ op, pipeline });
  }
  return items;
}

function pad(s: string, n: number): string {
  return s.length >= n ? s : s + ' '.repeat(n - s.length);
}
function lpad(s: string, n: number): string {
  return s.length >= n ? s : ' '.repeat(n - s.length) + s;
}
function splitLines(s: string): string[] {
  const ls = s.split(/\r?\n/);
  if (ls.length && ls[ls.length - 1] === '') ls.pop();
  return ls;
}

interface Ctx {
  g: Guest;
  s: CmdSession;
  io: CmdIo;
  out(text: string): void;
  err(text: string): void;
  stdin?: string;
  readLine(): Promise<string>;
  readKey(): Promise<string>;
  actor: Actor;
  admin: boolean;
}

type Handler = (ctx: Ctx, args: Token[], rest: string, name: string) => Promise<number | void> | number | void;

/** One cmd.exe process: its errorlevel, environment, current directory and nesting. */
export class CmdSession {
  errorlevel = 0;
  cwd = 'C:\\Windows\\system32';
  env: Record<string, string>;
  echoOn = true;
  /** `cmd` typed inside cmd: `exit` leaves the inner one first. */
  nesting = 0;
  exited = false;
  private currentLine = '';

  constructor(
    readonly guest: Guest,
    readonly opts: CmdSessionOptions,
  ) {
    const h = guest.hostname.toUpperCase();
    this.env = {
      ALLUSERSPROFILE: 'C:\\ProgramData',
      APPDATA: `C:\\Users\\${opts.user}\\AppData\\Roaming`,
      COMPUTERNAME: h,
      ComSpec: 'C:\\Windows\\system32\\cmd.exe',
      HOMEDRIVE: 'C:',
      HOMEPATH: `\\Users\\${opts.user}`,
      LOCALAPPDATA: `C:\\Users\\${opts.user}\\AppData\\Local`,
      NUMBER_OF_PROCESSORS: '2',
      OS: 'Windows_NT',
      Path: 'C:\\Windows\\system32;C:\\Windows;C:\\Windows\\System32\\Wbem;C:\\Windows\\System32\\WindowsPowerShell\\v1.0\\',
      PATHEXT: '.COM;.EXE;.BAT;.CMD;.VBS;.VBE;.JS;.JSE;.WSF;.WSH;.MSC',
      PROCESSOR_ARCHITECTURE: 'AMD64',
      ProgramData: 'C:\\ProgramData',
      ProgramFiles: 'C:\\Program Files',
      PROMPT: '$P$G',
      SystemDrive: 'C:',
      SystemRoot: 'C:\\Windows',
      TEMP: `C:\\Users\\${opts.user}\\AppData\\Local\\Temp`,
      TMP: `C:\\Users\\${opts.user}\\AppData\\Local\\Temp`,
      USERDOMAIN: opts.domain && opts.domain !== '.' ? opts.domain.toUpperCase() : h,
      USERNAME: opts.user,
      USERPROFILE: `C:\\Users\\${opts.user}`,
      windir: 'C:\\Windows',
    };
  }

  /** The prompt cmd shows (`C:\Windows\system32>`), empty after `echo off`. */
  get prompt(): string {
    return this.echoOn ? `${this.cwd}>` : '';
  }

  /** The startup banner (`Microsoft Windows [Version ...]` / copyright). */
  banner(): string {
    const v = this.guest.os.version;
    const build = +(v.split('.')[2] ?? 0);
    const copy = build >= 19041 ? '(c) Microsoft Corporation. All rights reserved.' : build >= 17763 ? '(c) 2018 Microsoft Corporation. All rights reserved.' : '(c) 2016 Microsoft Corporation. All rights reserved.';
    return `Microsoft Windows [Version ${v}]${NL}${copy}${NL}`;
  }

  private lookupVar(name: string): string | undefined {
    const lc = name.toLowerCase();
    const k = Object.keys(this.env).find((e) => e.toLowerCase() === lc);
    if (k !== undefined) return this.env[k];
    const now = new Date();
    switch (lc) {
      case 'errorlevel':
        return String(this.errorlevel);
      case 'cd':
        return this.cwd;
      case 'random':
        return String(Math.floor(Math.random() * 32768));
      case 'date':
        return `${['Sun', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat'][now.getDay()]} ${String(now.getMonth() + 1).padStart(2, '0')}/${String(now.getDate()).padStart(2, '0')}/${now.getFullYear()}`;
      case 'time':
        return `${String(now.getHours()).padStart(2, ' ')}:${String(now.getMinutes()).padStart(2, '0')}:${String(now.getSeconds()).padStart(2, '0')}.${String(Math.floor(now.getMilliseconds() / 10)).padStart(2, '0')}`;
    }
    return undefined;
  }

  /** `%VAR%` expansion as cmd does on the command line: undefined variables are left as typed. */
  expand(line: string): string {
    let out = '';
    let i = 0;
    while (i < line.length) {
      const c = line[i];
      if (c === '%') {
        const j = line.indexOf('%', i + 1);
        if (j > i + 1) {
          const v = this.lookupVar(line.slice(i + 1, j));
          if (v !== undefined) {
            out += v;
            i = j + 1;
            continue;
          }
          out += line.slice(i, j);
          i = j;
          continue;
        }
      }
      out += c;
      i++;
    }
    return out;
  }

  /** Runs one line typed at the prompt. Writes its output (not the echo of the line, not the next prompt). */
  async runLine(line: string, io: CmdIo): Promise<void> {
    const rec = { at: Date.now(), line: redactLine(line), channel: this.opts.channel, user: this.opts.user } as Guest['journal']['commands'][number];
    this.guest.journal.commands.push(rec);
    this.currentLine = redactLine(line);
    try {
      await this.runExpanded(this.expand(line), io);
    } finally {
      rec.errorlevel = this.errorlevel;
    }
  }

  private async runExpanded(line: string, io: CmdIo): Promise<void> {
    if (line.trim() === '') return;
    let items: ChainItem[];
    try {
      items = parseLine(line);
    } catch (e) {
      if (e instanceof SyntaxError_) {
        io.write(e.message + NL);
        this.errorlevel = 255;
        return;
      }
      throw e;
    }
    for (const item of items) {
      if (item.op === '&&' && this.errorlevel !== 0) continue;
      if (item.op === '||' && this.errorlevel === 0) continue;
      await this.runPipeline(item.pipeline, io);
      if (this.exited) return;
    }
  }

  private async runPipeline(cmds: SimpleCmd[], io: CmdIo): Promise<void> {
    let stdin: string | undefined;
    for (let i = 0; i < cmds.length; i++) {
      const last = i === cmds.length - 1;
      let captured = '';
      await this.runSimple(cmds[i], io, stdin, last ? undefined : (t) => (captured += t));
      stdin = captured;
    }
  }

  private async runSimple(cmd: SimpleCmd, io: CmdIo, stdin: string | undefined, pipeOut?: (t: string) => void): Promise<void> {
    const g = this.guest;
    reconcile(g);
    const screen = (t: string) => io.write(t);
    let fd1: (t: string) => void = pipeOut ?? screen;
    let fd2: (t: string) => void = screen;
    for (const r of cmd.redirs) {
      if (r.fd === 0) {
        if (typeof r.to === 'object') stdin = g.files[this.resolvePath(r.to.file).toLowerCase()] ?? '';
        continue;
      }
      let sink: (t: string) => void;
      if (r.to === 'nul') sink = () => {};
      else if (r.to === '&1') sink = fd1;
      else if (r.to === '&2') sink = fd2;
      else {
        const path = this.resolvePath(r.to.file);
        let first = true;
        const append = r.to.append;
        sink = (t) => {
          writeFile(g, path, t, this.actor(), append || !first);
          first = false;
        };
        writeFile(g, path, '', this.actor(), append);
      }
      if (r.fd === 1) fd1 = sink;
      else fd2 = sink;
    }
    const raw = cmd.raw.replace(/^[\s@]+/, '');
    const lines = stdin === undefined ? [] : splitLines(stdin);
    const ctx: Ctx = {
      g,
      s: this,
      io,
      out: (t) => fd1(t),
      err: (t) => fd2(t),
      stdin,
      readLine: async () => (stdin !== undefined ? (lines.shift() ?? '') : io.readLine()),
      readKey: async () => (stdin !== undefined ? '\r' : io.readKey ? io.readKey() : io.readLine()),
      actor: this.actor(),
      admin: isAdmin(g, this.opts.user),
    };
    // echo. echo: echo/ are echo with a blank/other text
    const em = /^echo(?=$|[\s.:;,=/\\(+[\]])/i.exec(raw);
    if (em) {
      echo(ctx, raw.slice(4));
      reconcile(g);
      return;
    }
    const toks = splitArgs(raw);
    if (toks.length === 0) return;
    const nameTok = toks[0].text;
    const rest = afterFirstToken(raw);
    let name = nameTok.toLowerCase().replace(/^.*\\/, '');
    name = name.replace(/\.(exe|com)$/, '');
    const h = HANDLERS[name];
    let code: number | void;
    if (h) code = await h(ctx, toks.slice(1), rest, nameTok);
    else if (NOT_MODELLED.has(name)) {
      ctx.err(notModelled(nameTok));
      code = 1;
    } else {
      ctx.err(notRecognized(nameTok));
      code = 9009;
    }
    if (typeof code === 'number') this.errorlevel = code;
    reconcile(g);
  }

  actor(): Actor {
    return { by: 'client', via: this.currentLine };
  }

  resolvePath(p: string): string {
    if (/^[a-z]:\\/i.test(p)) return p;
    if (p.startsWith('\\')) return 'C:' + p;
    return `${this.cwd.replace(/\\$/, '')}\\${p}`;
  }

  /** Used by `call` and `cmd /c`: a second expansion, then run. */
  async runNested(line: string, io: CmdIo): Promise<void> {
    await this.runExpanded(this.expand(line), io);
  }
}

/** The text after the command word (its quotes included), as cmd hands it to the program. */
function afterFirstToken(raw: string): string {
  let i = 0;
  let inQ = false;
  while (i < raw.length && (inQ || !/\s/.test(raw[i]))) {
    if (raw[i] === '"') inQ = !inQ;
    i++;
  }
  return raw.slice(i);
}

function echo(ctx: Ctx, afterName: string): void {
  if (afterName === '' || /^\s*$/.test(afterName)) {
    ctx.out(`ECHO is ${ctx.s.echoOn ? 'on' : 'off'}.${NL}`);
    return;
  }
  const text = afterName.slice(1);
  if (/^\s/.test(afterName)) {
    const t = text.trim().toLowerCase();
    if (t === 'off' || t === 'on') {
      ctx.s.echoOn = t === 'on';
      return;
    }
  }
  ctx.out(text + NL);
}

// ------------------------------------------------------------------------------------------------
// Services: sc and net
// ------------------------------------------------------------------------------------------------

const START_TYPE_TEXT: Record<StartType, string> = {
  auto: '2   AUTO_START',
  'delayed-auto': '2   AUTO_START  (DELAYED)',
  demand: '3   DEMAND_START',
  disabled: '4   DISABLED',
};

function scStatus(name: string, svc: Service, state: 'RUNNING' | 'STOPPED' | 'START_PENDING' | 'STOP_PENDING', ex: boolean): string {
  const num = { STOPPED: 1, START_PENDING: 2, STOP_PENDING: 3, RUNNING: 4 }[state];
  const live = svc.state === 'RUNNING' || state !== 'STOPPED';
  const ls = [
    '',
    `SERVICE_NAME: ${name}`,
    `        TYPE               : ${live ? '30  WIN32' : '20  WIN32_SHARE_PROCESS'}`,
    `        STATE              : ${num}  ${state}`,
  ];
  if (state === 'RUNNING') ls.push('                                (STOPPABLE, NOT_PAUSABLE, ACCEPTS_SHUTDOWN)');
  if (state === 'START_PENDING') ls.push('                                (NOT_STOPPABLE, NOT_PAUSABLE, IGNORES_SHUTDOWN)');
  if (state === 'STOP_PENDING') ls.push('                                (STOPPABLE, NOT_PAUSABLE, ACCEPTS_SHUTDOWN)');
  const exit = state === 'STOPPED' ? (svc.exitCode ?? 1077) : 0;
  ls.push(
    `        WIN32_EXIT_CODE    : ${exit}  (0x${exit.toString(16)})`,
    '        SERVICE_EXIT_CODE  : 0  (0x0)',
    '        CHECKPOINT         : 0x0',
    `        WAIT_HINT          : ${state === 'START_PENDING' ? '0x7d0' : '0x0'}`,
  );
  if (ex || state === 'START_PENDING') ls.push(`        PID                : ${svc.pid ?? 0}`, '        FLAGS              :');
  return ls.join(NL) + NL;
}

function dependents(g: Guest, svc: Service): Service[] {
  const out: Service[] = [];
  const visit = (s: Service) => {
    for (const d of Object.values(g.services)) {
      if (d.state === 'RUNNING' && d.dependencies.some((x) => x.toLowerCase() === s.name.toLowerCase()) && !out.includes(d)) {
        visit(d);
        out.push(d);
      }
    }
  };
  visit(svc);
  return out;
}

/** Starts `svc` and (first) the stopped services it depends on; returns what it started, in order. */
function startWithDeps(ctx: Ctx, svc: Service): Service[] | 'disabled' {
  const started: Service[] = [];
  const visit = (s: Service): boolean => {
    for (const dn of s.dependencies) {
      const d = findService(ctx.g, dn);
      if (d && d.state !== 'RUNNING' && !visit(d)) return false;
    }
    if (s.startType === 'disabled') return false;
    setServiceState(ctx.g, s, 'RUNNING', ctx.actor);
    started.push(s);
    return true;
  };
  if (!visit(svc)) return 'disabled';
  return started;
}

const ACCESS_DENIED_SC = `[SC] OpenService FAILED 5:${NL}${NL}Access is denied.${NL}${NL}`;
const SC_NO_SERVICE = `The specified service does not exist as an installed service.${NL}${NL}`;

function sc(ctx: Ctx, args: Token[]): number {
  const sub = args[0]?.text.toLowerCase();
  const name = args[1]?.text;
  const svc = name ? findService(ctx.g, name) : undefined;
  switch (sub) {
    case 'query':
    case 'queryex': {
      if (!name) {
        for (const s of Object.values(ctx.g.services).filter((x) => x.state === 'RUNNING')) ctx.out(scStatus(s.name, s, 'RUNNING', sub === 'queryex'));
        return 0;
      }
      if (!svc || svc.name.toLowerCase() !== name.toLowerCase()) {
        ctx.out(`[SC] EnumQueryServicesStatus:OpenService FAILED 1060:${NL}${NL}${SC_NO_SERVICE}`);
        return 1060;
      }
      ctx.out(scStatus(name, svc, svc.state, sub === 'queryex') + NL);
      return 0;
    }
    case 'qc': {
      if (!svc || svc.name.toLowerCase() !== name!.toLowerCase()) {
        ctx.out(`[SC] OpenService FAILED 1060:${NL}${NL}${SC_NO_SERVICE}`);
        return 1060;
      }
      const deps = svc.dependencies.length ? svc.dependencies : [''];
      const ls = [
        '[SC] QueryServiceConfig SUCCESS',
        '',
        `SERVICE_NAME: ${name}`,
        '        TYPE               : 20  WIN32_SHARE_PROCESS',
        `        START_TYPE         : ${START_TYPE_TEXT[svc.startType]}`,
        '        ERROR_CONTROL      : 1   NORMAL',
        `        BINARY_PATH_NAME   : ${svc.binaryPath}`,
        '        LOAD_ORDER_GROUP   :',
        '        TAG                : 0',
        `        DISPLAY_NAME       : ${svc.displayName}`,
        `        DEPENDENCIES       : ${deps[0]}`.trimEnd(),
        ...deps.slice(1).map((d) => `                           : ${d}`),
        `        SERVICE_START_NAME : ${svc.startName}`,
      ];
      ctx.out(ls.join(NL) + NL + NL);
      return 0;
    }
    case 'config': {
      if (!svc || svc.name.toLowerCase() !== name!.toLowerCase()) {
        ctx.out(`[SC] OpenService FAILED 1060:${NL}${NL}${SC_NO_SERVICE}`);
        return 1060;
      }
      if (!ctx.admin) {
        ctx.out(ACCESS_DENIED_SC);
        return 5;
      }
      const opts = args.slice(2);
      let start: StartType | undefined;
      for (let i = 0; i < opts.length; i++) {
        const t = opts[i].text.toLowerCase();
        if (/^[a-z]+=$/.test(t)) {
          const v = opts[++i]?.text.toLowerCase();
          if (t === 'start=') {
            const map: Record<string, StartType> = { auto: 'auto', 'delayed-auto': 'delayed-auto', demand: 'demand', disabled: 'disabled' };
            if (!v || !map[v]) return scConfigUsage(ctx);
            start = map[v];
          }
        } else return scConfigUsage(ctx);
      }
      if (start) setStartType(ctx.g, svc, start, ctx.actor);
      ctx.out(`[SC] ChangeServiceConfig SUCCESS${NL}`);
      return 0;
    }
    case 'start': {
      if (!svc || svc.name.toLowerCase() !== name!.toLowerCase()) {
        ctx.out(`[SC] OpenService FAILED 1060:${NL}${NL}${SC_NO_SERVICE}`);
        return 1060;
      }
      if (!ctx.admin) {
        ctx.out(ACCESS_DENIED_SC);
        return 5;
      }
      if (svc.state === 'RUNNING') {
        ctx.out(`[SC] StartService FAILED 1056:${NL}${NL}An instance of the service is already running.${NL}${NL}`);
        return 1056;
      }
      if (startWithDeps(ctx, svc) === 'disabled') {
        ctx.out(`[SC] StartService FAILED 1058:${NL}${NL}The service cannot be started, either because it is disabled or because it has no enabled devices associated with it.${NL}${NL}`);
        return 1058;
      }
      ctx.out(scStatus(name!, svc, 'START_PENDING', true));
      return 0;
    }
    case 'stop': {
      if (!svc || svc.name.toLowerCase() !== name!.toLowerCase()) {
        ctx.out(`[SC] OpenService FAILED 1060:${NL}${NL}${SC_NO_SERVICE}`);
        return 1060;
      }
      if (!ctx.admin || svc.name === 'MpsSvc') {
        ctx.out(svc.name === 'MpsSvc' ? `[SC] ControlService FAILED 5:${NL}${NL}Access is denied.${NL}${NL}` : ACCESS_DENIED_SC);
        return 5;
      }
      if (svc.state !== 'RUNNING') {
        ctx.out(`[SC] ControlService FAILED 1062:${NL}${NL}The service has not been started.${NL}${NL}`);
        return 1062;
      }
      if (dependents(ctx.g, svc).length) {
        ctx.out(`[SC] ControlService FAILED 1051:${NL}${NL}A stop control has been sent to a service that other running services are dependent on.${NL}${NL}`);
        return 1051;
      }
      const pid = svc.pid;
      setServiceState(ctx.g, svc, 'STOPPED', ctx.actor);
      ctx.out(scStatus(name!, { ...svc, pid }, 'STOP_PENDING', false));
      return 0;
    }
    default:
      ctx.out(
        [
          'DESCRIPTION:',
          '        SC is a command line program used for communicating with the',
          '        Service Control Manager and services.',
          'USAGE:',
          '        sc <server> [command] [service name] <option1> <option2>...',
          '',
          '[fake guest] modelled commands: query, queryex, qc, config (start=), start, stop',
          '',
        ].join(NL),
      );
      return 0;
  }
}

function scConfigUsage(ctx: Ctx): number {
  ctx.out(
    [
      'DESCRIPTION:',
      '        Modifies a service entry in the registry and Service Database.',
      'USAGE:',
      '        sc <server> config [service name] <option1> <option2>...',
      '',
      'OPTIONS:',
      'NOTE: The option name includes the equal sign.',
      '      A space is required between the equal sign and the value.',
      ' start= <boot|system|auto|demand|disabled|delayed-auto>',
      '',
    ].join(NL),
  );
  return 1639;
}

const NET_ACCESS_DENIED = `System error 5 has occurred.${NL}${NL}Access is denied.${NL}${NL}`;
const helpmsg = (n: number) => `More help is available by typing NET HELPMSG ${n}.${NL}${NL}`;
const NET_OK = `The command completed successfully.${NL}${NL}`;

const OTHER_STARTED_SERVICES = [
  'Background Tasks Infrastructure Service',
  'Base Filtering Engine',
  'CNG Key Isolation',
  'COM+ Event System',
  'Cryptographic Services',
  'DCOM Server Process Launcher',
  'DHCP Client',
  'DNS Client',
  'Google Compute Engine Agent',
  'Group Policy Client',
  'IP Helper',
  'Network List Service',
  'Network Location Awareness',
  'Plug and Play',
  'Power',
  'Remote Procedure Call (RPC)',
  'RPC Endpoint Mapper',
  'Security Accounts Manager',
  'Server',
  'Windows Event Log',
  'Windows Management Instrumentation',
  'Windows Remote Management (WS-Management)',
  'Workstation',
];

async function net(ctx: Ctx, args: Token[]): Promise<number> {
  const sub = args[0]?.text.toLowerCase();
  const pos = args.slice(1).filter((a) => !a.text.startsWith('/') || a.quoted);
  const sw = args.slice(1).filter((a) => a.text.startsWith('/') && !a.quoted).map((a) => a.text.toLowerCase());
  switch (sub) {
    case 'start': {
      if (pos.length === 0) {
        const names = [...OTHER_STARTED_SERVICES, ...Object.values(ctx.g.services).filter((s) => s.state === 'RUNNING').map((s) => s.displayName)];
        names.sort((a, b) => a.toLowerCase().localeCompare(b.toLowerCase()));
        ctx.out(`These Windows services are started:${NL}${NL}${names.map((n) => `   ${n}${NL}`).join('')}${NL}${NET_OK}`);
        return 0;
      }
      const svc = findService(ctx.g, pos.map((p) => p.text).join(' '));
      if (!svc) {
        ctx.err(`The service name is invalid.${NL}${NL}${helpmsg(2185)}`);
        return 2;
      }
      if (!ctx.admin) {
        ctx.err(NET_ACCESS_DENIED);
        return 2;
      }
      if (svc.state === 'RUNNING') {
        ctx.err(`The requested service has already been started.${NL}${NL}${helpmsg(2182)}`);
        return 2;
      }
      const r = startWithDeps(ctx, svc);
      if (r === 'disabled') {
        ctx.err(`System error 1058 has occurred.${NL}${NL}The service cannot be started, either because it is disabled or because it has no enabled devices associated with it.${NL}${NL}`);
        return 2;
      }
      for (const s of r) ctx.out(`The ${s.displayName} service is starting.${NL}The ${s.displayName} service was started successfully.${NL}${NL}`);
      return 0;
    }
    case 'stop': {
      const svc = findService(ctx.g, pos.map((p) => p.text).join(' '));
      if (!svc) {
        ctx.err(`The service name is invalid.${NL}${NL}${helpmsg(2185)}`);
        return 2;
      }
      if (!ctx.admin || svc.name === 'MpsSvc') {
        ctx.err(NET_ACCESS_DENIED);
        return 2;
      }
      if (svc.state !== 'RUNNING') {
        ctx.err(`The ${svc.displayName} service is not started.${NL}${NL}${helpmsg(3521)}`);
        return 2;
      }
      const deps = dependents(ctx.g, svc);
      if (deps.length) {
        ctx.out(
          `The following services are dependent on the ${svc.displayName} service.${NL}` +
            `Stopping the ${svc.displayName} service will also stop these services.${NL}${NL}` +
            deps.map((d) => `   ${d.displayName}${NL}`).join('') +
            NL,
        );
        if (!sw.some((s) => s === '/y' || s === '/yes')) {
          ctx.out('Do you want to continue this operation? (Y/N) [N]: ');
          const ans = (await ctx.readLine()).trim();
          if (!/^y/i.test(ans)) return 2;
        }
      }
      for (const s of [...deps, svc]) {
        setServiceState(ctx.g, s, 'STOPPED', ctx.actor);
        ctx.out(`The ${s.displayName} service is stopping.${NL}The ${s.displayName} service was stopped successfully.${NL}${NL}`);
      }
      return 0;
    }
    case 'localgroup':
      return netLocalgroup(ctx, pos.map((p) => p.text), sw);
    case 'user':
      return netUser(ctx, pos.map((p) => p.text), sw);
    case 'helpmsg':
      ctx.out(`${NL}${{ 2182: 'The requested service has already been started.', 2185: 'The service name is invalid.', 3521: 'The *** service is not started.' }[+(pos[0]?.text ?? 0)] ?? ''}${NL}${NL}`);
      return 0;
    default:
      ctx.err(
        [
          'The syntax of this command is:',
          '',
          'NET',
          '    [ ACCOUNTS | COMPUTER | CONFIG | CONTINUE | FILE | GROUP | HELP |',
          '      HELPMSG | LOCALGROUP | PAUSE | SESSION | SHARE | START |',
          '      STATISTICS | STOP | TIME | USE | USER | VIEW ]',
          '',
          '',
        ].join(NL),
      );
      return 1;
  }
}

function bareUser(ctx: Ctx, u: string): string {
  const m = /^(?:\.|([^\\]+))\\(.+)$/.exec(u);
  if (!m) return u;
  if (m[1] === undefined || m[1].toLowerCase() === ctx.g.hostname.toLowerCase()) return m[2];
  return u;
}

function netLocalgroup(ctx: Ctx, pos: string[], sw: string[]): number {
  const g = ctx.g;
  const sep = '-'.repeat(79);
  if (pos.length === 0) {
    const names = Object.keys(g.groups).sort((a, b) => a.toLowerCase().localeCompare(b.toLowerCase()));
    ctx.out(`${NL}Aliases for \\\\${g.hostname.toUpperCase()}${NL}${NL}${sep}${NL}${names.map((n) => `*${n}${NL}`).join('')}${NET_OK}`);
    return 0;
  }
  const grp = findGroup(g, pos[0]);
  if (!grp) {
    ctx.err(`System error 1376 has occurred.${NL}${NL}The specified local group does not exist.${NL}${NL}`);
    return 2;
  }
  const add = sw.includes('/add');
  const del = sw.includes('/delete') || sw.includes('/del');
  if (pos.length === 1 && !add && !del) {
    ctx.out(`Alias name     ${grp[0]}${NL}Comment        ${grp[1].comment}${NL}${NL}Members${NL}${NL}${sep}${NL}${grp[1].members.map((m) => m + NL).join('')}${NET_OK}`);
    return 0;
  }
  if (!ctx.admin) {
    ctx.err(NET_ACCESS_DENIED);
    return 2;
  }
  for (const u0 of pos.slice(1)) {
    const u = bareUser(ctx, u0);
    const acct = findAccount(g, u);
    if (!acct) {
      ctx.err(`System error 1332 has occurred.${NL}${NL}No mapping between account names and security IDs was done.${NL}${NL}`);
      return 2;
    }
    const member = grp[1].members.some((m) => m.toLowerCase() === acct.name.toLowerCase());
    if (add) {
      if (member) {
        ctx.err(`System error 1378 has occurred.${NL}${NL}The specified account name is already a member of the group.${NL}${NL}`);
        return 2;
      }
      addGroupMember(g, grp[0], acct.name, ctx.actor);
    } else if (del) {
      if (!member) {
        ctx.err(`System error 1377 has occurred.${NL}${NL}The specified account name is not a member of the group.${NL}${NL}`);
        return 2;
      }
      removeGroupMember(g, grp[0], acct.name, ctx.actor);
    }
  }
  ctx.out(NET_OK);
  return 0;
}

function netUser(ctx: Ctx, pos: string[], sw: string[]): number {
  const g = ctx.g;
  const sep = '-'.repeat(79);
  if (pos.length === 0) {
    const names = Object.keys(g.accounts).sort((a, b) => a.toLowerCase().localeCompare(b.toLowerCase()));
    const rows: string[] = [];
    for (let i = 0; i < names.length; i += 3) rows.push(names.slice(i, i + 3).map((n, j) => (j < 2 ? pad(n, 25) : n)).join('').trimEnd());
    ctx.out(`${NL}User accounts for \\\\${g.hostname.toUpperCase()}${NL}${NL}${sep}${NL}${rows.map((r) => r + NL).join('')}${NET_OK}`);
    return 0;
  }
  const name = bareUser(ctx, pos[0]);
  let acct = findAccount(g, name);
  if (sw.includes('/add')) {
    if (!ctx.admin) {
      ctx.err(NET_ACCESS_DENIED);
      return 2;
    }
    if (acct) {
      ctx.err(`The account already exists.${NL}${NL}${helpmsg(2224)}`);
      return 2;
    }
    acct = { name, password: pos[1] ?? '', enabled: true };
    g.accounts[name] = acct;
    g.journal.changes.push({ at: Date.now(), by: 'client', kind: 'account', target: name, after: '(created)', via: ctx.actor.via });
    g.groups.Users?.members.push(name);
    ctx.out(NET_OK);
    return 0;
  }
  if (!acct) {
    ctx.err(`The user name could not be found.${NL}${NL}${helpmsg(2221)}`);
    return 2;
  }
  const active = sw.find((s) => s.startsWith('/active'));
  if (active || pos.length > 1) {
    if (!ctx.admin) {
      ctx.err(NET_ACCESS_DENIED);
      return 2;
    }
    if (active) setAccountEnabled(g, acct, !/:no$/.test(active), ctx.actor);
    if (pos.length > 1) setAccountPassword(g, acct, pos[1], ctx.actor);
    ctx.out(NET_OK);
    return 0;
  }
  const memberOf = Object.entries(g.groups)
    .filter(([, grp]) => grp.members.some((m) => m.toLowerCase() === acct!.name.toLowerCase()))
    .map(([n]) => `*${n}`);
  const groupLines: string[] = [];
  for (let i = 0; i < Math.max(1, memberOf.length); i += 2) {
    const pair = memberOf.slice(i, i + 2);
    groupLines.push(pad(i === 0 ? 'Local Group Memberships' : '', 29) + (pair.length ? pad(pair[0], 22) + (pair[1] ?? '') : '').trimEnd());
  }
  const f = (k: string, v: string) => (pad(k, 29) + v).trimEnd();
  const when = '5/1/2024 9:41:07 AM';
  ctx.out(
    [
      f('User name', acct.name),
      f('Full Name', acct.fullName ?? ''),
      f('Comment', acct.name === 'Administrator' ? 'Built-in account for administering the computer/domain' : ''),
      f("User's comment", ''),
      f('Country/region code', '000 (System Default)'),
      f('Account active', acct.enabled ? 'Yes' : 'No'),
      f('Account expires', 'Never'),
      '',
      f('Password last set', when),
      f('Password expires', 'Never'),
      f('Password changeable', when),
      f('Password required', 'Yes'),
      f('User may change password', 'Yes'),
      '',
      f('Workstations allowed', 'All'),
      f('Logon script', ''),
      f('User profile', ''),
      f('Home directory', ''),
      f('Last logon', 'Never'),
      '',
      f('Logon hours allowed', 'All'),
      '',
      ...groupLines,
      f('Global Group memberships', '*None'),
      '',
    ].join(NL).replace(/\r\n$/, '') + NL + NET_OK,
  );
  return 0;
}

// ------------------------------------------------------------------------------------------------
// reg
// ------------------------------------------------------------------------------------------------

function fmtRegData(v: RegValue): string {
  switch (v.type) {
    case 'REG_DWORD':
    case 'REG_QWORD':
      return `0x${(v.data as number).toString(16)}`;
    case 'REG_MULTI_SZ':
      return String(v.data).split('\0').join('\\0');
    case 'REG_BINARY':
      return String(v.data).toUpperCase();
    default:
      return String(v.data);
  }
}

function fmtRegValue(name: string, v: RegValue): string {
  return `    ${name === '' ? '(Default)' : name}    ${v.type}    ${fmtRegData(v)}`.replace(/\s+$/, (m) => (v.data === '' ? '' : m));
}

const REG_NOT_FOUND = `ERROR: The system was unable to find the specified registry key or value.${NL}`;
const regSyntax = (sub: string) => `ERROR: Invalid syntax.${NL}Type "REG ${sub.toUpperCase()} /?" for usage.${NL}`;

function regExportText(g: Guest, key: string): string {
  const keys = Object.keys(g.registry)
    .filter((k) => k.toLowerCase() === key.toLowerCase() || k.toLowerCase().startsWith(key.toLowerCase() + '\\'))
    .sort((a, b) => a.toLowerCase().localeCompare(b.toLowerCase()));
  let out = `Windows Registry Editor Version 5.00${NL}${NL}`;
  for (const k of keys) {
    out += `[${k}]${NL}`;
    for (const [n, v] of Object.entries(g.registry[k])) {
      const q = n === '' ? '@' : `"${n}"`;
      if (v.type === 'REG_DWORD') out += `${q}=dword:${(v.data as number).toString(16).padStart(8, '0')}${NL}`;
      else if (v.type === 'REG_SZ') out += `${q}="${String(v.data).replace(/\\/g, '\\\\').replace(/"/g, '\\"')}"${NL}`;
      else out += `${q}=hex:${String(v.data).toLowerCase()}${NL}`;
    }
    out += NL;
  }
  return out;
}

async function reg(ctx: Ctx, args: Token[]): Promise<number> {
  const sub = (args[0]?.text ?? '').toLowerCase();
  if (!['query', 'add', 'delete', 'export'].includes(sub)) {
    ctx.err(`ERROR: Invalid syntax.${NL}Type "REG /?" for usage.${NL}`);
    return 1;
  }
  const keyArg = args[1];
  if (!keyArg || (keyArg.text.startsWith('/') && !keyArg.quoted)) {
    ctx.err(regSyntax(sub));
    return 1;
  }
  const key = normalizeKeyPath(keyArg.text);
  if (!key) {
    ctx.err(`ERROR: Invalid key name.${NL}Type "REG ${sub.toUpperCase()} /?" for usage.${NL}`);
    return 1;
  }
  const opts = args.slice(2);
  let vName: string | undefined;
  let ve = false;
  let type: string | undefined;
  let data: string | undefined;
  let force = false;
  let recurse = false;
  let va = false;
  const files: string[] = [];
  for (let i = 0; i < opts.length; i++) {
    const t = opts[i].quoted ? '' : opts[i].text.toLowerCase();
    if (t === '/v') vName = opts[++i]?.text;
    else if (t === '/ve') ve = true;
    else if (t === '/t') type = opts[++i]?.text.toUpperCase();
    else if (t === '/d') data = opts[++i]?.text ?? '';
    else if (t === '/f' || t === '/y') force = true;
    else if (t === '/s') recurse = true;
    else if (t === '/va') va = true;
    else if (t.startsWith('/reg:')) continue;
    else if (sub === 'export' && !opts[i].text.startsWith('/')) files.push(opts[i].text);
    else {
      ctx.err(regSyntax(sub));
      return 1;
    }
  }
  const name = ve ? '' : vName;
  const hklm = key.toUpperCase().startsWith('HKEY_LOCAL_MACHINE');
  const g = ctx.g;
  switch (sub) {
    case 'query': {
      if (!regKeyExists(g, key)) {
        ctx.err(REG_NOT_FOUND);
        return 1;
      }
      if (name !== undefined) {
        const v = regGet(g, key, name);
        if (!v) {
          ctx.err(REG_NOT_FOUND);
          return 1;
        }
        const stored = Object.keys(regValues(g, key)!).find((n) => n.toLowerCase() === name.toLowerCase())!;
        ctx.out(`${NL}${key}${NL}${fmtRegValue(stored, v)}${NL}${NL}`);
        return 0;
      }
      const block = (k: string, shown: string) => {
        const vals = regValues(g, k)!;
        const names = Object.keys(vals);
        let o = '';
        if (names.length) o += `${NL}${shown}${NL}${names.map((n) => fmtRegValue(n, vals[n]) + NL).join('')}`;
        return o;
      };
      if (recurse) {
        const all = Object.keys(g.registry)
          .filter((k) => k.toLowerCase() === key.toLowerCase() || k.toLowerCase().startsWith(key.toLowerCase() + '\\'))
          .sort((a, b) => a.toLowerCase().localeCompare(b.toLowerCase()));
        let o = '';
        for (const k of all) o += block(k, key + k.slice(key.length)) || `${NL}${key + k.slice(key.length)}${NL}`;
        ctx.out(o + NL);
        return 0;
      }
      let o = block(key, key);
      const subs = regSubkeys(g, key);
      o += NL;
      o += subs.map((s) => `${key}\\${s}${NL}`).join('');
      ctx.out(o);
      return 0;
    }
    case 'add': {
      if (hklm && !ctx.admin) {
        ctx.err(`ERROR: Access is denied.${NL}`);
        return 1;
      }
      const t = (type ?? 'REG_SZ') as RegType;
      if (!['REG_SZ', 'REG_EXPAND_SZ', 'REG_MULTI_SZ', 'REG_DWORD', 'REG_QWORD', 'REG_BINARY'].includes(t)) {
        ctx.err(regSyntax('add'));
        return 1;
      }
      let value: RegValue;
      if (t === 'REG_DWORD' || t === 'REG_QWORD') {
        const d = data ?? '0';
        const n = /^0x[0-9a-f]+$/i.test(d) ? parseInt(d, 16) : /^\d+$/.test(d) ? parseInt(d, 10) : NaN;
        if (Number.isNaN(n) || (t === 'REG_DWORD' && n > 0xffffffff)) {
          ctx.err(`ERROR: Invalid syntax. Specify valid numeric value for '/d'.${NL}Type "REG ADD /?" for usage.${NL}`);
          return 1;
        }
        value = { type: t, data: n };
      } else value = { type: t, data: t === 'REG_MULTI_SZ' ? (data ?? '').split('\\0').join('\0') : (data ?? '') };
      if (name === undefined) {
        if (!regKeyExists(g, key)) regSetKeyOnly(ctx, key);
        ctx.out(`The operation completed successfully.${NL}`);
        return 0;
      }
      if (regGet(g, key, name) && !force) {
        ctx.out(`Value ${name === '' ? '(Default)' : name} exists, overwrite(Yes/No)? `);
        const ans = (await ctx.readLine()).trim();
        if (!/^y(es)?$/i.test(ans)) {
          ctx.out(`The operation was canceled by the user.${NL}`);
          return 0;
        }
      }
      regSet(g, key, name, value, ctx.actor);
      ctx.out(`The operation completed successfully.${NL}`);
      return 0;
    }
    case 'delete': {
      if (hklm && !ctx.admin) {
        ctx.err(`ERROR: Access is denied.${NL}`);
        return 1;
      }
      if (!regKeyExists(g, key) || (name !== undefined && !regGet(g, key, name))) {
        ctx.err(REG_NOT_FOUND);
        return 1;
      }
      if (!force) {
        ctx.out(name !== undefined ? `Delete the registry value ${name === '' ? '(Default)' : name} (Yes/No)? ` : va ? `Delete all values under the registry key ${key} (Yes/No)? ` : `Permanently delete the registry key ${key} (Yes/No)? `);
        const ans = (await ctx.readLine()).trim();
        if (!/^y(es)?$/i.test(ans)) {
          ctx.out(`The operation was canceled by the user.${NL}`);
          return 0;
        }
      }
      if (name !== undefined) regDeleteValue(g, key, name, ctx.actor);
      else if (va) for (const n of Object.keys(regValues(g, key)!)) regDeleteValue(g, key, n, ctx.actor);
      else regDeleteKey(g, key, ctx.actor);
      ctx.out(`The operation completed successfully.${NL}`);
      return 0;
    }
    case 'export': {
      if (files.length !== 1) {
        ctx.err(regSyntax('export'));
        return 1;
      }
      if (!regKeyExists(g, key)) {
        ctx.err(REG_NOT_FOUND);
        return 1;
      }
      const path = ctx.s.resolvePath(files[0]);
      if (g.files[path.toLowerCase()] !== undefined && !force) {
        ctx.out(`File ${path} already exists. Overwrite (Yes/No)? `);
        const ans = (await ctx.readLine()).trim();
        if (!/^y(es)?$/i.test(ans)) {
          ctx.out(`The operation was canceled by the user.${NL}`);
          return 0;
        }
      }
      writeFile(g, path, regExportText(g, Object.keys(g.registry).find((k) => k.toLowerCase() === key.toLowerCase())!), ctx.actor);
      ctx.out(`The operation completed successfully.${NL}`);
      return 0;
    }
  }
  return 1;
}

function regSetKeyOnly(ctx: Ctx, key: string): void {
  // creating a key with no value: a registry change all the same
  ctx.g.registry[key] = {};
  ctx.g.journal.changes.push({ at: Date.now(), by: 'client', kind: 'registry', target: key, after: '(key created)', via: ctx.actor.via });
  gpoRefresh(ctx.g);
}

// ------------------------------------------------------------------------------------------------
// netsh advfirewall
// ------------------------------------------------------------------------------------------------

const FW_LABEL = 38;
const fwLine = (label: string, value: string) => pad(label, FW_LABEL) + value;

function ruleBlock(r: FirewallRule, verbose: boolean): string {
  const ls = [fwLine('Rule Name:', r.name), '-'.repeat(70)];
  if (verbose) ls.push(fwLine('Description:', r.description ?? ''));
  ls.push(
    fwLine('Enabled:', r.enabled ? 'Yes' : 'No'),
    fwLine('Direction:', r.direction),
    fwLine('Profiles:', r.profiles),
    fwLine('Grouping:', r.group),
    fwLine('LocalIP:', 'Any'),
    fwLine('RemoteIP:', 'Any'),
    fwLine('Protocol:', r.protocol),
  );
  if (r.protocol !== 'Any') ls.push(fwLine('LocalPort:', r.localPort), fwLine('RemotePort:', r.remotePort));
  ls.push(fwLine('Edge traversal:', r.edgeTraversal ?? 'No'));
  if (verbose)
    ls.push(
      fwLine('Program:', r.program ?? 'Any'),
      fwLine('Service:', r.service ?? 'Any'),
      fwLine('InterfaceTypes:', 'Any'),
      fwLine('Security:', 'NotRequired'),
      fwLine('Rule source:', 'Local Setting'),
    );
  ls.push(fwLine('Action:', r.action));
  return ls.join(NL) + NL;
}

function kv(tokens: Token[]): { map: Map<string, string>; words: string[] } {
  const map = new Map<string, string>();
  const words: string[] = [];
  for (const t of tokens) {
    const i = t.text.indexOf('=');
    if (i > 0) map.set(t.text.slice(0, i).toLowerCase(), t.text.slice(i + 1));
    else words.push(t.text.toLowerCase());
  }
  return { map, words };
}

const NO_RULES = `No rules match the specified criteria.${NL}`;
const ELEVATION = `The requested operation requires elevation (Run as administrator).${NL}${NL}`;

function netsh(ctx: Ctx, args: Token[]): number {
  const g = ctx.g;
  const w = args.map((a) => a.text.toLowerCase());
  const notFound = () => {
    ctx.out(`The following command was not found: ${args.map((a) => a.text).join(' ')}.${NL}`);
    return 1;
  };
  if (w[0] !== 'advfirewall') return notFound();
  if (g.services.MpsSvc?.state !== 'RUNNING') {
    ctx.out(`An error occurred while attempting to contact the Windows Defender Firewall service. Make sure that the service is running and try your request again.${NL}${NL}`);
    return 1;
  }
  const profileKeys = { domainprofile: ['Domain'], privateprofile: ['Private'], publicprofile: ['Public'], allprofiles: ['Domain', 'Private', 'Public'], currentprofile: [g.firewall.activeProfile] } as const;
  if (w[1] === 'set' && w[2] in profileKeys && w[3] === 'state') {
    if (!ctx.admin) {
      ctx.out(ELEVATION);
      return 1;
    }
    if (w[4] !== 'on' && w[4] !== 'off') return notFound();
    for (const p of profileKeys[w[2] as keyof typeof profileKeys]) setProfileState(g, p as 'Domain', w[4] === 'on', ctx.actor);
    ctx.out(`Ok.${NL}${NL}`);
    return 0;
  }
  if (w[1] === 'show' && w[2] in profileKeys) {
    let o = '';
    for (const p of profileKeys[w[2] as keyof typeof profileKeys]) {
      o += `${NL}${p} Profile Settings: ${NL}${'-'.repeat(70)}${NL}${fwLine('State', g.firewall.profiles[p as 'Domain'] ? 'ON' : 'OFF').replace(/^(State)\s+/, (m) => m)}${NL}`;
      if (w[3] !== 'state') o += `${fwLine('Firewall Policy', 'BlockInbound,AllowOutbound')}${NL}`;
    }
    ctx.out(o + `Ok.${NL}${NL}`);
    return 0;
  }
  if (w[1] !== 'firewall') return notFound();
  const { map, words } = kv(args.slice(4));
  const matches = (r: FirewallRule, m: Map<string, string>) => {
    const name = m.get('name');
    if (name !== undefined && name.toLowerCase() !== 'all' && r.name.toLowerCase() !== name.toLowerCase()) return false;
    const group = m.get('group');
    if (group !== undefined && r.group.toLowerCase() !== group.toLowerCase()) return false;
    const dir = m.get('dir');
    if (dir !== undefined && r.direction.toLowerCase() !== dir.toLowerCase()) return false;
    return true;
  };
  if (w[2] === 'show' && w[3] === 'rule') {
    if (!map.has('name')) {
      ctx.out(`${NL}A specified value is not valid.${NL}${NL}`);
      return 1;
    }
    const rules = g.firewall.rules.filter((r) => matches(r, map));
    if (!rules.length) {
      ctx.out(NO_RULES);
      return 1;
    }
    ctx.out(NL + rules.map((r) => ruleBlock(r, words.includes('verbose'))).join(NL) + `Ok.${NL}${NL}`);
    return 0;
  }
  if (w[2] === 'set' && w[3] === 'rule') {
    const rest = args.slice(4);
    const ni = rest.findIndex((t) => t.text.toLowerCase() === 'new');
    if (ni < 0) return notFound();
    const sel = kv(rest.slice(0, ni)).map;
    const neu = kv(rest.slice(ni + 1)).map;
    if (!sel.has('name') && !sel.has('group')) return notFound();
    if (!ctx.admin) {
      ctx.out(ELEVATION);
      return 1;
    }
    const rules = g.firewall.rules.filter((r) => matches(r, sel));
    if (!rules.length) {
      ctx.out(NO_RULES);
      return 1;
    }
    const en = neu.get('enable');
    for (const r of rules) {
      if (en !== undefined) setRuleEnabled(g, r, /^y(es)?$/i.test(en), ctx.actor);
      const lp = neu.get('localport');
      if (lp !== undefined) {
        g.journal.changes.push({ at: Date.now(), by: 'client', kind: 'firewall', target: `rule:${r.name}.localPort`, before: r.localPort, after: lp, via: ctx.actor.via });
        r.localPort = lp;
      }
    }
    ctx.out(`${NL}Updated ${rules.length} rule(s).${NL}Ok.${NL}${NL}`);
    return 0;
  }
  if (w[2] === 'add' && w[3] === 'rule') {
    const name = map.get('name');
    const dir = map.get('dir');
    const action = map.get('action');
    if (!name || !dir || !action) {
      ctx.out(`${NL}A specified value is not valid.${NL}${NL}`);
      return 1;
    }
    if (!ctx.admin) {
      ctx.out(ELEVATION);
      return 1;
    }
    const proto = (map.get('protocol') ?? 'any').toUpperCase();
    const prof = map.get('profile');
    addFirewallRule(
      g,
      {
        name,
        group: '',
        enabled: !/^no$/i.test(map.get('enable') ?? 'yes'),
        direction: /^out$/i.test(dir) ? 'Out' : 'In',
        profiles: !prof || /^any$/i.test(prof) ? 'Domain,Private,Public' : prof.split(',').map((p) => p[0].toUpperCase() + p.slice(1).toLowerCase()).join(','),
        protocol: proto === 'TCP' || proto === 'UDP' ? proto : 'Any',
        localPort: map.get('localport') ?? 'Any',
        remotePort: map.get('remoteport') ?? 'Any',
        action: /^block$/i.test(action) ? 'Block' : 'Allow',
        edgeTraversal: 'No',
      },
      ctx.actor,
    );
    ctx.out(`Ok.${NL}${NL}`);
    return 0;
  }
  if (w[2] === 'delete' && w[3] === 'rule') {
    if (!ctx.admin) {
      ctx.out(ELEVATION);
      return 1;
    }
    const rules = g.firewall.rules.filter((r) => matches(r, map));
    if (!rules.length) {
      ctx.out(NO_RULES);
      return 1;
    }
    g.firewall.rules = g.firewall.rules.filter((r) => !rules.includes(r));
    for (const r of rules) g.journal.changes.push({ at: Date.now(), by: 'client', kind: 'firewall', target: `rule:${r.name}`, before: { ...r }, after: '(deleted)', via: ctx.actor.via });
    ctx.out(`${NL}Deleted ${rules.length} rule(s).${NL}Ok.${NL}${NL}`);
    return 0;
  }
  return notFound();
}

// ------------------------------------------------------------------------------------------------
// netstat, tasklist, taskkill, qwinsta, wevtutil
// ------------------------------------------------------------------------------------------------

function netstat(ctx: Ctx, args: Token[]): number {
  let a = false;
  let o = false;
  let proto: string | undefined;
  for (let i = 0; i < args.length; i++) {
    const t = args[i].text;
    if (!/^[-/]/.test(t)) continue;
    const letters = t.slice(1).toLowerCase();
    if (letters === 'p') {
      proto = args[++i]?.text.toUpperCase();
      continue;
    }
    if (letters.includes('a')) a = true;
    if (letters.includes('o')) o = true;
  }
  const g = ctx.g;
  const rank = (l: { proto: string; address: string }) => (l.proto === 'TCP' ? 0 : 2) + (l.address === '[::]' ? 1 : 0);
  const ls = a ? [...g.listeners].filter((l) => !proto || l.proto === proto).sort((x, y) => rank(x) - rank(y) || x.port - y.port) : [];
  let out = `${NL}Active Connections${NL}${NL}  Proto  Local Address          Foreign Address        State${o ? '           PID' : ''}${NL}`;
  for (const l of ls) {
    const foreign = l.proto === 'UDP' ? '*:*' : l.address === '[::]' ? '[::]:0' : '0.0.0.0:0';
    const state = l.proto === 'UDP' ? '' : 'LISTENING';
    let row = `  ${pad(l.proto, 7)}${pad(`${l.address}:${l.port}`, 23)}${pad(foreign, 23)}`;
    row += o ? `${pad(state, 16)}${l.pid}` : state;
    out += row.trimEnd() + NL;
  }
  ctx.out(out);
  return 0;
}

function memText(k: number): string {
  return `${k.toLocaleString('en-US')} K`;
}

function tasklist(ctx: Ctx, args: Token[]): number {
  const g = ctx.g;
  let svc = false;
  let nh = false;
  const filters: ((p: Guest['processes'][number]) => boolean)[] = [];
  for (let i = 0; i < args.length; i++) {
    const t = args[i].text.toLowerCase();
    if (t === '/svc') svc = true;
    else if (t === '/nh') nh = true;
    else if (t === '/fi') {
      const f = args[++i]?.text ?? '';
      const m = /^\s*(\w+)\s+(eq|ne)\s+(.+?)\s*$/i.exec(f);
      if (!m) {
        ctx.out(`ERROR: The search filter cannot be recognized.${NL}`);
        return 1;
      }
      const [, field, op, val] = m;
      const neg = op.toLowerCase() === 'ne';
      const v = val.toLowerCase();
      let pred: (p: Guest['processes'][number]) => boolean;
      switch (field.toLowerCase()) {
        case 'pid':
          pred = (p) => String(p.pid) === v;
          break;
        case 'imagename':
          pred = v.endsWith('*') ? (p) => p.image.toLowerCase().startsWith(v.slice(0, -1)) : (p) => p.image.toLowerCase() === v;
          break;
        case 'services':
          pred = (p) => p.services.some((s) => s.toLowerCase() === v);
          break;
        case 'session':
          pred = (p) => String(p.session) === v;
          break;
        default:
          ctx.out(`ERROR: The search filter cannot be recognized.${NL}`);
          return 1;
      }
      filters.push(neg ? (p) => !pred(p) : pred);
    } else {
      ctx.out(`ERROR: Invalid argument/option - '${args[i].text}'.${NL}Type "TASKLIST /?" for usage.${NL}`);
      return 1;
    }
  }
  const procs = g.processes.filter((p) => filters.every((f) => f(p))).sort((a, b) => a.pid - b.pid);
  if (!procs.length) {
    ctx.out(`INFO: No tasks are running which match the specified criteria.${NL}`);
    return 0;
  }
  let out = '';
  if (svc) {
    if (!nh) out += `${NL}Image Name                     PID Services${NL}========================= ======== ============================================${NL}`;
    for (const p of procs) {
      const names = p.services.length ? [...p.services].sort((a, b) => a.localeCompare(b)) : ['N/A'];
      const wrapped: string[] = [];
      let line = '';
      for (const n of names) {
        const piece = line ? `, ${n}` : n;
        if ((line + piece).length > 44 && line) {
          wrapped.push(line + ',');
          line = n;
        } else line += piece;
      }
      wrapped.push(line);
      out += `${pad(p.image.slice(0, 25), 25)} ${lpad(String(p.pid), 8)} ${wrapped[0]}${NL}`;
      for (const w of wrapped.slice(1)) out += `${' '.repeat(35)}${w}${NL}`;
    }
  } else {
    if (!nh) out += `${NL}Image Name                     PID Session Name        Session#    Mem Usage${NL}========================= ======== ================ =========== ============${NL}`;
    for (const p of procs)
      out += `${pad(p.image.slice(0, 25), 25)} ${lpad(String(p.pid), 8)} ${pad(p.session === 0 ? 'Services' : 'Console', 16)} ${lpad(String(p.session), 11)} ${lpad(memText(p.memK), 12)}${NL}`;
  }
  ctx.out(out);
  return 0;
}

const CRITICAL = new Set(['system', 'system idle process', 'registry', 'smss.exe', 'csrss.exe', 'wininit.exe', 'services.exe', 'lsass.exe', 'winlogon.exe']);

function taskkill(ctx: Ctx, args: Token[]): number {
  const g = ctx.g;
  let force = false;
  const pids: string[] = [];
  const ims: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const t = args[i].text.toLowerCase();
    if (t === '/f') force = true;
    else if (t === '/t') continue;
    else if (t === '/pid') pids.push(args[++i]?.text ?? '');
    else if (t === '/im') ims.push(args[++i]?.text ?? '');
    else {
      ctx.err(`ERROR: Invalid argument/option - '${args[i].text}'.${NL}Type "TASKKILL /?" for usage.${NL}`);
      return 1;
    }
  }
  if (!pids.length && !ims.length) {
    ctx.err(`ERROR: Invalid syntax. Neither /FI nor /PID nor /IM were specified.${NL}Type "TASKKILL /?" for usage.${NL}`);
    return 1;
  }
  let code = 0;
  const kill = (p: Guest['processes'][number], byName: boolean) => {
    const who = byName ? `The process "${p.image}" with PID ${p.pid}` : `The process with PID ${p.pid}`;
    if (CRITICAL.has(p.image.toLowerCase()) || !ctx.admin) {
      ctx.err(`ERROR: ${who} could not be terminated.${NL}Reason: Access is denied.${NL}`);
      code = 1;
      return;
    }
    if (!force && p.session === 0) {
      ctx.err(`ERROR: ${who} could not be terminated.${NL}Reason: This process can only be terminated forcefully (with /F option).${NL}`);
      code = 1;
      return;
    }
    killProcess(g, p.pid, ctx.actor);
    ctx.out(`SUCCESS: ${who} has been terminated.${NL}`);
  };
  for (const pid of pids) {
    const p = g.processes.find((x) => String(x.pid) === pid);
    if (!p) {
      ctx.err(`ERROR: The process "${pid}" not found.${NL}`);
      code = 128;
    } else kill(p, false);
  }
  for (const im of ims) {
    const ps = g.processes.filter((x) => x.image.toLowerCase() === im.toLowerCase());
    if (!ps.length) {
      ctx.err(`ERROR: The process "${im}" not found.${NL}`);
      code = 128;
    }
    for (const p of ps) kill(p, true);
  }
  return code;
}

function qwinsta(ctx: Ctx): number {
  const g = ctx.g;
  const ts = g.services.TermService;
  if (ts.state !== 'RUNNING') {
    ctx.err(`Error 1722 getting sessionnames${NL}Error [1722]:The RPC server is unavailable.${NL}`);
    return 1;
  }
  const row = (cur: boolean, name: string, user: string, id: number, state: string) =>
    `${cur ? '>' : ' '}${pad(name, 18)}${pad(user, 22)}${lpad(String(id), 5)}  ${state}`.trimEnd();
  let out = ` SESSIONNAME       USERNAME                 ID  STATE   TYPE        DEVICE${NL}`;
  out += row(true, 'services', '', 0, 'Disc') + NL;
  out += row(false, 'console', '', 1, 'Conn') + NL;
  if (g.listeners.some((l) => l.proto === 'TCP' && l.pid === ts.pid)) out += row(false, 'rdp-tcp', '', 65536, 'Listen') + NL;
  ctx.out(out);
  return 0;
}

function query(ctx: Ctx, args: Token[]): number {
  const sub = args[0]?.text.toLowerCase();
  if (sub === 'session' || sub === 'winsta') return qwinsta(ctx);
  if (sub === 'user') {
    ctx.err(`No User exists for *${NL}`);
    return 1;
  }
  ctx.out(`Invalid parameter(s)${NL}QUERY { PROCESS | SESSION | TERMSERVER | USER }${NL}`);
  return 1;
}

function wevtutil(ctx: Ctx, args: Token[]): number {
  const g = ctx.g;
  const sub = args[0]?.text.toLowerCase();
  if (sub === 'el' || sub === 'enum-logs') {
    ctx.out(Object.keys(g.eventLog).sort().map((n) => n + NL).join(''));
    return 0;
  }
  if (sub !== 'qe' && sub !== 'query-events') {
    ctx.err(`The command line is invalid.${NL}`);
    return 87;
  }
  const logName = args[1]?.text;
  const logKey = logName ? Object.keys(g.eventLog).find((k) => k.toLowerCase() === logName.toLowerCase()) : undefined;
  let count = Infinity;
  let rd = false;
  let text = false;
  for (const a of args.slice(2)) {
    const m = /^\/(\w+):(.*)$/.exec(a.text);
    if (!m) continue;
    const k = m[1].toLowerCase();
    if (k === 'c' || k === 'count') count = +m[2];
    else if (k === 'rd' || k === 'reversedirection') rd = /^true$/i.test(m[2]);
    else if (k === 'f' || k === 'format') text = /^text$/i.test(m[2]);
  }
  if (!logKey) {
    ctx.err(`Failed to read events. The specified channel could not be found.${NL}`);
    return 15007;
  }
  let evs = [...g.eventLog[logKey]];
  if (rd) evs.reverse();
  evs = evs.slice(0, count);
  if (text) {
    ctx.out(
      evs
        .map((e, i) =>
          [
            `Event[${i}]:`,
            `  Log Name: ${logKey}`,
            `  Source: ${e.source}`,
            `  Date: ${e.date}`,
            `  Event ID: ${e.id}`,
            `  Task: ${e.task ?? 'N/A'}`,
            `  Level: ${e.level}`,
            `  Opcode: ${e.opcode ?? 'Info'}`,
            `  Keyword: ${e.keyword ?? 'N/A'}`,
            `  User: ${e.user ?? 'S-1-5-20'}`,
            `  User Name: ${e.userName ?? 'NT AUTHORITY\\NETWORK SERVICE'}`,
            `  Computer: ${g.hostname}`,
            '  Description: ',
            e.description,
          ].join(NL) + NL,
        )
        .join(NL),
    );
  } else {
    ctx.out(
      evs
        .map(
          (e) =>
            `<Event xmlns='http://schemas.microsoft.com/win/2004/08/events/event'><System><Provider Name='${e.source}'/><EventID>${e.id}</EventID><Level>${{ Information: 4, Warning: 3, Error: 2 }[e.level]}</Level><TimeCreated SystemTime='${e.date}Z'/><Channel>${logKey}</Channel><Computer>${g.hostname}</Computer></System></Event>`,
        )
        .join(NL) + (evs.length ? NL : ''),
    );
  }
  return 0;
}

// ------------------------------------------------------------------------------------------------
// find, findstr, more
// ------------------------------------------------------------------------------------------------

function find(ctx: Ctx, args: Token[]): number {
  let v = false;
  let c = false;
  let n = false;
  let i = false;
  let needle: string | undefined;
  const files: string[] = [];
  for (const a of args) {
    if (!a.quoted && /^\/(v|c|n|i|off(line)?)$/i.test(a.text)) {
      const s = a.text.slice(1).toLowerCase();
      if (s === 'v') v = true;
      else if (s === 'c') c = true;
      else if (s === 'n') n = true;
      else if (s === 'i') i = true;
    } else if (needle === undefined) {
      if (!a.quoted) {
        ctx.err(`FIND: Parameter format not correct${NL}`);
        return 2;
      }
      needle = a.text;
    } else files.push(a.text);
  }
  if (needle === undefined) {
    ctx.err(`FIND: Parameter format not correct${NL}`);
    return 2;
  }
  const test = (l: string) => {
    const hit = i ? l.toLowerCase().includes(needle!.toLowerCase()) : l.includes(needle!);
    return v ? !hit : hit;
  };
  let any = false;
  const run = (lines: string[], header?: string) => {
    const hits = lines.map((l, k) => [l, k + 1] as const).filter(([l]) => test(l));
    if (hits.length) any = true;
    if (header !== undefined) ctx.out(c ? `${NL}---------- ${header.toUpperCase()}: ${hits.length}${NL}` : `${NL}---------- ${header.toUpperCase()}${NL}`);
    if (c && header === undefined) ctx.out(`${hits.length}${NL}`);
    else if (!c) for (const [l, k] of hits) ctx.out(`${n ? `[${k}]` : ''}${l}${NL}`);
  };
  if (files.length) {
    for (const f of files) {
      const content = ctx.g.files[ctx.s.resolvePath(f).toLowerCase()];
      if (content === undefined) {
        ctx.err(`File not found - ${f.toUpperCase()}${NL}`);
        continue;
      }
      run(splitLines(content), f);
    }
  } else run(splitLines(ctx.stdin ?? ''));
  return any ? 0 : 1;
}

function findstrRegex(pat: string, ci: boolean): RegExp {
  let re = '';
  for (let k = 0; k < pat.length; k++) {
    const ch = pat[k];
    if (ch === '\\' && k + 1 < pat.length) {
      re += '\\' + pat[++k];
    } else if (ch === '.') re += '.';
    else if (ch === '*') re += '*';
    else if (ch === '^' && k === 0) re += '^';
    else if (ch === '$' && k === pat.length - 1) re += '$';
    else if (ch === '[') {
      const j = pat.indexOf(']', k);
      if (j > k) {
        re += pat.slice(k, j + 1);
        k = j;
      } else re += '\\[';
    } else re += ch.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');
  }
  return new RegExp(re, ci ? 'i' : '');
}

function findstr(ctx: Ctx, args: Token[]): number {
  let ci = false;
  let inv = false;
  let lit = false;
  let x = false;
  let b = false;
  let e = false;
  let n = false;
  const needles: string[] = [];
  let gotStrings = false;
  for (const a of args) {
    const m = !a.quoted ? /^\/([a-z]+)(?::(.*))?$/i.exec(a.text) : null;
    if (m && m[2] !== undefined && m[1].toLowerCase() === 'c') {
      needles.push(m[2]);
      lit = true;
      gotStrings = true;
      continue;
    }
    if (m && m[2] === undefined) {
      for (const s of m[1].toLowerCase()) {
        if (s === 'i') ci = true;
        else if (s === 'v') inv = true;
        else if (s === 'l') lit = true;
        else if (s === 'r') lit = false;
        else if (s === 'x') x = true;
        else if (s === 'b') b = true;
        else if (s === 'e') e = true;
        else if (s === 'n') n = true;
      }
      continue;
    }
    if (!gotStrings) {
      needles.push(...a.text.split(/\s+/).filter(Boolean));
      gotStrings = true;
    }
  }
  if (!needles.length) {
    ctx.err(`FINDSTR: Bad command line${NL}`);
    return 2;
  }
  const tests = needles.map((p) => {
    if (lit) {
      return (l: string) => {
        const L = ci ? l.toLowerCase() : l;
        const P = ci ? p.toLowerCase() : p;
        if (x) return L === P;
        if (b) return L.startsWith(P);
        if (e) return L.endsWith(P);
        return L.includes(P);
      };
    }
    const re = findstrRegex((b || x ? '^' : '') + p + (e || x ? '$' : ''), ci);
    return (l: string) => re.test(l);
  });
  const lines = splitLines(ctx.stdin ?? '');
  let any = false;
  lines.forEach((l, k) => {
    const hit = tests.some((t) => t(l)) !== inv;
    if (hit) {
      any = true;
      ctx.out(`${n ? `${k + 1}:` : ''}${l}${NL}`);
    }
  });
  return any ? 0 : 1;
}

async function more(ctx: Ctx): Promise<number> {
  if (ctx.stdin === undefined) return 0;
  const lines = splitLines(ctx.stdin);
  const page = (ctx.io.rows ?? 24) - 1;
  let k = 0;
  let take = page;
  while (k < lines.length) {
    const chunk = lines.slice(k, k + take);
    ctx.out(chunk.map((l) => l + NL).join(''));
    k += chunk.length;
    if (k >= lines.length) break;
    ctx.out('-- More  --');
    const key = await ctx.io.readKey?.() ?? (await ctx.io.readLine());
    ctx.out('\r' + ' '.repeat(11) + '\r');
    if (/^q/i.test(key)) break;
    take = key === '\r' || key === '\n' ? 1 : page;
  }
  return 0;
}

// ------------------------------------------------------------------------------------------------
// Small built-ins
// ------------------------------------------------------------------------------------------------

const HANDLERS: Record<string, Handler> = {
  sc,
  net,
  net1: net,
  reg,
  netsh,
  netstat,
  tasklist,
  taskkill,
  qwinsta,
  query,
  wevtutil,
  find,
  findstr,
  more,
  hostname: (ctx) => {
    ctx.out(ctx.g.hostname + NL);
    return 0;
  },
  ver: (ctx) => {
    ctx.out(`${NL}Microsoft Windows [Version ${ctx.g.os.version}]${NL}`);
    return 0;
  },
  whoami: (ctx) => {
    ctx.out(`${ctx.g.hostname.toLowerCase()}\\${ctx.s.opts.user.toLowerCase()}${NL}`);
    return 0;
  },
  cls: (ctx) => {
    ctx.io.clear?.();
  },
  rem: () => {},
  exit: (ctx, args) => {
    const code = args.find((a) => !a.text.startsWith('/'));
    if (ctx.s.nesting > 0) ctx.s.nesting--;
    else ctx.s.exited = true;
    return code ? +code.text || 0 : ctx.s.errorlevel;
  },
  set: (ctx, _args, rest) => {
    const r = rest.trim();
    const eq = r.indexOf('=');
    if (eq > 0) {
      const k = r.slice(0, eq);
      const existing = Object.keys(ctx.s.env).find((e) => e.toLowerCase() === k.toLowerCase());
      if (existing) delete ctx.s.env[existing];
      if (r.slice(eq + 1) !== '') ctx.s.env[k] = r.slice(eq + 1);
      return;
    }
    const keys = Object.keys(ctx.s.env)
      .filter((k) => !r || k.toLowerCase().startsWith(r.toLowerCase()))
      .sort((a, b) => a.toLowerCase().localeCompare(b.toLowerCase()));
    if (!keys.length) {
      ctx.err(`Environment variable ${r} not defined${NL}`);
      return 1;
    }
    ctx.out(keys.map((k) => `${k}=${ctx.s.env[k]}${NL}`).join(''));
    return 0;
  },
  call: async (ctx, _args, rest) => {
    await ctx.s.runNested(rest.trim(), ctx.io);
  },
  cmd: async (ctx, args, rest) => {
    const m = /^\s*\/[ck]\s+(.*)$/is.exec(rest);
    if (m) {
      let inner = m[1].trim();
      if (inner.startsWith('"') && inner.endsWith('"')) inner = inner.slice(1, -1);
      const sub = new CmdSession(ctx.g, ctx.s.opts);
      sub.env = { ...ctx.s.env };
      sub.cwd = ctx.s.cwd;
      await sub.runNested(inner, ctx.io);
      return sub.errorlevel;
    }
    ctx.s.nesting++;
    ctx.out(ctx.s.banner() + NL);
    void args;
    return 0;
  },
  type: (ctx, args) => {
    const f = args[0]?.text;
    const content = f === undefined ? undefined : ctx.g.files[ctx.s.resolvePath(f).toLowerCase()];
    if (content === undefined) {
      ctx.err(`The system cannot find the file specified.${NL}`);
      return 1;
    }
    ctx.out(content);
    return 0;
  },
  del: (ctx, args) => {
    for (const a of args.filter((x) => !x.text.startsWith('/'))) {
      const k = ctx.s.resolvePath(a.text).toLowerCase();
      if (ctx.g.files[k] === undefined) ctx.err(`Could Not Find ${ctx.s.resolvePath(a.text)}${NL}`);
      else {
        delete ctx.g.files[k];
        ctx.g.journal.changes.push({ at: Date.now(), by: 'client', kind: 'file', target: ctx.s.resolvePath(a.text), after: '(deleted)', via: ctx.actor.via });
      }
    }
    return 0;
  },
  cd: (ctx, _args, rest) => {
    let p = rest.trim().replace(/^\/d\s+/i, '').replace(/^"|"$/g, '');
    if (!p) {
      ctx.out(ctx.s.cwd + NL);
      return 0;
    }
    if (p === '\\') p = 'C:\\';
    else if (p === '..') p = ctx.s.cwd.replace(/\\[^\\]+$/, '') || 'C:\\';
    else p = ctx.s.resolvePath(p);
    if (/^[a-z]:$/i.test(p)) p += '\\';
    ctx.s.cwd = p;
    return 0;
  },
  dir: (ctx) => {
    const prefix = ctx.s.cwd.toLowerCase().replace(/\\$/, '') + '\\';
    const files = Object.entries(ctx.g.files).filter(([k]) => k.startsWith(prefix) && !k.slice(prefix.length).includes('\\'));
    let o = ` Volume in drive C has no label.${NL} Volume Serial Number is 5A3C-91F2${NL}${NL} Directory of ${ctx.s.cwd}${NL}${NL}`;
    for (const [k, v] of files) o += `05/01/2024  10:12 AM    ${lpad(v.length.toLocaleString('en-US'), 14)} ${k.slice(prefix.length)}${NL}`;
    o += `${lpad(String(files.length), 16)} File(s) ${lpad(files.reduce((s, [, v]) => s + v.length, 0).toLocaleString('en-US'), 14)} bytes${NL}`;
    o += `               0 Dir(s)  21,474,836,480 bytes free${NL}`;
    ctx.out(o);
    return 0;
  },
  gpupdate: (ctx) => {
    ctx.out(`Updating policy...${NL}${NL}`);
    gpoRefresh(ctx.g);
    ctx.out(`Computer Policy update has completed successfully.${NL}User Policy update has completed successfully.${NL}${NL}`);
    return 0;
  },
  shutdown: (ctx, args) => {
    const w = args.map((a) => a.text.toLowerCase());
    const what = w.includes('/r') ? 'restart' : w.includes('/s') ? 'shutdown' : undefined;
    if (!what) {
      ctx.err(`Usage: shutdown [/i | /l | /s | /sg | /r | /g | /a | /p | /h | /e | /o] [/hybrid] [/soft] [/fw] [/f]${NL}    [/m \\\\computer][/t xxx][/d [p|u:]xx:yy [/c "comment"]]${NL}`);
      return 1;
    }
    ctx.g.journal.changes.push({ at: Date.now(), by: 'client', kind: 'power', target: 'power', after: what, via: ctx.actor.via });
    ctx.s.opts.onPower?.(what);
    return 0;
  },
  ipconfig: (ctx) => {
    const n = ctx.g.network;
    ctx.out(
      [
        '',
        'Windows IP Configuration',
        '',
        '',
        'Ethernet adapter Ethernet:',
        '',
        `   Connection-specific DNS Suffix  . : ${n.dnsSuffix}`,
        '   Link-local IPv6 Address . . . . . : fe80::5d2c:9e1a:3b7f:1a2c%4',
        `   IPv4 Address. . . . . . . . . . . : ${n.ip}`,
        `   Subnet Mask . . . . . . . . . . . : ${n.subnet}`,
        `   Default Gateway . . . . . . . . . : ${n.gateway}`,
        '',
      ].join(NL),
    );
    return 0;
  },
};

// ------------------------------------------------------------------------------------------------
// Convenience for unit tests
// ------------------------------------------------------------------------------------------------

export interface RunCmdResult {
  /** Everything the line wrote to the console (stdout and stderr, in order). */
  output: string;
  errorlevel: number;
  session: CmdSession;
}

/**
 * Runs one command line against `guest` without a terminal. Prompts read from `answers` (then empty lines).
 * Pass `session` to keep errorlevel/environment between lines.
 */
export async function runCmd(
  guest: Guest,
  line: string,
  opts: { user?: string; answers?: string[]; session?: CmdSession } = {},
): Promise<RunCmdResult> {
  const session = opts.session ?? new CmdSession(guest, { user: opts.user ?? 'Administrator' });
  const answers = [...(opts.answers ?? [])];
  let output = '';
  const io: CmdIo = {
    write: (t) => (output += t),
    readLine: async () => {
      const a = answers.shift() ?? '';
      output += a + NL;
      return a;
    },
    readKey: async () => answers.shift() ?? ' ',
    clear: () => (output = ''),
  };
  await session.runLine(line, io);
  return { output, errorlevel: session.errorlevel, session };
}

