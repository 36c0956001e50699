// `npm run bench`: every benchmark section, one table, the same as JSON (bench/results/latest.json and
// --json FILE) so runs can be compared. Sections: bench/engine.ts (the engine alone), bench/ec2-shapes.ts
// (whole process against a zero-latency EC2), bench/org.ts (an organisation on GCP, AWS and Azure with latency,
// paging and rate limits). `npm run bench -- --only engine` runs one; `--quick` runs the small sizes only.
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus, totalmem } from 'node:os';
import { join } from 'node:path';
import { fmt, ROOT, type Section } from './harness.js';

const args = process.argv.slice(2);
const flag = (name: string) => {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : undefined;
};
const only = flag('--only')?.split(',');
const quick = args.includes('--quick');

const SECTIONS: Record<string, () => Promise<{ run(o: { quick: boolean; args: string[] }): Promise<Section> }>> = {
  engine: () => import('./engine.js'),
  'ec2-shapes': () => import('./ec2-shapes.js'),
  org: () => import('./org.js'),
};

const machine = { cpu: cpus()[0]?.model ?? 'unknown', cores: cpus().length, memoryGiB: Math.round(totalmem() / 2 ** 30), node: process.version, platform: `${process.platform} ${process.arch}` };
console.log(`rdpcloud benchmark on ${machine.cpu}, ${machine.cores} cores, ${machine.memoryGiB} GiB, Node ${machine.node}\n`);

const sections: Section[] = [];
let failed = 0;
for (const [name, load] of Object.entries(SECTIONS)) {
  if (only && !only.includes(name)) continue;
  const s = await (await load()).run({ quick, args });
  sections.push(s);
  console.log(s.title);
  const w = Math.max(...s.rows.map((r) => r.name.length), 10);
  for (const r of s.rows) {
    const verdict = r.ok === undefined ? '' : r.ok ? 'ok' : 'MISSED';
    if (r.ok === false) failed++;
    const target = r.target !== undefined ? `<= ${fmt(r.target, (r.unit === 's' || r.unit === 'ms' ? 2 : 0))} ${r.unit}${r.targetNote ? ` (${r.targetNote})` : ''}` : '';
    console.log(`  ${r.name.padEnd(w)}  ${`${fmt(r.measured, (r.unit === 's' || r.unit === 'ms' ? 2 : 0))} ${r.unit}`.padStart(14)}  ${target.padEnd(44)} ${verdict}${r.detail ? `  ${r.detail}` : ''}`);
  }
  console.log('');
}
const out = { generatedAt: new Date().toISOString(), machine, sections };
mkdirSync(join(ROOT, 'bench', 'results'), { recursive: true });
writeFileSync(join(ROOT, 'bench', 'results', 'latest.json'), JSON.stringify(out, null, 2) + '\n');
const json = flag('--json');
if (json) writeFileSync(json, JSON.stringify(out, null, 2) + '\n');
console.log(failed ? `${failed} target(s) missed` : 'every target met');
process.exitCode = failed ? 1 : 0;
