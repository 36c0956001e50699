// YAML files a user writes (policies, rdpcloud.yaml): parsed with positions, checked against a JSON Schema,
// every problem named by line, column and field ("line 7, column 3: check.params.mediumIPv4: must be
// integer") and reported together.
import { readFile } from 'node:fs/promises';
import { isAbsolute, relative } from 'node:path';
import type { Document, Node } from 'yaml';
import type { Ajv as AjvType, ErrorObject, ValidateFunction } from 'ajv';
import { InputError } from '../errors.js';
import { lazyRequire } from '../lazy.js';

// yaml and Ajv are loaded when a YAML file is first read (~50 ms at start otherwise): an audit with the
// compiled built-in catalog and no rdpcloud.yaml reads none.
const yaml = lazyRequire<typeof import('yaml')>('yaml');
const ajvLib = lazyRequire<typeof import('ajv')>('ajv');
let instance: AjvType | undefined;
/** The Ajv instance that checks user files (verbose: the errors carry their schema, so an unknown field can list the ones expected). */
export function ajv(): AjvType {
  instance ??= new (ajvLib().Ajv)({ allErrors: true, strict: false, allowUnionTypes: true, verbose: true });
  return instance;
}

/** A path as the user should read it: relative to the working directory when inside it, else absolute. */
export function shownPath(path: string, cwd: string): string {
  const rel = relative(cwd, path);
  return rel && !rel.startsWith('..') && !isAbsolute(rel) ? rel : path;
}

export interface YamlFile {
  file: string;
  data: unknown;
  /** "line 7, column 3" of the value at a path (or of the nearest parent that exists). */
  where(path: (string | number)[], key?: boolean): string;
}

export async function readYaml(file: string, shown = file): Promise<YamlFile> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new InputError(shown, [code === 'ENOENT' ? 'no such file' : `cannot read it (${code ?? (e as Error).message})`]);
  }
  return parseYaml(text, shown);
}

export function parseYaml(text: string, file: string): YamlFile {
  const { LineCounter, parseDocument } = yaml();
  const lines = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lines, prettyErrors: false, uniqueKeys: true });
  if (doc.errors.length) {
    throw new InputError(
      file,
      doc.errors.map((e) => {
        const p = lines.linePos(e.pos[0]);
        return `line ${p.line}, column ${p.col}: ${e.message.split('\n')[0]}`;
      }),
    );
  }
  const at = (offset: number) => {
    const p = lines.linePos(offset);
    return `line ${p.line}, column ${p.col}`;
  };
  return {
    file,
    data: doc.toJS(),
    where: (path, key) => at(offsetOf(doc, path, key)),
  };
}

function offsetOf(doc: Document, path: (string | number)[], key?: boolean): number {
  const { isMap, isScalar } = yaml();
  for (let n = path.length; n >= 0; n--) {
    const sub = path.slice(0, n);
    if (key && n === path.length && n > 0) {
      const parent = sub.length > 1 ? doc.getIn(sub.slice(0, -1), true) : doc.contents;
      if (isMap(parent)) {
        const pair = parent.items.find((p) => isScalar(p.key) && String(p.key.value) === String(sub[sub.length - 1]));
        const k = pair?.key as Node | undefined;
        if (k?.range) return k.range[0];
      }
    }
    const node = (sub.length ? doc.getIn(sub, true) : doc.contents) as Node | undefined;
    if (node && typeof node === 'object' && 'range' in node && node.range) return node.range[0];
  }
  return 0;
}

const segments = (pointer: string) =>
  pointer
    .split('/')
    .slice(1)
    .map((s) => s.replace(/~1/g, '/').replace(/~0/g, '~'))
    .map((s) => (/^\d+$/.test(s) ? Number(s) : s));

const dotted = (path: (string | number)[]) => path.map((s, i) => (typeof s === 'number' ? `[${s}]` : i ? `.${s}` : s)).join('') || '(top level)';

/** Ajv's errors as "line L, column C: field: problem", one per problem, duplicates (anyOf branches) dropped. */
export function schemaProblems(y: YamlFile, errors: ErrorObject[] | null | undefined, prefix: (string | number)[] = []): string[] {
  const out = new Set<string>();
  for (const e of errors ?? []) {
    const path = [...prefix, ...segments(e.instancePath)];
    if (e.keyword === 'additionalProperties') {
      const extra = (e.params as { additionalProperty: string }).additionalProperty;
      const allowed = Object.keys(((e.parentSchema as { properties?: object })?.properties ?? {}) as object);
      out.add(`${y.where([...path, extra], true)}: ${dotted([...path, extra])}: unknown field${allowed.length ? ` (expected one of: ${allowed.join(', ')})` : ''}`);
    } else if (e.keyword === 'required') {
      const missing = (e.params as { missingProperty: string }).missingProperty;
      out.add(`${y.where(path)}: ${dotted([...path, missing])}: required field is missing`);
    } else if (e.keyword === 'enum') {
      out.add(`${y.where(path)}: ${dotted(path)}: ${JSON.stringify(valueAt(y.data, path))} is not one of ${(e.params as { allowedValues: unknown[] }).allowedValues.map((v) => JSON.stringify(v)).join(', ')}`);
    } else if (e.keyword === 'if' || e.keyword === 'anyOf' || e.keyword === 'oneOf') {
      continue; // the branch errors say what is wrong
    } else {
      out.add(`${y.where(path)}: ${dotted(path)}: ${e.message ?? e.keyword}`);
    }
  }
  return [...out];
}

function valueAt(data: unknown, path: (string | number)[]): unknown {
  let v = data as Record<string | number, unknown> | undefined;
  for (const s of path) v = v?.[s] as Record<string | number, unknown> | undefined;
  return v;
}

export function validateYaml(y: YamlFile, validate: ValidateFunction, prefix: (string | number)[] = []): string[] {
  if (validate(valueAt(y.data, prefix))) return [];
  return schemaProblems(y, validate.errors, prefix);
}
