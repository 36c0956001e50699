// `rdpcloud diagnose`: one report, edge to guest - the cloud path from the audit engine, then each in-guest check
// with what was observed, what is healthy and the verdict.
import type { CheckResult } from '../guest/checks.js';
import type { Result } from '../model/results.js';
import type { ProbeReport } from '../cli/probe.js';
import { listenerSection } from './probe.js';

export interface Diagnosis {
  ref: string;
  state: string;
  cloud: Result[];
  /** The listener as this machine's probe found it. */
  listener?: ProbeReport['probes'];
  guest?: { channel?: string; checks: CheckResult[] };
  /** Why the guest could not be read, when it could not. */
  guestError?: string;
}

function fit(s: string, n: number): string {
  return s.length <= n ? s.padEnd(n) : `${s.slice(0, n - 1)}~`;
}

export function diagnoseText(d: Diagnosis): string {
  const out: string[] = [`${d.ref}, ${d.state}`, '', 'cloud path (audit engine):'];
  for (const r of d.cloud) {
    const deciding = [...new Set(r.reasons.filter((x) => (r.verdict === 'blocked' ? x.action === 'deny' : x.action === 'allow')).map((x) => x.rule))].join(', ');
    out.push(`  from ${r.source} to tcp:${r.port}: ${r.verdict.toUpperCase()}${deciding ? ` (${deciding})` : ''}`);
  }
  out.push('');
  if (d.listener) out.push(...listenerSection(d.listener), '');
  if (d.guestError) {
    out.push(`guest: not checked - ${d.guestError}`);
    return out.join('\n') + '\n';
  }
  if (!d.guest) return out.join('\n') + '\n';
  out.push(`guest (serial console${d.guest.channel ? `, ${d.guest.channel}` : ''}):`);
  // CHECK 38, OBSERVED 22, HEALTHY 24, VERDICT 8 + 3 + 2 indent = 97
  out.push(`  ${fit('CHECK', 38)} ${fit('OBSERVED', 22)} ${fit('HEALTHY', 24)} VERDICT`);
  for (const c of d.guest.checks) {
    out.push(`  ${fit(c.title, 38)} ${fit(c.observed, 22)} ${fit(c.healthy, 24)} ${c.status === 'problem' ? 'PROBLEM' : c.status}`);
    if (c.note && c.status !== 'ok') out.push(`      ${c.note}`);
  }
  const problems = d.guest.checks.filter((c) => c.status === 'problem');
  out.push('');
  out.push(problems.length ? `${problems.length} problem(s) in the guest: \`rdpcloud fix ${d.ref}\` shows the plan` : 'the guest looks healthy for Remote Desktop');
  return out.join('\n') + '\n';
}
