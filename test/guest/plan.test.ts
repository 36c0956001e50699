// From a diagnosis to a plan (../../../shared/docs/rdp-field-guide.md layer 2): the backup before any RDP-Tcp
// change, the service last, a GPO left alone, a restart only with its flag, nothing on a healthy guest.
import { describe, expect, it } from 'vitest';
import { CHECKS, type CheckResult } from '../../src/guest/checks.js';
import { planGuestFixes } from '../../src/guest/plan.js';

const healthy = (): CheckResult[] => CHECKS.map((c) => ({ id: c.id, title: c.title, observed: c.id === 'termservice' ? 'RUNNING' : 'ok', healthy: '', status: c.id === 'rdp-users' || c.id === 'port-owner' ? 'info' : 'ok' }));
const broken = (id: string, fixId?: string, extra: Partial<CheckResult> = {}): CheckResult[] =>
  healthy().map((r) => (r.id === id ? { ...r, status: 'problem', ...(fixId ? { fix: { id: fixId, title: fixId, command: `cmd-${fixId}`, undo: `undo-${fixId}` } } : {}), ...extra } : r));
const o = { restartService: false, stamp: '20261202T0100Z' };

describe('guest fix plans', () => {
  it('a healthy guest gets no step', () => {
    expect(planGuestFixes(healthy(), o)).toEqual({ steps: [], leftAlone: [], needsFlag: [] });
  });
  it('RDP disabled: one registry step, no backup needed outside RDP-Tcp', () => {
    const p = planGuestFixes(broken('fdeny', 'set-fDenyTSConnections'), o);
    expect(p.steps.map((s) => s.id)).toEqual(['set-fDenyTSConnections']);
  });
  it('a GPO-enforced deny is left alone, local value included', () => {
    const r = broken('fdeny', 'set-fDenyTSConnections').map((x) => (x.id === 'fdeny-policy' ? { ...x, status: 'problem' as const, note: 'a Group Policy denies it' } : x));
    const p = planGuestFixes(r, o);
    expect(p.steps).toEqual([]);
    expect(p.leftAlone.map((l) => l.check)).toEqual(expect.arrayContaining(['fDenyTSConnections enforced by Group Policy', 'Remote Desktop allowed (fDenyTSConnections)']));
  });
  it('PortNumber changed on a running service: export RDP-Tcp first; the restart waits for --restart-service', () => {
    const r = broken('port', 'set-PortNumber', { fix: { id: 'set-PortNumber', title: 'set PortNumber', command: 'reg add "HKLM\\SYSTEM\\CurrentControlSet\\Control\\Terminal Server\\WinStations\\RDP-Tcp" /v PortNumber /t REG_DWORD /d 3389 /f', undo: 'x' } });
    const p = planGuestFixes(r, o);
    expect(p.steps.map((s) => s.id)).toEqual(['backup', 'set-PortNumber']);
    expect(p.needsFlag.map((n) => n.flag)).toEqual(['--restart-service']);
    expect(planGuestFixes(r, { ...o, restartService: true }).steps.map((s) => s.id)).toEqual(['backup', 'set-PortNumber', 'restart-TermService']);
  });
  it('service stopped and firewall off: the firewall first, the service last', () => {
    const r = broken('termservice', 'start-TermService', { observed: 'STOPPED' }).map((x) => (x.id === 'firewall' ? { ...x, status: 'problem' as const, fix: { id: 'enable-firewall-rule', title: 'fw', command: 'fw', undo: 'u' } } : x));
    expect(planGuestFixes(r, o).steps.map((s) => s.id)).toEqual(['enable-firewall-rule', 'start-TermService']);
  });
  it('another program on the port is left alone with its note; a missing listener is a consequence, not a step', () => {
    const r = broken('port-owner', undefined, { note: 'another program (java.exe) holds the RDP port' }).map((x) => (x.id === 'listener' ? { ...x, status: 'problem' as const } : x));
    const p = planGuestFixes(r, o);
    expect(p.steps).toEqual([]);
    expect(p.leftAlone).toEqual([{ check: 'who listens on the RDP port', why: 'another program (java.exe) holds the RDP port' }]);
  });
});
