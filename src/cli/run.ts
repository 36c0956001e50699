// The command line. run(argv, io) returns an exit code; only bin.ts exits the process.
import { Command, CommanderError, Option } from 'commander';
import { writeFile } from 'node:fs/promises';
import { EXIT, InputError, RdpcloudError, ScopeError, UsageError } from '../errors.js';
import type { Inventory } from '../model/inventory.js';
import { REPORT_SCHEMA_VERSION, SEVERITIES, type Report, type Severity } from '../model/results.js';
import { evaluate } from '../engine/evaluate.js';
import { atOrAbove, builtinFindings, reachabilityFindings, DEFAULT_FINDING_OPTIONS } from '../engine/findings.js';
import { exposureSource, parsePort, resolveSource, type Source } from '../engine/sources.js';
import { remedyFor } from '../engine/remediation.js';
import { compareViews, type Verification } from '../engine/verify.js';
import { jsonReport } from '../reporters/json.js';
import { tableReport } from '../reporters/table.js';
import { explainText } from '../reporters/explain.js';
import { saveInventory } from './inventory-file.js';
import { findInstance } from '../model/instance-ref.js';
import { Progress } from './progress.js';
import { VERSION } from './version.js';
import { runDiagnose, runFix, runResetPassword, type FixOpts, type GuestOpts, type ResetOpts } from './guest.js';
import { collectRepeat, judgeOptions, readInventory, readScopes, scopeOptions, sourcesOf, type CommonOpts, type Io } from './common.js';

export type { Io } from './common.js';

const FORMATS = ['table', 'json'] as const;
type Format = (typeof FORMATS)[number];

function buildReport(inv: Inventory, sources: Source[], port: number, io: Io): Report {
  const ev = evaluate(inv, sources, port);
  const os = new Map(inv.instances.map((i) => [`${i.provider}|${i.scope}|${i.location}|${i.id}`, i.os]));
  const findings = [
    ...builtinFindings(ev, { ...DEFAULT_FINDING_OPTIONS, port }),
    ...reachabilityFindings(ev.results, (r) => os.get(`${r.provider}|${r.scope}|${r.location}|${r.instanceId}`) ?? 'unknown'),
  ];
  return {
    schemaVersion: REPORT_SCHEMA_VERSION,
    tool: { name: 'rdpcloud', version: VERSION },
    generatedAt: io.now().toISOString(),
    port,
    sources: sources.map((s) => s.label),
    scopes: inv.scopes.map((s) => ({ provider: s.provider, scope: s.scope, status: s.status, ...(s.error ? { error: s.error } : {}), ...(s.warnings?.length ? { warnings: s.warnings } : {}) })),
    instances: ev.instances,
    results: ev.results,
    findings,
  };
}

/** One line per failed scope (error) and per incomplete one (warning), on stderr. */
function reportScopeProblems(scopes: { provider: string; scope: string; status: string; error?: string; warnings?: string[] }[], io: Io): void {
  for (const s of scopes) {
    if (s.status === 'failed') io.stderr(`error: ${s.provider}:${s.scope}: ${s.error}\n`);
    for (const w of s.warnings ?? []) io.stderr(`warning: ${s.provider}:${s.scope}: ${w}\n`);
  }
}

export function exitCodeOf(report: Report, failOn: Severity | 'none', exitZero: boolean): number {
  if (report.scopes.some((s) => s.status === 'failed' || s.warnings?.length) || report.results.some((r) => r.verdict === 'unknown') || report.findings.some((f) => f.status === 'error')) {
    return EXIT.incomplete;
  }
  if (!exitZero && report.findings.some((f) => f.status === 'fail' && !f.suppressed && atOrAbove(f.severity, failOn))) return EXIT.findings;
  return EXIT.clean;
}

function formatOf(name: string | undefined, file?: string): Format {
  const f = name ?? (file?.endsWith('.json') ? 'json' : 'table');
  if (!(FORMATS as readonly string[]).includes(f)) throw new UsageError(`--format "${f}": use ${FORMATS.join(' or ')}`);
  return f as Format;
}

function render(report: Report, format: Format, color: boolean): string {
  return format === 'json' ? jsonReport(report) : tableReport(report, { color });
}

/** diagnose, fix and reset-password work on one instance: a cloud call that fails means they could not run (2). */
async function guestExit(f: () => Promise<number>, io: Io): Promise<number> {
  try {
    return await f();
  } catch (e) {
    if (!(e instanceof ScopeError)) throw e;
    io.stderr(`error: ${e.provider}:${e.scope}: ${e.message}\n`);
    return EXIT.usage;
  }
}

export async function run(argv: string[], io: Io): Promise<number> {
  let code: number = EXIT.clean;
  const program = new Command('rdpcloud')
    .description('Can Remote Desktop (tcp:3389) reach your Windows VMs? Why not, and what must change.')
    .version(VERSION)
    .exitOverride()
    .configureOutput({ writeOut: (s) => io.stdout(s), writeErr: (s) => io.stderr(s), outputError: (s, write) => write(s) })
    .showSuggestionAfterError();

  const audit = judgeOptions(scopeOptions(program.command('audit').description('verdicts and findings for every instance in the chosen scopes')))
    .addOption(new Option('--format <format>', 'table or json').choices([...FORMATS]))
    .option('-o, --output <file>', 'write the report to a file (format from the extension); repeatable', collectRepeat, [])
    .addOption(new Option('--fail-on <severity>', 'exit 1 on findings at or above this severity').choices([...SEVERITIES, 'none']).default('high'))
    .option('--exit-zero', 'findings do not fail the run (exit 0 instead of 1)')
    .action(async (o: CommonOpts & { format?: string; output: string[]; failOn: Severity | 'none'; exitZero?: boolean }) => {
      const port = parsePort(o.port);
      const sources = sourcesOf(o);
      const progress = new Progress(io);
      const inv = await readInventory(o, io, progress);
      const report = buildReport(inv, sources, port, io);
      for (const file of o.output) {
        await writeFile(file, render(report, formatOf(o.format, file), false));
      }
      if (o.output.length === 0 || o.format) io.stdout(render(report, formatOf(o.format), io.stdoutIsTTY && !io.env.NO_COLOR));
      reportScopeProblems(report.scopes, io);
      code = exitCodeOf(report, o.failOn, !!o.exitZero);
    });
  void audit;

  scopeOptions(program.command('snapshot').description('save the inventory (versioned JSON) for offline audits'))
    .requiredOption('-o, --output <file>', 'inventory file to write')
    .action(async (o: CommonOpts & { output: string }) => {
      const progress = new Progress(io);
      const inv = await readInventory({ ...o, source: [], port: '3389' }, io, progress);
      await saveInventory(o.output, inv);
      const failed = inv.scopes.filter((s) => s.status === 'failed');
      reportScopeProblems(inv.scopes, io);
      io.stderr(`wrote ${o.output}: ${inv.instances.length} instances, ${inv.ruleSets.length} rule sets, ${inv.scopes.length - failed.length}/${inv.scopes.length} scopes\n`);
      code = failed.length || inv.scopes.some((s) => s.warnings?.length) ? EXIT.incomplete : EXIT.clean;
    });

  judgeOptions(scopeOptions(program.command('explain').description('every layer of one instance, the deciding rules and the one change that fixes it')))
    .argument('<instance>', 'a name, or gcp:PROJECT/ZONE/NAME')
    .addOption(new Option('--format <format>', 'text or json').choices(['text', 'json']).default('text'))
    .option('--verify-with-api', "cross-check the verdicts with the cloud's own effective rules (GCP instances.getEffectiveFirewalls, Azure listEffectiveNetworkSecurityGroups)")
    .action(async (ref: string, o: CommonOpts & { format: string; verifyWithApi?: boolean }) => {
      const port = parsePort(o.port);
      const sources = sourcesOf(o);
      const progress = new Progress(io);
      if (o.verifyWithApi && o.from) throw new UsageError('--verify-with-api asks the cloud: leave out --from and name the scope (--project, --subscription)');
      const { inventory: inv, providers } = await readScopes(o, io, progress);
      const failed = inv.scopes.filter((s) => s.status === 'failed');
      if (failed.length && inv.instances.length === 0) {
        for (const s of failed) io.stderr(`error: ${s.provider}:${s.scope}: ${s.error}\n`);
        code = EXIT.incomplete;
        return;
      }
      const instance = findInstance(inv, ref);
      const only = { ...inv, instances: [instance] };
      const ev = evaluate(only, sources, port);
      // What the remedy needs besides the asked sources: which allows expose it, and whether IAP gets in.
      const [exposure, iap] = evaluate(only, [exposureSource(), resolveSource('iap')], port).results;
      const explanation = {
        instance,
        summary: ev.instances[0],
        results: ev.results.map((result) => {
          const src = sources.find((s) => s.label === result.source);
          const remedy = remedyFor(instance, result, { inventory: inv, sourceCidrs: src?.all.toCidrs() ?? [result.source], exposure, iap: iap?.source === 'iap' ? iap : undefined });
          return remedy ? { result, remedy } : { result };
        }),
      };
      let verification: Verification | undefined;
      let verifyNote: string | undefined;
      if (o.verifyWithApi) {
        const provider = providers.find((p) => p.id === instance.provider);
        if (provider?.effectiveView) verification = compareViews(inv, instance, await provider.effectiveView(instance, inv), sources, port);
        else verifyNote = `${instance.provider} has no API that returns the effective rules of an instance: nothing to cross-check`;
      }
      const full = { ...explanation, ...(verification ? { verification } : {}), ...(verifyNote ? { verificationNote: verifyNote } : {}) };
      io.stdout(o.format === 'json' ? JSON.stringify({ schemaVersion: REPORT_SCHEMA_VERSION, ...full }, null, 2) + '\n' : explainText(full));
      // A disagreement with the cloud's own view means the verdict cannot be trusted as it stands.
      code = ev.results.some((r) => r.verdict === 'unknown') || (verification && !verification.agrees) ? EXIT.incomplete : EXIT.clean;
    });

  judgeOptions(scopeOptions(program.command('diagnose').description('cloud path plus the in-guest RDP checks over the GCE serial console; changes nothing in the guest')))
    .argument('<instance>', 'a name, or gcp:PROJECT/ZONE/NAME')
    .option('--user <name>', 'the Windows account to log in with on the serial console')
    .option('--domain <name>', 'its domain (empty for a local account)')
    .option('--password-stdin', 'read the Windows password from standard input (else RDPCLOUD_WINDOWS_PASSWORD or a prompt)')
    .option('--yes', 'agree to the temporary key in ssh-keys without a prompt')
    .option('--enable-serial-port', 'when serial-port-enable is off, turn it on for this run and put it back afterwards')
    .option('--regional-gateway', "use the instance region's serial gateway (its host key in RDPCLOUD_SERIAL_HOST_KEY)")
    .option('--transcript <file>', 'write what crossed the serial console to a file (mode 0600; the password is redacted)')
    .option('--timeout <seconds>', 'longest wait for any one answer from the guest', '60')
    .addOption(new Option('--format <format>', 'text or json').choices(['text', 'json']).default('text'))
    .action(async (ref: string, o: GuestOpts) => {
      code = await guestExit(() => runDiagnose(ref, o, io), io);
    });

  judgeOptions(scopeOptions(program.command('fix').description('plan -> confirm -> apply -> verify the in-guest RDP fixes over the GCE serial console')))
    .argument('<instance>', 'a name, or gcp:PROJECT/ZONE/NAME')
    .option('--user <name>', 'the Windows account to log in with on the serial console')
    .option('--domain <name>', 'its domain (empty for a local account)')
    .option('--password-stdin', 'read the Windows password from standard input (else RDPCLOUD_WINDOWS_PASSWORD or a prompt)')
    .option('--yes', 'apply without asking (the plan is still printed first)')
    .option('--dry-run', 'diagnose and print the plan; change nothing in the guest')
    .option('--restart-service', 'allow restarting Remote Desktop Services when a change needs it (drops active sessions)')
    .option('--allow-world', 'let the cloud-side rule admit the whole internet, if --source says so (never by default)')
    .option('--nla-off', 'turn Network Level Authentication off, as a diagnosis step only (weakens security; the next fix plans it back on)')
    .option('--enable-serial-port', 'when serial-port-enable is off, turn it on for this run and put it back afterwards')
    .option('--regional-gateway', "use the instance region's serial gateway (its host key in RDPCLOUD_SERIAL_HOST_KEY)")
    .option('--transcript <file>', 'write what crossed the serial console to a file (mode 0600; the password is redacted)')
    .option('--timeout <seconds>', 'longest wait for any one answer from the guest', '60')
    .addOption(new Option('--format <format>', 'text or json').choices(['text', 'json']).default('text'))
    .action(async (ref: string, o: FixOpts) => {
      code = await guestExit(() => runFix(ref, o, io), io);
    });

  scopeOptions(program.command('reset-password').description("GCE's Windows password reset: prints the new password once, to a terminal or --output"))
    .argument('<instance>', 'a name, or gcp:PROJECT/ZONE/NAME')
    .option('--user <name>', 'the Windows account (created as an administrator if missing)')
    .option('-o, --output <file>', 'write the password to this file (mode 0600) instead of the terminal')
    .option('--yes', 'agree to the metadata write and the reset without a prompt')
    .option('--from <inventory.json>', '(not allowed: the reset talks to the cloud)')
    .option('--timeout <seconds>', 'how long to wait for the guest agent', '30')
    .action(async (ref: string, o: ResetOpts) => {
      code = await guestExit(() => runResetPassword(ref, { ...o, source: [], port: '3389' }, io), io);
    });

  try {
    await program.parseAsync(argv, { from: 'user' });
    return code;
  } catch (e) {
    if (e instanceof CommanderError) {
      if (e.code === 'commander.helpDisplayed' || e.code === 'commander.version' || e.code === 'commander.help') return EXIT.clean;
      if (e.code === 'commander.executeSubCommandAsync') return EXIT.clean;
      return EXIT.usage; // commander already printed "error: ..." in one line
    }
    if (e instanceof InputError) {
      if (e.problems.length === 1) io.stderr(`error: ${e.file}: ${e.problems[0]}\n`);
      else io.stderr(`error: ${e.file}: ${e.problems.length} problems:\n${e.problems.map((p) => `  - ${p}\n`).join('')}`);
      return e.exitCode;
    }
    if (e instanceof RdpcloudError) {
      io.stderr(`error: ${e.message}\n`);
      return e.exitCode;
    }
    const argvHasDebug = argv.includes('--debug');
    io.stderr(`internal error: ${(e as Error)?.message ?? e} - this is a bug in rdpcloud ${VERSION}; please report it${argvHasDebug ? '' : ' (run with --debug for details)'}\n`);
    if (argvHasDebug) io.stderr(`${(e as Error)?.stack ?? ''}\n`);
    return EXIT.internal;
  }
}
