// The layer-2 checks as a table of cases: Windows' own output formats in, the verdict and the fix out
// (../../../shared/docs/rdp-field-guide.md, layer 2; outputs as cmd.exe prints them).
import { describe, expect, it } from 'vitest';
import { CHECKS, RDPTCP, TS, judgeOwner, ownerCommand, backupCommand } from '../../src/guest/checks.js';

const check = (id: string) => CHECKS.find((c) => c.id === id)!;
const facts = { port: 3389 };

const scQuery = (svc: string, state: string, code: number) =>
  `\r\nSERVICE_NAME: ${svc}\r\n        TYPE               : 20  WIN32_SHARE_PROCESS\r\n        STATE              : ${code}  ${state}\r\n                                (STOPPABLE, NOT_PAUSABLE, IGNORES_SHUTDOWN)\r\n        WIN32_EXIT_CODE    : 0  (0x0)\r\n        SERVICE_EXIT_CODE  : 0  (0x0)\r\n        CHECKPOINT         : 0x0\r\n        WAIT_HINT          : 0x0\r\n`;
const regQuery = (key: string, name: string, hex: string) => `\r\n${key}\r\n    ${name}    REG_DWORD    0x${hex}\r\n\r\n`;
const NOT_FOUND = 'ERROR: The system was unable to find the specified registry key or value.';
const rule = (enabled: 'Yes' | 'No') =>
  `\r\nRule Name:                            Remote Desktop - User Mode (TCP-In)\r\n----------------------------------------------------------------------\r\nEnabled:                              ${enabled}\r\nDirection:                            In\r\nProfiles:                             Domain,Private,Public\r\nGrouping:                             Remote Desktop\r\nLocalIP:                              Any\r\nRemoteIP:                             Any\r\nProtocol:                             TCP\r\nLocalPort:                            3389\r\nRemotePort:                           Any\r\nEdge traversal:                       No\r\nAction:                               Allow\r\nOk.\r\n`;

const cases: { name: string; id: string; output: string; errorlevel?: number; status: string; observed?: string; fix?: string }[] = [
  { name: 'TermService running', id: 'termservice', output: scQuery('TermService', 'RUNNING', 4), status: 'ok', observed: 'RUNNING' },
  { name: 'TermService stopped: start it', id: 'termservice', output: scQuery('TermService', 'STOPPED', 1), status: 'problem', fix: 'net start TermService' },
  { name: 'fDenyTSConnections 0', id: 'fdeny', output: regQuery(TS, 'fDenyTSConnections', '0'), status: 'ok' },
  { name: 'fDenyTSConnections 1: set it to 0', id: 'fdeny', output: regQuery(TS, 'fDenyTSConnections', '1'), status: 'problem', fix: `reg add "${TS}" /v fDenyTSConnections /t REG_DWORD /d 0 /f` },
  { name: 'no policy value: not enforced', id: 'fdeny-policy', output: NOT_FOUND, errorlevel: 1, status: 'ok', observed: 'absent' },
  { name: 'policy denies: reported, never fought', id: 'fdeny-policy', output: regQuery('HKEY_LOCAL_MACHINE\\SOFTWARE\\Policies\\Microsoft\\Windows NT\\Terminal Services', 'fDenyTSConnections', '1'), status: 'problem' },
  { name: 'listener in Listen state', id: 'listener', output: ' SESSIONNAME       USERNAME                 ID  STATE   TYPE        DEVICE\r\n services                                    0  Disc\r\n>console                                     1  Conn\r\n rdp-tcp                                 65536  Listen\r\n', status: 'ok' },
  { name: 'no rdp-tcp listener', id: 'listener', output: ' SESSIONNAME       USERNAME                 ID  STATE   TYPE        DEVICE\r\n services                                    0  Disc\r\n>console                                     1  Conn\r\n', status: 'problem' },
  { name: 'PortNumber 0xd3d is 3389', id: 'port', output: regQuery(RDPTCP, 'PortNumber', 'd3d'), status: 'ok', observed: '3389' },
  { name: 'PortNumber changed to 3390: set it back', id: 'port', output: regQuery(RDPTCP, 'PortNumber', 'd3e'), status: 'problem', observed: '3390', fix: `reg add "${RDPTCP}" /v PortNumber /t REG_DWORD /d 3389 /f` },
  { name: 'something listens on 3389', id: 'port-owner', output: '  TCP    0.0.0.0:3389           0.0.0.0:0              LISTENING       1100\r\n  TCP    [::]:3389              [::]:0                 LISTENING       1100\r\n  UDP    0.0.0.0:3389           *:*                                    1100\r\n', status: 'info', observed: 'pid 1100' },
  { name: 'nothing listens on 3389', id: 'port-owner', output: '', errorlevel: 1, status: 'problem', observed: 'nothing' },
  { name: 'firewall rule enabled', id: 'firewall', output: rule('Yes'), status: 'ok' },
  { name: 'firewall rule disabled: enable the group', id: 'firewall', output: rule('No'), status: 'problem', fix: 'netsh advfirewall firewall set rule group="remote desktop" new enable=Yes' },
  { name: 'firewall rule missing', id: 'firewall', output: '\r\nNo rules match the specified criteria.\r\n', errorlevel: 1, status: 'problem', observed: 'missing' },
  { name: 'SecurityLayer 0 (legacy RDP security): negotiate', id: 'security-layer', output: regQuery(RDPTCP, 'SecurityLayer', '0'), status: 'problem', fix: `reg add "${RDPTCP}" /v SecurityLayer /t REG_DWORD /d 1 /f` },
  { name: 'SecurityLayer 2 (TLS) is healthy', id: 'security-layer', output: regQuery(RDPTCP, 'SecurityLayer', '2'), status: 'ok' },
  { name: 'NLA off: turn it back on', id: 'nla', output: regQuery(RDPTCP, 'UserAuthentication', '0'), status: 'problem', fix: `reg add "${RDPTCP}" /v UserAuthentication /t REG_DWORD /d 1 /f` },
  { name: 'two errors among the recent events', id: 'events', output: '  Level: Error\r\n  Level: Error\r\n', status: 'info', observed: '2 error(s) in the last 20 events' },
  { name: 'no errors among the recent events', id: 'events', output: '', errorlevel: 1, status: 'info', observed: '0 error(s) in the last 20 events' },
  { name: 'Remote Desktop Users members', id: 'rdp-users', output: 'Alias name     Remote Desktop Users\r\nComment        Members in this group are granted the right to logon remotely\r\n\r\nMembers\r\n\r\n-------------------------------------------------------------------------------\r\nACME\\alice\r\nThe command completed successfully.\r\n', status: 'info', observed: 'ACME\\alice' },
];

describe('layer-2 checks read Windows output', () => {
  it.each(cases)('$name', (c) => {
    const r = check(c.id).judge({ output: c.output, errorlevel: c.errorlevel ?? 0 }, facts);
    expect(r.status).toBe(c.status);
    if (c.observed) expect(r.observed).toBe(c.observed);
    if (c.fix) expect(r.fix?.command).toBe(c.fix);
    if (r.fix) expect(r.fix.undo, 'every fix says how to undo it').toBeTruthy();
    if (c.status === 'ok') expect(r.fix).toBeUndefined();
  });

  it('the policy-enforced deny has a note and no fix', () => {
    const r = check('fdeny-policy').judge({ output: regQuery('x', 'fDenyTSConnections', '1'), errorlevel: 0 }, facts);
    expect(r.fix).toBeUndefined();
    expect(r.note).toMatch(/gpresult/);
  });

  it('who holds the port: TermService is healthy, another program is reported', () => {
    const tl = (image: string, svc: string) => `\r\nImage Name                     PID Services\r\n========================= ======== ============================================\r\n${image.padEnd(25)} ${'1100'.padStart(8)} ${svc}\r\n`;
    expect(judgeOwner({ output: tl('svchost.exe', 'TermService'), errorlevel: 0 }, '1100').status).toBe('ok');
    const other = judgeOwner({ output: tl('java.exe', 'N/A'), errorlevel: 0 }, '1100');
    expect(other.status).toBe('problem');
    expect(other.note).toMatch(/another program \(java\.exe\)/);
  });

  it('commands are built from constants; a pid or a stamp that is not one is refused', () => {
    expect(ownerCommand('1100')).toBe('tasklist /svc /fi "PID eq 1100"');
    expect(() => ownerCommand('1100" & shutdown /r')).toThrow();
    expect(backupCommand('20261202T0100Z').command).toBe(`reg export "${RDPTCP}" C:\\Windows\\Temp\\rdpcloud-rdp-tcp-20261202T0100Z.reg /y`);
    expect(() => backupCommand('x & del')).toThrow();
    for (const c of CHECKS) expect(c.command(facts)).not.toMatch(/[\r\n]/);
  });
});
