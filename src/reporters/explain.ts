// `rdpcloud explain <instance>`: every layer of one instance, in the order a packet meets them, the deciding
// rule for each part of each source, and the one change that fixes it.
import type { Instance } from '../model/inventory.js';
import type { InstanceSummary, Result } from '../model/results.js';
import type { Remedy } from '../engine/remediation.js';
import type { Verification } from '../engine/verify.js';
import { instanceRef } from '../model/instance-ref.js';
import type { ProbeReport } from '../cli/probe.js';
import { listenerSection } from './probe.js';

export interface Explanation {
  instance: Instance;
  summary: InstanceSummary;
  results: { result: Result; remedy?: Remedy }[];
  verification?: Verification;
  verificationNote?: string;
  /** The listener as this machine's probe found it (explain --probe). */
  listener?: ProbeReport['probes'];
}

const STARTED = new Set(['RUNNING', 'running', 'PowerState/running']);

export function explainText(e: Explanation): string {
  const i = e.instance;
  const out: string[] = [];
  const ref = instanceRef(i);
  if (!STARTED.has(i.state)) out.push(`${i.state}: start it first - verdicts below are what its configuration allows once it runs.`);
  out.push(`${ref} (id ${i.id}), ${i.state}, ${i.os}${i.osEvidence ? ` (${i.osEvidence})` : ''}`);
  for (const n of i.nics) {
    const addrs = [
      n.internalIPv4 && `internal ${n.internalIPv4}`,
      n.internalIPv6 && `internal ${n.internalIPv6}`,
      n.externalIPv4 ? `external ${n.externalIPv4}` : 'no external IPv4',
      n.externalIPv6 && `external ${n.externalIPv6}`,
    ].filter(Boolean);
    out.push(`  ${n.name}: network ${n.network.split('/').pop()}${n.subnet ? `, subnet ${n.subnet}` : ''}; ${addrs.join(', ')}`);
  }
  if (i.tags.length) out.push(`  network tags: ${i.tags.join(', ')}`);
  if (i.serviceAccounts.length) out.push(`  service accounts: ${i.serviceAccounts.join(', ')}`);
  out.push(`  access: ${e.summary.access}${e.summary.gateway ? ` (${e.summary.gateway})` : ''}`);
  for (const { result: r, remedy } of e.results) {
    out.push('');
    out.push(`from ${r.source} to tcp:${r.port}: ${r.verdict.toUpperCase()}`);
    if (r.verdict === 'partial') out.push(`  gets through: ${r.allowedRanges.slice(0, 6).join(', ')}${r.allowedRanges.length > 6 ? `, ... (${r.allowedRanges.length} ranges)` : ''}`);
    for (const x of r.reasons) {
      const pr = x.priority !== undefined ? ` (priority ${x.priority})` : '';
      const where = x.ruleSet ? ` in ${x.ruleSet}` : '';
      out.push(`  ${x.target ? `[${x.target}] ` : ''}${x.layer}: ${x.action.toUpperCase()} by ${x.rule}${pr}${where}`);
      out.push(`      ${x.why}${x.ranges ? `; for ${x.ranges.join(', ')}` : ''}`);
    }
    if (remedy) {
      out.push(`  fix: ${remedy.summary}`);
      for (const c of remedy.commands) out.push(`    ${c}`);
      for (const n of remedy.notes ?? []) out.push(`    note: ${n}`);
    }
  }
  if (e.verification) {
    const v = e.verification;
    out.push('');
    out.push(`checked against the cloud's own view (${v.api}): ${v.agrees ? 'it agrees' : 'IT DISAGREES'}`);
    for (const c of v.checks) {
      if (c.agrees) {
        out.push(`  from ${c.source}: ${c.computed} in both`);
        continue;
      }
      out.push(`  from ${c.source}: computed ${c.computed.toUpperCase()}${c.computedRanges.length ? ` (${c.computedRanges.slice(0, 4).join(', ')})` : ''}, the cloud's rules give ${c.cloud.toUpperCase()}${c.cloudRanges.length ? ` (${c.cloudRanges.slice(0, 4).join(', ')})` : ''}`);
      for (const x of c.cloudReasons ?? []) out.push(`      ${x.layer}: ${x.action.toUpperCase()} by ${x.rule}${x.priority !== undefined ? ` (priority ${x.priority})` : ''}${x.ruleSet ? ` in ${x.ruleSet}` : ''}`);
    }
  }
  if (e.verificationNote) out.push('', `not cross-checked: ${e.verificationNote}`);
  if (e.listener) out.push('', ...listenerSection(e.listener));
  return out.join('\n') + '\n';
}
