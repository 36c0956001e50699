// A live audit judges each scope as it is read (src/cli/judging.ts) and, when every output is JSON, writes the
// scopes' instances, results and findings to a spool file instead of keeping them. What it must give: the
// report a whole-inventory judgement gives, byte for byte (the same audit with a SARIF output as well keeps
// the scopes in memory; the saved inventory of the same world is judged in one piece), the rule sets that
// several projects share judged once with all their users, and no spool left behind.
import { mkdtemp, readdir, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { firewall, instance, network, networkUrl } from '../fakes/gce/fixtures.js';
import { startFakeGce, type FakeGce, type GceWorld } from '../fakes/gce/server.js';
import { gcpEnv, rdpcloud } from './helpers.js';
import { HeapBudget } from '../../src/cli/heap-budget.js';
import { routesFor } from '../../src/cli/judging.js';
import { markdownReport } from '../../src/reporters/markdown.js';
import { tableReport } from '../../src/reporters/table.js';
import type { Report } from '../../src/model/results.js';

const HOST = 'net-host';

function vm(project: string, name: string, tag: string, natIP: string, shared = true) {
  const v = instance({ project, zone: 'europe-west4-a', name, natIP, windows: true, tags: [tag] });
  if (shared) v.networkInterfaces[0].network = networkUrl(HOST, 'shared');
  return v;
}

const open = (project: string, name: string, tag: string, net = 'default') =>
  firewall({ project, name, network: net, sourceRanges: ['0.0.0.0/0'], allowed: [{ IPProtocol: 'tcp', ports: ['3389'] }], targetTags: [tag] });

// Three service projects on a host's network (a rule for each one's tag, and one for nobody), one project on
// its own default network, and an empty one.
function world(): GceWorld {
  return {
    projects: {
      [HOST]: { instances: [], firewalls: [open(HOST, 'rdp-a', 'a', 'shared'), open(HOST, 'rdp-b', 'b', 'shared'), open(HOST, 'rdp-c', 'c', 'shared'), open(HOST, 'rdp-gone', 'gone', 'shared')], networks: [network(HOST, 'shared')] },
      'svc-a': { instances: [vm('svc-a', 'win-a2', 'a', '34.1.0.2'), vm('svc-a', 'win-a1', 'a', '34.1.0.1')], firewalls: [], networks: [network('svc-a')] },
      'svc-b': { instances: [vm('svc-b', 'win-b', 'b', '34.1.0.3')], firewalls: [], networks: [network('svc-b')] },
      'svc-c': { instances: [vm('svc-c', 'win-c', 'c', '34.1.0.4')], firewalls: [], networks: [network('svc-c')] },
      solo: { instances: [vm('solo', 'win-solo', 'x', '34.1.0.5', false)], firewalls: [open('solo', 'solo-rdp', 'y')], networks: [network('solo')] },
      empty: { instances: [], firewalls: [], networks: [network('empty')] },
    },
  };
}

let fake: FakeGce;
let dir: string;
const scopes = ['--project', HOST, '--project', 'svc-a', '--project', 'svc-b', '--project', 'svc-c', '--project', 'solo', '--project', 'empty'];

beforeAll(async () => {
  fake = await startFakeGce(world(), { token: 'test-token', pageSize: 1 });
  dir = await mkdtemp(join(tmpdir(), 'rdpcloud-judging-'));
});
afterAll(async () => {
  await fake?.close();
});

describe('an audit judged scope by scope', () => {
  it('writes from its spool the JSON that the whole report renders, and leaves no spool behind', async () => {
    const spoolDir = await mkdtemp(join(tmpdir(), 'rdpcloud-spool-'));
    const before = process.env.TMPDIR;
    process.env.TMPDIR = spoolDir; // os.tmpdir(): where the spool goes
    let spooled;
    try {
      spooled = await rdpcloud(['audit', ...scopes, '--format', 'json'], gcpEnv(fake.port));
    } finally {
      if (before === undefined) delete process.env.TMPDIR;
      else process.env.TMPDIR = before;
    }
    expect(await readdir(spoolDir)).toEqual([]);
    // A table output as well (it keeps its own rows of the results): the same JSON.
    const kept = await rdpcloud(['audit', ...scopes, '--format', 'json', '--output', 'r.txt'], gcpEnv(fake.port), { cwd: dir });
    expect(kept.stderr).toBe('');
    expect(spooled.code).toBe(kept.code);
    expect(spooled.stdout).toBe(kept.stdout);
    // And the saved inventory of the same world, judged in one piece.
    await rdpcloud(['snapshot', ...scopes, '--output', join(dir, 'inv.json')], gcpEnv(fake.port));
    const whole = await rdpcloud(['audit', '--from', join(dir, 'inv.json'), '--format', 'json'], {});
    expect(spooled.stdout).toBe(whole.stdout);
  });

  it('judges a shared network once, with the users of every project: only the rule nobody uses is unused', async () => {
    const r = await rdpcloud(['audit', ...scopes, '--format', 'json'], gcpEnv(fake.port));
    const rep = JSON.parse(r.stdout) as Report;
    const shared = rep.findings.filter((f) => f.resource.ref === `gcp:${HOST}/network/shared`);
    expect(shared.map((f) => f.policyId).sort()).toEqual(['gcp-default-allow-rdp', 'gcp-firewall-rdp-from-internet', 'rdp-unused-open-rule']);
    expect(shared.find((f) => f.policyId === 'rdp-unused-open-rule')).toMatchObject({ status: 'fail', rules: ['rdp-gone'], message: 'rdp-gone (priority 1000) opens tcp:3389 to the internet and applies to no instance: delete it' });
    expect(shared.find((f) => f.policyId === 'gcp-firewall-rdp-from-internet')).toMatchObject({ status: 'fail', rules: ['rdp-a', 'rdp-b', 'rdp-c', 'rdp-gone'] });
    // Instances in inventory order (projects as listed, names sorted within one), whatever order they were read in.
    expect(rep.instances.map((i) => i.instance)).toEqual(['win-a1', 'win-a2', 'win-b', 'win-c', 'win-solo']);
    expect(rep.findings.find((f) => f.policyId === 'rdp-unused-open-rule' && f.resource.ref === 'gcp:solo/network/default')).toMatchObject({ status: 'fail', rules: ['solo-rdp'] });
  });

  // Each format alone keeps only what it reads (READS: SARIF and OCSF no results and no passing findings, ...):
  // its file must be what the same format makes when the run keeps everything (a table and JSON as well).
  it.each(['x.sarif', 'x.ocsf.json', 'x.xml', 'x.md', 'x.csv', 'x.txt'])('%s alone is the file it is when everything is kept', async (file) => {
    const alone = await rdpcloud(['audit', ...scopes, '--output', `alone/${file}`], gcpEnv(fake.port), { cwd: dir });
    const all = await rdpcloud(['audit', ...scopes, '--output', `all/${file}`, '--output', 'all/r.txt', '--output', 'all/r.json'], gcpEnv(fake.port), { cwd: dir });
    expect(alone.code).toBe(all.code);
    expect(alone.code).toBe(1);
    const text = await readFile(join(dir, 'alone', file), 'utf8');
    expect(text.length).toBeGreaterThan(100);
    expect(text).toBe(await readFile(join(dir, 'all', file), 'utf8'));
  });

  // The table keeps a row per result as each scope is judged, not the results (READS `rows`): what it prints must
  // be the table of the whole report, the one `tableReport` makes from the JSON of the same run.
  it('prints the table of the whole report from the rows it kept scope by scope', async () => {
    const table = await rdpcloud(['audit', ...scopes, '--project', 'gone-project', '--output', 'whole.json'], gcpEnv(fake.port), { cwd: dir });
    const whole = JSON.parse(await readFile(join(dir, 'whole.json'), 'utf8')) as Report;
    expect(whole.scopes.map((s) => s.status)).toContain('failed');
    expect(whole.results.length).toBeGreaterThan(0);
    const tableOnly = await rdpcloud(['audit', ...scopes, '--project', 'gone-project'], gcpEnv(fake.port));
    expect(tableOnly.stdout).toBe(tableReport(whole, { color: false }));
    expect(table.code).toBe(tableOnly.code);
    const md = await rdpcloud(['audit', ...scopes, '--project', 'gone-project', '--format', 'markdown'], gcpEnv(fake.port));
    expect(md.stdout).toBe(markdownReport(whole));
  });

  it.each([
    // formats, what is kept of instances and results, whether table rows are made
    [['table'], 'drop', 'drop', true],
    [['markdown'], 'drop', 'drop', false],
    [['table', 'json'], 'spool', 'spool', true],
    [['sarif', 'json'], 'spool', 'spool', false],
    [['json'], 'spool', 'spool', false],
  ] as const)('routes for %j: instances %s, results %s, table rows %s', (formats, instances, results, rows) => {
    expect(routesFor(formats)).toMatchObject({ instances, results, tableRows: rows });
  });

  it('merge keeps the results for its table (the parts are joined before rows are made of them)', () => {
    expect(routesFor(['table'], { rows: false })).toMatchObject({ instances: 'memory', results: 'memory', tableRows: false });
  });

  it('writes the spooled report to a file the same as to stdout', async () => {
    const out = await rdpcloud(['audit', ...scopes, '--output', 'r.json'], gcpEnv(fake.port), { cwd: dir });
    const std = await rdpcloud(['audit', ...scopes, '--format', 'json'], gcpEnv(fake.port));
    expect(out.code).toBe(std.code);
    expect(await readFile(join(dir, 'r.json'), 'utf8')).toBe(std.stdout);
  });
});

describe('HeapBudget', () => {
  it('leaves a small heap to V8 and tightens the growth once past the threshold', () => {
    const small = new HeapBudget(1_000_000, 25);
    small.check();
    expect(small.tight).toBe(false);
    const large = new HeapBudget(0, 1000); // a generous percent: the rest of this test run is not slowed
    large.check();
    expect(large.tight).toBe(true);
  });
});
