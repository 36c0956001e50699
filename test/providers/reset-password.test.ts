// `rdpcloud reset-password`, GCE's protocol end to end: the real compute client writes the RSA key to windows-keys,
// the fake's simulated guest agent answers on serial port 4 with the new password RSA-OAEP-encrypted, rdpcloud
// decrypts it and shows it once - never in stderr, never in a file without mode 0600.
import { mkdtemp, readFile, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { describe, expect, it } from 'vitest';
import { startFakeGce } from '../fakes/gce/server.js';
import { gcpEnv, rdpcloud } from '../cli/helpers.js';
import { demoWorld } from '../demo/gcp-world.js';

const env = (port: number) => ({ ...gcpEnv(port), RDPCLOUD_RESET_POLL_MS: '20' });

describe('reset-password', () => {
  it('writes the key, reads the answer from COM4, decrypts the password the agent set, into a 0600 file', async () => {
    const fake = await startFakeGce(demoWorld(), { token: 'test-token', windowsPasswordFor: () => 'Xy7!demo-Secret#1' });
    try {
      const dir = await mkdtemp(`${tmpdir()}/rdpcloud-reset-`);
      // The agent ignores keys whose expireOn has passed: rdpcloud runs on the real clock here.
      const r = await rdpcloud(['reset-password', 'win-web-01', '--project', 'acme-prod', '--user', 'ops-admin', '--output', `${dir}/pw.txt`, '--yes', '--timeout', '5'], env(fake.port), { now: () => new Date() });
      expect(r.code, r.stderr).toBe(0);
      expect((await readFile(`${dir}/pw.txt`, 'utf8')).trim()).toBe('Xy7!demo-Secret#1');
      expect((await stat(`${dir}/pw.txt`)).mode & 0o777).toBe(0o600);
      expect(r.stdout + r.stderr).not.toContain('Xy7!demo-Secret#1');
      const written = fake.metadataWrites.at(-1)!.items.find((i) => i.key === 'windows-keys')!.value;
      const entry = JSON.parse(written.split('\n').at(-1)!);
      expect(Object.keys(entry)).toEqual(['email', 'expireOn', 'exponent', 'hashFunction', 'modulus', 'userName']);
      expect(entry).toMatchObject({ userName: 'ops-admin', exponent: 'AQAB', hashFunction: 'sha256' });
      expect(fake.windowsPasswords).toEqual([expect.objectContaining({ instance: 'win-web-01', userName: 'ops-admin' })]);
      // The other metadata (serial-port-enable, ssh-keys) is kept as it was.
      expect(fake.metadataWrites.at(-1)!.items.map((i) => i.key)).toEqual(['windows-keys']);
    } finally {
      await fake.close();
    }
  });

  it('refuses to print the password to a pipe, and asks for consent', async () => {
    const fake = await startFakeGce(demoWorld(), { token: 'test-token' });
    try {
      const pipe = await rdpcloud(['reset-password', 'win-web-01', '--project', 'acme-prod', '--user', 'ops-admin', '--yes'], env(fake.port));
      expect(pipe.code).toBe(2);
      expect(pipe.stderr).toMatch(/shown only on a terminal or written to --output/);
      const dir = await mkdtemp(`${tmpdir()}/rdpcloud-reset-`);
      const noYes = await rdpcloud(['reset-password', 'win-web-01', '--project', 'acme-prod', '--user', 'ops-admin', '--output', `${dir}/pw.txt`], env(fake.port));
      expect(noYes.code).toBe(2);
      expect(noYes.stderr).toMatch(/nothing done: confirm with --yes/);
      expect(fake.metadataWrites).toHaveLength(0);
    } finally {
      await fake.close();
    }
  });

  it("a clock far behind: the agent ignores the expired key, and the error says to check the clock", async () => {
    const fake = await startFakeGce(demoWorld(), { token: 'test-token' });
    try {
      const dir = await mkdtemp(`${tmpdir()}/rdpcloud-reset-`);
      const r = await rdpcloud(['reset-password', 'win-web-01', '--project', 'acme-prod', '--user', 'ops-admin', '--output', `${dir}/pw.txt`, '--yes', '--timeout', '0.3'], env(fake.port), { now: () => new Date(Date.now() - 3_600_000) });
      expect(r.code).toBe(2);
      expect(r.stderr).toMatch(/check that this machine's clock is right/);
    } finally {
      await fake.close();
    }
  });

  it('no guest agent on COM4: a clear error after the timeout', async () => {
    const fake = await startFakeGce(demoWorld(), { token: 'test-token', windowsAgent: false });
    try {
      const dir = await mkdtemp(`${tmpdir()}/rdpcloud-reset-`);
      const r = await rdpcloud(['reset-password', 'win-web-01', '--project', 'acme-prod', '--user', 'ops-admin', '--output', `${dir}/pw.txt`, '--yes', '--timeout', '0.3'], env(fake.port));
      expect(r.code).toBe(2);
      expect(r.stderr).toMatch(/no guest agent answered on serial port 4/);
    } finally {
      await fake.close();
    }
  });

  it('the user name must differ from the instance name, and a stopped VM is refused', async () => {
    const fake = await startFakeGce(demoWorld(), { token: 'test-token' });
    try {
      const dir = await mkdtemp(`${tmpdir()}/rdpcloud-reset-`);
      const same = await rdpcloud(['reset-password', 'win-web-01', '--project', 'acme-prod', '--user', 'win-web-01', '--output', `${dir}/a`, '--yes'], env(fake.port));
      expect(same.stderr).toMatch(/must differ from the instance name/);
      const stopped = await rdpcloud(['reset-password', 'win-web-02', '--project', 'acme-prod', '--user', 'ops', '--output', `${dir}/b`, '--yes'], env(fake.port));
      expect(stopped.stderr).toMatch(/TERMINATED/);
    } finally {
      await fake.close();
    }
  });

  it('--output is relative to the run\'s working directory; a path it cannot write is refused before anything changes', async () => {
    const fake = await startFakeGce(demoWorld(), { token: 'test-token', windowsPasswordFor: () => 'Rel4tive!Secret' });
    try {
      const dir = await mkdtemp(`${tmpdir()}/rdpcloud-reset-`);
      const r = await rdpcloud(['reset-password', 'win-web-01', '--project', 'acme-prod', '--user', 'ops-admin', '--output', 'secrets/pw.txt', '--yes', '--timeout', '5'], env(fake.port), { now: () => new Date(), cwd: dir });
      expect(r.code, r.stderr).toBe(0);
      expect((await readFile(`${dir}/secrets/pw.txt`, 'utf8')).trim()).toBe('Rel4tive!Secret');
      expect((await stat(`${dir}/secrets/pw.txt`)).mode & 0o777).toBe(0o600);
      const writes = fake.metadataWrites.length;
      // A regular file where a folder should be: nothing can be written below it.
      await writeFile(`${dir}/plain`, 'x');
      const bad = await rdpcloud(['reset-password', 'win-web-01', '--project', 'acme-prod', '--user', 'ops-admin', '--output', 'plain/pw.txt', '--yes', '--timeout', '5'], env(fake.port), { cwd: dir });
      expect(bad.code).toBe(2);
      expect(bad.stderr).toMatch(/--output "plain\/pw\.txt": cannot be written \(\w+\); nothing was changed/);
      expect(fake.metadataWrites).toHaveLength(writes);
    } finally {
      await fake.close();
    }
  });

  it('declined: an older password file keeps what it had, and no empty file is left where there was none', async () => {
    const fake = await startFakeGce(demoWorld(), { token: 'test-token' });
    try {
      const dir = await mkdtemp(`${tmpdir()}/rdpcloud-reset-`);
      await writeFile(`${dir}/old.txt`, 'the-previous-password\n', { mode: 0o600 });
      const keep = await rdpcloud(['reset-password', 'win-web-01', '--project', 'acme-prod', '--user', 'ops-admin', '--output', `${dir}/old.txt`], env(fake.port));
      expect(keep.code).toBe(2);
      expect(await readFile(`${dir}/old.txt`, 'utf8')).toBe('the-previous-password\n');
      const none = await rdpcloud(['reset-password', 'win-web-01', '--project', 'acme-prod', '--user', 'ops-admin', '--output', `${dir}/new.txt`], env(fake.port));
      expect(none.code).toBe(2);
      await expect(stat(`${dir}/new.txt`)).rejects.toThrow(/ENOENT/);
      expect(fake.metadataWrites).toHaveLength(0);
    } finally {
      await fake.close();
    }
  });
});
