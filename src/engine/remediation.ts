// "The one change that fixes it": from a verdict and its reasons, the narrowest change a user can make,
// as the cloud's own CLI command. Built from the inventory's names, never from free text a user typed.
import type { Instance } from '../model/inventory.js';
import type { Result } from '../model/results.js';
import { IAP_RANGE } from './sources.js';

export interface Remedy {
  summary: string;
  commands: string[];
}

const RUNNING = new Set(['RUNNING', 'running', 'PowerState/running']);

function q(s: string): string {
  return /^[A-Za-z0-9_./:@=,-]+$/.test(s) ? s : `'${s.replace(/'/g, `'\\''`)}'`;
}

/** Fix for a GCP instance that a source should reach and does not, or that the internet reaches and should not. */
export function gcpRemedy(instance: Instance, result: Result, sourceCidrs: string[] = [result.source]): Remedy | undefined {
  const network = instance.nics[0]?.network.split('/').pop() ?? 'default';
  const zone = instance.location;
  const project = instance.scope;
  const where = `--project=${q(project)}`;
  const startFirst = !RUNNING.has(instance.state)
    ? [`gcloud compute instances start ${q(instance.name)} --zone=${q(zone)} ${where}`]
    : [];
  if (result.source === 'internet' && (result.verdict === 'reachable' || result.verdict === 'partial')) {
    const opened = result.reasons.filter((r) => r.action === 'allow' && r.layer === 'firewall');
    if (opened.length === 0) return undefined;
    const onlyIap = result.allowedRanges.length === 1 && result.allowedRanges[0] === IAP_RANGE;
    if (onlyIap) return undefined; // gateway-only: nothing to close
    const vpcRules = opened.filter((r) => r.ruleSet?.startsWith('VPC firewall rules'));
    return {
      summary: `Close the world-open rule${opened.length > 1 ? 's' : ''} (${opened.map((r) => r.rule).join(', ')}) and reach RDP through IAP (${IAP_RANGE}) instead`,
      commands: [
        ...vpcRules.map((r) => `gcloud compute firewall-rules update ${q(r.rule)} --source-ranges=${IAP_RANGE} ${where}`),
        `gcloud compute start-iap-tunnel ${q(instance.name)} 3389 --local-host-port=localhost:3389 --zone=${q(zone)} ${where}`,
      ],
    };
  }
  if (result.verdict !== 'blocked' && result.verdict !== 'partial') return startFirst.length ? { summary: `${instance.state}: start it first`, commands: startFirst } : undefined;
  const noAddress = result.reasons.find((r) => r.layer === 'address');
  if (noAddress && result.source !== 'iap') {
    return {
      summary: `${noAddress.rule}: connect through IAP TCP forwarding (needs a rule for ${IAP_RANGE}) instead of adding a public address`,
      commands: [
        ...startFirst,
        `gcloud compute firewall-rules create rdpcloud-allow-rdp-iap --network=${q(network)} --direction=INGRESS --action=allow --rules=tcp:${result.port} --source-ranges=${IAP_RANGE} --target-tags=rdpcloud-rdp ${where}`,
        `gcloud compute instances add-tags ${q(instance.name)} --tags=rdpcloud-rdp --zone=${q(zone)} ${where}`,
        `gcloud compute start-iap-tunnel ${q(instance.name)} ${result.port} --local-host-port=localhost:${result.port} --zone=${q(zone)} ${where}`,
      ],
    };
  }
  const denies = result.reasons.filter((r) => r.action === 'deny' && r.layer === 'firewall');
  const policyDeny = denies.find((r) => r.ruleSet && !r.ruleSet.startsWith('VPC firewall rules'));
  if (policyDeny && policyDeny.rule !== 'implied deny ingress') {
    return {
      summary: `${policyDeny.ruleSet} denies it with rule "${policyDeny.rule}" (priority ${policyDeny.priority}); a VPC rule cannot override a policy evaluated before it: ask its owners to add an allow or goto_next for your source`,
      commands: startFirst,
    };
  }
  const vpcDeny = denies.find((r) => r.priority !== undefined);
  const priority = vpcDeny?.priority !== undefined ? Math.max(0, vpcDeny.priority - 1) : 1000;
  const source = result.source === 'internet' || result.source === 'iap' ? IAP_RANGE : sourceCidrs.join(',');
  const name = result.source === 'iap' || result.source === 'internet' ? 'rdpcloud-allow-rdp-iap' : 'rdpcloud-allow-rdp';
  const summary =
    result.source === 'internet'
      ? `Nothing admits tcp:${result.port}: rather than opening it to the world, allow IAP (${IAP_RANGE}) for this instance${vpcDeny ? ` above ${vpcDeny.rule} (priority ${vpcDeny.priority})` : ''}`
      : `Allow tcp:${result.port} from ${result.source} for this instance only${vpcDeny ? `, above ${vpcDeny.rule} (priority ${vpcDeny.priority})` : ''}`;
  return {
    summary,
    commands: [
      ...startFirst,
      `gcloud compute firewall-rules create ${name} --network=${q(network)} --direction=INGRESS --action=allow --rules=tcp:${result.port} --source-ranges=${q(source)} --target-tags=rdpcloud-rdp --priority=${priority} ${where}`,
      `gcloud compute instances add-tags ${q(instance.name)} --tags=rdpcloud-rdp --zone=${q(zone)} ${where}`,
    ],
  };
}
