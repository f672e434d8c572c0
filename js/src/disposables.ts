// Everything a view creates (sockets, timers, observers, listeners, xterm) is registered in one
// DisposableStore, so cleanup is a single call and nothing is forgotten when a cell is re-run.
// What gets replaced during a view's life (the session when run_id changes, the socket on each
// reconnect, a pending timer) lives in a MutableDisposable, so a replacement can never leak the
// thing it replaced.

export interface Disposable {
  dispose(): void;
}

export function toDisposable(fn: () => void): Disposable {
  let done = false;
  return {
    dispose() {
      if (done) return;
      done = true;
      fn();
    },
  };
}

export class DisposableStore implements Disposable {
  private readonly items: Disposable[] = [];
  private disposed = false;

  get isDisposed(): boolean {
    return this.disposed;
  }

  /** Registers `item`; if the store is already disposed, disposes it at once (no leaks). */
  add<T extends Disposable>(item: T): T {
    if (this.disposed) {
      item.dispose();
    } else {
      this.items.push(item);
    }
    return item;
  }

  /** addEventListener that is undone when the store is disposed. */
  listen<K extends keyof HTMLElementEventMap>(
    target: HTMLElement,
    type: K,
    listener: (event: HTMLElementEventMap[K]) => void,
    options?: AddEventListenerOptions,
  ): void {
    target.addEventListener(type, listener, options);
    this.add(toDisposable(() => target.removeEventListener(type, listener, options)));
  }

  /** Disposes in reverse order of registration, like nested scopes; one failure stops none. */
  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    const errors: unknown[] = [];
    while (this.items.length > 0) {
      const item = this.items.pop();
      try {
        item?.dispose();
      } catch (err) {
        errors.push(err);
      }
    }
    if (errors.length > 0) {
      console.error("nebula: errors while disposing", errors);
    }
  }
}

/**
 * Holds at most one disposable that may be replaced. Setting a new value, `clear()` and
 * `dispose()` dispose the value held before; after `dispose()` any value set is disposed at
 * once, so a callback that fires late cannot bring a socket or timer back to life.
 */
export class MutableDisposable<T extends Disposable> implements Disposable {
  private current: T | undefined;
  private disposed = false;

  get value(): T | undefined {
    return this.current;
  }

  set value(next: T | undefined) {
    if (this.disposed) {
      next?.dispose();
      return;
    }
    if (next === this.current) return;
    const previous = this.current;
    // Stored before the old one goes: code that runs while it is disposed sees the new value.
    this.current = next;
    previous?.dispose();
  }

  get isDisposed(): boolean {
    return this.disposed;
  }

  clear(): void {
    this.value = undefined;
  }

  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    const previous = this.current;
    this.current = undefined;
    previous?.dispose();
  }
}
