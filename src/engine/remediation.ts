// "The one change that fixes it": from a verdict and its reasons, the narrowest change a user can make, as
// the cloud's own CLI command. Built from the inventory's names, never from free text a user typed. Never
// opens tcp:3389 to the world: a world-open rule is narrowed to a gateway, a missing path gets a gateway or
// the user's own source.
import type { Instance, Inventory, Rule, RuleSet } from '../model/inventory.js';
import type { Reason, Result } from '../model/results.js';
import { IAP_RANGE } from './sources.js';
import { matchProtocol } from './rules.js';
import { parseCidr } from './addresses.js';

export interface Remedy {
  summary: string;
  commands: string[];
  /** What a command cannot do (a policy someone else owns), or what else the change touches. */
  notes?: string[];
}

export interface RemedyContext {
  inventory: Pick<Inventory, 'ruleSets' | 'paths'>;
  /** The source as CIDRs, for a rule that admits it. */
  sourceCidrs: string[];
  /** The same instance judged from the internet without the gateway ranges: the allows that expose it. */
  exposure?: Result;
  /** The same instance judged from IAP (GCP). */
  iap?: Result;
}

const RUNNING = new Set(['RUNNING', 'running', 'PowerState/running']);

/** Quotes for a POSIX shell only when needed. */
export function shellQuote(s: string): string {
  return /^[A-Za-z0-9_./:@=,+-]+$/.test(s) ? s : `'${s.replace(/'/g, `'\\''`)}'`;
}
const q = shellQuote;

/** The rule a reason names, looked up along the instance's own paths. */
export function findRule(inv: RemedyContext['inventory'], instance: Instance, reason: Reason): { rule: Rule; ruleSet: RuleSet } | undefined {
  const byId = new Map(inv.ruleSets.map((r) => [r.id, r]));
  for (const nic of instance.nics) {
    for (const layer of inv.paths[nic.path] ?? []) {
      for (const stage of layer.stages) {
        const rs = byId.get(stage.ruleSet);
        if (!rs || (reason.ruleSet && rs.name !== reason.ruleSet)) continue;
        const rule = rs.rules.find((r) => r.name === reason.rule && r.priority === (reason.priority ?? r.priority));
        if (rule) return { rule, ruleSet: rs };
      }
    }
  }
  return undefined;
}

/** True when the rule admits tcp:port and nothing else, so narrowing its sources changes nothing but RDP. */
function onlyThisPort(rule: Rule, port: number): boolean {
  return rule.protocols.every((p) => {
    const ports = p.ports ?? [];
    return ['tcp', '6'].includes(p.protocol.toLowerCase()) && ports.length > 0 && ports.every((x) => String(x).trim() === String(port)) && !!matchProtocol(p, port);
  });
}

function ipv6Only(rule: Rule): boolean {
  return rule.sourceRanges.length > 0 && rule.sourceRanges.every((r) => r !== '*' && r !== 'internet' && parseCidr(r).family === 6);
}

function gcpNetwork(instance: Instance): { network: string; project: string } {
  const url = instance.nics[0]?.network ?? 'default';
  const m = /projects\/([^/]+)\/global\/networks\/([^/?]+)/.exec(url);
  return m ? { project: m[1], network: m[2] } : { project: instance.scope, network: url.split('/').pop() || 'default' };
}

function unique<T>(list: T[], key: (x: T) => string): T[] {
  const seen = new Set<string>();
  return list.filter((x) => !seen.has(key(x)) && !!seen.add(key(x)));
}

/** Fix for a GCP instance that a source should reach and does not, or that the internet reaches and should not. */
export function gcpRemedy(instance: Instance, result: Result, ctx: RemedyContext): Remedy | undefined {
  const port = result.port;
  const { network, project: netProject } = gcpNetwork(instance);
  const zone = `--zone=${q(instance.location)}`;
  const inProject = `--project=${q(instance.scope)}`;
  // Firewall rules live in the network's project: the Shared VPC host for a service project's VM.
  const inNetwork = `--project=${q(netProject)}`;
  const startFirst = RUNNING.has(instance.state) ? [] : [`gcloud compute instances start ${q(instance.name)} ${zone} ${inProject}`];
  const tunnel = `gcloud compute start-iap-tunnel ${q(instance.name)} ${port} --local-host-port=localhost:${port} ${zone} ${inProject}`;
  const tagIt = `gcloud compute instances add-tags ${q(instance.name)} --tags=rdpcloud-rdp ${zone} ${inProject}`;
  const allowRule = (name: string, source: string, priority: number) =>
    `gcloud compute firewall-rules create ${name} --network=${q(network)} --direction=INGRESS --action=allow --rules=tcp:${port} --source-ranges=${q(source)} --target-tags=rdpcloud-rdp --priority=${priority} ${inNetwork}`;
  const iapAllows = ctx.iap?.verdict === 'reachable' ? ctx.iap.reasons.filter((r) => r.action === 'allow').map((r) => r.rule) : undefined;

  if (result.source === 'internet' && (result.verdict === 'reachable' || result.verdict === 'partial')) {
    const exposing = unique((ctx.exposure?.reasons ?? result.reasons).filter((r) => r.action === 'allow'), (r) => `${r.ruleSet}|${r.rule}`);
    if (ctx.exposure && ctx.exposure.verdict === 'blocked') {
      return { summary: `only IAP's range (${IAP_RANGE}) gets through: that is gateway access, nothing to close`, commands: [] };
    }
    const commands: string[] = [];
    const notes: string[] = [];
    let shadowed = false;
    for (const r of exposing) {
      const found = findRule(ctx.inventory, instance, r);
      if (!found) continue;
      const { rule, ruleSet } = found;
      if (ruleSet.kind !== 'gcp-vpc-firewall') {
        notes.push(`${ruleSet.name} admits it with rule "${rule.name}" (priority ${rule.priority}): VPC rules cannot override a policy evaluated before them; ask its owners to narrow it to ${IAP_RANGE}`);
        continue;
      }
      const everyInstance = !rule.targets || Object.values(rule.targets).every((t) => !t?.length);
      if (onlyThisPort(rule, port)) {
        if (ipv6Only(rule)) {
          commands.push(`gcloud compute firewall-rules update ${q(rule.name)} --disabled ${inNetwork}`);
          notes.push(`${rule.name} admits IPv6 only, and IAP forwards over IPv4: disable it rather than narrow it`);
        } else {
          commands.push(`gcloud compute firewall-rules update ${q(rule.name)} --source-ranges=${IAP_RANGE} ${inNetwork}`);
        }
        if (everyInstance) notes.push(`${rule.name} applies to every instance on network ${network}: narrowing it closes tcp:${port} for all of them`);
      } else if (!shadowed && rule.priority >= 2) {
        // The rule opens more than RDP: leave it, and shadow tcp:port for this instance only.
        shadowed = true;
        commands.push(
          allowRule('rdpcloud-allow-rdp-iap', IAP_RANGE, rule.priority - 2),
          `gcloud compute firewall-rules create rdpcloud-deny-rdp-world --network=${q(network)} --direction=INGRESS --action=deny --rules=tcp:${port} --source-ranges=0.0.0.0/0,::/0 --target-tags=rdpcloud-rdp --priority=${rule.priority - 1} ${inNetwork}`,
          tagIt,
        );
        notes.push(`${rule.name} opens more than tcp:${port}; the deny above it closes RDP for this instance and keeps the rest`);
      } else if (!shadowed) {
        notes.push(`${rule.name} (priority ${rule.priority}) opens more than tcp:${port} and nothing can be placed above it: remove tcp:${port} from it`);
      }
    }
    return {
      summary: `tcp:${port} is open to the internet through ${exposing.map((r) => r.rule).join(', ')}: narrow it to IAP (${IAP_RANGE}) and connect through an IAP tunnel`,
      commands: [...commands, tunnel],
      ...(notes.length ? { notes } : {}),
    };
  }

  if (result.verdict === 'reachable' || result.verdict === 'unknown') {
    return startFirst.length ? { summary: `${instance.state}: start it first`, commands: startFirst } : undefined;
  }

  // Blocked or partial from a source that should get through.
  const needsAddress = result.reasons.find((r) => r.layer === 'address');
  const viaIap = (why: string, instead: string): Remedy =>
    iapAllows
      ? { summary: `${why}; rather than ${instead}, connect through an IAP tunnel: IAP already gets through (${iapAllows.join(', ')})`, commands: [...startFirst, tunnel] }
      : { summary: `${why}; rather than ${instead}, connect through an IAP tunnel, which needs a rule for ${IAP_RANGE}`, commands: [...startFirst, allowRule('rdpcloud-allow-rdp-iap', IAP_RANGE, 1000), tagIt, tunnel] };
  if (needsAddress && result.source !== 'iap') return viaIap(needsAddress.rule === 'no usable address' ? 'it has no external address' : `it has ${needsAddress.rule}`, 'add one');

  const denies = result.reasons.filter((r) => r.action === 'deny' && r.layer === 'firewall');
  const policyDeny = denies.find((r) => r.ruleSet && !r.ruleSet.startsWith('VPC firewall rules') && r.rule !== 'implied deny ingress');
  if (policyDeny) {
    return {
      summary: `${policyDeny.ruleSet} denies it with rule "${policyDeny.rule}" (priority ${policyDeny.priority}): a VPC rule cannot override a policy evaluated before it; ask its owners to add an allow or goto_next for ${result.source}`,
      commands: startFirst,
    };
  }
  if (result.source === 'internet') return viaIap(`nothing admits tcp:${port} from the internet`, 'open it to the world');
  const vpcDeny = denies.find((r) => r.priority !== undefined);
  if (vpcDeny?.priority === 0) {
    return { summary: `${vpcDeny.rule} denies it at priority 0, the highest there is: nothing can be placed above it; change that rule`, commands: startFirst };
  }
  const priority = vpcDeny?.priority !== undefined ? vpcDeny.priority - 1 : 1000;
  const source = result.source === 'iap' ? IAP_RANGE : ctx.sourceCidrs.join(',');
  return {
    summary: `allow tcp:${port} from ${result.source} for this instance only${vpcDeny ? `, above ${vpcDeny.rule} (priority ${vpcDeny.priority})` : ''}`,
    commands: [...startFirst, allowRule(result.source === 'iap' ? 'rdpcloud-allow-rdp-iap' : 'rdpcloud-allow-rdp', source, priority), tagIt],
  };
}

/** The remedy for any provider; AWS and Azure join as their providers land. */
export function remedyFor(instance: Instance, result: Result, ctx: RemedyContext): Remedy | undefined {
  if (instance.provider === 'gcp') return gcpRemedy(instance, result, ctx);
  return undefined;
}
