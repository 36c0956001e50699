// The CLI's exit-code contract, for every error path: one clear line on stderr, the documented code, no
// stack trace (../../shared/docs/interface.md "Severities, statuses, exit codes").
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { describe, expect, it } from 'vitest';
import { rdpcloud } from './helpers.js';
import { gcpLayer, instance, inventory, rule, ruleSet } from '../engine/factories.js';

async function tempFile(name: string, content: string): Promise<string> {
  const dir = await mkdtemp(`${tmpdir()}/rdpcloud-cli-`);
  const f = `${dir}/${name}`;
  await writeFile(f, content);
  return f;
}

const worldOpen = () => inventory([ruleSet('vpc', [rule('default-allow-rdp', { priority: 65534, sourceRanges: ['0.0.0.0/0'] })])], [gcpLayer(['vpc'])], [instance()]);
const closed = () => inventory([ruleSet('vpc', [rule('allow-iap', { sourceRanges: ['35.235.240.0/20'] })])], [gcpLayer(['vpc'])], [instance({ externalIPv4: null })]);

interface Case {
  name: string;
  argv: (files: Record<string, string>) => string[];
  code: number;
  stderr?: RegExp;
  stdout?: RegExp;
}

const cases: Case[] = [
  { name: 'unknown flag', argv: () => ['audit', '--frobnicate'], code: 2, stderr: /unknown option '--frobnicate'/ },
  { name: 'unknown command', argv: () => ['audti'], code: 2, stderr: /unknown command 'audti'/ },
  { name: 'invalid CIDR', argv: (f) => ['audit', '--from', f.open, '--source', '10.0.0.300/8'], code: 2, stderr: /--source "10\.0\.0\.300\/8": not a CIDR/ },
  { name: 'invalid prefix length', argv: (f) => ['audit', '--from', f.open, '--source', '10.0.0.0/33'], code: 2, stderr: /not a CIDR/ },
  { name: 'invalid port', argv: (f) => ['audit', '--from', f.open, '--port', '70000'], code: 2, stderr: /--port "70000": a TCP port/ },
  { name: 'unknown provider', argv: () => ['audit', '--provider', 'oracle', '--project', 'p'], code: 2, stderr: /--provider "oracle": unknown provider/ },
  { name: 'unknown --format', argv: (f) => ['audit', '--from', f.open, '--format', 'xml'], code: 2, stderr: /argument 'xml' is invalid/ },
  { name: 'unknown --fail-on', argv: (f) => ['audit', '--from', f.open, '--fail-on', 'severe'], code: 2, stderr: /--fail-on "severe": use critical, high/ },
  { name: 'missing inventory file', argv: () => ['audit', '--from', '/nonexistent/inv.json'], code: 2, stderr: /\/nonexistent\/inv\.json: no such file/ },
  { name: 'inventory not JSON', argv: (f) => ['audit', '--from', f.notJson], code: 2, stderr: /not valid JSON/ },
  { name: 'inventory with a bad field names the field', argv: (f) => ['audit', '--from', f.badField], code: 2, stderr: /instances\[0\]\.os: must be equal to one of the allowed values \(windows, linux, unknown\)/ },
  { name: 'inventory from a newer rdpcloud', argv: (f) => ['audit', '--from', f.newer], code: 2, stderr: /schemaVersion is 99; this rdpcloud reads version 1/ },
  { name: 'inventory with a bad CIDR in a rule', argv: (f) => ['audit', '--from', f.badCidr], code: 2, stderr: /ruleSets\[0\]\.rules\[0\] \(r\): "1\.2\.3\/8" is not a CIDR/ },
  { name: 'no project named', argv: () => ['audit', '--provider', 'gcp'], code: 2, stderr: /--project P/ },
  {
    name: 'missing credentials say how to provide them',
    argv: () => ['audit', '--project', 'p', '--gcp-endpoint', 'http://127.0.0.1:9'],
    code: 2,
    stderr: /no credentials found: run `gcloud auth application-default login`.*GOOGLE_OAUTH_ACCESS_TOKEN/,
  },
  { name: 'plain http to a non-loopback endpoint is refused', argv: () => ['audit', '--project', 'p', '--gcp-endpoint', 'http://compute.example.com'], code: 2, stderr: /plain http is allowed only for loopback/ },
  { name: '--from with --project is a usage error', argv: (f) => ['audit', '--from', f.open, '--project', 'p'], code: 2, stderr: /leave out the scope flags/ },
  { name: 'explain of an unknown instance', argv: (f) => ['explain', 'nope', '--from', f.open], code: 2, stderr: /instance "nope" not found/ },
  { name: 'world-open finding at the default --fail-on high', argv: (f) => ['audit', '--from', f.open], code: 1, stdout: /HIGH\s+rdp-internet-exposed/ },
  { name: '--fail-on none', argv: (f) => ['audit', '--from', f.open, '--fail-on', 'none'], code: 0 },
  { name: '--exit-zero', argv: (f) => ['audit', '--from', f.open, '--exit-zero'], code: 0 },
  { name: 'clean inventory', argv: (f) => ['audit', '--from', f.closed], code: 0, stdout: /gateway:iap/ },
  { name: 'a declared source that cannot reach is a medium finding', argv: (f) => ['audit', '--from', f.closed, '--source', '10.0.0.0/8', '--fail-on', 'medium'], code: 1, stdout: /MEDIUM rdp-reachable-from-declared-sources/ },
  { name: 'an unknown verdict is incomplete (3)', argv: (f) => ['audit', '--from', f.unknown], code: 3 },
  { name: '--help', argv: () => ['--help'], code: 0, stdout: /audit/ },
  { name: '--version', argv: () => ['--version'], code: 0, stdout: /\d+\.\d+\.\d+/ },
];

describe('CLI exit-code contract', async () => {
  const files = {
    open: await tempFile('open.json', JSON.stringify(worldOpen())),
    closed: await tempFile('closed.json', JSON.stringify(closed())),
    notJson: await tempFile('bad.json', '{"schemaVersion": 1,'),
    badField: await tempFile('field.json', JSON.stringify({ ...worldOpen(), instances: [{ ...instance(), os: 'win' }] })),
    newer: await tempFile('newer.json', JSON.stringify({ ...worldOpen(), schemaVersion: 99 })),
    badCidr: await tempFile('cidr.json', JSON.stringify(inventory([ruleSet('vpc', [rule('r', { sourceRanges: ['1.2.3/8'] })])], [gcpLayer(['vpc'])], [instance()]))),
    unknown: await tempFile('unknown.json', JSON.stringify(inventory([ruleSet('vpc', [], { unreadable: 'permission denied' })], [gcpLayer(['vpc'])], [instance()]))),
  };
  it.each(cases)('$name -> exit $code', async (c) => {
    const r = await rdpcloud(c.argv(files));
    expect(r.code, r.stderr).toBe(c.code);
    if (c.stderr) expect(r.stderr).toMatch(c.stderr);
    if (c.stdout) expect(r.stdout).toMatch(c.stdout);
    expect(r.stderr).not.toMatch(/\n\s+at .+:\d+:\d+/); // never a stack trace
    // one line (commander may add its "(Did you mean ...?)" hint)
    if (c.code === 2 && c.stderr) expect(r.stderr.trim().split('\n').filter((l) => !l.startsWith('(Did you mean'))).toHaveLength(1);
  });
});
