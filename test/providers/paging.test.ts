// Listings ask for their next page as soon as the current one names it, before the caller has mapped the
// current one (providers/http.ts `ahead`, used by GcpRest, ArmRest and AwsReader): in a long listing the pages
// are a chain of round trips, and mapping time would otherwise be added to every link. Checked by the order of
// events on a loopback server, not by timing: the request for page 2 arrives while page 1 is still being
// mapped. An abandoned listing leaves no unhandled rejection behind.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { GcpRest } from '../../providers/gcp/client.js';
import { ArmRest } from '../../providers/azure/client.js';
import { newStats, type ProviderContext } from '../../providers/types.js';

const events: string[] = [];
let server: Server;
let port: number;
let failSecond = false;

beforeAll(async () => {
  server = createServer((req, res) => {
    const url = new URL(req.url!, 'http://x');
    const page = Number(url.searchParams.get('pageToken') ?? url.searchParams.get('page') ?? 1);
    events.push(`server: page ${page} asked`);
    if (failSecond && page === 2) {
      res.writeHead(403, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ error: { code: 403, message: 'denied', errors: [{ reason: 'forbidden' }] } }));
      return;
    }
    const next = page < 3 ? page + 1 : undefined;
    res.writeHead(200, { 'content-type': 'application/json' });
    if (url.pathname.startsWith('/subscriptions')) res.end(JSON.stringify({ value: [{ page }], ...(next ? { nextLink: `http://127.0.0.1:${port}/subscriptions/s/x?page=${next}` } : {}) }));
    else res.end(JSON.stringify({ items: [{ page }], ...(next ? { nextPageToken: String(next) } : {}) }));
  });
  await new Promise<void>((ok) => server.listen(0, '127.0.0.1', ok));
  port = (server.address() as AddressInfo).port;
});
afterAll(() => new Promise<void>((ok) => server.close(() => ok())));

const ctx = (): ProviderContext => ({ env: {}, warn: () => {}, stats: newStats(), retry: { attempts: 2, baseMs: 1, maxMs: 2 } });
const gcp = () => new GcpRest(ctx(), async () => ({ authorization: 'Bearer t' }), { compute: { apiEndpoint: '127.0.0.1', port, protocol: 'http' } });
const arm = () => new ArmRest(ctx(), { getToken: async () => ({ token: 't', expiresOnTimestamp: Date.now() + 3600_000 }) }, 'public', new URL(`http://127.0.0.1:${port}`));

/** Maps each page slowly, and notes when it starts and ends doing so. */
async function consume(pages: AsyncIterable<unknown>): Promise<void> {
  let n = 0;
  for await (const _ of pages) {
    n++;
    events.push(`caller: mapping page ${n}`);
    // Long enough for the prefetched request to reach the server (it was sent before this page was handed over).
    await new Promise((r) => setTimeout(r, 150));
    events.push(`caller: page ${n} mapped`);
  }
}

describe('the next page is asked for before this one is mapped', () => {
  it.each([
    ['GCP (pageToken)', () => gcp().pages('instances.list', 'compute', '/compute/v1/projects/p/zones/z/instances', {})],
    ['ARM (nextLink)', () => arm().pages('/subscriptions/s/x?page=1')],
  ] as const)('%s', async (_label, pages) => {
    events.length = 0;
    failSecond = false;
    await consume(pages());
    expect(events).toEqual([
      'server: page 1 asked',
      'caller: mapping page 1',
      'server: page 2 asked',
      'caller: page 1 mapped',
      'caller: mapping page 2',
      'server: page 3 asked',
      'caller: page 2 mapped',
      'caller: mapping page 3',
      'caller: page 3 mapped',
    ]);
  });

  it('a page that fails is reported where the listing reaches it, after the pages before it', async () => {
    failSecond = true;
    const seen: unknown[] = [];
    const err = await (async () => {
      for await (const page of gcp().pages('instances.list', 'compute', '/compute/v1/projects/p/zones/z/instances', {})) seen.push(page.items[0].page);
    })().catch((e) => e);
    expect(seen).toEqual([1]);
    expect(err?.status).toBe(403);
  });

  it('a listing abandoned with its next page in flight leaves no unhandled rejection', async () => {
    failSecond = true;
    const unhandled: unknown[] = [];
    const onUnhandled = (e: unknown) => unhandled.push(e);
    process.on('unhandledRejection', onUnhandled);
    try {
      for await (const _ of gcp().pages('instances.list', 'compute', '/compute/v1/projects/p/zones/z/instances', {})) break; // page 2 (a 403) is already asked for
      await new Promise((r) => setTimeout(r, 200));
      expect(unhandled).toEqual([]);
    } finally {
      process.off('unhandledRejection', onUnhandled);
    }
  });
});
