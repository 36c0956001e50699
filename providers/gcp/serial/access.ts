// A guest session over the GCE serial console, from start to cleanup: check that serial access is on, publish an
// ephemeral key in the instance's `ssh-keys` with a short expiry, connect to the gateway (pinned host key), log in
// on a SAC cmd channel, run what the caller asks, then close the channel and take the key out again. Every write
// to the cloud is one the caller listed in its plan and got consent for.
import type { Instance } from '../../../src/model/inventory.js';
import type { GcpProvider } from '../index.js';
import { SacDriver, SacError } from './sac.js';
import { SerialConnectError, ephemeralKey, gatewayFromEnv, openSerialConsole } from './session.js';

export const KEY_USER = 'rdpcloud';

export interface Credentials {
  user: string;
  domain: string;
  password: string;
}

export interface SessionOptions {
  env: NodeJS.ProcessEnv;
  credentials: Credentials;
  timeoutMs: number;
  /** Key lifetime in ssh-keys (the gateway ignores an expired key even if cleanup failed). */
  keyLifetimeMs: number;
  now: () => Date;
  /** Attempts while the new key propagates to the gateway. */
  connectAttempts: number;
  connectBackoffMs: number;
  transcript?: (direction: 'sent' | 'received', text: string) => void;
  /** Progress lines for the user (stderr). */
  say(line: string): void;
  /** Consent given to turn serial-port-enable on for the run (and back afterwards) when it is off. */
  enableSerialPort?: boolean;
  /** Use the instance region's gateway ({region}-ssh-serialport.googleapis.com) and its own host key. */
  regionalGateway?: boolean;
}

export type GuestAccessErrorKind = 'serial-off' | 'os-login' | 'not-running' | 'connect' | 'sac';

export class GuestAccessError extends Error {
  constructor(
    readonly kind: GuestAccessErrorKind,
    message: string,
  ) {
    super(message);
  }
}

const truthy = (v: string | undefined) => !!v && ['true', '1', 'yes', 'y'].includes(v.trim().toLowerCase());

/** Whether the serial port may be used: the instance's metadata wins over the project's. */
export function serialPortEnabled(instanceMd: Record<string, string> | undefined, projectMd: Record<string, string> | undefined): boolean {
  const v = instanceMd?.['serial-port-enable'] ?? projectMd?.['serial-port-enable'];
  return truthy(v);
}

function keyLine(publicKey: string, expireOn: Date): string {
  // gcloud's format: USER:KEY google-ssh {"userName":...,"expireOn":...}; the guest agent and gateway honour expireOn.
  const [algo, blob] = publicKey.split(/\s+/);
  return `${KEY_USER}:${algo} ${blob} google-ssh {"userName":"${KEY_USER}","expireOn":"${expireOn.toISOString().replace(/\.\d{3}Z$/, '+0000')}"}`;
}

type Items = { key: string; value: string }[];

function withKey(items: Items, line: string): Items {
  const current = items.find((i) => i.key === 'ssh-keys')?.value;
  const value = current ? `${current.replace(/\n+$/, '')}\n${line}` : line;
  return [...items.filter((i) => i.key !== 'ssh-keys'), { key: 'ssh-keys', value }];
}

function withoutKey(items: Items, line: string): Items {
  const current = items.find((i) => i.key === 'ssh-keys')?.value ?? '';
  const rest = current.split('\n').filter((l) => l.trim() && l.trim() !== line);
  const others = items.filter((i) => i.key !== 'ssh-keys');
  return rest.length ? [...others, { key: 'ssh-keys', value: rest.join('\n') }] : others;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Runs `work` on a logged-in cmd channel of `instance`; the key is removed whatever happens. */
export async function withGuestSession<T>(gcp: GcpProvider, instance: Instance, scopeMetadata: Record<string, string> | undefined, o: SessionOptions, work: (sac: SacDriver) => Promise<T>): Promise<T> {
  const raw = await gcp.readInstance(instance.scope, instance.location, instance.name);
  if (raw.status !== 'RUNNING') throw new GuestAccessError('not-running', `${instance.name} is ${raw.status}: start it first (gcloud compute instances start ${instance.name} --zone=${instance.location} --project=${instance.scope})`);
  const items: Items = (raw.metadata?.items ?? []).map((i: { key: string; value: string }) => ({ key: i.key, value: i.value }));
  const md = Object.fromEntries(items.map((i) => [i.key, i.value]));
  // With OS Login, metadata keys are ignored: the key goes to the caller's OS Login profile, the user is its POSIX name.
  const osLogin = truthy(md['enable-oslogin'] ?? scopeMetadata?.['enable-oslogin']);
  const email = o.env.RDPCLOUD_GCP_ACCOUNT;
  if (osLogin && !email) {
    throw new GuestAccessError('os-login', `${instance.name} uses OS Login: set RDPCLOUD_GCP_ACCOUNT to your account's email (the OS Login profile the temporary key goes to)`);
  }
  // Off: only with consent, for the run; the previous instance value (or its absence) is put back afterwards.
  const serialOff = !serialPortEnabled(md, scopeMetadata);
  if (serialOff && !o.enableSerialPort) {
    throw new GuestAccessError('serial-off', `serial port access is off for ${instance.name} (metadata serial-port-enable): add --enable-serial-port to turn it on for this run only (the previous value is put back afterwards; CIS GCP 4.5 wants it off)`);
  }
  const previousSerial = items.find((i) => i.key === 'serial-port-enable')?.value;

  const key = ephemeralKey(`rdpcloud@${instance.name}`);
  const expires = new Date(o.now().getTime() + o.keyLifetimeMs);
  const line = keyLine(key.publicKey, expires);
  const withSerial = (list: Items): Items => (serialOff ? [...list.filter((i) => i.key !== 'serial-port-enable'), { key: 'serial-port-enable', value: 'TRUE' }] : list);
  let user = KEY_USER;
  let osLoginKey: string | undefined;
  if (osLogin) {
    o.say(`adding a temporary key (expires in ${Math.round(o.keyLifetimeMs / 60000)} min) to the OS Login profile of ${email}`);
    const r = await gcp.importOsLoginKey(email!, instance.scope, key.publicKey, expires);
    user = r.posixUser;
    osLoginKey = r.fingerprint;
    if (serialOff) await gcp.writeMetadata(instance.scope, instance.location, instance.name, raw.metadata?.fingerprint ?? '', withSerial(items));
  } else {
    o.say(`adding a temporary key (expires in ${Math.round(o.keyLifetimeMs / 60000)} min) to the ssh-keys metadata of ${instance.name}${serialOff ? ', and turning serial-port-enable on for the run' : ''}`);
    await gcp.writeMetadata(instance.scope, instance.location, instance.name, raw.metadata?.fingerprint ?? '', withSerial(withKey(items, line)));
  }
  try {
    const gw = gatewayFromEnv(o.env, o.regionalGateway ? instance.location.replace(/-[a-z]$/, '') : undefined);
    let session: Awaited<ReturnType<typeof openSerialConsole>> | undefined;
    for (let attempt = 1; !session; attempt++) {
      try {
        session = await openSerialConsole({ project: instance.scope, zone: instance.location, instance: instance.name, user }, { ...gw, privateKey: key.privateKey, readyTimeoutMs: o.timeoutMs });
      } catch (e) {
        // A new key takes a few seconds to reach the gateway: authentication failures are retried.
        if (e instanceof SerialConnectError && e.kind === 'auth' && attempt < o.connectAttempts) {
          await sleep(o.connectBackoffMs * attempt);
          continue;
        }
        throw new GuestAccessError('connect', e instanceof Error ? e.message : String(e));
      }
    }
    const sac = new SacDriver(session.wire, { timeoutMs: o.timeoutMs, keyDelayMs: Number(o.env.RDPCLOUD_SERIAL_KEY_DELAY_MS ?? 0), transcript: o.transcript });
    try {
      await sac.toSacPrompt();
      const channel = await sac.openCmdChannel();
      await sac.switchTo(channel);
      await sac.login(o.credentials.user, o.credentials.domain, o.credentials.password);
      const out = await work(sac);
      await sac.closeChannel().catch(() => {});
      return out;
    } catch (e) {
      if (e instanceof SacError) throw new GuestAccessError('sac', e.message);
      throw e;
    } finally {
      session.close();
      sac.dispose();
    }
  } finally {
    if (osLoginKey) {
      await gcp.deleteOsLoginKey(email!, osLoginKey).then(
        () => o.say(`removed the temporary key from the OS Login profile of ${email}`),
        (e: Error) => o.say(`warning: could not remove the temporary key from the OS Login profile of ${email} (${e.message}); it expires by itself`),
      );
    }
    if (!osLoginKey || serialOff) try {
      const now = await gcp.readInstance(instance.scope, instance.location, instance.name);
      const current: Items = (now.metadata?.items ?? []).map((i: { key: string; value: string }) => ({ key: i.key, value: i.value }));
      let restored = withoutKey(current, line);
      if (serialOff) {
        restored = restored.filter((i) => i.key !== 'serial-port-enable');
        if (previousSerial !== undefined) restored.push({ key: 'serial-port-enable', value: previousSerial });
      }
      await gcp.writeMetadata(instance.scope, instance.location, instance.name, now.metadata?.fingerprint ?? '', restored);
      o.say(`removed the temporary key from ${instance.name}${serialOff ? ` and set serial-port-enable back to ${previousSerial ?? 'unset'}` : ''}`);
    } catch (e) {
      o.say(`warning: could not remove the temporary key from the ssh-keys metadata of ${instance.name} (${(e as Error).message}); it expires by itself, or remove the line for user ${KEY_USER}${serialOff ? `; serial-port-enable is still TRUE: set it back to ${previousSerial ?? 'unset'}` : ''}`);
    }
  }
}
