// Keeps the house honest (../../../shared/docs/style.md "A conventions test"): every policy file loads and is
// registered by its folder, ids are unique and equal file names, every policy has its table test beside it
// with passing and failing cases, every check type is used, every compliance id points to a real policy and
// comes from a named source, remediation exists for each cloud a policy selects, and the README's policy
// table matches the files.
import { readdir, readFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { basename, join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { CHECK_TYPES } from '../../src/policies/checks/index.js';
import { loadCatalog } from '../../src/policies/load.js';
import { PROVIDERS } from '../../src/model/inventory.js';

const ROOT = 'policies';

async function files(dir: string, ext: RegExp): Promise<string[]> {
  const out: string[] = [];
  for (const e of await readdir(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (e.isDirectory()) out.push(...(await files(p, ext)));
    else if (ext.test(e.name)) out.push(p);
  }
  return out.sort();
}

describe('policy conventions', async () => {
  const catalog = await loadCatalog();
  const yamls = (await files(ROOT, /\.ya?ml$/)).filter((f) => !f.startsWith(join(ROOT, 'compliance')));

  it('every policy file is in a pack folder and registered under its file name', () => {
    expect(yamls.length).toBeGreaterThan(0);
    for (const f of yamls) {
      const id = basename(f).replace(/\.ya?ml$/, '');
      const p = catalog.policies.find((x) => x.id === id);
      expect(p, f).toBeDefined();
      expect(p!.pack).toBe(f.split('/')[1]);
      expect(p!.file).toBe(f);
    }
    expect(catalog.policies.filter((p) => p.builtin)).toHaveLength(yamls.length);
  });

  it('every policy has its table test beside it, with passing and failing cases', async () => {
    for (const f of yamls) {
      const id = basename(f).replace(/\.ya?ml$/, '');
      const test = f.replace(/\.ya?ml$/, '.test.ts');
      expect(existsSync(test), `${test} is missing`).toBe(true);
      const text = await readFile(test, 'utf8');
      expect(text).toContain(`policyTester('${id}'`); // policyTester itself refuses a table without both a pass and a fail
      expect(text).toMatch(/status: 'pass'/);
      expect(text).toMatch(/status: 'fail'/);
      expect(text, `${test} cites the documentation its cases come from`).toMatch(/https:\/\/|interface\.md/);
    }
    for (const t of await files(ROOT, /\.test\.ts$/)) expect(existsSync(t.replace(/\.test\.ts$/, '.yaml')), `${t} tests no policy`).toBe(true);
  });

  it('every check type is used by a built-in policy (so its table exists)', () => {
    const used = new Set(catalog.policies.map((p) => p.check.type));
    for (const id of CHECK_TYPES.keys()) expect(used.has(id), `check type ${id} has no policy`).toBe(true);
  });

  it('every compliance mapping names a source and real policies; every built-in policy id is unique', async () => {
    for (const f of await files(join(ROOT, 'compliance'), /\.ya?ml$/)) {
      const m = parse(await readFile(f, 'utf8')) as { source: string; requirements: { policies: string[] }[] };
      expect(m.source, f).toMatch(/^https:\/\//);
      for (const r of m.requirements) for (const id of r.policies) expect(catalog.policies.some((p) => p.id === id), `${f}: ${id}`).toBe(true);
    }
    const ids = catalog.policies.map((p) => p.id);
    expect(new Set(ids).size).toBe(ids.length);
  });

  it('a policy says how to fix it on every cloud it selects', () => {
    for (const p of catalog.policies) {
      for (const cloud of p.select.provider ?? PROVIDERS) expect(p.remediation[cloud], `${p.id}: remediation.${cloud}`).toBeTruthy();
    }
  });

  it("the README's policy table lists exactly the policies, with their pack and severity", async () => {
    const readme = await readFile('README.md', 'utf8');
    const rows = [...readme.matchAll(/^\| `([a-z0-9-]+)` \| (\w+) \| (\w+) \|/gm)].map((m) => `${m[1]} ${m[2]} ${m[3]}`).sort();
    expect(rows).toEqual(catalog.policies.map((p) => `${p.id} ${p.pack} ${p.severity}`).sort());
  });
});
