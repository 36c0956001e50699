// `rdpcloud merge a.json b.json ...`: one report from the JSON reports of sharded runs (`--shard i/n` in a CI
// matrix). Scopes, instances, results and findings are joined, each once (a scope or finding that two parts
// both carry is kept from the later report), except that an open rule is unused only if it is in every part
// that judged its rule set; policies are joined by id; drift is counted again from the merged findings. The exit
// code is what one audit of everything would have given.
import { mkdir, writeFile } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import { UsageError } from '../errors.js';
import { REPORT_SCHEMA_VERSION, type Finding, type Report } from '../model/results.js';
import { findingKey, mergeDrift } from '../policies/baseline.js';
import { combineUnused, UNUSED_OPEN_RULE } from '../policies/checks/unused-open-rule.js';
import { ruleSetRemediation } from '../policies/run.js';
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
  merged.findings = joinFindings(parts.flatMap((p) => p.findings), merged);
  if (drifts.length) merged.drift = mergeDrift(merged.findings, drifts);
  return merged;
}

/**
 * The shards' findings, each once. Live shards may all judge a rule set they share (a Shared VPC host network,
 * an organisation policy), each with its own instances: the same finding from each is kept once, and whether an
 * open rule is unused is decided over all of them (combineUnused).
 */
function joinFindings(all: Finding[], merged: Report): Finding[] {
  const checkOf = new Map(merged.policies.map((p) => [p.id, p]));
  const groups = new Map<string, Finding[]>();
  const out = new Map<string, Finding | Finding[]>();
  for (const f of all) {
    const policy = checkOf.get(f.policyId);
    if (f.resource.kind === 'rule-set' && policy?.checkType === UNUSED_OPEN_RULE) {
      const key = `${findingKey(f)}|${f.source ?? ''}`;
      let g = groups.get(key);
      if (!g) groups.set(key, (g = []));
      g.push(f);
      out.set(`unused|${key}`, g);
    } else out.set(`${findingKey(f)}|${f.status}|${f.source ?? ''}`, f);
  }
  return [...out.values()].map((x) =>
    Array.isArray(x) ? combineUnused(x, merged.port, (f, rule) => (f.resource.provider === 'host' ? undefined : ruleSetRemediation(checkOf.get(f.policyId)?.remediation[f.resource.provider], f.resource, rule, merged.port))) : x,
  );
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
