// The SAC driver against the simulator, for the traps the end-to-end runs do not reach on their own: an idle
// channel that locks, slow output in small chunks, guest-agent lines on COM1, and what is typed at SAC>.
import { afterEach, describe, expect, it } from 'vitest';
import { startFakeSerialConsole, type FakeSerialConsole } from '../fakes/sac/server.js';
import { healthyGuest } from '../fakes/sac/guest.js';
import { SacDriver } from '../../providers/gcp/serial/sac.js';
import { ephemeralKey, openSerialConsole } from '../../providers/gcp/serial/session.js';

const target = { project: 'acme-prod', zone: 'us-central1-a', instance: 'win-web-01', user: 'rdpcloud' };
let fake: FakeSerialConsole | undefined;
afterEach(async () => {
  await fake?.close();
  fake = undefined;
});

async function connect(opts: Parameters<typeof startFakeSerialConsole>[0]) {
  fake = await startFakeSerialConsole({ ...target, guest: healthyGuest(), ...opts });
  const key = ephemeralKey('test');
  fake.authorizeKey('rdpcloud', key.publicKey);
  const s = await openSerialConsole(target, { host: '127.0.0.1', port: fake.port, hostKey: fake.hostKey.openssh, privateKey: key.privateKey, readyTimeoutMs: 5000 });
  const sent: string[] = [];
  const sac = new SacDriver(s.wire, { timeoutMs: 8000, transcript: (d, t) => d === 'sent' && sent.push(t) });
  await sac.toSacPrompt();
  const ch = await sac.openCmdChannel();
  await sac.switchTo(ch);
  await sac.login('Administrator', '', 'Adm1n-Passw0rd!');
  return { sac, close: s.close, sent, ch };
}

describe('SAC driver', () => {
  it('an idle channel that locked is logged in again before the next command', async () => {
    const c = await connect({ idleLockMs: 150 });
    await new Promise((r) => setTimeout(r, 400));
    const out = await c.sac.run('hostname');
    expect(out.errorlevel).toBe(0);
    expect(out.output.trim()).toMatch(/^[A-Za-z0-9-]+$/);
    expect(c.sent.join('')).not.toContain('Adm1n-Passw0rd!');
    c.close();
  });

  it('slow output in small chunks, with guest-agent lines on COM1, still reads exactly', async () => {
    const c = await connect({ slowOutput: { delayMs: 2, chunkBytes: 16 }, agentLogs: { everyMs: 250 } });
    const out = await c.sac.run('reg query "HKLM\\SYSTEM\\CurrentControlSet\\Control\\Terminal Server" /v fDenyTSConnections');
    expect(out.output).toMatch(/fDenyTSConnections\s+REG_DWORD\s+0x0/);
    expect(out.errorlevel).toBe(0);
    c.close();
  });

  it('only exact SAC commands are typed at SAC>; the channel name is parsed, not assumed', async () => {
    const c = await connect({ cmdCounterStart: 41 });
    expect(c.ch).toBe('Cmd0041');
    await c.sac.closeChannel();
    c.close();
    expect(fake!.sessions[0].sacLines.map((l) => l.line)).toEqual(expect.arrayContaining(['cmd', 'ch -sn Cmd0041']));
    for (const l of fake!.sessions[0].sacLines) expect(['', 'cmd', 'ch -sn Cmd0041']).toContain(l.line);
  });

  it('errorlevel is the command\'s own', async () => {
    const c = await connect({});
    const missing = await c.sac.run('reg query "HKLM\\SOFTWARE\\Policies\\Microsoft\\Windows NT\\Terminal Services" /v fDenyTSConnections');
    expect(missing.errorlevel).toBe(1);
    expect(missing.output).toMatch(/unable to find the specified registry key or value/);
    c.close();
  });
});
