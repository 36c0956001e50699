// What every fake cloud shares: it listens on 127.0.0.1 only, on a port the OS picks, counts attempts of the
// same request (for fault injection on the first try and not the retry), and closes with its connections.
import type http from 'node:http';
import type { AddressInfo } from 'node:net';

export const LOOPBACK = '127.0.0.1' as const;

/** Starts `server` on 127.0.0.1 and a free port; resolves with the port and a close that drops keep-alives. */
export async function listenOnLoopback(server: http.Server): Promise<{ port: number; close(): Promise<void> }> {
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, LOOPBACK, () => {
      server.off('error', reject);
      resolve();
    });
  });
  return {
    port: (server.address() as AddressInfo).port,
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.close((err) => (err ? reject(err) : resolve()));
        server.closeAllConnections();
      }),
  };
}

/** 1 the first time a key (method + URL, or + body) is seen, 2 the next time, ... */
export function attemptCounter(): (key: string) => number {
  const seen = new Map<string, number>();
  return (key) => {
    const n = (seen.get(key) ?? 0) + 1;
    seen.set(key, n);
    return n;
  };
}
