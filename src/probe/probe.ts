// One probe of one listener: the questions nmap's rdp-enum-encryption asks, read correctly. Each
// requestedProtocols value gets its own connection; the answers say which security protocols the server
// accepts (a server may select another protocol than the one asked for: xrdp with security_layer=rdp answers a
// TLS request with "standard RDP", never with a failure) and whether it insists on NLA (HYBRID_REQUIRED_BY_SERVER).
import { exchange, type Attempt, type Exchange, type TcpOutcome, type TlsFacts } from './listener.js';
import { PROTOCOL, type Confirm } from './negotiation.js';

export interface ProbeTarget {
  host: string;
  port: number;
  /** The instance it belongs to, when probed from an inventory. */
  instance?: { provider: 'gcp' | 'aws' | 'azure'; scope: string; location: string; name: string; id: string; ref: string };
}

export type Service = 'rdp' | 'not-rdp' | 'no-answer' | 'closed' | 'none';

export interface Accepts {
  /** Standard RDP security (RC4, no server authentication). */
  rdp: boolean;
  /** TLS without NLA. */
  tls: boolean;
  /** CredSSP (NLA). */
  credssp: boolean;
  /** CredSSP with early user authorization (HYBRID_EX). */
  credsspEarlyUserAuth: boolean;
}

export interface ProbeResult {
  target: string;
  host: string;
  port: number;
  instance?: ProbeTarget['instance'];
  tcp: { outcome: TcpOutcome; ms: number; error?: string };
  service: Service;
  /** What the server accepts; absent when it did not speak RDP. */
  accepts?: Accepts;
  /** No session starts without CredSSP: standard RDP and plain TLS were both refused. */
  nlaRequired?: boolean;
  /** RDP_NEG_FAILURE codes seen, by the request that drew them. */
  failures: { requested: number; code: number; name: string }[];
  attempts: Attempt[];
  tls?: TlsFacts;
  /** One line per thing worth knowing that is not a finding (the server's quirks, why a question was skipped). */
  notes: string[];
}

export interface ProbeOptions {
  timeoutMs: number;
  now: () => Date;
}

/** Asked in this order: the first answer that selects TLS or CredSSP also gives the certificate. */
export const QUESTIONS = [PROTOCOL.SSL | PROTOCOL.HYBRID | PROTOCOL.HYBRID_EX, PROTOCOL.SSL | PROTOCOL.HYBRID, PROTOCOL.SSL, PROTOCOL.RDP] as const;

const selected = (a: Attempt | undefined): number | undefined => (a?.answer.kind === 'selected' ? a.answer.protocol : a?.answer.kind === 'no-negotiation' ? PROTOCOL.RDP : undefined);
const isConfirm = (a: Attempt): a is Attempt & { answer: Confirm } => ['selected', 'failure', 'no-negotiation', 'refused'].includes(a.answer.kind);

export async function probe(t: ProbeTarget, o: ProbeOptions): Promise<ProbeResult> {
  const target = `${t.host.includes(':') ? `[${t.host}]` : t.host}:${t.port}`;
  const result: ProbeResult = { target, host: t.host, port: t.port, ...(t.instance ? { instance: t.instance } : {}), tcp: { outcome: 'open', ms: 0 }, service: 'none', failures: [], attempts: [], notes: [] };
  for (const requested of QUESTIONS) {
    const x: Exchange = await exchange(t.host, t.port, requested, { timeoutMs: o.timeoutMs, now: o.now, readCertificate: !result.tls?.certificate });
    if (x.tcp !== 'open') {
      if (result.attempts.length === 0) {
        result.tcp = { outcome: x.tcp, ms: x.connectMs, ...(x.error ? { error: x.error } : {}) };
        return result;
      }
      result.notes.push(`the TCP handshake for request 0x${requested.toString(16)} failed (${x.tcp}) after earlier ones succeeded`);
      continue;
    }
    if (result.attempts.length === 0) result.tcp = { outcome: 'open', ms: x.connectMs };
    const a = x.attempt!;
    result.attempts.push(a);
    if (x.tls && !result.tls?.certificate) result.tls = x.tls;
    if (a.answer.kind === 'malformed') {
      result.service = 'not-rdp';
      result.notes.push(a.answer.why);
      return result;
    }
    if (a.answer.kind === 'timeout' && !result.attempts.some(isConfirm)) {
      result.service = 'no-answer';
      result.notes.push(`the listener accepted the connection and sent nothing in ${o.timeoutMs} ms`);
      return result;
    }
    if (a.answer.kind === 'failure') result.failures.push({ requested, code: a.answer.code, name: a.answer.name });
    if (a.answer.kind === 'refused') result.notes.push(`request 0x${requested.toString(16)}: the server sent ${a.answer.tpdu === 'data' ? 'data (a disconnect)' : 'a disconnect request'} instead of a Connection Confirm`);
  }
  if (!result.attempts.some(isConfirm)) {
    result.service = result.attempts.every((a) => a.answer.kind === 'timeout') ? 'no-answer' : 'closed';
    if (result.service === 'closed') result.notes.push('the listener closed every connection without a Connection Confirm');
    return result;
  }
  result.service = 'rdp';
  const by = new Map(result.attempts.map((a) => [a.requested, a]));
  const all = selected(by.get(QUESTIONS[0]));
  const nla = selected(by.get(QUESTIONS[1]));
  const tls = selected(by.get(PROTOCOL.SSL));
  const rdp = selected(by.get(PROTOCOL.RDP));
  result.accepts = {
    rdp: rdp === PROTOCOL.RDP,
    tls: tls === PROTOCOL.SSL,
    credssp: [all, nla].some((p) => p !== undefined && (p & PROTOCOL.HYBRID) !== 0) || (all !== undefined && (all & PROTOCOL.HYBRID_EX) !== 0),
    credsspEarlyUserAuth: all !== undefined && (all & PROTOCOL.HYBRID_EX) !== 0,
  };
  result.nlaRequired = result.accepts.credssp && !result.accepts.tls && !result.accepts.rdp;
  if (tls === PROTOCOL.RDP) result.notes.push('asked for TLS, the server chose standard RDP security instead (it did not refuse): TLS is off');
  if (nla !== undefined && nla === PROTOCOL.SSL) result.notes.push('asked for CredSSP, the server chose TLS: it does not offer NLA');
  return result;
}
