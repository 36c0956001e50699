// The JSON report keeps its documented shape: a real demo report (and one with suppressions and a baseline)
// validates against src/model/report-schema.ts.
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { Ajv } from 'ajv';
import { describe, expect, it } from 'vitest';
import { reportSchema } from '../../src/model/report-schema.js';
import { rdpcloud } from './helpers.js';

const validate = new Ajv({ allErrors: true, strict: false, validateFormats: false }).compile(reportSchema);

describe('JSON report schema', () => {
  it('the demo report validates, and names its version', async () => {
    const r = await rdpcloud(['audit', '--from', 'examples/demo-inventory.json', '--format', 'json']);
    const report = JSON.parse(r.stdout);
    expect(validate(report), JSON.stringify(validate.errors?.slice(0, 5))).toBe(true);
    expect(report.schemaVersion).toBe(2);
  });

  it('with suppressions and a baseline it still validates', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'rdpcloud-schema-'));
    const demo = resolve('examples/demo-inventory.json');
    await writeFile(join(dir, 'rdpcloud.yaml'), 'suppressions:\n  - policy: rdp-internet-exposed\n    resource: "gcp:acme-prod/*"\n    reason: accepted until the move to IAP\n    expires: 2027-06-30\n');
    await rdpcloud(['audit', '--from', demo, '-o', 'before.json', '--pack', 'exposure'], {}, { cwd: dir });
    const r = await rdpcloud(['audit', '--from', demo, '--baseline', 'before.json', '--format', 'json'], {}, { cwd: dir });
    const report = JSON.parse(r.stdout);
    expect(report.findings.some((f: { suppressed?: unknown }) => f.suppressed)).toBe(true);
    expect(report.drift.new).toBeGreaterThan(0); // the hygiene pack was not in the baseline
    expect(validate(report), JSON.stringify(validate.errors?.slice(0, 5))).toBe(true);
  });
});
