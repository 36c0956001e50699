// What the engine says: one result per instance x source x port, each with the deciding rule at every
// layer; an access summary per instance; findings. The JSON report (`--format json`) is these, versioned.
import type { OsFamily, Provider } from './inventory.js';

export const REPORT_SCHEMA_VERSION = 2;

export type Verdict = 'reachable' | 'partial' | 'blocked' | 'unknown';
export type Access = 'exposed' | 'gateway-only' | 'private-only' | 'unreachable';
export type Severity = 'critical' | 'high' | 'medium' | 'low' | 'info';
export const SEVERITIES: readonly Severity[] = ['critical', 'high', 'medium', 'low', 'info'];
export type FindingStatus = 'pass' | 'fail' | 'not-applicable' | 'error';

export interface Reason {
  /** "firewall" (GCP), "network ACL", "security groups", "subnet NSG", "address", ... */
  layer: string;
  /** The deciding rule's name; for fall-through, the implied rule ("implied deny ingress"). */
  rule: string;
  action: 'allow' | 'deny' | 'unknown';
  priority?: number;
  /** Why it matched: target, source range, protocol and port. */
  why: string;
  /** Which rule set it lives in (policy name, network), when that helps. */
  ruleSet?: string;
  /** The part of the source this rule decided, when not all of it (CIDRs read within the source, at most 8 shown). */
  ranges?: string[];
  /** Which address it was about: "external IPv4 34.1.2.3" etc. */
  target?: string;
}

export interface InstanceRef {
  provider: Provider;
  scope: string;
  location: string;
  /** The instance's name; for a rule-set resource, the rule set's ("security group sg-0abc (rdp-world)"). */
  instance: string;
  instanceId: string;
  /** Absent for instances; `rule-set` when the policy judged a firewall, security group, network ACL or NSG. */
  kind?: 'rule-set';
  /** The reference suppressions and baselines match: gcp:PROJECT/ZONE/NAME, aws:ACCOUNT/REGION/ID, azure:SUB/RG/NAME, or PROVIDER:RULE-SET-ID. */
  ref?: string;
}

/**
 * What a finding is about: an instance, a rule set, or a listener the probe spoke to (`provider` is `host` for
 * a bare host:port given on the command line).
 */
export interface ResourceRef extends Omit<InstanceRef, 'provider' | 'kind'> {
  provider: Provider | 'host';
  kind?: 'rule-set' | 'listener';
}

export interface Result extends InstanceRef {
  state: string;
  source: string;
  port: number;
  verdict: Verdict;
  /**
   * The part of the source that gets through, as the fewest CIDRs that give exactly it when intersected
   * with the source (so `internet` wholly allowed over IPv4 reads "0.0.0.0/0", not 160 blocks). Empty for
   * blocked.
   */
  allowedRanges: string[];
  reasons: Reason[];
}

export interface InstanceSummary extends InstanceRef {
  state: string;
  os: OsFamily;
  access: Access;
  gateway?: string;
  externalAddresses: string[];
}

export interface Finding {
  policyId: string;
  severity: Severity;
  status: FindingStatus;
  resource: ResourceRef;
  message: string;
  source?: string;
  /** The rules the message names. */
  rules?: string[];
  /** How the message names each of `rules` (with its priority), so that `rdpcloud merge` can word it again. */
  ruleLabels?: string[];
  /** The policy's fix for this cloud, placeholders filled. */
  remediation?: string;
  suppressed?: { reason: string; expires: string };
  /** With --baseline: whether the failure was already in the baseline. */
  baseline?: 'new' | 'unchanged';
}

/** The policies a report ran (SARIF rules, JUnit suites, `rdpcloud policies`). */
export interface PolicySummary {
  id: string;
  title: string;
  severity: Severity;
  pack: string;
  description: string;
  checkType: string;
  resource: 'instance' | 'rule-set' | 'listener';
  compliance: { framework: string; version: string; id: string; title: string }[];
  references: string[];
  remediation: Partial<Record<Provider, string>>;
  /** The policy file, relative to the installation (built-ins) or the working directory. */
  file: string;
}

/** With --baseline: failures new since the baseline, gone from it, and unchanged. */
export interface Drift {
  baseline: string;
  baselineGeneratedAt: string;
  new: number;
  unchanged: number;
  /** Failures of the baseline that no longer fail (fixed, or their resource is gone). */
  fixed: Finding[];
}

export interface ScopeStatus {
  provider: Provider;
  scope: string;
  status: 'ok' | 'failed';
  error?: string;
  /** Read, but not wholly: the run is incomplete (exit 3). */
  warnings?: string[];
}

export interface Report {
  schemaVersion: number;
  tool: { name: string; version: string };
  generatedAt: string;
  port: number;
  sources: string[];
  scopes: ScopeStatus[];
  instances: InstanceSummary[];
  results: Result[];
  findings: Finding[];
  policies: PolicySummary[];
  drift?: Drift;
}
