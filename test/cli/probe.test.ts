// `rdpcloud probe` end to end through the CLI: real xrdp on 127.0.0.1, every format, --from an inventory
// (whose public addresses the loopback-only guard of the tests refuses to touch), `explain --probe-address`
// reading edge -> network -> listener, and the usage errors with their exit codes.
import { mkdtemp, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { rdpcloud } from './helpers.js';
import { makeCertificate, missingTools, scratch, startXrdp, type Running } from '../probe/servers.js';

const suite = missingTools().length && process.env.RDPCLOUD_SKIP_REAL_RDP ? describe.skip : describe;

suite('rdpcloud probe', () => {
  let xrdp: Running;
  beforeAll(async () => {
    xrdp = await startXrdp('negotiate', makeCertificate(scratch(), 'win-probe-01'));
  });
  afterAll(async () => {
    await xrdp?.stop();
  });

  it('a table for a person: what the listener accepts, each question, the certificate, the findings; exit 1 on the high one', async () => {
    const r = await rdpcloud(['probe', `127.0.0.1:${xrdp.port}`]);
    expect(r.code, r.stderr).toBe(1); // legacy RDP security is high
    expect(r.stdout).toMatch(new RegExp(`127\\.0\\.0\\.1:${xrdp.port}: open in \\d+ ms`));
    expect(r.stdout).toMatch(/accepts: {5}standard RDP security, TLS\n/);
    expect(r.stdout).toMatch(/NLA: {9}not required/);
    expect(r.stdout).toMatch(/asked 0x03 \(TLS \+ CredSSP \(NLA\)\): selected TLS/);
    expect(r.stdout).toMatch(/certificate: CN=win-probe-01; issuer itself \(self-signed\)/);
    expect(r.stdout).toMatch(/HIGH {3}rdp-listener-legacy-security/);
    expect(r.stdout).toMatch(/1 listener\(s\) probed, 1 speak RDP; 3 finding\(s\)/);
  });

  it('--format json, and every other format from -o extensions', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'rdpcloud-probe-cli-'));
    const r = await rdpcloud(['probe', `127.0.0.1:${xrdp.port}`, '--format', 'json', '-o', 'p.sarif', '-o', 'p.xml', '-o', 'p.md', '-o', 'p.csv', '-o', 'p.ocsf.json', '--fail-on', 'none'], {}, { cwd: dir });
    expect(r.code).toBe(0);
    const report = JSON.parse(r.stdout);
    expect(report.probes[0]).toMatchObject({ service: 'rdp', accepts: { rdp: true, tls: true, credssp: false }, nlaRequired: false });
    expect(report.probes[0].findings.map((f: { policyId: string }) => f.policyId)).toEqual(['rdp-listener-legacy-security', 'rdp-listener-nla-not-required', 'rdp-listener-certificate-self-signed']);
    const sarif = JSON.parse(await readFile(join(dir, 'p.sarif'), 'utf8'));
    expect(sarif.runs[0].results.map((x: { ruleId: string }) => x.ruleId)).toContain('rdp-listener-legacy-security');
    const ocsf = JSON.parse(await readFile(join(dir, 'p.ocsf.json'), 'utf8'));
    expect(ocsf[0]).toMatchObject({ class_uid: 2004, metadata: { profiles: [] }, resources: [{ type: 'Host', name: `127.0.0.1:${xrdp.port}` }] });
    expect(ocsf[0].cloud).toBeUndefined();
    expect(await readFile(join(dir, 'p.xml'), 'utf8')).toMatch(/<testcase name="host:127\.0\.0\.1:\d+" classname="rdpcloud\.rdp-listener-legacy-security"/);
  });

  it('explain --probe-address: edge -> network -> listener in one report', async () => {
    const r = await rdpcloud(['explain', 'win-web-01', '--from', 'examples/demo-inventory.json', '--probe-address', `127.0.0.1:${xrdp.port}`]);
    expect(r.code, r.stderr).toBe(0);
    const network = r.stdout.indexOf('from internet to tcp:3389: REACHABLE');
    const listener = r.stdout.indexOf('listener (probed from this machine):');
    expect(network).toBeGreaterThan(0);
    expect(listener).toBeGreaterThan(network);
    expect(r.stdout.slice(listener)).toMatch(new RegExp(`127\\.0\\.0\\.1:${xrdp.port} \\(gcp:acme-prod/us-central1-a/win-web-01\\): open`));
  });
});

describe('rdpcloud probe: what it refuses', () => {
  it.each([
    ['no target', ['probe'], /nothing to probe: name host\[:port\] targets, or --from inventory\.json/],
    ['a target that is not one', ['probe', 'http://x'], /"http:\/\/x": give a host, host:port or \[IPv6\]:port/],
    ['a port out of range', ['probe', '127.0.0.1:70000'], /--port "70000"/],
    ['a timeout of 0', ['probe', '127.0.0.1', '--timeout', '0'], /--timeout "0": milliseconds from 50 to 120000/],
  ])('%s: exit 2', async (_n, argv, stderr) => {
    const r = await rdpcloud(argv);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(stderr);
  });

  it('--from the demo inventory: its public addresses are never probed from a test (exit 3, each says why)', async () => {
    const r = await rdpcloud(['probe', '--from', 'examples/demo-inventory.json', '--format', 'json']);
    expect(r.code).toBe(3);
    const report = JSON.parse(r.stdout);
    expect(report.probes.length).toBeGreaterThan(10);
    for (const p of report.probes) expect(p.tcp).toEqual({ outcome: 'error', ms: 0, error: 'not probed: RDPCLOUD_PROBE_LOOPBACK_ONLY allows loopback targets only' });
    expect(report.probes.find((p: { instance?: { name: string } }) => p.instance?.name === 'win-web-01')).toMatchObject({ host: '34.118.20.11', port: 3389 });
  });
});
