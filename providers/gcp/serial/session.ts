// The SSH connection to the GCE serial-port gateway (ssh-serialport.googleapis.com:9600, or the regional
// `{region}-ssh-serialport.googleapis.com`), as gcloud makes it: user `PROJECT.ZONE.INSTANCE.USER.port=1`, an
// ephemeral key, and the gateway's host key checked against Google's published key - never trusted on first use
// (../../../../shared/docs/reference/serial-console-and-rdp-probe.md section 1.1).
import { createHash } from 'node:crypto';
import ssh2 from 'ssh2';
import { UsageError } from '../../../src/errors.js';
import type { Wire } from './sac.js';

/** Google's published gateway key (gcloud's hard-coded fallback for the global gateway). */
export const GOOGLE_SERIAL_HOST_KEY =
  'ssh-rsa AAAAB3NzaC1yc2EAAAADAQABAAABAQDkOOCaBZVTxzvjJ7+7YonnZOwIZ2Z7azwPC+oHbBCbWNBZAwzs63JQlHLibHG6NiNunFwP/lWs5SpLx5eEdxGL+WQmvtldnBdqJzNE1UHrxPDegysCXxn1fT7KELpLozLhvlfSnWJXbFbDrGB0bTv2U373Zo3BL9XTRf3qthdDEMF3GouUH8pGvitHlwcwO1ulpVB0sTIdB7Bu+YPuo1XSuL2n3tXA9n9S+7kQCoyuXodeBpJoJxzdJeoQXAepLrLA7nl6jRiYZyic0WJeSJm7vmvl1VDAGkyXloNEhBnvoQFQl5aCwcS8UQnzzwMDflQ+JgsynYN08dLIRGcwkJe9';

export interface SerialTarget {
  project: string;
  zone: string;
  instance: string;
  /** The local user the key is published for (or the OS Login POSIX name). */
  user: string;
  /** Serial port 1 is the interactive one on Windows (SAC). */
  port?: number;
}

export interface GatewayOptions {
  host: string;
  port: number;
  /** An OpenSSH public-key line, or a `SHA256:` fingerprint as ssh-keygen prints it. */
  hostKey: string;
  privateKey: string;
  readyTimeoutMs: number;
}

export class SerialConnectError extends Error {
  constructor(
    readonly kind: 'host-key' | 'auth' | 'network',
    message: string,
  ) {
    super(message);
  }
}

/** `RDPCLOUD_SERIAL_GATEWAY=host:port` / `RDPCLOUD_SERIAL_HOST_KEY`, else the global gateway and Google's key. */
export function gatewayFromEnv(env: NodeJS.ProcessEnv, region?: string): { host: string; port: number; hostKey: string } {
  const raw = env.RDPCLOUD_SERIAL_GATEWAY;
  let host = region ? `${region}-ssh-serialport.googleapis.com` : 'ssh-serialport.googleapis.com';
  let port = 9600;
  if (raw) {
    const m = /^\[?([^\]]+?)\]?:(\d{1,5})$/.exec(raw.trim());
    if (!m) throw new UsageError(`RDPCLOUD_SERIAL_GATEWAY "${raw}": use host:port (e.g. ssh-serialport.googleapis.com:9600)`);
    host = m[1];
    port = Number(m[2]);
  }
  const hostKey = env.RDPCLOUD_SERIAL_HOST_KEY?.trim() || (region && !raw ? '' : GOOGLE_SERIAL_HOST_KEY);
  if (!hostKey) throw new UsageError(`the regional gateway ${host} has its own host key: pin it with RDPCLOUD_SERIAL_HOST_KEY (https://www.gstatic.com/vm_serial_port/${region}/${region}.pub)`);
  return { host, port, hostKey };
}

export function serialUsername(t: SerialTarget): string {
  for (const [k, v] of Object.entries({ project: t.project, zone: t.zone, instance: t.instance, user: t.user })) {
    if (!/^[a-z0-9][a-z0-9_.:-]*$/i.test(v)) throw new UsageError(`serial console: ${k} "${v}" cannot be part of the gateway user name`);
  }
  return `${t.project}.${t.zone}.${t.instance}.${t.user}.port=${t.port ?? 1}`;
}

/** ssh-keygen's SHA256 fingerprint of a raw key blob. */
export function fingerprint(blob: Buffer): string {
  return `SHA256:${createHash('sha256').update(blob).digest('base64').replace(/=+$/, '')}`;
}

function expectedFingerprint(pinned: string): string {
  if (pinned.startsWith('SHA256:')) return pinned;
  const parts = pinned.trim().split(/\s+/);
  if (parts.length < 2) throw new UsageError('RDPCLOUD_SERIAL_HOST_KEY: an OpenSSH public-key line ("ssh-ed25519 AAAA...") or a SHA256: fingerprint');
  return fingerprint(Buffer.from(parts[1], 'base64'));
}

/** Connects, asks for an 80x24 pty and a shell, and hands back the byte stream. */
export async function openSerialConsole(target: SerialTarget, gw: GatewayOptions): Promise<{ wire: Wire; close(): void }> {
  const want = expectedFingerprint(gw.hostKey);
  const conn = new ssh2.Client();
  let seen: string | undefined;
  return new Promise((resolve, reject) => {
    const fail = (e: SerialConnectError) => {
      conn.end();
      reject(e);
    };
    conn.on('error', (e: Error & { level?: string }) => {
      if (seen && seen !== want) return fail(new SerialConnectError('host-key', `the serial gateway ${gw.host}:${gw.port} presented host key ${seen}, not the pinned ${want}: not connecting (set RDPCLOUD_SERIAL_HOST_KEY only if you have checked the new key)`));
      if (e.level === 'client-authentication') {
        return fail(new SerialConnectError('auth', `the serial gateway refused the key for ${target.instance}: serial port access may be off (metadata serial-port-enable), blocked by the org policy compute.disableSerialPortAccess, the key may not have propagated yet, or the caller lacks compute.instances.setMetadata / roles/compute.osAdminLogin`));
      }
      fail(new SerialConnectError('network', `cannot reach the serial gateway ${gw.host}:${gw.port}: ${e.message}`));
    });
    conn.on('ready', () => {
      conn.shell({ term: 'vt100', cols: 80, rows: 24 }, (err, stream) => {
        if (err) return fail(new SerialConnectError('network', `the serial gateway did not open a console: ${err.message}`));
        const wire: Wire = {
          write: (d) => stream.write(d),
          onData: (l) => stream.on('data', (b: Buffer) => l(b.toString('utf8'))),
          onClose: (l) => stream.on('close', l),
        };
        resolve({ wire, close: () => { stream.end(); conn.end(); } });
      });
    });
    conn.connect({
      host: gw.host,
      port: gw.port,
      username: serialUsername(target),
      privateKey: gw.privateKey,
      readyTimeout: gw.readyTimeoutMs,
      keepaliveInterval: 15_000,
      hostVerifier: (key: Buffer) => {
        seen = fingerprint(key);
        return seen === want;
      },
    });
  });
}

/** An ed25519 key pair for one run: the private key stays in memory, the public one goes to ssh-keys. */
export function ephemeralKey(comment: string): { privateKey: string; publicKey: string } {
  for (let i = 0; i < 20; i++) {
    const pair = ssh2.utils.generateKeyPairSync('ed25519', { comment });
    // ssh2 occasionally makes a key it cannot parse back (cloud-apis notes, section 6): make another.
    if (!(ssh2.utils.parseKey(pair.private) instanceof Error)) return { privateKey: pair.private, publicKey: pair.public.trim() };
  }
  throw new Error('could not generate an ed25519 key');
}
