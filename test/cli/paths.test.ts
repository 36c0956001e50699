// Files named on the command line are relative to the working directory the run was given (io.cwd: the
// shell's for the CLI, the caller's when rdpcloud is used as a library), never to the process's own, and a
// file that cannot be written is one line and exit 2, not a stack trace.
import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { firewall, instance, network } from '../fakes/gce/fixtures.js';
import { startFakeGce, type FakeGce } from '../fakes/gce/server.js';
import { gcpEnv, rdpcloud } from './helpers.js';
import type { Inventory } from '../../src/model/inventory.js';

describe('paths on the command line', () => {
  let fake: FakeGce;
  let dir: string;
  beforeAll(async () => {
    fake = await startFakeGce({
      projects: {
        'acme-paths': {
          instances: [instance({ project: 'acme-paths', zone: 'europe-west4-a', name: 'win-paths-1', natIP: '34.90.0.10', windows: true })],
          firewalls: [firewall({ project: 'acme-paths', name: 'default-allow-rdp', sourceRanges: ['0.0.0.0/0'], allowed: [{ IPProtocol: 'tcp', ports: ['3389'] }] })],
          networks: [network('acme-paths')],
        },
      },
    });
    dir = await mkdtemp(join(tmpdir(), 'rdpcloud-paths-'));
    expect(process.cwd()).not.toBe(dir);
  });
  afterAll(() => fake.close());

  it('snapshot --output writes below the run\'s working directory, making the folder; audit and explain --from read it there', async () => {
    const s = await rdpcloud(['snapshot', '--project', 'acme-paths', '--output', 'saved/inv.json'], gcpEnv(fake.port), { cwd: dir });
    expect(s.code, s.stderr).toBe(0);
    expect(s.stderr).toMatch(/^wrote saved\/inv\.json: 1 instances/);
    const inv = JSON.parse(await readFile(join(dir, 'saved/inv.json'), 'utf8')) as Inventory;
    expect(inv.instances.map((i) => i.name)).toEqual(['win-paths-1']);
    const a = await rdpcloud(['audit', '--from', 'saved/inv.json', '--format', 'json'], {}, { cwd: dir });
    expect(a.code, a.stderr).toBe(1); // default-allow-rdp from 0.0.0.0/0: a high finding
    const e = await rdpcloud(['explain', 'win-paths-1', '--from', 'saved/inv.json'], {}, { cwd: dir });
    expect(e.code, e.stderr).toBe(0);
    expect(e.stdout).toMatch(/default-allow-rdp/);
  });

  it('snapshot --output below a plain file: one line naming the file, exit 2', async () => {
    await writeFile(join(dir, 'plain'), 'x');
    const s = await rdpcloud(['snapshot', '--project', 'acme-paths', '--output', 'plain/inv.json'], gcpEnv(fake.port), { cwd: dir });
    expect(s.code).toBe(2);
    expect(s.stderr.trim().split('\n')).toEqual([expect.stringMatching(/^error: plain\/inv\.json: (a parent is not a directory|cannot be written \(\w+\)); name another file with --output$/)]);
  });
});
