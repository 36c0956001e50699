// OCSF 1.4.0 Detection Finding events (class 2004), each validated with Ajv against a JSON Schema written
// from the OCSF 1.4.0 sources (ocsf-detection-finding-1.4.0.schema.json; its $comment fields link them):
// every attribute OCSF requires for the class, the enums, type_uid = class_uid * 100 + activity_id, and the
// cloud object the declared cloud profile requires. Then what the schema leaves open: the severity and
// status mappings, the baseline's fixed findings as Close/Resolved, time in ms, stable finding uids.
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Ajv } from 'ajv';
import { beforeAll, describe, expect, it } from 'vitest';
import type { Report, Severity } from '../../src/model/results.js';
import { ocsfReport } from '../../src/reporters/ocsf.js';
import { rdpcloud } from '../cli/helpers.js';
import { audit, DEMO, demoReport, driftReport, INCOMPLETE, keyOf, refOf, tempDir, type Drifted } from './fixtures.js';

interface OcsfEvent {
  activity_id: number;
  class_uid: number;
  category_uid: number;
  type_uid: number;
  severity_id: number;
  status_id: number;
  status_detail?: string;
  is_alert: boolean;
  time: number;
  message: string;
  metadata: { version: string; product: { name: string; version: string }; profiles: string[] };
  finding_info: { uid: string; title: string; analytic: { name: string }; created_time?: number };
  resources: { uid: string; name: string; type: string; region?: string; labels: string[] }[];
  cloud: { provider: string; region?: string; account: { uid: string; type_id: number } };
  remediation?: { desc: string };
}

/** The finding an event is about: policy (the analytic) and resource reference (the first label). */
const keyOfEvent = (e: OcsfEvent) => `${e.finding_info.analytic.name}|${e.resources[0].labels[0]}`;

describe('OCSF reporter', () => {
  let demo: Report;
  let drifted: Drifted;
  let events: { demo: OcsfEvent[]; drift: OcsfEvent[] };
  let validate: ReturnType<Ajv['compile']>;

  beforeAll(async () => {
    const schema = JSON.parse(await readFile(new URL('./ocsf-detection-finding-1.4.0.schema.json', import.meta.url), 'utf8')) as object;
    // The schema uses no "format", so ajv-formats is not needed; strict mode catches schema mistakes.
    validate = new Ajv({ allErrors: true, strict: true }).compile(schema);
    demo = await demoReport();
    drifted = await driftReport();
    const dir = await tempDir();
    await audit(['--output', join(dir, 'demo.ocsf.json')]);
    events = {
      demo: JSON.parse(await readFile(join(dir, 'demo.ocsf.json'), 'utf8')) as OcsfEvent[],
      drift: JSON.parse((await audit([...drifted.argv, '--format', 'ocsf'], { cwd: drifted.dir })).stdout) as OcsfEvent[],
    };
  });

  it('the CLI writes OCSF for --output x.ocsf.json (not the JSON report), the same as the reporter', () => {
    expect(Array.isArray(events.demo)).toBe(true);
    expect(JSON.stringify(events.demo, null, 2) + '\n').toBe(ocsfReport(demo));
  });

  it.each(['demo', 'drift'] as const)('%s: every event is a valid OCSF 1.4.0 Detection Finding', (k) => {
    expect(events[k].length).toBeGreaterThan(0);
    const invalid = events[k].flatMap((e, i) => (validate(e) ? [] : validate.errors!.map((x) => `[${i}] ${keyOfEvent(e)}: ${x.instancePath} ${x.message}`)));
    expect(invalid).toEqual([]);
  });

  it.each([
    ['type_uid that does not match activity_id', (e: Record<string, unknown>) => (e.type_uid = 200402)],
    ['no finding_info.uid', (e: Record<string, unknown>) => delete (e.finding_info as Record<string, unknown>).uid],
    ['time as an RFC 3339 string', (e: Record<string, unknown>) => (e.time = '2026-11-25T12:00:00Z')],
    ['the cloud profile without a cloud object', (e: Record<string, unknown>) => delete e.cloud],
    ['a severity_id outside the enum', (e: Record<string, unknown>) => (e.severity_id = 7)],
  ])('the schema rejects an event with %s', (_, mutate) => {
    const e = structuredClone(events.demo[0]) as unknown as Record<string, unknown>;
    mutate(e);
    expect(validate(e)).toBe(false);
  });

  it('one event per failing finding; failures fixed since the baseline add one each', () => {
    expect(events.demo.map(keyOfEvent).sort()).toEqual(demo.findings.filter((f) => f.status === 'fail').map(keyOf).sort());
    const expected = [...drifted.report.findings.filter((f) => f.status === 'fail').map(keyOf), keyOf(drifted.fake)];
    expect(events.drift.map(keyOfEvent).sort()).toEqual(expected.sort());
  });

  it('class_uid 2004 in category 2, type_uid = 200400 + activity_id, metadata version 1.4.0 with the cloud profile', () => {
    for (const e of [...events.demo, ...events.drift]) {
      expect(e.class_uid).toBe(2004);
      expect(e.category_uid).toBe(2);
      expect(e.type_uid).toBe(200400 + e.activity_id);
      expect(e.metadata).toMatchObject({ version: '1.4.0', product: { name: 'rdpcloud', version: demo.tool.version }, profiles: ['cloud'] });
    }
  });

  it.each([
    ['critical', 5],
    ['high', 4],
    ['medium', 3],
    ['low', 2],
    ['info', 1],
  ] as [Severity, number][])('severity %s -> severity_id %i', (severity, id) => {
    const all = [...demo.findings, ...drifted.report.findings].filter((f) => f.status === 'fail' && f.severity === severity);
    const byKey = new Map(events.demo.concat(events.drift).map((e) => [keyOfEvent(e), e]));
    for (const f of all) expect(byKey.get(keyOf(f))?.severity_id, keyOf(f)).toBe(id);
    // Which severities the demo has: high, medium and low; the others are checked on the reporter directly.
    if (!all.length) {
      const copy = structuredClone(demo);
      const i = copy.findings.findIndex((f) => f.status === 'fail');
      copy.findings[i] = { ...copy.findings[i], severity };
      expect((JSON.parse(ocsfReport(copy)) as OcsfEvent[]).find((e) => keyOfEvent(e) === keyOf(copy.findings[i]))?.severity_id).toBe(id);
    }
  });

  it('an open failure is activity Create (1), status New (1), an alert', () => {
    for (const e of events.demo) expect([e.activity_id, e.status_id, e.is_alert]).toEqual([1, 1, true]);
  });

  it('a suppressed failure is status Suppressed (3), not an alert, with the reason and expiry', () => {
    const suppressed = new Set(drifted.report.findings.filter((f) => f.suppressed).map(keyOf));
    const ev = events.drift.filter((e) => suppressed.has(keyOfEvent(e)));
    expect(ev).toHaveLength(suppressed.size);
    for (const e of ev) expect(e).toMatchObject({ activity_id: 1, status_id: 3, is_alert: false, status_detail: 'suppressed until 2027-01-31: legacy RDP hosts, replaced by IAP in Q1' });
  });

  it('a failure fixed since the baseline is activity Close (3), status Resolved (4), type_uid 200403; a now-suppressed one is not', () => {
    const closed = events.drift.filter((e) => e.activity_id === 3);
    expect(closed.map(keyOfEvent)).toEqual([keyOf(drifted.fake)]);
    expect(closed[0]).toMatchObject({ status_id: 4, type_uid: 200403, is_alert: false });
    // drift.fixed also lists the failures suppressed since the baseline: each is one event, Suppressed, never also Closed.
    const uids = events.drift.map((e) => e.finding_info.uid);
    expect(new Set(uids).size).toBe(uids.length);
  });

  it('time (and created_time) is the run time as integer milliseconds since the epoch', () => {
    for (const e of [...events.demo, ...events.drift]) {
      expect(Number.isInteger(e.time)).toBe(true);
      expect(e.time).toBe(Date.parse('2026-11-25T12:00:00Z'));
      expect(e.finding_info.created_time).toBe(e.time);
    }
  });

  it('finding_info.uid is unique per event and stable across runs (same policy and resource, another day)', async () => {
    const later = await rdpcloud(['audit', '--from', DEMO, '--format', 'ocsf'], {}, { now: () => new Date('2026-12-02T08:30:00Z') });
    expect(later.code, later.stderr).toBe(INCOMPLETE);
    const again = JSON.parse(later.stdout) as OcsfEvent[];
    expect(again[0].time).toBe(Date.parse('2026-12-02T08:30:00Z'));
    const uid = (list: OcsfEvent[]) => new Map(list.map((e) => [keyOfEvent(e), e.finding_info.uid]));
    expect(uid(again)).toEqual(uid(events.demo));
    expect(uid(events.demo).size).toBe(events.demo.length);
    expect(new Set(uid(events.demo).values()).size).toBe(events.demo.length);
    // And the same finding in the run with a config and a baseline.
    for (const [k, u] of uid(events.drift)) if (uid(events.demo).has(k)) expect(u, k).toBe(uid(events.demo).get(k));
  });

  it.each([
    ['gcp', 'GCP', 11],
    ['aws', 'AWS', 10],
    ['azure', 'Azure', 13],
  ])('a %s finding names cloud provider %s and the account type %i, with the scope as account uid', (provider, name, typeId) => {
    const ev = events.demo.filter((e) => e.resources[0].labels[0].startsWith(`${provider}:`));
    expect(ev.length).toBeGreaterThan(0);
    for (const e of ev) {
      expect(e.cloud.provider).toBe(name);
      expect(e.cloud.account.type_id).toBe(typeId);
      const f = demo.findings.find((x) => keyOf(x) === keyOfEvent(e))!;
      expect(e.cloud.account.uid).toBe(f.resource.scope);
      expect(e.resources[0]).toMatchObject({ uid: f.resource.instanceId, name: f.resource.instance });
      expect(e.message).toBe(`${refOf(f)}: ${f.message}`);
    }
  });
});
