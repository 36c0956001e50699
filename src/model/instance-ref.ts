// `<instance>` references (interface.md): a name when it is unique, or gcp:PROJECT/ZONE/NAME,
// aws:[ACCOUNT/]REGION/INSTANCE_ID_OR_NAME, azure:SUBSCRIPTION/RESOURCE_GROUP/NAME.
import { UsageError } from '../errors.js';
import type { Instance, Inventory } from './inventory.js';

const resourceGroupOf = (id: string) => /\/resourceGroups\/([^/]+)/i.exec(id)?.[1] ?? '';
/** AWS locations are availability zones (eu-west-1a); a reference names the region. */
const regionOf = (az: string) => az.replace(/[a-z]$/, '');

/** The middle part of a reference: zone (GCP), region (AWS), resource group (Azure). */
function placeOf(i: Instance): string {
  return i.provider === 'aws' ? regionOf(i.location) : i.provider === 'azure' ? resourceGroupOf(i.id) : i.location;
}

export function instanceRef(i: Instance): string {
  return `${i.provider}:${i.scope}/${placeOf(i)}/${i.provider === 'aws' ? i.id : i.name}`;
}

export function findInstance(inv: Inventory, ref: string): Instance {
  const m = /^(gcp|aws|azure):(.+)$/.exec(ref);
  const parts = (m ? m[2] : ref).split('/');
  const name = parts[parts.length - 1];
  const same = (a: string, b: string, provider: string) => (provider === 'azure' ? a.toLowerCase() === b.toLowerCase() : a === b);
  const matches = inv.instances.filter((i) => {
    if (m && i.provider !== m[1]) return false;
    if (i.name !== name && i.id !== name) return false;
    if (parts.length >= 2 && !same(placeOf(i), parts[parts.length - 2], i.provider)) return false;
    if (parts.length >= 3 && i.scope !== parts[parts.length - 3]) return false;
    return true;
  });
  if (matches.length === 0) {
    throw new UsageError(`instance "${ref}" not found in the audited scopes; give a full reference (gcp:PROJECT/ZONE/NAME, aws:ACCOUNT/REGION/ID, azure:SUBSCRIPTION/RESOURCE_GROUP/NAME) or check the scope flags`);
  }
  if (matches.length > 1) throw new UsageError(`instance "${ref}" is ambiguous: ${matches.map(instanceRef).join(', ')}; give the full reference`);
  return matches[0];
}
