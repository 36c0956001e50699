// Typed errors carry their exit code and one line a user can act on (what was wrong, where, what to do).
// bin.ts maps them; nothing else calls process.exit.

export const EXIT = {
  clean: 0,
  findings: 1,
  usage: 2,
  incomplete: 3,
  internal: 70,
} as const;

export abstract class RdpcloudError extends Error {
  abstract readonly exitCode: number;
}

/** Bad flags or arguments. */
export class UsageError extends RdpcloudError {
  readonly exitCode = EXIT.usage;
}

/** An input file (inventory, config, policy) that cannot be used; names the file and the field. */
export class InputError extends RdpcloudError {
  readonly exitCode = EXIT.usage;
  constructor(
    readonly file: string,
    readonly problems: string[],
  ) {
    super(`${file}: ${problems.join('; ')}`);
  }
}

/** No usable credentials for a provider: says how to provide them. */
export class AuthError extends RdpcloudError {
  readonly exitCode = EXIT.usage;
  constructor(
    readonly provider: string,
    message: string,
  ) {
    super(`${provider}: ${message}`);
  }
}

/** One project/account/subscription failed; the run goes on with the others. */
export class ScopeError extends RdpcloudError {
  readonly exitCode = EXIT.incomplete;
  constructor(
    readonly provider: string,
    readonly scope: string,
    message: string,
    readonly retryable = false,
  ) {
    super(message);
  }
}
