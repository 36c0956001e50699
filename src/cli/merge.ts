// `rdpcloud merge a.json b.json ...`: one report from the JSON reports of sharded runs (`--shard i/n` in a CI
// matrix). Scopes, instances, results and findings are joined, each once (a scope or finding that two parts
// both carry is kept from the later report), except that an open rule is unused only if it is in every part
// that judged its rule set; policies are joined by id; drift is counted again from the merged findings. The exit
// code is what one audit of everything would have given.
import { mkdir, writeFile } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import { UsageError } from '../errors.js';
import { REPORT_SCHEMA_VERSION, type Report } from '../model/results.js';
import { mergeDrift } from '../policies/baseline.js';
import { joinFindings } from '../policies/join.js';
import { formatOfFile, renderBlocks, type Format } from '../reporters/index.js';
import { exitCodeOf, formatNamed, parseFailOn, readReport } from './audit.js';
import type { Io } from './common.js';
import { VERSION } from './version.js';

export interface MergeOpts {
  format?: string;
  output: string[];
  failOn?: string;
  exitZero?: boolean;
}

const byKey = <T>(items: T[], key: (t: T) => string): T[] => [...new Map(items.map((t) => [key(t), t])).values()];
const ref = (x: { provider: string; scope: string; location: string; instanceId: string }) => `${x.provider}|${x.scope}|${x.location}|${x.instanceId}`;

export function mergeReports(parts: Report[], now: Date): Report {
  const ports = [...new Set(parts.map((p) => p.port))];
  if (ports.length > 1) throw new UsageError(`the reports judge different ports (${ports.join(', ')}): merge runs of the same audit`);
  const drifts = parts.map((p) => p.drift).filter((d): d is NonNullable<Report['drift']> => !!d);
  const merged: Report = {
    schemaVersion: REPORT_SCHEMA_VERSION,
    tool: { name: 'rdpcloud', version: VERSION },
    generatedAt: now.toISOString(),
    port: ports[0],
    sources: [...new Set(parts.flatMap((p) => p.sources))],
    scopes: byKey(parts.flatMap((p) => p.scopes), (s) => `${s.provider}|${s.scope}`),
    instances: byKey(parts.flatMap((p) => p.instances), ref),
    results: byKey(parts.flatMap((p) => p.results), (r) => `${ref(r)}|${r.source}|${r.port}`),
    findings: [],
    policies: byKey(parts.flatMap((p) => p.policies ?? []), (p) => p.id),
  };
  const policies = new Map(merged.policies.map((p) => [p.id, p]));
  merged.findings = joinFindings(parts.flatMap((p) => p.findings), (id) => policies.get(id), merged.port);
  if (drifts.length) merged.drift = mergeDrift(merged.findings, drifts);
  return merged;
}

export async function runMerge(files: string[], o: MergeOpts, io: Io): Promise<number> {
  const cwd = io.cwd ?? process.cwd();
  if (files.length === 0) throw new UsageError('merge: name the JSON reports of the shards (rdpcloud audit --shard i/n --format json -o part-i.json)');
  const failOn = parseFailOn(o.failOn);
  const stdoutFormat: Format = o.format ? formatNamed(o.format) : 'table';
  const outputs = o.output.map((file) => {
    const f = formatOfFile(file) ?? (o.format ? formatNamed(o.format) : undefined);
    if (!f) throw new UsageError(`--output "${file}": cannot tell the format from the extension; add --format`);
    return { file, format: f };
  });
  const parts = await Promise.all(files.map((f) => readReport(resolve(cwd, f), f, 'merge')));
  const report = mergeReports(parts, io.now());
  for (const out of outputs) {
    await mkdir(dirname(resolve(cwd, out.file)), { recursive: true });
    await writeFile(resolve(cwd, out.file), renderBlocks(report, out.format, { color: false }));
  }
  if (!outputs.length || o.format) for (const block of renderBlocks(report, stdoutFormat, { color: stdoutFormat === 'table' && io.stdoutIsTTY && !io.env.NO_COLOR })) io.stdout(block);
  else io.stderr(`merged ${files.length} reports (${report.scopes.length} scopes, ${report.instances.length} instances) into ${outputs.map((x) => x.file).join(', ')}\n`);
  return exitCodeOf(report, failOn, !!o.exitZero);
}
