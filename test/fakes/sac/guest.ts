/**
 * A model of a Windows guest's Remote-Desktop-relevant state, as plain data a test can set and read back.
 *
 * Everything is a plain object: a test may build a guest with `healthyGuest()`, break it with `applyFault()`,
 * edit any field directly, and read it back after a client ran. The fake cmd.exe (`cmd.ts`) and SAC (`sac.ts`)
 * change it only through the mutators below, which write the journal (`guest.journal`): every command line
 * the client ran and every change it made. `reconcile()` derives what Windows would derive (service host
 * processes, the RDP listener) and is called before and after every command, so direct edits stay coherent.
 *
 * Semantics (see README.md):
 * - TermService's svchost listens on TCP+UDP `PortNumber` (read when the service starts) while the service runs
 *   and the effective fDenyTSConnections is 0. The policy value (`KEY_TS_POLICY`), if present, wins over the local one.
 * - Flipping fDenyTSConnections takes effect at once (as on Windows); a new PortNumber only after a TermService restart.
 * - If another process already listens on that TCP port, TermService runs but its listener fails; it retries only
 *   when the service restarts or RDP is disabled and enabled again.
 * - A GPO (`guest.gpo`) re-applies its values after every registry write the client makes, and on `gpupdate`.
 * - Stopping a service ends its svchost process (a new pid on the next start) and drops its listeners.
 */

export const KEY_TS = 'HKEY_LOCAL_MACHINE\\SYSTEM\\CurrentControlSet\\Control\\Terminal Server';
export const KEY_WINSTATIONS = `${KEY_TS}\\WinStations`;
export const KEY_RDPTCP = `${KEY_WINSTATIONS}\\RDP-Tcp`;
export const KEY_TS_POLICY = 'HKEY_LOCAL_MACHINE\\SOFTWARE\\Policies\\Microsoft\\Windows NT\\Terminal Services';
export const KEY_CREDSSP =
  'HKEY_LOCAL_MACHINE\\Software\\Microsoft\\Windows\\CurrentVersion\\Policies\\System\\CredSSP\\Parameters';
export const LOG_RCM = 'Microsoft-Windows-TerminalServices-RemoteConnectionManager/Operational';

export type ServiceState = 'RUNNING' | 'STOPPED';
export type StartType = 'auto' | 'delayed-auto' | 'demand' | 'disabled';

export interface Service {
  name: string;
  displayName: string;
  state: ServiceState;
  startType: StartType;
  binaryPath: string;
  startName: string;
  dependencies: string[];
  /** pid of the hosting svchost while RUNNING (kept coherent by reconcile). */
  pid?: number;
  /** Win32 exit code shown by `sc query` while stopped (1077 = never started since boot). */
  exitCode?: number;
  /** TermService only: the port bound at start, and whether binding failed (another process holds it). */
  rdpListener?: { port: number; failed: boolean; conflictPid?: number };
}

export type RegType = 'REG_DWORD' | 'REG_QWORD' | 'REG_SZ' | 'REG_EXPAND_SZ' | 'REG_MULTI_SZ' | 'REG_BINARY';
export interface RegValue {
  type: RegType;
  /** number for DWORD/QWORD; string otherwise (REG_BINARY: hex digits; REG_MULTI_SZ: parts joined by '\0'). */
  data: number | string;
}
/** Full key path (`HKEY_LOCAL_MACHINE\...`, any case) -> value name -> value. Lookups are case-insensitive. */
export type Registry = Record<string, Record<string, RegValue>>;

export interface FirewallRule {
  name: string;
  group: string;
  enabled: boolean;
  direction: 'In' | 'Out';
  /** e.g. 'Domain,Private,Public' or 'Any'. */
  profiles: string;
  protocol: 'TCP' | 'UDP' | 'Any';
  localPort: string;
  remotePort: string;
  action: 'Allow' | 'Block';
  program?: string;
  service?: string;
  description?: string;
  edgeTraversal?: string;
}

export interface Listener {
  proto: 'TCP' | 'UDP';
  address: '0.0.0.0' | '[::]';
  port: number;
  pid: number;
}

export interface Process {
  pid: number;
  image: string;
  services: string[];
  session: number;
  memK: number;
}

export interface Account {
  name: string;
  /** Never written to the journal or any log. */
  password: string;
  enabled: boolean;
  fullName?: string;
}

export interface LocalGroup {
  comment: string;
  members: string[];
}

export interface EventEntry {
  date: string; // ISO-like, as wevtutil prints it: 2024-05-01T10:12:13.123
  id: number;
  source: string;
  level: 'Information' | 'Warning' | 'Error';
  task?: string;
  opcode?: string;
  keyword?: string;
  user?: string;
  userName?: string;
  description: string;
}

export interface GpoValue {
  key: string;
  name: string;
  value: RegValue;
}

export type Actor = { by: 'client' | 'gpo' | 'system'; via?: string };

export interface JournalCommand {
  at: number;
  /** The command line as typed (a `net user NAME PASSWORD` password is replaced by `********`). */
  line: string;
  channel?: string;
  user?: string;
  errorlevel?: number;
}

export interface JournalChange {
  at: number;
  by: Actor['by'];
  kind: 'registry' | 'service' | 'firewall' | 'group' | 'account' | 'process' | 'file' | 'power';
  target: string;
  before?: unknown;
  after?: unknown;
  /** True when the write left the state as it was (a write all the same). */
  noop?: boolean;
  via?: string;
}

export interface Guest {
  hostname: string;
  os: { version: string; productName: string };
  network: { ip: string; subnet: string; gateway: string; dnsSuffix: string };
  services: Record<string, Service>;
  registry: Registry;
  firewall: { profiles: { Domain: boolean; Private: boolean; Public: boolean }; activeProfile: 'Domain' | 'Private' | 'Public'; rules: FirewallRule[] };
  listeners: Listener[];
  processes: Process[];
  groups: Record<string, LocalGroup>;
  accounts: Record<string, Account>;
  eventLog: Record<string, EventEntry[]>;
  /** Files written in the guest (reg export, redirections), by lower-cased full path. */
  files: Record<string, string>;
  /** Policy values a GPO keeps re-applying. */
  gpo: GpoValue[];
  power: { state: 'running' | 'off'; restarts: number; shutdowns: number; crashdumps: number };
  nextPid: number;
  journal: { commands: JournalCommand[]; changes: JournalChange[] };
}

// ------------------------------------------------------------------------------------------------
// Registry helpers
// ------------------------------------------------------------------------------------------------

const ROOTS: Record<string, string> = {
  HKLM: 'HKEY_LOCAL_MACHINE',
  HKEY_LOCAL_MACHINE: 'HKEY_LOCAL_MACHINE',
  HKCU: 'HKEY_CURRENT_USER',
  HKEY_CURRENT_USER: 'HKEY_CURRENT_USER',
  HKCR: 'HKEY_CLASSES_ROOT',
  HKEY_CLASSES_ROOT: 'HKEY_CLASSES_ROOT',
  HKU: 'HKEY_USERS',
  HKEY_USERS: 'HKEY_USERS',
  HKCC: 'HKEY_CURRENT_CONFIG',
  HKEY_CURRENT_CONFIG: 'HKEY_CURRENT_CONFIG',
};

/** `HKLM\Software\X\` -> `HKEY_LOCAL_MACHINE\Software\X` (rest kept as typed), or null for an unknown root. */
export function normalizeKeyPath(input: string): string | null {
  let s = input.trim().replace(/\\+$/, '');
  if (s.startsWith('\\\\')) return null; // remote machines are not modelled
  const i = s.indexOf('\\');
  const root = ROOTS[(i < 0 ? s : s.slice(0, i)).toUpperCase()];
  if (!root) return null;
  s = i < 0 ? root : root + s.slice(i);
  return s;
}

function findKey(g: Guest, path: string): string | undefined {
  const lc = path.toLowerCase();
  return Object.keys(g.registry).find((k) => k.toLowerCase() === lc);
}

export function regKeyExists(g: Guest, path: string): boolean {
  return findKey(g, path) !== undefined;
}

export function regValues(g: Guest, path: string): Record<string, RegValue> | undefined {
  const k = findKey(g, path);
  return k === undefined ? undefined : g.registry[k];
}

/** Direct subkeys (full stored paths), sorted case-insensitively. */
export function regSubkeys(g: Guest, path: string): string[] {
  const prefix = path.toLowerCase() + '\\';
  const seen = new Map<string, string>();
  for (const k of Object.keys(g.registry)) {
    if (!k.toLowerCase().startsWith(prefix)) continue;
    const rest = k.slice(prefix.length);
    const child = rest.split('\\')[0];
    const lc = child.toLowerCase();
    if (!seen.has(lc)) seen.set(lc, child);
  }
  return [...seen.values()].sort((a, b) => a.toLowerCase().localeCompare(b.toLowerCase()));
}

export function regGet(g: Guest, path: string, name: string): RegValue | undefined {
  const vals = regValues(g, path);
  if (!vals) return undefined;
  const n = Object.keys(vals).find((v) => v.toLowerCase() === name.toLowerCase());
  return n === undefined ? undefined : vals[n];
}

export function regDword(g: Guest, path: string, name: string): number | undefined {
  const v = regGet(g, path, name);
  return v && typeof v.data === 'number' ? v.data : undefined;
}

function sameValue(a: RegValue | undefined, b: RegValue | undefined): boolean {
  return !!a && !!b && a.type === b.type && a.data === b.data;
}

function journal(g: Guest, actor: Actor, c: Omit<JournalChange, 'at' | 'by' | 'via'>): void {
  if (actor.by === 'system') return;
  g.journal.changes.push({ at: Date.now(), by: actor.by, via: actor.via, ...c });
}

/** Creates the key (and its parents) if needed. */
export function regCreateKey(g: Guest, path: string, actor: Actor): string {
  const existing = findKey(g, path);
  if (existing) return existing;
  const parts = path.split('\\');
  let acc = parts[0];
  for (let i = 1; i < parts.length; i++) {
    acc += '\\' + parts[i];
    if (!findKey(g, acc)) {
      g.registry[acc] = {};
      journal(g, actor, { kind: 'registry', target: acc, before: undefined, after: '(key created)' });
    }
  }
  return findKey(g, path)!;
}

export function regSet(g: Guest, path: string, name: string, value: RegValue, actor: Actor): void {
  const key = regCreateKey(g, path, actor);
  const vals = g.registry[key];
  const existing = Object.keys(vals).find((v) => v.toLowerCase() === name.toLowerCase());
  const before = existing === undefined ? undefined : vals[existing];
  vals[existing ?? name] = { ...value };
  journal(g, actor, { kind: 'registry', target: `${key}\\${existing ?? name}`, before, after: { ...value }, noop: sameValue(before, value) });
  if (actor.by === 'client') gpoRefresh(g);
}

export function regDeleteValue(g: Guest, path: string, name: string, actor: Actor): boolean {
  const key = findKey(g, path);
  if (!key) return false;
  const vals = g.registry[key];
  const existing = Object.keys(vals).find((v) => v.toLowerCase() === name.toLowerCase());
  if (existing === undefined) return false;
  const before = vals[existing];
  delete vals[existing];
  journal(g, actor, { kind: 'registry', target: `${key}\\${existing}`, before, after: undefined });
  if (actor.by === 'client') gpoRefresh(g);
  return true;
}

export function regDeleteKey(g: Guest, path: string, actor: Actor): boolean {
  const key = findKey(g, path);
  if (!key) return false;
  const lc = key.toLowerCase();
  for (const k of Object.keys(g.registry)) {
    if (k.toLowerCase() === lc || k.toLowerCase().startsWith(lc + '\\')) {
      journal(g, actor, { kind: 'registry', target: k, before: g.registry[k], after: '(key deleted)' });
      delete g.registry[k];
    }
  }
  if (actor.by === 'client') gpoRefresh(g);
  return true;
}

/** Re-applies the GPO values, as a Group Policy refresh would. */
export function gpoRefresh(g: Guest): void {
  for (const p of g.gpo) {
    if (!sameValue(regGet(g, p.key, p.name), p.value)) regSet(g, p.key, p.name, p.value, { by: 'gpo', via: 'Group Policy refresh' });
  }
}

// ------------------------------------------------------------------------------------------------
// Derived state
// ------------------------------------------------------------------------------------------------

export function effectiveDenyTSConnections(g: Guest): number {
  const pol = regDword(g, KEY_TS_POLICY, 'fDenyTSConnections');
  if (pol !== undefined) return pol;
  return regDword(g, KEY_TS, 'fDenyTSConnections') ?? 0;
}

export function rdpPortNumber(g: Guest): number {
  return regDword(g, KEY_RDPTCP, 'PortNumber') ?? 3389;
}

export function findService(g: Guest, nameOrDisplay: string): Service | undefined {
  const lc = nameOrDisplay.toLowerCase();
  return (
    Object.values(g.services).find((s) => s.name.toLowerCase() === lc) ??
    Object.values(g.services).find((s) => s.displayName.toLowerCase() === lc)
  );
}

export function findAccount(g: Guest, name: string): Account | undefined {
  const lc = name.toLowerCase();
  return Object.values(g.accounts).find((a) => a.name.toLowerCase() === lc);
}

export function findGroup(g: Guest, name: string): [string, LocalGroup] | undefined {
  const lc = name.toLowerCase();
  const k = Object.keys(g.groups).find((n) => n.toLowerCase() === lc);
  return k === undefined ? undefined : [k, g.groups[k]];
}

export function isMember(g: Guest, group: string, user: string): boolean {
  const grp = findGroup(g, group);
  return !!grp && grp[1].members.some((m) => m.toLowerCase() === user.toLowerCase());
}

export function isAdmin(g: Guest, user: string): boolean {
  return isMember(g, 'Administrators', user);
}

function allocPid(g: Guest): number {
  const pid = g.nextPid;
  g.nextPid += 4 * (1 + (pid % 7)); // pids grow in uneven steps of 4, as on Windows
  return pid;
}

export function spawnProcess(g: Guest, image: string, services: string[] = [], session = 0, memK = 6000): Process {
  const p: Process = { pid: allocPid(g), image, services, session, memK };
  g.processes.push(p);
  return p;
}

function timestamp(d = new Date()): string {
  return d.toISOString().replace('Z', '').replace(/(\.\d{3})\d*$/, '$1');
}

export function addEvent(g: Guest, log: string, e: Omit<EventEntry, 'date'> & { date?: string }): void {
  (g.eventLog[log] ??= []).push({ date: e.date ?? timestamp(), ...e });
}

/**
 * Derives what Windows derives from the plain data: a svchost process for each running service (and none for a
 * stopped one), no listeners for dead pids, and TermService's RDP listener. Idempotent; call after any edit.
 */
export function reconcile(g: Guest): void {
  for (const svc of Object.values(g.services)) {
    const proc = svc.pid === undefined ? undefined : g.processes.find((p) => p.pid === svc.pid);
    if (svc.state === 'RUNNING') {
      if (!proc) {
        const p = spawnProcess(g, 'svchost.exe', [svc.name], 0, 9000 + (svc.name.length * 613) % 20000);
        svc.pid = p.pid;
      } else if (!proc.services.includes(svc.name)) proc.services.push(svc.name);
    } else if (svc.pid !== undefined) {
      if (proc) {
        proc.services = proc.services.filter((n) => n !== svc.name);
        if (proc.services.length === 0 && proc.image.toLowerCase() === 'svchost.exe') g.processes = g.processes.filter((p) => p !== proc);
      }
      svc.pid = undefined;
    }
  }
  g.listeners = g.listeners.filter((l) => g.processes.some((p) => p.pid === l.pid));

  const ts = g.services.TermService;
  if (!ts) return;
  if (ts.state !== 'RUNNING' || ts.pid === undefined) {
    ts.rdpListener = undefined;
    return;
  }
  ts.rdpListener ??= { port: rdpPortNumber(g), failed: false };
  const rl = ts.rdpListener;
  const mine = (l: Listener) => l.pid === ts.pid && l.port === rl.port;
  if (effectiveDenyTSConnections(g) !== 0) {
    g.listeners = g.listeners.filter((l) => !mine(l));
    rl.failed = false;
    rl.conflictPid = undefined;
    return;
  }
  if (g.listeners.some(mine) || rl.failed) return;
  const holder = g.listeners.find((l) => l.proto === 'TCP' && l.port === rl.port && l.pid !== ts.pid);
  if (holder) {
    rl.failed = true;
    rl.conflictPid = holder.pid;
    return;
  }
  for (const proto of ['TCP', 'UDP'] as const)
    for (const address of ['0.0.0.0', '[::]'] as const) g.listeners.push({ proto, address, port: rl.port, pid: ts.pid });
  addEvent(g, LOG_RCM, {
    id: 258,
    source: 'Microsoft-Windows-TerminalServices-RemoteConnectionManager',
    level: 'Information',
    description: 'Listener RDP-Tcp has started listening',
  });
}

// ------------------------------------------------------------------------------------------------
// Mutators used by cmd.ts / sac.ts (they journal)
// ------------------------------------------------------------------------------------------------

export function setServiceState(g: Guest, svc: Service, state: ServiceState, actor: Actor): void {
  const before = svc.state;
  svc.state = state;
  if (state === 'STOPPED') svc.exitCode = 0;
  if (state === 'RUNNING') svc.rdpListener = undefined; // a fresh start reads PortNumber again
  journal(g, actor, { kind: 'service', target: `${svc.name}.state`, before, after: state, noop: before === state });
  reconcile(g);
}

export function setStartType(g: Guest, svc: Service, t: StartType, actor: Actor): void {
  const before = svc.startType;
  svc.startType = t;
  journal(g, actor, { kind: 'service', target: `${svc.name}.startType`, before, after: t, noop: before === t });
}

export function setRuleEnabled(g: Guest, rule: FirewallRule, enabled: boolean, actor: Actor): void {
  const before = rule.enabled;
  rule.enabled = enabled;
  journal(g, actor, { kind: 'firewall', target: `rule:${rule.name}.enabled`, before, after: enabled, noop: before === enabled });
}

export function addFirewallRule(g: Guest, rule: FirewallRule, actor: Actor): void {
  g.firewall.rules.push(rule);
  journal(g, actor, { kind: 'firewall', target: `rule:${rule.name}`, before: undefined, after: { ...rule } });
}

export function setProfileState(g: Guest, profile: keyof Guest['firewall']['profiles'], on: boolean, actor: Actor): void {
  const before = g.firewall.profiles[profile];
  g.firewall.profiles[profile] = on;
  journal(g, actor, { kind: 'firewall', target: `profile:${profile}`, before, after: on, noop: before === on });
}

export function addGroupMember(g: Guest, group: string, user: string, actor: Actor): void {
  const grp = findGroup(g, group)!;
  grp[1].members.push(user);
  journal(g, actor, { kind: 'group', target: `${grp[0]}`, before: undefined, after: `+${user}` });
}

export function removeGroupMember(g: Guest, group: string, user: string, actor: Actor): void {
  const grp = findGroup(g, group)!;
  grp[1].members = grp[1].members.filter((m) => m.toLowerCase() !== user.toLowerCase());
  journal(g, actor, { kind: 'group', target: `${grp[0]}`, before: `${user}`, after: `-${user}` });
}

export function setAccountEnabled(g: Guest, acct: Account, enabled: boolean, actor: Actor): void {
  const before = acct.enabled;
  acct.enabled = enabled;
  journal(g, actor, { kind: 'account', target: `${acct.name}.enabled`, before, after: enabled, noop: before === enabled });
}

export function setAccountPassword(g: Guest, acct: Account, password: string, actor: Actor): void {
  acct.password = password;
  journal(g, actor, { kind: 'account', target: `${acct.name}.password`, after: '(changed)' });
}

/** Ends a process: the services it hosts stop (as after a crash) and its listeners go. */
export function killProcess(g: Guest, pid: number, actor: Actor): boolean {
  const p = g.processes.find((x) => x.pid === pid);
  if (!p) return false;
  g.processes = g.processes.filter((x) => x !== p);
  for (const name of p.services) {
    const svc = g.services[name];
    if (svc && svc.state === 'RUNNING') {
      svc.state = 'STOPPED';
      svc.exitCode = 1067;
    }
  }
  journal(g, actor, { kind: 'process', target: `pid:${pid}`, before: p.image, after: '(terminated)' });
  reconcile(g);
  return true;
}

export function writeFile(g: Guest, path: string, content: string, actor: Actor, append = false): void {
  const k = path.toLowerCase();
  const before = g.files[k];
  g.files[k] = append && before !== undefined ? before + content : content;
  journal(g, actor, { kind: 'file', target: path, before: before === undefined ? undefined : '(existing)', after: `${g.files[k].length} chars` });
}

/** What a boot does to the model: services per start type, the GPO applied, pids renewed. */
export function rebootGuest(g: Guest): void {
  for (const svc of Object.values(g.services)) {
    if (svc.state === 'RUNNING' && svc.pid !== undefined) killQuiet(g, svc.pid);
    svc.pid = undefined;
    svc.rdpListener = undefined;
    if (svc.startType === 'auto' || svc.startType === 'delayed-auto') svc.state = 'RUNNING';
    else if (svc.startType === 'disabled') svc.state = 'STOPPED';
    // demand: TermService is started at boot by its triggers on Windows Server [assumption]; others keep their state
    else if (svc.name === 'TermService') svc.state = 'RUNNING';
    if (svc.state === 'STOPPED') svc.exitCode = 1077;
  }
  g.processes = g.processes.filter((p) => !['sacsess.exe', 'cmd.exe', 'conhost.exe'].includes(p.image.toLowerCase()));
  gpoRefresh(g);
  reconcile(g);
}

function killQuiet(g: Guest, pid: number): void {
  g.processes = g.processes.filter((p) => p.pid !== pid);
  g.listeners = g.listeners.filter((l) => l.pid !== pid);
}

// ------------------------------------------------------------------------------------------------
// Factory
// ------------------------------------------------------------------------------------------------

export interface HealthyGuestOptions {
  hostname?: string;
  /** Administrator's password (default 'Adm1n-Passw0rd!'). */
  adminPassword?: string;
  /** A non-admin RDP user in "Remote Desktop Users" (default alice / 'Al1ce-Passw0rd!'). */
  rdpUser?: { name: string; password: string };
  os?: { version: string; productName: string };
}

const REMOTE_DESKTOP = 'Remote Desktop';

function baseRules(): FirewallRule[] {
  return [
    {
      name: 'Remote Desktop - User Mode (TCP-In)',
      group: REMOTE_DESKTOP,
      enabled: true,
      direction: 'In',
      profiles: 'Domain,Private,Public',
      protocol: 'TCP',
      localPort: '3389',
      remotePort: 'Any',
      action: 'Allow',
      program: '%SystemRoot%\\system32\\svchost.exe',
      service: 'termservice',
      description: 'Inbound rule for the Remote Desktop service to allow RDP traffic. [TCP 3389]',
      edgeTraversal: 'No',
    },
    {
      name: 'Remote Desktop - User Mode (UDP-In)',
      group: REMOTE_DESKTOP,
      enabled: true,
      direction: 'In',
      profiles: 'Domain,Private,Public',
      protocol: 'UDP',
      localPort: '3389',
      remotePort: 'Any',
      action: 'Allow',
      program: '%SystemRoot%\\system32\\svchost.exe',
      service: 'termservice',
      description: 'Inbound rule for the Remote Desktop service to allow RDP traffic. [UDP 3389]',
      edgeTraversal: 'No',
    },
    {
      name: 'Remote Desktop - Shadow (TCP-In)',
      group: REMOTE_DESKTOP,
      enabled: true,
      direction: 'In',
      profiles: 'Domain,Private,Public',
      protocol: 'TCP',
      localPort: 'Any',
      remotePort: 'Any',
      action: 'Allow',
      program: '%SystemRoot%\\system32\\RdpSa.exe',
      service: 'Any',
      description: 'Inbound rule for the Remote Desktop service to allow shadowing of an existing Remote Desktop session. (TCP-In)',
      edgeTraversal: 'No',
    },
    {
      name: 'Windows Remote Management (HTTP-In)',
      group: 'Windows Remote Management',
      enabled: true,
      direction: 'In',
      profiles: 'Domain,Private,Public',
      protocol: 'TCP',
      localPort: '5985',
      remotePort: 'Any',
      action: 'Allow',
      program: 'System',
      service: 'Any',
      description: 'Inbound rule for Windows Remote Management via WS-Management. [TCP 5985]',
      edgeTraversal: 'No',
    },
  ];
}

function service(
  name: string,
  displayName: string,
  startType: StartType,
  binaryPath: string,
  startName: string,
  dependencies: string[],
  pid: number,
): Service {
  return { name, displayName, state: 'RUNNING', startType, binaryPath, startName, dependencies, pid, exitCode: 0 };
}

/** A guest on which Remote Desktop works: every check of the field guide's layer 2 passes. */
export function healthyGuest(opts: HealthyGuestOptions = {}): Guest {
  const rdpUser = opts.rdpUser ?? { name: 'alice', password: 'Al1ce-Passw0rd!' };
  const svchost = 'C:\\Windows\\System32\\svchost.exe';
  const services: Record<string, Service> = {
    TermService: service('TermService', 'Remote Desktop Services', 'demand', `${svchost} -k NetworkService`, 'NT Authority\\NetworkService', ['RPCSS'], 1040),
    UmRdpService: service(
      'UmRdpService',
      'Remote Desktop Services UserMode Port Redirector',
      'demand',
      `${svchost} -k LocalSystemNetworkRestricted -p`,
      'localSystem',
      ['TermService', 'RDPDR'],
      1092,
    ),
    SessionEnv: service('SessionEnv', 'Remote Desktop Configuration', 'demand', `${svchost} -k netsvcs -p`, 'localSystem', ['RPCSS', 'LanmanWorkstation'], 1144),
    MpsSvc: service(
      'MpsSvc',
      'Windows Defender Firewall',
      'auto',
      'C:\\Windows\\system32\\svchost.exe -k LocalServiceNoNetworkFirewall -p',
      'NT Authority\\LocalService',
      ['mpsdrv', 'bfe'],
      1772,
    ),
    sacsvr: service('sacsvr', 'Special Administration Console Helper', 'auto', `${svchost} -k netsvcs -p`, 'LocalSystem', [], 1860),
  };
  const processes: Process[] = [
    { pid: 0, image: 'System Idle Process', services: [], session: 0, memK: 8 },
    { pid: 4, image: 'System', services: [], session: 0, memK: 144 },
    { pid: 100, image: 'Registry', services: [], session: 0, memK: 48712 },
    { pid: 340, image: 'smss.exe', services: [], session: 0, memK: 1204 },
    { pid: 452, image: 'csrss.exe', services: [], session: 0, memK: 5412 },
    { pid: 536, image: 'wininit.exe', services: [], session: 0, memK: 6920 },
    { pid: 676, image: 'services.exe', services: [], session: 0, memK: 9824 },
    { pid: 688, image: 'lsass.exe', services: ['KeyIso', 'SamSs'], session: 0, memK: 18340 },
    { pid: 812, image: 'svchost.exe', services: ['BrokerInfrastructure', 'DcomLaunch', 'PlugPlay', 'Power'], session: 0, memK: 21448 },
    { pid: 900, image: 'svchost.exe', services: ['RpcEptMapper', 'RpcSs'], session: 0, memK: 12004 },
    { pid: 1040, image: 'svchost.exe', services: ['TermService'], session: 0, memK: 15320 },
    { pid: 1092, image: 'svchost.exe', services: ['UmRdpService'], session: 0, memK: 7788 },
    { pid: 1144, image: 'svchost.exe', services: ['SessionEnv'], session: 0, memK: 8120 },
    { pid: 1772, image: 'svchost.exe', services: ['MpsSvc'], session: 0, memK: 10456 },
    { pid: 1860, image: 'svchost.exe', services: ['sacsvr'], session: 0, memK: 6232 },
    { pid: 2020, image: 'GCEWindowsAgent.exe', services: ['GCEAgent'], session: 0, memK: 22104 },
    { pid: 2404, image: 'csrss.exe', services: [], session: 1, memK: 4880 },
    { pid: 2476, image: 'winlogon.exe', services: [], session: 1, memK: 9940 },
    { pid: 2532, image: 'LogonUI.exe', services: [], session: 1, memK: 48210 },
    { pid: 2588, image: 'dwm.exe', services: [], session: 1, memK: 35620 },
  ];
  const listeners: Listener[] = [
    { proto: 'TCP', address: '0.0.0.0', port: 135, pid: 900 },
    { proto: 'TCP', address: '0.0.0.0', port: 445, pid: 4 },
    { proto: 'TCP', address: '0.0.0.0', port: 5985, pid: 4 },
    { proto: 'TCP', address: '0.0.0.0', port: 47001, pid: 4 },
    { proto: 'TCP', address: '0.0.0.0', port: 49664, pid: 688 },
    { proto: 'TCP', address: '0.0.0.0', port: 49665, pid: 536 },
    { proto: 'TCP', address: '[::]', port: 135, pid: 900 },
    { proto: 'TCP', address: '[::]', port: 445, pid: 4 },
    { proto: 'TCP', address: '[::]', port: 5985, pid: 4 },
    { proto: 'UDP', address: '0.0.0.0', port: 123, pid: 1144 },
    { proto: 'TCP', address: '0.0.0.0', port: 3389, pid: 1040 },
    { proto: 'TCP', address: '[::]', port: 3389, pid: 1040 },
    { proto: 'UDP', address: '0.0.0.0', port: 3389, pid: 1040 },
    { proto: 'UDP', address: '[::]', port: 3389, pid: 1040 },
  ];
  services.TermService.rdpListener = { port: 3389, failed: false };
  const registry: Registry = {
    [KEY_TS]: {
      fDenyTSConnections: { type: 'REG_DWORD', data: 0 },
      fSingleSessionPerUser: { type: 'REG_DWORD', data: 1 },
      TSUserEnabled: { type: 'REG_DWORD', data: 0 },
    },
    [KEY_WINSTATIONS]: { ColorDepth: { type: 'REG_DWORD', data: 5 } },
    [KEY_RDPTCP]: {
      fEnableWinStation: { type: 'REG_DWORD', data: 1 },
      LoadableProtocol_Object: { type: 'REG_SZ', data: '{5828227c-20cf-4408-b73f-73ab70b8849f}' },
      MaxInstanceCount: { type: 'REG_DWORD', data: 0xffffffff },
      MinEncryptionLevel: { type: 'REG_DWORD', data: 2 },
      PortNumber: { type: 'REG_DWORD', data: 3389 },
      SecurityLayer: { type: 'REG_DWORD', data: 2 },
      UserAuthentication: { type: 'REG_DWORD', data: 1 },
      fAllowSecProtocolNegotiation: { type: 'REG_DWORD', data: 1 },
    },
  };
  const g: Guest = {
    hostname: opts.hostname ?? 'win-vm',
    os: opts.os ?? { version: '10.0.20348.2527', productName: 'Windows Server 2022 Datacenter' },
    network: { ip: '10.128.0.5', subnet: '255.255.255.255', gateway: '10.128.0.1', dnsSuffix: 'us-central1-a.c.test-project.internal' },
    services,
    registry,
    firewall: { profiles: { Domain: true, Private: true, Public: true }, activeProfile: 'Public', rules: baseRules() },
    listeners,
    processes,
    groups: {
      Administrators: { comment: 'Administrators have complete and unrestricted access to the computer/domain', members: ['Administrator'] },
      'Remote Desktop Users': { comment: 'Members in this group are granted the right to logon remotely', members: [rdpUser.name] },
      Users: { comment: 'Users are prevented from making accidental or intentional system-wide changes and can run most applications', members: ['NT AUTHORITY\\Authenticated Users', 'NT AUTHORITY\\INTERACTIVE', rdpUser.name] },
      'Remote Management Users': { comment: 'Members of this group can access WMI resources over management protocols (such as WS-Management via the Windows Remote Management service). This applies only to WMI namespaces that grant access to the user.', members: [] },
      Guests: { comment: 'Guests have the same access as members of the Users group by default, except for the Guest account which is further restricted', members: ['Guest'] },
    },
    accounts: {
      Administrator: { name: 'Administrator', password: opts.adminPassword ?? 'Adm1n-Passw0rd!', enabled: true },
      [rdpUser.name]: { name: rdpUser.name, password: rdpUser.password, enabled: true },
      Guest: { name: 'Guest', password: '', enabled: false },
      DefaultAccount: { name: 'DefaultAccount', password: '', enabled: false },
      WDAGUtilityAccount: { name: 'WDAGUtilityAccount', password: '', enabled: false },
    },
    eventLog: {
      [LOG_RCM]: [
        { date: '2024-05-01T09:58:02.114', id: 258, source: 'Microsoft-Windows-TerminalServices-RemoteConnectionManager', level: 'Information', description: 'Listener RDP-Tcp has started listening' },
        { date: '2024-05-01T10:12:13.123', id: 261, source: 'Microsoft-Windows-TerminalServices-RemoteConnectionManager', level: 'Information', description: 'Listener RDP-Tcp received a connection' },
        {
          date: '2024-05-01T10:12:14.456',
          id: 1149,
          source: 'Microsoft-Windows-TerminalServices-RemoteConnectionManager',
          level: 'Information',
          description: `Remote Desktop Services: User authentication succeeded:\r\n\r\nUser: ${rdpUser.name}\r\nDomain: \r\nSource Network Address: 203.0.113.7`,
        },
      ],
      System: [],
      Application: [],
    },
    files: {},
    gpo: [],
    power: { state: 'running', restarts: 0, shutdowns: 0, crashdumps: 0 },
    nextPid: 3104,
    journal: { commands: [], changes: [] },
  };
  reconcile(g);
  return g;
}

// ------------------------------------------------------------------------------------------------
// Faults
// ------------------------------------------------------------------------------------------------

export type GuestFault =
  | 'rdpDisabled'
  | 'serviceStopped'
  | 'serviceDisabled'
  | 'firewallRuleOff'
  | 'portChanged'
  | 'portConflict'
  | 'gpoDeny'
  | 'securityLayerRdp'
  | 'nlaOff'
  | 'userNotInRdpGroup'
  | 'credSspOracle';

export interface FaultOptions {
  /** portChanged: the new PortNumber (default 3390). portConflict: the port java.exe holds (default 3389). */
  port?: number;
  /** userNotInRdpGroup: the user to take out (default: every non-admin member). */
  user?: string;
}

const SYS: Actor = { by: 'system' };

/**
 * Breaks the guest the named way, as the VM would look after it happened and (where it matters) a reboot.
 * Not journalled: the journal holds only what the client (and the GPO) did.
 */
export function applyFault(g: Guest, fault: GuestFault, o: FaultOptions = {}): Guest {
  switch (fault) {
    case 'rdpDisabled':
      regSet(g, KEY_TS, 'fDenyTSConnections', { type: 'REG_DWORD', data: 1 }, SYS);
      break;
    case 'serviceStopped':
      for (const n of ['UmRdpService', 'TermService']) {
        g.services[n].state = 'STOPPED';
        g.services[n].exitCode = 0;
      }
      break;
    case 'serviceDisabled':
      for (const n of ['UmRdpService', 'TermService']) {
        g.services[n].state = 'STOPPED';
        g.services[n].exitCode = 1077;
      }
      g.services.TermService.startType = 'disabled';
      break;
    case 'firewallRuleOff':
      for (const r of g.firewall.rules) if (r.name.startsWith('Remote Desktop - User Mode')) r.enabled = false;
      break;
    case 'portChanged': {
      const port = o.port ?? 3390;
      regSet(g, KEY_RDPTCP, 'PortNumber', { type: 'REG_DWORD', data: port }, SYS);
      g.services.TermService.rdpListener = undefined; // as after the restart that made it take effect
      g.listeners = g.listeners.filter((l) => l.pid !== g.services.TermService.pid);
      break;
    }
    case 'portConflict': {
      const port = o.port ?? 3389;
      const ts = g.services.TermService;
      g.listeners = g.listeners.filter((l) => l.pid !== ts.pid);
      const java = spawnProcess(g, 'java.exe', [], 0, 412880);
      g.listeners.push({ proto: 'TCP', address: '0.0.0.0', port, pid: java.pid }, { proto: 'TCP', address: '[::]', port, pid: java.pid });
      ts.rdpListener = undefined; // TermService (re)started after java.exe took the port
      break;
    }
    case 'gpoDeny': {
      const v: GpoValue = { key: KEY_TS_POLICY, name: 'fDenyTSConnections', value: { type: 'REG_DWORD', data: 1 } };
      g.gpo.push(v);
      regSet(g, v.key, v.name, v.value, SYS);
      break;
    }
    case 'securityLayerRdp':
      regSet(g, KEY_RDPTCP, 'SecurityLayer', { type: 'REG_DWORD', data: 0 }, SYS);
      break;
    case 'nlaOff':
      regSet(g, KEY_RDPTCP, 'UserAuthentication', { type: 'REG_DWORD', data: 0 }, SYS);
      break;
    case 'userNotInRdpGroup': {
      const grp = g.groups['Remote Desktop Users'];
      grp.members = o.user ? grp.members.filter((m) => m.toLowerCase() !== o.user!.toLowerCase()) : [];
      break;
    }
    case 'credSspOracle':
      regSet(g, KEY_CREDSSP, 'AllowEncryptionOracle', { type: 'REG_DWORD', data: 2 }, SYS);
      break;
  }
  reconcile(g);
  return g;
}

// ------------------------------------------------------------------------------------------------
// Read-back helpers for tests
// ------------------------------------------------------------------------------------------------

export interface RdpHealth {
  serviceRunning: boolean;
  /** Effective fDenyTSConnections (policy wins) is 0. */
  allowed: boolean;
  /** The policy twin exists and denies. */
  policyDenies: boolean;
  /** PortNumber in the registry. */
  portNumber: number;
  /** The port TermService's svchost listens on (TCP), if any. */
  listeningPort?: number;
  listenerPid?: number;
  /** Another process holds the port TermService wanted. */
  conflictPid?: number;
  /** An enabled inbound allow rule covers TCP listeningPort (or the firewall is off for the active profile). */
  firewallAllows: boolean;
  securityLayer?: number;
  nla: boolean;
  allowEncryptionOracle?: number;
  /** When `user` was given: an enabled account in Administrators or Remote Desktop Users. */
  userAllowed?: boolean;
  /** Service + allowed + listening + firewall (+ user). */
  ok: boolean;
}

function portMatches(spec: string, port: number): boolean {
  if (/^any$/i.test(spec)) return true;
  return spec.split(',').some((p) => {
    const m = /^(\d+)-(\d+)$/.exec(p.trim());
    return m ? port >= +m[1] && port <= +m[2] : +p.trim() === port;
  });
}

function profileMatches(spec: string, profile: string): boolean {
  return /^any$/i.test(spec) || spec.split(',').some((p) => p.trim().toLowerCase() === profile.toLowerCase());
}

export function firewallAllowsTcp(g: Guest, port: number): boolean {
  if (!g.firewall.profiles[g.firewall.activeProfile]) return true;
  if (g.services.MpsSvc && g.services.MpsSvc.state !== 'RUNNING') return false; // stopping MpsSvc blocks inbound (BFE default)
  // a rule scoped to another program (the Shadow rule: RdpSa.exe) does not admit traffic to TermService's svchost
  const forTermService = (r: FirewallRule) => !r.program || /^any$/i.test(r.program) || /svchost\.exe$/i.test(r.program);
  const relevant = g.firewall.rules.filter(
    (r) =>
      r.enabled &&
      r.direction === 'In' &&
      (r.protocol === 'TCP' || r.protocol === 'Any') &&
      portMatches(r.localPort, port) &&
      profileMatches(r.profiles, g.firewall.activeProfile) &&
      (r.action === 'Block' || forTermService(r)),
  );
  if (relevant.some((r) => r.action === 'Block')) return false;
  return relevant.some((r) => r.action === 'Allow');
}

export function rdpHealth(g: Guest, user?: string): RdpHealth {
  reconcile(g);
  const ts = g.services.TermService;
  const l = g.listeners.find((x) => x.proto === 'TCP' && x.pid === ts.pid && ts.pid !== undefined);
  const pol = regDword(g, KEY_TS_POLICY, 'fDenyTSConnections');
  const acct = user ? findAccount(g, user) : undefined;
  const h: RdpHealth = {
    serviceRunning: ts.state === 'RUNNING',
    allowed: effectiveDenyTSConnections(g) === 0,
    policyDenies: pol !== undefined && pol !== 0,
    portNumber: rdpPortNumber(g),
    listeningPort: l?.port,
    listenerPid: l?.pid,
    conflictPid: ts.rdpListener?.conflictPid,
    firewallAllows: l ? firewallAllowsTcp(g, l.port) : false,
    securityLayer: regDword(g, KEY_RDPTCP, 'SecurityLayer'),
    nla: (regDword(g, KEY_RDPTCP, 'UserAuthentication') ?? 0) !== 0,
    allowEncryptionOracle: regDword(g, KEY_CREDSSP, 'AllowEncryptionOracle'),
    ok: false,
  };
  if (user) h.userAllowed = !!acct && acct.enabled && (isAdmin(g, acct.name) || isMember(g, 'Remote Desktop Users', acct.name));
  h.ok = h.serviceRunning && h.allowed && h.listeningPort !== undefined && h.firewallAllows && (h.userAllowed ?? true);
  return h;
}

/** Changes the client made (GPO refreshes excluded). A healthy guest a client only inspected has none. */
export function clientChanges(g: Guest): JournalChange[] {
  return g.journal.changes.filter((c) => c.by === 'client');
}
