// Reconnect delays: exponential (0.5 s doubling, capped at 10 s) with jitter, so that many
// widgets dropped together by a server restart do not all come back in the same instant.

export interface BackoffOptions {
  initialMs?: number;
  maxMs?: number;
  /** Returns a number in [0, 1); injectable so tests are deterministic. */
  random?: () => number;
}

export class Backoff {
  private readonly initialMs: number;
  private readonly maxMs: number;
  private readonly random: () => number;
  private failures = 0;

  constructor(options: BackoffOptions = {}) {
    this.initialMs = options.initialMs ?? 500;
    this.maxMs = options.maxMs ?? 10_000;
    this.random = options.random ?? Math.random;
  }

  /** The delay before the next attempt; each call counts one more failure. "Equal jitter":
   * between half and all of the exponential step, so delays still grow but never collide. */
  next(): number {
    const step = Math.min(this.maxMs, this.initialMs * 2 ** Math.min(this.failures, 30));
    this.failures += 1;
    return Math.round(step / 2 + (step / 2) * this.random());
  }

  /** After a successful open the next drop starts again from the shortest delay. */
  reset(): void {
    this.failures = 0;
  }
}
