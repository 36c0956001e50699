// The command line. run(argv, io) returns an exit code; only bin.ts exits the process.
import { Command, CommanderError, Option } from 'commander';
import { EXIT, InputError, RdpcloudError, ScopeError, UsageError } from '../errors.js';
import { REPORT_SCHEMA_VERSION } from '../model/results.js';
import { Progress } from './progress.js';
import { VERSION } from './version.js';
import type { FixOpts, GuestOpts, ResetOpts } from './guest.js';
import type { AuditOpts } from './audit.js';
import type { ProbeOpts } from './probe.js';
import type { MergeOpts } from './merge.js';
import type { Verification } from '../engine/verify.js';
import { FORMATS } from '../reporters/index.js';
import { atCwd, collectList, collectRepeat, judgeOptions, readInventory, readScopes, scopeOptions, sourcesOf, namedSources, type CommonOpts, type Io } from './common.js';

// Each command's own modules are imported when it runs: the policy catalog (ajv, yaml), the prober, the
// inventory schema, remediation and the verifier are not all needed by any one command, and loading every one
// of them cost ~0.2 s before anything happened (`rdpcloud --version` included).
export type { Io } from './common.js';

/** One line per failed scope (error) and per incomplete one (warning), on stderr. */
function reportScopeProblems(scopes: { provider: string; scope: string; status: string; error?: string; warnings?: string[] }[], io: Io): void {
  for (const s of scopes) {
    if (s.status === 'failed') io.stderr(`error: ${s.provider}:${s.scope}: ${s.error}\n`);
    for (const w of s.warnings ?? []) io.stderr(`warning: ${s.provider}:${s.scope}: ${w}\n`);
  }
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

  judgeOptions(scopeOptions(program.command('audit').description('verdicts and policy results for every instance in the chosen scopes')))
    .option('--policy <file|dir>', 'your own policy files, besides the chosen packs; repeatable', collectRepeat, [])
    .option('--pack <names>', `built-in packs to run, comma-separated (default: all; none = only --policy files)`, collectList, [])
    .addOption(new Option('--format <format>', 'report on stdout; with --output, the format of files whose extension does not tell').choices([...FORMATS]))
    .option('-o, --output <file>', 'write the report to a file, format from the extension (.json .sarif .xml .md .csv .ocsf.json .txt); repeatable', collectRepeat, [])
    .option('--fail-on <severity>', 'exit 1 on failures at or above: critical, high (default), medium, low, info, none')
    .option('--exit-zero', 'failures do not fail the run (exit 0 instead of 1)')
    .option('--baseline <report.json>', 'an earlier JSON report: mark failures new or unchanged, list the fixed ones; only new ones fail the run')
    .action(async (o: AuditOpts) => {
      const { runAudit } = await import('./audit.js');
      code = await runAudit(o, io);
    });

  scopeOptions(program.command('probe').description('speak the first bytes of RDP to each listener: TCP, X.224 negotiation, TLS certificate, NLA'))
    .argument('[targets...]', 'host, host:port or [IPv6]:port (default port 3389)')
    .option('--from <inventory.json>', 'probe every external address of a saved inventory (or use the scope flags)')
    .option('--port <n>', 'port for targets without one, and for inventory addresses (default 3389)')
    .option('--timeout <ms>', 'longest wait for each step: the TCP handshake, the answer, TLS', '3000')
    .addOption(new Option('--format <format>', 'report on stdout').choices([...FORMATS]))
    .option('-o, --output <file>', 'write the report to a file, format from the extension; repeatable', collectRepeat, [])
    .option('--fail-on <severity>', 'exit 1 on findings at or above: critical, high (default), medium, low, info, none')
    .option('--exit-zero', 'findings do not fail the run')
    .action(async (targets: string[], o: ProbeOpts) => {
      const { runProbe } = await import('./probe.js');
      code = await runProbe(targets, o, io);
    });

  program
    .command('merge')
    .description('one report from the JSON reports of sharded runs (audit --shard i/n --format json)')
    .argument('<reports...>', 'JSON reports to join')
    .addOption(new Option('--format <format>', 'report on stdout').choices([...FORMATS]))
    .option('-o, --output <file>', 'write the merged report to a file, format from the extension; repeatable', collectRepeat, [])
    .option('--fail-on <severity>', 'exit 1 on failures at or above: critical, high (default), medium, low, info, none')
    .option('--exit-zero', 'failures do not fail the run')
    .action(async (files: string[], o: MergeOpts) => {
      const { runMerge } = await import('./merge.js');
      code = await runMerge(files, o, io);
    });

  program
    .command('policies')
    .description('list the policies and packs (id, severity, compliance ids)')
    .option('--config <file>', 'rdpcloud.yaml whose policies and overrides to include')
    .option('--policy <file|dir>', 'your own policy files; repeatable', collectRepeat, [])
    .option('--pack <names>', 'only these packs, comma-separated', collectList, [])
    .addOption(new Option('--format <format>', 'table or json').choices(['table', 'json']).default('table'))
    .action(async (o: { policy: string[]; pack: string[]; format?: string; config?: string }) => {
      const { runPoliciesList } = await import('./audit.js');
      code = await runPoliciesList(o, io);
    });

  scopeOptions(program.command('snapshot').description('save the inventory (versioned JSON) for offline audits'))
    .requiredOption('-o, --output <file>', 'inventory file to write')
    .action(async (o: CommonOpts & { output: string }) => {
      const progress = new Progress(io);
      const inv = await readInventory({ ...o, source: [], port: '3389' }, io, progress);
      const { saveInventory } = await import('./inventory-file.js');
      await saveInventory(atCwd(io, o.output), inv, o.output);
      const failed = inv.scopes.filter((s) => s.status === 'failed');
      reportScopeProblems(inv.scopes, io);
      io.stderr(`wrote ${o.output}: ${inv.instances.length} instances, ${inv.ruleSets.length} rule sets, ${inv.scopes.length - failed.length}/${inv.scopes.length} scopes\n`);
      code = failed.length || inv.scopes.some((s) => s.warnings?.length) ? EXIT.incomplete : EXIT.clean;
    });

  judgeOptions(scopeOptions(program.command('explain').description('every layer of one instance, the deciding rules and the one change that fixes it')))
    .argument('<instance>', 'a name, or gcp:PROJECT/ZONE/NAME')
    .addOption(new Option('--format <format>', 'text or json').choices(['text', 'json']).default('text'))
    .option('--verify-with-api', "cross-check the verdicts with the cloud's own effective rules (GCP instances.getEffectiveFirewalls, Azure listEffectiveNetworkSecurityGroups)")
    .option('--probe', "also ask the listener: speak the first bytes of RDP to the instance's external addresses from this machine")
    .option('--probe-address <host:port>', 'probe this address instead (an IAP tunnel or port forward to the instance)')
    .action(async (ref: string, o: CommonOpts & { format: string; verifyWithApi?: boolean; probe?: boolean; probeAddress?: string }) => {
      const [{ evaluate }, { exposureSource, parsePort, resolveSource }, { remedyFor }, { compareViews }, { explainText }, { findInstance }, { probeInstance }] = await Promise.all([
        import('../engine/evaluate.js'),
        import('../engine/sources.js'),
        import('../engine/remediation.js'),
        import('../engine/verify.js'),
        import('../reporters/explain.js'),
        import('../model/instance-ref.js'),
        import('./probe.js'),
      ]);
      const port = parsePort(o.port ?? '3389');
      const sources = sourcesOf(o, await namedSources(o, io));
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
      const listener = await probeInstance(instance, o, io);
      const full = { ...explanation, ...(verification ? { verification } : {}), ...(verifyNote ? { verificationNote: verifyNote } : {}), ...(listener ? { listener } : {}) };
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
    .option('--no-probe', "skip the listener probe (by default diagnose speaks the first bytes of RDP to the instance's external addresses)")
    .option('--probe-address <host:port>', 'probe this address instead (an IAP tunnel or port forward to the instance)')
    .addOption(new Option('--format <format>', 'text or json').choices(['text', 'json']).default('text'))
    .action(async (ref: string, o: GuestOpts) => {
      code = await guestExit(async () => (await import('./guest.js')).runDiagnose(ref, o, io), io);
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
      code = await guestExit(async () => (await import('./guest.js')).runFix(ref, o, io), io);
    });

  scopeOptions(program.command('reset-password').description("GCE's Windows password reset: prints the new password once, to a terminal or --output"))
    .argument('<instance>', 'a name, or gcp:PROJECT/ZONE/NAME')
    .option('--user <name>', 'the Windows account (created as an administrator if missing)')
    .option('-o, --output <file>', 'write the password to this file (mode 0600) instead of the terminal')
    .option('--yes', 'agree to the metadata write and the reset without a prompt')
    .option('--from <inventory.json>', '(not allowed: the reset talks to the cloud)')
    .option('--timeout <seconds>', 'how long to wait for the guest agent', '30')
    .action(async (ref: string, o: ResetOpts) => {
      code = await guestExit(async () => (await import('./guest.js')).runResetPassword(ref, { ...o, source: [], port: '3389' }, io), io);
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
