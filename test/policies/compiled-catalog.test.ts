// The compiled catalog of the built-in policies (dist/policies-catalog.json, written by `npm run build`): an
// audit loads it instead of parsing and schema-checking the YAML, so it must hold exactly what reading the
// files gives, and must not be used once a file (or the loader) has changed.
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { builtinHash, loadCatalog, precompiled, type CompiledCatalog } from '../../src/policies/load.js';
import { spawnSync } from 'node:child_process';

const ROOT = resolve('policies');
const DIST = resolve('dist', 'policies-catalog.json');

describe('compiled catalog of the built-in policies', () => {
  it('the built catalog is what reading and checking the YAML files gives, policy by policy', async () => {
    const compiled = JSON.parse(readFileSync(DIST, 'utf8')) as CompiledCatalog;
    const fromFiles = (await loadCatalog({ builtinDir: ROOT })).policies.filter((p) => p.builtin);
    expect(compiled.policies.map((p) => p.id)).toEqual(fromFiles.map((p) => p.id));
    const loaded = await precompiled(compiled.hash, ROOT, DIST);
    expect(loaded).toEqual(fromFiles);
    // ... and the built loader takes it: its hash of these files is the catalog's (nothing changed since the build).
    const built = (await import(resolve('dist', 'src', 'policies', 'load.js'))) as typeof import('../../src/policies/load.js');
    expect(await built.builtinHash(ROOT)).toBe(compiled.hash);
  });

  it('`rdpcloud policies --format json` (the built CLI, compiled catalog) lists what the YAML files define', async () => {
    const r = spawnSync(process.execPath, [resolve('dist', 'src', 'cli', 'bin.js'), 'policies', '--format', 'json'], { encoding: 'utf8' });
    expect(r.status, r.stderr).toBe(0);
    const listed = JSON.parse(r.stdout).policies.map((p: { id: string; compliance: unknown[] }) => [p.id, p.compliance.length]);
    const fromFiles = (await loadCatalog({ builtinDir: ROOT })).policies.map((p) => [p.id, p.compliance.length]);
    expect(listed).toEqual(fromFiles);
  });

  it.each([
    ['another hash (a policy file changed since the build)', (c: CompiledCatalog) => ({ ...c, hash: '0'.repeat(64) })],
    ['a check type this build does not have', (c: CompiledCatalog) => ({ ...c, policies: c.policies.map((p, i) => (i === 0 ? { ...p, check: { ...p.check, type: 'no-such-check' } } : p)) })],
    ['a resource kind other than its check type judges', (c: CompiledCatalog) => ({ ...c, policies: c.policies.map((p, i) => (i === 0 ? { ...p, resource: p.resource === 'instance' ? 'rule-set' : 'instance' } : p)) })],
    ['not JSON', () => '{ half'],
  ] as const)('is not used when it has %s', async (_label, spoil) => {
    const compiled = JSON.parse(readFileSync(DIST, 'utf8')) as CompiledCatalog;
    const file = join(mkdtempSync(join(tmpdir(), 'rdpcloud-catalog-')), 'catalog.json');
    const bad = spoil(compiled);
    writeFileSync(file, typeof bad === 'string' ? bad : JSON.stringify(bad));
    expect(await precompiled(compiled.hash, ROOT, file)).toBeUndefined();
  });

  it('the hash covers every file: one character more in one policy gives another hash', async () => {
    const { cpSync } = await import('node:fs');
    const copy = join(mkdtempSync(join(tmpdir(), 'rdpcloud-policies-')), 'policies');
    cpSync(ROOT, copy, { recursive: true });
    const before = await builtinHash(copy);
    expect(before).toBe(await builtinHash(ROOT));
    const f = join(copy, 'exposure', 'rdp-internet-exposed.yaml');
    writeFileSync(f, readFileSync(f, 'utf8') + '\n');
    expect(await builtinHash(copy)).not.toBe(before);
  });
});
