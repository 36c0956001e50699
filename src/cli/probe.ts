// `rdpcloud probe <host[:port]>...` and `--from inventory.json` (or the scope flags): ask each listener what it
// demands, concurrently within a limit, every wait bounded by --timeout. Reports in every format; the findings
// are the listener checks of src/probe/judge.ts.
import { writeFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import pLimit from 'p-limit';
import { isIP } from 'node:net';
import { EXIT, UsageError } from '../errors.js';
import { instanceRef } from '../model/instance-ref.js';
import type { Finding, PolicySummary, Report, Severity } from '../model/results.js';
import { atOrAbove } from '../engine/grade.js';
import { parsePort } from '../engine/sources.js';
import { probe, type ProbeResult, type ProbeTarget } from '../probe/probe.js';
import { judgeProbe, PROBE_CHECKS } from '../probe/judge.js';
import { FORMATS, formatOfFile, render, type Format } from '../reporters/index.js';
import { probeText } from '../reporters/probe.js';
import { isLoopbackHost } from '../../providers/endpoints.js';
import { readInventory, parseConcurrency, type CommonOpts, type Io } from './common.js';
import { Progress } from './progress.js';
import { VERSION } from './version.js';

export const PROBE_SCHEMA_VERSION = 1;

export interface ProbeOpts extends CommonOpts {
  timeout: string;
  format?: string;
  output: string[];
  failOn?: string;
  exitZero?: boolean;
}

export interface ProbeReport {
  schemaVersion: number;
  tool: { name: string; version: string };
  generatedAt: string;
  probes: (ProbeResult & { findings: Finding[] })[];
}

/** host, host:port, [v6]:port, or a bare IPv6 address. */
export function parseTarget(text: string, defaultPort: number): ProbeTarget {
  const t = text.trim();
  const v6 = /^\[([^\]]+)\](?::(\d+))?$/.exec(t);
  if (v6) return { host: v6[1], port: v6[2] ? parsePort(v6[2]) : defaultPort };
  if (isIP(t) === 6) return { host: t, port: defaultPort };
  const m = /^([^:\s/]+)(?::(\d+))?$/.exec(t);
  if (!m) throw new UsageError(`"${text}": give a host, host:port or [IPv6]:port (e.g. 34.118.20.11:3389)`);
  return { host: m[1], port: m[2] ? parsePort(m[2]) : defaultPort };
}

/** Every external address of every instance, as targets; the instance travels with each. */
export function targetsOf(instances: Awaited<ReturnType<typeof readInventory>>['instances'], port: number): ProbeTarget[] {
  const out: ProbeTarget[] = [];
  for (const i of instances) {
    for (const n of i.nics) {
      for (const a of [n.externalIPv4, n.externalIPv6]) {
        if (a) out.push({ host: a, port, instance: { provider: i.provider, scope: i.scope, location: i.location, name: i.name, id: i.id, ref: instanceRef(i) } });
      }
    }
  }
  return out;
}

export function probeFindings(r: ProbeResult): Finding[] {
  const resource = r.instance
    ? { kind: 'listener' as const, provider: r.instance.provider, scope: r.instance.scope, location: r.instance.location, instance: r.instance.name, instanceId: r.instance.id, ref: `${r.instance.ref}@${r.target}` }
    : { kind: 'listener' as const, provider: 'host' as const, scope: '', location: '', instance: r.target, instanceId: r.target, ref: `host:${r.target}` };
  return judgeProbe(r).map((f) => ({ policyId: f.checkId, severity: f.severity, status: 'fail' as const, resource, message: f.message }));
}

export const PROBE_POLICIES: PolicySummary[] = PROBE_CHECKS.map((c) => ({
  id: c.id,
  title: c.title,
  severity: c.severity,
  pack: 'listener',
  description: c.description,
  checkType: 'probe',
  resource: 'listener',
  compliance: [],
  references: ['https://learn.microsoft.com/en-us/openspecs/windows_protocols/ms-rdpbcgr/18a27ef9-6f9a-4501-b000-94b1fe3c2c10'],
  remediation: { gcp: c.remediation, aws: c.remediation, azure: c.remediation },
  file: 'src/probe/judge.ts',
}));

/** The shape the shared reporters (SARIF, JUnit, Markdown, CSV, OCSF) take. */
export function asReport(p: ProbeReport, port: number): Report {
  return {
    schemaVersion: 2,
    tool: p.tool,
    generatedAt: p.generatedAt,
    port,
    sources: [],
    scopes: [],
    instances: [],
    results: [],
    findings: p.probes.flatMap((x) => x.findings),
    policies: PROBE_POLICIES,
  };
}

/**
 * Tests set RDPCLOUD_PROBE_LOOPBACK_ONLY=1 so that no probe can leave the machine, whatever an inventory holds
 * (the demo's addresses are real public ranges).
 */
export function probeAllowed(host: string, env: NodeJS.ProcessEnv): boolean {
  return !env.RDPCLOUD_PROBE_LOOPBACK_ONLY || isLoopbackHost(host);
}

export async function probeAll(targets: ProbeTarget[], o: { timeoutMs: number; concurrency: number; now: () => Date; env: NodeJS.ProcessEnv; onDone?: () => void }): Promise<ProbeReport['probes']> {
  const limit = pLimit(o.concurrency);
  return Promise.all(
    targets.map((t) =>
      limit(async () => {
        let r: ProbeResult;
        if (!probeAllowed(t.host, o.env)) {
          r = { target: `${t.host}:${t.port}`, host: t.host, port: t.port, ...(t.instance ? { instance: t.instance } : {}), tcp: { outcome: 'error', ms: 0, error: 'not probed: RDPCLOUD_PROBE_LOOPBACK_ONLY allows loopback targets only' }, service: 'none', failures: [], attempts: [], notes: [] };
        } else r = await probe(t, { timeoutMs: o.timeoutMs, now: o.now });
        o.onDone?.();
        return { ...r, findings: probeFindings(r) };
      }),
    ),
  );
}

export async function runProbe(hosts: string[], o: ProbeOpts, io: Io): Promise<number> {
  const cwd = io.cwd ?? process.cwd();
  const port = parsePort(o.port ?? '3389');
  const timeoutMs = Number(o.timeout);
  if (!Number.isFinite(timeoutMs) || timeoutMs < 50 || timeoutMs > 120_000) throw new UsageError(`--timeout "${o.timeout}": milliseconds from 50 to 120000 (each wait: TCP, the answer, TLS)`);
  const failOn = (o.failOn ?? 'high') as Severity | 'none';
  if (!['critical', 'high', 'medium', 'low', 'info', 'none'].includes(failOn)) throw new UsageError(`--fail-on "${o.failOn}": use critical, high, medium, low, info or none`);
  const format = (o.format ?? 'table') as Format;
  if (!(FORMATS as readonly string[]).includes(format)) throw new UsageError(`--format "${o.format}": use ${FORMATS.join(', ')}`);
  const outputs = o.output.map((file) => {
    const f = formatOfFile(file) ?? (o.format as Format | undefined);
    if (!f) throw new UsageError(`--output "${file}": cannot tell the format from the extension; add --format`);
    return { file, format: f };
  });
  const scoped = !!(o.from || o.project.length || o.allProjects || o.region.length || o.roleArn.length || o.allAccounts || o.subscription.length || o.provider.length);
  if (!hosts.length && !scoped) throw new UsageError('nothing to probe: name host[:port] targets, or --from inventory.json (every instance with an external address)');
  const targets = hosts.map((h) => parseTarget(h, port));
  if (scoped) {
    const inv = await readInventory({ ...o, from: o.from ? resolve(cwd, o.from) : undefined, port: String(port) }, io, new Progress(io));
    targets.push(...targetsOf(inv.instances, port));
    if (!targets.length) io.stderr('warning: no instance in the inventory has an external address: nothing to probe\n');
  }
  const progress = new Progress(io);
  let done = 0;
  const probes = await probeAll(targets, { timeoutMs, concurrency: parseConcurrency(o.concurrency ?? '16'), now: io.now, env: io.env, onDone: () => progress.scopes(++done, targets.length) });
  progress.done();
  const report: ProbeReport = { schemaVersion: PROBE_SCHEMA_VERSION, tool: { name: 'rdpcloud', version: VERSION }, generatedAt: io.now().toISOString(), probes };
  const renderAs = (f: Format, color: boolean) => (f === 'table' ? probeText(report, { color }) : f === 'json' ? JSON.stringify(report, null, 2) + '\n' : render(asReport(report, port), f, { color, sarifLocation: o.from ?? 'rdpcloud.yaml' }));
  for (const out of outputs) await writeFile(resolve(cwd, out.file), renderAs(out.format, false));
  if (!outputs.length || o.format) io.stdout(renderAs(format, format === 'table' && io.stdoutIsTTY && !io.env.NO_COLOR));
  const findings = probes.flatMap((p) => p.findings);
  if (probes.some((p) => p.tcp.outcome === 'error' || p.tcp.outcome === 'unreachable')) return EXIT.incomplete;
  if (!o.exitZero && findings.some((f) => atOrAbove(f.severity, failOn))) return EXIT.findings;
  return EXIT.clean;
}

export interface InstanceProbeOpts {
  /** Probe the instance's external addresses (explain: off by default; diagnose: on). */
  probe?: boolean;
  /** Probe this host:port instead (an IAP tunnel's local end, a port forward). */
  probeAddress?: string;
  port?: string;
}

/** The listener step of explain and diagnose: the instance's external addresses, or --probe-address. */
export async function probeInstance(instance: Parameters<typeof targetsOf>[0][number], o: InstanceProbeOpts, io: Io): Promise<ProbeReport['probes'] | undefined> {
  if (!o.probe && !o.probeAddress) return undefined;
  const port = parsePort(o.port ?? '3389');
  const targets = o.probeAddress ? [{ ...parseTarget(o.probeAddress, port), instance: targetsOf([instance], port)[0]?.instance ?? { provider: instance.provider, scope: instance.scope, location: instance.location, name: instance.name, id: instance.id, ref: instanceRef(instance) } }] : targetsOf([instance], port);
  if (!targets.length) return [];
  return probeAll(targets, { timeoutMs: 3000, concurrency: 4, now: io.now, env: io.env });
}
