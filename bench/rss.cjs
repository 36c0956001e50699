// Preloaded into the rdpcloud process the benchmark runs (node --require): at exit it writes that process's
// own peak RSS (getrusage maxrss, KiB) to the file RDPCLOUD_BENCH_RSS_FILE names, so the figure is rdpcloud's
// alone, not the fakes' or the benchmark's.
const { writeFileSync } = require('node:fs');
const file = process.env.RDPCLOUD_BENCH_RSS_FILE;
if (file) process.on('exit', () => writeFileSync(file, String(process.resourceUsage().maxRSS)));
