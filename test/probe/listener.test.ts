// The probe against listeners on 127.0.0.1 that misbehave in every way the field guide distinguishes: nothing
// listening (refused), a SYN that is never answered (a full accept queue drops it, like a firewall), an HTTP
// server on the port, a listener that accepts and says nothing, one that resets, one that answers half a TPKT,
// and a well-behaved fake RDP server that selects TLS and hands over a certificate. Every wait is bounded.
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { createServer as createHttpServer } from 'node:http';
import { createServer, type Server, type Socket, connect } from 'node:net';
import { mkdtemp, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { TLSSocket } from 'node:tls';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { probe, type ProbeResult } from '../../src/probe/probe.js';
import { judgeProbe } from '../../src/probe/judge.js';

const run = promisify(execFile);
const now = () => new Date('2026-11-25T12:00:00Z');
const opts = { timeoutMs: 700, now };
const servers: (Server | ReturnType<typeof createHttpServer>)[] = [];
const children: ChildProcess[] = [];

function listen(onSocket: (s: Socket) => void): Promise<number> {
  return new Promise((resolve) => {
    const srv = createServer(onSocket);
    servers.push(srv);
    srv.listen(0, '127.0.0.1', () => resolve((srv.address() as { port: number }).port));
  });
}

/** An RDP server as far as the negotiation goes: answers each Connection Request from `answer(requested)`, then TLS when it selected it. */
function fakeRdp(answer: (requested: number) => Buffer, tls?: { key: Buffer; cert: Buffer }): Promise<number> {
  return listen((s) => {
    s.once('data', (req: Buffer) => {
      const requested = req.length >= 19 ? req.readUInt32LE(req.length - 4) : -1;
      const rsp = answer(requested);
      s.write(rsp);
      const selectedTls = rsp[11] === 2 && (rsp.readUInt32LE(15) & 0x0b) !== 0;
      if (selectedTls && tls) {
        const t = new TLSSocket(s, { isServer: true, key: tls.key, cert: tls.cert });
        t.on('error', () => {});
      } else s.end();
    });
    s.on('error', () => {});
  });
}

const rsp = (p: number) => Buffer.from([3, 0, 0, 19, 14, 0xd0, 0, 0, 0, 0, 0, 2, 0, 8, 0, p, 0, 0, 0]);
const fail = (code: number) => Buffer.from([3, 0, 0, 19, 14, 0xd0, 0, 0, 0, 0, 0, 3, 0, 8, 0, code, 0, 0, 0]);

let cert: { key: Buffer; cert: Buffer; fingerprint: string };

beforeAll(async () => {
  const dir = await mkdtemp(join(tmpdir(), 'rdpcloud-probe-'));
  await run('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', join(dir, 'k.pem'), '-out', join(dir, 'c.pem'), '-days', '365', '-subj', '/CN=win-test-01', '-set_serial', '1']);
  const pem = await readFile(join(dir, 'c.pem'));
  const fp = (await run('openssl', ['x509', '-in', join(dir, 'c.pem'), '-noout', '-fingerprint', '-sha256'])).stdout.split('=')[1].trim();
  cert = { key: await readFile(join(dir, 'k.pem')), cert: pem, fingerprint: fp };
});

afterAll(() => {
  for (const s of servers) s.close();
  for (const c of children) c.kill('SIGKILL');
});

async function freePort(): Promise<number> {
  const p = await listen(() => {});
  await new Promise<void>((r) => servers.pop()!.close(() => r()));
  return p;
}

describe('the TCP outcome tells the layers apart', () => {
  it('refused: nothing listens (RST)', async () => {
    const r = await probe({ host: '127.0.0.1', port: await freePort() }, opts);
    expect(r.tcp.outcome).toBe('refused');
    expect(r.attempts).toEqual([]);
    expect(judgeProbe(r).map((f) => f.checkId)).toEqual(['rdp-listener-refused']);
  });

  it('timeout: the SYN is dropped (a listener whose accept queue is full, as a firewall would drop it)', async () => {
    // python3: listen(0) and never accept; the kernel queues one connection, then drops further SYNs.
    const child = spawn('python3', ['-c', 'import socket,sys,time\ns=socket.socket()\ns.bind(("127.0.0.1",0))\ns.listen(0)\nprint(s.getsockname()[1],flush=True)\ntime.sleep(60)']);
    children.push(child);
    const port = Number((await new Promise<Buffer>((r) => child.stdout!.once('data', r))).toString().trim());
    const fillers = [connect(port, '127.0.0.1'), connect(port, '127.0.0.1'), connect(port, '127.0.0.1')];
    fillers.forEach((f) => f.on('error', () => {}));
    await new Promise((r) => setTimeout(r, 200));
    const r = await probe({ host: '127.0.0.1', port }, opts);
    fillers.forEach((f) => f.destroy());
    expect(r.tcp.outcome).toBe('timeout');
    expect(judgeProbe(r).map((f) => f.checkId)).toEqual(['rdp-listener-timeout']);
  });

  it('an HTTP server on the port: open, not RDP', async () => {
    const http = createHttpServer((_q, res) => res.end('hello'));
    servers.push(http);
    const port = await new Promise<number>((r) => http.listen(0, '127.0.0.1', () => r((http.address() as { port: number }).port)));
    const r = await probe({ host: '127.0.0.1', port }, opts);
    expect(r).toMatchObject({ tcp: { outcome: 'open' }, service: 'not-rdp' });
    expect(r.notes.join()).toMatch(/not RDP: a text protocol answered \("HTTP\/1\.1 400 Bad Request"\)/);
    expect(judgeProbe(r).map((f) => f.checkId)).toEqual(['rdp-listener-not-rdp']);
  });

  it('accepts and never answers: no-answer, after one bounded wait', async () => {
    const port = await listen(() => {});
    const t0 = performance.now();
    const r = await probe({ host: '127.0.0.1', port }, opts);
    expect(r.service).toBe('no-answer');
    expect(r.attempts).toHaveLength(1);
    expect(performance.now() - t0).toBeLessThan(5000); // one timeout, not four
    expect(judgeProbe(r).map((f) => f.checkId)).toEqual(['rdp-listener-no-answer']);
  });

  it('closes every connection without a word: closed', async () => {
    const port = await listen((s) => s.end());
    const r = await probe({ host: '127.0.0.1', port }, opts);
    expect(r.service).toBe('closed');
  });

  it('half a Connection Confirm, then close: truncated, not RDP', async () => {
    const port = await listen((s) => s.once('data', () => s.end(Buffer.from([3, 0, 0, 19, 14, 0xd0]))));
    const r = await probe({ host: '127.0.0.1', port }, opts);
    expect(r.service).toBe('not-rdp');
    expect(r.notes.join()).toMatch(/truncated: the server closed after 6 byte\(s\)/);
  });

  it('reset right after the request', async () => {
    const port = await listen((s) => s.once('data', () => s.resetAndDestroy()));
    const r = await probe({ host: '127.0.0.1', port }, opts);
    expect(r.attempts.every((a) => a.answer.kind === 'reset')).toBe(true);
    expect(r.service).toBe('closed');
  });
});

describe('what the server accepts, and its certificate', () => {
  it('a TLS-only server (SSL_REQUIRED to RDP, TLS to everything else): NLA not required, certificate read', async () => {
    const port = await fakeRdp((req) => (req === 0 ? fail(1) : rsp(1)), cert);
    const r: ProbeResult = await probe({ host: '127.0.0.1', port }, opts);
    expect(r.accepts).toEqual({ rdp: false, tls: true, credssp: false, credsspEarlyUserAuth: false });
    expect(r.nlaRequired).toBe(false);
    expect(r.failures).toEqual([{ requested: 0, code: 1, name: 'SSL_REQUIRED_BY_SERVER' }]);
    expect(r.tls?.certificate).toMatchObject({ subject: 'CN=win-test-01', issuer: 'CN=win-test-01', selfSigned: true, keyType: 'rsa', keyBits: 2048, expired: false, sha256: cert.fingerprint });
    expect(r.tls?.version).toMatch(/^TLSv1\.[23]$/);
    expect(judgeProbe(r).map((f) => f.checkId).sort()).toEqual(['rdp-listener-certificate-self-signed', 'rdp-listener-nla-not-required']);
  });

  it('an NLA-only server: HYBRID_REQUIRED to RDP and TLS, CredSSP selected', async () => {
    const port = await fakeRdp((req) => (req & 2 ? rsp(2) : fail(5)), cert);
    const r = await probe({ host: '127.0.0.1', port }, opts);
    expect(r.accepts).toEqual({ rdp: false, tls: false, credssp: true, credsspEarlyUserAuth: false });
    expect(r.nlaRequired).toBe(true);
    expect(judgeProbe(r).map((f) => f.checkId)).toEqual(['rdp-listener-certificate-self-signed']);
  });

  it('the certificate seen from a later date: expired, high', async () => {
    const port = await fakeRdp((req) => (req & 2 ? rsp(2) : fail(5)), cert);
    const r = await probe({ host: '127.0.0.1', port }, { ...opts, now: () => new Date('2040-01-01T00:00:00Z') });
    expect(r.tls?.certificate?.expired).toBe(true);
    expect(judgeProbe(r).find((f) => f.checkId === 'rdp-listener-certificate-expired')).toMatchObject({ severity: 'high' });
  });

  it('a 1024-bit RSA certificate: weak key (medium)', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'rdpcloud-probe-'));
    await run('openssl', ['req', '-x509', '-newkey', 'rsa:1024', '-nodes', '-keyout', join(dir, 'k.pem'), '-out', join(dir, 'c.pem'), '-days', '365', '-subj', '/CN=old-host']);
    const weak = { key: await readFile(join(dir, 'k.pem')), cert: await readFile(join(dir, 'c.pem')) };
    const port = await fakeRdp((req) => (req & 2 ? rsp(2) : fail(5)), weak);
    const r = await probe({ host: '127.0.0.1', port }, opts);
    expect(r.tls?.certificate).toMatchObject({ subject: 'CN=old-host', keyBits: 1024 });
    expect(judgeProbe(r).find((f) => f.checkId === 'rdp-listener-weak-key')).toMatchObject({ severity: 'medium', message: 'certificate key: RSA 1024 bits' });
  });

  it('standard RDP accepted: legacy security (high) and no NLA', async () => {
    const port = await fakeRdp(() => rsp(0));
    const r = await probe({ host: '127.0.0.1', port }, opts);
    expect(r.accepts).toEqual({ rdp: true, tls: false, credssp: false, credsspEarlyUserAuth: false });
    expect(r.notes.join()).toMatch(/asked for TLS, the server chose standard RDP security instead/);
    expect(judgeProbe(r).map((f) => [f.checkId, f.severity])).toEqual([
      ['rdp-listener-legacy-security', 'high'],
      ['rdp-listener-nla-not-required', 'medium'],
    ]);
  });
});
