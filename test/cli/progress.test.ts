// Progress goes to stderr only when stderr is a terminal, so stdout stays clean for pipes.
import { describe, expect, it } from 'vitest';
import { Progress } from '../../src/cli/progress.js';

function progress(tty: boolean) {
  let err = '';
  let t = 0;
  const p = new Progress({ stderr: (s) => (err += s), stderrIsTTY: tty, now: () => new Date((t += 200)) });
  p.scopes(1, 3);
  p.request({ requests: { 'instances.aggregatedList': 2, 'firewalls.list': 1 }, retries: 1, throttled: 1 });
  p.scopes(3, 3);
  p.done();
  return err;
}

describe('progress line', () => {
  it('draws on a terminal and clears itself at the end', () => {
    const err = progress(true);
    expect(err).toContain('scopes 1/3');
    expect(err).toContain('scopes 3/3 | requests 3, retries 1, throttled 1');
    expect(err.endsWith('\r\x1b[2K')).toBe(true);
  });
  it('writes nothing when stderr is not a terminal', () => {
    expect(progress(false)).toBe('');
  });
});
