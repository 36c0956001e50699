/**
 * The cmd.exe interpreter and the guest model, without SSH: exact output formats and coherent semantics.
 */
import { describe, expect, it } from 'vitest';
import { CmdSession, redactLine, runCmd } from './cmd.js';
import {
  KEY_CREDSSP,
  KEY_RDPTCP,
  KEY_TS,
  KEY_TS_POLICY,
  applyFault,
  clientChanges,
  healthyGuest,
  rdpHealth,
  regDword,
} from './guest.js';

const TS = 'HKLM\\SYSTEM\\CurrentControlSet\\Control\\Terminal Server';
const RDPTCP = `${TS}\\WinStations\\RDP-Tcp`;
const POLICY = 'HKLM\\SOFTWARE\\Policies\\Microsoft\\Windows NT\\Terminal Services';
const NL = '\r\n';
const L = (...ls: string[]) => ls.join(NL) + NL;

describe('guest model', () => {
  it('healthyGuest: RDP works, TermService svchost listens on 3389', () => {
    const g = healthyGuest();
    const h = rdpHealth(g, 'alice');
    expect(h).toMatchObject({ ok: true, serviceRunning: true, allowed: true, listeningPort: 3389, listenerPid: 1040, firewallAllows: true, nla: true, userAllowed: true });
    expect(g.listeners.filter((l) => l.pid === 1040).map((l) => `${l.proto} ${l.address}:${l.port}`)).toEqual([
      'TCP 0.0.0.0:3389',
      'TCP [::]:3389',
      'UDP 0.0.0.0:3389',
      'UDP [::]:3389',
    ]);
    expect(clientChanges(g)).toEqual([]);
  });

  it('each fault breaks what it says, and only that', () => {
    const broken = (f: Parameters<typeof applyFault>[1]) => rdpHealth(applyFault(healthyGuest(), f), 'alice');
    expect(broken('rdpDisabled')).toMatchObject({ ok: false, allowed: false, listeningPort: undefined, serviceRunning: true });
    expect(broken('serviceStopped')).toMatchObject({ ok: false, serviceRunning: false, listeningPort: undefined });
    expect(broken('firewallRuleOff')).toMatchObject({ ok: false, listeningPort: 3389, firewallAllows: false });
    expect(broken('portChanged')).toMatchObject({ ok: false, portNumber: 3390, listeningPort: 3390, firewallAllows: false });
    expect(broken('portConflict')).toMatchObject({ ok: false, serviceRunning: true, listeningPort: undefined });
    expect(broken('gpoDeny')).toMatchObject({ ok: false, allowed: false, policyDenies: true });
    expect(broken('securityLayerRdp')).toMatchObject({ ok: true, securityLayer: 0 });
    expect(broken('nlaOff')).toMatchObject({ ok: true, nla: false });
    expect(broken('userNotInRdpGroup')).toMatchObject({ ok: false, userAllowed: false, listeningPort: 3389 });
    expect(broken('credSspOracle')).toMatchObject({ ok: true, allowEncryptionOracle: 2 });
    const pc = applyFault(healthyGuest(), 'portConflict');
    const holder = pc.listeners.find((l) => l.port === 3389)!;
    expect(pc.processes.find((p) => p.pid === holder.pid)?.image).toBe('java.exe');
    expect(pc.services.TermService.rdpListener).toMatchObject({ port: 3389, failed: true, conflictPid: holder.pid });
  });

  it('direct edits stay coherent: reconcile follows the data', () => {
    const g = healthyGuest();
    g.registry[KEY_TS].fDenyTSConnections.data = 1;
    expect(rdpHealth(g).listeningPort).toBeUndefined();
    g.registry[KEY_TS].fDenyTSConnections.data = 0;
    expect(rdpHealth(g).listeningPort).toBe(3389);
    g.services.TermService.state = 'STOPPED';
    expect(rdpHealth(g).listenerPid).toBeUndefined();
    expect(g.processes.some((p) => p.pid === 1040)).toBe(false);
  });
});

describe('cmd output formats', () => {
  it('reg query: found, and not found with errorlevel 1 (stderr)', async () => {
    const g = healthyGuest();
    const r = await runCmd(g, `reg query "${TS}" /v fDenyTSConnections`);
    expect(r.output).toBe(`${NL}HKEY_LOCAL_MACHINE\\SYSTEM\\CurrentControlSet\\Control\\Terminal Server${NL}    fDenyTSConnections    REG_DWORD    0x0${NL}${NL}`);
    expect(r.errorlevel).toBe(0);
    const p = await runCmd(g, `reg query "${RDPTCP}" /v PortNumber`);
    expect(p.output).toContain('    PortNumber    REG_DWORD    0xd3d\r\n');
    const nf = await runCmd(g, `reg query "${POLICY}" /v fDenyTSConnections`);
    expect(nf.output).toBe('ERROR: The system was unable to find the specified registry key or value.\r\n');
    expect(nf.errorlevel).toBe(1);
    // stderr is not piped
    const piped = await runCmd(g, `reg query "${POLICY}" /v fDenyTSConnections 2>nul | find "0x1"`);
    expect(piped.output).toBe('');
    expect(piped.errorlevel).toBe(1);
  });

  it('reg query of a key lists values then subkeys', async () => {
    const r = await runCmd(healthyGuest(), `reg query "${TS}"`);
    expect(r.output).toBe(
      L(
        '',
        'HKEY_LOCAL_MACHINE\\SYSTEM\\CurrentControlSet\\Control\\Terminal Server',
        '    fDenyTSConnections    REG_DWORD    0x0',
        '    fSingleSessionPerUser    REG_DWORD    0x1',
        '    TSUserEnabled    REG_DWORD    0x0',
        '',
        'HKEY_LOCAL_MACHINE\\SYSTEM\\CurrentControlSet\\Control\\Terminal Server\\WinStations',
      ),
    );
  });

  it('reg add / delete / export', async () => {
    const g = applyFault(healthyGuest(), 'rdpDisabled');
    expect(rdpHealth(g).ok).toBe(false);
    const r = await runCmd(g, `reg add "${TS}" /v fDenyTSConnections /t REG_DWORD /d 0 /f`);
    expect(r.output).toBe('The operation completed successfully.\r\n');
    expect(rdpHealth(g).ok).toBe(true); // takes effect at once
    expect(clientChanges(g)).toMatchObject([{ kind: 'registry', target: `${KEY_TS}\\fDenyTSConnections`, before: { data: 1 }, after: { data: 0 } }]);
    // without /f: a question
    const q = await runCmd(g, `reg add "${RDPTCP}" /v SecurityLayer /t REG_DWORD /d 1`, { answers: ['No'] });
    expect(q.output).toBe('Value SecurityLayer exists, overwrite(Yes/No)? No\r\nThe operation was canceled by the user.\r\n');
    expect(regDword(g, KEY_RDPTCP, 'SecurityLayer')).toBe(2);
    const bad = await runCmd(g, `reg add "${RDPTCP}" /v PortNumber /t REG_DWORD /d 33x9 /f`);
    expect(bad.output).toBe(`ERROR: Invalid syntax. Specify valid numeric value for '/d'.\r\nType "REG ADD /?" for usage.\r\n`);
    const ex = await runCmd(g, `reg export "${RDPTCP}" backup.reg /y`);
    expect(ex.output).toBe('The operation completed successfully.\r\n');
    expect(g.files['c:\\windows\\system32\\backup.reg']).toContain('"PortNumber"=dword:00000d3d');
    const cred = applyFault(healthyGuest(), 'credSspOracle');
    expect((await runCmd(cred, `reg delete "${KEY_CREDSSP}" /v AllowEncryptionOracle /f`)).output).toBe('The operation completed successfully.\r\n');
    expect(rdpHealth(cred).allowEncryptionOracle).toBeUndefined();
  });

  it('gpoDeny: the policy value is re-applied after every registry change the client makes', async () => {
    const g = applyFault(healthyGuest(), 'gpoDeny');
    const s = new CmdSession(g, { user: 'Administrator' });
    await runCmd(g, `reg add "${TS}" /v fDenyTSConnections /t REG_DWORD /d 0 /f`, { session: s });
    expect(rdpHealth(g)).toMatchObject({ ok: false, policyDenies: true });
    await runCmd(g, `reg add "${POLICY}" /v fDenyTSConnections /t REG_DWORD /d 0 /f`, { session: s });
    expect(regDword(g, KEY_TS_POLICY, 'fDenyTSConnections')).toBe(1); // the GPO refresh put it back
    const q = await runCmd(g, `reg query "${POLICY}" /v fDenyTSConnections`, { session: s });
    expect(q.output).toContain('    fDenyTSConnections    REG_DWORD    0x1\r\n');
    expect(g.journal.changes.filter((c) => c.by === 'gpo')).toHaveLength(1);
  });

  it('sc query / queryex / qc / config', async () => {
    const g = healthyGuest();
    expect((await runCmd(g, 'sc query termservice')).output).toBe(
      L(
        '',
        'SERVICE_NAME: termservice',
        '        TYPE               : 30  WIN32',
        '        STATE              : 4  RUNNING',
        '                                (STOPPABLE, NOT_PAUSABLE, ACCEPTS_SHUTDOWN)',
        '        WIN32_EXIT_CODE    : 0  (0x0)',
        '        SERVICE_EXIT_CODE  : 0  (0x0)',
        '        CHECKPOINT         : 0x0',
        '        WAIT_HINT          : 0x0',
        '',
      ),
    );
    expect((await runCmd(g, 'sc queryex TermService')).output).toContain('        PID                : 1040\r\n        FLAGS              :\r\n');
    expect((await runCmd(g, 'sc qc TermService')).output).toBe(
      L(
        '[SC] QueryServiceConfig SUCCESS',
        '',
        'SERVICE_NAME: TermService',
        '        TYPE               : 20  WIN32_SHARE_PROCESS',
        '        START_TYPE         : 3   DEMAND_START',
        '        ERROR_CONTROL      : 1   NORMAL',
        '        BINARY_PATH_NAME   : C:\\Windows\\System32\\svchost.exe -k NetworkService',
        '        LOAD_ORDER_GROUP   :',
        '        TAG                : 0',
        '        DISPLAY_NAME       : Remote Desktop Services',
        '        DEPENDENCIES       : RPCSS',
        '        SERVICE_START_NAME : NT Authority\\NetworkService',
        '',
      ),
    );
    const stopped = applyFault(healthyGuest(), 'serviceDisabled');
    expect((await runCmd(stopped, 'sc query TermService')).output).toBe(
      L(
        '',
        'SERVICE_NAME: TermService',
        '        TYPE               : 20  WIN32_SHARE_PROCESS',
        '        STATE              : 1  STOPPED',
        '        WIN32_EXIT_CODE    : 1077  (0x435)',
        '        SERVICE_EXIT_CODE  : 0  (0x0)',
        '        CHECKPOINT         : 0x0',
        '        WAIT_HINT          : 0x0',
        '',
      ),
    );
    expect((await runCmd(stopped, 'sc qc TermService')).output).toContain('        START_TYPE         : 4   DISABLED\r\n');
    const cfg = await runCmd(stopped, 'sc config termservice start= demand');
    expect(cfg.output).toBe('[SC] ChangeServiceConfig SUCCESS\r\n');
    expect(stopped.services.TermService.startType).toBe('demand');
    const nospace = await runCmd(stopped, 'sc config termservice start=demand');
    expect(nospace.output).toContain('      A space is required between the equal sign and the value.\r\n');
    expect(nospace.errorlevel).toBe(1639);
    const none = await runCmd(g, 'sc query nosuchsvc');
    expect(none.output).toBe('[SC] EnumQueryServicesStatus:OpenService FAILED 1060:\r\n\r\nThe specified service does not exist as an installed service.\r\n\r\n');
    expect(none.errorlevel).toBe(1060);
  });

  it('net start / net stop (with the dependents question)', async () => {
    const g = applyFault(healthyGuest(), 'serviceStopped');
    const s = await runCmd(g, 'net start "Remote Desktop Services"');
    expect(s.output).toBe('The Remote Desktop Services service is starting.\r\nThe Remote Desktop Services service was started successfully.\r\n\r\n');
    expect(rdpHealth(g).ok).toBe(true);
    expect(g.services.TermService.pid).not.toBe(1040); // a new svchost
    expect(g.services.UmRdpService.state).toBe('STOPPED'); // net start does not start dependents
    const again = await runCmd(g, 'net start termservice');
    expect(again.output).toBe('The requested service has already been started.\r\n\r\nMore help is available by typing NET HELPMSG 2182.\r\n\r\n');
    expect(again.errorlevel).toBe(2);
    const h = healthyGuest();
    const stop = await runCmd(h, 'net stop termservice', { answers: ['Y'] });
    expect(stop.output).toBe(
      'The following services are dependent on the Remote Desktop Services service.\r\n' +
        'Stopping the Remote Desktop Services service will also stop these services.\r\n\r\n' +
        '   Remote Desktop Services UserMode Port Redirector\r\n\r\n' +
        'Do you want to continue this operation? (Y/N) [N]: Y\r\n' +
        'The Remote Desktop Services UserMode Port Redirector service is stopping.\r\n' +
        'The Remote Desktop Services UserMode Port Redirector service was stopped successfully.\r\n\r\n' +
        'The Remote Desktop Services service is stopping.\r\n' +
        'The Remote Desktop Services service was stopped successfully.\r\n\r\n',
    );
    expect(h.listeners.some((l) => l.port === 3389)).toBe(false);
    const h2 = healthyGuest();
    expect((await runCmd(h2, 'net stop termservice', { answers: [''] })).errorlevel).toBe(2);
    expect(h2.services.TermService.state).toBe('RUNNING');
    const h3 = healthyGuest();
    await runCmd(h3, 'echo y| net stop termservice'); // the answer from a pipe
    expect(h3.services.TermService.state).toBe('STOPPED');
    const dis = applyFault(healthyGuest(), 'serviceDisabled');
    const d = await runCmd(dis, 'net start termservice');
    expect(d.output).toBe('System error 1058 has occurred.\r\n\r\nThe service cannot be started, either because it is disabled or because it has no enabled devices associated with it.\r\n\r\n');
    const inv = await runCmd(dis, 'net start nosuch');
    expect(inv.output).toBe('The service name is invalid.\r\n\r\nMore help is available by typing NET HELPMSG 2185.\r\n\r\n');
  });

  it('a new PortNumber takes effect after a TermService restart', async () => {
    const g = healthyGuest();
    await runCmd(g, `reg add "${RDPTCP}" /v PortNumber /t REG_DWORD /d 3390 /f`);
    expect(rdpHealth(g).listeningPort).toBe(3389);
    await runCmd(g, 'net stop termservice /y && net start termservice');
    expect(rdpHealth(g)).toMatchObject({ listeningPort: 3390, firewallAllows: false });
  });

  it('qwinsta', async () => {
    const ok = await runCmd(healthyGuest(), 'qwinsta');
    expect(ok.output).toBe(
      L(
        ' SESSIONNAME       USERNAME                 ID  STATE   TYPE        DEVICE',
        '>services                                    0  Disc',
        ' console                                     1  Conn',
        ' rdp-tcp                                 65536  Listen',
      ),
    );
    const off = await runCmd(applyFault(healthyGuest(), 'rdpDisabled'), 'query session');
    expect(off.output).not.toContain('rdp-tcp');
  });

  it('netstat -ano | find ":3389", and tasklist /svc /fi "PID eq n"', async () => {
    const g = healthyGuest();
    const n = await runCmd(g, 'netstat -ano | find ":3389"');
    expect(n.output).toBe(
      L(
        '  TCP    0.0.0.0:3389           0.0.0.0:0              LISTENING       1040',
        '  TCP    [::]:3389              [::]:0                 LISTENING       1040',
        '  UDP    0.0.0.0:3389           *:*                                    1040',
        '  UDP    [::]:3389              *:*                                    1040',
      ),
    );
    const full = await runCmd(g, 'netstat -ano');
    expect(full.output.startsWith(`${NL}Active Connections${NL}${NL}  Proto  Local Address          Foreign Address        State           PID${NL}  TCP    0.0.0.0:135            0.0.0.0:0              LISTENING       900${NL}`)).toBe(true);
    const t = await runCmd(g, 'tasklist /svc /fi "PID eq 1040"');
    expect(t.output).toBe(
      L('', 'Image Name                     PID Services', '========================= ======== ============================================', 'svchost.exe                   1040 TermService'),
    );
    const pc = applyFault(healthyGuest(), 'portConflict');
    const pn = await runCmd(pc, 'netstat -ano | findstr :3389');
    const pid = /LISTENING\s+(\d+)/.exec(pn.output)![1];
    const tj = await runCmd(pc, `tasklist /svc /fi "PID eq ${pid}"`);
    expect(tj.output).toContain(`java.exe                      ${pid} N/A\r\n`);
    const none = await runCmd(pc, 'tasklist /fi "PID eq 99999"');
    expect(none.output).toBe('INFO: No tasks are running which match the specified criteria.\r\n');
    // fixing the conflict: end java.exe, restart TermService
    const k = await runCmd(pc, `taskkill /pid ${pid} /f`);
    expect(k.output).toBe(`SUCCESS: The process with PID ${pid} has been terminated.\r\n`);
    expect(rdpHealth(pc).listeningPort).toBeUndefined(); // still failed until restarted
    await runCmd(pc, 'net stop termservice /y & net start termservice');
    expect(rdpHealth(pc).ok).toBe(true);
    const notFound = await runCmd(applyFault(healthyGuest(), 'portChanged'), 'netstat -ano | find ":3389"');
    expect(notFound).toMatchObject({ output: '', errorlevel: 1 });
  });

  it('netsh advfirewall firewall show rule / set rule group', async () => {
    const g = applyFault(healthyGuest(), 'firewallRuleOff');
    const r = await runCmd(g, 'netsh advfirewall firewall show rule name="Remote Desktop - User Mode (TCP-In)"');
    expect(r.output).toBe(
      L(
        '',
        'Rule Name:                            Remote Desktop - User Mode (TCP-In)',
        '----------------------------------------------------------------------',
        'Enabled:                              No',
        'Direction:                            In',
        'Profiles:                             Domain,Private,Public',
        'Grouping:                             Remote Desktop',
        'LocalIP:                              Any',
        'RemoteIP:                             Any',
        'Protocol:                             TCP',
        'LocalPort:                            3389',
        'RemotePort:                           Any',
        'Edge traversal:                       No',
        'Action:                               Allow',
        'Ok.',
        '',
      ),
    );
    const none = await runCmd(g, 'netsh advfirewall firewall show rule name="Remote Desktop (TCP-In)"');
    expect(none).toMatchObject({ output: 'No rules match the specified criteria.\r\n', errorlevel: 1 });
    const set = await runCmd(g, 'netsh advfirewall firewall set rule group="remote desktop" new enable=Yes');
    expect(set.output).toBe('\r\nUpdated 3 rule(s).\r\nOk.\r\n\r\n');
    expect(rdpHealth(g).ok).toBe(true);
    const off = await runCmd(g, 'netsh advfirewall set allprofiles state off');
    expect(off.output).toBe('Ok.\r\n\r\n');
  });

  it('net localgroup "Remote Desktop Users" and adding a member', async () => {
    const g = applyFault(healthyGuest(), 'userNotInRdpGroup');
    const r = await runCmd(g, 'net localgroup "Remote Desktop Users"');
    expect(r.output).toBe(
      L(
        'Alias name     Remote Desktop Users',
        'Comment        Members in this group are granted the right to logon remotely',
        '',
        'Members',
        '',
        '-------------------------------------------------------------------------------',
        'The command completed successfully.',
        '',
      ),
    );
    expect((await runCmd(g, 'net localgroup "Remote Desktop Users" alice /add')).output).toBe('The command completed successfully.\r\n\r\n');
    expect(rdpHealth(g, 'alice').userAllowed).toBe(true);
    const again = await runCmd(g, 'net localgroup "Remote Desktop Users" alice /add');
    expect(again.output).toBe('System error 1378 has occurred.\r\n\r\nThe specified account name is already a member of the group.\r\n\r\n');
    expect(again.errorlevel).toBe(2);
    expect((await runCmd(g, 'net user alice | find /i "active"')).output).toBe('Account active               Yes\r\n');
  });

  it('wevtutil qe ... /f:text', async () => {
    const r = await runCmd(healthyGuest(), 'wevtutil qe Microsoft-Windows-TerminalServices-RemoteConnectionManager/Operational /c:1 /rd:true /f:text');
    expect(r.output).toBe(
      L(
        'Event[0]:',
        '  Log Name: Microsoft-Windows-TerminalServices-RemoteConnectionManager/Operational',
        '  Source: Microsoft-Windows-TerminalServices-RemoteConnectionManager',
        '  Date: 2024-05-01T10:12:14.456',
        '  Event ID: 1149',
        '  Task: N/A',
        '  Level: Information',
        '  Opcode: Info',
        '  Keyword: N/A',
        '  User: S-1-5-20',
        '  User Name: NT AUTHORITY\\NETWORK SERVICE',
        '  Computer: win-vm',
        '  Description: ',
        'Remote Desktop Services: User authentication succeeded:',
        '',
        'User: alice',
        'Domain: ',
        'Source Network Address: 203.0.113.7',
      ),
    );
    const bad = await runCmd(healthyGuest(), 'wevtutil qe NoSuchLog /c:1');
    expect(bad.errorlevel).toBe(15007);
  });

  it('hostname, ver, echo, errorlevels, chaining, unknown commands', async () => {
    const g = healthyGuest();
    const s = new CmdSession(g, { user: 'Administrator' });
    const run = (l: string) => runCmd(g, l, { session: s });
    expect((await run('hostname')).output).toBe('win-vm\r\n');
    expect((await run('ver')).output).toBe('\r\nMicrosoft Windows [Version 10.0.20348.2527]\r\n');
    const u = await run('xyz');
    expect(u.output).toBe("'xyz' is not recognized as an internal or external command,\r\noperable program or batch file.\r\n");
    expect((await run('echo %ERRORLEVEL%')).output).toBe('9009\r\n');
    // %VAR% is expanded when the line is read: the END marker shows the errorlevel from before the line (9009)
    const stale = await run(`echo BEGIN & reg query "${POLICY}" /v fDenyTSConnections & echo END %ERRORLEVEL%`);
    expect(stale.output).toBe('BEGIN \r\nERROR: The system was unable to find the specified registry key or value.\r\nEND 9009\r\n');
    const fresh = await run(`echo BEGIN & reg query "${POLICY}" /v fDenyTSConnections & call echo END %^ERRORLEVEL%`);
    expect(fresh.output.endsWith('END 1\r\n')).toBe(true);
    expect((await run('hostname && echo yes || echo no')).output).toBe('win-vm\r\nyes \r\n'); // echo keeps the blank before ||
    expect((await run('find "x" nofile.txt 2>nul || echo no')).output).toBe('no\r\n');
    expect((await run('echo.')).output).toBe('\r\n');
    expect((await run('echo')).output).toBe('ECHO is on.\r\n');
    expect((await run('whoami')).output).toBe('win-vm\\administrator\r\n');
    expect(clientChanges(g)).toEqual([]);
    expect(g.journal.commands.map((c) => c.line)).toContain('hostname');
  });

  it('a non-administrator cannot change the system', async () => {
    const g = applyFault(healthyGuest(), 'rdpDisabled');
    const r = await runCmd(g, `reg add "${TS}" /v fDenyTSConnections /t REG_DWORD /d 0 /f`, { user: 'alice' });
    expect(r).toMatchObject({ output: 'ERROR: Access is denied.\r\n', errorlevel: 1 });
    expect((await runCmd(g, 'net start termservice', { user: 'alice' })).output).toBe('System error 5 has occurred.\r\n\r\nAccess is denied.\r\n\r\n');
    expect(clientChanges(g)).toEqual([]);
  });

  it('the journal never holds a password', async () => {
    const g = healthyGuest();
    await runCmd(g, 'net user alice N3w-Secret! & hostname');
    expect(JSON.stringify(g.journal)).not.toContain('N3w-Secret!');
    expect(g.journal.commands.at(-1)!.line).toBe('net user alice ******** & hostname');
    expect(redactLine('net user bob "p w" /add')).toBe('net user bob ******** /add');
    expect(g.accounts.alice.password).toBe('N3w-Secret!');
  });
});
