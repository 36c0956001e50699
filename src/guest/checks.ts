// The in-guest checks of the field guide's layer 2, as data: each is a constant cmd.exe command, a parser of its
// output, the healthy value, and the fix - itself a constant command - with how to undo it. Pure: the serial
// console runs the commands, this file only reads what came back. Nothing here is built from user text.
// Sources: ../../../shared/docs/rdp-field-guide.md (layer 2) and
// ../../../shared/docs/reference/serial-console-and-rdp-probe.md section 2.6.

export const TS = 'HKLM\\SYSTEM\\CurrentControlSet\\Control\\Terminal Server';
export const RDPTCP = `${TS}\\WinStations\\RDP-Tcp`;
export const TS_POLICY = 'HKLM\\SOFTWARE\\Policies\\Microsoft\\Windows NT\\Terminal Services';
export const FIREWALL_RULE = 'Remote Desktop - User Mode (TCP-In)';

export type CheckStatus = 'ok' | 'problem' | 'unknown' | 'info';

/** What ran in the guest: its output (the console screen between the markers) and %ERRORLEVEL%. */
export interface CommandOutput {
  output: string;
  errorlevel: number;
  /** The start of the output scrolled off the 80x24 console before it could be read. */
  truncated?: boolean;
}

export interface FixStep {
  id: string;
  /** One line a user reads in the plan. */
  title: string;
  command: string;
  /** How to put it back, when a step goes wrong (or the user wants it undone). */
  undo?: string;
  /** Steps that weaken security or drop sessions run only with their own flag. */
  weakening?: boolean;
}

export interface CheckResult {
  id: string;
  title: string;
  observed: string;
  healthy: string;
  status: CheckStatus;
  /** The change that makes it healthy; absent when none can or should be made from here (GPO, a foreign program). */
  fix?: FixStep;
  /** Why it cannot be fixed from here, and what to do instead. */
  note?: string;
}

export interface Facts {
  /** From the PortNumber check; the port the listener should use. */
  port: number;
}

export interface Check {
  id: string;
  title: string;
  command: (f: Facts) => string;
  judge: (out: CommandOutput, f: Facts) => CheckResult;
}

const regValue = (out: string, name: string): number | undefined => {
  const m = new RegExp(`${name}\\s+REG_DWORD\\s+0x([0-9a-f]+)`, 'i').exec(out);
  return m ? parseInt(m[1], 16) : undefined;
};
const svcState = (out: string) => /STATE\s*:\s*\d+\s+([A-Z_]+)/.exec(out)?.[1];
const result = (c: Pick<Check, 'id' | 'title'>, r: Omit<CheckResult, 'id' | 'title'>): CheckResult => ({ id: c.id, title: c.title, ...r });

function serviceCheck(id: string, service: string, title: string): Check {
  const c: Check = {
    id,
    title,
    command: () => `sc query ${service}`,
    judge: (o) => {
      const state = svcState(o.output);
      if (!state) return result(c, { observed: o.output.includes('1060') ? 'not installed' : 'unreadable', healthy: 'RUNNING', status: 'unknown' });
      return result(c, {
        observed: state,
        healthy: 'RUNNING',
        status: state === 'RUNNING' ? 'ok' : 'problem',
        ...(state === 'RUNNING' ? {} : { fix: { id: `start-${service}`, title: `start ${service}`, command: `net start ${service}`, undo: `net stop ${service} /y` } }),
      });
    },
  };
  return c;
}

function dwordCheck(id: string, title: string, key: string, name: string, healthy: (v: number) => boolean, healthyText: string, want: number, weakening = false): Check {
  const c: Check = {
    id,
    title,
    command: () => `reg query "${key}" /v ${name}`,
    judge: (o) => {
      const v = regValue(o.output, name);
      if (v === undefined) return result(c, { observed: 'absent', healthy: healthyText, status: 'unknown' });
      const ok = healthy(v);
      return result(c, {
        observed: String(v),
        healthy: healthyText,
        status: ok ? 'ok' : 'problem',
        ...(ok
          ? {}
          : { fix: { id: `set-${name}`, title: `set ${name} to ${want}`, command: `reg add "${key}" /v ${name} /t REG_DWORD /d ${want} /f`, undo: `reg add "${key}" /v ${name} /t REG_DWORD /d ${v} /f`, ...(weakening ? { weakening } : {}) } }),
      });
    },
  };
  return c;
}

export const CHECKS: Check[] = [
  serviceCheck('termservice', 'TermService', 'Remote Desktop Services (TermService)'),
  serviceCheck('umrdpservice', 'UmRdpService', 'Remote Desktop Services UserMode Port Redirector'),
  dwordCheck('fdeny', 'Remote Desktop allowed (fDenyTSConnections)', TS, 'fDenyTSConnections', (v) => v === 0, '0', 0),
  {
    id: 'fdeny-policy',
    title: 'fDenyTSConnections enforced by Group Policy',
    command: () => `reg query "${TS_POLICY}" /v fDenyTSConnections`,
    judge(o) {
      const v = regValue(o.output, 'fDenyTSConnections');
      if (v === undefined || v === 0) return result(this, { observed: v === undefined ? 'absent' : '0', healthy: 'absent or 0', status: 'ok' });
      return result(this, {
        observed: String(v),
        healthy: 'absent or 0',
        status: 'problem',
        note: 'a Group Policy denies Remote Desktop and rewrites the local value at every refresh: find the GPO (gpresult /H report.html), change it at its scope, then gpupdate /force. rdpcloud does not fight it',
      });
    },
  },
  {
    id: 'listener',
    title: 'RDP listener (qwinsta)',
    command: () => 'qwinsta',
    judge(o) {
      const listening = /rdp-tcp\s+\d+\s+Listen/i.test(o.output);
      return result(this, { observed: listening ? 'rdp-tcp Listen' : 'no rdp-tcp listener', healthy: 'rdp-tcp Listen', status: listening ? 'ok' : 'problem' });
    },
  },
  {
    id: 'port',
    title: 'RDP port (PortNumber)',
    command: () => `reg query "${RDPTCP}" /v PortNumber`,
    judge(o) {
      const v = regValue(o.output, 'PortNumber');
      if (v === undefined) return result(this, { observed: 'absent', healthy: '3389', status: 'unknown' });
      return result(this, {
        observed: String(v),
        healthy: '3389',
        status: v === 3389 ? 'ok' : 'problem',
        ...(v === 3389 ? {} : { fix: { id: 'set-PortNumber', title: 'set PortNumber back to 3389 (takes effect when Remote Desktop Services restarts)', command: `reg add "${RDPTCP}" /v PortNumber /t REG_DWORD /d 3389 /f`, undo: `reg add "${RDPTCP}" /v PortNumber /t REG_DWORD /d ${v} /f` } }),
      });
    },
  },
  {
    id: 'port-owner',
    title: 'who listens on the RDP port',
    command: (f) => `netstat -ano | find ":${f.port} "`,
    judge(o, f) {
      const pids = [...o.output.matchAll(new RegExp(`TCP\\s+\\S+:${f.port}\\s+\\S+\\s+LISTENING\\s+(\\d+)`, 'g'))].map((m) => m[1]);
      return result(this, { observed: pids.length ? `pid ${[...new Set(pids)].join(', ')}` : 'nothing', healthy: "TermService's svchost", status: pids.length ? 'info' : 'problem' });
    },
  },
  {
    id: 'firewall',
    title: `Windows firewall rule "${FIREWALL_RULE}"`,
    command: () => `netsh advfirewall firewall show rule name="${FIREWALL_RULE}"`,
    judge(o) {
      if (/No rules match/i.test(o.output)) return result(this, { observed: 'missing', healthy: 'Enabled: Yes', status: 'problem', note: 'the rule does not exist: re-create the Remote Desktop firewall rules (they come with the Remote Desktop feature)' });
      const enabled = /Enabled:\s*(Yes|No)/i.exec(o.output)?.[1];
      if (!enabled) return result(this, { observed: 'unreadable', healthy: 'Enabled: Yes', status: 'unknown' });
      const ok = enabled.toLowerCase() === 'yes';
      return result(this, {
        observed: `Enabled: ${enabled}`,
        healthy: 'Enabled: Yes',
        status: ok ? 'ok' : 'problem',
        ...(ok ? {} : { fix: { id: 'enable-firewall-rule', title: 'enable the Remote Desktop firewall rules', command: 'netsh advfirewall firewall set rule group="remote desktop" new enable=Yes', undo: 'netsh advfirewall firewall set rule group="remote desktop" new enable=No' } }),
      });
    },
  },
  dwordCheck('security-layer', 'security layer (SecurityLayer)', RDPTCP, 'SecurityLayer', (v) => v === 1 || v === 2, '1 (negotiate) or 2 (TLS)', 1),
  dwordCheck('nla', 'Network Level Authentication (UserAuthentication)', RDPTCP, 'UserAuthentication', (v) => v === 1, '1', 1),
  {
    id: 'events',
    title: 'recent errors of Remote Desktop (event log)',
    // The full text of 20 events would never fit the 80x24 console: only the Level lines of errors come back.
    command: () => 'wevtutil qe Microsoft-Windows-TerminalServices-RemoteConnectionManager/Operational /c:20 /rd:true /f:text | findstr /c:"Level: Error"',
    judge(o) {
      if (/could not be found/i.test(o.output)) return result(this, { observed: 'log not found', healthy: 'no errors', status: 'unknown' });
      const n = o.output.split(/\r?\n/).filter((l) => /Level:\s*Error/.test(l)).length;
      return result(this, { observed: `${n}${o.truncated ? '+' : ''} error(s) in the last 20 events`, healthy: 'no errors', status: 'info', ...(n ? { note: 'read them: wevtutil qe Microsoft-Windows-TerminalServices-RemoteConnectionManager/Operational /c:5 /rd:true /f:text' } : {}) });
    },
  },
  {
    id: 'rdp-users',
    title: 'members of Remote Desktop Users',
    command: () => 'net localgroup "Remote Desktop Users"',
    judge(o) {
      const after = o.output.split(/-{20,}/)[1] ?? '';
      const members = after.split(/\r?\n/).map((l) => l.trim()).filter((l) => l && !/command completed/i.test(l));
      return result(this, { observed: members.length ? members.join(', ') : 'none (administrators may still log in)', healthy: 'the users who need RDP, or administrators', status: 'info' });
    },
  },
];

/** The next command for the port owner found by `port-owner`: which services the process hosts. */
export function ownerCommand(pid: string): string {
  if (!/^\d+$/.test(pid)) throw new Error(`not a pid: ${pid}`);
  return `tasklist /svc /fi "PID eq ${pid}"`;
}

export function judgeOwner(out: CommandOutput, pid: string): Pick<CheckResult, 'observed' | 'status' | 'note'> {
  const line = out.output.split(/\r?\n/).find((l) => new RegExp(`\\s${pid}\\s`).test(` ${l} `));
  if (!line) return { observed: `pid ${pid} (unknown process)`, status: 'unknown' };
  const [image, , ...services] = line.trim().split(/\s+/);
  const svc = services.join(' ');
  if (/TermService/i.test(svc)) return { observed: `${image} (${svc})`, status: 'ok' };
  return { observed: `${image} pid ${pid} (${svc || 'no service'})`, status: 'problem', note: `another program (${image}) holds the RDP port: move or stop it, or as a last resort move RDP to another port and open that instead` };
}

/** Export RDP-Tcp before any registry change under it: the backup the plan names. */
export function backupCommand(stamp: string): FixStep {
  if (!/^[0-9TZ-]+$/.test(stamp)) throw new Error('bad stamp');
  const file = `C:\\Windows\\Temp\\rdpcloud-rdp-tcp-${stamp}.reg`;
  return { id: 'backup', title: `back up RDP-Tcp to ${file}`, command: `reg export "${RDPTCP}" ${file} /y` };
}

/** Restarting TermService drops every session: its own step, only with consent. */
// `net stop TermService /y` also stops its dependent UmRdpService, which `net start TermService` leaves stopped.
export const RESTART_TERMSERVICE: FixStep = { id: 'restart-TermService', title: 'restart Remote Desktop Services (drops active sessions)', command: 'net stop TermService /y >nul & net start TermService >nul & net start UmRdpService >nul', weakening: true };

/** NLA off, only with --nla-off and only to tell whether NLA is what a client trips over; it weakens security. */
export const NLA_OFF: FixStep = {
  id: 'nla-off',
  title: 'turn Network Level Authentication off (a diagnosis step: weakens security; turn it back on afterwards)',
  command: `reg add "${RDPTCP}" /v UserAuthentication /t REG_DWORD /d 0 /f`,
  undo: `reg add "${RDPTCP}" /v UserAuthentication /t REG_DWORD /d 1 /f`,
  weakening: true,
};
