// Everything a view creates (sockets, timers, observers, listeners, xterm) is registered in one
// DisposableStore, so cleanup is a single call and nothing is forgotten when a cell is re-run.

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
  ): void {
    target.addEventListener(type, listener);
    this.add(toDisposable(() => target.removeEventListener(type, listener)));
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
