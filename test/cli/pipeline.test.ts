// What a scheduled pipeline relies on: suppressions with expiry, baseline drift, --fail-on and --exit-zero,
// several outputs in one run, defaults from rdpcloud.yaml, and the exit codes of interface.md
// (2 config, 3 incomplete, 1 findings at or above --fail-on, 0 clean). The clock is 2026-11-25T12:00Z.
import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { Report } from '../../src/model/results.js';
import { rdpcloud } from './helpers.js';
import { gcpLayer, instance, inventory, rule, ruleSet } from '../engine/factories.js';

async function workdir(files: Record<string, string> = {}): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'rdpcloud-pipe-'));
  for (const [n, t] of Object.entries(files)) await writeFile(join(dir, n), t);
  return dir;
}

const worldOpen = (names = ['win-1']) =>
  JSON.stringify(
    inventory(
      [ruleSet('vpc', [rule('default-allow-rdp', { priority: 65534, sourceRanges: ['0.0.0.0/0'] })])],
      [gcpLayer(['vpc'])],
      names.map((name, i) => ({ ...instance({ name, externalIPv4: `34.1.2.${i + 3}` }), id: `id-${name}` })),
    ),
  );
const suppress = (expires: string, policy = '*', resource = 'gcp:p1/*') => `suppressions:\n  - policy: "${policy}"\n    resource: "${resource}"\n    reason: lab project, closed by OPS-123\n    expires: ${expires}\n`;
const json = (s: string) => JSON.parse(s) as Report;

describe('suppressions', () => {
  it('a live suppression keeps the failure visible, marked, and it no longer fails the run', async () => {
    const dir = await workdir({ 'inv.json': worldOpen(), 'rdpcloud.yaml': suppress('2027-01-31') });
    const r = await rdpcloud(['audit', '--from', 'inv.json', '--format', 'json'], {}, { cwd: dir });
    expect(r.code, r.stderr).toBe(0);
    const fails = json(r.stdout).findings.filter((f) => f.status === 'fail');
    expect(fails.map((f) => f.policyId).sort()).toEqual(['gcp-default-allow-rdp', 'gcp-firewall-rdp-from-internet', 'rdp-internet-exposed']);
    for (const f of fails) expect(f.suppressed).toEqual({ reason: 'lab project, closed by OPS-123', expires: '2027-01-31' });
  });

  it('a suppression is still good on its expiry day', async () => {
    const dir = await workdir({ 'inv.json': worldOpen(), 'rdpcloud.yaml': suppress('2026-11-25') });
    expect((await rdpcloud(['audit', '--from', 'inv.json'], {}, { cwd: dir })).code).toBe(0);
  });

  it('an expired suppression stops working and is itself reported', async () => {
    const dir = await workdir({ 'inv.json': worldOpen(), 'rdpcloud.yaml': suppress('2026-11-01', 'rdp-internet-exposed') });
    const r = await rdpcloud(['audit', '--from', 'inv.json', '--format', 'json'], {}, { cwd: dir });
    expect(r.code).toBe(1);
    const report = json(r.stdout);
    expect(report.findings.find((f) => f.policyId === 'rdp-internet-exposed' && f.status === 'fail')?.suppressed).toBeUndefined();
    const expired = report.findings.filter((f) => f.policyId === 'suppression-expired');
    expect(expired).toHaveLength(1);
    expect(expired[0]).toMatchObject({ status: 'fail', severity: 'low', resource: { ref: 'gcp:p1/us-central1-a/win-1' } });
    expect(expired[0].message).toMatch(/rdpcloud\.yaml, line 2, column 5: "lab project, closed by OPS-123"\) expired on 2026-11-01/);
  });

  it('a suppression that matches nothing is a warning, not an error', async () => {
    const dir = await workdir({ 'inv.json': worldOpen(), 'rdpcloud.yaml': suppress('2027-01-31', 'rdp-internet-exposed', 'gcp:other/*') });
    const r = await rdpcloud(['audit', '--from', 'inv.json', '--exit-zero'], {}, { cwd: dir });
    expect(r.code).toBe(0);
    expect(r.stderr).toMatch(/warning: rdpcloud\.yaml, line 2, column 5: the suppression of rdp-internet-exposed for gcp:other\/\* matched no failing result/);
  });

  it('suppressed results are marked in SARIF (suppressions) and JUnit (skipped)', async () => {
    const dir = await workdir({ 'inv.json': worldOpen(), 'rdpcloud.yaml': suppress('2027-01-31') });
    const r = await rdpcloud(['audit', '--from', 'inv.json', '-o', 'out.sarif', '-o', 'out.xml'], {}, { cwd: dir });
    expect(r.code).toBe(0);
    const sarif = JSON.parse(await readFile(join(dir, 'out.sarif'), 'utf8'));
    for (const res of sarif.runs[0].results) expect(res.suppressions).toEqual([{ kind: 'external', status: 'accepted', justification: 'lab project, closed by OPS-123 (until 2027-01-31)' }]);
    expect(await readFile(join(dir, 'out.xml'), 'utf8')).toMatch(/<skipped message="suppressed until 2027-01-31: lab project, closed by OPS-123"/);
  });
});

describe('--baseline: drift', () => {
  it('the same findings again: all unchanged, and a known backlog does not fail the run', async () => {
    const dir = await workdir({ 'inv.json': worldOpen() });
    const first = await rdpcloud(['audit', '--from', 'inv.json', '-o', 'before.json'], {}, { cwd: dir });
    expect(first.code).toBe(1);
    const r = await rdpcloud(['audit', '--from', 'inv.json', '--baseline', 'before.json', '--format', 'json'], {}, { cwd: dir });
    expect(r.code, r.stderr).toBe(0);
    const report = json(r.stdout);
    expect(report.drift).toMatchObject({ baseline: 'before.json', new: 0, unchanged: 3, fixed: [] });
    expect(report.findings.filter((f) => f.status === 'fail').every((f) => f.baseline === 'unchanged')).toBe(true);
  });

  it('a new world-open instance is new (exit 1); one that went away is fixed', async () => {
    const dir = await workdir({ 'inv.json': worldOpen(['win-1', 'win-old']), 'now.json': worldOpen(['win-1', 'win-new']) });
    await rdpcloud(['audit', '--from', 'inv.json', '-o', 'before.json'], {}, { cwd: dir });
    const r = await rdpcloud(['audit', '--from', 'now.json', '--baseline', 'before.json', '--format', 'json'], {}, { cwd: dir });
    expect(r.code).toBe(1);
    const report = json(r.stdout);
    const exposed = report.findings.filter((f) => f.policyId === 'rdp-internet-exposed' && f.status === 'fail');
    expect(Object.fromEntries(exposed.map((f) => [f.resource.instance, f.baseline]))).toEqual({ 'win-1': 'unchanged', 'win-new': 'new' });
    expect(report.drift!.new).toBe(1);
    expect(report.drift!.fixed.map((f) => `${f.policyId} ${f.resource.instance}`)).toEqual(['rdp-internet-exposed win-old']);
    const table = await rdpcloud(['audit', '--from', 'now.json', '--baseline', 'before.json'], {}, { cwd: dir });
    expect(table.stdout).toMatch(/gcp:p1\/us-central1-a\/win-new \(new\)/);
    expect(table.stdout).toMatch(/\(1 new, 1 fixed since the baseline\)/);
    const sarif = await rdpcloud(['audit', '--from', 'now.json', '--baseline', 'before.json', '--format', 'sarif'], {}, { cwd: dir });
    const states = JSON.parse(sarif.stdout).runs[0].results.map((x: { baselineState: string }) => x.baselineState).sort();
    expect(states).toEqual(['absent', 'new', 'unchanged', 'unchanged', 'unchanged']);
  });

  // Only findings that can be failures are parsed (their bytes hold "fail"): a baseline another tool wrote
  // again, compacted and with its letters escaped, is read the same.
  it('a baseline compacted, or with its strings written in \\u escapes, gives the same drift', async () => {
    const dir = await workdir({ 'inv.json': worldOpen(['win-1', 'win-old']), 'now.json': worldOpen(['win-1', 'win-new']) });
    await rdpcloud(['audit', '--from', 'inv.json', '-o', 'before.json'], {}, { cwd: dir });
    const before = await readFile(join(dir, 'before.json'), 'utf8');
    const escaped = JSON.stringify(JSON.parse(before)).replace(/"(status|policyId)":"(\w+)"/g, (_m, k: string, v: string) => `"${k}":"${[...v].map((c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`).join('')}"`);
    expect(escaped).not.toContain('"fail"');
    await writeFile(join(dir, 'escaped.json'), escaped);
    await writeFile(join(dir, 'compact.json'), JSON.stringify(JSON.parse(before)));
    const drift = async (b: string) => json((await rdpcloud(['audit', '--from', 'now.json', '--baseline', b, '--format', 'json'], {}, { cwd: dir })).stdout).drift;
    const expected = await drift('before.json');
    expect(expected!.fixed.map((f) => f.resource.instance)).toEqual(['win-old']);
    expect({ ...(await drift('compact.json')), baseline: 'before.json' }).toEqual(expected);
    expect({ ...(await drift('escaped.json')), baseline: 'before.json' }).toEqual(expected);
  });

  it.each([
    ['does not exist', null, /before\.json: no such file/],
    ['is not JSON', 'schemaVersion: 1', /not JSON: --baseline takes an earlier `rdpcloud audit --format json` report/],
    ['is an inventory, not a report', worldOpen(), /not an rdpcloud JSON report/],
  ])('a baseline that %s: exit 2', async (_n, content, stderr) => {
    const dir = await workdir({ 'inv.json': worldOpen(), ...(content ? { 'before.json': content } : {}) });
    const r = await rdpcloud(['audit', '--from', 'inv.json', '--baseline', 'before.json'], {}, { cwd: dir });
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(stderr);
  });
});

describe('exit codes and outputs', () => {
  it.each([
    ['the default --fail-on high with a high failure', [], 1],
    ['--fail-on critical: high failures do not count', ['--fail-on', 'critical'], 0],
    ['--fail-on none', ['--fail-on', 'none'], 0],
    ['--exit-zero', ['--exit-zero'], 0],
    ['only the hygiene pack: default-allow-rdp is low, below high', ['--pack', 'hygiene'], 0],
    ['only the hygiene pack at --fail-on low', ['--pack', 'hygiene', '--fail-on', 'low'], 1],
  ] as const)('%s', async (_n, flags, code) => {
    const dir = await workdir({ 'inv.json': worldOpen() });
    expect((await rdpcloud(['audit', '--from', 'inv.json', ...flags], {}, { cwd: dir })).code).toBe(code);
  });

  it('an incomplete run is 3 even with --exit-zero: a missing scope is never "clean"', async () => {
    const inv = inventory([ruleSet('vpc', [], { unreadable: 'permission denied' })], [gcpLayer(['vpc'])], [instance()]);
    const dir = await workdir({ 'inv.json': JSON.stringify(inv) });
    expect((await rdpcloud(['audit', '--from', 'inv.json', '--exit-zero'], {}, { cwd: dir })).code).toBe(3);
  });

  it('several outputs in one run, each format from its extension; stdout stays empty', async () => {
    const dir = await workdir({ 'inv.json': worldOpen() });
    const files = ['r.json', 'r.sarif', 'r.xml', 'r.md', 'r.csv', 'r.ocsf.json', 'r.txt'];
    const r = await rdpcloud(['audit', '--from', 'inv.json', ...files.flatMap((f) => ['-o', f])], {}, { cwd: dir });
    expect(r.code).toBe(1);
    expect(r.stdout).toBe('');
    expect(r.stderr).toMatch(/wrote r\.json \(json\), r\.sarif \(sarif\), r\.xml \(junit\), r\.md \(markdown\), r\.csv \(csv\), r\.ocsf\.json \(ocsf\), r\.txt \(table\)/);
    for (const f of files) expect(existsSync(join(dir, f))).toBe(true);
    expect(JSON.parse(await readFile(join(dir, 'r.ocsf.json'), 'utf8'))[0].class_uid).toBe(2004);
    expect(await readFile(join(dir, 'r.xml'), 'utf8')).toMatch(/^<\?xml/);
  });

  it('an output whose extension says nothing needs --format', async () => {
    const dir = await workdir({ 'inv.json': worldOpen() });
    const bad = await rdpcloud(['audit', '--from', 'inv.json', '-o', 'report.out'], {}, { cwd: dir });
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/--output "report\.out": cannot tell the format from the extension; add --format/);
    const ok = await rdpcloud(['audit', '--from', 'inv.json', '-o', 'report.out', '--format', 'markdown'], {}, { cwd: dir });
    expect(ok.code).toBe(1);
    expect(await readFile(join(dir, 'report.out'), 'utf8')).toMatch(/^# rdpcloud audit/);
    expect(ok.stdout).toMatch(/^# rdpcloud audit/); // --format also puts it on stdout
  });
});

describe('rdpcloud.yaml defaults', () => {
  it('named source sets are judged and declared; failOn comes from the config; flags win', async () => {
    const config = 'sources:\n  corp:\n    ranges: [81.2.69.0/24]\n    mustReach: { labels: { rdp: required } }\nfailOn: none\n';
    const inv = inventory([ruleSet('vpc', [rule('allow-iap', { sourceRanges: ['35.235.240.0/20'] })])], [gcpLayer(['vpc'])], [{ ...instance(), labels: { rdp: 'required' } }]);
    const dir = await workdir({ 'inv.json': JSON.stringify(inv), 'rdpcloud.yaml': config });
    const r = await rdpcloud(['audit', '--from', 'inv.json', '--format', 'json'], {}, { cwd: dir });
    expect(r.code, r.stderr).toBe(0); // failOn: none
    const report = json(r.stdout);
    expect(report.sources).toEqual(['internet', 'corp']);
    expect(report.findings.find((f) => f.policyId === 'rdp-reachable-from-declared-sources')).toMatchObject({ status: 'fail', severity: 'medium', source: 'corp' });
    expect((await rdpcloud(['audit', '--from', 'inv.json', '--fail-on', 'medium'], {}, { cwd: dir })).code).toBe(1);
    // --source on the command line replaces the config's list
    const only = json((await rdpcloud(['audit', '--from', 'inv.json', '--source', 'internet', '--format', 'json'], {}, { cwd: dir })).stdout);
    expect(only.sources).toEqual(['internet']);
  });

  it('overrides: a policy switched off, another with a new severity', async () => {
    const config = 'overrides:\n  gcp-default-allow-rdp: { enabled: false }\n  rdp-internet-exposed: { severity: medium }\n';
    const dir = await workdir({ 'inv.json': worldOpen(), 'rdpcloud.yaml': config });
    const report = json((await rdpcloud(['audit', '--from', 'inv.json', '--format', 'json'], {}, { cwd: dir })).stdout);
    expect(report.policies.map((p) => p.id)).not.toContain('gcp-default-allow-rdp');
    expect(report.findings.find((f) => f.policyId === 'rdp-internet-exposed')).toMatchObject({ status: 'fail', severity: 'medium' });
  });
});

describe('rdpcloud policies', () => {
  it('lists every pack with ids, severities and the exact CIS ids', async () => {
    const r = await rdpcloud(['policies', '--format', 'json']);
    expect(r.code).toBe(0);
    const list = JSON.parse(r.stdout) as { packs: Record<string, string[]>; policies: { id: string; compliance: { framework: string; version: string; id: string }[] }[] };
    expect(Object.keys(list.packs).sort()).toEqual(['exposure', 'hygiene', 'reachability']);
    const cis = (id: string) => list.policies.find((p) => p.id === id)!.compliance.map((c) => `${c.framework.split(' ')[1]} ${c.version} ${c.id}`);
    expect(cis('gcp-firewall-rdp-from-internet')).toEqual(['Google 2.0.0 3.7', 'Google 3.0.0 3.7']);
    expect(cis('aws-network-acl-rdp-from-internet')).toEqual(['Amazon 3.0.0 5.1', 'Amazon 5.0.0 5.2']);
    expect(cis('aws-security-group-rdp-from-ipv4-internet')).toEqual(['Amazon 3.0.0 5.2', 'Amazon 5.0.0 5.3']);
    expect(cis('aws-security-group-rdp-from-ipv6-internet')).toEqual(['Amazon 3.0.0 5.3', 'Amazon 5.0.0 5.4']);
    expect(cis('azure-nsg-rdp-from-internet')).toEqual(['Microsoft 2.1.0 6.1', 'Microsoft 3.0.0 7.1', 'Microsoft 5.0.0 7.1']);
    expect(cis('gcp-serial-port-enabled')).toEqual(['Google 2.0.0 4.5', 'Google 3.0.0 4.5']);
    const table = await rdpcloud(['policies', '--pack', 'hygiene']);
    expect(table.stdout).toMatch(/gcp-serial-port-enabled\s+medium\s+instance\s+Interactive serial console access is left enabled\n\s+CIS GCP 2\.0\.0 4\.5; CIS GCP 3\.0\.0 4\.5/);
  });
});
