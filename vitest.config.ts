import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts', 'policies/**/*.test.ts'],
    testTimeout: 30_000,
    hookTimeout: 60_000,
    env: {
      // The SDKs' default credential chains probe 169.254.169.254 when they find no credential: never in tests.
      AWS_EC2_METADATA_DISABLED: 'true',
      METADATA_SERVER_DETECTION: 'none',
      NO_COLOR: '1',
      // rdpcloud probe (and diagnose/explain with a probe) may only touch loopback listeners in tests.
      RDPCLOUD_PROBE_LOOPBACK_ONLY: '1',
    },
  },
});
