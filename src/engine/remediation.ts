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

/** The permission a security-group rule grants, in the CLI's shorthand, for the ranges given. */
function ipPermissions(rule: Rule, ranges: string[], port: number): string {
  const p = rule.protocols.find((x) => matchProtocol(x, port)) ?? rule.protocols[0];
  const proto = ['-1', 'all', '*'].includes(p.protocol) ? '-1' : p.protocol;
  const [from, to] = (p.ports?.[0] ?? '').split('-');
  const portPart = proto === '-1' ? '' : `,FromPort=${from || 0},ToPort=${to || from || 65535}`;
  const v4 = ranges.filter((r) => !r.includes(':')).map((r) => `{CidrIp=${r}}`);
  const v6 = ranges.filter((r) => r.includes(':')).map((r) => `{CidrIpv6=${r}}`);
  return `IpProtocol=${proto}${portPart}${v4.length ? `,IpRanges=[${v4.join(',')}]` : ''}${v6.length ? `,Ipv6Ranges=[${v6.join(',')}]` : ''}`;
}

const PRIVATE_CIDR = /^(10\.|172\.(1[6-9]|2\d|3[01])\.|192\.168\.|f[cd])/i;

/** Fix for an EC2 instance: security groups, network ACL entries, the route; Session Manager instead of a public port. */
export function awsRemedy(instance: Instance, result: Result, ctx: RemedyContext): Remedy | undefined {
  const port = result.port;
  const region = instance.location.replace(/[a-z]$/, '');
  const inRegion = `--region ${region}`;
  const ssm = instance.gateways?.find((g) => g.kind === 'ssm');
  const session = `aws ssm start-session --target ${instance.id} --document-name AWS-StartPortForwardingSession --parameters portNumber=${port},localPortNumber=13389 ${inRegion}`;
  const viaSsm = ssm ? [session] : [];
  const ssmNote = ssm ? [] : ['Session Manager needs the SSM agent online on the instance and an instance profile with AmazonSSMManagedInstanceCore'];
  if (result.source === 'internet' && (result.verdict === 'reachable' || result.verdict === 'partial')) {
    const exposing = unique((ctx.exposure?.reasons ?? result.reasons).filter((r) => r.action === 'allow' && r.layer === 'security groups'), (r) => `${r.ruleSet}|${r.rule}`);
    const commands: string[] = [];
    const notes: string[] = [...ssmNote];
    for (const r of exposing) {
      const found = findRule(ctx.inventory, instance, r);
      if (!found) continue;
      const group = found.ruleSet.id.split('/').pop();
      const world = found.rule.sourceRanges.filter((c) => c !== '*' && !PRIVATE_CIDR.test(c));
      if (!world.length) continue;
      commands.push(`aws ec2 revoke-security-group-ingress --group-id ${group} --ip-permissions '${ipPermissions(found.rule, world, port)}' ${inRegion}`);
      if (!onlyThisPort(found.rule, port)) notes.push(`the rule in ${group} opens more than tcp:${port}: revoking it closes those ports to ${world.join(', ')} too; add back what must stay open`);
    }
    return { summary: `tcp:${port} is open to the internet through ${exposing.map((r) => `${r.rule} in ${r.ruleSet}`).join(', ')}: revoke it and connect through Session Manager port forwarding`, commands: [...commands, ...(ssm ? [session] : [])], ...(notes.length ? { notes } : {}) };
  }
  if (result.verdict !== 'blocked' && result.verdict !== 'partial') return undefined;
  if (result.source === 'internet') {
    return { summary: `tcp:${port} is closed to the internet, as it should be${ssm ? '; connect through Session Manager port forwarding' : '; to connect, use Session Manager port forwarding rather than opening it'}`, commands: viaSsm, ...(ssmNote.length ? { notes: ssmNote } : {}) };
  }
  const denies = result.reasons.filter((r) => r.action === 'deny');
  const layers = new Set(denies.map((r) => r.layer));
  const commands: string[] = [];
  const notes: string[] = [];
  const src = ctx.sourceCidrs;
  if (layers.has('address')) return { summary: `it has no address the source ${result.source} can use; connect through Session Manager port forwarding`, commands: viaSsm, ...(ssmNote.length ? { notes: ssmNote } : {}) };
  if (layers.has('route')) notes.push(`the subnet's route table sends the reply to ${result.source} elsewhere (${denies.filter((r) => r.layer === 'route').map((r) => r.rule).join(', ')}): add a route for it to the gateway it comes through, or use Session Manager`);
  const aclOf = (layer: string) => {
    const d = denies.find((r) => r.layer === layer);
    const found = d && findRule(ctx.inventory, instance, d);
    return found ? { id: found.ruleSet.id.split('/')[2], n: found.rule.priority } : undefined;
  };
  const inbound = aclOf('network ACL');
  if (inbound) {
    const n = Math.max(1, (inbound.n >= 32767 ? 100 : inbound.n) - 1);
    src.forEach((c, i) => commands.push(`aws ec2 create-network-acl-entry --network-acl-id ${inbound.id} --ingress --rule-number ${n - i} --protocol 6 --port-range From=${port},To=${port} --cidr-block ${c} --rule-action allow ${inRegion}`));
  }
  const outbound = aclOf('network ACL (return traffic)');
  if (outbound) {
    const n = Math.max(1, (outbound.n >= 32767 ? 100 : outbound.n) - 1);
    src.forEach((c, i) => commands.push(`aws ec2 create-network-acl-entry --network-acl-id ${outbound.id} --egress --rule-number ${n - i} --protocol 6 --port-range From=49152,To=65535 --cidr-block ${c} --rule-action allow ${inRegion}`));
    notes.push('network ACLs are stateless: the reply to the client leaves on its ephemeral port (49152-65535), which needs an outbound entry');
  }
  if (layers.has('security groups')) {
    const group = instance.nics[0]?.path ? (ctx.inventory.paths[instance.nics[0].path]?.find((l) => l.name === 'security groups')?.stages[0]?.ruleSet.split('/').pop() ?? '') : '';
    if (group) commands.push(`aws ec2 authorize-security-group-ingress --group-id ${group} --ip-permissions '${ipPermissions({ name: '', priority: 0, action: 'allow', sourceRanges: [], protocols: [{ protocol: 'tcp', ports: [`${port}`] }] }, src, port)}' ${inRegion}`);
  }
  return { summary: `let tcp:${port} from ${result.source} through every layer that stops it (${[...layers].join(', ')})`, commands, ...(notes.length ? { notes } : {}) };
}

/** "/subscriptions/s/resourcegroups/rg/providers/microsoft.network/networksecuritygroups/nsg@vnet" -> {rg, nsg} */
function nsgOf(ruleSet: RuleSet): { rg: string; nsg: string } {
  const id = ruleSet.id.replace(/^azure\//, '').split('@')[0];
  const rg = /\/resourcegroups\/([^/]+)/i.exec(id)?.[1] ?? '';
  // The rule set's name keeps the NSG's own spelling: "NSG nsg-web (rg-app)".
  const named = /^NSG (\S+) \(([^)]*)\)$/.exec(ruleSet.name);
  return { rg: named?.[2] || rg, nsg: named?.[1] || id.split('/').pop() || '' };
}

/** Fix for an Azure VM: NSG rules at the subnet and the NIC; Bastion instead of a public port. */
export function azureRemedy(instance: Instance, result: Result, ctx: RemedyContext): Remedy | undefined {
  const port = result.port;
  const rg = /\/resourceGroups\/([^/]+)/i.exec(instance.id)?.[1] ?? '';
  const bastion = instance.gateways?.find((g) => g.kind === 'bastion');
  const bastionName = bastion?.name.replace(/^Azure Bastion /, '');
  const connect = bastion ? [`az network bastion rdp --name ${q(bastionName ?? '')} --resource-group <bastion-resource-group> --target-resource-id ${q(instance.id)}`] : [];
  const narrowTo = bastion?.sourceRanges?.join(' ') ?? 'VirtualNetwork';
  if (result.source === 'internet' && (result.verdict === 'reachable' || result.verdict === 'partial')) {
    const exposing = unique((ctx.exposure?.reasons ?? result.reasons).filter((r) => r.action === 'allow'), (r) => `${r.ruleSet}|${r.rule}`);
    const commands: string[] = [];
    const notes: string[] = [];
    if (exposing.length === 0 || exposing.every((r) => !r.ruleSet)) {
      // A Basic public IP with no NSG anywhere: put an NSG on the NIC; its default rules deny the internet.
      commands.push(`az network nsg create --resource-group ${q(rg)} --name rdpcloud-nsg-${q(instance.name)}`, `az network nic update --resource-group ${q(rg)} --name <nic> --network-security-group rdpcloud-nsg-${q(instance.name)}`);
      notes.push('a Basic-SKU public IP with no network security group is open to everything; Basic SKU is retired: upgrade it to Standard, which is closed by default');
    }
    for (const r of exposing) {
      const found = findRule(ctx.inventory, instance, r);
      if (!found || found.ruleSet.kind !== 'azure-nsg') continue;
      const { rg: nrg, nsg } = nsgOf(found.ruleSet);
      if (/^(AllowVnetInBound|AllowAzureLoadBalancerInBound)$/.test(found.rule.name)) continue;
      commands.push(`az network nsg rule update --resource-group ${q(nrg)} --nsg-name ${q(nsg)} --name ${q(found.rule.name)} --source-address-prefixes ${narrowTo}`);
      if (!onlyThisPort(found.rule, port)) notes.push(`${found.rule.name} admits more than tcp:${port}: narrowing its source narrows those ports too`);
    }
    if (!bastion) notes.push('no Azure Bastion reaches this VNet: deploy one (az network bastion create) or connect over VPN/ExpressRoute to the private address');
    return { summary: `tcp:${port} is open to the internet through ${exposing.map((r) => r.rule).join(', ') || 'a Basic public IP without an NSG'}: narrow it to ${bastion ? 'the Bastion subnet' : 'the virtual network'} and connect through ${bastion ? 'Bastion' : 'a private path'}`, commands: [...commands, ...connect], ...(notes.length ? { notes } : {}) };
  }
  if (result.verdict !== 'blocked' && result.verdict !== 'partial') return undefined;
  if (result.source === 'internet') {
    return { summary: `tcp:${port} is closed to the internet, as it should be${bastion ? '; connect through Azure Bastion' : '; connect through Azure Bastion or a VPN rather than opening it'}`, commands: connect };
  }
  if (result.reasons.some((r) => r.layer === 'address')) return { summary: `it has no address the source ${result.source} can use; connect through Azure Bastion or a private path`, commands: connect };
  const commands: string[] = [];
  const notes: string[] = [];
  for (const d of unique(result.reasons.filter((r) => r.action === 'deny'), (r) => `${r.layer}|${r.ruleSet}|${r.rule}`)) {
    if (d.layer === 'public IP') {
      commands.push(`az network nsg create --resource-group ${q(rg)} --name rdpcloud-nsg-${q(instance.name)}`, `az network nsg rule create --resource-group ${q(rg)} --nsg-name rdpcloud-nsg-${q(instance.name)} --name rdpcloud-allow-rdp --priority 1000 --direction Inbound --access Allow --protocol Tcp --destination-port-ranges ${port} --source-address-prefixes ${ctx.sourceCidrs.join(' ')}`, `az network nic update --resource-group ${q(rg)} --name <nic> --network-security-group rdpcloud-nsg-${q(instance.name)}`);
      continue;
    }
    const found = findRule(ctx.inventory, instance, d);
    if (!found) continue;
    const { rg: nrg, nsg } = nsgOf(found.ruleSet);
    const priority = Math.min(4096, found.rule.priority - 1);
    if (priority < 100) {
      notes.push(`${found.rule.name} in ${nsg} denies it at priority ${found.rule.priority}, the highest a rule can have: change that rule`);
      continue;
    }
    commands.push(`az network nsg rule create --resource-group ${q(nrg)} --nsg-name ${q(nsg)} --name rdpcloud-allow-rdp --priority ${priority} --direction Inbound --access Allow --protocol Tcp --destination-port-ranges ${port} --source-address-prefixes ${ctx.sourceCidrs.join(' ')}`);
  }
  return { summary: `allow tcp:${port} from ${result.source} in every NSG that stops it (the subnet's and the NIC's must both allow)`, commands, ...(notes.length ? { notes } : {}) };
}

/** The remedy for any provider. */
export function remedyFor(instance: Instance, result: Result, ctx: RemedyContext): Remedy | undefined {
  if (instance.provider === 'gcp') return gcpRemedy(instance, result, ctx);
  if (instance.provider === 'aws') return awsRemedy(instance, result, ctx);
  return azureRemedy(instance, result, ctx);
}
