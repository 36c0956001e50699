// A CI matrix: `audit --shard i/n` on each job, `merge` of the parts. The shards split the scopes without
// overlap or gap, and the merged report is the unsharded one (same scopes, instances, results, findings, exit
// code), whatever the number of shards.
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { Report } from '../../src/model/results.js';
import { rdpcloud } from './helpers.js';

const DEMO = resolve('examples/demo-inventory.json');
const keys = (r: Report) => ({
  scopes: r.scopes.map((s) => `${s.provider}:${s.scope}:${s.status}`).sort(),
  instances: r.instances.map((i) => `${i.provider}:${i.scope}/${i.instanceId}:${i.access}`).sort(),
  results: r.results.map((x) => `${x.instanceId}|${x.source}|${x.verdict}`).sort(),
  findings: r.findings.map((f) => `${f.policyId}|${f.resource.ref}|${f.status}|${f.severity}`).sort(),
});

describe('--shard and merge', () => {
  it.each([2, 3, 5])('%i shards: every scope in exactly one, and the merge is the whole audit', async (n) => {
    const dir = await mkdtemp(join(tmpdir(), 'rdpcloud-shard-'));
    const whole = await rdpcloud(['audit', '--from', DEMO, '--format', 'json'], {}, { cwd: dir });
    const parts: Report[] = [];
    for (let i = 1; i <= n; i++) {
      const r = await rdpcloud(['audit', '--from', DEMO, '--shard', `${i}/${n}`, '-o', `part-${i}.json`], {}, { cwd: dir });
      expect([0, 1, 3]).toContain(r.code);
      parts.push(JSON.parse((await import('node:fs')).readFileSync(join(dir, `part-${i}.json`), 'utf8')));
    }
    const scopes = parts.flatMap((p) => p.scopes.map((s) => `${s.provider}:${s.scope}`));
    expect(new Set(scopes).size).toBe(scopes.length); // no scope in two shards
    const merged = await rdpcloud(['merge', ...parts.map((_p, i) => `part-${i + 1}.json`), '--format', 'json'], {}, { cwd: dir });
    expect(merged.code).toBe(whole.code);
    expect(keys(JSON.parse(merged.stdout))).toEqual(keys(JSON.parse(whole.stdout)));
  });

  it('with --baseline: a shard tells fixed only of what it judged, and the merge has the drift of one audit', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'rdpcloud-shard-'));
    const { readFileSync, writeFileSync } = await import('node:fs');
    await rdpcloud(['audit', '--from', DEMO, '-o', 'base.json'], {}, { cwd: dir });
    // The baseline also failed an instance that is gone now: that one, and only that one, is fixed.
    const base = JSON.parse(readFileSync(join(dir, 'base.json'), 'utf8')) as Report;
    const failed = base.findings.find((f) => f.status === 'fail' && f.resource.kind !== 'rule-set')!;
    const gone = { ...failed, resource: { ...failed.resource, instance: 'deleted-vm', instanceId: 'deleted-vm-id' } };
    writeFileSync(join(dir, 'base.json'), JSON.stringify({ ...base, findings: [...base.findings, gone] }));
    const whole = JSON.parse((await rdpcloud(['audit', '--from', DEMO, '--baseline', 'base.json', '--format', 'json'], {}, { cwd: dir })).stdout) as Report;
    expect(whole.drift).toMatchObject({ new: 0, fixed: [gone] });
    for (const i of [1, 2, 3]) await rdpcloud(['audit', '--from', DEMO, '--shard', `${i}/3`, '--baseline', 'base.json', '-o', `part-${i}.json`], {}, { cwd: dir });
    const parts = [1, 2, 3].map((i) => JSON.parse(readFileSync(join(dir, `part-${i}.json`), 'utf8')) as Report);
    expect(parts.map((p) => p.drift!.fixed.length).sort()).toEqual([0, 0, 1]); // the shard of its scope
    const merged = JSON.parse((await rdpcloud(['merge', 'part-1.json', 'part-2.json', 'part-3.json', '--format', 'json'], {}, { cwd: dir })).stdout) as Report;
    expect({ ...merged.drift, baselineGeneratedAt: '' }).toEqual({ ...whole.drift, baselineGeneratedAt: '' });
  });

  // The merge reads one part at a time and keeps only what its outputs read (what only JSON shows in a spool):
  // the JSON must be the one an all-in-memory merge writes, also where parts overlap (a part twice: each element
  // once, the later part's), and each other format alone the file it is when everything is kept.
  it('spooled or kept, the merge writes the same files, overlapping parts too', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'rdpcloud-merge-spool-'));
    for (let i = 1; i <= 3; i++) await rdpcloud(['audit', '--from', DEMO, '--shard', `${i}/3`, '-o', `part-${i}.json`], {}, { cwd: dir });
    const parts = ['part-1.json', 'part-2.json', 'part-1.json', 'part-3.json', 'part-2.json'];
    const spooled = await rdpcloud(['merge', ...parts, '--format', 'json'], {}, { cwd: dir });
    const kept = await rdpcloud(['merge', ...parts, '--format', 'json', '--output', 'kept.txt'], {}, { cwd: dir });
    expect(spooled.code).toBe(kept.code);
    expect(spooled.stdout.length).toBeGreaterThan(1000);
    expect(spooled.stdout).toBe(kept.stdout);
    const { mergeReports } = await import('../../src/cli/merge.js');
    const { jsonReport } = await import('../../src/reporters/json.js');
    const fs = await import('node:fs');
    const read = (f: string) => JSON.parse(fs.readFileSync(join(dir, f), 'utf8')) as Report;
    expect(spooled.stdout).toBe(jsonReport(mergeReports(parts.map(read), new Date('2026-11-25T12:00:00Z'))));
    for (const file of ['x.sarif', 'x.ocsf.json', 'x.xml', 'x.md', 'x.csv', 'x.txt']) {
      const alone = await rdpcloud(['merge', ...parts, '--output', `alone/${file}`], {}, { cwd: dir });
      const all = await rdpcloud(['merge', ...parts, '--output', `all/${file}`, '--output', 'all/r.txt', '--output', 'all/r.json'], {}, { cwd: dir });
      expect(alone.code, file).toBe(all.code);
      expect(fs.readFileSync(join(dir, 'alone', file), 'utf8'), file).toBe(fs.readFileSync(join(dir, 'all', file), 'utf8'));
    }
  });

  // A part rdpcloud wrote is copied element by element as it stands (its text is what the merge would make of
  // each element); a part laid out otherwise is written out again. Parts of more than LAYOUT_SAMPLE (100)
  // elements per array, so that the copying starts: the merge of the parts as written, compacted, or laid out
  // otherwise after their first 100 elements gives the report an all-in-memory merge gives (the first two byte
  // for byte, the third with the same values).
  it('parts copied as written, compacted or re-indented: the same merged report', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'rdpcloud-merge-layout-'));
    const fs = await import('node:fs');
    const demo = JSON.parse((await rdpcloud(['audit', '--from', DEMO, '--format', 'json'], {}, { cwd: dir })).stdout) as Report;
    const copies = (from: number, to: number): Report => {
      const out: Report = { ...demo, instances: [], results: [], findings: [] };
      for (let k = from; k < to; k++) {
        out.instances.push(...demo.instances.map((i) => ({ ...i, instance: `${i.instance}-${k}`, instanceId: `${i.instanceId}-${k}` })));
        out.results.push(...demo.results.map((r) => ({ ...r, instance: `${r.instance}-${k}`, instanceId: `${r.instanceId}-${k}` })));
        out.findings.push(...demo.findings.map((f) => ({ ...f, resource: { ...f.resource, instanceId: `${f.resource.instanceId}-${k}`, ...(f.resource.ref ? { ref: `${f.resource.ref}-${k}` } : {}) } })));
      }
      return out;
    };
    const parts = [copies(0, 4), copies(4, 8)];
    expect(Math.min(...parts.flatMap((p) => [p.instances.length, p.results.length, p.findings.length]))).toBeGreaterThan(150);
    const { mergeReports } = await import('../../src/cli/merge.js');
    const { jsonReport } = await import('../../src/reporters/json.js');
    const expected = jsonReport(mergeReports(parts, new Date('2026-11-25T12:00:00Z')));
    const merge = async (name: string, write: (r: Report) => string) => {
      parts.forEach((p, i) => fs.writeFileSync(join(dir, `${name}-${i}.json`), write(p)));
      const r = await rdpcloud(['merge', `${name}-0.json`, `${name}-1.json`, '--format', 'json'], {}, { cwd: dir, now: () => new Date('2026-11-25T12:00:00Z') });
      return r.stdout;
    };
    expect(await merge('written', (r) => jsonReport(r))).toBe(expected);
    expect(await merge('compact', (r) => JSON.stringify(r))).toBe(expected);
    // As written for 100 elements of each array, then each element on one line.
    const { elementText, jsonReportChunks } = await import('../../src/reporters/json.js');
    const el = (x: unknown, i: number) => (i < 100 ? elementText(x) : `\n    ${JSON.stringify(x)}`);
    const mixed = (r: Report) => [...jsonReportChunks(r, { instances: () => r.instances.map(el), results: () => r.results.map(el), findings: () => r.findings.map(el) })].join('');
    const m = mixed(parts[0]!);
    expect(JSON.parse(m)).toEqual(parts[0]);
    expect(m).not.toBe(jsonReport(parts[0]!));
    expect(JSON.parse(await merge('mixed', mixed))).toEqual(JSON.parse(expected));
  });

  it('the same scope always lands in the same shard', async () => {
    const a = await rdpcloud(['audit', '--from', DEMO, '--shard', '2/3', '--format', 'json']);
    const b = await rdpcloud(['audit', '--from', DEMO, '--shard', '2/3', '--format', 'json']);
    expect(JSON.parse(a.stdout).scopes).toEqual(JSON.parse(b.stdout).scopes);
  });

  it.each([
    ['--shard 0/3', ['audit', '--from', DEMO, '--shard', '0/3'], /--shard "0\/3": i\/n with 1 <= i <= n/],
    ['--shard 4/3', ['audit', '--from', DEMO, '--shard', '4/3'], /--shard "4\/3"/],
    ['--shard half', ['audit', '--from', DEMO, '--shard', 'half'], /--shard "half"/],
    ['merge with nothing', ['merge'], /missing required argument 'reports'/],
    ['merge of an inventory', ['merge', DEMO], /not an rdpcloud JSON report/],
  ])('%s: exit 2', async (_n, argv, stderr) => {
    const r = await rdpcloud(argv);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(stderr);
  });

  it('reports of different ports do not merge', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'rdpcloud-shard-'));
    await rdpcloud(['audit', '--from', DEMO, '-o', 'a.json'], {}, { cwd: dir });
    await rdpcloud(['audit', '--from', DEMO, '--port', '3390', '-o', 'b.json'], {}, { cwd: dir });
    const r = await rdpcloud(['merge', 'a.json', 'b.json'], {}, { cwd: dir });
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/the reports judge different ports \(3389, 3390\)/);
  });
});
