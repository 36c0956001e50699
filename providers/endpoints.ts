// Endpoint overrides of every provider accept plain http only for loopback hosts, so that a token or a
// signed request never crosses a network unencrypted.
export function isLoopbackHost(host: string): boolean {
  const h = host.replace(/^\[|\]$/g, '').toLowerCase();
  return h === 'localhost' || h === '::1' || /^127\.\d+\.\d+\.\d+$/.test(h);
}
