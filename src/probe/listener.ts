// Speaks the first bytes of RDP to host:port and reports what the listener demands. One TCP connection per
// question, as nmap's rdp-enum-encryption does: a server answers a Connection Request once. Every wait has a
// timeout; the TCP outcome tells the layers apart: refused (RST: the host is up, nothing listens - the service
// is stopped or on another port), timeout (a firewall drops the SYN silently), reset after connect, an answer
// that is not RDP (another service on the port), or a listener that accepts and never answers.
import { connect as tcpConnect, type Socket } from 'node:net';
import { connect as tlsConnect, type PeerCertificate, type TLSSocket } from 'node:tls';
import { X509Certificate } from 'node:crypto';
import { connectionRequest, MalformedAnswer, parseConfirm, PROTOCOL, tpktLength, type Confirm } from './negotiation.js';

export type TcpOutcome = 'open' | 'refused' | 'timeout' | 'reset' | 'unreachable' | 'error';

export type Answer = Confirm | { kind: 'closed' } | { kind: 'timeout' } | { kind: 'reset' } | { kind: 'malformed'; why: string };

export interface Attempt {
  /** requestedProtocols sent. */
  requested: number;
  answer: Answer;
  /** From the SYN to the answer (or the failure), in milliseconds. */
  ms: number;
}

export interface CertificateFacts {
  subject: string;
  issuer: string;
  selfSigned: boolean;
  notBefore: string;
  notAfter: string;
  expired: boolean;
  /** Whole days until notAfter (negative when expired). */
  daysLeft: number;
  keyType: string;
  keyBits?: number;
  sha256: string;
  subjectAltNames?: string;
}

export interface TlsFacts {
  version: string;
  cipher: string;
  certificate?: CertificateFacts;
  error?: string;
}

export interface Exchange {
  tcp: TcpOutcome;
  /** Time to connect, or to the failure when it did not. */
  connectMs: number;
  error?: string;
  attempt?: Attempt;
  tls?: TlsFacts;
}

export interface ExchangeOptions {
  /** Longest wait for the TCP handshake, and again for the answer and for TLS. */
  timeoutMs: number;
  now: () => Date;
  /** Upgrade to TLS when the server selects TLS or CredSSP, and read the certificate. */
  readCertificate: boolean;
}

function certificateFacts(peer: PeerCertificate, now: Date): CertificateFacts | undefined {
  if (!peer?.raw) return undefined;
  const x = new X509Certificate(peer.raw);
  const notAfter = new Date(x.validTo);
  const key = x.publicKey;
  const details = key.asymmetricKeyDetails;
  const selfSigned = x.subject === x.issuer && (() => {
    try {
      return x.verify(key);
    } catch {
      return false;
    }
  })();
  return {
    subject: x.subject.replace(/\n/g, ', '),
    issuer: x.issuer.replace(/\n/g, ', '),
    selfSigned,
    notBefore: new Date(x.validFrom).toISOString(),
    notAfter: notAfter.toISOString(),
    expired: notAfter.getTime() < now.getTime(),
    daysLeft: Math.floor((notAfter.getTime() - now.getTime()) / 86_400_000),
    keyType: key.asymmetricKeyType ?? 'unknown',
    ...(details?.modulusLength ? { keyBits: details.modulusLength } : details?.namedCurve ? { keyBits: curveBits(details.namedCurve) } : {}),
    sha256: x.fingerprint256,
    ...(x.subjectAltName ? { subjectAltNames: x.subjectAltName } : {}),
  };
}

const curveBits = (c: string) => (/(256|384|521)/.exec(c) ? Number(/(256|384|521)/.exec(c)![1]) : 0);

function classify(e: NodeJS.ErrnoException): TcpOutcome {
  if (e.code === 'ECONNREFUSED') return 'refused';
  if (e.code === 'ECONNRESET' || e.code === 'EPIPE') return 'reset';
  if (e.code === 'EHOSTUNREACH' || e.code === 'ENETUNREACH' || e.code === 'EADDRNOTAVAIL') return 'unreachable';
  if (e.code === 'ETIMEDOUT') return 'timeout';
  return 'error';
}

/** One connection: TCP handshake, a Connection Request with `requested`, the answer, and TLS when chosen. */
export function exchange(host: string, port: number, requested: number, o: ExchangeOptions): Promise<Exchange> {
  return new Promise((resolve) => {
    const started = performance.now();
    const elapsed = () => Math.round(performance.now() - started);
    let connectMs = 0;
    let connected = false;
    let settled = false;
    let buf = Buffer.alloc(0);
    let timer: NodeJS.Timeout | undefined;
    let tlsSock: TLSSocket | undefined;
    const sock: Socket = tcpConnect({ host, port });
    const finish = (r: Exchange) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      tlsSock?.destroy();
      sock.destroy();
      resolve(r);
    };
    const answered = (answer: Answer, tls?: TlsFacts) => finish({ tcp: 'open', connectMs, attempt: { requested, answer, ms: elapsed() }, ...(tls ? { tls } : {}) });
    const arm = (what: () => void) => {
      clearTimeout(timer);
      timer = setTimeout(what, o.timeoutMs);
    };
    arm(() => (connected ? answered({ kind: 'timeout' }) : finish({ tcp: 'timeout', connectMs: elapsed(), error: `no answer to the TCP handshake in ${o.timeoutMs} ms` })));
    sock.once('connect', () => {
      connected = true;
      connectMs = elapsed();
      arm(() => answered({ kind: 'timeout' }));
      sock.write(connectionRequest(requested));
    });
    sock.on('error', (e: NodeJS.ErrnoException) => {
      if (!connected) finish({ tcp: classify(e), connectMs: elapsed(), error: `${e.code ?? ''} ${e.message}`.trim() });
      else answered(buf.length ? { kind: 'malformed', why: `the connection was reset after ${buf.length} byte(s)` } : { kind: 'reset' });
    });
    sock.on('end', () => answered(buf.length ? { kind: 'malformed', why: `truncated: the server closed after ${buf.length} byte(s) of its answer` } : { kind: 'closed' }));
    sock.on('data', (chunk: Buffer) => {
      buf = Buffer.concat([buf, chunk]);
      let length: number | undefined;
      let confirm: Confirm;
      try {
        length = tpktLength(buf);
        if (length === undefined || buf.length < length) return;
        confirm = parseConfirm(buf.subarray(0, length));
      } catch (e) {
        if (e instanceof MalformedAnswer) return answered({ kind: 'malformed', why: e.message });
        throw e;
      }
      const secure = confirm.kind === 'selected' && (confirm.protocol & (PROTOCOL.SSL | PROTOCOL.HYBRID | PROTOCOL.HYBRID_EX)) !== 0;
      if (!secure || !o.readCertificate) return answered(confirm);
      // TLS starts on the same socket right after the Confirm: no further framing (MS-RDPBCGR 5.4.5.1).
      sock.removeAllListeners('data');
      sock.removeAllListeners('end');
      sock.removeAllListeners('error');
      sock.on('error', () => {});
      const tls = (tlsSock = tlsConnect({ socket: sock, rejectUnauthorized: false }));
      arm(() => answered(confirm, { version: '', cipher: '', error: `no TLS handshake in ${o.timeoutMs} ms` }));
      tls.once('secureConnect', () => {
        const facts: TlsFacts = { version: tls.getProtocol() ?? '', cipher: tls.getCipher()?.name ?? '' };
        const cert = certificateFacts(tls.getPeerCertificate(true), o.now());
        if (cert) facts.certificate = cert;
        answered(confirm, facts);
      });
      tls.once('error', (e) => answered(confirm, { version: '', cipher: '', error: e.message }));
    });
  });
}
