// The cloud side of `fix` on GCP: when the fix source (default `iap`) cannot reach tcp:3389, one narrow ingress
// rule for exactly that source, targeting the instance through the network tag `rdpcloud-rdp`, placed above the
// VPC deny that stops it (interface.md "Fix safety"). Never the whole internet unless asked in so many words; a
// hierarchical or network-policy deny is not something a VPC rule can override, and is reported instead.
import type { Instance } from '../model/inventory.js';
import type { Result } from '../model/results.js';
import { AddressSet } from './addresses.js';
import { INTERNET } from './sources.js';

export const FIX_TAG = 'rdpcloud-rdp';

export interface CloudFix {
  /** The project that owns the network (the Shared VPC host for a service project's VM). */
  project: string;
  firewall: { name: string; network: string; priority: number; sourceRanges: string[]; allowed: { IPProtocol: string; ports: string[] }[]; targetTags: string[]; description: string };
  tag: string;
  /** What the plan shows. */
  title: string;
}

export type CloudPlan = { fix: CloudFix } | { nothing: string } | { leftAlone: string };

export class WorldOpenRefused extends Error {}

function networkOf(instance: Instance): { project: string; network: string } {
  const url = instance.nics[0]?.network ?? '';
  const m = /projects\/([^/]+)\/global\/networks\/([^/?]+)/.exec(url);
  return m ? { project: m[1], network: m[2] } : { project: instance.scope, network: url.split('/').pop() || 'default' };
}

/** Refuses a source that is all of a family's public space, unless `allowWorld`. */
export function checkNotWorld(cidrs: string[], allowWorld: boolean): void {
  const s = AddressSet.of(cidrs);
  const world = s.covers(INTERNET.only(4)) || s.covers(INTERNET.only(6));
  if (world && !allowWorld) throw new WorldOpenRefused(`the fix source ${cidrs.join(', ')} is the whole internet: rdpcloud never opens tcp:3389 to the world unless you ask with --allow-world`);
}

export function planCloudFix(instance: Instance, result: Result, sourceCidrs: string[], o: { allowWorld: boolean }): CloudPlan {
  if (result.verdict === 'reachable') return { nothing: `tcp:${result.port} already gets through from ${result.source}` };
  if (result.verdict === 'unknown') return { leftAlone: `whether ${result.source} gets through cannot be told (a layer could not be read): nothing is changed on a guess` };
  if (result.reasons.some((r) => r.layer === 'address')) return { leftAlone: `the source ${result.source} needs an address the instance does not have: a firewall rule cannot help` };
  const denies = result.reasons.filter((r) => r.action === 'deny');
  const policy = denies.find((r) => r.ruleSet && !r.ruleSet.startsWith('VPC firewall rules') && r.rule !== 'implied deny ingress');
  if (policy) return { leftAlone: `${policy.ruleSet} denies it with "${policy.rule}" (priority ${policy.priority}): a VPC rule cannot override a policy evaluated before it; ask its owners` };
  checkNotWorld(sourceCidrs, o.allowWorld);
  const vpcDeny = denies.find((r) => r.priority !== undefined && r.rule !== 'implied deny ingress');
  if (vpcDeny?.priority === 0) return { leftAlone: `${vpcDeny.rule} denies it at priority 0: nothing can be placed above it` };
  const priority = vpcDeny?.priority !== undefined ? vpcDeny.priority - 1 : 1000;
  const { project, network } = networkOf(instance);
  const name = result.source === 'iap' ? 'rdpcloud-allow-rdp-iap' : 'rdpcloud-allow-rdp';
  return {
    fix: {
      project,
      tag: FIX_TAG,
      firewall: { name, network, priority, sourceRanges: sourceCidrs, allowed: [{ IPProtocol: 'tcp', ports: [String(result.port)] }], targetTags: [FIX_TAG], description: `rdpcloud fix: tcp:${result.port} from ${result.source} for instances tagged ${FIX_TAG}` },
      title: `create firewall rule ${name} in ${project}/${network}: allow tcp:${result.port} from ${sourceCidrs.join(', ')} to tag ${FIX_TAG} at priority ${priority}${vpcDeny ? ` (above ${vpcDeny.rule})` : ''}, and tag ${instance.name} with ${FIX_TAG}`,
    },
  };
}
