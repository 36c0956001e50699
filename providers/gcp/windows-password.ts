// GCE's Windows password reset, as gcloud compute reset-windows-password and the guest agent do it: an RSA key in
// the instance's `windows-keys` metadata (expiring in 5 minutes), the agent's answer on serial port 4 - the new
// password RSA-OAEP-encrypted with that key (../../../shared/docs/reference/serial-console-and-rdp-probe.md §3).
// The private key never leaves memory; the password is returned to the caller only.
import crypto from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Instance } from '../../src/model/inventory.js';
import type { GcpProvider } from './index.js';

export const KEY_LIFETIME_MS = 300_000;

export interface ResetKey {
  entry: string;
  modulus: string;
  privateKey: crypto.KeyObject;
}

const b64 = (u: string) => Buffer.from(u, 'base64url').toString('base64');

export function resetKey(userName: string, email: string, now: Date): ResetKey {
  const { publicKey, privateKey } = crypto.generateKeyPairSync('rsa', { modulusLength: 2048 });
  const jwk = publicKey.export({ format: 'jwk' }) as { n: string; e: string };
  const expireOn = new Date(now.getTime() + KEY_LIFETIME_MS).toISOString().replace(/\.\d{3}Z$/, '+0000');
  const modulus = b64(jwk.n);
  // Sorted keys, one line, as gcloud writes it (json.dumps(sort_keys=True)).
  const entry = JSON.stringify({ email, expireOn, exponent: b64(jwk.e), hashFunction: 'sha256', modulus, userName });
  return { entry, modulus, privateKey };
}

/** windows-keys with our entry added and expired entries dropped. */
export function withResetKey(current: string | undefined, entry: string, now: Date): string {
  const keep = (current ?? '').split('\n').filter((l) => {
    try {
      return Date.parse(JSON.parse(l).expireOn) > now.getTime();
    } catch {
      return false;
    }
  });
  return [...keep, entry].join('\n');
}

/** The agent's answer for our modulus among serial port 4's lines, newest first (a line may be partial). */
export function findAnswer(contents: string, modulus: string): { encryptedPassword?: string; errorMessage?: string; alive: boolean } {
  let alive = false;
  for (const line of contents.split('\n').reverse()) {
    let j: { modulus?: string; ready?: boolean; encryptedPassword?: string; errorMessage?: string; passwordFound?: boolean };
    try {
      j = JSON.parse(line);
    } catch {
      continue;
    }
    if (j.modulus || j.ready) alive = true;
    if (j.modulus === modulus && (j.encryptedPassword || j.errorMessage)) return { encryptedPassword: j.encryptedPassword, errorMessage: j.errorMessage, alive: true };
  }
  return { alive };
}

export function decryptPassword(key: ResetKey, encrypted: string, hash = 'sha256'): string {
  return crypto.privateDecrypt({ key: key.privateKey, padding: crypto.constants.RSA_PKCS1_OAEP_PADDING, oaepHash: hash }, Buffer.from(encrypted, 'base64')).toString('utf8');
}

export class ResetError extends Error {}

/** Writes the key, polls COM4 (every `pollMs`, up to `timeoutMs`), returns the new password. */
export async function resetWindowsPassword(gcp: GcpProvider, instance: Instance, userName: string, email: string, o: { now: () => Date; pollMs: number; timeoutMs: number }): Promise<string> {
  if (userName.toLowerCase() === instance.name.toLowerCase()) throw new ResetError(`the user name must differ from the instance name (${instance.name})`);
  if (!/^[A-Za-z0-9._-]{1,20}$/.test(userName)) throw new ResetError(`"${userName}" is not a Windows user name rdpcloud will set (letters, digits, . _ -, at most 20)`);
  const raw = await gcp.readInstance(instance.scope, instance.location, instance.name);
  if (raw.status !== 'RUNNING') throw new ResetError(`${instance.name} is ${raw.status}: the guest agent answers only on a running instance`);
  const before = await gcp.serialPortOutput(instance.scope, instance.location, instance.name, 4, 0);
  const start = before.next;
  const key = resetKey(userName, email, o.now());
  const items: { key: string; value: string }[] = (raw.metadata?.items ?? []).map((i: { key: string; value: string }) => ({ key: i.key, value: i.value }));
  const current = items.find((i) => i.key === 'windows-keys')?.value;
  const next = [...items.filter((i) => i.key !== 'windows-keys'), { key: 'windows-keys', value: withResetKey(current, key.entry, o.now()) }];
  await gcp.writeMetadata(instance.scope, instance.location, instance.name, raw.metadata?.fingerprint ?? '', next);
  const deadline = Date.now() + o.timeoutMs;
  let seen = '';
  let alive = findAnswer(before.contents, '').alive;
  while (Date.now() < deadline) {
    seen += (await gcp.serialPortOutput(instance.scope, instance.location, instance.name, 4, start + seen.length)).contents;
    const a = findAnswer(seen, key.modulus);
    alive ||= a.alive;
    if (a.errorMessage) throw new ResetError(`the guest agent could not set the password: ${a.errorMessage}`);
    if (a.encryptedPassword) return decryptPassword(key, a.encryptedPassword);
    await sleep(o.pollMs);
  }
  throw new ResetError(
    alive
      ? `the guest agent did not answer for this key within ${Math.round(o.timeoutMs / 1000)} s: check that this machine's clock is right (the key expires 5 minutes after it is made)`
      : `no guest agent answered on serial port 4 within ${Math.round(o.timeoutMs / 1000)} s: the Windows guest agent may be missing or its account manager disabled (metadata disable-account-manager)`,
  );
}
