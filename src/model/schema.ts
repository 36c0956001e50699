// The inventory's JSON Schema (draft-07), checked on load with Ajv. Every problem is collected and named by
// its path in the file ("instances[3].nics[0].path: must be string"), then the user gets them together.
import type { ValidateFunction } from 'ajv';
import { lazyRequire } from '../lazy.js';
import { INVENTORY_SCHEMA_VERSION, type Inventory } from './inventory.js';

const str = { type: 'string' };
const strings = { type: 'array', items: str };
const provider = { enum: ['gcp', 'aws', 'azure'] };

const rule = {
  type: 'object',
  required: ['name', 'priority', 'action', 'sourceRanges', 'protocols'],
  properties: {
    name: str,
    priority: { type: 'number' },
    action: { enum: ['allow', 'deny', 'next'] },
    disabled: { type: 'boolean' },
    sourceRanges: strings,
    sourceIdentities: strings,
    indeterminate: str,
    targetIndeterminate: str,
    destinationRanges: strings,
    protocols: {
      type: 'array',
      items: { type: 'object', required: ['protocol'], properties: { protocol: str, ports: strings } },
    },
    targets: { type: 'object', properties: { tags: strings, serviceAccounts: strings, groups: strings }, additionalProperties: false },
    description: str,
  },
};

export const inventorySchema = {
  $id: 'https://rdpcloud.dev/schemas/inventory-v1.json',
  type: 'object',
  required: ['schemaVersion', 'generatedAt', 'scopes', 'ruleSets', 'paths', 'instances'],
  properties: {
    schemaVersion: { const: INVENTORY_SCHEMA_VERSION },
    generatedAt: str,
    tool: { type: 'object' },
    scopes: {
      type: 'array',
      items: {
        type: 'object',
        required: ['provider', 'scope', 'status'],
        properties: { provider, scope: str, status: { enum: ['ok', 'failed'] }, error: str, warnings: strings, metadata: { type: 'object', additionalProperties: str } },
      },
    },
    ruleSets: {
      type: 'array',
      items: {
        type: 'object',
        required: ['id', 'provider', 'scope', 'name', 'kind', 'rules'],
        properties: { id: str, provider, scope: str, name: str, kind: str, unreadable: str, rules: { type: 'array', items: rule } },
      },
    },
    paths: {
      type: 'object',
      additionalProperties: {
        type: 'array',
        items: {
          type: 'object',
          required: ['name', 'stages', 'otherwise'],
          properties: {
            name: str,
            stages: { type: 'array', items: { type: 'object', required: ['ruleSet', 'mode'], properties: { ruleSet: str, mode: { enum: ['first-match', 'any-allow'] } } } },
            otherwise: { type: 'object', required: ['action', 'rule', 'why'], properties: { action: { enum: ['allow', 'deny'] }, rule: str, why: str } },
            returnPorts: { type: 'object', required: ['from', 'to'], properties: { from: { type: 'integer', minimum: 0, maximum: 65535 }, to: { type: 'integer', minimum: 0, maximum: 65535 } } },
            afterNat: { type: 'boolean' },
          },
        },
      },
    },
    instances: {
      type: 'array',
      items: {
        type: 'object',
        required: ['provider', 'scope', 'location', 'name', 'id', 'state', 'os', 'nics', 'tags', 'serviceAccounts', 'labels'],
        properties: {
          provider,
          scope: str,
          location: str,
          name: str,
          id: str,
          state: str,
          os: { enum: ['windows', 'linux', 'unknown'] },
          osEvidence: str,
          tags: strings,
          serviceAccounts: strings,
          labels: { type: 'object', additionalProperties: str },
          metadata: { type: 'object', additionalProperties: str },
          gateways: {
            type: 'array',
            items: { type: 'object', required: ['kind', 'name'], properties: { kind: { enum: ['bastion', 'ssm'] }, name: str, sourceRanges: strings } },
          },
          nics: {
            type: 'array',
            items: {
              type: 'object',
              required: ['name', 'network', 'path'],
              properties: {
                name: str,
                id: str,
                network: str,
                subnet: str,
                internalIPv4: str,
                internalIPv6: str,
                externalIPv4: str,
                externalIPv6: str,
                path: str,
                internalPath: str,
                groups: strings,
              },
            },
          },
        },
      },
    },
  },
} as const;

// Ajv loaded and the schema compiled when an inventory is first read (--from, merge): a live audit never needs it.
let compiled: ValidateFunction | undefined;
const ajv = lazyRequire<typeof import('ajv')>('ajv');
const inventoryValidator = () => (compiled ??= new (ajv().Ajv)({ allErrors: true, strict: false }).compile(inventorySchema));

/** "/instances/3/nics/0/path" -> "instances[3].nics[0].path" */
function fieldName(pointer: string): string {
  return pointer
    .split('/')
    .filter(Boolean)
    .map((p, i) => (/^\d+$/.test(p) ? `[${p}]` : i === 0 ? p : `.${p}`))
    .join('');
}

/** Returns every problem found; an empty list means the inventory can be used. */
export function validateInventory(data: unknown): string[] {
  const version = (data as { schemaVersion?: unknown } | null)?.schemaVersion;
  if (data && typeof data === 'object' && version !== undefined && version !== INVENTORY_SCHEMA_VERSION) {
    return [`schemaVersion is ${JSON.stringify(version)}; this rdpcloud reads version ${INVENTORY_SCHEMA_VERSION} (make a new snapshot with this version)`];
  }
  const validateSchema = inventoryValidator();
  if (!validateSchema(data)) {
    return (validateSchema.errors ?? []).slice(0, 20).map((e) => {
      const where = fieldName(e.instancePath) || '(top level)';
      const extra = e.keyword === 'enum' ? ` (${(e.params as { allowedValues: unknown[] }).allowedValues.join(', ')})` : '';
      return `${where}: ${e.message}${extra}`;
    });
  }
  // What JSON Schema cannot say: references resolve.
  const inv = data as Inventory;
  const problems: string[] = [];
  const ids = new Set(inv.ruleSets.map((r) => r.id));
  for (const [pid, layers] of Object.entries(inv.paths)) {
    layers.forEach((l, li) =>
      l.stages.forEach((s, si) => {
        if (!ids.has(s.ruleSet)) problems.push(`paths["${pid}"][${li}].stages[${si}].ruleSet: no rule set "${s.ruleSet}"`);
      }),
    );
  }
  inv.instances.forEach((inst, i) =>
    inst.nics.forEach((n, j) => {
      if (!Object.hasOwn(inv.paths, n.path)) problems.push(`instances[${i}].nics[${j}].path: no path "${n.path}"`);
      if (n.internalPath !== undefined && !Object.hasOwn(inv.paths, n.internalPath)) problems.push(`instances[${i}].nics[${j}].internalPath: no path "${n.internalPath}"`);
    }),
  );
  return problems.slice(0, 20);
}
