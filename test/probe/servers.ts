// Real RDP listeners from Debian for the probe tests, each on 127.0.0.1 with its own config in a temporary
// folder: xrdp (`xrdp --nodaemon --config INI`, security_layer rdp | tls | negotiate) and FreeRDP's shadow server
// (`freerdp-shadow-cli` under an Xvfb started here). Each runs in its own process group and is killed with it.
// `.ci/run` installs the packages (xrdp, freerdp2-shadow-x11, xvfb, winpr-utils, nmap).
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, openSync, writeFileSync } from 'node:fs';
import { createServer, connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export const REQUIRED = ['xrdp', 'freerdp-shadow-cli', 'Xvfb', 'winpr-hash', 'nmap', 'openssl'] as const;

export function missingTools(): string[] {
  return REQUIRED.filter((t) => {
    try {
      execFileSync('sh', ['-c', `command -v ${t}`], { stdio: 'ignore' });
      return false;
    } catch {
      return true;
    }
  });
}

export interface Running {
  child: ChildProcess;
  port: number;
  dir: string;
  stop(): Promise<void>;
}

export const scratch = () => mkdtempSync(join(tmpdir(), 'rdpcloud-rdp-'));

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer().listen(0, '127.0.0.1', () => {
      const p = (s.address() as { port: number }).port;
      s.close(() => resolve(p));
    });
    s.on('error', reject);
  });
}

async function waitListening(port: number, child: ChildProcess, ms = 10_000): Promise<void> {
  const until = Date.now() + ms;
  while (Date.now() < until) {
    if (child.exitCode !== null) throw new Error(`the server exited (code ${child.exitCode}) before it listened on ${port}`);
    const up = await new Promise<boolean>((r) => {
      const s = connect({ host: '127.0.0.1', port }, () => {
        s.destroy();
        r(true);
      });
      s.on('error', () => r(false));
    });
    if (up) return;
    await new Promise((r) => setTimeout(r, 20));
  }
  throw new Error(`nothing listens on ${port} after ${ms} ms`);
}

function start(cmd: string, args: string[], dir: string, env: NodeJS.ProcessEnv = process.env, pipeStdout = false): ChildProcess {
  const log = openSync(join(dir, `${cmd}.out`), 'a');
  return spawn(cmd, args, { detached: true, stdio: ['ignore', pipeStdout ? 'pipe' : log, log], env });
}

function stopper(child: ChildProcess): () => Promise<void> {
  return async () => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    const gone = new Promise((r) => child.once('exit', r));
    try {
      process.kill(-child.pid!, 'SIGTERM');
    } catch {
      /* already gone */
    }
    const t = setTimeout(() => {
      try {
        process.kill(-child.pid!, 'SIGKILL');
      } catch {
        /* gone */
      }
    }, 2000);
    await gone;
    clearTimeout(t);
  };
}

/** A self-signed RSA certificate for the listener; its SHA-256 fingerprint as openssl prints it. */
export function makeCertificate(dir: string, cn: string, o: { bits?: number; days?: number } = {}): { cert: string; key: string; sha256: string } {
  const cert = join(dir, `${cn}.crt`);
  const key = join(dir, `${cn}.key`);
  execFileSync('openssl', ['req', '-x509', '-newkey', `rsa:${o.bits ?? 2048}`, '-nodes', '-keyout', key, '-out', cert, '-days', String(o.days ?? 365), '-subj', `/CN=${cn}`], { stdio: 'ignore' });
  const sha256 = execFileSync('openssl', ['x509', '-in', cert, '-noout', '-fingerprint', '-sha256']).toString().split('=')[1].trim();
  return { cert, key, sha256 };
}

export type SecurityLayer = 'rdp' | 'tls' | 'negotiate';

/** xrdp 0.9 as the listener: fork=false keeps one process (a forked child outlives SIGTERM until its client leaves). */
export async function startXrdp(securityLayer: SecurityLayer, tls: { cert: string; key: string }): Promise<Running & { log: string }> {
  const dir = scratch();
  const port = await freePort();
  const log = join(dir, 'xrdp.log');
  const ini = join(dir, 'xrdp.ini');
  writeFileSync(
    ini,
    [
      '[Globals]',
      'ini_version=1',
      'fork=false',
      `port=tcp://127.0.0.1:${port}`,
      `security_layer=${securityLayer}`,
      'crypt_level=high',
      `certificate=${tls.cert}`,
      `key_file=${tls.key}`,
      'ssl_protocols=TLSv1.2, TLSv1.3',
      '',
      '[Logging]',
      `LogFile=${log}`,
      'LogLevel=INFO',
      'EnableSyslog=false',
      '',
      '[Xorg]',
      'name=Xorg',
      'lib=libxup.so',
      'username=ask',
      'password=ask',
      'ip=127.0.0.1',
      'port=-1',
      'code=20',
      '',
    ].join('\n'),
  );
  // Classic RDP security needs the server's RSA keys at this fixed path; the package's postinst makes them.
  if (!existsSync('/etc/xrdp/rsakeys.ini')) execFileSync('xrdp-keygen', ['xrdp', 'auto'], { stdio: 'ignore' });
  const child = start('xrdp', ['--nodaemon', '--config', ini], dir);
  await waitListening(port, child);
  return { child, port, dir, log, stop: stopper(child) };
}

/** An X server for the shadow server to mirror: -displayfd says when it is ready, -noreset keeps it up between clients. */
export async function startXvfb(): Promise<Running & { display: string }> {
  const dir = scratch();
  const child = start('Xvfb', ['-displayfd', '1', '-screen', '0', '1024x768x24', '-nolisten', 'tcp', '-noreset'], dir, process.env, true);
  const display = await new Promise<string>((resolve, reject) => {
    let buf = '';
    child.stdout!.on('data', (d: Buffer) => {
      buf += d.toString();
      if (buf.includes('\n')) resolve(`:${buf.trim()}`);
    });
    child.once('exit', (c) => reject(new Error(`Xvfb exited (${c})`)));
    setTimeout(() => reject(new Error('Xvfb did not report a display in 10 s')), 10_000);
  });
  return { child, port: 0, dir, display, stop: stopper(child) };
}

/** A SAM file for /sam-file (user:::NT-hash:::) made by winpr-hash. */
export function samFile(dir: string, user: string, password: string): string {
  const f = join(dir, 'sam');
  writeFileSync(f, execFileSync('winpr-hash', ['-u', user, '-p', password, '-f', 'sam']).toString());
  return f;
}

/** freerdp-shadow-cli with the given security flags; HOME is a temporary folder (it writes its certificate there). */
export async function startShadow(display: string, flags: string[]): Promise<Running & { home: string }> {
  const dir = scratch();
  const home = join(dir, 'home');
  mkdirSync(home, { recursive: true });
  const port = await freePort();
  const child = start('freerdp-shadow-cli', [`/port:${port}`, '/bind-address:127.0.0.1', ...flags], dir, { ...process.env, HOME: home, DISPLAY: display });
  await waitListening(port, child);
  return { child, port, dir, home, stop: stopper(child) };
}

/** nmap's rdp-enum-encryption against one loopback port ("+" forces it on a port other than 3389). */
export function nmapEnumEncryption(port: number): string {
  return execFileSync('nmap', ['-Pn', '-n', '-p', String(port), '--script', '+rdp-enum-encryption', '127.0.0.1'], { timeout: 60_000 }).toString();
}
