// Sources: who is trying to open tcp:port. `internet` is the public address space, `iap` is Google's IAP
// TCP-forwarding range (it reaches the internal address), a CIDR is split into the part that reaches the
// internal address (RFC 1918, fc00::/7) and the rest, which needs an external address (../../shared/docs/interface.md).
import { AddressSet, CidrError, parseCidr } from './addresses.js';
import { SPECIAL_PURPOSE } from './special-ranges.js';
import { UsageError } from '../errors.js';

export const INTERNET: AddressSet = AddressSet.ALL.subtract(AddressSet.of(SPECIAL_PURPOSE.notPublic)).union(
  AddressSet.of(SPECIAL_PURPOSE.publicExceptions),
);
export const IAP_RANGE = SPECIAL_PURPOSE.iap;
export const IAP: AddressSet = AddressSet.of([IAP_RANGE]);
export const PRIVATE: AddressSet = AddressSet.of(SPECIAL_PURPOSE.privateReachesInternal);

export type Gateway = 'iap' | 'bastion' | 'ssm';

export interface Source {
  /** As the user gave it: `internet`, `iap`, `corp`, `203.0.113.0/24`. */
  label: string;
  /** Addresses that reach the instance's external address. */
  external: AddressSet;
  /** Addresses that reach the instance's internal address (private ranges, gateways). */
  internal: AddressSet;
  /** The whole source (external + internal). */
  all: AddressSet;
  /** Set for `internet`: the exposure checks look for it. */
  isInternet: boolean;
  /** Set when the whole source is a sanctioned gateway (`iap`). */
  gateway?: Gateway;
  /** Providers this source means something on (iap: GCP only). Absent = all. */
  providers?: string[];
}

export function internetSource(): Source {
  return { label: 'internet', external: INTERNET, internal: AddressSet.EMPTY, all: INTERNET, isInternet: true };
}

/** The internet outside IAP's range: computed once (every rule-set check asks for it). */
const OUTSIDE_GATEWAYS: AddressSet = INTERNET.subtract(IAP);

/** `internet` without the gateways' ranges (IAP): what is exposed rather than brokered by a gateway. */
export function exposureSource(): Source {
  return { label: 'internet outside gateways', external: OUTSIDE_GATEWAYS, internal: AddressSet.EMPTY, all: OUTSIDE_GATEWAYS, isInternet: false };
}

/**
 * Resolves `--source` values. Named sets come from rdpcloud.yaml (`sources: {corp: [...]}`) and may
 * contain CIDRs, `iap` and `internet`.
 */
export function resolveSource(label: string, named: Record<string, string[]> = {}, seen: string[] = []): Source {
  const text = label.trim();
  if (text === 'internet') return internetSource();
  if (text === 'iap') {
    return { label: 'iap', external: AddressSet.EMPTY, internal: IAP, all: IAP, isInternet: false, gateway: 'iap', providers: ['gcp'] };
  }
  if (Object.hasOwn(named, text)) {
    if (seen.includes(text)) throw new UsageError(`source set "${text}" refers to itself (${[...seen, text].join(' -> ')})`);
    const parts = named[text].map((m) => resolveSource(m, named, [...seen, text]));
    const union = (pick: (s: Source) => AddressSet) => parts.reduce((acc, s) => acc.union(pick(s)), AddressSet.EMPTY);
    return { label: text, external: union((s) => s.external), internal: union((s) => s.internal), all: union((s) => s.all), isInternet: false };
  }
  try {
    parseCidr(text);
  } catch (e) {
    if (e instanceof CidrError) {
      throw new UsageError(
        `--source "${label}": not a CIDR (e.g. 203.0.113.0/24, 2001:db8::/32), \`internet\`, \`iap\` or a source set from rdpcloud.yaml`,
      );
    }
    throw e;
  }
  const all = AddressSet.of([text]);
  return { label: text, external: all.subtract(PRIVATE), internal: all.intersect(PRIVATE), all, isInternet: false };
}

export function parsePort(text: string): number {
  if (!/^\d{1,5}$/.test(text.trim()) || Number(text) < 1 || Number(text) > 65535) {
    throw new UsageError(`--port "${text}": a TCP port is a whole number from 1 to 65535 (RDP's is 3389)`);
  }
  return Number(text);
}
