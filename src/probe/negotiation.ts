// The first bytes of RDP, from the spec: the client's X.224 Connection Request with an RDP Negotiation Request
// (MS-RDPBCGR 2.2.1.1, https://learn.microsoft.com/en-us/openspecs/windows_protocols/ms-rdpbcgr/18a27ef9-6f9a-4501-b000-94b1fe3c2c10)
// and the server's Connection Confirm with an RDP Negotiation Response or Failure (2.2.1.2; RDP_NEG_FAILURE:
// https://learn.microsoft.com/en-us/openspecs/windows_protocols/ms-rdpbcgr/1b3920e7-0116-4345-bc45-f2c4ad012761).
// TPKT (RFC 1006) and X.224 (ISO 8073) frame both. Pure: bytes in, facts out; a malformed or truncated answer
// is a MalformedAnswer naming what was wrong, never an exception from a buffer read.

/** requestedProtocols / selectedProtocol bits (2.2.1.1.1). */
export const PROTOCOL = { RDP: 0, SSL: 0x1, HYBRID: 0x2, RDSTLS: 0x4, HYBRID_EX: 0x8, RDSAAD: 0x10 } as const;

/** failureCode of RDP_NEG_FAILURE (2.2.1.2.2). */
export const FAILURE_CODES: Record<number, string> = {
  1: 'SSL_REQUIRED_BY_SERVER',
  2: 'SSL_NOT_ALLOWED_BY_SERVER',
  3: 'SSL_CERT_NOT_ON_SERVER',
  4: 'INCONSISTENT_FLAGS',
  5: 'HYBRID_REQUIRED_BY_SERVER',
  6: 'SSL_WITH_USER_AUTH_REQUIRED_BY_SERVER',
};

export function protocolName(p: number): string {
  if (p === PROTOCOL.RDP) return 'standard RDP security';
  const names: string[] = [];
  if (p & PROTOCOL.SSL) names.push('TLS');
  if (p & PROTOCOL.HYBRID) names.push('CredSSP (NLA)');
  if (p & PROTOCOL.RDSTLS) names.push('RDSTLS');
  if (p & PROTOCOL.HYBRID_EX) names.push('CredSSP with early user authorization');
  if (p & PROTOCOL.RDSAAD) names.push('RDS AAD');
  return names.join(' + ') || `0x${p.toString(16)}`;
}

const TPKT_VERSION = 3;
const CR = 0xe0;
const CC = 0xd0;
const DT = 0xf0;
const DR = 0x80;
const TYPE_RDP_NEG_REQ = 0x01;
const TYPE_RDP_NEG_RSP = 0x02;
const TYPE_RDP_NEG_FAILURE = 0x03;

/**
 * A Connection Request. `requested` undefined sends no RDP_NEG_REQ (a pre-RDP 5.0 client). The cookie
 * (`Cookie: mstshash=...`) is what mstsc sends; servers log it.
 */
export function connectionRequest(requested: number | undefined, cookie = 'rdpcloud'): Buffer {
  const cookieBytes = cookie ? Buffer.from(`Cookie: mstshash=${cookie}\r\n`, 'ascii') : Buffer.alloc(0);
  const neg = Buffer.alloc(requested === undefined ? 0 : 8);
  if (requested !== undefined) {
    neg.writeUInt8(TYPE_RDP_NEG_REQ, 0);
    neg.writeUInt8(0, 1); // flags
    neg.writeUInt16LE(8, 2);
    neg.writeUInt32LE(requested >>> 0, 4);
  }
  const x224 = Buffer.from([0, CR, 0, 0, 0, 0, 0]); // LI (filled below), CR-TPDU, DST-REF, SRC-REF, class 0
  const length = 4 + x224.length + cookieBytes.length + neg.length;
  x224[0] = length - 5; // LI: the header length after the LI byte itself
  const tpkt = Buffer.from([TPKT_VERSION, 0, length >> 8, length & 0xff]);
  return Buffer.concat([tpkt, x224, cookieBytes, neg]);
}

export type Confirm =
  /** RDP_NEG_RSP: the protocol the server chose. */
  | { kind: 'selected'; protocol: number; flags: number }
  /** RDP_NEG_FAILURE. */
  | { kind: 'failure'; code: number; name: string }
  /** A Connection Confirm without negotiation data: the server speaks only standard RDP security (pre-5.0 style). */
  | { kind: 'no-negotiation' }
  /** Data (e.g. an MCS Disconnect Provider Ultimatum) or a Disconnect Request instead of a Confirm: the server refused the request. */
  | { kind: 'refused'; tpdu: 'data' | 'disconnect' };

export class MalformedAnswer extends Error {}

const hex = (b: Buffer, n = 16) => [...b.subarray(0, n)].map((x) => x.toString(16).padStart(2, '0')).join(' ') + (b.length > n ? ' ...' : '');

/** Looks like text (an HTTP or SSH banner, an SMTP greeting): the service on the port is not RDP. */
function describeForeign(b: Buffer): string {
  const text = b.subarray(0, 40).toString('latin1');
  if (/^[\x20-\x7e\r\n\t]{4,}/.test(text)) return `a text protocol answered ("${text.split(/\r?\n/)[0].slice(0, 32)}")`;
  return `first bytes ${hex(b, 8)}`;
}

/**
 * How many bytes the TPKT whose header starts `buf` has in all, once 4 bytes are there; undefined while fewer
 * have arrived. Throws MalformedAnswer when it is not a TPKT header.
 */
export function tpktLength(buf: Buffer): number | undefined {
  if (buf.length >= 1 && buf[0] !== TPKT_VERSION) throw new MalformedAnswer(`not RDP: ${describeForeign(buf)}; an RDP server answers with a TPKT (version 3)`);
  if (buf.length < 4) return undefined;
  const length = buf.readUInt16BE(2);
  if (length < 7) throw new MalformedAnswer(`TPKT length ${length} is shorter than an X.224 header (7 bytes)`);
  return length;
}

/** Parses one whole TPKT (exactly `tpktLength` bytes) as the server's answer to a Connection Request. */
export function parseConfirm(pdu: Buffer): Confirm {
  const length = tpktLength(pdu);
  if (length === undefined) throw new MalformedAnswer(`truncated: ${pdu.length} byte(s) of a TPKT header`);
  if (pdu.length < length) throw new MalformedAnswer(`truncated: the TPKT says ${length} bytes, ${pdu.length} arrived`);
  if (pdu.length > length) throw new MalformedAnswer(`${pdu.length - length} byte(s) after the ${length}-byte TPKT`);
  const li = pdu[4];
  if (li + 5 > length) throw new MalformedAnswer(`X.224 length indicator ${li} runs past the TPKT (${length} bytes)`);
  const code = pdu[5] & 0xf0;
  if (code === DT) return { kind: 'refused', tpdu: 'data' };
  if (code === DR) return { kind: 'refused', tpdu: 'disconnect' };
  if (code !== CC) throw new MalformedAnswer(`X.224 TPDU code 0x${pdu[5].toString(16)} where a Connection Confirm (0xd0) belongs`);
  if (li < 6) throw new MalformedAnswer(`X.224 Connection Confirm header of ${li} bytes (at least 6)`);
  if (li + 5 !== length) throw new MalformedAnswer(`X.224 length indicator ${li} does not match the TPKT length ${length} (expected ${length - 5})`);
  if (li === 6) return { kind: 'no-negotiation' };
  if (li < 14) throw new MalformedAnswer(`negotiation data of ${li - 6} bytes (RDP_NEG_RSP and RDP_NEG_FAILURE are 8)`);
  const type = pdu[11];
  const negLength = pdu.readUInt16LE(13);
  if (negLength !== 8) throw new MalformedAnswer(`negotiation length field ${negLength} (must be 8)`);
  const value = pdu.readUInt32LE(15);
  if (type === TYPE_RDP_NEG_RSP) return { kind: 'selected', protocol: value, flags: pdu[12] };
  if (type === TYPE_RDP_NEG_FAILURE) return { kind: 'failure', code: value, name: FAILURE_CODES[value] ?? `unknown failure code ${value}` };
  throw new MalformedAnswer(`negotiation type 0x${type.toString(16)} (0x02 response or 0x03 failure expected)`);
}
