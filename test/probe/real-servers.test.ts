// The probe against real RDP servers from Debian on 127.0.0.1, each configured to accept a known set of
// security protocols: xrdp 0.9 with security_layer rdp / tls / negotiate (and TLS with a certificate it cannot
// read), and FreeRDP 2's shadow server with its default, /sec:rdp, /sec:tls and /sec:nla (NLA with a SAM file).
// What each accepts is what it is configured to accept (xrdp.ini's security_layer, FreeRDP's /sec flags; xrdp
// never selects CredSSP: libxrdp/xrdp_iso.c only offers it in vmconnect mode); xrdp's own log line
// "Security protocol: configured [...], requested [...], selected [...]" is read as ground truth for every
// question the probe asked. nmap's rdp-enum-encryption runs on the same servers: where it is wrong, the test
// says so, and rdpcloud must be right.
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { probe, type Accepts, type ProbeResult } from '../../src/probe/probe.js';
import { judgeProbe } from '../../src/probe/judge.js';
import { PROTOCOL } from '../../src/probe/negotiation.js';
import { makeCertificate, missingTools, nmapEnumEncryption, samFile, scratch, startShadow, startXrdp, startXvfb, type Running, type SecurityLayer } from './servers.js';

const missing = missingTools();
if (missing.length && !process.env.RDPCLOUD_SKIP_REAL_RDP) {
  throw new Error(`the probe tests need real RDP servers: ${missing.join(', ')} not found. Install xrdp freerdp2-shadow-x11 xvfb winpr-utils nmap openssl (bash .ci/run does), or set RDPCLOUD_SKIP_REAL_RDP=1`);
}
const suite = missing.length ? describe.skip : describe;

const opts = { timeoutMs: 3000, now: () => new Date() };
const none: Accepts = { rdp: false, tls: false, credssp: false, credsspEarlyUserAuth: false };

/** xrdp's names for the protocol bits, as its log prints them. */
function xrdpNames(bits: number): string[] {
  const n: string[] = [];
  if (bits & PROTOCOL.SSL) n.push('SSL');
  if (bits & PROTOCOL.HYBRID) n.push('HYBRID');
  if (bits & PROTOCOL.RDSTLS) n.push('RDSTLS');
  if (bits & PROTOCOL.HYBRID_EX) n.push('HYBRID_EX');
  return n;
}

/** Every "Security protocol" line of the xrdp log: what it was asked and what it selected. */
function xrdpDecisions(log: string): { requested: string[]; selected: string[] }[] {
  return [...readFileSync(log, 'utf8').matchAll(/Security protocol: configured \[([^\]]*)\], requested \[([^\]]*)\], selected \[([^\]]*)\]/g)].map((m) => ({
    requested: m[2].split('|').filter((x) => x && x !== 'RDP').sort(),
    selected: m[3].split('|').filter(Boolean).sort(),
  }));
}

suite('xrdp', () => {
  let tls: ReturnType<typeof makeCertificate>;
  beforeAll(() => {
    tls = makeCertificate(scratch(), 'xrdp-test');
  });

  const cases: { layer: SecurityLayer; accepts: Accepts; findings: string[]; nmapSays: RegExp; nmapWrongBecause: string }[] = [
    {
      layer: 'rdp',
      accepts: { ...none, rdp: true },
      findings: ['rdp-listener-legacy-security', 'rdp-listener-nla-not-required'],
      nmapSays: /SSL: SUCCESS/,
      nmapWrongBecause: 'nmap counts any RDP_NEG_RSP as success: xrdp answers a TLS request by selecting standard RDP',
    },
    {
      layer: 'tls',
      accepts: { ...none, tls: true },
      findings: ['rdp-listener-nla-not-required', 'rdp-listener-certificate-self-signed'],
      nmapSays: /rdp-enum-encryption: ERROR: Script execution failed/,
      nmapWrongBecause: "nmap's script crashes on the Disconnect Provider Ultimatum xrdp sends after a Confirm without negotiation",
    },
    {
      layer: 'negotiate',
      accepts: { ...none, rdp: true, tls: true },
      findings: ['rdp-listener-legacy-security', 'rdp-listener-nla-not-required', 'rdp-listener-certificate-self-signed'],
      nmapSays: /CredSSP \(NLA\): SUCCESS/,
      nmapWrongBecause: 'xrdp selected TLS when asked for CredSSP; nmap reports NLA as supported',
    },
  ];

  it.each(cases)('security_layer=$layer: accepts what it is configured to, agreeing with its own log', async (c) => {
    const server = await startXrdp(c.layer, tls);
    let r: ProbeResult;
    try {
      r = await probe({ host: '127.0.0.1', port: server.port }, opts);
    } finally {
      await server.stop();
    }
    expect(r.service).toBe('rdp');
    expect(r.accepts).toEqual(c.accepts);
    expect(r.nlaRequired).toBe(false);
    // The log's decision for every question, in order, is the probe's reading of the answer.
    const decisions = xrdpDecisions(server.log);
    expect(decisions).toHaveLength(r.attempts.length);
    r.attempts.forEach((a, i) => {
      expect(decisions[i].requested).toEqual(xrdpNames(a.requested).sort());
      const selected = a.answer.kind === 'selected' ? (a.answer.protocol === 0 ? ['RDP'] : xrdpNames(a.answer.protocol).sort()) : [];
      expect(decisions[i].selected, `question 0x${a.requested.toString(16)}`).toEqual(selected);
    });
    if (c.accepts.tls) {
      expect(r.tls?.certificate).toMatchObject({ subject: 'CN=xrdp-test', selfSigned: true, keyType: 'rsa', keyBits: 2048, expired: false, sha256: tls.sha256 });
      expect(r.tls?.certificate?.daysLeft).toBeGreaterThanOrEqual(364);
    } else expect(r.tls?.certificate).toBeUndefined();
    expect(judgeProbe(r).map((f) => f.checkId)).toEqual(c.findings);
  });

  it.each(cases)('nmap rdp-enum-encryption against security_layer=$layer is wrong where rdpcloud is right', async (c) => {
    const server = await startXrdp(c.layer, tls);
    try {
      const out = nmapEnumEncryption(server.port);
      expect(out, c.nmapWrongBecause).toMatch(c.nmapSays);
    } finally {
      await server.stop();
    }
  });

  it('a certificate that expires in 10 days: expiring (low)', async () => {
    const short = makeCertificate(scratch(), 'xrdp-short', { days: 10 });
    const server = await startXrdp('tls', short);
    let r: ProbeResult;
    try {
      r = await probe({ host: '127.0.0.1', port: server.port }, opts);
    } finally {
      await server.stop();
    }
    expect(r.tls?.certificate).toMatchObject({ subject: 'CN=xrdp-short', keyBits: 2048, daysLeft: 9, sha256: short.sha256 });
    expect(judgeProbe(r).map((f) => [f.checkId, f.severity])).toEqual([
      ['rdp-listener-nla-not-required', 'medium'],
      ['rdp-listener-certificate-expiring', 'low'],
      ['rdp-listener-certificate-self-signed', 'info'],
    ]);
  });

  it('TLS configured with a certificate it cannot read: SSL_CERT_NOT_ON_SERVER to every question', async () => {
    const server = await startXrdp('tls', { cert: '/nonexistent/cert.pem', key: '/nonexistent/key.pem' });
    let r: ProbeResult;
    try {
      r = await probe({ host: '127.0.0.1', port: server.port }, opts);
    } finally {
      await server.stop();
    }
    expect(r.accepts).toEqual(none);
    expect(new Set(r.failures.map((f) => f.name))).toEqual(new Set(['SSL_CERT_NOT_ON_SERVER']));
    expect(judgeProbe(r).map((f) => f.checkId)).toEqual(['rdp-listener-refuses-all']);
  });
});

suite('FreeRDP shadow server', () => {
  let x: Running & { display: string };
  let sam: string;
  beforeAll(async () => {
    x = await startXvfb();
    sam = samFile(scratch(), 'rdptest', 'S3cret!pw');
  });
  afterAll(async () => {
    await x?.stop();
  });

  const cases: { name: string; flags: () => string[]; accepts: Accepts; nla: boolean; certificate: boolean; findings: string[]; nmapSays?: RegExp }[] = [
    { name: 'default (RDP and TLS)', flags: () => [], accepts: { ...none, rdp: true, tls: true }, nla: false, certificate: true, findings: ['rdp-listener-legacy-security', 'rdp-listener-nla-not-required', 'rdp-listener-certificate-self-signed'], nmapSays: /CredSSP \(NLA\): SUCCESS/ },
    { name: '/sec:rdp', flags: () => ['/sec:rdp'], accepts: { ...none, rdp: true }, nla: false, certificate: false, findings: ['rdp-listener-legacy-security', 'rdp-listener-nla-not-required'] },
    { name: '/sec:tls (NLA off)', flags: () => ['/sec:tls'], accepts: { ...none, tls: true }, nla: false, certificate: true, findings: ['rdp-listener-nla-not-required', 'rdp-listener-certificate-self-signed'], nmapSays: /CredSSP \(NLA\): SUCCESS/ },
    { name: '/sec:nla with a SAM file (NLA on)', flags: () => ['/sec:nla', `/sam-file:${sam}`], accepts: { ...none, credssp: true }, nla: true, certificate: true, findings: ['rdp-listener-certificate-self-signed'] },
  ];

  it.each(cases)('$name: accepts what it is configured to', async (c) => {
    const server = await startShadow(x.display, c.flags());
    let r: ProbeResult;
    let nmap = '';
    try {
      r = await probe({ host: '127.0.0.1', port: server.port }, opts);
      if (c.nmapSays) nmap = nmapEnumEncryption(server.port);
    } finally {
      await server.stop();
    }
    expect(r.service).toBe('rdp');
    expect(r.accepts).toEqual(c.accepts);
    expect(r.nlaRequired).toBe(c.nla);
    if (c.certificate) expect(r.tls?.certificate).toMatchObject({ selfSigned: true, keyType: 'rsa', keyBits: 2048, expired: false });
    else expect(r.tls).toBeUndefined();
    if (c.nla) expect(r.failures.map((f) => f.name)).toContain('HYBRID_REQUIRED_BY_SERVER');
    expect(judgeProbe(r).map((f) => f.checkId)).toEqual(c.findings);
    // nmap reports NLA as supported where the server selected TLS; rdpcloud says credssp: false.
    if (c.nmapSays) expect(nmap).toMatch(c.nmapSays);
  });
});
