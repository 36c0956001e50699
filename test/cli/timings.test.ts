// RDPCLOUD_TIMINGS=1 tells where an audit spends (README "Environment"): one stderr line per phase, stdout
// untouched; unset, stderr says nothing of it.
import { describe, expect, it } from 'vitest';
import { awsEnv, rdpcloud } from './helpers.js';
import { startFakeAws } from '../fakes/aws/server.js';
import { awsDemoWorld } from '../demo/aws-world.js';

const DEMO = 'examples/demo-inventory.json';

describe('RDPCLOUD_TIMINGS', () => {
  it('prints one line per phase on stderr and leaves stdout as it was', async () => {
    const plain = await rdpcloud(['audit', '--from', DEMO, '--format', 'json'], {});
    const timed = await rdpcloud(['audit', '--from', DEMO, '--format', 'json'], { RDPCLOUD_TIMINGS: '1' });
    expect(timed.code).toBe(plain.code);
    expect(timed.stdout).toBe(plain.stdout);
    const lines = timed.stderr.split('\n').filter((l) => l.startsWith('timing: '));
    expect(lines.map((l) => l.split(' ')[1])).toEqual(['start', 'setup', 'read', 'engine', 'policies', 'report']);
    for (const l of lines) expect(l).toMatch(/^timing: \w+ \d+\.\d{3} s \(rss \d+ MiB, heap \d+ MiB\)$/);
    expect(plain.stderr).not.toContain('timing:');
  });

  it('a live audit also says when each cloud had read all its scopes (the long pole)', async () => {
    const fake = await startFakeAws(awsDemoWorld());
    try {
      const r = await rdpcloud(['audit', '--provider', 'aws', '--all-accounts', '--role-name', 'rdpcloud-audit', '--format', 'json'], { ...awsEnv(fake.port), RDPCLOUD_TIMINGS: '1' });
      const lines = r.stderr.split('\n').filter((l) => l.startsWith('timing: '));
      expect(lines.map((l) => l.split(' ')[1])).toEqual(['start', 'setup', 'aws', 'collect', 'engine', 'policies', 'report']);
      expect(lines[2]).toMatch(/^timing: aws collected at \d+\.\d{3} s \(3 scopes\)$/);
    } finally {
      await fake.close();
    }
  });
});
