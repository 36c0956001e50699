// The X.224 / RDP negotiation codec against byte sequences written from MS-RDPBCGR 2.2.1.1 and 2.2.1.2 and
// captured from xrdp 0.9 and FreeRDP 2 on loopback (../../../shared/docs/reference/serial-console-and-rdp-probe.md
// section 5): every failure code, the no-negotiation Confirm, xrdp's Disconnect Provider Ultimatum, and every way
// an answer can be malformed or truncated.
import { describe, expect, it } from 'vitest';
import { connectionRequest, MalformedAnswer, parseConfirm, protocolName, tpktLength, type Confirm } from '../../src/probe/negotiation.js';

const b = (hex: string) => Buffer.from(hex.replace(/\s+/g, ''), 'hex');

describe('Connection Request', () => {
  it.each([
    // The spec example without cookie: SSL|HYBRID
    ['no cookie, SSL|HYBRID (3)', connectionRequest(3, ''), '03 00 00 13 0e e0 00 00 00 00 00 01 00 08 00 03 00 00 00'],
    // mstsc-style: cookie + SSL|HYBRID|HYBRID_EX
    ['cookie mstshash=Administr, 0x0b', connectionRequest(0x0b, 'Administr'), '03 00 00 2f 2a e0 00 00 00 00 00 43 6f 6f 6b 69 65 3a 20 6d 73 74 73 68 61 73 68 3d 41 64 6d 69 6e 69 73 74 72 0d 0a 01 00 08 00 0b 00 00 00'],
    ['no negotiation request at all', connectionRequest(undefined, ''), '03 00 00 0b 06 e0 00 00 00 00 00'],
  ])('%s', (_n, got, want) => {
    expect(got.toString('hex')).toBe(b(want).toString('hex'));
  });
});

const cases: { name: string; hex: string; want: Confirm }[] = [
  { name: 'xrdp selects standard RDP (flags 0x01, SRC-REF 0x1234)', hex: '03 00 00 13 0e d0 00 00 12 34 00 02 01 08 00 00 00 00 00', want: { kind: 'selected', protocol: 0, flags: 1 } },
  { name: 'xrdp selects TLS', hex: '03 00 00 13 0e d0 00 00 12 34 00 02 01 08 00 01 00 00 00', want: { kind: 'selected', protocol: 1, flags: 1 } },
  { name: 'FreeRDP selects CredSSP (flags 0x03)', hex: '03 00 00 13 0e d0 00 00 00 00 00 02 03 08 00 02 00 00 00', want: { kind: 'selected', protocol: 2, flags: 3 } },
  { name: 'Windows selects CredSSP with early user auth', hex: '03 00 00 13 0e d0 00 00 00 00 00 02 1f 08 00 08 00 00 00', want: { kind: 'selected', protocol: 8, flags: 0x1f } },
  { name: 'failure 1 SSL_REQUIRED_BY_SERVER', hex: '03 00 00 13 0e d0 00 00 12 34 00 03 00 08 00 01 00 00 00', want: { kind: 'failure', code: 1, name: 'SSL_REQUIRED_BY_SERVER' } },
  { name: 'failure 2 SSL_NOT_ALLOWED_BY_SERVER', hex: '03 00 00 13 0e d0 00 00 00 00 00 03 00 08 00 02 00 00 00', want: { kind: 'failure', code: 2, name: 'SSL_NOT_ALLOWED_BY_SERVER' } },
  { name: 'failure 3 SSL_CERT_NOT_ON_SERVER', hex: '03 00 00 13 0e d0 00 00 00 00 00 03 00 08 00 03 00 00 00', want: { kind: 'failure', code: 3, name: 'SSL_CERT_NOT_ON_SERVER' } },
  { name: 'failure 4 INCONSISTENT_FLAGS', hex: '03 00 00 13 0e d0 00 00 00 00 00 03 00 08 00 04 00 00 00', want: { kind: 'failure', code: 4, name: 'INCONSISTENT_FLAGS' } },
  { name: 'failure 5 HYBRID_REQUIRED_BY_SERVER', hex: '03 00 00 13 0e d0 00 00 00 00 00 03 00 08 00 05 00 00 00', want: { kind: 'failure', code: 5, name: 'HYBRID_REQUIRED_BY_SERVER' } },
  { name: 'failure 6 SSL_WITH_USER_AUTH_REQUIRED_BY_SERVER', hex: '03 00 00 13 0e d0 00 00 00 00 00 03 00 08 00 06 00 00 00', want: { kind: 'failure', code: 6, name: 'SSL_WITH_USER_AUTH_REQUIRED_BY_SERVER' } },
  { name: 'a failure code the spec does not define', hex: '03 00 00 13 0e d0 00 00 00 00 00 03 00 08 00 09 00 00 00', want: { kind: 'failure', code: 9, name: 'unknown failure code 9' } },
  { name: 'a Confirm with no negotiation data (11 bytes)', hex: '03 00 00 0b 06 d0 00 00 12 34 00', want: { kind: 'no-negotiation' } },
  { name: "xrdp's Disconnect Provider Ultimatum (DT) instead of a Confirm", hex: '03 00 00 09 02 f0 80 21 80', want: { kind: 'refused', tpdu: 'data' } },
  { name: 'an X.224 Disconnect Request', hex: '03 00 00 0b 06 80 00 00 00 00 00', want: { kind: 'refused', tpdu: 'disconnect' } },
];

describe('Connection Confirm', () => {
  it.each(cases)('$name', ({ hex, want }) => {
    const pdu = b(hex);
    expect(tpktLength(pdu)).toBe(pdu.length);
    expect(parseConfirm(pdu)).toEqual(want);
  });
});

const malformed: { name: string; hex: string; why: RegExp }[] = [
  { name: 'an HTTP server on the port', hex: Buffer.from('HTTP/1.1 400 Bad Request\r\n\r\n').toString('hex'), why: /not RDP: a text protocol answered \("HTTP\/1\.1 400 Bad Request"\)/ },
  { name: 'an SSH banner', hex: Buffer.from('SSH-2.0-OpenSSH_9.2p1 Debian\r\n').toString('hex'), why: /not RDP: a text protocol answered \("SSH-2\.0-OpenSSH_9\.2p1 Debian"\)/ },
  { name: 'binary garbage', hex: 'ff 00 12 34 56', why: /not RDP: first bytes ff 00 12 34 56/ },
  { name: 'a TPKT shorter than an X.224 header', hex: '03 00 00 05 00', why: /TPKT length 5 is shorter than an X\.224 header/ },
  { name: 'truncated: the TPKT says 19, 12 arrived', hex: '03 00 00 13 0e d0 00 00 12 34 00 02', why: /truncated: the TPKT says 19 bytes, 12 arrived/ },
  { name: 'truncated: 3 bytes of a TPKT header', hex: '03 00 00', why: /truncated: 3 byte\(s\) of a TPKT header/ },
  { name: 'bytes after the TPKT', hex: '03 00 00 0b 06 d0 00 00 12 34 00 ff', why: /1 byte\(s\) after the 11-byte TPKT/ },
  { name: 'LI that runs past the TPKT', hex: '03 00 00 0b 20 d0 00 00 12 34 00', why: /length indicator 32 runs past the TPKT/ },
  { name: 'LI that disagrees with the TPKT length', hex: '03 00 00 13 06 d0 00 00 00 00 00 02 00 08 00 01 00 00 00', why: /length indicator 6 does not match the TPKT length 19 \(expected 14\)/ },
  { name: 'a TPDU that is not a Confirm', hex: '03 00 00 0b 06 e0 00 00 00 00 00', why: /TPDU code 0xe0 where a Connection Confirm \(0xd0\) belongs/ },
  { name: 'negotiation data cut short', hex: '03 00 00 0f 0a d0 00 00 00 00 00 02 00 08 00', why: /negotiation data of 4 bytes/ },
  { name: 'a negotiation length field of 9', hex: '03 00 00 13 0e d0 00 00 00 00 00 02 00 09 00 01 00 00 00', why: /negotiation length field 9 \(must be 8\)/ },
  { name: 'an unknown negotiation type', hex: '03 00 00 13 0e d0 00 00 00 00 00 07 00 08 00 01 00 00 00', why: /negotiation type 0x7/ },
];

describe('malformed or truncated answers are rejected with the reason', () => {
  it.each(malformed)('$name', ({ hex, why }) => {
    const pdu = b(hex);
    const parse = () => {
      const n = tpktLength(pdu);
      return parseConfirm(n !== undefined && pdu.length > n && !/after/.test(String(why)) ? pdu.subarray(0, n) : pdu);
    };
    expect(parse).toThrow(MalformedAnswer);
    expect(parse).toThrow(why);
  });
});

describe('protocol names', () => {
  it.each([
    [0, 'standard RDP security'],
    [1, 'TLS'],
    [2, 'CredSSP (NLA)'],
    [8, 'CredSSP with early user authorization'],
    [0x0b, 'TLS + CredSSP (NLA) + CredSSP with early user authorization'],
  ])('0x%s', (p, name) => expect(protocolName(p)).toBe(name));
});
