/**
 * Fake GCE interactive serial-port gateway (`ssh-serialport.googleapis.com:9600`) in front of a Windows SAC
 * on COM1 (sac.ts) over a guest model (guest.ts). For tests only: listens on 127.0.0.1, a port the OS picks.
 *
 * - SSH, public-key auth only, usernames `PROJECT.ZONE.INSTANCE.USER.port=N[.key=value...]` checked against the keys
 *   a test registers (as the gateway checks the `ssh-keys` metadata); wrong instance or unknown key -> auth failure.
 * - port=1 is SAC; port=2..4 connect to silent ports; no port part, or another number, is refused.
 * - A pty shell gets SAC's VT-UTF8 output; the port is shared: every connection sees the same output and SAC state,
 *   which lives as long as the fake (the VM), across connections.
 * See README.md for the options (faults) and what is assumed.
 */
import { createHash } from 'node:crypto';
import net from 'node:net';
import ssh2 from 'ssh2';
import type { AuthContext, Connection, ParsedKey, ServerChannel } from 'ssh2';
import { LOOPBACK, attemptCounter } from '../loopback.js';
import { type Guest, healthyGuest, rebootGuest } from './guest.js';
import { Sac, type SacLineRecord, type SacSnapshot } from './sac.js';

const { Server, utils } = ssh2;

export interface FakeSerialConsoleOptions {
  /** The guest behind the port (default `healthyGuest()`); the same object is returned as `.guest`. */
  guest?: Guest;
  /** The instance this gateway fronts (defaults: test-project / us-central1-a / win-vm). */
  project?: string;
  zone?: string;
  instance?: string;
  /** Keys in the instance/project metadata `ssh-keys`: `{ user, publicKey: 'ssh-ed25519 AAAA... [comment]' }`. */
  authorizedKeys?: { user: string; publicKey: string }[];
  /** The first cmd channel is Cmd%04d of this (default 6). */
  cmdCounterStart?: number;
  /**
   * When SAC prints its boot banner + `SAC>`: 'first' (default) to the first connection after a boot (as if it had
   * just booted), 'always' to every connection, 'never' (the VM booted long ago: press Enter for a prompt).
   */
  bannerOnConnect?: 'first' | 'always' | 'never';
  /** EMS/SAC disabled in the guest: the console connects but stays silent (agent lines still appear if enabled). */
  emsOff?: boolean;
  /** Output paced in chunks: ms per chunk (default chunk 16 bytes). */
  slowOutput?: number | { delayMs: number; chunkBytes?: number };
  /** Close every connection abruptly right after the Nth cmd command line ran (its output never sent). Once. */
  dropAfterCommands?: number;
  /** A logged-in cmd channel asks for credentials again after this much idleness. */
  idleLockMs?: number;
  /** sacsvr stopped: `cmd` fails with SAC_CMD_SERVICE_NOT_REGISTERED (sets guest.services.sacsvr STOPPED). */
  sacsvrNotRegistered?: boolean;
  /** serial-port-enable is off: every authentication fails [assumption: as an unknown key does]. */
  serialPortDisabled?: boolean;
  /** Old output of the port (e.g. an old `SAC>`), replayed at connect (all of it, or the last `replay-lines=N`). */
  replayLines?: string[];
  /** Guest-agent log lines written to COM1 at random moments (seeded). */
  agentLogs?: boolean | { everyMs?: number; lines?: string[]; duringCmdChannel?: boolean; seed?: number };
  /** The first N signed attempts with a valid key fail, as while metadata is still propagating. */
  keyPropagationAttempts?: number;
  /** Channels including SAC (default 10). */
  maxChannels?: number;
  /** SAC paging starts ON (default true). */
  paging?: boolean;
}

export interface SessionRecord {
  id: number;
  username: string;
  /** Parsed username parts. */
  project: string;
  zone: string;
  instance: string;
  user: string;
  port: number;
  extras: Record<string, string>;
  /** SHA256 fingerprint of the key that authenticated. */
  keySha256: string;
  pty?: { term: string; cols: number; rows: number };
  startedAt: number;
  endedAt?: number;
  endReason?: 'client' | 'shutdown' | 'restart' | 'crashdump' | 'dropped' | 'closed';
  /** Every line this connection entered at `SAC>`, and what SAC ran for it. */
  sacLines: SacLineRecord[];
}

export interface AuthAttempt {
  at: number;
  username: string;
  method: string;
  accepted: boolean;
  /** Why it was refused: method, username, instance, port, key, signature, propagating, serial-port-disabled. */
  reason?: string;
}

export interface TranscriptEntry {
  at: number;
  session: number;
  dir: 'in' | 'out';
  data: string;
  /** Input that went (at least partly) into a Password: field. */
  secret?: boolean;
}

export interface FakeSerialConsole {
  port: number;
  host: '127.0.0.1';
  hostKey: { openssh: string; sha256: string };
  /** Connections that got a shell, in order (live). */
  sessions: SessionRecord[];
  authAttempts: AuthAttempt[];
  guest: Guest;
  /** SAC's state: channels, which one is shown, the next channel name, paging. */
  sac(): SacSnapshot;
  /** Adds a key, as adding `user:key` to `ssh-keys` would. */
  authorizeKey(user: string, publicKey: string): void;
  /** Everything sent (`out`) and received (`in`), per connection, in order. */
  transcript(): TranscriptEntry[];
  close(): Promise<void>;
}

/** `PROJECT.ZONE.INSTANCE.USER.port=N[.k=v...]` (the project may itself contain dots). */
export function parseGatewayUsername(u: string): { project: string; zone: string; instance: string; user: string; port: number; extras: Record<string, string> } | null {
  const parts = u.split('.');
  const i = parts.findIndex((p) => /^port=\d+$/.test(p));
  if (i < 4) return null;
  const extras: Record<string, string> = {};
  for (const p of parts.slice(i + 1)) {
    const eq = p.indexOf('=');
    if (eq <= 0) return null;
    extras[p.slice(0, eq)] = p.slice(eq + 1);
  }
  return { project: parts.slice(0, i - 3).join('.'), zone: parts[i - 3], instance: parts[i - 2], user: parts[i - 1], port: +parts[i].slice(5), extras };
}

function sha256Fingerprint(blob: Buffer): string {
  return 'SHA256:' + createHash('sha256').update(blob).digest('base64').replace(/=+$/, '');
}

function parsePublic(line: string): ParsedKey {
  const k = utils.parseKey(line);
  if (k instanceof Error) throw new Error(`not an OpenSSH public key: ${k.message}`);
  return Array.isArray(k) ? k[0] : k;
}

/**
 * An ed25519 key pair (the fake's host key, the tests' user keys). ssh2's generator drops a leading zero byte of
 * the public key about once in 256 keys, giving a key its own parser rejects: retry.
 */
export function keyPair(): { private: string; public: string } {
  for (;;) {
    const kp = utils.generateKeyPairSync('ed25519');
    if (!(utils.parseKey(kp.private) instanceof Error) && !(utils.parseKey(kp.public) instanceof Error)) return kp;
  }
}

function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const DEFAULT_AGENT_LINES = [
  'GCEGuestAgent: GCE Agent Started (version 20240314.00)',
  'GCEGuestAgent: Adding user alice to the Administrators group.',
  'GCEMetadataScripts: Starting startup scripts (version 20240314.00).',
  'GCEMetadataScripts: No startup scripts to run.',
  'GCEGuestAgent: Error watching metadata: context deadline exceeded',
  'GCEMetadataScripts: Finished running startup scripts.',
];

class Sink {
  private queue: string[] = [];
  private timer?: NodeJS.Timeout;
  private ending?: () => void;
  closed = false;

  constructor(
    private readonly stream: ServerChannel,
    readonly session: SessionRecord,
    private readonly slow: { delayMs: number; chunkBytes: number } | undefined,
    private readonly record: (e: TranscriptEntry) => void,
  ) {}

  write(s: string, interleave = false): void {
    if (this.closed || !s) return;
    this.record({ at: Date.now(), session: this.session.id, dir: 'out', data: s });
    if (!this.slow) {
      this.stream.write(s);
      return;
    }
    const chunks: string[] = [];
    for (let i = 0; i < s.length; i += this.slow.chunkBytes) chunks.push(s.slice(i, i + this.slow.chunkBytes));
    if (interleave && this.queue.length > 1) this.queue.splice(1, 0, ...chunks);
    else this.queue.push(...chunks);
    this.pump();
  }

  private pump(): void {
    if (this.timer || this.closed) return;
    if (!this.queue.length) {
      this.ending?.();
      return;
    }
    this.timer = setTimeout(() => {
      this.timer = undefined;
      if (this.closed) return;
      this.stream.write(this.queue.shift()!);
      this.pump();
    }, this.slow!.delayMs);
  }

  /** Ends once what is queued went out. */
  end(then: () => void): void {
    if (!this.slow || !this.queue.length) return then();
    this.ending = then;
  }

  kill(): void {
    this.closed = true;
    if (this.timer) clearTimeout(this.timer);
    this.queue = [];
  }
}

interface Conn {
  client: Connection;
  socket: net.Socket;
  session?: SessionRecord;
  sink?: Sink;
}

/** Starts the fake gateway + SAC on 127.0.0.1. */
export async function startFakeSerialConsole(opts: FakeSerialConsoleOptions = {}): Promise<FakeSerialConsole> {
  const guest = opts.guest ?? healthyGuest();
  if (opts.sacsvrNotRegistered) guest.services.sacsvr.state = 'STOPPED';
  const target = { project: opts.project ?? 'test-project', zone: opts.zone ?? 'us-central1-a', instance: opts.instance ?? 'win-vm' };
  const keys: { user: string; key: ParsedKey; blob: Buffer }[] = [];
  const authorizeKey = (user: string, publicKey: string) => {
    const key = parsePublic(publicKey);
    keys.push({ user, key, blob: key.getPublicSSH() });
  };
  for (const k of opts.authorizedKeys ?? []) authorizeKey(k.user, k.publicKey);

  const hk = keyPair();
  const hostPublic = parsePublic(hk.public);
  const hostKey = { openssh: hk.public.trim(), sha256: sha256Fingerprint(hostPublic.getPublicSSH()) };

  const slow = opts.slowOutput === undefined ? undefined : typeof opts.slowOutput === 'number' ? { delayMs: opts.slowOutput, chunkBytes: 16 } : { delayMs: opts.slowOutput.delayMs, chunkBytes: opts.slowOutput.chunkBytes ?? 16 };
  const transcriptEntries: TranscriptEntry[] = [];
  const record = (e: TranscriptEntry) => transcriptEntries.push(e);
  const sessions: SessionRecord[] = [];
  const authAttempts: AuthAttempt[] = [];
  const conns = new Set<Conn>();
  const sinks = new Set<Sink>();
  const attempts = attemptCounter();
  let history = opts.replayLines?.length ? opts.replayLines.join('\r\n') : '';
  let muted = false;
  let commands = 0;
  let dropped = false;
  let nextId = 1;
  let inputSession: SessionRecord | undefined;
  let inputEntry: TranscriptEntry | undefined;

  const com1 = (s: string, interleave = false) => {
    history += s;
    if (history.length > 1 << 20) history = history.slice(-(1 << 20));
    if (muted) return;
    for (const k of sinks) if (k.session.port === 1) k.write(s, interleave);
  };

  const endAll = (reason: NonNullable<SessionRecord['endReason']>, abrupt: boolean) => {
    for (const c of [...conns]) {
      if (c.session && !c.session.endedAt) {
        c.session.endedAt = Date.now();
        c.session.endReason = reason;
      }
      if (abrupt) {
        c.sink?.kill();
        c.socket.destroy();
      } else {
        const finish = () => {
          c.sink?.kill();
          if (!c.client) return void c.socket.destroy();
          try {
            c.client.end();
          } catch {
            c.socket.destroy();
          }
        };
        if (c.sink) c.sink.end(finish);
        else finish();
      }
    }
  };

  const sac: Sac = new Sac(
    guest,
    {
      write: (s) => com1(s),
      beforeCommand: () => {
        commands++;
        if (opts.dropAfterCommands && !dropped && commands === opts.dropAfterCommands) {
          muted = true;
          return true;
        }
        return false;
      },
      dropNow: () => {
        dropped = true;
        endAll('dropped', true);
        muted = false;
      },
      power: (what) => {
        guest.journal.changes.push({ at: Date.now(), by: 'client', kind: 'power', target: 'power', after: what, via: `SAC>${what}` });
        if (what === 'shutdown') guest.power.shutdowns++;
        if (what === 'restart') guest.power.restarts++;
        const reason = what;
        setTimeout(() => {
          endAll(reason, false);
          if (what === 'shutdown') {
            guest.power.state = 'off';
            sac.silent = true;
          } else {
            rebootGuest(guest);
            sac.reset();
          }
        }, 20);
      },
      secret: () => {
        if (inputEntry) inputEntry.secret = true;
      },
      sacLine: (rec) => inputSession?.sacLines.push(rec),
    },
    { cmdCounterStart: opts.cmdCounterStart, maxChannels: opts.maxChannels, idleLockMs: opts.idleLockMs, paging: opts.paging },
  );
  if (opts.emsOff) sac.silent = true;

  // guest-agent lines on COM1
  let agentTimer: NodeJS.Timeout | undefined;
  const agent = opts.agentLogs ? (opts.agentLogs === true ? {} : opts.agentLogs) : undefined;
  const rnd = mulberry32(agent?.seed ?? 1);
  const scheduleAgent = () => {
    if (!agent || agentTimer || sinks.size === 0) return;
    const every = agent.everyMs ?? 150;
    agentTimer = setTimeout(() => {
      agentTimer = undefined;
      const shown = sac.snapshot().current;
      if (shown === 'SAC' || agent.duringCmdChannel || sac.silent) {
        const lines = agent.lines ?? DEFAULT_AGENT_LINES;
        const d = new Date();
        const p = (n: number) => String(n).padStart(2, '0');
        const stamp = `${d.getFullYear()}/${p(d.getMonth() + 1)}/${p(d.getDate())} ${p(d.getHours())}:${p(d.getMinutes())}:${p(d.getSeconds())}`;
        const line = `${stamp} ${lines[Math.floor(rnd() * lines.length)]}\r\n`;
        history += line;
        if (!muted) for (const k of sinks) if (k.session.port === 1) k.write(line, true);
      }
      scheduleAgent();
    }, Math.round(every * (0.5 + rnd())));
    agentTimer.unref();
  };

  const sshServer = new Server({ hostKeys: [hk.private] });
  const reject = (ctx: AuthContext, rec: AuthAttempt, reason: string) => {
    rec.reason = reason;
    ctx.reject(['publickey']);
  };

  const onClient = (c: Conn) => {
    const { client } = c;
    let authed: { parsed: NonNullable<ReturnType<typeof parseGatewayUsername>>; sha: string; username: string } | undefined;
    client.on('authentication', (ctx: AuthContext) => {
      const rec: AuthAttempt = { at: Date.now(), username: ctx.username, method: ctx.method, accepted: false };
      authAttempts.push(rec);
      if (opts.serialPortDisabled) return reject(ctx, rec, 'serial-port-disabled');
      if (ctx.method !== 'publickey') return reject(ctx, rec, 'method');
      const parsed = parseGatewayUsername(ctx.username);
      if (!parsed) return reject(ctx, rec, 'username');
      if (parsed.project !== target.project || parsed.zone !== target.zone || parsed.instance !== target.instance) return reject(ctx, rec, 'instance');
      if (parsed.port < 1 || parsed.port > 4) return reject(ctx, rec, 'port');
      const k = keys.find((x) => x.user === parsed.user && x.blob.equals(ctx.key.data));
      if (!k) return reject(ctx, rec, 'key');
      if (ctx.signature) {
        if (!ctx.blob || k.key.verify(ctx.blob, ctx.signature, ctx.hashAlgo) !== true) return reject(ctx, rec, 'signature');
        const n = attempts(`${parsed.user}|${sha256Fingerprint(k.blob)}`);
        if (n <= (opts.keyPropagationAttempts ?? 0)) return reject(ctx, rec, 'propagating');
        authed = { parsed, sha: sha256Fingerprint(k.blob), username: ctx.username };
      }
      rec.accepted = true;
      ctx.accept();
    });
    client.on('ready', () => {
      client.on('session', (accept) => {
        const s = accept();
        let pty: SessionRecord['pty'];
        s.on('pty', (ok, _no, info) => {
          pty = { term: info.term, cols: info.cols, rows: info.rows };
          ok?.();
        });
        s.on('window-change', (ok) => ok?.());
        s.on('env', (ok) => ok?.());
        s.on('exec', (_ok, no) => no?.());
        s.on('subsystem', (_ok, no) => no?.());
        s.on('shell', (ok) => {
          const stream = ok();
          const p = authed!.parsed;
          const rec: SessionRecord = {
            id: nextId++,
            username: authed!.username,
            ...p,
            keySha256: authed!.sha,
            pty,
            startedAt: Date.now(),
            sacLines: [],
          };
          sessions.push(rec);
          c.session = rec;
          const sink = new Sink(stream, rec, slow, record);
          c.sink = sink;
          if (p.port === 1) {
            const n = p.extras['replay-lines'] !== undefined ? Number(p.extras['replay-lines']) : opts.replayLines?.length ? Infinity : 0;
            if (n > 0 && history) sink.write(history.split('\n').slice(-n).join('\n'));
          }
          sinks.add(sink);
          if (p.port === 1) sac.attach(opts.bannerOnConnect ?? 'first');
          scheduleAgent();
          stream.on('data', (d: Buffer) => {
            const data = d.toString('utf8');
            const entry: TranscriptEntry = { at: Date.now(), session: rec.id, dir: 'in', data };
            record(entry);
            if (p.port !== 1) return;
            inputSession = rec;
            inputEntry = entry;
            try {
              sac.input(data);
            } finally {
              inputSession = undefined;
              inputEntry = undefined;
            }
          });
          stream.on('close', () => {
            sinks.delete(sink);
            sink.kill();
            if (!rec.endedAt) {
              rec.endedAt = Date.now();
              rec.endReason = 'client';
            }
          });
        });
      });
    });
    client.on('error', () => {});
    client.on('close', () => conns.delete(c));
  };

  // ssh2 keeps the socket of a server-side connection in `_sock` (1.17); that is how a connection finds its socket.
  const bySocket = new Map<net.Socket, Conn>();
  sshServer.on('connection', (client: Connection) => {
    const sock = (client as unknown as { _sock?: net.Socket })._sock;
    const c = sock ? bySocket.get(sock) : undefined;
    if (!c) return client.end();
    c.client = client;
    onClient(c);
  });
  const tcp = net.createServer((socket) => {
    socket.on('error', () => {});
    const c = { socket } as Conn;
    conns.add(c);
    bySocket.set(socket, c);
    socket.on('close', () => {
      conns.delete(c);
      bySocket.delete(socket);
    });
    sshServer.injectSocket(socket);
  });
  await new Promise<void>((resolve, rej) => {
    tcp.once('error', rej);
    tcp.listen(0, LOOPBACK, () => {
      tcp.off('error', rej);
      resolve();
    });
  });
  const port = (tcp.address() as net.AddressInfo).port;

  return {
    port,
    host: LOOPBACK,
    hostKey,
    sessions,
    authAttempts,
    guest,
    sac: () => sac.snapshot(),
    authorizeKey,
    transcript: () => [...transcriptEntries],
    close: async () => {
      if (agentTimer) clearTimeout(agentTimer);
      sac.dispose();
      endAll('closed', true);
      await new Promise<void>((resolve) => tcp.close(() => resolve()));
    },
  };
}
