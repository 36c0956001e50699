// One pass over the layer-2 checks, in an order where each answer informs the next (the port before who holds
// it). The commands run through `run` (the SAC channel); this file decides nothing about how they travel.
import { CHECKS, judgeOwner, ownerCommand, type CheckResult, type CommandOutput, type Facts } from './checks.js';

export type Runner = (command: string) => Promise<CommandOutput>;

export async function diagnoseGuest(run: Runner): Promise<CheckResult[]> {
  const facts: Facts = { port: 3389 };
  const results: CheckResult[] = [];
  const byId = new Map(CHECKS.map((c) => [c.id, c]));
  const order = ['port', ...CHECKS.map((c) => c.id).filter((id) => id !== 'port')];
  for (const id of order) {
    const check = byId.get(id)!;
    let r: CheckResult;
    try {
      r = check.judge(await run(check.command(facts)), facts);
    } catch (e) {
      if ((e as { kind?: string }).kind === 'closed') throw e;
      r = { id: check.id, title: check.title, observed: `could not run: ${(e as Error).message}`, healthy: '', status: 'unknown' };
    }
    if (id === 'port' && /^\d+$/.test(r.observed)) facts.port = Number(r.observed);
    if (id === 'port-owner' && r.observed.startsWith('pid ')) {
      const pid = r.observed.slice(4).split(',')[0].trim();
      Object.assign(r, judgeOwner(await run(ownerCommand(pid)), pid));
    }
    results.push(r);
  }
  return results;
}

/** The checks in the order a user reads them (as the field guide lists them). */
export function inGuideOrder(results: CheckResult[]): CheckResult[] {
  const rank = new Map(CHECKS.map((c, i) => [c.id, i]));
  return [...results].sort((a, b) => (rank.get(a.id) ?? 99) - (rank.get(b.id) ?? 99));
}
