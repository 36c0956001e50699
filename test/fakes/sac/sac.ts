/**
 * Windows SAC (Special Administration Console) on COM1, over the guest model.
 *
 * - The SAC channel: `SAC>` prompt, line editing as ReactOS `ConMgrSerialPortConsumer` (CR or LF ends a line, LF
 *   after CR swallowed, Ctrl-C = Enter, BS/DEL -> `\b \b`, TAB -> bell, 80-character buffer, trimmed and
 *   lower-cased, commands matched by PREFIX: any line starting with t, ?, help, f, p, id, crashdump, lock, shutdown,
 *   restart, d or cmd runs that command; ch, k, l, r, m, s, i need a space or the end of the line after them).
 * - `cmd` creates a channel `Cmd%04d` (counter from `cmdCounterStart`, rising for the whole boot), with the EVENT lines.
 * - `ch`, `ch -?`, `ch -si N`, `ch -sn NAME`, `ch -ci N`, `ch -cn NAME`; ESC TAB cycles channels through the
 *   switching header, `0` right after ESC TAB returns to SAC, any other key views the channel (and is swallowed).
 * - A cmd channel asks `Please enter login credentials.` / `Username: ` / `Domain  : ` / `Password: ` (echoed `*`),
 *   then runs cmd.ts on an 80x24 screen without scrollback (screen.ts), re-asks after `lock` or `idleLockMs`.
 * Message texts are from sacmsg.mc (Microsoft, 2000); see README.md for what is assumed.
 */
import { randomUUID } from 'node:crypto';
import { CmdSession, type CmdIo } from './cmd.js';
import { type Guest, findAccount, killProcess, reconcile, spawnProcess } from './guest.js';
import { ConsoleScreen, ROWS } from './screen.js';

const NL = '\r\n';
const CLEAR = '\x1b[2J\x1b[H';

// ---- sacmsg.mc texts ------------------------------------------------------------------------------
export const SAC_PROMPT = 'SAC>';
export const SAC_INITIALIZED =
  `${NL}Computer is booting, SAC started and initialized.${NL}${NL}` +
  `Use the "ch -?" command for information about using channels.${NL}` +
  `Use the "?" command for general help.${NL}${NL}`;
export const SAC_CMD_SERVICE_REGISTERED = 'EVENT: The CMD command is now available.';
export const SAC_CMD_SERVICE_SUCCESS = 'The Command Prompt session was successfully launched.';
export const SAC_CMD_SERVICE_NOT_REGISTERED =
  `Error: Unable to launch a Command Prompt.  The service responsible for launching${NL}` +
  `       Command Prompt channels has not yet registered.  This may be because the${NL}` +
  `       service is not yet started, is disabled by the administrator, is${NL}` +
  `       malfunctioning or is unresponsive.  `;
export const SAC_NEW_CHANNEL_CREATED = 'EVENT:   A new channel has been created.  Use "ch -?" for channel help.';
export const SAC_CHANNEL_CLOSED = 'EVENT:   A channel has been closed.';
export const SAC_UNKNOWN_COMMAND = "Unrecognized command.  Try the 'help' command for more details.";
export const SAC_INVALID_PARAMETER = "A parameter was incorrect or missing.  Try the 'help' command for more details.";
export const SAC_CHANNEL_NOT_FOUND = 'Error: Could not find a channel with that name.';
export const SAC_CHANNEL_NOT_FOUND_AT_INDEX = 'Error: There is no channel present at the specified index.';
export const SAC_CANNOT_REMOVE_SAC_CHANNEL = 'Error: The SAC channel cannot be closed.';
export const SAC_CMD_CHAN_MGR_IS_FULL = 'The maximum number of channels has been reached.  ';
export const SAC_CMD_CHANNELS_LOCKED = 'Locked access to all Command Prompt channels.';
export const SAC_PREPARE_RESTART = 'SAC preparing to restart the system.';
export const SAC_PREPARE_SHUTDOWN = 'SAC preparing to shutdown the system.';
export const SAC_MORE_MESSAGE = '----Press <Enter> for more----';
export const SAC_SWITCH_PROMPT_TAIL =
  `Press <esc><tab> for next channel.${NL}Press <esc><tab>0 to return to the SAC channel.${NL}Use any other key to view this channel.${NL}${NL}`;
// ---- sacsess (the cmd channel's log-in); the failure text is an assumption, see README ---------------
export const LOGIN_PROMPT = `Please enter login credentials.${NL}Username: `;
export const DOMAIN_PROMPT = 'Domain  : ';
export const PASSWORD_PROMPT = 'Password: ';
/** [assumption] The real sacsess text was not found in any source; this fake prints this line. */
export const LOGIN_FAILED = 'Unable to authenticate: the username, domain or password is incorrect.';

const SAC_APP_GUID = '63d02270-8aa4-11d5-bccf-806d6172696f';
const CMD_APP_GUID = '63d02271-8aa4-11d5-bccf-00b0d014a2d0';

const HELP = [
  'ch                   Channel management commands.  Use ch -? for more help.    ',
  'cmd                  Create a Command Prompt channel.',
  'd                    Dump the current kernel log.',
  'f                    Toggle detailed or abbreviated tlist info.',
  '? or help            Display this list.',
  'i                    List all IP network numbers and their IP addresses.',
  'i <#> <ip> <subnet> <gateway> Set IP addr., subnet and gateway.',
  'id                   Display the computer identification information.',
  'k <pid>              Kill the given process.',
  'l <pid>              Lower the priority of a process to the lowest possible.',
  'lock                 Lock access to Command Prompt channels.',
  'm <pid> <MB-allow>   Limit the memory usage of a process to <MB-allow>.',
  'p                    Toggle paging the display.',
  'r <pid>              Raise the priority of a process by one.',
  's                    Display the current time and date (24 hour clock used).',
  's mm/dd/yyyy hh:mm   Set the current time and date (24 hour clock used).',
  't                    Tlist.',
  'restart              Restart the system immediately.',
  'shutdown             Shutdown the system immediately.',
  'crashdump            Crash the system. You must have crash dump enabled.',
];

const CH_HELP = [
  'Channel management commands:',
  '',
  'ch                   List all channels.',
  '',
  'Status Legend: (AB)',
  'A: Channel operational status',
  "    'A' = Channel is active.",
  "    'I' = Channel is inactive.",
  'B: Channel Type',
  "    'V' = VT-UTF8 emulation.",
  "    'R' = Raw - no emulation.",
  '',
  'ch -si <#>           Switch to a channel by its number.',
  'ch -sn <name>        Switch to a channel by its name.',
  'ch -ci <#>           Close a channel by its number.',
  'ch -cn <name>        Close a channel by its name.',
  '',
  'Press <esc><tab> to select a channel.',
  'Press <esc><tab>0 to return to the SAC channel.',
];

/** The SAC commands in the order ReactOS tests their prefixes. */
const PREFIX_COMMANDS = ['t', '?', 'help', 'f', 'p', 'id', 'crashdump', 'lock', 'shutdown', 'restart', 'd', 'cmd'] as const;
const SPACED_COMMANDS = ['ch', 'k', 'l', 'r', 'm', 's', 'i'] as const;
export type SacCommand = (typeof PREFIX_COMMANDS)[number] | (typeof SPACED_COMMANDS)[number];

/** What SAC makes of a line typed at `SAC>` (after trimming and lower-casing). */
export function matchSacCommand(line: string): { command: SacCommand | 'empty' | 'unrecognized'; exact: boolean } {
  const n = line.trim().toLowerCase();
  if (n === '') return { command: 'empty', exact: true };
  // exact: the line is the command as documented (arg-less commands alone; ch/k/l/r/m/s/i followed by arguments)
  for (const p of PREFIX_COMMANDS) if (n.startsWith(p)) return { command: p, exact: n === p };
  for (const p of SPACED_COMMANDS) if (n === p || n.startsWith(p + ' ')) return { command: p, exact: true };
  return { command: 'unrecognized', exact: false };
}

export interface SacLineRecord {
  at: number;
  /** The line as typed. */
  line: string;
  /** The SAC command it ran ('unrecognized' for none, 'empty' for a blank line). */
  ran: SacCommand | 'empty' | 'unrecognized';
  /** The line is the command as documented (`dir` runs `d` but is not exact; nor are `shutdown /r`, `cmd /c x`). */
  exact: boolean;
}

export interface SacHooks {
  /** Bytes to COM1. */
  write(s: string): void;
  /** A cmd line is about to run; return true to drop the connection right after it ran (its output unsent). */
  beforeCommand?(channel: string, line: string): boolean;
  /** After the command of a `beforeCommand` that returned true ran. */
  dropNow?(): void;
  /** shutdown / restart / crashdump at `SAC>` (or `shutdown /r|/s` in a cmd channel). */
  power(what: 'shutdown' | 'restart' | 'crashdump'): void;
  /** The key being processed went into a password field. */
  secret?(): void;
  sacLine?(rec: SacLineRecord): void;
}

export interface SacOptions {
  /** The first channel is Cmd%04d of this (default 6, as in the doc's transcript: don't assume Cmd0001). */
  cmdCounterStart?: number;
  /** Channels including SAC (default 10). */
  maxChannels?: number;
  /** A logged-in cmd channel asks for credentials again after this much idleness (default: never). */
  idleLockMs?: number;
  /** Paging at SAC> starts ON [assumption]. */
  paging?: boolean;
  /** Delay of the asynchronous EVENT lines (default 30 ms). */
  eventDelayMs?: number;
}

interface CmdChannel {
  name: string;
  guid: string;
  screen: ConsoleScreen;
  state: 'username' | 'domain' | 'password' | 'shell';
  field: string;
  loginUser: string;
  loginDomain: string;
  session?: CmdSession;
  lineBuf: string;
  busy: boolean;
  queue: string[];
  reader?: { line: string; resolve: (s: string) => void };
  keyReader?: (k: string) => void;
  locked?: ConsoleScreen;
  idle?: NodeJS.Timeout;
  pids: number[];
  flushScheduled: boolean;
}

type Mode = { kind: 'sac' } | { kind: 'more'; rest: string[] } | { kind: 'header'; target: number; viaEscTab: boolean } | { kind: 'channel' };

export interface SacSnapshot {
  channels: { index: number; name: string; loggedIn: boolean; locked: boolean }[];
  /** 'SAC' or the cmd channel viewed, or 'header' while the switching header is shown. */
  current: string;
  nextChannel: string;
  paging: boolean;
  kernelLogDumps: number;
  off: boolean;
}

export class Sac {
  private channels: CmdChannel[] = [];
  private current = 0; // 0 = SAC; n = channels[n-1]
  private mode: Mode = { kind: 'sac' };
  private counter: number;
  private buf = '';
  private escPending = false;
  private lastCR = false;
  private paging: boolean;
  private detailed = false;
  private lowered = new Set<number>();
  private sacScreen = new ConsoleScreen();
  private timers = new Set<NodeJS.Timeout>();
  /** The VM booted and nobody saw the banner yet. */
  bootPending = true;
  kernelLogDumps = 0;
  /** EMS off, VM off, or after shutdown: no output, input ignored. */
  silent = false;

  constructor(
    private readonly guest: Guest,
    private readonly hooks: SacHooks,
    private readonly opts: SacOptions = {},
  ) {
    this.counter = opts.cmdCounterStart ?? 6;
    this.paging = opts.paging ?? true;
  }

  // ---- output ----------------------------------------------------------------------------------

  private com1(s: string): void {
    if (!this.silent && s) this.hooks.write(s);
  }

  /** Output of the SAC channel: into its buffer, and to the wire while it is shown. */
  private sacOut(s: string): void {
    this.sacScreen.write(s);
    if (this.mode.kind === 'sac' || this.mode.kind === 'more') this.com1(s);
  }

  private later(ms: number, f: () => void): void {
    const t = setTimeout(() => {
      this.timers.delete(t);
      f();
    }, ms);
    this.timers.add(t);
  }

  /** Called when a client attaches: the boot banner (once per boot, or always). */
  attach(bannerOnConnect: 'first' | 'always' | 'never'): void {
    if (this.silent) return;
    if (bannerOnConnect === 'always' || (bannerOnConnect === 'first' && this.bootPending)) {
      this.bootPending = false;
      this.sacOut(SAC_INITIALIZED + SAC_PROMPT);
      if (this.guest.services.sacsvr?.state === 'RUNNING')
        this.later(this.opts.eventDelayMs ?? 30, () => this.sacOut(`${NL}${SAC_CMD_SERVICE_REGISTERED}${NL}${SAC_PROMPT}${this.buf}`));
    }
  }

  /** A reboot: channels gone, counter back to its start, banner due again. */
  reset(): void {
    for (const ch of this.channels) if (ch.idle) clearTimeout(ch.idle);
    this.channels = [];
    this.current = 0;
    this.mode = { kind: 'sac' };
    this.counter = this.opts.cmdCounterStart ?? 6;
    this.buf = '';
    this.escPending = false;
    this.sacScreen = new ConsoleScreen();
    this.bootPending = true;
  }

  dispose(): void {
    for (const t of this.timers) clearTimeout(t);
    this.timers.clear();
    for (const ch of this.channels) if (ch.idle) clearTimeout(ch.idle);
  }

  snapshot(): SacSnapshot {
    const cur = this.mode.kind === 'header' ? 'header' : this.current === 0 ? 'SAC' : this.channels[this.current - 1].name;
    return {
      channels: [
        { index: 0, name: 'SAC', loggedIn: false, locked: false },
        ...this.channels.map((c, i) => ({ index: i + 1, name: c.name, loggedIn: !!c.session, locked: c.state !== 'shell' })),
      ],
      current: cur,
      nextChannel: `Cmd${String(this.counter).padStart(4, '0')}`,
      paging: this.paging,
      kernelLogDumps: this.kernelLogDumps,
      off: this.silent,
    };
  }

  // ---- input -----------------------------------------------------------------------------------

  input(data: string): void {
    if (this.silent) return;
    for (const raw of data) {
      if (raw === '\n' && this.lastCR) {
        this.lastCR = false;
        continue;
      }
      this.lastCR = raw === '\r';
      const ch = raw === '\n' ? '\r' : raw;
      if (this.escPending) {
        this.escPending = false;
        if (ch === '\t') {
          this.nextChannelHeader();
          continue;
        }
        if (this.mode.kind === 'channel') this.channelKey(this.channels[this.current - 1], '\x1b');
      }
      if (ch === '\x1b') {
        this.escPending = true;
        continue;
      }
      this.key(ch);
    }
  }

  private key(ch: string): void {
    const m = this.mode;
    switch (m.kind) {
      case 'sac':
        return this.sacKey(ch);
      case 'more':
        if (ch === '\r' || ch === '\x03') this.page(m.rest);
        return;
      case 'header':
        if (m.viaEscTab && ch === '0') return this.showSac();
        return this.view(m.target);
      case 'channel':
        return this.channelKey(this.channels[this.current - 1], ch);
    }
  }

  private sacKey(ch: string): void {
    if (ch === '\r' || ch === '\x03') {
      this.sacOut(NL);
      const line = this.buf;
      this.buf = '';
      this.sacLine(line);
    } else if (ch === '\b' || ch === '\x7f') {
      if (this.buf) {
        this.buf = this.buf.slice(0, -1);
        this.sacOut('\b \b');
      }
    } else if (ch === '\t') this.com1('\x07');
    else if (ch >= ' ' && this.buf.length < 79) {
      this.buf += ch;
      this.sacOut(ch);
    }
  }

  // ---- SAC commands ----------------------------------------------------------------------------

  private prompt(): void {
    this.sacOut(SAC_PROMPT);
  }

  /** Prints lines at SAC>, paged when paging is on, then the prompt. */
  private lines(ls: string[]): void {
    if (this.paging && ls.length > ROWS - 1) {
      this.sacOut(ls.slice(0, ROWS - 1).map((l) => l + NL).join('') + SAC_MORE_MESSAGE);
      this.mode = { kind: 'more', rest: ls.slice(ROWS - 1) };
      return;
    }
    this.sacOut(ls.map((l) => l + NL).join(''));
    this.prompt();
  }

  private page(rest: string[]): void {
    this.sacOut(NL);
    this.mode = { kind: 'sac' };
    this.lines(rest);
  }

  private sacLine(line: string): void {
    const { command, exact } = matchSacCommand(line);
    this.hooks.sacLine?.({ at: Date.now(), line, ran: command, exact });
    const n = line.trim().toLowerCase();
    const args = n.split(/\s+/).slice(1);
    const g = this.guest;
    switch (command) {
      case 'empty':
        return this.prompt();
      case 'unrecognized':
        return this.lines([SAC_UNKNOWN_COMMAND]);
      case '?':
      case 'help':
        return this.lines(HELP);
      case 't':
        return this.lines(this.tlist());
      case 'f':
        this.detailed = !this.detailed;
        return this.lines([`Thread information is now ${this.detailed ? 'ON' : 'OFF'}.`]);
      case 'p':
        this.paging = !this.paging;
        return this.lines([`Paging is now ${this.paging ? 'ON' : 'OFF'}.`]);
      case 'id': {
        const [maj, min, build] = g.os.version.split('.');
        return this.lines([
          `           Computer Name: ${g.hostname.toUpperCase()}`,
          '           Computer GUID: 4c4c4544-0031-3310-8052-b4c04f385931',
          '  Processor Architecture: x64',
          `            Build Number: ${build}`,
          `                 Product: ${g.os.productName}`,
          '    Applied Service Pack: None',
          `          Version Number: ${maj}.${min}`,
        ]);
      }
      case 'crashdump':
        g.power.crashdumps++;
        return this.hooks.power('crashdump');
      case 'lock':
        for (const c of this.channels) this.lock(c);
        return this.lines([SAC_CMD_CHANNELS_LOCKED]);
      case 'shutdown':
        this.sacOut(SAC_PREPARE_SHUTDOWN + NL);
        return this.hooks.power('shutdown');
      case 'restart':
        this.sacOut(SAC_PREPARE_RESTART + NL);
        return this.hooks.power('restart');
      case 'd':
        this.kernelLogDumps++;
        return this.lines(this.kernelLog());
      case 'cmd':
        return this.cmd();
      case 'ch':
        return this.ch(args);
      case 'k': {
        const pid = Number(args[0]);
        if (!args[0] || !Number.isInteger(pid)) return this.lines([SAC_INVALID_PARAMETER]);
        const p = g.processes.find((x) => x.pid === pid);
        const critical = !p || pid === 0 || pid === 4 || ['csrss.exe', 'smss.exe', 'wininit.exe', 'services.exe', 'lsass.exe'].includes(p.image.toLowerCase());
        if (critical) return this.lines(['SAC failed to terminate the process.']);
        killProcess(g, pid, { by: 'client', via: `SAC>${line}` });
        return this.lines(['SAC successfully terminated the process.']);
      }
      case 'l':
      case 'r':
      case 'm': {
        const pid = Number(args[0]);
        if (!args[0] || !Number.isInteger(pid) || (command === 'm' && !args[1])) return this.lines([SAC_INVALID_PARAMETER]);
        const exists = g.processes.some((x) => x.pid === pid);
        if (command === 'l') {
          if (exists) this.lowered.add(pid);
          return this.lines([exists ? 'SAC successfully lowered the process priority.' : 'SAC failed to lower the process priority.']);
        }
        if (command === 'r') {
          if (!exists) return this.lines(['SAC failed to raise the process priority.']);
          if (!this.lowered.delete(pid)) return this.lines(['SAC cannot raise the priority of a process that was not previously lowered.']);
          return this.lines(['SAC successfully raised the process priority.']);
        }
        return this.lines([exists ? 'SAC successfully limited the available process memory.' : 'SAC failed to limit the available process memory.']);
      }
      case 's': {
        const d = new Date();
        const p2 = (x: number) => String(x).padStart(2, '0');
        if (args.length) return this.lines([`Date: ${args[0]}  Time (GMT): ${args[1] ?? '00:00'}`]);
        return this.lines([
          `Date: ${p2(d.getUTCMonth() + 1)}/${p2(d.getUTCDate())}/${d.getUTCFullYear()}  Time (GMT): ${p2(d.getUTCHours())}:${p2(d.getUTCMinutes())}:${p2(d.getUTCSeconds())}:${String(d.getUTCMilliseconds()).padStart(4, '0')}`,
        ]);
      }
      case 'i': {
        const net = g.network;
        if (args.length === 0) return this.lines(['SAC is retrieving IP Addresses...', `Net: 0, Ip=${net.ip}  Subnet=${net.subnet}  Gateway=${net.gateway}`]);
        const ip4 = /^(\d{1,3}\.){3}\d{1,3}$/;
        if (args.length < 4 || args[0] !== '0') return this.lines(['Error, missing network interface number.']);
        if (!ip4.test(args[1])) return this.lines(['The specified IP address is invalid.']);
        if (!ip4.test(args[2])) return this.lines(['The specified subnet mask is invalid.']);
        if (!ip4.test(args[3])) return this.lines(['The specified gateway IP address is invalid.']);
        g.journal.changes.push({ at: Date.now(), by: 'client', kind: 'registry', target: 'network.ipv4', before: { ...net }, after: { ip: args[1], subnet: args[2], gateway: args[3] }, via: `SAC>${line}` });
        Object.assign(net, { ip: args[1], subnet: args[2], gateway: args[3] });
        return this.lines(['SAC successfully set the IP Address, subnet mask, and gateway.']);
      }
    }
  }

  private tlist(): string[] {
    const t = (ms: number) => {
      const s = Math.floor(ms / 1000);
      return `${String(Math.floor(s / 3600)).padStart(3)}:${String(Math.floor(s / 60) % 60).padStart(2, '0')}:${String(s % 60).padStart(2, '0')}.${String(ms % 1000).padStart(3, '0')}`;
    };
    const ls = [
      'memory: 4193784 kb  uptime:  0  1:23:45.678',
      '',
      '',
      'PageFile: \\??\\C:\\pagefile.sys',
      '        Current Size: 1310720 kb  Total Used:  48112 kb   Peak Used  61204 kb',
      '',
      ' Memory:4193784K Avail:2811360K  TotalWs:1082456K InRam Kernel:14340K P:182512K',
      ' Commit:1349912K/1140584K Limit:5504504K Peak:1503224K  Pool N:142012K P:188412K',
      '',
      '    User Time   Kernel Time    Ws   Faults  Commit Pri Hnd Thd  Pid Name',
      '                            56312   142876                          File Cache',
    ];
    for (const p of [...this.guest.processes].sort((a, b) => a.pid - b.pid)) {
      const ws = String(p.memK).padStart(6);
      ls.push(`${t(p.pid * 37)} ${t(p.pid * 113)}${ws} ${String(p.memK * 3).padStart(8)} ${String(Math.floor(p.memK / 2)).padStart(7)} ${String(8).padStart(2)} ${String(200 + (p.pid % 700)).padStart(4)} ${String(2 + (p.pid % 23)).padStart(3)} ${String(p.pid).padStart(4)} ${p.pid === 0 ? 'Idle Process' : p.image}`);
    }
    return ls;
  }

  /** [approximation] What `d` prints: the real kernel log's content was not found in a source. */
  private kernelLog(): string[] {
    return [
      'Microsoft (R) Windows (R) kernel log',
      'Boot driver \\SystemRoot\\System32\\drivers\\disk.sys loaded',
      'Boot driver \\SystemRoot\\System32\\drivers\\vioscsi.sys loaded',
      'Boot driver \\SystemRoot\\System32\\drivers\\gvnic.sys loaded',
      'Boot driver \\SystemRoot\\System32\\drivers\\sacdrv.sys loaded',
      'Boot driver \\SystemRoot\\System32\\drivers\\tcpip.sys loaded',
      'Boot driver \\SystemRoot\\System32\\drivers\\rdpbus.sys loaded',
      'Boot driver \\SystemRoot\\System32\\drivers\\termdd.sys loaded',
    ];
  }

  private cmd(): void {
    const g = this.guest;
    if (g.services.sacsvr?.state !== 'RUNNING') return this.lines(SAC_CMD_SERVICE_NOT_REGISTERED.split(NL));
    if (this.channels.length + 1 >= (this.opts.maxChannels ?? 10)) return this.lines([SAC_CMD_CHAN_MGR_IS_FULL]);
    const name = `Cmd${String(this.counter++).padStart(4, '0')}`;
    const screen = new ConsoleScreen();
    screen.write(LOGIN_PROMPT);
    const sess = spawnProcess(g, 'sacsess.exe', [], 0, 5120);
    const c: CmdChannel = {
      name,
      guid: randomUUID(),
      screen,
      state: 'username',
      field: '',
      loginUser: '',
      loginDomain: '',
      lineBuf: '',
      busy: false,
      queue: [],
      pids: [sess.pid],
      flushScheduled: false,
    };
    this.channels.push(c);
    this.lines([SAC_CMD_SERVICE_SUCCESS]);
    this.later(this.opts.eventDelayMs ?? 30, () => {
      if (this.mode.kind === 'sac') this.sacOut(`${NL}${SAC_NEW_CHANNEL_CREATED}${NL}Channel: ${name}${NL}${SAC_PROMPT}${this.buf}`);
    });
  }

  private ch(args: string[]): void {
    if (args.length === 0) {
      const rows = [
        'Channel List',
        '                       ',
        '(Use "ch -?" for information on using channels)',
        '',
        '# Status  Channel Name ',
        '0 (AV)    SAC',
        ...this.channels.map((c, i) => `${i + 1} (AV)    ${c.name}`),
      ];
      return this.lines(rows);
    }
    const [opt, val] = args;
    if (opt === '-?') return this.lines(CH_HELP);
    const byIndex = (s: string | undefined) => (s !== undefined && /^\d+$/.test(s) ? +s : undefined);
    const byName = (s: string | undefined) => {
      if (!s) return undefined;
      if (s === 'sac') return 0;
      const i = this.channels.findIndex((c) => c.name.toLowerCase() === s);
      return i < 0 ? undefined : i + 1;
    };
    if (opt === '-si' || opt === '-sn' || opt === '-ci' || opt === '-cn') {
      if (val === undefined) return this.lines([SAC_INVALID_PARAMETER]);
      const idx = opt.endsWith('i') ? byIndex(val) : byName(val);
      if (idx === undefined || idx > this.channels.length) return this.lines([opt.endsWith('i') ? SAC_CHANNEL_NOT_FOUND_AT_INDEX : SAC_CHANNEL_NOT_FOUND]);
      if (opt.startsWith('-s')) return this.header(idx, false);
      if (idx === 0) return this.lines([SAC_CANNOT_REMOVE_SAC_CHANNEL]);
      const c = this.channels[idx - 1];
      this.prompt();
      this.closeChannel(c);
      return;
    }
    return this.lines([SAC_INVALID_PARAMETER]);
  }

  // ---- channel switching -----------------------------------------------------------------------

  private header(target: number, viaEscTab: boolean): void {
    this.mode = { kind: 'header', target, viaEscTab };
    const c = target === 0 ? undefined : this.channels[target - 1];
    this.com1(
      CLEAR +
        [
          `Name:                  ${c ? c.name : 'SAC'}`,
          `Description:           ${c ? 'Command' : 'Special Administration Console'}`,
          'Type:                  VT-UTF8',
          `Channel GUID:          ${c ? c.guid : '00000000-0000-0000-0000-000000000000'}`,
          `Application Type GUID: ${c ? CMD_APP_GUID : SAC_APP_GUID}`,
          '',
          '',
        ].join(NL) +
        SAC_SWITCH_PROMPT_TAIL,
    );
  }

  private nextChannelHeader(): void {
    const from = this.mode.kind === 'header' ? this.mode.target : this.current;
    this.header((from + 1) % (this.channels.length + 1), true);
  }

  private showSac(): void {
    this.current = 0;
    this.mode = { kind: 'sac' };
    this.sacScreen.invalidate();
    this.com1(this.sacScreen.flush());
  }

  private view(target: number): void {
    if (target === 0) return this.showSac();
    const c = this.channels[target - 1];
    if (!c) return this.showSac();
    this.current = target;
    this.mode = { kind: 'channel' };
    c.screen.invalidate();
    this.com1(c.screen.flush());
    this.touch(c);
  }

  private viewed(c: CmdChannel): boolean {
    return this.mode.kind === 'channel' && this.channels[this.current - 1] === c;
  }

  /** The sample sacsess takes of the console buffer: at the next turn of the event loop, what changed since. */
  private scheduleFlush(c: CmdChannel): void {
    if (c.flushScheduled) return;
    c.flushScheduled = true;
    setImmediate(() => {
      c.flushScheduled = false;
      if (this.viewed(c)) this.com1(c.screen.flush());
    });
  }

  private closeChannel(c: CmdChannel): void {
    const i = this.channels.indexOf(c);
    if (i < 0) return;
    const wasViewed = this.viewed(c) || (this.mode.kind === 'header' && this.mode.target === i + 1);
    if (c.idle) clearTimeout(c.idle);
    this.channels.splice(i, 1);
    this.guest.processes = this.guest.processes.filter((p) => !c.pids.includes(p.pid));
    reconcile(this.guest);
    const ev = `${NL}${SAC_CHANNEL_CLOSED}${NL}Channel: ${c.name}${NL}${SAC_PROMPT}`;
    if (wasViewed) {
      this.sacScreen.write(ev);
      this.showSac();
    } else {
      if (this.current > i) this.current--;
      this.later(this.opts.eventDelayMs ?? 30, () => {
        if (this.mode.kind === 'sac') this.sacOut(ev + this.buf);
      });
    }
  }

  // ---- cmd channels ----------------------------------------------------------------------------

  private touch(c: CmdChannel): void {
    if (c.idle) clearTimeout(c.idle);
    c.idle = undefined;
    const ms = this.opts.idleLockMs;
    if (!ms || !c.session || !this.channels.includes(c)) return;
    c.idle = setTimeout(() => {
      c.idle = undefined;
      if (!c.busy && c.state === 'shell') this.lock(c);
    }, ms);
    c.idle.unref();
  }

  private lock(c: CmdChannel): void {
    if (c.state !== 'shell' || !c.session) return;
    c.locked = c.screen;
    c.screen = new ConsoleScreen();
    c.screen.write(LOGIN_PROMPT);
    c.state = 'username';
    c.field = '';
    c.lineBuf = '';
    if (this.viewed(c)) {
      c.screen.invalidate();
      this.com1(c.screen.flush());
    }
  }

  private channelKey(c: CmdChannel, ch: string): void {
    this.touch(c);
    if (c.state !== 'shell') return this.loginKey(c, ch);
    if (c.keyReader) {
      const r = c.keyReader;
      c.keyReader = undefined;
      r(ch);
      return;
    }
    if (c.reader) return this.editKey(c, ch, c.reader);
    if (c.busy) {
      c.queue.push(ch);
      return;
    }
    const ed = { line: c.lineBuf, resolve: (line: string) => void this.submit(c, line) };
    this.editKey(c, ch, ed);
    c.lineBuf = ed.line;
  }

  /** Console line editing (echo, backspace, ESC clears the line, Ctrl-C cancels). */
  private editKey(c: CmdChannel, ch: string, ed: { line: string; resolve: (s: string) => void }): void {
    if (ch === '\r') {
      c.screen.write(NL);
      const line = ed.line;
      ed.line = '';
      if (c.reader === ed) c.reader = undefined;
      ed.resolve(line);
    } else if (ch === '\b' || ch === '\x7f') {
      if (ed.line) {
        ed.line = ed.line.slice(0, -1);
        c.screen.backspace();
      }
    } else if (ch === '\x1b') {
      c.screen.backspace(ed.line.length);
      ed.line = '';
    } else if (ch === '\x03') {
      c.screen.write('^C' + NL);
      ed.line = '';
      if (c.reader === ed) {
        c.reader = undefined;
        ed.resolve('');
      } else if (c.session) c.screen.write(c.session.prompt);
    } else if (ch >= ' ') {
      ed.line += ch;
      c.screen.write(ch);
    }
    this.scheduleFlush(c);
  }

  private loginKey(c: CmdChannel, ch: string): void {
    if (ch === '\r') {
      c.screen.write(NL);
      if (c.state === 'username') {
        c.loginUser = c.field;
        c.field = '';
        c.state = 'domain';
        c.screen.write(DOMAIN_PROMPT);
      } else if (c.state === 'domain') {
        c.loginDomain = c.field;
        c.field = '';
        c.state = 'password';
        c.screen.write(PASSWORD_PROMPT);
      } else {
        const pw = c.field;
        c.field = '';
        this.login(c, pw);
      }
    } else if (ch === '\b' || ch === '\x7f') {
      if (c.field) {
        c.field = c.field.slice(0, -1);
        c.screen.backspace();
      }
    } else if (ch >= ' ') {
      c.field += ch;
      if (c.state === 'password') {
        this.hooks.secret?.();
        c.screen.write('*');
      } else c.screen.write(ch);
    }
    this.scheduleFlush(c);
  }

  private login(c: CmdChannel, password: string): void {
    const g = this.guest;
    const acct = findAccount(g, c.loginUser.trim());
    const dom = c.loginDomain.trim().toLowerCase();
    const domOk = dom === '' || dom === '.' || dom === g.hostname.toLowerCase();
    if (!acct || !acct.enabled || acct.password !== password || !domOk) {
      c.state = 'username';
      c.screen.write(`${NL}${LOGIN_FAILED}${NL}${NL}${LOGIN_PROMPT}`);
      return;
    }
    c.state = 'shell';
    if (c.locked && c.session) {
      c.screen = c.locked;
      c.locked = undefined;
      if (this.viewed(c)) c.screen.invalidate();
      this.touch(c);
      return;
    }
    c.session = new CmdSession(g, {
      user: acct.name,
      domain: c.loginDomain.trim() || undefined,
      channel: c.name,
      onPower: (what) => this.later(50, () => this.hooks.power(what)),
    });
    const proc = spawnProcess(g, 'cmd.exe', [], 0, 4012);
    const conhost = spawnProcess(g, 'conhost.exe', [], 0, 10240);
    c.pids.push(proc.pid, conhost.pid);
    c.screen.write(NL + c.session.banner() + NL + c.session.prompt);
    this.touch(c);
  }

  private async submit(c: CmdChannel, line: string): Promise<void> {
    const s = c.session!;
    if (line.trim() === '') {
      c.screen.write(s.prompt);
      this.scheduleFlush(c);
      return this.drain(c);
    }
    const drop = this.hooks.beforeCommand?.(c.name, line) ?? false;
    c.busy = true;
    const io: CmdIo = {
      write: (t) => {
        c.screen.write(t);
        this.scheduleFlush(c);
      },
      readLine: () =>
        new Promise<string>((resolve) => {
          c.reader = { line: '', resolve };
          this.scheduleFlush(c);
          this.drainInto(c);
        }),
      readKey: () =>
        new Promise<string>((resolve) => {
          c.keyReader = resolve;
          this.scheduleFlush(c);
          this.drainInto(c);
        }),
      clear: () => c.screen.clear(),
      rows: ROWS,
    };
    try {
      await s.runLine(line, io);
    } finally {
      c.busy = false;
    }
    if (s.exited) {
      this.closeChannel(c);
    } else {
      if (!/^\s*cls\s*$/i.test(line)) c.screen.write(NL);
      c.screen.write(s.prompt);
    }
    if (drop) {
      if (this.viewed(c)) this.com1(c.screen.flush());
      this.hooks.dropNow?.();
    } else this.scheduleFlush(c);
    this.touch(c);
    this.drain(c);
  }

  /** Type-ahead: keys typed while a command ran are read once it is done. */
  private drain(c: CmdChannel): void {
    while (c.queue.length && !c.busy && this.channels.includes(c)) this.channelKey(c, c.queue.shift()!);
  }

  private drainInto(c: CmdChannel): void {
    while (c.queue.length && (c.reader || c.keyReader)) {
      const k = c.queue.shift()!;
      if (c.keyReader) {
        const r = c.keyReader;
        c.keyReader = undefined;
        r(k);
      } else if (c.reader) this.editKey(c, k, c.reader);
    }
  }
}
