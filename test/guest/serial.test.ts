// diagnose and fix end to end: the real compute client publishes the ephemeral key in ssh-keys (fake GCE), the real
// ssh2 client reaches the fake serial gateway (host key pinned), drives SAC and a cmd channel over the model of a
// Windows guest, and leaves every broken guest healthy (or reports the GPO case), touches nothing on a healthy one,
// and never shows the password. Faults from the field guide's layer 2.
import { mkdtemp, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { afterEach, describe, expect, it } from 'vitest';
import { startFakeGce, type FakeGce } from '../fakes/gce/server.js';
import { startFakeSerialConsole, type FakeSerialConsole } from '../fakes/sac/server.js';
import { applyFault, clientChanges, healthyGuest, rdpHealth, type GuestFault } from '../fakes/sac/guest.js';
import { gcpEnv, rdpcloud } from '../cli/helpers.js';
import { demoWorld } from '../demo/gcp-world.js';

const PASSWORD = 'Adm1n-Passw0rd!';
const target = { project: 'acme-prod', zone: 'us-central1-a', instance: 'win-web-01' };
let open: { gce: FakeGce; sac: FakeSerialConsole; timer: NodeJS.Timeout }[] = [];

async function world(fault?: GuestFault, sacOpts: Parameters<typeof startFakeSerialConsole>[0] = {}, serialOff = false) {
  const guest = healthyGuest();
  if (fault) applyFault(guest, fault);
  const gw = demoWorld();
  if (serialOff) gw.projects['acme-prod'].commonInstanceMetadata = { items: [] };
  const gce = await startFakeGce(gw, { token: 'test-token' });
  const sac = await startFakeSerialConsole({ ...target, guest, ...sacOpts });
  // The gateway learns keys from metadata a little later, as the real one does.
  const seen = new Set<string>();
  const timer = setInterval(() => {
    for (const w of gce.metadataWrites) {
      for (const line of (w.items.find((i) => i.key === 'ssh-keys')?.value ?? '').split('\n')) {
        const m = /^([^:]+):(ssh-ed25519 \S+)/.exec(line);
        if (m && !seen.has(line)) {
          seen.add(line);
          sac.authorizeKey(m[1], m[2]);
        }
      }
    }
  }, 20);
  open.push({ gce, sac, timer });
  const env = {
    ...gcpEnv(gce.port),
    RDPCLOUD_SERIAL_GATEWAY: `127.0.0.1:${sac.port}`,
    RDPCLOUD_SERIAL_HOST_KEY: sac.hostKey.openssh,
    RDPCLOUD_WINDOWS_PASSWORD: PASSWORD,
    RDPCLOUD_SERIAL_CONNECT_BACKOFF_MS: '50',
    RDPCLOUD_SERIAL_CONNECT_ATTEMPTS: '20',
  };
  return { gce, sac, guest, env };
}

afterEach(async () => {
  for (const o of open) {
    clearInterval(o.timer);
    await o.sac.close();
    await o.gce.close();
  }
  open = [];
});

// Fixes need an administrator (the model answers "Access is denied" to anyone else, as Windows does).
const args = (cmd: 'diagnose' | 'fix', ...extra: string[]) => [cmd, 'win-web-01', '--project', 'acme-prod', '--user', 'Administrator', '--yes', '--timeout', '20', ...extra];

describe('diagnose over the serial console', () => {
  it('a healthy guest: every check ok, nothing changed, the key removed again, no password anywhere', async () => {
    const w = await world();
    const dir = await mkdtemp(`${tmpdir()}/rdpcloud-sac-`);
    const r = await rdpcloud(args('diagnose', '--transcript', `${dir}/t.log`, '--format', 'json'), w.env);
    expect(r.code, r.stderr + r.stdout).toBe(0);
    const d = JSON.parse(r.stdout);
    expect(d.guest.checks.filter((c: { status: string }) => c.status === 'problem')).toEqual([]);
    expect(clientChanges(w.guest)).toEqual([]);
    const keys = w.gce.metadataWrites.map((x) => x.items.find((i) => i.key === 'ssh-keys')?.value ?? '');
    expect(keys[0]).toMatch(/^rdpcloud:ssh-ed25519 \S+ google-ssh \{"userName":"rdpcloud","expireOn":"/m);
    expect(keys.at(-1)).not.toMatch(/rdpcloud:/); // removed at the end
    const transcript = await readFile(`${dir}/t.log`, 'utf8');
    for (const text of [r.stdout, r.stderr, transcript]) expect(text).not.toContain(PASSWORD);
    expect(w.sac.sessions[0].sacLines.every((l) => /^(cmd|ch -sn Cmd\d{4}|)$/.test(l.line ?? ''))).toBe(true);
  });

  it.each([
    ['rdpDisabled', 'fdeny'],
    ['serviceStopped', 'termservice'],
    ['firewallRuleOff', 'firewall'],
    ['portChanged', 'port'],
    ['securityLayerRdp', 'security-layer'],
    ['nlaOff', 'nla'],
  ] as const)('%s is diagnosed (%s: problem) and nothing is changed', async (fault, id) => {
    const w = await world(fault);
    const r = await rdpcloud(args('diagnose', '--format', 'json'), w.env);
    expect(r.code, r.stderr).toBe(1);
    const d = JSON.parse(r.stdout);
    expect(d.guest.checks.find((c: { id: string }) => c.id === id).status).toBe('problem');
    expect(clientChanges(w.guest)).toEqual([]);
  });
});

describe('fix over the serial console', () => {
  it.each([
    ['rdpDisabled', []],
    ['serviceStopped', []],
    ['firewallRuleOff', []],
    ['portChanged', ['--restart-service']],
    ['securityLayerRdp', ['--restart-service']],
    ['nlaOff', []],
  ] as const)('%s: fixed, verified healthy, and a second run changes nothing', async (fault, extra) => {
    const w = await world(fault);
    const r = await rdpcloud(args('fix', ...extra, '--format', 'json'), w.env);
    expect(r.code, r.stderr + r.stdout).toBe(0);
    expect(rdpHealth(w.guest, 'alice').ok).toBe(true);
    const report = JSON.parse(r.stdout);
    expect(report.steps.every((s: { status: string }) => s.status === 'applied')).toBe(true);
    expect(report.after.filter((c: { status: string }) => c.status === 'problem')).toEqual([]);
    for (const text of [r.stdout, r.stderr]) expect(text).not.toContain(PASSWORD);
    const changes = clientChanges(w.guest).length;
    const again = await rdpcloud(args('fix', ...extra, '--format', 'json'), w.env);
    expect(again.code, again.stderr).toBe(0);
    expect(JSON.parse(again.stdout).steps).toEqual([]);
    expect(clientChanges(w.guest).length).toBe(changes);
  });

  it('slow output in small chunks: diagnosed and fixed all the same', async () => {
    const w = await world('rdpDisabled', { slowOutput: { delayMs: 1, chunkBytes: 24 } });
    const r = await rdpcloud(args('fix'), w.env);
    expect(r.code, r.stderr).toBe(0);
    expect(rdpHealth(w.guest, 'alice').ok).toBe(true);
  });

  it('a registry change under RDP-Tcp is preceded by its export', async () => {
    const w = await world('portChanged');
    const r = await rdpcloud(args('fix', '--restart-service', '--format', 'json'), w.env);
    const steps = JSON.parse(r.stdout).steps.map((s: { id: string }) => s.id);
    expect(steps[0]).toBe('backup');
    expect(Object.keys(w.guest.files).some((f) => /rdpcloud-rdp-tcp-.*\.reg$/.test(f))).toBe(true);
  });

  it('a GPO-enforced deny is reported, not fought (exit 1)', async () => {
    const w = await world('gpoDeny');
    const r = await rdpcloud(args('fix'), w.env);
    expect(r.code).toBe(1);
    expect(r.stdout + r.stderr).toMatch(/Group Policy/);
    expect(clientChanges(w.guest)).toEqual([]);
  });

  it('another program on the port is reported, not killed (exit 1)', async () => {
    const w = await world('portConflict');
    const r = await rdpcloud(args('fix'), w.env);
    expect(r.code).toBe(1);
    expect(r.stdout + r.stderr).toMatch(/another program \(java\.exe\)/);
    expect(clientChanges(w.guest)).toEqual([]);
  });

  it('--dry-run shows the plan and changes nothing', async () => {
    const w = await world('rdpDisabled');
    const r = await rdpcloud(args('fix', '--dry-run'), w.env);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('reg add "HKLM\\SYSTEM\\CurrentControlSet\\Control\\Terminal Server" /v fDenyTSConnections /t REG_DWORD /d 0 /f');
    expect(clientChanges(w.guest)).toEqual([]);
  });

  it('a dropped connection mid-fix leaves an exact account; the next run diagnoses again and finishes', async () => {
    // How many command lines a diagnosis takes, so the connection drops right after the first fix is typed.
    const probe = await world('serviceStopped');
    await rdpcloud(args('diagnose'), probe.env);
    const lines = probe.guest.journal.commands.length;
    const w = await world('serviceStopped', { dropAfterCommands: lines + 1 });
    const r = await rdpcloud(args('fix', '--format', 'json'), w.env);
    expect(r.code).toBe(2);
    const report = JSON.parse(r.stdout);
    expect(report.steps.map((s: { status: string }) => s.status)).toContain('unknown');
    const again = await rdpcloud(args('fix', '--format', 'json'), w.env);
    expect(again.code, again.stderr).toBe(0);
    expect(rdpHealth(w.guest, 'alice').ok).toBe(true);
  });
});

describe('serial console errors name the cause and the remedy', () => {
  it('a non-administrator: the steps fail with Access is denied, reported as such (exit 1)', async () => {
    const w = await world('rdpDisabled');
    const r = await rdpcloud(['fix', 'win-web-01', '--project', 'acme-prod', '--user', 'alice', '--yes', '--format', 'json'], { ...w.env, RDPCLOUD_WINDOWS_PASSWORD: 'Al1ce-Passw0rd!' });
    expect(r.code).toBe(1);
    expect(JSON.parse(r.stdout).steps[0]).toMatchObject({ status: 'failed', detail: expect.stringMatching(/Access is denied/) });
    expect(r.stdout).not.toContain('Al1ce-Passw0rd!');
  });

  it('a wrong Windows password', async () => {
    const w = await world();
    const r = await rdpcloud(args('diagnose'), { ...w.env, RDPCLOUD_WINDOWS_PASSWORD: 'wrong-password' });
    expect(r.code).toBe(2);
    expect(r.stdout + r.stderr).toMatch(/Windows refused the login for Administrator/);
    expect(r.stdout + r.stderr).not.toContain('wrong-password');
  });

  it('EMS off: a silent console', async () => {
    const w = await world(undefined, { emsOff: true });
    const r = await rdpcloud(args('diagnose', '--timeout', '1'), w.env);
    expect(r.code).toBe(2);
    expect(r.stdout).toMatch(/Emergency Management Services \(EMS\) is probably off/);
  });

  it('the report reads edge -> network -> listener -> guest: --probe-address asks a listener on loopback', async () => {
    const w = await world();
    const { createServer } = await import('node:net');
    // An RDP listener that insists on NLA (HYBRID_REQUIRED_BY_SERVER to anything without CredSSP), no TLS offered.
    const srv = createServer((s) => s.once('data', (req: Buffer) => s.end(Buffer.from([3, 0, 0, 19, 14, 0xd0, 0, 0, 0, 0, 0, 3, 0, 8, 0, req.readUInt32LE(req.length - 4) & 2 ? 2 : 5, 0, 0, 0]))));
    const port = await new Promise<number>((r) => srv.listen(0, '127.0.0.1', () => r((srv.address() as { port: number }).port)));
    try {
      const r = await rdpcloud(args('diagnose', '--probe-address', `127.0.0.1:${port}`), w.env);
      expect(r.code, r.stderr + r.stdout).toBe(0);
      const at = (s: string) => r.stdout.indexOf(s);
      expect(at('cloud path (audit engine):')).toBeGreaterThanOrEqual(0);
      expect(at('listener (probed from this machine):')).toBeGreaterThan(at('cloud path (audit engine):'));
      expect(at('guest (serial console')).toBeGreaterThan(at('listener (probed from this machine):'));
      expect(r.stdout).toMatch(/asked 0x01 \(TLS\): refused: HYBRID_REQUIRED_BY_SERVER/);
      // Without --probe-address the instance's public address is not probed from a test: it says so.
      const plain = await rdpcloud(args('diagnose'), w.env);
      expect(plain.stdout).toMatch(/34\.118\.20\.11:3389 \(gcp:acme-prod\/us-central1-a\/win-web-01\): not probed - not probed: RDPCLOUD_PROBE_LOOPBACK_ONLY/);
    } finally {
      srv.close();
    }
  });

  it('a gateway host key that is not the pinned one: no connection', async () => {
    const w = await world();
    const r = await rdpcloud(args('diagnose'), { ...w.env, RDPCLOUD_SERIAL_HOST_KEY: 'SHA256:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA' });
    expect(r.code).toBe(2);
    expect(r.stdout).toMatch(/presented host key SHA256:.*not the pinned/);
  });

  it('serial port access off in metadata: said before any key is written', async () => {
    const w = await world();
    const env = { ...w.env };
    const r = await rdpcloud(['diagnose', 'win-db-01', '--project', 'acme-iap', '--user', 'alice', '--yes'], env);
    void r;
    // acme-iap has no serial-port-enable: nothing is written to its metadata
    expect(w.gce.metadataWrites.filter((m) => m.project === 'acme-iap')).toEqual([]);
  });

  it('serial-port-enable off: refused without --enable-serial-port; with it, on for the run and unset again after', async () => {
    const off = await world(undefined, {}, true);
    const refused = await rdpcloud(args('diagnose'), off.env);
    expect(refused.code).toBe(2);
    expect(refused.stdout).toMatch(/serial port access is off for win-web-01.*--enable-serial-port/);
    expect(off.gce.metadataWrites).toEqual([]);
    const r = await rdpcloud(args('diagnose', '--enable-serial-port'), off.env);
    expect(r.code, r.stderr + r.stdout).toBe(0);
    expect(r.stderr).toMatch(/turn serial-port-enable on for win-web-01 for this run/);
    expect(off.gce.metadataWrites[0].items).toContainEqual({ key: 'serial-port-enable', value: 'TRUE' });
    expect(off.gce.metadataWrites.at(-1)!.items.find((i) => i.key === 'serial-port-enable')).toBeUndefined();
  });

  it('--nla-off turns NLA off as a diagnosis step, exports RDP-Tcp first, and says to turn it back on', async () => {
    const w = await world();
    const r = await rdpcloud(args('fix', '--nla-off', '--format', 'json'), w.env);
    const steps = JSON.parse(r.stdout).steps.map((x: { id: string }) => x.id);
    expect(steps).toEqual(['backup', 'nla-off']);
    expect(rdpHealth(w.guest).nla).toBe(false);
    expect(r.stderr).toMatch(/NLA is off on win-web-01 now/);
    const back = await rdpcloud(args('fix', '--format', 'json'), w.env);
    expect(back.code).toBe(0);
    expect(rdpHealth(w.guest).nla).toBe(true);
  });

  it('OS Login: the key goes to the OS Login profile and the POSIX user logs in; ssh-keys stays untouched', async () => {
    const guest = healthyGuest();
    const gw = demoWorld();
    gw.projects['acme-prod'].commonInstanceMetadata!.items.push({ key: 'enable-oslogin', value: 'TRUE' });
    const gce = await startFakeGce(gw, { token: 'test-token' });
    const sac = await startFakeSerialConsole({ ...target, guest });
    const timer = setInterval(() => gce.osLoginKeys.forEach((k) => sac.authorizeKey(k.posixUser, k.key)), 20);
    open.push({ gce, sac, timer });
    const env = {
      ...gcpEnv(gce.port),
      RDPCLOUD_GCP_OSLOGIN_ENDPOINT: `http://127.0.0.1:${gce.port}`,
      RDPCLOUD_GCP_ACCOUNT: 'ops@acme.example',
      RDPCLOUD_SERIAL_GATEWAY: `127.0.0.1:${sac.port}`,
      RDPCLOUD_SERIAL_HOST_KEY: sac.hostKey.openssh,
      RDPCLOUD_WINDOWS_PASSWORD: PASSWORD,
      RDPCLOUD_SERIAL_CONNECT_BACKOFF_MS: '50',
    };
    const r = await rdpcloud(args('diagnose'), env);
    expect(r.code, r.stderr + r.stdout).toBe(0);
    expect(r.stderr).toMatch(/OS Login profile of ops@acme\.example/);
    expect(sac.sessions[0].user).toBe('ops');
    expect(gce.metadataWrites).toEqual([]);
    expect(gce.osLoginKeys).toEqual([]); // removed again
    expect(gce.requests.map((q) => q.op)).toEqual(expect.arrayContaining(['oslogin.importSshPublicKey', 'oslogin.deleteSshPublicKey']));
  });

  it('without --yes on a pipe: the plan and exit 2, nothing written', async () => {
    const w = await world();
    const r = await rdpcloud(['diagnose', 'win-web-01', '--project', 'acme-prod', '--user', 'alice'], w.env);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/add a temporary SSH key/);
    expect(w.gce.metadataWrites).toEqual([]);
  });
});
