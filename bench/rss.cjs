// Preloaded into the rdpcloud process the benchmark runs (node --require): at exit it writes that process's
// own peak RSS (getrusage maxrss, KiB) and its CPU time (user and system, microseconds) to the file
// RDPCLOUD_BENCH_RSS_FILE names, so the figures are rdpcloud's alone, not the fakes' or the benchmark's.
const { writeFileSync } = require('node:fs');
const file = process.env.RDPCLOUD_BENCH_RSS_FILE;
if (file) process.on('exit', () => {
    const u = process.resourceUsage();
    writeFileSync(file, `${u.maxRSS} ${u.userCPUTime} ${u.systemCPUTime}`);
  });
