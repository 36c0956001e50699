// `--format ocsf`: OCSF Detection Finding events (class_uid 2004, schema 1.4.0), a JSON array with one event
// per failing policy x resource, as security data lakes (Amazon Security Lake, Splunk, ...) ingest them.
// Suppressed failures are status Suppressed; with --baseline, failures fixed since then are Close/Resolved.
// Field definitions: https://schema.ocsf.io/1.4.0/classes/detection_finding
import { createHash } from 'node:crypto';
import type { Provider } from '../model/inventory.js';
import type { Finding, Report, Severity } from '../model/results.js';
import { goneSinceBaseline, refOf } from './common.js';
import { arrayText } from './json.js';

export const OCSF_VERSION = '1.4.0';
const CLASS_UID = 2004;
const SEVERITY_ID: Record<Severity, number> = { info: 1, low: 2, medium: 3, high: 4, critical: 5 };
const SEVERITY_NAME: Record<Severity, string> = { info: 'Informational', low: 'Low', medium: 'Medium', high: 'High', critical: 'Critical' };
const CLOUD: Record<Provider, { provider: string; accountType: number; accountTypeName: string }> = {
  gcp: { provider: 'GCP', accountType: 11, accountTypeName: 'GCP Project' },
  aws: { provider: 'AWS', accountType: 10, accountTypeName: 'AWS Account' },
  azure: { provider: 'Azure', accountType: 13, accountTypeName: 'Azure Subscription' },
};
/** The clouds' own names for the resource types. */
const TYPE: Record<Provider, { instance: string; ruleSet: string }> = {
  gcp: { instance: 'compute.googleapis.com/Instance', ruleSet: 'compute.googleapis.com/Firewall' },
  aws: { instance: 'AWS::EC2::Instance', ruleSet: 'AWS::EC2::SecurityGroup' },
  azure: { instance: 'Microsoft.Compute/virtualMachines', ruleSet: 'Microsoft.Network/networkSecurityGroups' },
};

/** GCE zones end in -a/-b...; AWS availability zones in a letter; Azure locations are regions already. */
function regionOf(f: Finding): string | undefined {
  const l = f.resource.location;
  if (!l) return undefined;
  if (f.resource.provider === 'gcp') return l.replace(/-[a-z]$/, '');
  if (f.resource.provider === 'aws') return l.replace(/[a-z]$/, '');
  return l;
}

function ruleSetType(f: Finding, provider: Provider): string {
  if (provider === 'aws' && f.resource.instanceId.includes('/acl-')) return 'AWS::EC2::NetworkAcl';
  if (provider === 'gcp' && f.resource.instanceId.startsWith('gcp/policy/')) return 'compute.googleapis.com/FirewallPolicy';
  return TYPE[provider].ruleSet;
}

function event(report: Report, f: Finding, time: number, state: 'open' | 'suppressed' | 'fixed') {
  const activity = state === 'fixed' ? 3 : 1;
  const status = state === 'fixed' ? { id: 4, name: 'Resolved' } : state === 'suppressed' ? { id: 3, name: 'Suppressed' } : { id: 1, name: 'New' };
  const policy = report.policies.find((p) => p.id === f.policyId);
  // A bare host:port from `rdpcloud probe` belongs to no cloud: no cloud object, so no cloud profile.
  const provider = f.resource.provider === 'host' ? undefined : f.resource.provider;
  const cloud = provider ? CLOUD[provider] : undefined;
  const region = regionOf(f);
  const fix = f.remediation ?? (provider ? policy?.remediation[provider] : Object.values(policy?.remediation ?? {})[0]);
  const ref = refOf(f);
  return {
    activity_id: activity,
    activity_name: activity === 3 ? 'Close' : 'Create',
    category_uid: 2,
    category_name: 'Findings',
    class_uid: CLASS_UID,
    class_name: 'Detection Finding',
    type_uid: CLASS_UID * 100 + activity,
    type_name: `Detection Finding: ${activity === 3 ? 'Close' : 'Create'}`,
    severity_id: SEVERITY_ID[f.severity],
    severity: SEVERITY_NAME[f.severity],
    time,
    status_id: status.id,
    status: status.name,
    ...(f.suppressed ? { status_detail: `suppressed until ${f.suppressed.expires}: ${f.suppressed.reason}` } : {}),
    is_alert: state === 'open',
    confidence_id: 3,
    confidence: 'High',
    message: `${ref}: ${f.message}`,
    metadata: {
      version: OCSF_VERSION,
      product: { name: report.tool.name, vendor_name: report.tool.name, version: report.tool.version },
      profiles: cloud ? ['cloud'] : [],
      log_name: 'rdpcloud audit',
    },
    finding_info: {
      // Stable across runs: the same policy on the same resource is the same finding.
      uid: createHash('sha256').update(`${f.policyId}|${ref}`).digest('hex').slice(0, 32),
      title: policy?.title ?? f.policyId,
      desc: policy?.description,
      analytic: { type_id: 1, type: 'Rule', name: f.policyId, uid: f.policyId },
      types: [policy?.pack ?? 'custom'],
      ...(report.generatedAt ? { created_time: time } : {}),
      ...(policy?.references.length ? { src_url: policy.references[0] } : {}),
    },
    resources: [
      {
        uid: f.resource.instanceId,
        name: f.resource.instance,
        type: !provider ? 'Host' : f.resource.kind === 'rule-set' ? ruleSetType(f, provider) : TYPE[provider].instance,
        ...(region ? { region } : {}),
        labels: [ref],
      },
    ],
    ...(cloud
      ? {
          cloud: {
            provider: cloud.provider,
            ...(region ? { region } : {}),
            ...(provider === 'gcp' && f.resource.location ? { zone: f.resource.location } : {}),
            account: { uid: f.resource.scope, type_id: cloud.accountType, type: cloud.accountTypeName },
          },
        }
      : {}),
    ...(fix ? { remediation: { desc: fix, ...(policy?.references.length ? { references: policy.references } : {}) } } : {}),
    ...(policy?.compliance.length
      ? { unmapped: { compliance: policy.compliance.map((c) => `${c.framework} v${c.version} ${c.id}`) } }
      : {}),
  };
}

/** The events in pieces (a block of events at a time), which join to exactly ocsfReport's text. */
export function* ocsfBlocks(report: Report): Generator<string> {
  const time = Date.parse(report.generatedAt);
  function* events() {
    for (const f of report.findings) if (f.status === 'fail') yield event(report, f, time, f.suppressed ? 'suppressed' : 'open');
    for (const f of goneSinceBaseline(report)) yield event(report, f, time, 'fixed');
  }
  yield* arrayText(events(), 0);
  yield '\n';
}

export const ocsfReport = (report: Report): string => [...ocsfBlocks(report)].join('');
