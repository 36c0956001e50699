// SARIF 2.1.0 as GitHub code scanning ingests it, checked by real validators: Microsoft's SARIF Multitool
// (SARIF rules, GitHub's ingestion rules GH1002-GH1007 turned on as errors) and the SARIF 2.1.0 JSON schema
// (Ajv, the copy the multitool ships), plus what neither checks (locations, ruleIndex, rule metadata,
// fingerprints, suppressions, baselineState). Two multitool runs in all, each over several files.
//
// The multitool (5.7.0): its exit code is 0 even with errors, so its -o log is parsed; it silently skips a file
// with an invalid enum value, so the enums are checked first; rule SARIF2006 makes outbound HTTP requests to
// every URI in the log, so it always runs with sarif-multitool.xml, which disables that rule (the tests talk to
// loopback only).
import { execFile } from 'node:child_process';
import { readFile, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { basename, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { Ajv2020 } from 'ajv/dist/2020.js';
import type { Log, Result as SarifResult } from 'sarif';
import { beforeAll, describe, expect, it } from 'vitest';
import type { Report } from '../../src/model/results.js';
import { artifactUri, sarifReport } from '../../src/reporters/sarif.js';
import { audit, DEMO_ABSOLUTE, demoReport, driftReport, keyOf, refOf, tempDir, type Drifted } from './fixtures.js';

const require = createRequire(import.meta.url);
const MULTITOOL = require('@microsoft/sarif-multitool') as string;
const CONFIG = fileURLToPath(new URL('./sarif-multitool.xml', import.meta.url));
/** The SARIF 2.1.0 JSON schema (draft 2020-12) that @microsoft/sarif-multitool-linux ships; no download. */
const SCHEMA = require.resolve('@microsoft/sarif-multitool-linux/sarif-2.1.0.json');

/**
 * Warnings the multitool may give, each with why it stays. Any other warning fails the tests.
 * SARIF2005 wants tool.driver.informationUri: rdpcloud has no homepage or repository URL to point at yet
 * (package.json has none); add one there and in the driver, then drop this entry.
 */
const KNOWN_WARNINGS: Record<string, string> = { SARIF2005: 'no informationUri: rdpcloud has no homepage URL yet' };

interface ToolFinding {
  file: string;
  ruleId: string;
  level: 'error' | 'warning' | 'note';
  text: string;
}
interface ToolRun {
  findings: ToolFinding[];
  /** toolConfigurationNotifications ids and messages (WRN999 for the disabled SARIF2006). */
  config: string[];
}

/** `Sarif.Multitool validate FILES --rule-kind KIND` with every level, the config, and a parsed -o log. */
async function multitool(files: string[], ruleKind: string, out: string): Promise<ToolRun> {
  const args = ['validate', ...files, '--rule-kind', ruleKind, '--level', 'Error;Warning;Note', '-c', CONFIG, '--quiet', 'true', '-o', out, '--log', 'ForceOverwrite'];
  // No shell: "Error;Warning;Note" stays one argument. Without ICU the .NET runtime aborts unless it runs invariant.
  await promisify(execFile)(MULTITOOL, args, { env: { ...process.env, DOTNET_SYSTEM_GLOBALIZATION_INVARIANT: '1', DOTNET_CLI_TELEMETRY_OPTOUT: '1' }, timeout: 120_000 });
  const log = JSON.parse(await readFile(out, 'utf8')) as Log;
  const run = log.runs[0];
  const findings = (run.results ?? []).map((r): ToolFinding => {
    const rule = run.tool.driver.rules?.[r.ruleIndex ?? -1];
    const template = r.message.text ?? rule?.messageStrings?.[r.message.id ?? '']?.text ?? r.message.id ?? '';
    const uri = r.locations?.[0]?.physicalLocation?.artifactLocation?.uri ?? '';
    return {
      file: uri.startsWith('file:') ? basename(fileURLToPath(uri)) : uri,
      ruleId: r.ruleId ?? '?',
      // An absent level is the SARIF default, warning.
      level: r.level === 'error' || r.level === 'note' ? r.level : 'warning',
      text: template.replace(/\{(\d+)\}/g, (_, i: string) => r.message.arguments?.[Number(i)] ?? ''),
    };
  });
  const config = (run.invocations ?? []).flatMap((i) => i.toolConfigurationNotifications ?? []).map((n) => `${n.descriptor?.id}: ${n.message.text}`);
  return { findings, config };
}

const ENUMS: [string, (l: Log) => unknown[], readonly string[]][] = [
  ['result.level', (l) => results(l).map((r) => r.level), ['none', 'note', 'warning', 'error']],
  ['result.kind', (l) => results(l).map((r) => r.kind), ['notApplicable', 'pass', 'fail', 'review', 'open', 'informational']],
  ['result.baselineState', (l) => results(l).map((r) => r.baselineState), ['new', 'unchanged', 'updated', 'absent']],
  ['suppression.kind', (l) => results(l).flatMap((r) => (r.suppressions ?? []).map((s) => s.kind)), ['inSource', 'external']],
  ['suppression.status', (l) => results(l).flatMap((r) => (r.suppressions ?? []).map((s) => s.status)), ['accepted', 'underReview', 'rejected']],
  ['rule defaultConfiguration.level', (l) => l.runs.flatMap((r) => (r.tool.driver.rules ?? []).map((x) => x.defaultConfiguration?.level)), ['none', 'note', 'warning', 'error']],
  ['notification.level', (l) => l.runs.flatMap((r) => (r.invocations ?? []).flatMap((i) => (i.toolExecutionNotifications ?? []).map((n) => n.level))), ['none', 'note', 'warning', 'error']],
  ['run.columnKind', (l) => l.runs.map((r) => r.columnKind), ['utf16CodeUnits', 'unicodeCodePoints']],
];
const results = (l: Log): SarifResult[] => l.runs.flatMap((r) => r.results ?? []);

/** What the multitool reads: files in one folder, named for what they hold. */
interface Files {
  dir: string;
  /** `audit --from examples/demo-inventory.json --output demo.sarif`. */
  demo: string;
  /** The same with --config rdpcloud.yaml (suppressions) and --baseline, run from the config's folder. */
  drift: string;
  /** The demo report rendered with an artifact path that has spaces and a '#'. */
  spaces: string;
  /** `--from` a file outside the working directory, named by its absolute path: the location is a file: URI. */
  absolute: string;
}

describe('SARIF reporter', () => {
  let demo: Report;
  let drifted: Drifted;
  let f: Files;
  const logs: Record<string, Log> = {};
  let gh: ToolRun;
  let plain: ToolRun;
  let wrote: string;

  beforeAll(async () => {
    demo = await demoReport();
    drifted = await driftReport();
    const dir = await tempDir();
    f = { dir, demo: join(dir, 'demo.sarif'), drift: join(dir, 'drift.sarif'), spaces: join(dir, 'spaces.sarif'), absolute: join(dir, 'absolute.sarif') };
    wrote = (await audit(['--output', f.demo])).stderr;
    await audit([...drifted.argv, '--output', f.drift], { cwd: drifted.dir });
    await writeFile(f.spaces, sarifReport(demo, { artifact: 'audit config/rdp cloud #1.yaml' }));
    // Run from the temp folder, the inventory is outside the working directory: the CLI names it absolutely.
    const abs = await audit(['--format', 'sarif'], { cwd: dir });
    await writeFile(f.absolute, abs.stdout);
    for (const [k, file] of Object.entries(f)) if (k !== 'dir') logs[k] = JSON.parse(await readFile(file, 'utf8')) as Log;
    // Enum values first: with an invalid one the multitool reports nothing at all for that file.
    for (const [k, log] of Object.entries(logs)) for (const [what, values, ok] of ENUMS) for (const v of values(log)) if (v !== undefined && !ok.includes(v as string)) throw new Error(`${k}: ${what} ${JSON.stringify(v)} is not a SARIF value`);
    // GH rules on the repository-relative files; the absolute file: URI is for the SARIF rules only (GH1006 wants
    // a relative path or a checkout path; upload-sarif's checkout_path makes absolute file: URIs relative).
    gh = await multitool([f.demo, f.drift, f.spaces], 'Sarif;Gh', join(dir, 'multitool-gh.sarif'));
    plain = await multitool([f.demo, f.drift, f.absolute], 'Sarif', join(dir, 'multitool-sarif.sarif'));
  }, 240_000);

  it('the CLI writes SARIF for --output x.sarif (format from the extension), the same as --format sarif on stdout', async () => {
    const stdout = (await audit(['--format', 'sarif'])).stdout;
    expect(wrote).toContain(`wrote ${f.demo} (sarif)`);
    expect(await readFile(f.demo, 'utf8')).toBe(stdout);
    expect(logs.demo.version).toBe('2.1.0');
  });

  it('every enum value is a SARIF one (the multitool silently skips a file with an invalid enum)', () => {
    for (const log of Object.values(logs)) for (const [what, values, ok] of ENUMS) for (const v of values(log)) if (v !== undefined) expect(ok, what).toContain(v);
  });

  it('the multitool ran with SARIF2006 (outbound URL checks) disabled by sarif-multitool.xml', () => {
    for (const run of [gh, plain]) expect(run.config.join('\n')).toMatch(/WRN999\.RuleExplicitlyDisabled: Rule 'SARIF2006' was explicitly disabled/);
  });

  describe.each([
    { name: '"Sarif;Gh" (GH1002-GH1007 as errors)', run: () => gh, files: ['demo.sarif', 'drift.sarif', 'spaces.sarif'] },
    { name: 'Sarif (the default)', run: () => plain, files: ['demo.sarif', 'drift.sarif', 'absolute.sarif'] },
  ].map((x) => [x.name, x] as const))('multitool validate --rule-kind %s', (_, { run, files }) => {
    it.each(files)(`%s: no errors, no warnings but ${Object.keys(KNOWN_WARNINGS).join(', ')}`, (file) => {
      const mine = run().findings.filter((x) => x.file === file);
      const show = (l: string) => mine.filter((x) => x.level === l).map((x) => `${x.level} ${x.ruleId}: ${x.text}`.slice(0, 300));
      const notes = mine.filter((x) => x.level === 'note');
      console.info(`${file}: ${show('error').length} errors, ${show('warning').length} warnings, ${notes.length} notes (${[...new Set(notes.map((n) => n.ruleId))].join(' ')})\n${[...show('error'), ...show('warning')].join('\n')}`);
      expect(mine.length, `the multitool reported nothing for ${file}: skipped?`).toBeGreaterThan(0); // it always has notes (SARIF2002...)
      expect(show('error')).toEqual([]);
      expect(mine.filter((x) => x.level === 'warning' && !(x.ruleId in KNOWN_WARNINGS)).map((x) => `${x.ruleId}: ${x.text}`)).toEqual([]);
    });
  });

  it('every file is valid against the SARIF 2.1.0 JSON schema (Ajv, draft 2020-12)', async () => {
    const ajv = new Ajv2020({ allErrors: true, strict: false });
    // The schema's formats, checked here (ajv-formats is not a dependency).
    const uriRef = /^(?:[A-Za-z0-9\-._~:/?#[\]@!$&'()*+,;=]|%[0-9A-Fa-f]{2})*$/;
    ajv.addFormat('uri-reference', uriRef);
    ajv.addFormat('uri', (s: string) => /^[A-Za-z][A-Za-z0-9+.-]*:/.test(s) && uriRef.test(s));
    ajv.addFormat('date-time', (s: string) => /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$/i.test(s) && !Number.isNaN(Date.parse(s)));
    ajv.addFormat('uuid', /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i);
    const validate = ajv.compile(JSON.parse(await readFile(SCHEMA, 'utf8')) as object);
    for (const [k, log] of Object.entries(logs)) expect(validate(log) ? [] : validate.errors!.map((e) => `${k}${e.instancePath} ${e.message}`)).toEqual([]);
    // The validator does reject: a bad level, a line 0, a URI with a space.
    const bad = structuredClone(logs.demo);
    Object.assign(bad.runs[0].results![0], { level: 'critical' });
    bad.runs[0].results![1].locations![0].physicalLocation!.region!.startLine = 0;
    bad.runs[0].results![2].locations![0].physicalLocation!.artifactLocation!.uri = 'my file.yaml';
    expect(validate(bad)).toBe(false);
    expect(validate.errors!.map((e) => e.instancePath).sort()).toEqual([
      '/runs/0/results/0/level',
      '/runs/0/results/1/locations/0/physicalLocation/region/startLine',
      '/runs/0/results/2/locations/0/physicalLocation/artifactLocation/uri',
    ]);
  });

  it('one result per failing finding, each with a physical location (uri, startLine) and the resource as a logical location', () => {
    const failing = demo.findings.filter((x) => x.status === 'fail');
    const res = results(logs.demo);
    expect(res).toHaveLength(failing.length);
    for (const r of res) {
      const loc = r.locations?.[0];
      expect(loc?.physicalLocation?.artifactLocation?.uri).toBe('examples/demo-inventory.json');
      expect(loc?.physicalLocation?.region?.startLine).toBeGreaterThanOrEqual(1);
      expect(loc?.logicalLocations?.[0]).toMatchObject({ kind: 'resource', fullyQualifiedName: expect.stringMatching(/^(gcp|aws|azure):/) });
      expect(r.message.text).toContain(loc!.logicalLocations![0].fullyQualifiedName!);
    }
    expect(res.map((r) => `${r.ruleId}|${r.locations![0].logicalLocations![0].fullyQualifiedName}`).sort()).toEqual(failing.map(keyOf).sort());
    for (const [k, log] of Object.entries(logs)) {
      for (const r of results(log)) {
        expect(r.locations?.[0]?.physicalLocation?.artifactLocation?.uri, k).toMatch(/\S/);
        expect(r.locations?.[0]?.physicalLocation?.region?.startLine, k).toBeGreaterThanOrEqual(1);
      }
    }
  });

  it.each([
    ['high', 'error'],
    ['medium', 'warning'],
    ['low', 'note'],
  ])('a %s finding is level %s', (severity, level) => {
    const res = results(logs.demo).filter((r) => r.properties?.severity === severity);
    expect(res.length).toBeGreaterThan(0);
    for (const r of res) expect(r.level).toBe(level);
  });

  it('ruleIndex points at the rule named by ruleId, in every file (the multitool does not check this)', () => {
    for (const log of Object.values(logs)) {
      const rules = log.runs[0].tool.driver.rules!;
      for (const r of results(log)) expect(rules[r.ruleIndex!]?.id, r.ruleId).toBe(r.ruleId);
      expect(new Set(rules.map((x) => x.id)).size).toBe(rules.length);
    }
  });

  it('every rule has short and full description, help text and markdown, and a security-severity from 0 to 10', () => {
    for (const log of Object.values(logs)) {
      for (const rule of log.runs[0].tool.driver.rules!) {
        expect(rule.shortDescription?.text, rule.id).toBeTruthy();
        expect(rule.fullDescription?.text, rule.id).toBeTruthy();
        expect(rule.help?.text, rule.id).toBeTruthy();
        expect(rule.help?.markdown, rule.id).toBeTruthy();
        const sev = rule.properties?.['security-severity'] as unknown;
        expect(typeof sev === 'string' || typeof sev === 'number', `${rule.id} security-severity ${String(sev)}`).toBe(true);
        expect(String(sev), rule.id).toMatch(/^\d+(\.\d+)?$/);
        expect(Number(sev)).toBeGreaterThanOrEqual(0);
        expect(Number(sev)).toBeLessThanOrEqual(10);
      }
    }
    // Every policy of the run is a rule, even one with no finding.
    expect(logs.demo.runs[0].tool.driver.rules!.map((r) => r.id)).toEqual(demo.policies.map((p) => p.id));
  });

  it('partialFingerprints.primaryLocationLineHash is set and unique per result (all results share one file and line)', () => {
    for (const [k, log] of Object.entries(logs)) {
      const hashes = results(log).map((r) => r.partialFingerprints?.primaryLocationLineHash);
      expect(hashes.every((h) => typeof h === 'string' && h.length > 0), k).toBe(true);
      expect(new Set(hashes).size, k).toBe(hashes.length);
    }
  });

  it('failed scopes and undecided checks are tool execution notifications; the run is not successful', () => {
    const inv = logs.demo.runs[0].invocations![0];
    expect(inv.executionSuccessful).toBe(false);
    const texts = (inv.toolExecutionNotifications ?? []).map((n) => `${n.level} ${n.message.text}`);
    expect(texts.filter((t) => t.startsWith('error ')).map((t) => t.split(':')[0] + ':' + t.split(':')[1])).toEqual(['error gcp:acme-sandbox', 'error aws:333333333333']);
    expect(texts.filter((t) => t.includes('could not decide'))).toHaveLength(demo.findings.filter((x) => x.status === 'error').length);
  });

  it('no baselineState and no suppressions without a baseline and a config', () => {
    for (const r of results(logs.demo)) {
      expect(r.baselineState).toBeUndefined();
      expect(r.suppressions).toBeUndefined();
    }
  });

  it('a suppressed failure carries an accepted external suppression with its reason and expiry', () => {
    const suppressed = drifted.report.findings.filter((x) => x.suppressed);
    expect(suppressed.length).toBeGreaterThan(0);
    const res = results(logs.drift).filter((r) => r.suppressions?.length);
    expect(res.map((r) => `${r.ruleId}|${r.locations![0].logicalLocations![0].fullyQualifiedName}`).sort()).toEqual(suppressed.map(keyOf).sort());
    for (const r of res) expect(r.suppressions).toEqual([{ kind: 'external', status: 'accepted', justification: 'legacy RDP hosts, replaced by IAP in Q1 (until 2027-01-31)' }]);
  });

  it('an expired suppression is a suppression-expired result with a rule of its own', () => {
    const expired = results(logs.drift).filter((r) => r.ruleId === 'suppression-expired');
    // One per serial-port failure in us-central1-b (the expired suppression's glob); the failure itself counts again.
    const matched = drifted.report.findings.filter((x) => x.policyId === 'gcp-serial-port-enabled' && x.status === 'fail' && refOf(x).startsWith('gcp:acme-prod/us-central1-b/'));
    expect(matched.length).toBeGreaterThan(0);
    expect(expired.map((r) => r.locations![0].logicalLocations![0].fullyQualifiedName).sort()).toEqual(matched.map(refOf).sort());
    for (const x of matched) expect(x.suppressed).toBeUndefined();
    const rule = logs.drift.runs[0].tool.driver.rules![expired[0].ruleIndex!];
    expect(rule.id).toBe('suppression-expired');
    for (const r of expired) expect(r.suppressions).toBeUndefined();
  });

  it('with --baseline every result has a baselineState: new, unchanged, or absent for the fixed ones', () => {
    const res = results(logs.drift);
    const state = (key: string) => res.filter((r) => `${r.ruleId}|${r.locations![0].logicalLocations![0].fullyQualifiedName}` === key).map((r) => r.baselineState);
    for (const r of res) expect(['new', 'unchanged', 'absent']).toContain(r.baselineState);
    // Taken out of the baseline: new. Only in the baseline: absent, exactly once.
    for (const x of drifted.removed) expect(state(keyOf(x))).toEqual(['new']);
    expect(state(keyOf(drifted.fake))).toEqual(['absent']);
    expect(res.filter((r) => r.baselineState === 'absent')).toHaveLength(1);
    // Suppressed now, failing in the baseline: still here, so unchanged, and not also absent.
    for (const x of drifted.report.findings.filter((y) => y.suppressed)) expect(state(keyOf(x))).toEqual(['unchanged']);
    for (const r of res.filter((y) => y.ruleId === 'suppression-expired')) expect(r.baselineState).toBe('new');
    // Suppressed failures carry their own baseline state (unchanged here: the baseline had them failing).
    const unchanged = drifted.report.findings.filter((x) => x.baseline === 'unchanged').length;
    expect(res.filter((r) => r.baselineState === 'unchanged')).toHaveLength(unchanged);
  });

  it.each([
    ['rdpcloud.yaml', 'rdpcloud.yaml'],
    ['./config/rdpcloud.yaml', 'config/rdpcloud.yaml'],
    ['../ops/rdpcloud.yaml', '../ops/rdpcloud.yaml'],
    ['audit config/rdp cloud #1.yaml', 'audit%20config/rdp%20cloud%20%231.yaml'],
    ['inventories/inv:prod.json', 'inventories/inv%3Aprod.json'],
    ['config\\rdpcloud.yaml', 'config/rdpcloud.yaml'],
    ['/home/ci/work/inventory.json', 'file:///home/ci/work/inventory.json'],
    ['/tmp/a b/ü.json', 'file:///tmp/a%20b/%C3%BC.json'],
    ['C:\\src\\rdpcloud.yaml', 'file:///C:/src/rdpcloud.yaml'],
    ['\\\\server\\share\\inv.json', 'file://server/share/inv.json'],
  ])('artifact path %j is the URI reference %j', (path, uri) => {
    expect(artifactUri(path)).toBe(uri);
  });

  it('the CLI names the file it audited: relative stays relative, absolute becomes a file: URI', () => {
    expect(results(logs.drift)[0].locations![0].physicalLocation!.artifactLocation!.uri).toBe('rdpcloud.yaml');
    expect(results(logs.spaces)[0].locations![0].physicalLocation!.artifactLocation!.uri).toBe('audit%20config/rdp%20cloud%20%231.yaml');
    expect(results(logs.absolute)[0].locations![0].physicalLocation!.artifactLocation!.uri).toBe(`file://${DEMO_ABSOLUTE}`);
  });
});
