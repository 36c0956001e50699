// Running the chosen policies over one evaluated inventory: each policy x selected resource gives exactly one
// result (pass, fail, not-applicable, error). A check that throws is an `error` result naming the check, and
// the run goes on. Pure: the inventory and the engine's evaluation in, findings out.
import type { Instance, Inventory, RuleSet } from '../model/inventory.js';
import { instanceRef } from '../model/instance-ref.js';
import { fit } from '../model/fit.js';
import type { Finding, InstanceRef, InstanceSummary, Result } from '../model/results.js';
import type { Evaluation, Exposure } from '../engine/evaluate.js';
import { atMost } from '../engine/grade.js';
import { ruleSetUses } from '../engine/rule-sets.js';
import { CHECK_TYPES } from './checks/index.js';
import { CannotDecide } from './checks/util.js';
import type { Outcome, Policy, Resource, RunContext, Selector } from './types.js';

const keyOf = (i: { provider: string; scope: string; location: string }, id: string) => `${i.provider}|${i.scope}|${i.location}|${id}`;

export function globToRegExp(glob: string): RegExp {
  return new RegExp(`^${glob.replace(/[.+^${}()|[\]\\?]/g, '\\$&').replace(/\*/g, '.*')}$`);
}

export function matchesSelector(instance: Instance, s: Selector): boolean {
  if (s.provider && !s.provider.includes(instance.provider)) return false;
  if (s.os && !s.os.includes(instance.os)) return false;
  if (s.scopes && !s.scopes.some((g) => globToRegExp(g).test(instance.scope))) return false;
  for (const [k, v] of Object.entries(s.labels ?? {})) {
    const have = instance.labels[k];
    if (have === undefined || (v !== '*' && have !== v)) return false;
  }
  return true;
}

function ruleSetSelected(rs: RuleSet, s: Selector): boolean {
  if (s.provider && !s.provider.includes(rs.provider)) return false;
  if (s.scopes && !s.scopes.some((g) => globToRegExp(g).test(rs.scope))) return false;
  if (s.kinds && !s.kinds.includes(rs.kind)) return false;
  return true;
}

export function runContext(inventory: Inventory, ev: Evaluation, port: number, declaredSources: RunContext['declaredSources'], usersSeenIn?: string): RunContext {
  let uses: ReturnType<typeof ruleSetUses> | undefined;
  // Every instance policy asks for the same instance's summary, exposure and results: kept by instance.
  const byInstance = aligned(inventory, ev) ?? keyed(inventory, ev);
  const entry = (i: Instance) => byInstance.get(i) ?? { results: [] };
  const get = <T>(v: T | undefined, i: Instance, what: string): T => {
    if (!v) throw new Error(`no ${what} for ${instanceRef(i)}`);
    return v;
  };
  const sources = [...new Set(ev.results.map((r) => r.source))];
  return {
    inventory,
    port,
    sources,
    declaredSources,
    summaryOf: (i) => get(entry(i).summary, i, 'summary'),
    exposureOf: (i) => get(entry(i).exposure, i, 'exposure'),
    resultsOf: (i) => entry(i).results,
    ruleSetUse: (rs) => {
      uses ??= ruleSetUses(inventory);
      const u = uses.get(rs.id);
      if (!u) throw new Error(`rule set ${rs.id} is not in the inventory`);
      return u;
    },
    matches: matchesSelector,
    ...(usersSeenIn ? { usersSeenIn } : {}),
  };
}

type Entry = { summary?: InstanceSummary; exposure?: Exposure; results: Result[] };
const sameInstance = (r: { provider: string; scope: string; location: string; instanceId: string }, i: Instance) =>
  r.instanceId === i.id && r.provider === i.provider && r.scope === i.scope && r.location === i.location;

/**
 * The evaluation's entries by instance when it lists them in the inventory's order, as evaluate() does (one
 * summary and exposure per instance, the results of each instance together): found by walking both lists,
 * without a key per instance. Undefined when the order differs.
 */
function aligned(inv: Inventory, ev: Evaluation): Map<Instance, Entry> | undefined {
  const n = inv.instances.length;
  if (ev.instances.length !== n || ev.exposures.length !== n) return undefined;
  const out = new Map<Instance, Entry>();
  let j = 0;
  for (let k = 0; k < n; k++) {
    const i = inv.instances[k];
    const summary = ev.instances[k];
    const exposure = ev.exposures[k];
    if (!sameInstance(summary, i) || !sameInstance(exposure.instance, i) || out.has(i)) return undefined;
    const results: Result[] = [];
    while (j < ev.results.length && sameInstance(ev.results[j], i)) results.push(ev.results[j++]);
    out.set(i, { summary, exposure, results: fit(results) });
  }
  return j === ev.results.length ? out : undefined;
}

/** The same by key (provider, scope, location, id), whatever the order. */
function keyed(inv: Inventory, ev: Evaluation): Map<Instance, Entry> {
  const summaries = new Map<string, InstanceSummary>();
  const exposures = new Map<string, Exposure>();
  const results = new Map<string, Result[]>();
  for (const s of ev.instances) summaries.set(keyOf(s, s.instanceId), s);
  for (const x of ev.exposures) exposures.set(keyOf(x.instance, x.instance.instanceId), x);
  for (const r of ev.results) {
    const k = keyOf(r, r.instanceId);
    const list = results.get(k);
    if (list) list.push(r);
    else results.set(k, [r]);
  }
  const out = new Map<Instance, Entry>();
  for (const i of inv.instances) {
    const k = keyOf(i, i.id);
    out.set(i, { summary: summaries.get(k), exposure: exposures.get(k), results: results.get(k) ?? [] });
  }
  return out;
}

/** The resource as findings, suppressions and baselines name it. */
export function resourceOf(r: Resource): InstanceRef {
  if (r.kind === 'instance') {
    const i = r.instance;
    return { provider: i.provider, scope: i.scope, location: i.location, instance: i.name, instanceId: i.id, ref: instanceRef(i) };
  }
  const rs = r.ruleSet;
  return { kind: 'rule-set', provider: rs.provider, scope: rs.scope, location: '', instance: rs.name, instanceId: rs.id, ref: ruleSetRef(rs) };
}

const last = (path: string) => path.split('/').filter(Boolean).pop() ?? path;

/**
 * A rule set as a user would name it: gcp:PROJECT/network/NET, gcp:PROJECT/firewall-policy/ID@NET,
 * aws:ACCOUNT/sg-0abc (or acl-0abc), azure:SUBSCRIPTION/RESOURCE_GROUP/NSG@VNET.
 */
export function ruleSetRef(rs: RuleSet): string {
  const [head, at] = rs.id.split('@');
  if (rs.provider === 'gcp' && rs.kind === 'gcp-vpc-firewall') return `gcp:${rs.scope}/network/${last(head)}`;
  // A regional network policy is named with its region (gcp/policy/REGION/NAME): two regions may share a name.
  if (rs.provider === 'gcp' && rs.kind === 'gcp-firewall-policy') return `gcp:${rs.scope}/firewall-policy/${head.startsWith('gcp/policy/') ? head.slice('gcp/policy/'.length) : last(head)}${at ? `@${last(at)}` : ''}`;
  if (rs.provider === 'aws') return `aws:${rs.scope}/${last(head.replace(/\/(in|out)$/, ''))}`;
  if (rs.provider === 'azure') {
    const rg = /\/resourcegroups\/([^/]+)/i.exec(head)?.[1] ?? '';
    return `azure:${rs.scope}/${rg}/${last(head)}${at ? `@${last(at)}` : ''}`;
  }
  return `${rs.provider}:${rs.id}`;
}

function resourcesFor(p: Policy, inv: Inventory, owns: (rs: RuleSet) => boolean): Resource[] {
  if (p.resource === 'instance') return inv.instances.filter((i) => matchesSelector(i, p.select)).map((instance) => ({ kind: 'instance', instance }));
  // The return half of an AWS network ACL (its egress entries) is part of the same ACL: judged with the path.
  return inv.ruleSets.filter((rs) => ruleSetSelected(rs, p.select) && !rs.id.endsWith('/out') && owns(rs)).map((ruleSet) => ({ kind: 'rule-set', ruleSet }));
}

/** The policy's remediation for this cloud with its placeholders filled: {scope} {location} {instance} {id} {ruleSet} {rule} {port}. */
function remediationFor(p: Policy, r: Resource, ref: InstanceRef, o: Outcome, port: number, base = resourceValues(r, ref)): string | undefined {
  return fill(p.remediation[ref.provider], base, o.rules?.[0] ?? '', o.source ?? '', port);
}

/** A template cut at its placeholders: odd entries are placeholder names. Once per template, not per finding. */
const templateParts = new Map<string, string[]>();
function partsOf(template: string): string[] {
  let parts = templateParts.get(template);
  if (!parts) templateParts.set(template, (parts = template.split(/\{(\w+)\}/)));
  return parts;
}

function fill(template: string | undefined, base: Record<string, string>, rule: string, source: string, port: number): string | undefined {
  if (!template) return undefined;
  // A failing check's fix, for every failing finding (an EC2 region: thousands): the template is cut once and the
  // values read in place, where a values object per finding and a replace() with a callback cost ~5 us each.
  const parts = partsOf(template);
  let out = parts[0]!;
  for (let i = 1; i < parts.length; i += 2) {
    const k = parts[i]!;
    const v = k === 'rule' ? rule : k === 'source' ? source : k === 'port' ? String(port) : Object.hasOwn(base, k) ? base[k] : undefined;
    out += (v ?? `{${k}}`) + parts[i + 1]!;
  }
  return out.trim();
}

/**
 * A rule set's remediation from its report entry alone (`rdpcloud merge` words a combined finding again): the
 * reference holds the rule set's name and id, which is all its placeholders read.
 */
export function ruleSetRemediation(template: string | undefined, ref: Where, rule: string, port: number): string | undefined {
  return fill(template, ruleSetValues(ref, ref.instance, ref.instanceId), rule, '', port);
}

/** The placeholders that depend on the resource alone (made once per resource: several policies fail it). */
function resourceValues(r: Resource, ref: InstanceRef): Record<string, string> {
  if (r.kind === 'rule-set') return ruleSetValues(ref, r.ruleSet.name, r.ruleSet.id);
  return {
    ...common(ref),
    ruleSet: '',
    ruleSetId: '',
    network: r.instance.nics[0]?.network.split('/').pop() ?? '',
  };
}

/** What the placeholders read of a reference. */
type Where = Pick<InstanceRef, 'scope' | 'location' | 'instance' | 'instanceId' | 'ref'>;

const common = (ref: Where) => ({
  scope: ref.scope,
  project: ref.scope,
  location: ref.location,
  instance: ref.instance,
  id: ref.instanceId,
  ref: ref.ref ?? '',
  resourceGroup: /\/resourcegroups\/([^/]+)/i.exec(ref.instanceId)?.[1] ?? '',
});

function ruleSetValues(ref: Where, name: string, id: string): Record<string, string> {
  return {
    ...common(ref),
    ruleSet: name,
    // sg-0abc, acl-0abc, the NSG's name, the VPC network's name: the last part of the id, before an
    // Azure "@vnet" suffix.
    ruleSetId: id.split('@')[0].replace(/\/(in|out)$/, '').split('/').pop() ?? '',
    network: id.split('@')[0].split('/').pop() ?? '',
  };
}

/** `owns`: with --shard, the rule sets this shard reports on (another shard reports the others). */
export function runPolicies(policies: Policy[], ctx: RunContext, owns: (rs: RuleSet) => boolean = () => true): Finding[] {
  const out: Finding[] = [];
  // One reference per instance or rule set, shared by the findings about it (every policy names it).
  const refs = new Map<object, InstanceRef>();
  const values = new Map<object, Record<string, string>>();
  for (const p of policies) {
    const check = CHECK_TYPES.get(p.check.type)!;
    for (const r of resourcesFor(p, ctx.inventory, owns)) {
      const of = r.kind === 'instance' ? r.instance : r.ruleSet;
      let resource = refs.get(of);
      if (!resource) refs.set(of, (resource = resourceOf(r)));
      let o: Outcome;
      try {
        o = check.check(r, { params: p.check.params, policy: p, run: ctx });
      } catch (e) {
        const why = e instanceof CannotDecide ? e.message : `check ${p.check.type} failed: ${(e as Error)?.message ?? e}`;
        out.push({ policyId: p.id, severity: p.severity, status: 'error', resource, message: why });
        continue;
      }
      const f: Finding = { policyId: p.id, severity: o.status === 'fail' ? atMost(o.severity ?? p.severity, p.severity) : p.severity, status: o.status, resource, message: o.message };
      if (o.source) f.source = o.source;
      if (o.rules?.length) f.rules = o.rules;
      if (o.ruleLabels?.length) f.ruleLabels = o.ruleLabels;
      if (o.status === 'fail') {
        let base = values.get(of);
        if (!base) values.set(of, (base = resourceValues(r, resource)));
        const fix = remediationFor(p, r, resource, o, ctx.port, base);
        if (fix) f.remediation = fix;
      }
      out.push(f);
    }
  }
  return out;
}
