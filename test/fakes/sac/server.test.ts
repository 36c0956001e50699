/**
 * Drives the fake serial-port gateway + SAC with a plain ssh2 Client (pty + shell) and reads what it draws through
 * @xterm/headless, as a real client would. Everything talks to 127.0.0.1 only.
 */
import { createHash } from 'node:crypto';
import net from 'node:net';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import ssh2 from 'ssh2';
import type { ClientChannel, ConnectConfig } from 'ssh2';
import xterm from '@xterm/headless';
import { applyFault, clientChanges, healthyGuest, rdpHealth, regDword, KEY_TS } from './guest.js';
import { LOGIN_FAILED, SAC_CMD_SERVICE_NOT_REGISTERED, SAC_INITIALIZED } from './sac.js';
import { type FakeSerialConsole, type FakeSerialConsoleOptions, keyPair, parseGatewayUsername, startFakeSerialConsole } from './server.js';

const { Client } = ssh2;
const { Terminal } = xterm;

// Guard: every socket this file opens must go to loopback.
const LOOP = ['127.0.0.1', 'localhost', '::1', 'unix'];
const connectTargets: string[] = [];
const origConnect = net.Socket.prototype.connect;
net.Socket.prototype.connect = function (this: net.Socket, ...args: any[]) {
  const a0 = args[0];
  const opt = Array.isArray(a0) ? a0[0] : a0;
  const host: string =
    typeof opt === 'object' && opt !== null ? (opt.path ? 'unix' : (opt.host ?? 'localhost')) : typeof args[1] === 'string' ? args[1] : 'localhost';
  connectTargets.push(host);
  if (!LOOP.includes(host)) {
    process.nextTick(() => this.destroy(new Error(`blocked non-loopback connection to ${host}`)));
    return this;
  }
  return (origConnect as any).apply(this, args);
} as any;
afterAll(() => {
  net.Socket.prototype.connect = origConnect;
  expect(connectTargets.length).toBeGreaterThan(0);
  expect(connectTargets.filter((h) => !LOOP.includes(h))).toEqual([]);
});

const KEY = keyPair();
const OTHER_KEY = keyPair();
const USERNAME = 'test-project.us-central1-a.win-vm.alice.port=1';
const ADMIN_PW = 'Adm1n-Passw0rd!';
const TS = 'HKLM\\SYSTEM\\CurrentControlSet\\Control\\Terminal Server';

const fakes: FakeSerialConsole[] = [];
const ttys: Tty[] = [];
afterEach(async () => {
  for (const t of ttys.splice(0)) t.conn.end();
  for (const f of fakes.splice(0)) await f.close();
});

async function fake(opts: FakeSerialConsoleOptions = {}): Promise<FakeSerialConsole> {
  const f = await startFakeSerialConsole({ authorizedKeys: [{ user: 'alice', publicKey: KEY.public }], ...opts });
  fakes.push(f);
  return f;
}

interface Tty {
  conn: InstanceType<typeof Client>;
  stream: ClientChannel;
  raw: string;
  chunks: number;
  term: InstanceType<typeof Terminal>;
  closed: Promise<void>;
  hostKeySeen?: Buffer;
}

function connectCfg(f: FakeSerialConsole, over: Partial<ConnectConfig> = {}): ConnectConfig {
  return { host: f.host, port: f.port, username: USERNAME, privateKey: KEY.private, readyTimeout: 5000, ...over };
}

async function open(f: FakeSerialConsole, over: Partial<ConnectConfig> = {}): Promise<Tty> {
  const conn = new Client();
  const term = new Terminal({ cols: 80, rows: 24, allowProposedApi: true });
  let hostKeySeen: Buffer | undefined;
  const stream = await new Promise<ClientChannel>((resolve, reject) => {
    conn
      .on('ready', () => conn.shell({ term: 'vt100', cols: 80, rows: 24 }, (e, s) => (e ? reject(e) : resolve(s))))
      .on('error', reject)
      .connect(
        connectCfg(f, {
          hostVerifier: (key: Buffer) => {
            hostKeySeen = key;
            return 'SHA256:' + createHash('sha256').update(key).digest('base64').replace(/=+$/, '') === f.hostKey.sha256;
          },
          ...over,
        }),
      );
  });
  const t: Tty = { conn, stream, raw: '', chunks: 0, term, closed: new Promise((r) => conn.on('close', () => r())), hostKeySeen };
  stream.on('data', (d: Buffer) => {
    const s = d.toString('utf8');
    t.raw += s;
    t.chunks++;
    term.write(s);
  });
  ttys.push(t);
  return t;
}

async function authError(f: FakeSerialConsole, over: Partial<ConnectConfig>): Promise<Error & { level?: string }> {
  const conn = new Client();
  return new Promise((resolve, reject) => {
    conn.on('ready', () => reject(new Error('expected an authentication failure'))).on('error', resolve).connect(connectCfg(f, over));
  });
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function waitRaw(t: Tty, pat: string | RegExp, from = 0, ms = 4000): Promise<string> {
  const end = Date.now() + ms;
  for (;;) {
    const s = t.raw.slice(from);
    if (typeof pat === 'string' ? s.includes(pat) : pat.test(s)) return s;
    if (Date.now() > end) throw new Error(`timed out waiting for ${pat}; got ${JSON.stringify(s.slice(-400))}`);
    await sleep(5);
  }
}

async function screen(t: Tty): Promise<string[]> {
  await new Promise<void>((r) => t.term.write('', r));
  const b = t.term.buffer.active;
  const rows: string[] = [];
  for (let i = 0; i < 24; i++) rows.push(b.getLine(b.viewportY + i)?.translateToString(true) ?? '');
  return rows;
}

/** Every line the terminal holds, scrollback included. */
async function allLines(t: Tty): Promise<string[]> {
  await new Promise<void>((r) => t.term.write('', r));
  const b = t.term.buffer.active;
  const out: string[] = [];
  for (let i = 0; i < b.length; i++) out.push(b.getLine(i)!.translateToString(true));
  return out;
}

async function waitScreen(t: Tty, pat: RegExp, ms = 4000): Promise<string[]> {
  const end = Date.now() + ms;
  for (;;) {
    const rows = await screen(t);
    if (pat.test(rows.join('\n'))) return rows;
    if (Date.now() > end) throw new Error(`timed out waiting for ${pat} on screen:\n${rows.join('\n')}`);
    await sleep(5);
  }
}

const send = (t: Tty, s: string) => t.stream.write(s);

/** From a fresh connection to the cmd prompt; returns the channel name. */
async function toCmdPrompt(t: Tty, password = ADMIN_PW): Promise<string> {
  let m = t.raw.length;
  send(t, '\r');
  await waitRaw(t, /SAC>$/, m);
  m = t.raw.length;
  send(t, 'cmd\r');
  const ev = await waitRaw(t, /Channel: (Cmd\d{4})\r\nSAC>/, m);
  const name = /Channel: (Cmd\d{4})/.exec(ev)![1];
  m = t.raw.length;
  send(t, `ch -sn ${name}\r`);
  await waitRaw(t, 'Use any other key to view this channel.', m);
  send(t, '\r');
  await waitScreen(t, /^Username:/m);
  send(t, 'Administrator\r');
  await waitScreen(t, /^Domain {2}:/m);
  send(t, '\r');
  await waitScreen(t, /^Password:/m);
  send(t, password + '\r');
  await waitScreen(t, /C:\\Windows\\system32>$/m);
  return name;
}

/** Runs a command between markers and returns the screen lines between them (needs the output to fit). */
async function run(t: Tty, cmd: string): Promise<string[]> {
  const id = Math.random().toString(36).slice(2, 7).toUpperCase();
  send(t, `echo BEGIN-${id} & ${cmd} & echo END-${id}\r`);
  const rows = await waitScreen(t, new RegExp(`^END-${id}\\s*$`, 'm'));
  const b = rows.findIndex((r) => /^BEGIN-\w+\s*$/.test(r) && r.startsWith(`BEGIN-${id}`));
  const e = rows.findIndex((r) => r.startsWith(`END-${id}`));
  if (b < 0) throw new Error(`BEGIN marker scrolled off:\n${rows.join('\n')}`);
  return rows.slice(b + 1, e);
}

// --------------------------------------------------------------------------------------------------

describe('gateway: ssh, host key, authentication', () => {
  it('accepts the registered key for PROJECT.ZONE.INSTANCE.USER.port=1 and shows its host key', async () => {
    const f = await fake();
    const t = await open(f, { username: `${USERNAME}.replay-lines=20` });
    expect(f.hostKey.openssh).toMatch(/^ssh-ed25519 AAAA[\w+/=]+$/);
    expect(t.hostKeySeen!.equals(Buffer.from(f.hostKey.openssh.split(' ')[1], 'base64'))).toBe(true);
    expect(f.hostKey.sha256).toMatch(/^SHA256:[\w+/]{43}$/);
    await waitRaw(t, 'SAC>');
    expect(f.sessions[0]).toMatchObject({ project: 'test-project', zone: 'us-central1-a', instance: 'win-vm', user: 'alice', port: 1, extras: { 'replay-lines': '20' }, pty: { term: 'vt100', cols: 80, rows: 24 } });
    expect(f.authAttempts.filter((a) => a.accepted).map((a) => a.method)).toEqual(['publickey', 'publickey']); // the check, then the signature
  });

  it('refuses a wrong instance, an unknown key, a user without that key, no port part, and passwords', async () => {
    const f = await fake();
    for (const [over, reason] of [
      [{ username: 'test-project.us-central1-a.other-vm.alice.port=1' }, 'instance'],
      [{ privateKey: OTHER_KEY.private }, 'key'],
      [{ username: 'test-project.us-central1-a.win-vm.bob.port=1' }, 'key'],
      [{ username: 'test-project.us-central1-a.win-vm.alice' }, 'username'],
      [{ username: 'test-project.us-central1-a.win-vm.port=1' }, 'username'],
      [{ privateKey: undefined, password: 'x' }, 'method'],
    ] as const) {
      const e = await authError(f, over as Partial<ConnectConfig>);
      expect(e.level).toBe('client-authentication');
      expect(f.authAttempts.at(-1)!.reason).toBe(reason);
    }
    expect(f.sessions).toEqual([]);
    // a key registered later works (as after adding it to ssh-keys)
    f.authorizeKey('bob', OTHER_KEY.public);
    const t = await open(f, { username: 'test-project.us-central1-a.win-vm.bob.port=1', privateKey: OTHER_KEY.private });
    await waitRaw(t, 'SAC>');
  });

  it('serialPortDisabled: every authentication fails; keyPropagationAttempts: the first tries fail', async () => {
    const off = await fake({ serialPortDisabled: true });
    expect((await authError(off, {})).level).toBe('client-authentication');
    expect(off.authAttempts.every((a) => !a.accepted && a.reason === 'serial-port-disabled')).toBe(true);
    const slow = await fake({ keyPropagationAttempts: 1 });
    expect((await authError(slow, {})).level).toBe('client-authentication');
    expect(slow.authAttempts.at(-1)!.reason).toBe('propagating');
    await open(slow);
  });

  it('listens on 127.0.0.1 only', async () => {
    const f = await fake();
    expect(f.host).toBe('127.0.0.1');
    const err = await new Promise<NodeJS.ErrnoException>((resolve) => {
      const s = net.connect({ host: '::1', port: f.port }, () => resolve(Object.assign(new Error('connected on ::1'), { code: 'CONNECTED' })));
      s.on('error', resolve);
    });
    expect(['ECONNREFUSED', 'EADDRNOTAVAIL', 'ENETUNREACH']).toContain(err.code);
  });

  it('parses usernames (a project with dots, extra key=value parts)', () => {
    expect(parseGatewayUsername('example.com:proj.europe-west1-b.vm1.bob.port=1.replay-lines=50.max-connections=2')).toEqual({
      project: 'example.com:proj',
      zone: 'europe-west1-b',
      instance: 'vm1',
      user: 'bob',
      port: 1,
      extras: { 'replay-lines': '50', 'max-connections': '2' },
    });
  });
});

describe('SAC channel', () => {
  it('prints the boot banner and SAC> to the first connection, then the CMD event; later connections get nothing until Enter', async () => {
    const f = await fake();
    const t = await open(f);
    await waitRaw(t, 'EVENT: The CMD command is now available.\r\nSAC>');
    expect(t.raw).toBe(SAC_INITIALIZED + 'SAC>\r\nEVENT: The CMD command is now available.\r\nSAC>');
    expect(t.raw.startsWith('\r\nComputer is booting, SAC started and initialized.\r\n\r\nUse the "ch -?" command for information about using channels.\r\nUse the "?" command for general help.\r\n\r\nSAC>')).toBe(true);
    t.conn.end();
    const t2 = await open(f);
    await sleep(100);
    expect(t2.raw).toBe('');
    send(t2, '\r');
    expect(await waitRaw(t2, 'SAC>')).toBe('\r\nSAC>');
  });

  it('line editing: echo, lower-casing, backspace, TAB bell, Ctrl-C and LF as Enter, CRLF counted once', async () => {
    const f = await fake({ bannerOnConnect: 'never' });
    const t = await open(f);
    send(t, 'HELPX\r\n');
    const help = await waitRaw(t, /Display this list\.[\s\S]*SAC>$/);
    expect(help.startsWith('HELPX\r\nch                   Channel management commands.  Use ch -? for more help.    \r\n')).toBe(true);
    let m = t.raw.length;
    send(t, 'x\x7fyz\b\t\x03');
    expect(await waitRaw(t, /SAC>$/, m)).toBe("x\b \byz\b \b\x07\r\nUnrecognized command.  Try the 'help' command for more details.\r\nSAC>");
    m = t.raw.length;
    send(t, 'p\n');
    expect(await waitRaw(t, /SAC>$/, m)).toBe('p\r\nPaging is now OFF.\r\nSAC>');
    expect(f.sessions[0].sacLines.map((l) => [l.line, l.ran, l.exact])).toEqual([
      ['HELPX', 'help', false],
      ['y', 'unrecognized', false],
      ['p', 'p', true],
    ]);
  });

  it('traps: `dir` dumps the kernel log (harmless), `tasklist` runs tlist with paging, `cmd /c ...` opens a channel', async () => {
    const f = await fake({ bannerOnConnect: 'never' });
    const t = await open(f);
    send(t, 'dir\r');
    const d = await waitRaw(t, /SAC>$/);
    expect(d).toContain('Boot driver \\SystemRoot\\System32\\drivers\\sacdrv.sys loaded');
    expect(f.sac().kernelLogDumps).toBe(1);
    let m = t.raw.length;
    send(t, 'tasklist /svc\r');
    await waitRaw(t, '----Press <Enter> for more----', m);
    expect(t.raw.slice(m)).toContain('    User Time   Kernel Time    Ws   Faults  Commit Pri Hnd Thd  Pid Name');
    send(t, '\r');
    await waitRaw(t, /GCEWindowsAgent\.exe[\s\S]*SAC>$/, m);
    m = t.raw.length;
    send(t, `cmd /c reg add "${TS}" /v fDenyTSConnections /d 1 /f\r`);
    await waitRaw(t, 'Channel: Cmd0006', m);
    expect(regDword(f.guest, KEY_TS, 'fDenyTSConnections')).toBe(0);
    expect(f.sessions[0].sacLines.map((l) => `${l.ran}:${l.exact}`)).toEqual(['d:false', 't:false', 'cmd:false']);
    expect(clientChanges(f.guest)).toEqual([]);
  });

  it('`shutdown /r` at SAC> is SAC shutdown: the session ends and the port goes silent', async () => {
    const f = await fake({ bannerOnConnect: 'never' });
    const t = await open(f);
    send(t, 'shutdown /r\r');
    await t.closed;
    expect(t.raw).toBe('shutdown /r\r\nSAC preparing to shutdown the system.\r\n');
    expect(f.guest.power).toMatchObject({ state: 'off', shutdowns: 1 });
    expect(f.sessions[0]).toMatchObject({ endReason: 'shutdown' });
    const t2 = await open(f);
    send(t2, '\r');
    await sleep(150);
    expect(t2.raw).toBe('');
  });

  it('`restart` reboots: the session ends, the next connection sees the banner and the counter again', async () => {
    const f = await fake({ cmdCounterStart: 41 });
    const t = await open(f);
    await waitRaw(t, /available\.\r\nSAC>$/);
    send(t, 'cmd\r');
    await waitRaw(t, 'Channel: Cmd0041');
    send(t, 'restart\r');
    await t.closed;
    expect(t.raw).toContain('restart\r\nSAC preparing to restart the system.\r\n');
    expect(f.guest.power.restarts).toBe(1);
    const t2 = await open(f);
    await waitRaw(t2, 'Computer is booting, SAC started and initialized.');
    await waitRaw(t2, /available\.\r\nSAC>$/);
    send(t2, 'cmd\r');
    await waitRaw(t2, 'Channel: Cmd0041');
  });

  it('channels: cmd with the counter and EVENT lines, ch, ch -si/-sn/-ci/-cn, ESC TAB switching', async () => {
    const f = await fake({ bannerOnConnect: 'never', cmdCounterStart: 41 });
    const t = await open(f);
    send(t, 'cmd\r');
    expect(await waitRaw(t, /Cmd0041\r\nSAC>$/)).toBe(
      'cmd\r\nThe Command Prompt session was successfully launched.\r\nSAC>\r\nEVENT:   A new channel has been created.  Use "ch -?" for channel help.\r\nChannel: Cmd0041\r\nSAC>',
    );
    let m = t.raw.length;
    send(t, 'cmd\r');
    await waitRaw(t, 'Channel: Cmd0042', m);
    m = t.raw.length;
    send(t, 'ch\r');
    expect(await waitRaw(t, /SAC>$/, m)).toBe(
      'ch\r\nChannel List\r\n                       \r\n(Use "ch -?" for information on using channels)\r\n\r\n# Status  Channel Name \r\n0 (AV)    SAC\r\n1 (AV)    Cmd0041\r\n2 (AV)    Cmd0042\r\nSAC>',
    );
    m = t.raw.length;
    send(t, 'ch -si 2\r');
    await waitRaw(t, 'Use any other key to view this channel.\r\n\r\n', m);
    const rows = await screen(t);
    expect(rows.slice(0, 9)).toEqual([
      'Name:                  Cmd0042',
      'Description:           Command',
      'Type:                  VT-UTF8',
      expect.stringMatching(/^Channel GUID: {10}[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/),
      'Application Type GUID: 63d02271-8aa4-11d5-bccf-00b0d014a2d0',
      '',
      'Press <esc><tab> for next channel.',
      'Press <esc><tab>0 to return to the SAC channel.',
      'Use any other key to view this channel.',
    ]);
    send(t, ' ');
    await waitScreen(t, /^Please enter login credentials\.\nUsername:/m);
    expect(f.sac().current).toBe('Cmd0042');
    send(t, '\x1b\t');
    await waitScreen(t, /^Name: {18}SAC$/m);
    send(t, '\x1b\t');
    await waitScreen(t, /^Name: {18}Cmd0041$/m);
    send(t, '\x1b\t0');
    await waitScreen(t, /SAC>$/m);
    expect(f.sac().current).toBe('SAC');
    for (const [cmd, out] of [
      ['ch -sn nosuch', 'Error: Could not find a channel with that name.'],
      ['ch -si 9', 'Error: There is no channel present at the specified index.'],
      ['ch -cn SAC', 'Error: The SAC channel cannot be closed.'],
      ['ch -x', "A parameter was incorrect or missing.  Try the 'help' command for more details."],
    ]) {
      m = t.raw.length;
      send(t, cmd + '\r');
      expect(await waitRaw(t, /SAC>$/, m)).toBe(`${cmd}\r\n${out}\r\nSAC>`);
    }
    m = t.raw.length;
    send(t, 'ch -ci 1\r');
    expect(await waitRaw(t, /Cmd0041\r\nSAC>$/, m)).toBe('ch -ci 1\r\nSAC>\r\nEVENT:   A channel has been closed.\r\nChannel: Cmd0041\r\nSAC>');
    expect(f.sac().channels.map((c) => c.name)).toEqual(['SAC', 'Cmd0042']);
  });

  it('sacsvrNotRegistered: cmd fails with SAC_CMD_SERVICE_NOT_REGISTERED', async () => {
    const f = await fake({ sacsvrNotRegistered: true });
    const t = await open(f);
    await waitRaw(t, 'SAC>');
    await sleep(60);
    expect(t.raw).not.toContain('The CMD command is now available');
    const m = t.raw.length;
    send(t, 'cmd\r');
    expect(await waitRaw(t, /SAC>$/, m)).toBe(`cmd\r\n${SAC_CMD_SERVICE_NOT_REGISTERED}\r\nSAC>`);
  });
});

describe('cmd channel', () => {
  it('logs in (password echoed as *), re-prompts after a wrong password; the password never goes out', async () => {
    const f = await fake({ bannerOnConnect: 'never' });
    const t = await open(f);
    send(t, 'cmd\r');
    await waitRaw(t, 'Channel: Cmd0006\r\nSAC>');
    send(t, 'ch -sn cmd0006\r');
    await waitRaw(t, 'Use any other key to view this channel.');
    send(t, '\r');
    await waitScreen(t, /^Username:/m);
    send(t, 'Administrator\r\r');
    await waitScreen(t, /^Password:/m);
    send(t, 'wrong-one\r');
    await waitScreen(t, new RegExp(`^${LOGIN_FAILED.replace(/\./g, '\\.')}$`, 'm'));
    let rows = await screen(t);
    expect(rows.slice(0, 8)).toEqual([
      'Please enter login credentials.',
      'Username: Administrator',
      'Domain  :',
      'Password: *********',
      '',
      LOGIN_FAILED,
      '',
      'Please enter login credentials.',
    ]);
    send(t, 'administrator\r\r' + ADMIN_PW + '\r');
    rows = await waitScreen(t, /C:\\Windows\\system32>$/m);
    expect(rows.slice(8, 15)).toEqual([
      'Username: administrator',
      'Domain  :',
      'Password: ***************',
      '',
      'Microsoft Windows [Version 10.0.20348.2527]',
      '(c) Microsoft Corporation. All rights reserved.',
      '',
    ]);
    expect(rows[15]).toBe('C:\\Windows\\system32>');
    const tr = f.transcript();
    expect(tr.filter((e) => e.dir === 'out').some((e) => e.data.includes(ADMIN_PW) || e.data.includes('wrong-one'))).toBe(false);
    expect(tr.filter((e) => e.dir === 'in' && e.data.includes(ADMIN_PW)).every((e) => e.secret)).toBe(true);
    expect(JSON.stringify(f.guest.journal)).not.toContain(ADMIN_PW);
  });

  it('runs commands and answers in the Windows formats (read through a terminal emulator)', async () => {
    const f = await fake({ bannerOnConnect: 'never' });
    const t = await open(f);
    await toCmdPrompt(t);
    expect(await run(t, 'hostname')).toEqual(['win-vm']);
    expect(await run(t, `reg query "${TS}" /v fDenyTSConnections`)).toEqual([
      '',
      'HKEY_LOCAL_MACHINE\\SYSTEM\\CurrentControlSet\\Control\\Terminal Server',
      '    fDenyTSConnections    REG_DWORD    0x0',
      '',
    ]);
    expect(await run(t, 'reg query "HKLM\\SOFTWARE\\Policies\\Microsoft\\Windows NT\\Terminal Services" /v fDenyTSConnections')).toEqual([
      'ERROR: The system was unable to find the specified registry key or value.',
    ]);
    // %ERRORLEVEL% on the same line was expanded before the line ran; on its own line it is fresh
    send(t, 'reg query HKLM\\Nope /v x\r');
    await waitScreen(t, /^ERROR: The system was unable/m);
    expect(await run(t, 'rem')).toEqual([]);
    send(t, 'reg query HKLM\\Nope /v x\r');
    send(t, 'echo EL=%ERRORLEVEL%\r');
    await waitScreen(t, /^EL=1\s*$/m);
    expect(await run(t, 'sc query TermService')).toEqual([
      '',
      'SERVICE_NAME: TermService',
      '        TYPE               : 30  WIN32',
      '        STATE              : 4  RUNNING',
      '                                (STOPPABLE, NOT_PAUSABLE, ACCEPTS_SHUTDOWN)',
      '        WIN32_EXIT_CODE    : 0  (0x0)',
      '        SERVICE_EXIT_CODE  : 0  (0x0)',
      '        CHECKPOINT         : 0x0',
      '        WAIT_HINT          : 0x0',
      '',
    ]);
    expect(await run(t, 'netstat -ano | find ":3389"')).toEqual([
      '  TCP    0.0.0.0:3389           0.0.0.0:0              LISTENING       1040',
      '  TCP    [::]:3389              [::]:0                 LISTENING       1040',
      '  UDP    0.0.0.0:3389           *:*                                    1040',
      '  UDP    [::]:3389              *:*                                    1040',
    ]);
    expect(await run(t, 'tasklist /svc /fi "PID eq 1040"')).toEqual([
      '',
      'Image Name                     PID Services',
      '========================= ======== ============================================',
      'svchost.exe                   1040 TermService',
    ]);
    expect(await run(t, 'qwinsta')).toEqual([
      ' SESSIONNAME       USERNAME                 ID  STATE   TYPE        DEVICE',
      '>services                                    0  Disc',
      ' console                                     1  Conn',
      ' rdp-tcp                                 65536  Listen',
    ]);
    const rule = await run(t, 'netsh advfirewall firewall show rule name="Remote Desktop - User Mode (TCP-In)"');
    expect(rule.slice(0, 4)).toEqual(['', 'Rule Name:                            Remote Desktop - User Mode (TCP-In)', '-'.repeat(70), 'Enabled:                              Yes']);
    expect(rule.slice(-3)).toEqual(['Action:                               Allow', 'Ok.', '']);
    expect(await run(t, 'net localgroup "Remote Desktop Users"')).toEqual([
      'Alias name     Remote Desktop Users',
      'Comment        Members in this group are granted the right to logon remotely',
      '',
      'Members',
      '',
      '-'.repeat(79),
      'alice',
      'The command completed successfully.',
      '',
    ]);
    expect(await run(t, 'xyz')).toEqual(["'xyz' is not recognized as an internal or external command,", 'operable program or batch file.']);
    // a client that only looked did not touch the guest
    expect(clientChanges(f.guest)).toEqual([]);
    expect(f.guest.journal.commands.length).toBeGreaterThan(10);
  });

  it('the screen has no scrollback: output longer than 24 rows loses its top, never sent at all', async () => {
    const f = await fake({ bannerOnConnect: 'never' });
    const t = await open(f);
    await toCmdPrompt(t);
    const m = t.raw.length;
    send(t, 'echo BEGIN-LONG & net start & echo END-LONG\r');
    const rows = await waitScreen(t, /^END-LONG\s*$/m);
    expect(rows[23]).toBe('C:\\Windows\\system32>');
    expect(rows).toContain('The command completed successfully.');
    expect(rows.join('\n')).not.toContain('These Windows services are started:');
    expect(t.raw.slice(m)).not.toContain('These Windows services are started:');
    expect(t.raw.slice(m)).not.toContain('BEGIN-LONG\x1b');
    expect((await allLines(t)).join('\n')).not.toContain('These Windows services are started:'); // not in the emulator's scrollback either
    // drawn with cursor positioning, not as a line stream
    expect(t.raw.slice(m)).toMatch(/\x1b\[\d+;1H/);
    // the same question through find fits
    expect(await run(t, 'net start | find "Remote Desktop Services"')).toEqual(['   Remote Desktop Services', '   Remote Desktop Services UserMode Port Redirector']);
  });

  it('fixes are applied to the guest: rdpDisabled repaired by reg add, net stop asks Y/N', async () => {
    const guest = applyFault(healthyGuest(), 'rdpDisabled');
    const f = await fake({ guest, bannerOnConnect: 'never' });
    const t = await open(f);
    await toCmdPrompt(t);
    expect(await run(t, 'qwinsta | find "rdp-tcp"')).toEqual([]);
    expect(await run(t, `reg add "${TS}" /v fDenyTSConnections /t REG_DWORD /d 0 /f`)).toEqual(['The operation completed successfully.']);
    expect(rdpHealth(guest).ok).toBe(true);
    expect(await run(t, 'qwinsta | find "rdp-tcp"')).toEqual([' rdp-tcp                                 65536  Listen']);
    send(t, 'net stop termservice\r');
    await waitScreen(t, /^Do you want to continue this operation\? \(Y\/N\) \[N\]:$/m);
    send(t, 'y\r');
    await waitScreen(t, /^The Remote Desktop Services service was stopped successfully\.$/m);
    expect(guest.services.TermService.state).toBe('STOPPED');
    expect(clientChanges(guest).map((c) => c.target)).toEqual([`${KEY_TS}\\fDenyTSConnections`, 'UmRdpService.state', 'TermService.state']);
  });

  it('exit closes the channel and returns to SAC with the EVENT', async () => {
    const f = await fake({ bannerOnConnect: 'never' });
    const t = await open(f);
    const name = await toCmdPrompt(t);
    send(t, 'exit\r');
    // SAC redraws its own channel's screen, where the event now is
    await waitScreen(t, new RegExp(`^EVENT: {3}A channel has been closed\\.\\nChannel: ${name}\\nSAC>$`, 'm'));
    expect(f.sac()).toMatchObject({ current: 'SAC', channels: [{ name: 'SAC' }] });
  });
});

describe('README example', () => {
  it('start, register a key, connect with ssh2, reach the cmd prompt', async () => {
    const kp = keyPair();
    const fake = await startFakeSerialConsole({ guest: applyFault(healthyGuest(), 'rdpDisabled') });
    fakes.push(fake);
    fake.authorizeKey('alice', kp.public);
    const steps: [RegExp, (m: RegExpMatchArray) => string][] = [
      [/SAC>$/, () => 'cmd\r'],
      [/Channel: (Cmd\d{4})\r\nSAC>/, (m) => `ch -sn ${m[1]}\r`],
      [/Use any other key to view this channel\./, () => '\r'],
      [/Username:/, () => 'Administrator\r'],
      [/Domain {2}:/, () => '\r'],
      [/Password:/, () => 'Adm1n-Passw0rd!\r'],
      [/C:\\Windows\\system32>/, () => ''],
    ];
    const conn = new Client();
    const done = new Promise<void>((resolve) => {
      conn.on('ready', () =>
        conn.shell({ term: 'vt100', cols: 80, rows: 24 }, (_e, stream) => {
          let out = '';
          stream.on('data', (d: Buffer) => {
            out += d.toString();
            const m = steps.length ? out.match(steps[0][0]) : null;
            if (!m) return;
            out = '';
            stream.write(steps.shift()![1](m));
            if (!steps.length) resolve();
          });
        }),
      );
    });
    conn.connect({
      host: fake.host,
      port: fake.port,
      username: 'test-project.us-central1-a.win-vm.alice.port=1',
      privateKey: kp.private,
      hostVerifier: (key: Buffer) => 'SHA256:' + createHash('sha256').update(key).digest('base64').replace(/=+$/, '') === fake.hostKey.sha256,
    });
    await done;
    expect(fake.sac()).toMatchObject({ current: 'Cmd0006', channels: [{ name: 'SAC' }, { name: 'Cmd0006', loggedIn: true }] });
    const closed = new Promise<void>((r) => conn.on('close', () => r()));
    conn.end();
    await closed;
  });
});

describe('faults', () => {
  it('emsOff: the console connects and stays silent', async () => {
    const f = await fake({ emsOff: true });
    const t = await open(f);
    send(t, '\r');
    send(t, 'cmd\r');
    await sleep(200);
    expect(t.raw).toBe('');
    expect(f.transcript().filter((e) => e.dir === 'in').map((e) => e.data)).toEqual(['\r', 'cmd\r']);
  });

  it('slowOutput: the same bytes, in small paced chunks', async () => {
    const f = await fake({ slowOutput: { delayMs: 4, chunkBytes: 8 } });
    const started = Date.now();
    const t = await open(f);
    await waitRaw(t, /available\.\r\nSAC>$/);
    expect(t.raw).toBe(SAC_INITIALIZED + 'SAC>\r\nEVENT: The CMD command is now available.\r\nSAC>');
    expect(t.chunks).toBeGreaterThan(20);
    expect(Date.now() - started).toBeGreaterThanOrEqual(100); // ~30 chunks x 4 ms
  });

  it('dropAfterCommands: the connection dies after the change was applied, before its output arrives', async () => {
    const f = await fake({ bannerOnConnect: 'never', dropAfterCommands: 2 });
    const t = await open(f);
    const name = await toCmdPrompt(t);
    expect(await run(t, 'hostname')).toEqual(['win-vm']);
    const m = t.raw.length;
    send(t, `reg add "${TS}" /v fDenyTSConnections /t REG_DWORD /d 1 /f\r`);
    await t.closed;
    expect(t.raw.slice(m)).not.toContain('The operation completed successfully.');
    expect(regDword(f.guest, KEY_TS, 'fDenyTSConnections')).toBe(1);
    expect(f.sessions[0].endReason).toBe('dropped');
    // reconnect: still in the (logged-in) channel; switching to it again redraws the whole screen
    const t2 = await open(f);
    send(t2, '\x1b\t0');
    await waitRaw(t2, 'SAC>');
    send(t2, `ch -sn ${name}\r`);
    await waitRaw(t2, 'Use any other key to view this channel.');
    send(t2, ' ');
    await waitScreen(t2, /^The operation completed successfully\.$/m);
  });

  it('idleLockMs: an idle channel asks for credentials again, and comes back after login', async () => {
    const f = await fake({ bannerOnConnect: 'never', idleLockMs: 200 });
    const t = await open(f);
    await toCmdPrompt(t);
    expect(await run(t, 'hostname')).toEqual(['win-vm']);
    await sleep(350);
    const rows = await waitScreen(t, /^Please enter login credentials\.$/m);
    expect(rows.slice(0, 2)).toEqual(['Please enter login credentials.', 'Username:']);
    send(t, 'hostname\r'); // typed into Username:
    await waitScreen(t, /^Domain {2}:/m);
    send(t, '\r\r');
    await waitScreen(t, new RegExp(`^${LOGIN_FAILED.replace(/\./g, '\\.')}$`, 'm'));
    send(t, `Administrator\r\r${ADMIN_PW}\r`);
    await waitScreen(t, /^win-vm$/m);
    expect(await run(t, 'hostname')).toEqual(['win-vm']);
  });

  it('replayLines: old output with an old SAC> is replayed at connect (all of it, or replay-lines=N)', async () => {
    const replayLines = ['2024/05/01 09:58:01 GCEGuestAgent: GCE Agent Started (version 20240314.00)', 'SAC>'];
    const f = await fake({ replayLines, bannerOnConnect: 'never' });
    const t = await open(f);
    expect(await waitRaw(t, 'SAC>')).toBe(replayLines.join('\r\n'));
    const m = t.raw.length;
    send(t, '\r');
    expect(await waitRaw(t, /SAC>$/, m)).toBe('\r\nSAC>');
    t.conn.end();
    const t2 = await open(f, { username: `${USERNAME}.replay-lines=2` });
    expect(await waitRaw(t2, /SAC>$/)).toBe('SAC>\r\nSAC>'); // the last two lines of the port's history
  });

  it('agentLogs: GCEGuestAgent / GCEMetadataScripts lines interleave with SAC output', async () => {
    const f = await fake({ agentLogs: { everyMs: 20, seed: 7 } });
    const t = await open(f);
    await waitRaw(t, /\d{4}\/\d\d\/\d\d \d\d:\d\d:\d\d GCE(GuestAgent|MetadataScripts): .*\r\n/);
    send(t, 'cmd\r');
    await waitRaw(t, /Channel: Cmd0006\r\nSAC>/);
  });
});
