// `rdpcloud diagnose`: the cloud path from the audit engine plus the in-guest checks over the serial console.
// It changes nothing in the guest; its one write to the cloud - a temporary key in ssh-keys, removed after - is
// announced first and needs --yes or a yes at the prompt.
import { writeFile } from 'node:fs/promises';
import { UsageError } from '../errors.js';
import { evaluate } from '../engine/evaluate.js';
import { parsePort } from '../engine/sources.js';
import { diagnoseGuest, inGuideOrder } from '../guest/diagnose.js';
import { findInstance, instanceRef } from '../model/instance-ref.js';
import { REPORT_SCHEMA_VERSION } from '../model/results.js';
import { diagnoseText, type Diagnosis } from '../reporters/diagnose.js';
import { GcpProvider } from '../../providers/gcp/index.js';
import { GuestAccessError, withGuestSession, type Credentials } from '../../providers/gcp/serial/access.js';
import { readScopes, sourcesOf, type CommonOpts, type Io } from './common.js';
import { Progress } from './progress.js';

export interface GuestOpts extends CommonOpts {
  user?: string;
  domain?: string;
  passwordStdin?: boolean;
  yes?: boolean;
  transcript?: string;
  timeout: string;
  format: string;
}

/** The Windows password: RDPCLOUD_WINDOWS_PASSWORD, --password-stdin, or a no-echo prompt - never a flag value. */
export async function windowsCredentials(o: GuestOpts, io: Io): Promise<Credentials> {
  if (!o.user) throw new UsageError('name the Windows account with --user (e.g. --user Administrator); its password comes from RDPCLOUD_WINDOWS_PASSWORD, --password-stdin or a prompt');
  let password = io.env.RDPCLOUD_WINDOWS_PASSWORD;
  if (!password && o.passwordStdin) password = (await io.readStdin?.())?.replace(/\r?\n$/, '');
  if (!password && io.promptSecret && io.stdinIsTTY) password = await io.promptSecret(`Windows password for ${o.user}: `);
  if (!password) throw new UsageError(`no Windows password for ${o.user}: set RDPCLOUD_WINDOWS_PASSWORD, pipe it with --password-stdin, or run on a terminal to be asked (rdpcloud reset-password sets a new one)`);
  return { user: o.user, domain: o.domain ?? '', password };
}

/** Consent for the writes listed: --yes, or yes at a prompt on a terminal; otherwise the plan and exit 2. */
export async function consent(plan: string[], o: { yes?: boolean }, io: Io): Promise<void> {
  io.stderr(`rdpcloud will:\n${plan.map((p) => `  - ${p}\n`).join('')}`);
  if (o.yes) return;
  if (io.confirm && io.stdinIsTTY && (await io.confirm('go ahead? [y/N] '))) return;
  throw new UsageError('nothing done: confirm with --yes (or answer yes at the prompt on a terminal)');
}

export async function runDiagnose(ref: string, o: GuestOpts, io: Io): Promise<number> {
  const port = parsePort(o.port);
  const sources = sourcesOf(o);
  if (o.from) throw new UsageError('diagnose talks to the guest: leave out --from and name the project (--project P)');
  const timeoutMs = Number(o.timeout) * 1000;
  if (!Number.isFinite(timeoutMs) || timeoutMs <= 0) throw new UsageError(`--timeout "${o.timeout}": seconds, a positive number`);
  const credentials = await windowsCredentials(o, io);
  const { inventory, providers } = await readScopes({ ...o, provider: o.provider.length ? o.provider : ['gcp'] }, io, new Progress(io));
  const instance = findInstance(inventory, ref);
  const gcp = providers.find((p) => p.id === instance.provider);
  if (!(gcp instanceof GcpProvider)) throw new UsageError(`diagnose reaches the guest through the GCE serial console: ${instance.provider} instances are not supported yet`);
  const cloud = evaluate({ ...inventory, instances: [instance] }, sources, port).results;
  const d: Diagnosis = { ref: instanceRef(instance), state: instance.state, cloud };
  const transcript: string[] = [];
  try {
    await consent([`add a temporary SSH key for user rdpcloud to the ssh-keys metadata of ${instance.name} (expires in 15 minutes) and remove it afterwards`, `log in to the serial console as ${credentials.domain ? `${credentials.domain}\\` : ''}${credentials.user} and run read-only commands (sc query, reg query, qwinsta, netstat, netsh ... show, net localgroup)`], o, io);
    const scopeMd = inventory.scopes.find((s) => s.provider === 'gcp' && s.scope === instance.scope)?.metadata;
    const checks = await withGuestSession(gcp, instance, scopeMd, {
      env: io.env,
      credentials,
      timeoutMs,
      keyLifetimeMs: 15 * 60_000,
      now: io.now,
      connectAttempts: Number(io.env.RDPCLOUD_SERIAL_CONNECT_ATTEMPTS ?? 5),
      connectBackoffMs: Number(io.env.RDPCLOUD_SERIAL_CONNECT_BACKOFF_MS ?? 3000),
      transcript: o.transcript ? (dir, text) => transcript.push(`${dir === 'sent' ? '>>' : '<<'} ${JSON.stringify(text)}`) : undefined,
      say: (line) => io.stderr(`${line}\n`),
    }, (sac) => diagnoseGuest((command) => sac.run(command)));
    d.guest = { checks: inGuideOrder(checks) };
  } catch (e) {
    if (!(e instanceof GuestAccessError)) throw e;
    d.guestError = e.message;
  } finally {
    if (o.transcript) await writeFile(o.transcript, transcript.join('\n') + '\n', { mode: 0o600 });
  }
  io.stdout(o.format === 'json' ? JSON.stringify({ schemaVersion: REPORT_SCHEMA_VERSION, ...d }, null, 2) + '\n' : diagnoseText(d));
  if (d.guestError) return 2;
  const checks = d.guest?.checks ?? [];
  if (checks.some((c) => c.status === 'problem')) return 1;
  return checks.some((c) => c.status === 'unknown') ? 3 : 0;
}
