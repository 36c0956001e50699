// Policies are data (one YAML file each, policies/<pack>/<id>.yaml); a check type is one small module that
// judges one resource with the policy's parameters. The runtime (run.ts) selects resources, calls the
// check, turns a throw into an `error` result and applies suppressions.
import type { Instance, Inventory, OsFamily, Provider, Rule, RuleSet } from '../model/inventory.js';
import type { FindingStatus, InstanceSummary, Result, Severity } from '../model/results.js';
import type { Exposure } from '../engine/evaluate.js';
import type { RuleSetUse } from '../engine/rule-sets.js';

/** What a policy looks at: an instance (with its verdicts), or a rule set (a firewall, security group, NSG, NACL). */
export type ResourceKind = 'instance' | 'rule-set';

export interface Selector {
  provider?: Provider[];
  os?: OsFamily[];
  /** Every label/tag given must be present with that value (`*` = any value). */
  labels?: Record<string, string>;
  /** Scope ids (project, account, subscription); `*` globs. */
  scopes?: string[];
  /** Rule-set kinds (gcp-vpc-firewall, aws-security-group, aws-network-acl, azure-nsg...), for rule-set policies. */
  kinds?: string[];
}

export interface ComplianceRef {
  /** e.g. "CIS Google Cloud Platform Foundation Benchmark" */
  framework: string;
  version: string;
  id: string;
  title: string;
}

export interface Policy {
  id: string;
  title: string;
  /** The severity of a failure; checks that grade (exposure by amount) may lower it. */
  severity: Severity;
  description: string;
  pack: string;
  resource: ResourceKind;
  select: Selector;
  check: { type: string; params: Record<string, unknown> };
  /** The fix, per cloud, as a command with placeholders ({project}, {instance}, {ruleSet}, {rule}...). */
  remediation: Partial<Record<Provider, string>>;
  compliance: ComplianceRef[];
  references: string[];
  /** Where it came from, for messages and SARIF locations: the YAML file, relative to the policy root. */
  file: string;
  /** Absolute path of the file. */
  path: string;
  builtin: boolean;
}

export interface Outcome {
  status: Exclude<FindingStatus, 'error'>;
  message: string;
  /** Graded severity (at most the policy's); the policy's when absent. */
  severity?: Severity;
  /** The source the result is about, for reachability results. */
  source?: string;
  /** The rules the message names (deciding rules), for reports and remediation placeholders. */
  rules?: string[];
  /** How the message names each of `rules` ("allow-rdp (priority 1000)"), when a merge may have to word it again. */
  ruleLabels?: string[];
}

/** Everything a check may read; nothing it may change. Built once per run. */
export interface RunContext {
  inventory: Inventory;
  port: number;
  /** Every source the run judged (from --source, the config and the policies), by label. */
  sources: string[];
  /** Sources declared by the user (not `internet`), with the instances that must be reachable from each. */
  declaredSources: { label: string; mustReach?: Selector }[];
  summaryOf(instance: Instance): InstanceSummary;
  exposureOf(instance: Instance): Exposure;
  resultsOf(instance: Instance): Result[];
  /** Who a rule set applies to and which rules let which part of a source through. */
  ruleSetUse(ruleSet: RuleSet): RuleSetUse;
  matches(instance: Instance, selector: Selector): boolean;
  /**
   * Set when the inventory holds only part of the instances that may use its rule sets: a live `--shard i/n`
   * run reads only its own scopes, and a Shared VPC host's rules or an organisation's policy are used by
   * projects of other shards too. Names the part ("shard 2/4"); `rdpcloud merge` of every shard decides.
   */
  usersSeenIn?: string;
}

export interface CheckContext<P> {
  params: P;
  policy: Policy;
  run: RunContext;
}

export type Resource = { kind: 'instance'; instance: Instance } | { kind: 'rule-set'; ruleSet: RuleSet };

export interface CheckMeta {
  id: string;
  description: string;
  resource: ResourceKind;
  /** JSON Schema of `check.params`; validated when the policy loads. */
  params: Record<string, unknown>;
}

export interface CheckType<P = Record<string, unknown>> {
  meta: CheckMeta;
  check(resource: Resource, ctx: CheckContext<P>): Outcome;
}

export type { Rule };
