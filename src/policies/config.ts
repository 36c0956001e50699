// rdpcloud.yaml: what a team's scheduled run audits and how. Found in the working directory (rdpcloud.yaml or
// rdpcloud.yml) or given with --config; flags win over it. Schema-checked like the policies: every problem
// with its line and field, exit 2.
import { existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { SEVERITIES } from '../model/results.js';
import { selectorSchema } from './load.js';
import type { Selector } from './types.js';
import type { Suppression } from './suppressions.js';
import { ajv, readYaml, shownPath, validateYaml } from './yaml-file.js';
import { InputError } from '../errors.js';

const str = { type: 'string', minLength: 1 };
const strings = { type: 'array', items: str };

const configSchema = {
  type: 'object',
  additionalProperties: false,
  properties: {
    sources: {
      type: 'object',
      propertyNames: { pattern: '^[A-Za-z][A-Za-z0-9_-]*$' },
      additionalProperties: {
        anyOf: [
          { type: 'array', items: str, minItems: 1 },
          { type: 'object', additionalProperties: false, required: ['ranges'], properties: { ranges: { type: 'array', items: str, minItems: 1 }, mustReach: selectorSchema } },
        ],
      },
    },
    projects: strings,
    allProjects: { type: 'boolean' },
    regions: strings,
    accounts: { type: 'array', items: { type: 'string', pattern: '^\\d{12}$' } },
    roleName: str,
    roleArns: strings,
    subscriptions: strings,
    packs: strings,
    policies: strings,
    overrides: {
      type: 'object',
      additionalProperties: {
        type: 'object',
        additionalProperties: false,
        properties: { enabled: { type: 'boolean' }, severity: { enum: [...SEVERITIES] }, params: { type: 'object' }, select: selectorSchema },
      },
    },
    failOn: { enum: [...SEVERITIES, 'none'] },
    port: { type: 'integer', minimum: 1, maximum: 65535 },
    concurrency: { type: 'integer', minimum: 1, maximum: 256 },
    suppressions: {
      type: 'array',
      items: {
        type: 'object',
        additionalProperties: false,
        required: ['policy', 'reason', 'expires'],
        properties: {
          policy: str,
          resource: str,
          reason: { type: 'string', minLength: 10 },
          expires: { type: 'string', pattern: '^\\d{4}-\\d{2}-\\d{2}$' },
        },
      },
    },
  },
};

// Compiled when an rdpcloud.yaml is first read: most runs have none.
let configValidator: ReturnType<ReturnType<typeof ajv>['compile']> | undefined;
const validateConfig = () => (configValidator ??= ajv().compile(configSchema));

export interface Config {
  file: string;
  sources: Record<string, string[]>;
  mustReach: Record<string, Selector>;
  projects: string[];
  allProjects: boolean;
  regions: string[];
  roleArns: string[];
  subscriptions: string[];
  packs?: string[];
  /** Policy files/folders, resolved against the config file's folder. */
  policies: string[];
  overrides: Record<string, { enabled?: boolean; severity?: (typeof SEVERITIES)[number]; params?: Record<string, unknown>; select?: Selector }>;
  failOn?: (typeof SEVERITIES)[number] | 'none';
  port?: number;
  concurrency?: number;
  suppressions: Suppression[];
}

interface RawConfig {
  sources?: Record<string, string[] | { ranges: string[]; mustReach?: Selector }>;
  projects?: string[];
  allProjects?: boolean;
  regions?: string[];
  accounts?: string[];
  roleName?: string;
  roleArns?: string[];
  subscriptions?: string[];
  packs?: string[];
  policies?: string[];
  overrides?: Config['overrides'];
  failOn?: Config['failOn'];
  port?: number;
  concurrency?: number;
  suppressions?: Omit<Suppression, 'where'>[];
}

export async function loadConfig(explicit: string | undefined, cwd: string): Promise<Config | undefined> {
  let path: string | undefined;
  if (explicit) path = resolve(cwd, explicit);
  else path = ['rdpcloud.yaml', 'rdpcloud.yml'].map((n) => join(cwd, n)).find((p) => existsSync(p));
  if (!path) return undefined;
  const shown = shownPath(path, cwd);
  const y = await readYaml(path, shown);
  const raw = (y.data ?? {}) as RawConfig;
  const problems = validateYaml(y, validateConfig());
  if (raw.accounts?.length && !raw.roleName) problems.push(`${y.where(['accounts'])}: accounts: needs roleName (the role rdpcloud assumes in each account)`);
  (raw.suppressions ?? []).forEach((s, i) => {
    if (typeof s?.expires === 'string' && /^\d{4}-\d{2}-\d{2}$/.test(s.expires) && new Date(`${s.expires}T00:00:00Z`).toISOString?.().slice(0, 10) !== s.expires) {
      problems.push(`${y.where(['suppressions', i, 'expires'])}: suppressions[${i}].expires: "${s.expires}" is not a date`);
    }
  });
  if (problems.length) throw new InputError(shown, problems);
  const sources: Record<string, string[]> = {};
  const mustReach: Record<string, Selector> = {};
  for (const [name, v] of Object.entries(raw.sources ?? {})) {
    if (['internet', 'iap'].includes(name)) throw new InputError(shown, [`${y.where(['sources', name], true)}: sources.${name}: "${name}" is built in; give the set another name`]);
    sources[name] = Array.isArray(v) ? v : v.ranges;
    if (!Array.isArray(v) && v.mustReach) mustReach[name] = v.mustReach;
  }
  const base = dirname(path);
  return {
    file: shown,
    sources,
    mustReach,
    projects: raw.projects ?? [],
    allProjects: !!raw.allProjects,
    regions: raw.regions ?? [],
    roleArns: [...(raw.roleArns ?? []), ...(raw.accounts ?? []).map((a) => `arn:aws:iam::${a}:role/${raw.roleName}`)],
    subscriptions: raw.subscriptions ?? [],
    packs: raw.packs,
    policies: (raw.policies ?? []).map((p) => resolve(base, p)),
    overrides: raw.overrides ?? {},
    failOn: raw.failOn,
    port: raw.port,
    concurrency: raw.concurrency,
    suppressions: (raw.suppressions ?? []).map((s, i) => ({ ...s, where: `${shown}, ${y.where(['suppressions', i])}` })),
  };
}
