// The organisation benchmark's claims, checked on a small org without timing anything (bench/org.ts): the real
// CLI (in-process) against the three fakes, zero latency. The requests the fakes answered, by operation, equal
// the minimum computed from the world (ceil(items / largest page) per scope and listing; per-scope and
// per-network calls once); nothing is asked per instance; and with 15% of requests throttled or failing with
// 5xx (every attempt drawn anew) every scope completes with exactly the results of the fault-free run.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AUDIT_OPERATIONS, buildOrg, countRequests, lowerBound, minimumRequests, startOrgFakes, type Org, type OrgFakes } from '../../bench/org.js';
import { rdpcloud } from '../cli/helpers.js';
import type { Report } from '../../src/model/results.js';

// 8 projects (2 Shared VPC hosts, a project over two pages of instances), 3 accounts x 4 regions (a region with
// over 1,000 instances: two DescribeInstances pages, and SSM pages of 50), 3 subscriptions (one with 60+ VMs:
// two pages of 50).
const SPEC = { instances: 7_000, gcpProjects: 8, gcpHosts: 2, awsAccounts: 3, awsRegions: 4, azureSubscriptions: 3, seed: 7 };

let org: Org;
let clean: { report: Report; requests: Record<string, number>; retries: Record<string, number> };

async function audit(fakes: OrgFakes): Promise<{ report: Report; code: number; stderr: string }> {
  const r = await rdpcloud(['audit', ...org.flags, '--format', 'json'], fakes.env);
  return { report: JSON.parse(r.stdout) as Report, code: r.code, stderr: r.stderr };
}

const byProvider = (rep: Report) => rep.instances.reduce<Record<string, number>>((m, i) => ({ ...m, [i.provider]: (m[i.provider] ?? 0) + 1 }), {});

beforeAll(async () => {
  org = buildOrg(SPEC);
  const fakes = await startOrgFakes(org, { latencyMs: 0, faultRate: 0, rateLimits: false });
  try {
    const { report, code, stderr } = await audit(fakes);
    expect(code, stderr).toBe(1); // findings, no failed scope
    clean = { report, ...countRequests(fakes) };
  } finally {
    await fakes.close();
  }
}, 120_000);

describe('organisation benchmark, small org (not timed)', () => {
  it('the world has what the minimum assumes: several pages where the caps say so', () => {
    const min = minimumRequests(org);
    const gcp = org.scopes.filter((s) => s.provider === 'gcp');
    expect(gcp.some((s) => s.requests['gcp instances.aggregatedList']! >= 2)).toBe(true);
    expect(org.scopes.some((s) => s.requests['aws ec2.DescribeInstances']! > SPEC.awsRegions)).toBe(true);
    expect(org.scopes.some((s) => s.requests['azure compute.virtualMachines.listAll']! >= 2)).toBe(true);
    expect(min['gcp networks.getEffectiveFirewalls']).toBeGreaterThan(0);
    expect(lowerBound(org, { gcp: 8, aws: 8, azure: 8 }).roundTrips).toBeGreaterThan(1);
  });

  it('every scope completes and every instance is reported', () => {
    expect(clean.report.scopes).toHaveLength(org.scopes.length);
    expect(clean.report.scopes.every((s) => s.status === 'ok')).toBe(true);
    const expected: Record<string, number> = {};
    for (const s of org.scopes) expected[s.provider] = (expected[s.provider] ?? 0) + s.instances;
    expect(byProvider(clean.report)).toEqual(expected);
  });

  it('requests by operation equal the computed minimum exactly, with no retry and nothing per instance', () => {
    expect(clean.requests).toEqual(minimumRequests(org));
    expect(clean.retries).toEqual({});
    expect(Object.keys(clean.requests).filter((op) => !AUDIT_OPERATIONS.has(op))).toEqual([]);
  });

  it('with 15% of requests throttled or failing with 5xx, and tight per-scope rate limits, every scope completes with the same results', async () => {
    for (const seed of [1]) {
      // Buckets far below the clouds' (which this small org never reaches): the limits answer too.
      const tight = { gce: { size: 3, perSecond: 40 }, ec2: { size: 3, perSecond: 40 }, ssm: { size: 3, perSecond: 40 }, arm: { size: 30, perSecond: 40 } };
      const fakes = await startOrgFakes(org, { latencyMs: 0, faultRate: 0.15, seed, rateLimits: tight });
      try {
        const { report, code, stderr } = await audit(fakes);
        const { requests, retries } = countRequests(fakes);
        expect(code, stderr).toBe(1);
        expect(report.scopes.filter((s) => s.status !== 'ok')).toEqual([]);
        expect(report.results).toEqual(clean.report.results);
        expect(report.instances).toEqual(clean.report.instances);
        // Retries are counted apart: the answered requests are still the minimum.
        expect(requests).toEqual(minimumRequests(org));
        const injected = fakes.injected.gcp + fakes.injected.aws + fakes.injected.azure;
        expect(injected).toBeGreaterThan(0);
        expect(fakes.injected.rateLimited).toBeGreaterThan(0); // GCE 403 rateLimitExceeded, EC2 RequestLimitExceeded, SSM ThrottlingException
        // Every other answer was a retry: the injected faults, the buckets' answers (ARM's own bucket answers 429 too).
        const armBucket = fakes.arm.requests.filter((q) => q.status === 429).length;
        expect(Object.values(retries).reduce((a, b) => a + b, 0)).toBeGreaterThanOrEqual(injected + fakes.injected.rateLimited);
        expect(Object.values(retries).reduce((a, b) => a + b, 0)).toBeLessThanOrEqual(injected + fakes.injected.rateLimited + armBucket);
      } finally {
        await fakes.close();
      }
    }
  }, 120_000);
});
