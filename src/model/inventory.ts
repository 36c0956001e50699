// The inventory: what providers read from a cloud and the engine judges. Shared by every cloud.
// Rules are stored once per rule set (a VPC's firewall, a firewall policy, a security group, an NSG);
// each NIC names the path of layers its inbound traffic crosses. Nothing here is GCP-shaped: a layer is
// an ordered list of rule-set stages, each with its own way of combining rules.

export const INVENTORY_SCHEMA_VERSION = 1;

export type Provider = 'gcp' | 'aws' | 'azure';
export const PROVIDERS: readonly Provider[] = ['gcp', 'aws', 'azure'];

export type OsFamily = 'windows' | 'linux' | 'unknown';

export interface Inventory {
  schemaVersion: number;
  generatedAt: string;
  tool?: { name: string; version: string };
  scopes: Scope[];
  ruleSets: RuleSet[];
  /** Layer paths by id; a NIC names one. Shared by every NIC that crosses the same layers. */
  paths: Record<string, Layer[]>;
  instances: Instance[];
}

/** A project (GCP), account (AWS) or subscription (Azure). */
export interface Scope {
  provider: Provider;
  scope: string;
  status: 'ok' | 'failed';
  /** One line a user can act on, e.g. "Compute Engine API is disabled: enable compute.googleapis.com". */
  error?: string;
  /** The scope was read, but not all of it (e.g. zones the API reported unreachable): the audit is incomplete. */
  warnings?: string[];
  /** Scope-wide facts a policy may read (e.g. GCP project metadata `serial-port-enable`). */
  metadata?: Record<string, string>;
}

export interface Instance {
  provider: Provider;
  scope: string;
  /** Zone (GCP), region/AZ (AWS), region (Azure). */
  location: string;
  name: string;
  id: string;
  /** The cloud's own word: RUNNING, TERMINATED, running, stopped, PowerState/deallocated... */
  state: string;
  os: OsFamily;
  /** Why the OS family was decided (license, guestOsFeature, image), for explain. */
  osEvidence?: string;
  nics: Nic[];
  /** GCP network tags. */
  tags: string[];
  serviceAccounts: string[];
  labels: Record<string, string>;
  /** Instance metadata a policy may read (e.g. `serial-port-enable`); never secrets. */
  metadata?: Record<string, string>;
  /**
   * Sanctioned ways in besides the network path: an Azure Bastion host in reach (it connects from its
   * subnet's ranges to the private address), AWS Session Manager (the SSM agent is online: no inbound rule
   * needed). GCP's IAP is implied for every GCE instance (the `iap` source).
   */
  gateways?: Gateway[];
}

export interface Gateway {
  kind: 'bastion' | 'ssm';
  /** The bastion host or the SSM agent ("i-0abc online, agent 3.3.40"). */
  name: string;
  /** Where the gateway connects from, to the private address; absent when it needs no inbound rule (SSM). */
  sourceRanges?: string[];
}

export interface Nic {
  name: string;
  /** The cloud's id of the interface when it has one apart from the name (Azure NIC resource id). */
  id?: string;
  network: string;
  subnet?: string;
  internalIPv4?: string;
  internalIPv6?: string;
  externalIPv4?: string;
  externalIPv6?: string;
  /** Key into Inventory.paths: the layers inbound traffic crosses. */
  path: string;
  /**
   * The layers traffic to the internal address crosses, when they differ from `path` (AWS: the route back to
   * a private source is judged differently from the route back to the internet; Azure: a Standard public IP
   * is closed by default, the private address is not).
   */
  internalPath?: string;
  /** Attachments that rules select on besides tags/service accounts: Azure ASGs, GCP secure tags. */
  groups?: string[];
}

/** Every layer must allow (AWS route AND NACL AND SGs; Azure subnet NSG AND NIC NSG; GCP one layer). */
export interface Layer {
  /** e.g. "firewall", "network ACL", "security groups", "subnet NSG", "route". */
  name: string;
  /** Evaluated in order; a source address falls through a stage it matches nothing in (or hits `next`). */
  stages: Stage[];
  /** What happens to addresses that fall through every stage. */
  otherwise: { action: 'allow' | 'deny'; rule: string; why: string };
  /**
   * A stateless return path (AWS network ACL egress): the rules are judged on the reply, to the source's
   * address on every port of this range (the client's ephemeral ports). An address gets through only if all
   * of those ports are allowed before any is denied; `sourceRanges` of the rules are the reply's destination.
   */
  returnPorts?: { from: number; to: number };
  /**
   * The rules see the traffic after the public address is translated to the private one (Azure NSGs), so
   * `destinationRanges` are matched against the NIC's internal address of that family.
   */
  afterNat?: boolean;
}

export interface Stage {
  ruleSet: string;
  /**
   * first-match: rules by priority (lower first), at equal priority deny before allow; the first rule that
   *   matches decides (allow/deny) or hands the address to the next stage (next). GCP firewalls and policies,
   *   AWS network ACLs, Azure NSGs.
   * any-allow: allow-only rules; an address is allowed if any rule allows it (AWS security groups).
   */
  mode: 'first-match' | 'any-allow';
}

export interface RuleSet {
  id: string;
  provider: Provider;
  scope: string;
  /** What the user calls it: "VPC firewall rules of default", "hierarchical policy org-baseline". */
  name: string;
  kind: string;
  /** Absent when readable. When set, the stage could decide but its rules are unknown. */
  unreadable?: string;
  rules: Rule[];
}

export type RuleAction = 'allow' | 'deny' | 'next';

export interface Rule {
  name: string;
  priority: number;
  action: RuleAction;
  disabled?: boolean;
  /**
   * Address sources: CIDRs (IPv4/IPv6) or the tokens `*` (everything) and `internet` (the public
   * address space). Empty + no other source = matches nothing.
   */
  sourceRanges: string[];
  /** Sources that are instances, never outside addresses (GCP sourceTags/sourceServiceAccounts, SG references, source ASGs). */
  sourceIdentities?: string[];
  /** Matchers OR'ed with sourceRanges that cannot be evaluated offline (geo, FQDN, threat intelligence, address groups). */
  indeterminate?: string;
  /** The rule targets something the inventory cannot see (GCP secure tags): whether it applies is unknown. */
  targetIndeterminate?: string;
  /** Destination restriction (GCP destinationRanges): matches when the instance address is inside. */
  destinationRanges?: string[];
  /** Each entry: a protocol name or number (`tcp`, `6`, `all`, `*`, `-1`) with optional port ranges. */
  protocols: { protocol: string; ports?: string[] }[];
  /** No target = every instance the rule set applies to. Otherwise any of these matches. */
  targets?: { tags?: string[]; serviceAccounts?: string[]; groups?: string[] };
  description?: string;
}

/**
 * The cloud's own view of which rules apply to one instance (GCP instances.getEffectiveFirewalls, Azure
 * listEffectiveNetworkSecurityGroups), mapped onto the model: the instance's NICs with paths into these rule
 * sets. The engine judges it like the computed path, so the two verdicts can be compared.
 */
export interface EffectiveView {
  /** The API the view came from, for the report. */
  api: string;
  ruleSets: RuleSet[];
  paths: Record<string, Layer[]>;
  nics: Nic[];
}
