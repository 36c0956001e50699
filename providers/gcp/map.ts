// Compute Engine JSON -> the shared model. Field meanings: compute.proto in @google-cloud/compute and
// https://cloud.google.com/vpc/docs/firewalls, https://cloud.google.com/firewall/docs/firewall-policies-rule-details.
import type { Instance, Nic, OsFamily, Rule, RuleSet } from '../../src/model/inventory.js';

/* eslint-disable @typescript-eslint/no-explicit-any */
type Json = any;

/** Last path segment of a GCE URL: ".../zones/us-central1-a" -> "us-central1-a". */
export function lastSegment(url: string | null | undefined): string {
  if (!url) return '';
  const i = url.lastIndexOf('/');
  return i < 0 ? url : url.slice(i + 1);
}

/** Network URLs come as https://www.googleapis.com/compute/v1/projects/P/global/networks/N or shorter forms. */
export function networkKey(url: string): string {
  const m = /projects\/([^/]+)\/global\/networks\/([^/?]+)/.exec(url);
  return m ? `projects/${m[1]}/global/networks/${m[2]}` : url;
}

export function networkProject(url: string): string | undefined {
  return /projects\/([^/]+)\/global\/networks\//.exec(url)?.[1];
}

export function regionOfZone(zone: string): string {
  return zone.replace(/-[a-z]$/, '');
}

// Public image projects: https://cloud.google.com/compute/docs/images/os-details
const WINDOWS_LICENSE = /\/projects\/(windows-cloud|windows-sql-cloud)\/|windows/i;
const LINUX_LICENSE =
  /\/projects\/(debian-cloud|ubuntu-os-cloud|ubuntu-os-pro-cloud|centos-cloud|rhel-cloud|rhel-sap-cloud|rocky-linux-cloud|suse-cloud|suse-sap-cloud|cos-cloud|fedora-coreos-cloud|opensuse-cloud|oracle-linux-cloud|almalinux-cloud)\//;

/** Windows from the boot disk's licenses or guestOsFeatures WINDOWS; Linux from the public Linux image projects. */
export function osFamily(inst: Json): { os: OsFamily; evidence?: string } {
  const disks: Json[] = inst.disks ?? [];
  const boot = disks.find((d) => d.boot) ?? disks[0];
  const licenses: string[] = disks.flatMap((d) => d.licenses ?? []);
  const features: string[] = disks.flatMap((d) => (d.guestOsFeatures ?? []).map((f: Json) => f.type));
  const win = licenses.find((l) => WINDOWS_LICENSE.test(l));
  if (win) return { os: 'windows', evidence: `license ${lastSegment(win)}` };
  if (features.includes('WINDOWS')) return { os: 'windows', evidence: 'guestOsFeature WINDOWS' };
  const image: string = boot?.source ?? '';
  if (/windows/i.test(image)) return { os: 'windows', evidence: `disk ${lastSegment(image)}` };
  const lin = licenses.find((l) => LINUX_LICENSE.test(l));
  if (lin) return { os: 'linux', evidence: `license ${lastSegment(lin)}` };
  return { os: 'unknown' };
}

/** Metadata keys a policy may read. Everything else (ssh-keys, windows-keys, startup scripts) stays out. */
export const SAFE_METADATA_KEYS = ['serial-port-enable', 'serial-port-logging-enable', 'enable-oslogin', 'enable-windows-ssh', 'block-project-ssh-keys'];
export function safeMetadata(md: Json): Record<string, string> | undefined {
  const out: Record<string, string> = {};
  for (const item of md?.items ?? []) {
    if (SAFE_METADATA_KEYS.includes(item.key) && typeof item.value === 'string') out[item.key] = item.value;
  }
  return Object.keys(out).length ? out : undefined;
}

export function mapInstance(project: string, inst: Json, pathOf: (nic: Json, zone: string) => string): Instance {
  const zone = lastSegment(inst.zone);
  const nics: Nic[] = (inst.networkInterfaces ?? []).map((n: Json): Nic => {
    const nat = (n.accessConfigs ?? []).find((a: Json) => a.natIP && (a.type ?? 'ONE_TO_ONE_NAT') === 'ONE_TO_ONE_NAT');
    const v6 = (n.ipv6AccessConfigs ?? []).find((a: Json) => a.externalIpv6);
    const nic: Nic = { name: n.name ?? 'nic0', network: networkKey(n.network ?? ''), path: pathOf(n, zone) };
    if (n.subnetwork) nic.subnet = lastSegment(n.subnetwork);
    if (n.networkIP) nic.internalIPv4 = n.networkIP;
    if (n.ipv6Address) nic.internalIPv6 = n.ipv6Address;
    if (nat?.natIP) nic.externalIPv4 = nat.natIP;
    if (v6?.externalIpv6) nic.externalIPv6 = v6.externalIpv6;
    return nic;
  });
  const { os, evidence } = osFamily(inst);
  const out: Instance = {
    provider: 'gcp',
    scope: project,
    location: zone,
    name: inst.name,
    id: String(inst.id ?? inst.name),
    state: inst.status ?? 'UNKNOWN',
    os,
    nics,
    tags: [...(inst.tags?.items ?? [])],
    serviceAccounts: (inst.serviceAccounts ?? []).map((s: Json) => s.email).filter(Boolean),
    labels: { ...(inst.labels ?? {}) },
  };
  if (evidence) out.osEvidence = evidence;
  const md = safeMetadata(inst.metadata);
  if (md) out.metadata = md;
  return out;
}

function ports(list: Json): string[] | undefined {
  return list && list.length ? list.map(String) : undefined;
}

/** A classic VPC firewall rule; only INGRESS rules matter for who can open tcp:3389. */
export function mapFirewall(fw: Json): Rule | undefined {
  if ((fw.direction ?? 'INGRESS') !== 'INGRESS') return undefined;
  const allow = (fw.allowed ?? []).length > 0;
  const entries: Json[] = allow ? fw.allowed : (fw.denied ?? []);
  const rule: Rule = {
    name: fw.name,
    priority: fw.priority ?? 1000,
    action: allow ? 'allow' : 'deny',
    sourceRanges: [...(fw.sourceRanges ?? [])],
    protocols: entries.map((e) => ({ protocol: String(e.IPProtocol ?? e.ipProtocol ?? 'all'), ports: ports(e.ports) })),
  };
  // A rule with no sources at all is rejected by the API; an ingress rule with only tags/SAs never matches outside addresses.
  const ids = [...(fw.sourceTags ?? []).map((t: string) => `tag:${t}`), ...(fw.sourceServiceAccounts ?? []).map((s: string) => `serviceAccount:${s}`)];
  if (ids.length) rule.sourceIdentities = ids;
  if (fw.disabled) rule.disabled = true;
  if ((fw.destinationRanges ?? []).length) rule.destinationRanges = [...fw.destinationRanges];
  const tags = fw.targetTags ?? [];
  const sas = fw.targetServiceAccounts ?? [];
  if (tags.length || sas.length) rule.targets = { ...(tags.length ? { tags: [...tags] } : {}), ...(sas.length ? { serviceAccounts: [...sas] } : {}) };
  if (fw.description) rule.description = fw.description;
  return rule;
}

/**
 * A firewall-policy rule (hierarchical, global or regional network policy). Returns undefined for egress
 * rules and for rules whose targetResources leave out `network`.
 */
export function mapPolicyRule(r: Json, network: string): Rule | undefined {
  if ((r.direction ?? 'INGRESS') !== 'INGRESS') return undefined;
  const targets: string[] = r.targetResources ?? [];
  if (targets.length && !targets.some((t) => networkKey(t) === network)) return undefined;
  const m = r.match ?? {};
  const action = String(r.action ?? '').toLowerCase();
  const rule: Rule = {
    name: r.ruleName || r.description || `priority ${r.priority}`,
    priority: Number(r.priority ?? 0),
    // apply_security_profile_group lets traffic through to L7 inspection: for reachability it is an allow.
    action: action === 'deny' ? 'deny' : action === 'goto_next' ? 'next' : 'allow',
    sourceRanges: [...(m.srcIpRanges ?? [])],
    protocols: (m.layer4Configs ?? [{ ipProtocol: 'all' }]).map((e: Json) => ({ protocol: String(e.ipProtocol ?? 'all'), ports: ports(e.ports) })),
  };
  if (r.disabled) rule.disabled = true;
  if ((m.destIpRanges ?? []).length) rule.destinationRanges = [...m.destIpRanges];
  const ids = (m.srcSecureTags ?? []).map((t: Json) => `secureTag:${t.name}`);
  if (ids.length) rule.sourceIdentities = ids;
  const offline: string[] = [];
  if ((m.srcRegionCodes ?? []).length) offline.push(`srcRegionCodes (${m.srcRegionCodes.join(', ')})`);
  if ((m.srcFqdns ?? []).length) offline.push(`srcFqdns (${m.srcFqdns.join(', ')})`);
  if ((m.srcAddressGroups ?? []).length) offline.push(`srcAddressGroups (${m.srcAddressGroups.map(lastSegment).join(', ')})`);
  if ((m.srcThreatIntelligences ?? []).length) offline.push(`srcThreatIntelligences (${m.srcThreatIntelligences.join(', ')})`);
  if (m.srcNetworkType || (m.srcNetworks ?? []).length) offline.push(`srcNetworkType ${m.srcNetworkType ?? ''}`.trim());
  // These OR with srcIpRanges; the ranges part is exact, the rest cannot be judged offline.
  if (offline.length) rule.indeterminate = `matches by ${offline.join(', ')}, which cannot be evaluated offline`;
  const sas: string[] = r.targetServiceAccounts ?? [];
  if (sas.length) rule.targets = { serviceAccounts: [...sas] };
  if ((r.targetSecureTags ?? []).length) {
    // Secure-tag bindings are not part of the instance listing; which instances they select is unknown here.
    rule.targetIndeterminate = `targets secure tags (${r.targetSecureTags.map((t: Json) => t.name).join(', ')}), whose bindings the audit does not read`;
  }
  if (r.description) rule.description = r.description;
  return rule;
}

export function policyRuleSet(id: string, project: string, policy: Json, network: string, kind: string, label: string): RuleSet {
  const rules = (policy.rules ?? []).map((r: Json) => mapPolicyRule(r, network)).filter((r: Rule | undefined): r is Rule => !!r);
  return { id, provider: 'gcp', scope: project, name: label, kind, rules };
}
