// Timeouts behind an interface: the stream's backoff and the Cancel button's patience are
// tested with timers that fire only when the test says so.

import { type Disposable, toDisposable } from "./disposables";

export interface Timers {
  setTimeout(fn: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

export const realTimers: Timers = {
  setTimeout: (fn, ms) => globalThis.setTimeout(fn, ms),
  clearTimeout: (handle) => globalThis.clearTimeout(handle as ReturnType<typeof setTimeout>),
};

/** Runs `fn` once after `ms` unless disposed first. */
export function timeout(timers: Timers, ms: number, fn: () => void): Disposable {
  const handle = timers.setTimeout(fn, ms);
  return toDisposable(() => timers.clearTimeout(handle));
}
