// From a diagnosis to a plan: the fewest known commands that make the guest healthy, in an order that works
// (registry first, with RDP-Tcp exported before any change under it; the firewall; the service last, so it
// starts with the new values). Weakening steps - restarting TermService, which drops sessions - only with their
// own flag. What must not be fought (a GPO) or cannot be fixed from here (a foreign program on the port) is left
// as a note. Pure: nothing runs here.
import { NLA_OFF, RDPTCP, RESTART_TERMSERVICE, backupCommand, type CheckResult, type FixStep } from './checks.js';

export interface PlanOptions {
  /** --restart-service: allow the restart a changed PortNumber or SecurityLayer needs (drops sessions). */
  restartService: boolean;
  /** A timestamp for the backup file name. */
  stamp: string;
  /** --nla-off: turn NLA off as a diagnosis step (weakening; the next plan turns it back on). */
  nlaOff?: boolean;
}

export interface GuestPlan {
  steps: FixStep[];
  /** Problems the plan leaves alone, and why. */
  leftAlone: { check: string; why: string }[];
  /** Steps left out because they need a flag. */
  needsFlag: { step: FixStep; flag: string }[];
}

const ORDER = ['set-fDenyTSConnections', 'set-PortNumber', 'set-SecurityLayer', 'set-UserAuthentication', 'enable-firewall-rule', 'start-TermService', 'start-UmRdpService'];

export function planGuestFixes(results: CheckResult[], o: PlanOptions): GuestPlan {
  const problems = results.filter((r) => r.status === 'problem');
  // A missing listener or nobody on the port follows from the other problems; the check after the fixes says
  // whether it is still so. A foreign program on the port is a problem of its own (it has a note).
  const derived = (r: CheckResult) => r.id === 'listener' || (r.id === 'port-owner' && !r.note);
  const leftAlone = problems.filter((r) => !r.fix && !derived(r)).map((r) => ({ check: r.title, why: r.note ?? 'rdpcloud knows no safe command for it' }));
  // A GPO that denies RDP rewrites the local value: changing it would not last, so the value is left alone too.
  const gpo = results.some((r) => r.id === 'fdeny-policy' && r.status === 'problem');
  const fixes = problems.filter((r) => r.fix && !(gpo && r.id === 'fdeny')).map((r) => r.fix!);
  if (gpo && problems.some((r) => r.id === 'fdeny')) leftAlone.push({ check: 'Remote Desktop allowed (fDenyTSConnections)', why: 'Group Policy enforces it: fix the GPO, not the local value' });
  fixes.sort((a, b) => ORDER.indexOf(a.id) - ORDER.indexOf(b.id));
  const steps: FixStep[] = [];
  const needsFlag: GuestPlan['needsFlag'] = [];
  if (fixes.some((f) => f.command.includes(RDPTCP))) steps.push(backupCommand(o.stamp));
  steps.push(...fixes);
  // A new PortNumber or SecurityLayer takes effect only when the service restarts; a stopped service just starts.
  if (o.nlaOff && results.find((r) => r.id === 'nla')?.observed === '1') {
    if (!steps.some((x) => x.id === 'backup')) steps.unshift(backupCommand(o.stamp));
    steps.push(NLA_OFF);
  }
  const running = results.find((r) => r.id === 'termservice')?.observed === 'RUNNING';
  if (running && fixes.some((f) => f.id === 'set-PortNumber' || f.id === 'set-SecurityLayer')) {
    if (o.restartService) steps.push(RESTART_TERMSERVICE);
    else needsFlag.push({ step: RESTART_TERMSERVICE, flag: '--restart-service' });
  }
  return { steps, leftAlone, needsFlag };
}
