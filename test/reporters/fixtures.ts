// The reports the reporter tests render: the real CLI run in-process on the bundled demo inventory (two of
// its scopes fail on purpose, so exit 3), and the same run with suppressions (rdpcloud.yaml) and a baseline.
import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { expect } from 'vitest';
import type { Finding, Report } from '../../src/model/results.js';
import { rdpcloud, type Ran } from '../cli/helpers.js';

/** Relative to the repository root, where vitest runs. */
export const DEMO = 'examples/demo-inventory.json';
export const DEMO_ABSOLUTE = fileURLToPath(new URL('../../examples/demo-inventory.json', import.meta.url));
/** The demo's two failed scopes (gcp:acme-sandbox, aws:333333333333) make every run incomplete. */
export const INCOMPLETE = 3;

export async function tempDir(): Promise<string> {
  return mkdtemp(join(tmpdir(), 'rdpcloud-reporters-'));
}

/**
 * `rdpcloud audit --from <demo> ...extra`, expecting exit 3. From another working directory (`cwd`: the CLI
 * resolves relative paths against it), the inventory is named by its absolute path.
 */
export async function audit(extra: string[], o: { cwd?: string } = {}): Promise<Ran> {
  const from = o.cwd ? DEMO_ABSOLUTE : DEMO;
  const r = await rdpcloud(['audit', '--from', from, ...extra], {}, o.cwd ? { cwd: o.cwd } : {});
  expect(r.code, r.stderr).toBe(INCOMPLETE);
  return r;
}

export async function demoReport(): Promise<Report> {
  return JSON.parse((await audit(['--format', 'json'])).stdout) as Report;
}

export const refOf = (f: Finding) => f.resource.ref!;
export const keyOf = (f: Finding) => `${f.policyId}|${refOf(f)}`;

/** Suppressed until after the run's clock (2026-11-25): every failing rdp-internet-exposed in acme-prod. */
export const LIVE = { policy: 'rdp-internet-exposed', resource: 'gcp:acme-prod/*', reason: 'legacy RDP hosts, replaced by IAP in Q1', expires: '2027-01-31' };
/** Expired before the run: the serial-port findings in us-central1-b count again, plus one suppression-expired each. */
export const EXPIRED = { policy: 'gcp-serial-port-enabled', resource: 'gcp:acme-prod/us-central1-b/*', reason: 'break-glass console for the DB team', expires: '2026-10-01' };

export interface Drifted {
  dir: string;
  /** The report with suppressions and the baseline. */
  report: Report;
  /** Failing findings taken out of the baseline: they come back `new`. */
  removed: Finding[];
  /** A failure only the baseline has: it comes back fixed (`absent`). */
  fake: Finding;
  /** argv (after `audit --from DEMO`) that reproduces the run from `dir`. */
  argv: string[];
}

/**
 * An rdpcloud.yaml with a live and an expired suppression, and a baseline: the demo's own JSON report minus
 * two failing Azure findings, plus one invented failure. Run from `dir`, so the SARIF location is
 * `rdpcloud.yaml` (the config file, relative to the working directory).
 */
export async function driftReport(): Promise<Drifted> {
  const dir = await tempDir();
  const demo = await demoReport();
  const failing = demo.findings.filter((f) => f.status === 'fail' && f.resource.provider === 'azure');
  const removed = failing.slice(0, 2);
  const fake: Finding = {
    policyId: 'rdp-internet-exposed',
    severity: 'high',
    status: 'fail',
    resource: { provider: 'gcp', scope: 'acme-prod', location: 'us-central1-a', instance: 'win-gone-01', instanceId: '4242424242424242424', ref: 'gcp:acme-prod/us-central1-a/win-gone-01' },
    message: 'tcp:3389 reachable from all of the IPv4 internet at 34.118.20.99 through default-allow-rdp',
    source: 'internet',
  };
  const baseline: Report = { ...demo, generatedAt: '2026-11-18T12:00:00.000Z', findings: [...demo.findings.filter((f) => !removed.includes(f)), fake] };
  await writeFile(join(dir, 'baseline.json'), JSON.stringify(baseline, null, 2));
  const yaml = (s: typeof LIVE) => `  - policy: ${s.policy}\n    resource: "${s.resource}"\n    reason: ${s.reason}\n    expires: "${s.expires}"\n`;
  await writeFile(join(dir, 'rdpcloud.yaml'), `# reporter tests\nsuppressions:\n${yaml(LIVE)}${yaml(EXPIRED)}`);
  const argv = ['--config', 'rdpcloud.yaml', '--baseline', join(dir, 'baseline.json')];
  const r = await audit([...argv, '--format', 'json'], { cwd: dir });
  return { dir, report: JSON.parse(r.stdout) as Report, removed, fake, argv };
}

/** A deep copy with one finding's message replaced (for escaping tests). */
export function withMessage(report: Report, index: number, message: string): Report {
  const copy = structuredClone(report);
  copy.findings[index] = { ...copy.findings[index], message };
  return copy;
}

/** The demo report, the suppression + baseline report, and what the CLI wrote for `--output <name>`. */
export async function reportsAndOutput(name: string): Promise<{ demo: Report; drift: Report; written: string }> {
  const demo = await demoReport();
  const drift = (await driftReport()).report;
  const dir = await tempDir();
  await audit(['--output', join(dir, name)]);
  return { demo, drift, written: await readFile(join(dir, name), 'utf8') };
}
