// Loading policies: the built-in packs (policies/<pack>/<id>.yaml), the compliance mappings
// (policies/compliance/*.yaml: requirement -> policy ids, so a policy never lists frameworks itself), and the
// user's own files (--policy file|dir). Every file is schema-checked; all problems are reported together with
// file, line and field, and nothing runs (exit 2).
import { readdir, readFile, stat } from 'node:fs/promises';
import { createHash } from 'node:crypto';
import { basename, dirname, extname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { InputError, UsageError } from '../errors.js';
import { PROVIDERS } from '../model/inventory.js';
import { SEVERITIES } from '../model/results.js';
import { CHECK_TYPES } from './checks/index.js';
import type { ComplianceRef, Policy, Selector } from './types.js';
import { ajv, parseYaml, readYaml, shownPath, validateYaml, type YamlFile } from './yaml-file.js';

const str = { type: 'string', minLength: 1 };
const strings = { type: 'array', items: str };

export const selectorSchema = {
  type: 'object',
  additionalProperties: false,
  properties: {
    provider: { type: 'array', items: { enum: [...PROVIDERS] }, minItems: 1 },
    os: { type: 'array', items: { enum: ['windows', 'linux', 'unknown'] }, minItems: 1 },
    labels: { type: 'object', additionalProperties: { type: 'string' } },
    scopes: strings,
    kinds: strings,
  },
};

export const policySchema = {
  type: 'object',
  additionalProperties: false,
  required: ['id', 'title', 'severity', 'description', 'check'],
  properties: {
    id: { type: 'string', pattern: '^[a-z0-9][a-z0-9-]*$' },
    title: str,
    severity: { enum: [...SEVERITIES] },
    description: str,
    pack: { type: 'string', pattern: '^[a-z0-9][a-z0-9-]*$' },
    select: selectorSchema,
    check: {
      type: 'object',
      additionalProperties: false,
      required: ['type'],
      properties: { type: { enum: [...CHECK_TYPES.keys()] }, params: { type: 'object' } },
    },
    remediation: { type: 'object', additionalProperties: false, properties: { gcp: str, aws: str, azure: str } },
    compliance: {
      type: 'array',
      items: { type: 'object', additionalProperties: false, required: ['framework', 'version', 'id'], properties: { framework: str, version: str, id: str, title: str } },
    },
    references: { type: 'array', items: { type: 'string', pattern: '^https://' } },
  },
};

const compliance = {
  type: 'object',
  additionalProperties: false,
  required: ['framework', 'version', 'requirements'],
  properties: {
    framework: str,
    version: str,
    source: { type: 'string', pattern: '^https://' },
    requirements: {
      type: 'array',
      items: { type: 'object', additionalProperties: false, required: ['id', 'title', 'policies'], properties: { id: str, title: str, policies: strings } },
    },
  },
};

// Compiled on first use, each on its own: the start of every command pays only for what it reads.
type Validator = ReturnType<ReturnType<typeof ajv>['compile']>;
const compiled = new Map<object, Validator>();
const validatorOf = (schema: object): Validator => {
  let v = compiled.get(schema);
  if (!v) compiled.set(schema, (v = ajv().compile(schema)));
  return v;
};
const validatePolicy = () => validatorOf(policySchema);
const validateCompliance = () => validatorOf(compliance);
/** The params schema of a check type (known to exist: the policy schema names the types). */
const validateParams = (type: string): Validator => validatorOf(CHECK_TYPES.get(type)!.meta.params);

/** The folder of the built-in policies, found from this module whether it runs from src/ or dist/src/. */
export function builtinPolicyDir(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 6; i++) {
    if (existsSync(join(dir, 'package.json')) && existsSync(join(dir, 'policies'))) return join(dir, 'policies');
    dir = dirname(dir);
  }
  throw new Error('the built-in policies/ folder is missing from this installation');
}

async function yamlFiles(dir: string): Promise<string[]> {
  const out: string[] = [];
  for (const e of await readdir(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (e.isDirectory()) out.push(...(await yamlFiles(p)));
    else if (/\.ya?ml$/.test(e.name)) out.push(p);
  }
  return out.sort();
}

interface Loaded {
  policy?: Policy;
  problems: string[];
}

function toPolicy(y: YamlFile, path: string, root: string, builtin: boolean, cwd: string): Loaded {
  const shown = builtin ? relative(dirname(root), path) : shownPath(path, cwd);
  const problems = validateYaml(y, validatePolicy());
  if (problems.length) return { problems: problems.map((p) => `${shown}: ${p}`) };
  const d = y.data as Record<string, unknown> & { check: { type: string; params?: Record<string, unknown> } };
  const fileId = basename(path, extname(path));
  if (d.id !== fileId) problems.push(`${shown}: ${y.where(['id'])}: id: "${d.id}" must equal the file name "${fileId}"`);
  const params = d.check.params ?? {};
  const v = validateParams(d.check.type);
  problems.push(...validateYaml(y, v, ['check', 'params']).map((p) => `${shown}: ${p}`).filter(() => d.check.params !== undefined));
  if (d.check.params === undefined && !v({})) problems.push(`${shown}: ${y.where(['check'])}: check.params: required by check type ${d.check.type}`);
  const folder = relative(root, dirname(path)).split(/[\\/]/)[0];
  const pack = (d.pack as string | undefined) ?? (builtin ? folder : 'custom');
  if (builtin && d.pack !== undefined && d.pack !== folder) problems.push(`${shown}: ${y.where(['pack'])}: pack: "${d.pack}" but the file is in ${folder}/`);
  if (problems.length) return { problems };
  const check = CHECK_TYPES.get(d.check.type)!;
  return {
    problems,
    policy: {
      id: d.id as string,
      title: d.title as string,
      severity: d.severity as Policy['severity'],
      description: (d.description as string).trim(),
      pack,
      resource: check.meta.resource,
      select: (d.select as Selector | undefined) ?? {},
      check: { type: d.check.type, params },
      remediation: (d.remediation as Policy['remediation'] | undefined) ?? {},
      compliance: ((d.compliance as ComplianceRef[] | undefined) ?? []).map((c) => ({ ...c, title: c.title ?? '' })),
      references: (d.references as string[] | undefined) ?? [],
      file: shown,
      path,
      builtin,
    },
  };
}

/** One file: "error: FILE: line 3, column 1: ..."; several: each problem names its file. */
function problemsError(problems: string[]): InputError {
  const files = new Set(problems.map((p) => p.slice(0, p.indexOf(': '))));
  if (files.size === 1) {
    const [file] = files;
    return new InputError(file, problems.map((p) => p.slice(file.length + 2)));
  }
  return new InputError('policy files', problems);
}

export interface PolicyCatalog {
  policies: Policy[];
  /** Built-in packs by name, with their policy ids. */
  packs: Map<string, string[]>;
}

export interface LoadOptions {
  /** Extra policy files or folders (--policy, rdpcloud.yaml `policies`). */
  extra?: string[];
  /** Overrides for tests; default: the installation's policies/. */
  builtinDir?: string;
  /** Where relative --policy paths start and file names are shown from (default: the process's). */
  cwd?: string;
}

export async function loadCatalog(o: LoadOptions = {}): Promise<PolicyCatalog> {
  const root = o.builtinDir ?? builtinPolicyDir();
  const cwd = o.cwd ?? process.cwd();
  const problems: string[] = [];
  const policies: Policy[] = [];
  const { files, texts, hash } = await readBuiltins(root);
  const built = o.builtinDir ? undefined : await precompiled(hash, root);
  const mappings: { y: YamlFile; path: string }[] = [];
  if (built) for (const p of built) policies.push(p);
  else {
    for (const [k, f] of files.entries()) {
      const rel = relative(root, f);
      const y = parseYaml(texts[k]!, relative(dirname(root), f));
      if (rel.startsWith('compliance')) {
        mappings.push({ y, path: f });
        continue;
      }
      const r = toPolicy(y, f, root, true, cwd);
      problems.push(...r.problems);
      if (r.policy) policies.push(r.policy);
    }
  }
  for (const entry of o.extra ?? []) {
    const p = resolve(cwd, entry);
    let st;
    try {
      st = await stat(p);
    } catch {
      throw new UsageError(`--policy "${entry}": no such file or folder`);
    }
    const list = st.isDirectory() ? await yamlFiles(p) : [p];
    if (st.isDirectory() && list.length === 0) throw new UsageError(`--policy "${entry}": the folder has no .yaml policy files`);
    for (const f of list) {
      const r = toPolicy(await readYaml(f, shownPath(f, cwd)), f, st.isDirectory() ? p : dirname(p), false, cwd);
      problems.push(...r.problems);
      if (r.policy) policies.push(r.policy);
    }
  }
  const byId = new Map<string, Policy>();
  for (const p of policies) {
    const other = byId.get(p.id);
    if (other) problems.push(`${p.file}: policy id "${p.id}" is already defined in ${other.file}`);
    else byId.set(p.id, p);
  }
  for (const { y, path } of mappings) {
    const shown = relative(dirname(root), path);
    const found = validateYaml(y, validateCompliance());
    if (found.length) {
      problems.push(...found.map((m) => `${shown}: ${m}`));
      continue;
    }
    const m = y.data as { framework: string; version: string; requirements: { id: string; title: string; policies: string[] }[] };
    m.requirements.forEach((req, i) => {
      req.policies.forEach((id, j) => {
        const p = byId.get(id);
        if (!p) problems.push(`${shown}: ${y.where(['requirements', i, 'policies', j])}: requirements[${i}].policies[${j}]: no policy "${id}"`);
        else p.compliance.push({ framework: m.framework, version: m.version, id: req.id, title: req.title });
      });
    });
  }
  if (problems.length) throw problemsError(problems);
  // The user's files were checked against the built-in ids above; the built-ins were checked when compiled.
  const packs = new Map<string, string[]>();
  for (const p of policies.filter((x) => x.builtin)) packs.set(p.pack, [...(packs.get(p.pack) ?? []), p.id]);
  return { policies: [...byId.values()], packs };
}

// The built-in packs, compiled at build time (`npm run build`: dist/policies-catalog.json, by compileBuiltins):
// parsing ~35 YAML files and compiling their JSON schemas (Ajv) took ~0.13 s of every audit's start, more than
// a small audit's evaluation. The compiled catalog is used only when it was made from exactly these files (a
// hash of every built-in file's path and text, and of this loader's own code) and names only check types this
// build has with the same resource kind; otherwise the files are read and checked as above.
const CATALOG = new URL('../../policies-catalog.json', import.meta.url);

function catalogHash(files: [string, string][]): string {
  const h = createHash('sha256');
  h.update(`rdpcloud-catalog 1\0${loaderText()}\0`);
  for (const [rel, text] of files) h.update(`${rel}\0${text}\0`);
  return h.digest('hex');
}

let loader: string | undefined;
function loaderText(): string {
  try {
    loader ??= readFileSync(fileURLToPath(import.meta.url), 'utf8');
  } catch {
    loader = '';
  }
  return loader;
}

/** The policy files under `root`, their texts, and the hash a compiled catalog of them carries. */
async function readBuiltins(root: string): Promise<{ files: string[]; texts: string[]; hash: string }> {
  const files = await yamlFiles(root);
  const texts = await Promise.all(files.map((f) => readFile(f, 'utf8')));
  return { files, texts, hash: catalogHash(files.map((f, i) => [relative(root, f), texts[i]!])) };
}

/** The hash a compiled catalog of the policy files under `root` carries. */
export async function builtinHash(root: string): Promise<string> {
  return (await readBuiltins(root)).hash;
}

export interface CompiledCatalog {
  hash: string;
  policies: (Omit<Policy, 'path'> & { rel: string })[];
}

/** The compiled catalog in `file`, when it was made from the files that hash to `hash`; else undefined. */
export async function precompiled(hash: string, root: string, file: URL | string = CATALOG): Promise<Policy[] | undefined> {
  let c: CompiledCatalog;
  try {
    c = JSON.parse(await readFile(file, 'utf8')) as CompiledCatalog;
  } catch {
    return undefined; // not built (tests run from the sources; a plain tsc): read the files
  }
  if (c.hash !== hash || !Array.isArray(c.policies)) return undefined;
  const out: Policy[] = [];
  for (const { rel, ...p } of c.policies) {
    if (CHECK_TYPES.get(p.check?.type)?.meta.resource !== p.resource) return undefined;
    out.push({ ...p, path: join(root, rel) });
  }
  return out;
}

/** Writes dist/policies-catalog.json from the built-in policy files, checked in full (the build runs it). */
export async function compileBuiltins(): Promise<{ file: string; policies: number }> {
  const root = builtinPolicyDir();
  const catalog = await loadCatalog({ builtinDir: root });
  const out: CompiledCatalog = {
    hash: await builtinHash(root),
    policies: catalog.policies.filter((p) => p.builtin).map(({ path, ...p }) => ({ ...p, rel: relative(root, path) })),
  };
  const file = fileURLToPath(CATALOG);
  writeFileSync(file, JSON.stringify(out) + '\n');
  return { file, policies: out.policies.length };
}

/** The policies a run uses: the chosen built-in packs (default all; `none` for only --policy files) plus every user policy. */
export function choosePolicies(catalog: PolicyCatalog, packs: string[] | undefined): Policy[] {
  const chosen = packs?.length ? packs : [...catalog.packs.keys()];
  if (!chosen.includes('none')) {
    for (const p of chosen) {
      if (!catalog.packs.has(p)) throw new UsageError(`--pack "${p}": no such pack; use ${[...catalog.packs.keys()].join(', ')} or none`);
    }
  }
  return catalog.policies.filter((p) => !p.builtin || chosen.includes(p.pack));
}

export interface Override {
  enabled?: boolean;
  severity?: Policy['severity'];
  params?: Record<string, unknown>;
  select?: Selector;
}

/** rdpcloud.yaml `overrides`: switch a policy off, change its severity, parameters or selector. Checked like the policy itself. */
export function applyOverrides(policies: Policy[], overrides: Record<string, Override>, file: string, all: Policy[] = policies): Policy[] {
  // Known = in the catalog: an override for a policy whose pack this run leaves out is fine.
  const known = new Set(all.map((p) => p.id));
  const problems = Object.keys(overrides)
    .filter((id) => !known.has(id))
    .map((id) => `overrides.${id}: no such policy (rdpcloud policies lists them)`);
  const out: Policy[] = [];
  for (const p of policies) {
    const o = overrides[p.id];
    if (!o) {
      out.push(p);
      continue;
    }
    if (o.enabled === false) continue;
    const params = { ...p.check.params, ...(o.params ?? {}) };
    const v = validateParams(p.check.type);
    if (!v(params)) problems.push(...(v.errors ?? []).map((e) => `overrides.${p.id}.params${e.instancePath.replace(/\//g, '.')}: ${e.message}`));
    out.push({ ...p, severity: o.severity ?? p.severity, select: o.select ?? p.select, check: { ...p.check, params } });
  }
  if (problems.length) throw new InputError(file, problems);
  return out;
}
