// `rdpcloud probe` as text: per listener the TCP outcome, what it accepts, each question and answer, the
// certificate, and the findings. Pure.
import type { Answer } from '../probe/listener.js';
import { protocolName } from '../probe/negotiation.js';
import type { ProbeReport } from '../cli/probe.js';

const TCP: Record<string, string> = {
  open: 'open',
  refused: 'refused (TCP reset: reachable, nothing listens)',
  timeout: 'no answer to the TCP handshake (dropped on the way, or the host is down)',
  reset: 'reset',
  unreachable: 'unreachable (no route from this machine)',
  error: 'not probed',
};

function answerText(a: Answer): string {
  switch (a.kind) {
    case 'selected':
      return `selected ${protocolName(a.protocol)}`;
    case 'failure':
      return `refused: ${a.name}`;
    case 'no-negotiation':
      return 'Connection Confirm without negotiation (standard RDP only)';
    case 'refused':
      return a.tpdu === 'data' ? 'hung up (MCS disconnect) instead of answering' : 'X.224 disconnect';
    case 'closed':
      return 'closed without an answer';
    case 'timeout':
      return 'no answer';
    case 'reset':
      return 'connection reset';
    case 'malformed':
      return `malformed: ${a.why}`;
  }
}

type Probed = ProbeReport['probes'][number];

/** One listener: TCP, what it accepts, each question, the certificate, the findings. */
export function probeLines(p: Probed, o: { color: boolean }): string[] {
  const red = (s: string) => (o.color ? `\x1b[31m${s}\x1b[0m` : s);
  const lines: string[] = [];
  {
    const who = p.instance ? ` (${p.instance.ref})` : '';
    lines.push(`${p.target}${who}: ${TCP[p.tcp.outcome] ?? p.tcp.outcome}${p.tcp.outcome === 'open' || p.tcp.outcome === 'refused' ? ` in ${p.tcp.ms} ms` : ''}${p.tcp.error && (p.tcp.outcome === 'error' || p.tcp.outcome === 'unreachable') ? ` - ${p.tcp.error}` : ''}`);
    if (p.service === 'not-rdp') lines.push('  not RDP');
    if (p.service === 'no-answer') lines.push('  accepts connections and never answers');
    if (p.accepts) {
      const yes = [p.accepts.rdp && 'standard RDP security', p.accepts.tls && 'TLS', p.accepts.credssp && 'CredSSP (NLA)', p.accepts.credsspEarlyUserAuth && 'CredSSP with early user authorization'].filter(Boolean);
      lines.push(`  accepts:     ${yes.join(', ') || 'nothing rdpcloud asked for'}`);
      lines.push(`  NLA:         ${p.nlaRequired ? 'required' : 'not required'}`);
    }
    for (const a of p.attempts) lines.push(`  asked 0x${a.requested.toString(16).padStart(2, '0')} (${protocolName(a.requested)}): ${answerText(a.answer)} (${a.ms} ms)`);
    const c = p.tls?.certificate;
    if (p.tls?.version) lines.push(`  TLS:         ${p.tls.version} ${p.tls.cipher}`);
    if (p.tls?.error) lines.push(`  TLS:         failed: ${p.tls.error}`);
    if (c) {
      lines.push(`  certificate: ${c.subject}; issuer ${c.selfSigned ? 'itself (self-signed)' : c.issuer}`);
      lines.push(`               valid ${c.notBefore.slice(0, 10)} to ${c.notAfter.slice(0, 10)} (${c.expired ? 'EXPIRED' : `${c.daysLeft} days left`}), ${c.keyType.toUpperCase()}${c.keyBits ? ` ${c.keyBits}` : ''}`);
      lines.push(`               SHA-256 ${c.sha256}`);
    }
    for (const n of p.notes) lines.push(`  note: ${n}`);
    for (const f of p.findings) lines.push(`  ${(f.severity === 'high' || f.severity === 'critical' ? red : (s: string) => s)(f.severity.toUpperCase().padEnd(6))} ${f.policyId}: ${f.message}`);
  }
  return lines;
}

export function probeText(report: ProbeReport, o: { color: boolean }): string {
  const lines: string[] = [];
  for (const p of report.probes) lines.push(...probeLines(p, o), '');
  const n = report.probes.length;
  const rdp = report.probes.filter((p) => p.service === 'rdp').length;
  lines.push(`${n} listener(s) probed, ${rdp} speak RDP; ${report.probes.reduce((k, p) => k + p.findings.length, 0)} finding(s)`);
  return lines.join('\n') + '\n';
}

/** The listener section of explain and diagnose: edge -> network -> listener -> guest. */
export function listenerSection(probes: Probed[]): string[] {
  if (!probes.length) return ['listener: not probed (no external address; --probe-address HOST:PORT probes through a tunnel)'];
  return ['listener (probed from this machine):', ...probes.flatMap((p) => probeLines(p, { color: false }).map((l) => `  ${l}`))];
}
