// A policy or config file with a mistake stops the run before anything is audited (exit 2) and says where:
// file, line, column and field, every problem at once (../../../shared/docs/style.md "Errors and exits").
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { rdpcloud } from '../cli/helpers.js';

const DEMO = 'examples/demo-inventory.json';

async function dirWith(files: Record<string, string>): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'rdpcloud-policy-'));
  for (const [name, text] of Object.entries(files)) await writeFile(join(dir, name), text);
  return dir;
}

const good = `id: my-policy
title: RDP open to the internet on prod
severity: high
description: Prod instances must not take RDP from the internet.
select:
  labels: { env: prod }
check:
  type: internet-exposure
remediation:
  gcp: rdpcloud explain {ref}
`;

const policyCases: { name: string; file: string; text: string; stderr: RegExp }[] = [
  { name: 'YAML that does not parse', file: 'my-policy.yaml', text: 'id: my-policy\ntitle: [unclosed\n', stderr: /my-policy\.yaml: line \d+, column \d+: / },
  { name: 'a misspelt field', file: 'my-policy.yaml', text: good.replace('title:', 'titel:'), stderr: /my-policy\.yaml: 2 problems:\n {2}- line 1, column 1: title: required field is missing\n {2}- line 2, column 1: titel: unknown field \(expected one of: id, title, severity/ },
  { name: 'a severity that does not exist', file: 'my-policy.yaml', text: good.replace('severity: high', 'severity: severe'), stderr: /my-policy\.yaml: line 3, column 11: severity: "severe" is not one of "critical", "high", "medium", "low", "info"/ },
  { name: 'an unknown check type', file: 'my-policy.yaml', text: good.replace('type: internet-exposure', 'type: internet-exposur'), stderr: /line 8, column 9: check\.type: "internet-exposur" is not one of "internet-exposure"/ },
  { name: 'a parameter of the wrong type', file: 'my-policy.yaml', text: good.replace('  type: internet-exposure\n', '  type: internet-exposure\n  params:\n    mediumIPv4: lots\n'), stderr: /line 10, column 17: check\.params\.mediumIPv4: must be integer/ },
  { name: 'a parameter the check does not take', file: 'my-policy.yaml', text: good.replace('  type: internet-exposure\n', '  type: internet-exposure\n  params:\n    threshold: 5\n'), stderr: /line 10, column 5: check\.params\.threshold: unknown field \(expected one of: mediumIPv4, mediumIPv6Prefix\)/ },
  { name: 'a required parameter missing', file: 'my-policy.yaml', text: good.replace('type: internet-exposure', 'type: metadata-flag\n  params: { key: serial-port-enable }'), stderr: /check\.params\.forbidden: required field is missing/ },
  { name: 'id and file name differ', file: 'other-name.yaml', text: good, stderr: /other-name\.yaml: line 1, column 5: id: "my-policy" must equal the file name "other-name"/ },
  { name: 'an unknown provider in the selector', file: 'my-policy.yaml', text: good.replace('labels: { env: prod }', 'provider: [gce]'), stderr: /select\.provider\[0\]: "gce" is not one of "gcp", "aws", "azure"/ },
];

describe('policy files with mistakes: exit 2, file, line and field', () => {
  it.each(policyCases)('$name', async (c) => {
    const dir = await dirWith({ [c.file]: c.text });
    const r = await rdpcloud(['audit', '--from', DEMO, '--policy', join(dir, c.file)]);
    expect(r.code, r.stderr).toBe(2);
    expect(r.stderr).toMatch(c.stderr);
    expect(r.stderr).not.toMatch(/\n\s+at .+:\d+:\d+/);
    expect(r.stdout).toBe(''); // nothing was audited
  });

  it('two files defining the same id', async () => {
    const dir = await dirWith({ 'my-policy.yaml': good });
    const sub = await dirWith({ 'my-policy.yaml': good });
    const r = await rdpcloud(['audit', '--from', DEMO, '--policy', dir, '--policy', sub]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/policy id "my-policy" is already defined in/);
  });

  it('a built-in id cannot be redefined by a user file', async () => {
    const dir = await dirWith({ 'rdp-internet-exposed.yaml': good.replace('id: my-policy', 'id: rdp-internet-exposed') });
    const r = await rdpcloud(['audit', '--from', DEMO, '--policy', dir]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/policy id "rdp-internet-exposed" is already defined in policies\/exposure\/rdp-internet-exposed\.yaml/);
  });

  it('a folder with no policies, a path that does not exist, an unknown pack', async () => {
    const empty = await dirWith({});
    expect((await rdpcloud(['audit', '--from', DEMO, '--policy', empty])).stderr).toMatch(/the folder has no \.yaml policy files/);
    expect((await rdpcloud(['audit', '--from', DEMO, '--policy', '/nonexistent/p.yaml'])).stderr).toMatch(/--policy "\/nonexistent\/p\.yaml": no such file or folder/);
    const r = await rdpcloud(['audit', '--from', DEMO, '--pack', 'exposure,hygeine']);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/--pack "hygeine": no such pack; use exposure, hygiene, reachability or none/);
  });

  it('a good user policy runs beside the packs and only selects what it says (labels env=prod)', async () => {
    const dir = await dirWith({ 'my-policy.yaml': good });
    const r = await rdpcloud(['audit', '--from', DEMO, '--policy', dir, '--pack', 'none', '--format', 'json']);
    expect(r.code, r.stderr).toBe(3); // two demo scopes fail on purpose
    const report = JSON.parse(r.stdout) as { findings: { policyId: string; resource: { instance: string } }[]; policies: { id: string; pack: string }[] };
    expect(report.policies).toEqual([expect.objectContaining({ id: 'my-policy', pack: 'custom' })]);
    expect(new Set(report.findings.map((f) => f.policyId))).toEqual(new Set(['my-policy']));
  });
});

const configCases: { name: string; text: string; stderr: RegExp }[] = [
  { name: 'an unknown key', text: 'sourcs:\n  corp: [81.2.69.0/24]\n', stderr: /rdpcloud\.yaml: line 1, column 1: sourcs: unknown field/ },
  { name: 'a suppression without an expiry', text: 'suppressions:\n  - policy: rdp-internet-exposed\n    reason: lab VM, tracked in OPS-12\n', stderr: /line 2, column 5: suppressions\[0\]\.expires: required field is missing/ },
  { name: 'a suppression with a one-word reason', text: 'suppressions:\n  - policy: rdp-internet-exposed\n    reason: lab\n    expires: 2027-01-31\n', stderr: /suppressions\[0\]\.reason: must NOT have fewer than 10 characters/ },
  { name: 'an expiry that is not a date', text: 'suppressions:\n  - policy: x\n    reason: lab VM, tracked in OPS-12\n    expires: 2027-02-31\n', stderr: /suppressions\[0\]\.expires: "2027-02-31" is not a date/ },
  { name: 'a source set named like a built-in', text: 'sources:\n  internet: [81.2.69.0/24]\n', stderr: /sources\.internet: "internet" is built in/ },
  { name: 'an override for a policy that does not exist', text: 'overrides:\n  rdp-world-open: { enabled: false }\n', stderr: /overrides\.rdp-world-open: no such policy/ },
  { name: 'an override with a bad parameter', text: 'overrides:\n  rdp-internet-exposed: { params: { mediumIPv4: -1 } }\n', stderr: /overrides\.rdp-internet-exposed\.params\.mediumIPv4: must be >= 0/ },
  { name: 'accounts without roleName', text: 'accounts: ["111111111111"]\n', stderr: /accounts: needs roleName/ },
  { name: 'a --fail-on that does not exist', text: 'failOn: severe\n', stderr: /failOn: "severe" is not one of/ },
];

describe('rdpcloud.yaml with mistakes: exit 2, line and field', () => {
  it.each(configCases)('$name', async (c) => {
    const dir = await dirWith({ 'rdpcloud.yaml': c.text });
    const r = await rdpcloud(['audit', '--from', DEMO], {}, { cwd: dir });
    expect(r.code, r.stderr).toBe(2);
    expect(r.stderr).toMatch(c.stderr);
    expect(r.stdout).toBe('');
  });

  it('--config names a file that does not exist', async () => {
    const r = await rdpcloud(['audit', '--from', DEMO, '--config', '/nonexistent/rdpcloud.yaml']);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/error: \/nonexistent\/rdpcloud\.yaml: no such file/);
  });
});
