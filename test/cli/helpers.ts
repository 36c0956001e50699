// Runs the real CLI entry (run(argv, io)) in-process and captures what it writes.
import { run, type Io } from '../../src/cli/run.js';

export interface Ran {
  code: number;
  stdout: string;
  stderr: string;
}

export async function rdpcloud(argv: string[], env: Record<string, string | undefined> = {}, overrides: Partial<Io> = {}): Promise<Ran> {
  let stdout = '';
  let stderr = '';
  const io: Io = {
    stdout: (s) => {
      stdout += typeof s === 'string' ? s : s.toString('utf8');
    },
    stderr: (s) => {
      stderr += s;
    },
    // Never the developer's real credentials: only what the test passes (no gcloud folder, no metadata server).
    env: { METADATA_SERVER_DETECTION: 'none', RDPCLOUD_PROBE_LOOPBACK_ONLY: '1', RDPCLOUD_RETRY_BASE_MS: '5', CLOUDSDK_CONFIG: '/nonexistent/rdpcloud-test-no-gcloud', ...env },
    stdoutIsTTY: false,
    stderrIsTTY: false,
    now: () => new Date('2026-11-25T12:00:00Z'),
    ...overrides,
  };
  const code = await run(argv, io);
  return { code, stdout, stderr };
}

export function gcpEnv(port: number, token = 'test-token'): Record<string, string> {
  return {
    GOOGLE_OAUTH_ACCESS_TOKEN: token,
    RDPCLOUD_GCP_ENDPOINT: `http://127.0.0.1:${port}`,
    RDPCLOUD_GCP_RESOURCE_MANAGER_ENDPOINT: `http://127.0.0.1:${port}`,
  };
}

/** Explicit keys for the fake AWS (never the developer's), its endpoint, no metadata probing. */
export function awsEnv(port: number, key = 'AKIADEMOPROD0000001'): Record<string, string> {
  return {
    AWS_ACCESS_KEY_ID: key,
    AWS_SECRET_ACCESS_KEY: 'demo-secret-not-real',
    AWS_REGION: 'eu-west-1',
    AWS_ENDPOINT_URL: `http://127.0.0.1:${port}`,
    AWS_EC2_METADATA_DISABLED: 'true',
  };
}

/** A static ARM token and the fake's address (no DefaultAzureCredential in tests). */
export function azureEnv(port: number, token = 'demo-arm-token-not-a-secret'): Record<string, string> {
  return { RDPCLOUD_AZURE_TOKEN: token, RDPCLOUD_AZURE_ENDPOINT: `http://127.0.0.1:${port}` };
}
