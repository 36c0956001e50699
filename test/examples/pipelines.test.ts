// The example pipelines under examples/ci and the example rdpcloud.yaml: GitHub workflows pass
// @action-validator/cli; every pipeline is scheduled, uses its CI's keyless credential and no stored key;
// the CI-specific parts are there (SARIF upload on always(), id_tokens, JUnit reports); and every
// `rdpcloud ...` command line a pipeline runs is run here with the real CLI against the demo inventory
// (scope and credentials replaced by --from, files into a temp dir): it must parse and audit (exit 0, 1
// or 3, never 2) and write every --output it names.
import { execFile } from 'node:child_process';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { mkdtemp, readFile, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, delimiter, dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { parseDocument } from 'yaml';
import { rdpcloud } from '../cli/helpers.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const CI_DIR = join(ROOT, 'examples/ci');
const CONFIG = join(ROOT, 'examples/rdpcloud.yaml');
const DEMO = join(ROOT, 'examples/demo-inventory.json');
const VALIDATOR = join(ROOT, 'node_modules/.bin/action-validator');

type Kind = 'github' | 'gitlab' | 'cloudbuild' | 'azure';
// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Doc = any;

interface Pipeline {
  file: string; // relative to the repository
  kind: Kind;
  text: string;
  doc: Doc;
}

function walk(dir: string): string[] {
  return readdirSync(dir).flatMap((n) => {
    const p = join(dir, n);
    return statSync(p).isDirectory() ? walk(p) : [p];
  });
}

function kindOf(rel: string): Kind {
  if (rel.startsWith('examples/ci/github-actions/')) return 'github';
  if (rel.startsWith('examples/ci/gitlab/')) return 'gitlab';
  if (rel.startsWith('examples/ci/cloudbuild/')) return 'cloudbuild';
  if (rel.startsWith('examples/ci/azure-pipelines/')) return 'azure';
  throw new Error(`${rel}: a pipeline of a CI this test does not know; add its checks to test/examples/pipelines.test.ts`);
}

const YAML_FILES = walk(CI_DIR).filter((f) => /\.ya?ml$/.test(f)).sort();
const PIPELINES: Pipeline[] = YAML_FILES.map((abs) => {
  const file = relative(ROOT, abs);
  const text = readFileSync(abs, 'utf8');
  const parsed = parseDocument(text, { prettyErrors: true, uniqueKeys: true });
  if (parsed.errors.length) throw new Error(`${file}: not valid YAML:\n${parsed.errors.map((e) => e.message).join('\n')}`);
  return { file, kind: kindOf(file), text, doc: parsed.toJS() };
});
const ofKind = (k: Kind) => PIPELINES.filter((p) => p.kind === k);

// ---------------------------------------------------------------------------------------------------------
// The shell scripts a pipeline runs, and the rdpcloud command lines in them.

interface Script {
  where: string;
  text: string;
}

function asScripts(v: unknown, where: string): Script[] {
  if (typeof v === 'string') return [{ where, text: v }];
  if (Array.isArray(v)) return v.flatMap((x, i) => asScripts(x, `${where}[${i}]`));
  return [];
}

const GITLAB_RESERVED = new Set(['workflow', 'stages', 'variables', 'default', 'include', 'image', 'services', 'cache', 'before_script', 'after_script']);

function azureSteps(doc: Doc): { step: Doc; where: string }[] {
  const out: { step: Doc; where: string }[] = [];
  const steps = (list: Doc, where: string) => (list ?? []).forEach((s: Doc, i: number) => out.push({ step: s, where: `${where}.steps[${i}]` }));
  steps(doc.steps, '');
  (doc.jobs ?? []).forEach((j: Doc, i: number) => steps(j.steps, `jobs[${i}]`));
  (doc.stages ?? []).forEach((st: Doc, i: number) => (st.jobs ?? []).forEach((j: Doc, k: number) => steps(j.steps, `stages[${i}].jobs[${k}]`)));
  return out;
}

function scriptsOf(p: Pipeline): Script[] {
  const d = p.doc;
  switch (p.kind) {
    case 'github':
      return Object.entries(d.jobs ?? {}).flatMap(([job, j]: [string, Doc]) => (j.steps ?? []).flatMap((s: Doc, i: number) => asScripts(s.run, `jobs.${job}.steps[${i}].run`)));
    case 'gitlab':
      return [
        ...asScripts(d.default?.before_script, 'default.before_script'),
        ...asScripts(d.before_script, 'before_script'),
        ...Object.entries(d)
          .filter(([k, v]) => !GITLAB_RESERVED.has(k) && !k.startsWith('.') && v && typeof v === 'object' && 'script' in (v as object))
          .flatMap(([job, j]: [string, Doc]) => ['before_script', 'script', 'after_script'].flatMap((k) => asScripts(j[k], `${job}.${k}`))),
      ];
    case 'cloudbuild':
      // $$ is Cloud Build's escape for a literal $.
      return (d.steps ?? []).flatMap((s: Doc, i: number) => {
        const where = `steps[${i}] (${s.id ?? s.name})`;
        const args: string[] = s.args ?? [];
        const fromArgs = ['bash', 'sh'].includes(basename(String(s.entrypoint ?? ''))) && args[0] === '-c' ? [{ where, text: args[1] }] : [];
        return [...fromArgs, ...asScripts(s.script, `${where}.script`)].map((x) => ({ ...x, text: x.text.replace(/\$\$/g, '$') }));
      });
    case 'azure':
      return azureSteps(d).flatMap(({ step, where }) => [
        ...asScripts(step.bash, `${where}.bash`),
        ...asScripts(step.script, `${where}.script`),
        ...asScripts(step.inputs?.inlineScript, `${where}.inputs.inlineScript`),
      ]);
  }
}

const RDPCLOUD_CALL = /(^|[\s;&|(`])rdpcloud\s+(audit|snapshot|explain|policies|diagnose|fix|reset-password|probe|merge)\b/gm;
const callsRdpcloud = (script: unknown) => typeof script === 'string' && new RegExp(RDPCLOUD_CALL.source, 'm').test(script);

interface Command {
  pipeline: Pipeline;
  where: string;
  line: string;
  argv: string[]; // after `rdpcloud`
}

/** Words of one shell command, up to the first operator (||, &&, ;, |, >, #). Throws on what it cannot resolve offline. */
function shellWords(line: string): string[] {
  const words: string[] = [];
  let cur: string | undefined;
  const push = () => {
    if (cur !== undefined) words.push(cur);
    cur = undefined;
  };
  for (let i = 0; i < line.length; i++) {
    const c = line[i];
    if (/\s/.test(c)) {
      push();
      continue;
    }
    if ('|&;><)'.includes(c) || (c === '#' && cur === undefined)) break;
    if (c === '$' || c === '`') throw new Error(`a shell expansion (${line.slice(i, i + 20)}...) in an rdpcloud command line: write the command out so that it can be checked`);
    if (c === '\\') {
      cur = (cur ?? '') + line[++i];
      continue;
    }
    if (c === "'" || c === '"') {
      const end = line.indexOf(c, i + 1);
      if (end < 0) throw new Error('unterminated quote');
      const inner = line.slice(i + 1, end);
      if (c === '"' && /[$`]/.test(inner)) throw new Error(`a shell expansion ("${inner}") in an rdpcloud command line`);
      cur = (cur ?? '') + inner;
      i = end;
      continue;
    }
    cur = (cur ?? '') + c;
  }
  push();
  return words;
}

/** Problems met while extracting (asserted in a test, so that they are reported as failures, not load errors). */
const EXTRACTION_PROBLEMS: string[] = [];

function commandsOf(p: Pipeline): Command[] {
  const out: Command[] = [];
  for (const s of scriptsOf(p)) {
    const joined = s.text.replace(/\\\r?\n\s*/g, ' ');
    const calls = [...joined.matchAll(RDPCLOUD_CALL)].length;
    const lines = joined.split(/\r?\n/).filter((l) => /^\s*rdpcloud\s/.test(l));
    // Every rdpcloud call must start its line, so that none escapes the checks below.
    if (lines.length !== calls) EXTRACTION_PROBLEMS.push(`${p.file} ${s.where}: ${calls} rdpcloud calls, ${lines.length} of them at the start of a line:\n${s.text}`);
    for (const line of lines) {
      try {
        out.push({ pipeline: p, where: s.where, line: line.trim(), argv: shellWords(line.trim()).slice(1) });
      } catch (e) {
        EXTRACTION_PROBLEMS.push(`${p.file} ${s.where}: ${(e as Error).message}: ${line.trim()}`);
      }
    }
  }
  return out;
}

const COMMANDS = PIPELINES.flatMap(commandsOf);

// ---------------------------------------------------------------------------------------------------------
// Rewriting a pipeline's command for an offline run against the demo inventory.

const SCOPE_WITH_VALUE = new Set(['--project', '--region', '--profile', '--role-arn', '--role-name', '--subscription', '--azure-cloud', '--azure-endpoint', '--gcp-endpoint']);
const SCOPE_FLAGS = new Set(['--all-projects', '--all-accounts']);

interface Offline {
  argv: string[];
  outputs: string[];
  baseline: boolean;
}

function offline(c: Command, tmp: string, baselineFile: string): Offline {
  const argv: string[] = [];
  const outputs: string[] = [];
  let baseline = false;
  const words = c.argv.flatMap((w) => (/^--[a-z-]+=/.test(w) ? [w.slice(0, w.indexOf('=')), w.slice(w.indexOf('=') + 1)] : [w]));
  for (let i = 0; i < words.length; i++) {
    const w = words[i];
    const value = () => {
      const v = words[++i];
      if (v === undefined || v.startsWith('-')) throw new Error(`${c.pipeline.file}: ${w} without a value in: ${c.line}`);
      return v;
    };
    if (SCOPE_FLAGS.has(w)) continue;
    if (SCOPE_WITH_VALUE.has(w)) {
      value();
      continue;
    }
    if (w === '--from') throw new Error(`${c.pipeline.file}: a pipeline that reads a saved inventory (--from): ${c.line}`);
    if (w === '--config') {
      const v = value();
      expect(v, `${c.pipeline.file}: the pipelines read rdpcloud.yaml at the repository root: ${c.line}`).toBe('rdpcloud.yaml');
      argv.push('--config', CONFIG);
    } else if (w === '--output' || w === '-o') {
      const f = join(tmp, basename(value()));
      outputs.push(f);
      argv.push(w, f);
    } else if (w === '--baseline') {
      value();
      baseline = true;
      argv.push('--baseline', baselineFile);
    } else argv.push(w);
  }
  argv.push('--from', DEMO);
  return { argv, outputs, baseline };
}

function flagValues(c: Command, flag: string): string[] {
  return c.argv.flatMap((w, i) => (w === flag || (flag === '--output' && w === '-o') ? [c.argv[i + 1]] : w.startsWith(`${flag}=`) ? [w.slice(flag.length + 1)] : []));
}

// ---------------------------------------------------------------------------------------------------------
// What no pipeline may hold: long-lived keys or the inputs that take them.

const FORBIDDEN: [RegExp, string][] = [
  [/aws[-_]secret[-_]access[-_]key/i, 'an AWS secret access key'],
  [/aws[-_]access[-_]key[-_]id/i, 'an AWS access key id'],
  [/\bAKIA[0-9A-Z]{16}\b/, 'an AWS access key'],
  [/credentials_json/i, 'a GCP service account key (credentials_json)'],
  [/private_key/i, 'a private key'],
  [/-----BEGIN [A-Z ]*PRIVATE KEY-----/, 'a PEM private key'],
  [/"type"\s*:\s*"service_account"/, 'a GCP service account key file'],
  [/activate-service-account|--key-file/i, 'gcloud with a service account key file'],
  [/\bGOOGLE_CREDENTIALS\b/, 'a GCP key in GOOGLE_CREDENTIALS'],
  [/client[-_]secret/i, 'an Azure client secret (client-secret, AZURE_CLIENT_SECRET)'],
  [/az\s+login[^\n]*--service-principal[^\n]*(-p|--password)\b/, 'az login with a service principal password'],
];

function allKeys(v: unknown, out: string[] = []): string[] {
  if (Array.isArray(v)) v.forEach((x) => allKeys(x, out));
  else if (v && typeof v === 'object') for (const [k, x] of Object.entries(v)) out.push(k), allKeys(x, out);
  return out;
}

const CRON = /^(\S+\s+){4}\S+$/;
const cronOk = (c: unknown) => typeof c === 'string' && CRON.test(c.trim()) && c.trim().split(/\s+/).every((f) => /^[\d*,/-]+$/.test(f));

// ---------------------------------------------------------------------------------------------------------

describe('the example pipelines', () => {
  it('are there, one of each CI, and parse as YAML', () => {
    expect(ofKind('github').length).toBeGreaterThan(0);
    expect(ofKind('gitlab').map((p) => basename(p.file))).toContain('.gitlab-ci.yml');
    expect(ofKind('cloudbuild').length).toBeGreaterThan(0);
    expect(ofKind('azure').length).toBeGreaterThan(0);
    for (const p of PIPELINES) expect(p.doc, p.file).toBeTypeOf('object');
  });

  it.each(ofKind('github').map((p) => [p.file]))('%s passes action-validator', async (file) => {
    const env = { ...process.env, PATH: `${dirname(process.execPath)}${delimiter}${process.env.PATH ?? ''}`, NO_COLOR: '1' };
    const r = await promisify(execFile)(VALIDATOR, [join(ROOT, file)], { cwd: ROOT, env }).catch((e: { code?: number; stdout?: string; stderr?: string }) => {
      throw new Error(`action-validator ${file} exited ${e.code}:\n${e.stdout}${e.stderr}`);
    });
    expect(r.stderr).toBe('');
  });

  it.each(PIPELINES.map((p) => [p.file, p] as const))('%s holds no long-lived credential', (file, p) => {
    for (const [re, what] of FORBIDDEN) expect(re.test(p.text), `${file}: ${what} (${re})`).toBe(false);
    const keys = allKeys(p.doc);
    if (p.kind === 'github') expect(p.text, `${file}: uses a stored secret; the pipeline's identifiers are variables (vars.*)`).not.toMatch(/\$\{\{\s*secrets\./);
    if (p.kind === 'cloudbuild') {
      expect(keys, `${file}: secretEnv`).not.toContain('secretEnv');
      expect(keys, `${file}: availableSecrets`).not.toContain('availableSecrets');
      expect(keys, `${file}: secrets`).not.toContain('secrets');
    }
    if (p.kind === 'gitlab') expect(keys, `${file}: CI secrets`).not.toContain('secrets');
  });

  it.each(PIPELINES.map((p) => [p.file, p] as const))('%s is scheduled nightly and runnable by hand', (file, p) => {
    const d = p.doc;
    switch (p.kind) {
      case 'github': {
        const on = d.on ?? d.true; // YAML 1.1 readers turn `on` into true; the yaml package does not
        expect(on?.schedule, `${file}: on.schedule`).toBeInstanceOf(Array);
        expect(on.schedule.length).toBeGreaterThan(0);
        for (const s of on.schedule) expect(cronOk(s.cron), `${file}: cron "${s.cron}"`).toBe(true);
        expect(on, `${file}: on.workflow_dispatch`).toHaveProperty('workflow_dispatch');
        break;
      }
      case 'gitlab': {
        const ifs = [...(d.workflow?.rules ?? []), ...Object.values(d).flatMap((j: Doc) => (j && typeof j === 'object' && Array.isArray(j.rules) ? j.rules : []))].map((r: Doc) => String(r.if ?? ''));
        expect(ifs, `${file}: a rule for scheduled pipelines`).toContain('$CI_PIPELINE_SOURCE == "schedule"');
        expect(ifs, `${file}: a rule for pipelines run by hand`).toContain('$CI_PIPELINE_SOURCE == "web"');
        break;
      }
      case 'cloudbuild': {
        // Cloud Build has no schedule in the build file: a manual trigger and a Cloud Scheduler job run it.
        expect(p.text, `${file}: the manual trigger`).toMatch(/gcloud builds triggers create manual\b/);
        expect(p.text, `${file}: the Cloud Scheduler job`).toMatch(/gcloud scheduler jobs create http\b/);
        const cron = /--schedule="([^"]+)"/.exec(p.text)?.[1];
        expect(cronOk(cron), `${file}: --schedule "${cron}"`).toBe(true);
        expect(p.text).toMatch(/triggers\/[^\s"]+:run/);
        break;
      }
      case 'azure':
        expect(d.schedules, `${file}: schedules`).toBeInstanceOf(Array);
        for (const s of d.schedules) {
          expect(cronOk(s.cron), `${file}: cron "${s.cron}"`).toBe(true);
          expect(s.always, `${file}: a schedule that runs when nothing was committed`).toBe(true);
        }
        break;
    }
  });

  describe('GitHub Actions', () => {
    it.each(ofKind('github').map((p) => [p.file, p] as const))('%s: OIDC logins, least permissions, SARIF upload on always(), summary, baseline', (file, p) => {
      const d = p.doc;
      expect(d.permissions, `${file}: permissions`).toMatchObject({ contents: 'read', 'id-token': 'write', 'security-events': 'write' });
      for (const [k, v] of Object.entries(d.permissions)) if (!['id-token', 'security-events'].includes(k)) expect(v, `${file}: permissions.${k}`).toBe('read');
      const jobs = Object.entries(d.jobs) as [string, Doc][];
      for (const [name, j] of jobs) expect(j.permissions, `${file}: jobs.${name}.permissions widens the workflow's`).toBeUndefined();
      const steps: Doc[] = jobs.flatMap(([, j]) => j.steps ?? []);
      const uses = (prefix: string) => steps.filter((s) => typeof s.uses === 'string' && s.uses.startsWith(prefix));
      const one = (prefix: string) => {
        const found = uses(prefix);
        expect(found.length, `${file}: a step that uses ${prefix}`).toBe(1);
        return found[0];
      };
      const gcp = one('google-github-actions/auth@v2');
      expect(gcp.with).toHaveProperty('workload_identity_provider');
      expect(gcp.with).toHaveProperty('service_account');
      const aws = one('aws-actions/configure-aws-credentials@v4');
      expect(aws.with).toHaveProperty('role-to-assume');
      const az = one('azure/login@v2');
      expect(Object.keys(az.with).sort()).toEqual(expect.arrayContaining(['client-id', 'subscription-id', 'tenant-id']));
      expect(az.with).not.toHaveProperty('creds');
      expect(String(one('actions/setup-node@v4').with?.['node-version'])).toMatch(/^22(\.|$)/);

      const audit = steps.findIndex((s) => callsRdpcloud(s.run));
      expect(audit, `${file}: the step that runs rdpcloud audit`).toBeGreaterThanOrEqual(0);
      expect(steps[audit].id, `${file}: the audit step has an id, for its saved exit code`).toBeTruthy();
      expect(steps[audit].run, `${file}: the audit step saves the exit code`).toMatch(/GITHUB_OUTPUT/);
      const sarif = one('github/codeql-action/upload-sarif@v3');
      expect(steps.indexOf(sarif)).toBeGreaterThan(audit);
      expect(sarif.with?.category).toBe('rdpcloud');
      expect(String(sarif.if ?? ''), `${file}: upload-sarif must run when the audit step failed`).toMatch(/\balways\(\)/);
      expect(steps.some((s) => typeof s.run === 'string' && /GITHUB_STEP_SUMMARY/.test(s.run) && /\.md\b/.test(s.run)), `${file}: markdown into the step summary`).toBe(true);
      expect(uses('actions/cache/restore@').length + uses('actions/download-artifact@').length, `${file}: restores the previous report`).toBeGreaterThan(0);
      expect(uses('actions/cache/save@').length + uses('actions/upload-artifact@').length, `${file}: keeps this report`).toBeGreaterThan(0);
      // The job fails at the end on the saved code: the last step reads it, runs always, and fails for 1 and 3.
      const last = steps[steps.length - 1];
      expect(String(last.if ?? '')).toMatch(/always\(\)/);
      expect(JSON.stringify(last)).toContain(`steps.${steps[audit].id}.outputs.code`);
      expect(last.run).toMatch(/1\)[^\n]*exit 1/);
      expect(last.run).toMatch(/3\)[^\n]*exit [1-9]/);
      // Exit 2 fails the audit step itself.
      expect(steps[audit].run).toMatch(/2\)[^\n]*exit 2/);

      const cmds = COMMANDS.filter((c) => c.pipeline === p);
      const outs = new Set(cmds.flatMap((c) => flagValues(c, '--output')));
      expect(outs).toContain(sarif.with.sarif_file);
      expect([...outs]).toEqual(expect.arrayContaining(['rdpcloud.sarif', 'rdpcloud.md', 'rdpcloud.json']));
    });
  });

  describe('GitLab CI', () => {
    it.each(ofKind('gitlab').map((p) => [p.file, p] as const))('%s: id_tokens for GCP WIF and AWS web identity, node:22, JUnit and markdown artifacts', (file, p) => {
      const jobs = Object.entries(p.doc).filter(([, j]: [string, Doc]) => j && typeof j === 'object' && 'script' in j) as [string, Doc][];
      const auditJobs = jobs.filter(([name]) => COMMANDS.some((c) => c.pipeline === p && c.where.startsWith(`${name}.`)));
      expect(auditJobs.length, `${file}: a job that runs rdpcloud`).toBeGreaterThan(0);
      for (const [name, j] of auditJobs) {
        expect(j.image ?? p.doc.default?.image ?? p.doc.image, `${name}: image`).toBe('node:22');
        const tokens = Object.values(j.id_tokens ?? {}) as Doc[];
        expect(tokens.length, `${name}: id_tokens`).toBeGreaterThanOrEqual(2);
        for (const t of tokens) expect(String(t.aud ?? '')).not.toBe('');
        const script = ['before_script', 'script'].flatMap((k) => asScripts(j[k], k)).map((s) => s.text).join('\n');
        expect(script, `${name}: an external-account credential for GCP`).toMatch(/"type":\s*"external_account"/);
        expect(script).toMatch(/"subject_token_type":\s*"urn:ietf:params:oauth:token-type:jwt"/);
        expect(script).toMatch(/"token_url":\s*"https:\/\/sts\.googleapis\.com\/v1\/token"/);
        expect(script).toMatch(/export GOOGLE_APPLICATION_CREDENTIALS=/);
        expect(script).toMatch(/export AWS_WEB_IDENTITY_TOKEN_FILE=/);
        expect(p.text, `${file}: AWS_ROLE_ARN`).toMatch(/\bAWS_ROLE_ARN\b/);
        expect(j.artifacts?.reports?.junit, `${name}: artifacts.reports.junit`).toBe('rdpcloud.xml');
        expect(j.artifacts?.when, `${name}: artifacts kept when the job fails`).toBe('always');
        const outs = COMMANDS.filter((c) => c.pipeline === p && c.where.startsWith(`${name}.`)).flatMap((c) => flagValues(c, '--output'));
        expect(outs).toEqual(expect.arrayContaining(['rdpcloud.xml', 'rdpcloud.md']));
        for (const o of outs) expect(j.artifacts.paths, `${name}: --output ${o} kept as an artifact`).toContain(o);
      }
    });
  });

  describe('Cloud Build', () => {
    it.each(ofKind('cloudbuild').map((p) => [p.file, p] as const))('%s: node:22, reports to gs://$_REPORT_BUCKET, the build service account only', (file, p) => {
      const d = p.doc;
      expect(d.substitutions, `${file}: substitutions._REPORT_BUCKET`).toHaveProperty('_REPORT_BUCKET');
      const steps: Doc[] = d.steps;
      const runsRdpcloud = (s: Doc) => COMMANDS.some((c) => c.pipeline === p && c.where.startsWith(`steps[${steps.indexOf(s)}] `));
      const auditSteps = steps.filter(runsRdpcloud);
      expect(auditSteps.length).toBeGreaterThan(0);
      for (const s of auditSteps) expect(s.name, `${file}: the image that runs rdpcloud`).toBe('node:22');
      const scripts = scriptsOf(p).map((s) => s.text).join('\n');
      expect(scripts, `${file}: copies the reports to the bucket`).toMatch(/gs:\/\/\$\{?_REPORT_BUCKET\}?\//);
      expect(JSON.stringify(d), `${file}: a credential other than the build's service account`).not.toMatch(/GOOGLE_APPLICATION_CREDENTIALS|GOOGLE_OAUTH_ACCESS_TOKEN/);
    });
  });

  describe('Azure Pipelines', () => {
    it.each(ofKind('azure').map((p) => [p.file, p] as const))('%s: AzureCLI@2 with a service connection, PublishTestResults@2 for the JUnit file', (file, p) => {
      const steps = azureSteps(p.doc).map((x) => x.step);
      const cli = steps.filter((s) => s.task === 'AzureCLI@2');
      expect(cli.length, `${file}: AzureCLI@2`).toBeGreaterThan(0);
      for (const s of cli) expect(String(s.inputs?.azureSubscription ?? ''), `${file}: AzureCLI@2 azureSubscription (the service connection)`).not.toBe('');
      expect(cli.some((s) => callsRdpcloud(s.inputs?.inlineScript)), `${file}: rdpcloud runs inside AzureCLI@2`).toBe(true);
      const publish = steps.filter((s) => s.task === 'PublishTestResults@2');
      expect(publish.length, `${file}: PublishTestResults@2`).toBe(1);
      expect(publish[0].inputs?.testResultsFormat).toBe('JUnit');
      expect(String(publish[0].condition ?? ''), `${file}: test results published when the audit fails`).toMatch(/succeededOrFailed\(\)|always\(\)/);
      const outs = COMMANDS.filter((c) => c.pipeline === p).flatMap((c) => flagValues(c, '--output'));
      expect(outs).toContain(publish[0].inputs?.testResultsFiles);
      const node = steps.find((s) => /^(UseNode|NodeTool)@/.test(String(s.task ?? '')));
      expect(String(node?.inputs?.version ?? node?.inputs?.versionSpec ?? ''), `${file}: Node 22`).toMatch(/^22(\.|$)/);
    });
  });

  describe('every rdpcloud command line', () => {
    it('is extracted from every script, written out literally', () => {
      expect(EXTRACTION_PROBLEMS).toEqual([]);
    });

    it('is found in every pipeline, with --config rdpcloud.yaml, and with and without --baseline', () => {
      for (const p of PIPELINES) {
        const audits = COMMANDS.filter((c) => c.pipeline === p && c.argv[0] === 'audit');
        expect(audits.length, `${p.file}: rdpcloud audit`).toBeGreaterThan(0);
        for (const c of audits) expect(flagValues(c, '--config'), c.line).toEqual(['rdpcloud.yaml']);
        expect(audits.some((c) => flagValues(c, '--baseline').length), `${p.file}: an audit with --baseline`).toBe(true);
        expect(audits.some((c) => !flagValues(c, '--baseline').length), `${p.file}: the first run, without a baseline`).toBe(true);
      }
    });

    it.each(COMMANDS.map((c) => [`${c.pipeline.file} (${c.where}): rdpcloud ${c.argv[0]}${flagValues(c, '--baseline').length ? ' with --baseline' : ''}`, c] as const))(
      '%s parses and audits the demo inventory',
      async (_name, c) => {
        const tmp = await mkdtemp(join(tmpdir(), 'rdpcloud-pipeline-'));
        // The earlier report the baseline stands for: the same audit, a day before.
        const earlier = await rdpcloud(['audit', '--config', CONFIG, '--from', DEMO, '--format', 'json'], {}, { cwd: ROOT, now: () => new Date('2026-11-24T03:17:00Z') });
        expect([0, 1, 3], earlier.stderr).toContain(earlier.code);
        const baselineFile = join(tmp, 'baseline.json');
        await writeFile(baselineFile, earlier.stdout);

        const o = offline(c, tmp, baselineFile);
        const r = await rdpcloud(o.argv, {}, { cwd: ROOT });
        expect([0, 1, 3], `rdpcloud ${o.argv.join(' ')}\nexit ${r.code}\n${r.stderr}`).toContain(r.code);
        for (const f of o.outputs) {
          const s = await stat(f).catch(() => undefined);
          expect(s?.size, `${c.pipeline.file}: ${basename(f)} not written by: ${c.line}`).toBeGreaterThan(0);
          const text = await readFile(f, 'utf8');
          if (f.endsWith('.ocsf.json')) expect((JSON.parse(text) as Doc[])[0]).toMatchObject({ class_uid: 2004 });
          else if (f.endsWith('.sarif')) expect(JSON.parse(text)).toMatchObject({ version: '2.1.0' });
          else if (f.endsWith('.json')) {
            const report = JSON.parse(text);
            expect(report.tool?.name).toBe('rdpcloud');
            if (o.baseline) expect(report.drift, `${basename(f)}: the comparison with the baseline`).toMatchObject({ baselineGeneratedAt: '2026-11-24T03:17:00.000Z' });
          } else if (f.endsWith('.xml')) expect(text).toMatch(/<testsuites\b/);
          else if (f.endsWith('.md')) expect(text).toMatch(/^# rdpcloud audit/);
        }
      },
    );
  });
});

describe('examples/rdpcloud.yaml', () => {
  it('loads: rdpcloud policies --config examples/rdpcloud.yaml exits 0', async () => {
    const r = await rdpcloud(['policies', '--config', CONFIG], {}, { cwd: ROOT });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toBe('');
  });

  it('has the parts the pipelines rely on, and its suppression is live against the demo', async () => {
    const d = parseDocument(readFileSync(CONFIG, 'utf8')).toJS();
    expect(d.sources.corp.mustReach).toEqual({ labels: { rdp: 'required' } });
    expect(d.sources.vpn).toBeInstanceOf(Array);
    expect(d.projects.length).toBeGreaterThan(0);
    expect(d.accounts.length).toBeGreaterThan(0);
    expect(d.roleName).toBeTruthy();
    expect(d.subscriptions.length).toBeGreaterThan(0);
    expect(d.suppressions).toHaveLength(1);
    expect(Object.keys(d.overrides).length).toBeGreaterThan(0);
    const r = await rdpcloud(['audit', '--config', CONFIG, '--from', DEMO, '--format', 'json'], {}, { cwd: ROOT });
    expect([1, 3], r.stderr).toContain(r.code);
    expect(r.stderr, 'the suppression matches a failure of the demo').not.toMatch(/matched no failing result/);
    const report = JSON.parse(r.stdout);
    expect(report.sources).toEqual(['internet', 'corp', 'vpn']);
    expect(report.findings.filter((f: Doc) => f.suppressed).map((f: Doc) => f.policyId)).toEqual([d.suppressions[0].policy]);
    expect(report.findings.some((f: Doc) => f.policyId === 'suppression-expired')).toBe(false);
  });
});

describe("the README's sharded GitHub Actions matrix", () => {
  it('passes action-validator, and its audit --shard and merge commands run against the demo', async () => {
    const { readFile: read, writeFile: write, mkdtemp: temp } = await import('node:fs/promises');
    const { tmpdir: tmp } = await import('node:os');
    const { join: j } = await import('node:path');
    const { execFile: ex } = await import('node:child_process');
    const { rdpcloud } = await import('../cli/helpers.js');
    const readme = await read('README.md', 'utf8');
    const section = readme.slice(readme.indexOf('### Sharded runs'));
    const yaml = /```yaml\n([\s\S]*?)```/.exec(section)![1];
    const dir = await temp(j(tmp(), 'rdpcloud-matrix-'));
    await write(j(dir, 'sharded.yml'), yaml);
    const validated = await new Promise<{ code: number; stderr: string }>((done) =>
      ex('node_modules/.bin/action-validator', [j(dir, 'sharded.yml')], (e, _o, stderr) => done({ code: e ? ((e as { code?: number }).code ?? 1) : 0, stderr })),
    );
    expect(validated, validated.stderr).toEqual({ code: 0, stderr: '' });
    for (let i = 1; i <= 4; i++) {
      const r = await rdpcloud(['audit', '--from', j(process.cwd(), 'examples/demo-inventory.json'), '--shard', `${i}/4`, '--output', `part-${i}.json`], {}, { cwd: dir });
      expect([0, 1, 3]).toContain(r.code);
    }
    expect(yaml).toContain('--shard ${{ matrix.shard }}/4 --output part-${{ matrix.shard }}.json');
    const m = await rdpcloud(['merge', 'part-1.json', 'part-2.json', 'part-3.json', 'part-4.json', '--output', 'rdpcloud.sarif', '--output', 'rdpcloud.md', '--output', 'rdpcloud.json'], {}, { cwd: dir });
    expect(m.code).toBe(3); // the demo has two failed scopes
    expect(yaml).toContain('rdpcloud merge part-*.json --output rdpcloud.sarif --output rdpcloud.md --output rdpcloud.json');
    expect(JSON.parse(await read(j(dir, 'rdpcloud.json'), 'utf8')).scopes).toHaveLength(12);
  });
});
