// `rdpcloud diagnose`: the cloud path from the audit engine plus the in-guest checks over the serial console.
// It changes nothing in the guest; its one write to the cloud - a temporary key in ssh-keys, removed after - is
// announced first and needs --yes or a yes at the prompt.
import { constants } from 'node:fs';
import { mkdir, open, rm, writeFile, type FileHandle } from 'node:fs/promises';
import { dirname } from 'node:path';
import { UsageError } from '../errors.js';
import { evaluate } from '../engine/evaluate.js';
import { parsePort } from '../engine/sources.js';
import { diagnoseGuest, inGuideOrder } from '../guest/diagnose.js';
import type { CheckResult } from '../guest/checks.js';
import { planGuestFixes, type GuestPlan } from '../guest/plan.js';
import { WorldOpenRefused, planCloudFix } from '../engine/cloud-fix.js';
import { findInstance, instanceRef } from '../model/instance-ref.js';
import { REPORT_SCHEMA_VERSION } from '../model/results.js';
import { diagnoseText, type Diagnosis } from '../reporters/diagnose.js';
import { GcpProvider } from '../../providers/gcp/index.js';
import { GuestAccessError, serialPortEnabled, withGuestSession, type Credentials, type SessionOptions } from '../../providers/gcp/serial/access.js';
import type { Instance, Inventory } from '../model/inventory.js';
import { ResetError, resetWindowsPassword } from '../../providers/gcp/windows-password.js';
import { atCwd, namedSources, readScopes, sourcesOf, type CommonOpts, type Io } from './common.js';
import { Progress } from './progress.js';
import { probeInstance } from './probe.js';

export interface GuestOpts extends CommonOpts {
  probe?: boolean;
  probeAddress?: string;
  enableSerialPort?: boolean;
  regionalGateway?: boolean;
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

/** What diagnose and fix both start from: the flags checked, the password, the instance and its provider. */
async function guestTarget(verb: string, ref: string, o: GuestOpts, io: Io) {
  if (o.from) throw new UsageError(`${verb} talks to the guest: leave out --from and name the project (--project P)`);
  const timeoutMs = Number(o.timeout) * 1000;
  if (!Number.isFinite(timeoutMs) || timeoutMs <= 0) throw new UsageError(`--timeout "${o.timeout}": seconds, a positive number`);
  const credentials = await windowsCredentials(o, io);
  const { inventory, providers } = await readScopes({ ...o, provider: o.provider.length ? o.provider : ['gcp'] }, io, new Progress(io));
  const instance = findInstance(inventory, ref);
  const gcp = providers.find((p) => p.id === instance.provider);
  if (!(gcp instanceof GcpProvider)) throw new UsageError(`${verb} reaches the guest through the GCE serial console: ${instance.provider} instances are not supported yet`);
  return { timeoutMs, credentials, inventory, instance, gcp };
}

/** How a guest session is run: the same for diagnose and fix. */
function sessionOptions(o: GuestOpts, io: Io, credentials: Credentials, timeoutMs: number, transcript: string[]): SessionOptions {
  return {
    env: io.env,
    credentials,
    timeoutMs,
    keyLifetimeMs: 15 * 60_000,
    now: io.now,
    connectAttempts: Number(io.env.RDPCLOUD_SERIAL_CONNECT_ATTEMPTS ?? 5),
    connectBackoffMs: Number(io.env.RDPCLOUD_SERIAL_CONNECT_BACKOFF_MS ?? 3000),
    transcript: o.transcript ? (dir, text) => transcript.push(`${dir === 'sent' ? '>>' : '<<'} ${JSON.stringify(text)}`) : undefined,
    say: (line) => io.stderr(`${line}\n`),
    enableSerialPort: !!o.enableSerialPort,
    regionalGateway: !!o.regionalGateway,
  };
}

/** The cloud writes a guest session makes: the key, and serial-port-enable when it is off and allowed. */
function accessPlan(instance: Instance, inventory: Inventory, o: GuestOpts & { env_account?: string }): string[] {
  const projectMd = inventory.scopes.find((s) => s.provider === 'gcp' && s.scope === instance.scope)?.metadata;
  const off = !serialPortEnabled(instance.metadata, projectMd);
  const osLogin = /^(true|1|yes)$/i.test(instance.metadata?.['enable-oslogin'] ?? projectMd?.['enable-oslogin'] ?? '');
  return [
    osLogin
      ? `add a temporary SSH key to the OS Login profile of ${o.env_account ?? 'your account'} (expires in 15 minutes) and remove it afterwards`
      : `add a temporary SSH key for user rdpcloud to the ssh-keys metadata of ${instance.name} (expires in 15 minutes) and remove it afterwards`,
    ...(off && o.enableSerialPort ? [`turn serial-port-enable on for ${instance.name} for this run (it is off now), and put the previous value back afterwards`] : []),
  ];
}

/** Consent for the writes listed: --yes, or yes at a prompt on a terminal; otherwise the plan and exit 2. */
export async function consent(plan: string[], o: { yes?: boolean }, io: Io): Promise<void> {
  io.stderr(`rdpcloud will:\n${plan.map((p) => `  - ${p}\n`).join('')}`);
  if (o.yes) return;
  if (io.confirm && io.stdinIsTTY && (await io.confirm('go ahead? [y/N] '))) return;
  throw new UsageError('nothing done: confirm with --yes (or answer yes at the prompt on a terminal)');
}

export async function runDiagnose(ref: string, o: GuestOpts, io: Io): Promise<number> {
  const port = parsePort(o.port ?? '3389');
  const sources = sourcesOf(o, await namedSources(o, io));
  const { timeoutMs, credentials, inventory, instance, gcp } = await guestTarget('diagnose', ref, o, io);
  const cloud = evaluate({ ...inventory, instances: [instance] }, sources, port).results;
  const d: Diagnosis = { ref: instanceRef(instance), state: instance.state, cloud };
  // Edge -> network -> listener -> guest: what the listener says before anyone logs in.
  const listener = await probeInstance(instance, o, io);
  if (listener) d.listener = listener;
  const transcript: string[] = [];
  try {
    await consent([...accessPlan(instance, inventory, { ...o, env_account: io.env.RDPCLOUD_GCP_ACCOUNT }), `log in to the serial console as ${credentials.domain ? `${credentials.domain}\\` : ''}${credentials.user} and run read-only commands (sc query, reg query, qwinsta, netstat, netsh ... show, net localgroup, wevtutil)`], o, io);
    const scopeMd = inventory.scopes.find((s) => s.provider === 'gcp' && s.scope === instance.scope)?.metadata;
    const checks = await withGuestSession(gcp, instance, scopeMd, sessionOptions(o, io, credentials, timeoutMs, transcript), (sac) => diagnoseGuest((command) => sac.run(command)));
    d.guest = { checks: inGuideOrder(checks) };
  } catch (e) {
    if (!(e instanceof GuestAccessError)) throw e;
    d.guestError = e.message;
  } finally {
    if (o.transcript) await writeFile(atCwd(io, o.transcript), transcript.join('\n') + '\n', { mode: 0o600 });
  }
  io.stdout(o.format === 'json' ? JSON.stringify({ schemaVersion: REPORT_SCHEMA_VERSION, ...d }, null, 2) + '\n' : diagnoseText(d));
  if (d.guestError) return 2;
  const checks = d.guest?.checks ?? [];
  if (checks.some((c) => c.status === 'problem')) return 1;
  return checks.some((c) => c.status === 'unknown') ? 3 : 0;
}

export interface FixOpts extends GuestOpts {
  dryRun?: boolean;
  restartService?: boolean;
  allowWorld?: boolean;
  nlaOff?: boolean;
}

export interface StepOutcome {
  id: string;
  title: string;
  command: string;
  status: 'applied' | 'failed' | 'unknown' | 'not run';
  detail?: string;
}

/** `rdpcloud fix`: diagnose, plan, confirm, apply, diagnose again; a plan is shown before anything changes. */
export async function runFix(ref: string, o: FixOpts, io: Io): Promise<number> {
  const { timeoutMs, credentials, inventory, instance, gcp } = await guestTarget('fix', ref, o, io);
  // The cloud side: from the fix source (default iap) the path must be open; one narrow rule if it is not.
  const fixSources = sourcesOf({ ...o, source: o.source.length ? o.source : ['iap'] }, await namedSources(o, io)).filter((s) => !s.providers || s.providers.includes('gcp'));
  const cloudNow = evaluate({ ...inventory, instances: [instance] }, fixSources, parsePort(o.port ?? '3389')).results;
  const cloudPlans = cloudNow.map((r) => {
    try {
      return planCloudFix(instance, r, fixSources.find((s) => s.label === r.source)!.all.toCidrs(), { allowWorld: !!o.allowWorld });
    } catch (e) {
      if (e instanceof WorldOpenRefused) throw new UsageError(e.message);
      throw e;
    }
  });
  const cloudFixes = cloudPlans.flatMap((p) => ('fix' in p ? [p.fix] : []));
  const transcript: string[] = [];
  const outcomes: StepOutcome[] = [];
  let before: CheckResult[] = [];
  let after: CheckResult[] | undefined;
  let plan: GuestPlan | undefined;
  let error: string | undefined;
  let cloudAfter: ReturnType<typeof evaluate>['results'] | undefined;
  try {
    await consent([...accessPlan(instance, inventory, { ...o, env_account: io.env.RDPCLOUD_GCP_ACCOUNT }), `log in to the serial console as ${credentials.domain ? `${credentials.domain}\\` : ''}${credentials.user}, diagnose, and ${o.dryRun ? 'show the plan only' : 'apply the plan it shows (confirmed again unless --yes)'}`], o, io);
    const scopeMd = inventory.scopes.find((s) => s.provider === 'gcp' && s.scope === instance.scope)?.metadata;
    await withGuestSession(gcp, instance, scopeMd, sessionOptions(o, io, credentials, timeoutMs, transcript), async (sac) => {
      const run = (command: string) => sac.run(command);
      before = inGuideOrder(await diagnoseGuest(run));
      plan = planGuestFixes(before, { restartService: !!o.restartService, nlaOff: !!o.nlaOff, stamp: io.now().toISOString().replace(/[:.]/g, '').replace(/\d{3}Z$/, 'Z') });
      io.stderr(planText(plan));
      for (const c of cloudPlans) io.stderr(`  cloud: ${'fix' in c ? c.fix.title : 'nothing' in c ? c.nothing : `left alone - ${c.leftAlone}`}\n`);
      if (o.dryRun || (plan.steps.length === 0 && cloudFixes.length === 0)) return;
      if (!o.yes) await consent([...plan.steps.map((s) => `${s.title}: ${s.command}`), ...cloudFixes.map((f) => f.title)], o, io);
      for (const step of plan.steps) outcomes.push({ id: step.id, title: step.title, command: step.command, status: 'not run' });
      for (const out of outcomes) {
        try {
          const r = await run(out.command);
          out.status = r.errorlevel === 0 ? 'applied' : 'failed';
          if (r.errorlevel !== 0) out.detail = r.output.split('\n').filter(Boolean).slice(-1)[0];
        } catch (e) {
          // Cut off mid-step: whether it took effect is unknown; the next run diagnoses again before changing anything.
          out.status = 'unknown';
          out.detail = (e as Error).message;
          throw e;
        }
        if (out.status === 'failed' && out.id === 'backup') break; // no registry change without the backup
      }
      after = inGuideOrder(await diagnoseGuest(run));
    });
    // Then the cloud, verified by reading the project again and judging the path anew.
    if (!o.dryRun && (plan?.steps.length || cloudFixes.length)) {
      for (const f of cloudFixes) {
        const out: StepOutcome = { id: `cloud-${f.firewall.name}`, title: f.title, command: `firewalls.insert ${f.firewall.name} + instances.setTags ${f.tag}`, status: 'not run' };
        outcomes.push(out);
        try {
          await gcp.createFirewallRule(f.project, f.firewall).catch((e: Error) => {
            if (!/already exists/.test(e.message)) throw e; // a rerun: the rule is there already
          });
          await gcp.addNetworkTag(instance.scope, instance.location, instance.name, f.tag);
          out.status = 'applied';
        } catch (e) {
          out.status = 'failed';
          out.detail = (e as Error).message;
        }
      }
      if (cloudFixes.length) {
        const again = await readScopes({ ...o, provider: ['gcp'], project: [instance.scope, ...new Set(cloudFixes.map((f) => f.project))] }, io, new Progress(io));
        const fresh = again.inventory.instances.find((i) => i.id === instance.id) ?? instance;
        cloudAfter = evaluate({ ...again.inventory, instances: [fresh] }, fixSources, parsePort(o.port ?? '3389')).results;
      }
    }
  } catch (e) {
    if (!(e instanceof GuestAccessError)) throw e;
    error = e.message;
  } finally {
    if (o.transcript) await writeFile(atCwd(io, o.transcript), transcript.join('\n') + '\n', { mode: 0o600 });
  }
  const cloud = { before: cloudNow.map((r) => ({ source: r.source, verdict: r.verdict })), plans: cloudPlans, after: cloudAfter?.map((r) => ({ source: r.source, verdict: r.verdict })) };
  const report = { schemaVersion: REPORT_SCHEMA_VERSION, ref: instanceRef(instance), before, plan, steps: outcomes, after, cloud, ...(error ? { error } : {}) };
  io.stdout(o.format === 'json' ? JSON.stringify(report, null, 2) + '\n' : fixText(report));
  if (error && outcomes.length === 0 && before.length === 0) return 2;
  if (error) return 2;
  if (outcomes.some((x) => x.id === 'nla-off' && x.status === 'applied')) {
    io.stderr(`NLA is off on ${instance.name} now: once you know what you needed, turn it back on - rdpcloud fix plans it, or: reg add "HKLM\\SYSTEM\\CurrentControlSet\\Control\\Terminal Server\\WinStations\\RDP-Tcp" /v UserAuthentication /t REG_DWORD /d 1 /f\n`);
  }
  const final = after ?? before;
  const cloudOk = (cloudAfter ?? cloudNow).every((r) => r.verdict === 'reachable');
  if (o.dryRun) return final.some((c) => c.status === 'problem') || !cloudOk ? 1 : 0;
  return final.some((c) => c.status === 'problem' || c.status === 'unknown') || outcomes.some((s) => s.status !== 'applied') || !cloudOk ? 1 : 0;
}

function planText(p: GuestPlan): string {
  const out: string[] = [];
  if (p.steps.length === 0) out.push('plan: nothing to change in the guest');
  else out.push('plan:', ...p.steps.map((s, i) => `  ${i + 1}. ${s.title}\n       ${s.command}${s.undo ? `\n       undo: ${s.undo}` : ''}`));
  for (const n of p.needsFlag) out.push(`  not planned without ${n.flag}: ${n.step.title}`);
  for (const l of p.leftAlone) out.push(`  left alone: ${l.check} - ${l.why}`);
  return out.join('\n') + '\n';
}

function fixText(r: { ref: string; before: CheckResult[]; plan?: GuestPlan; steps: StepOutcome[]; after?: CheckResult[]; error?: string; cloud: { before: { source: string; verdict: string }[]; after?: { source: string; verdict: string }[] } }): string {
  const out: string[] = [r.ref, ''];
  for (const c of r.cloud.before) {
    const a = r.cloud.after?.find((x) => x.source === c.source);
    out.push(`cloud path from ${c.source}: ${c.verdict}${a ? ` -> ${a.verdict}` : ''}`);
  }
  out.push('');
  if (r.steps.length) out.push('applied:', ...r.steps.map((s) => `  ${s.status.toUpperCase().padEnd(8)} ${s.title}${s.detail ? ` (${s.detail})` : ''}`), '');
  if (r.before.length) {
    out.push(`  ${'CHECK'.padEnd(38)} ${'BEFORE'.padEnd(22)} AFTER`);
    const after = new Map((r.after ?? []).map((c) => [c.id, c]));
    for (const c of r.before) {
      const a = after.get(c.id);
      out.push(`  ${c.title.slice(0, 38).padEnd(38)} ${`${c.observed}${c.status === 'problem' ? ' (!)' : ''}`.slice(0, 22).padEnd(22)} ${a ? `${a.observed}${a.status === 'problem' ? ' (!)' : ''}` : '-'}`);
    }
  }
  for (const l of r.plan?.leftAlone ?? []) out.push('', `left alone: ${l.check} - ${l.why}`);
  if (r.error) out.push('', `error: ${r.error}`);
  const applied = r.steps.filter((s) => s.status === 'applied').length;
  if (r.steps.some((s) => s.status === 'unknown')) out.push('', `cut off: ${applied} step(s) applied, ${r.steps.filter((s) => s.status === 'unknown').map((s) => s.title).join(', ')} in flight (unknown), the rest not run. Run fix again: it diagnoses first.`);
  return out.join('\n') + '\n';
}

export interface ResetOpts extends CommonOpts {
  user?: string;
  output?: string;
  yes?: boolean;
  timeout: string;
}

/** `rdpcloud reset-password`: GCE's Windows password reset; the password goes to a terminal or a 0600 file, once. */
export async function runResetPassword(ref: string, o: ResetOpts, io: Io): Promise<number> {
  const user = o.user;
  if (!user) throw new UsageError('name the Windows account with --user (it is created as an administrator if it does not exist)');
  if (!o.output && !io.stdoutIsTTY) throw new UsageError('the new password is shown only on a terminal or written to --output FILE (mode 0600): stdout is not a terminal');
  if (o.from) throw new UsageError('reset-password talks to the cloud: leave out --from and name the project (--project P)');
  const timeoutMs = Number(o.timeout) * 1000;
  if (!Number.isFinite(timeoutMs) || timeoutMs <= 0) throw new UsageError(`--timeout "${o.timeout}": seconds, a positive number`);
  const { inventory, providers } = await readScopes({ ...o, provider: o.provider.length ? o.provider : ['gcp'] }, io, new Progress(io));
  const instance = findInstance(inventory, ref);
  const gcp = providers.find((p) => p.id === instance.provider);
  if (!(gcp instanceof GcpProvider)) throw new UsageError(`reset-password is GCE's protocol: ${instance.provider} instances are not supported`);
  // The file is opened (made, mode 0600) before the password changes: a path that cannot be written must not
  // cost the user a password they never get to see.
  const secret = o.output ? await openSecretFile(atCwd(io, o.output), o.output) : undefined;
  let written = false;
  const resetTo = async (file: FileHandle | undefined): Promise<number> => {
    await consent([`add a one-time RSA key (expires in 5 minutes) to the windows-keys metadata of ${instance.name}`, `let the guest agent set a new password for ${user} (created as an administrator if missing; data protected by the old password, such as EFS files, is lost)`], o, io);
    let password: string;
    try {
      password = await resetWindowsPassword(gcp, instance, user, io.env.RDPCLOUD_GCP_ACCOUNT ?? 'rdpcloud', { now: io.now, pollMs: Number(io.env.RDPCLOUD_RESET_POLL_MS ?? 2000), timeoutMs });
    } catch (e) {
      if (e instanceof ResetError) {
        io.stderr(`error: ${e.message}\n`);
        return 2;
      }
      throw e;
    }
    if (file) {
      try {
        await file.truncate(0);
        await file.write(`${password}\n`, 0);
        written = true;
      } catch (e) {
        throw new UsageError(`${o.output}: the password of ${user} was reset but could not be written (${(e as NodeJS.ErrnoException).code ?? (e as Error).message}); run reset-password again with another --output`);
      }
      io.stderr(`the new password for ${user} on ${instance.name} is in ${o.output} (mode 0600)\n`);
    } else {
      io.stdout(`username: ${user}\npassword: ${password}\n`);
    }
    return 0;
  };
  try {
    return await resetTo(secret?.file);
  } finally {
    await secret?.file.close();
    // A file made for a password that never came (declined, failed) is not left behind empty.
    if (secret?.created && !written) await rm(secret.path, { force: true });
  }
}

/**
 * Opens (creates) the file a secret goes to, mode 0600 whatever the umask or an older file's mode. Not truncated
 * here: until the new password is in hand, an older file keeps what it had.
 */
async function openSecretFile(path: string, named: string): Promise<{ file: FileHandle; path: string; created: boolean }> {
  try {
    await mkdir(dirname(path), { recursive: true });
    let created = true;
    const file = await open(path, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL, 0o600).catch((e: NodeJS.ErrnoException) => {
      if (e.code !== 'EEXIST') throw e;
      created = false;
      return open(path, constants.O_WRONLY, 0o600);
    });
    await file.chmod(0o600);
    return { file, path, created };
  } catch (e) {
    throw new UsageError(`--output "${named}": cannot be written (${(e as NodeJS.ErrnoException).code ?? (e as Error).message}); nothing was changed`);
  }
}
