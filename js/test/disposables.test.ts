import { describe, expect, it, vi } from "vitest";
import {
  type Disposable,
  DisposableStore,
  MutableDisposable,
  toDisposable,
} from "../src/disposables";

/** A disposable that writes its name to `log` each time it is disposed. */
function named(name: string, log: string[]): Disposable {
  return { dispose: () => log.push(name) };
}

describe("toDisposable", () => {
  it("runs its function once, however often it is disposed", () => {
    const fn = vi.fn();
    const item = toDisposable(fn);
    item.dispose();
    item.dispose();
    expect(fn).toHaveBeenCalledTimes(1);
  });
});

describe("DisposableStore", () => {
  it("disposes in reverse order of registration, once", () => {
    const log: string[] = [];
    const store = new DisposableStore();
    store.add(named("socket", log));
    store.add(named("timer", log));
    store.add(named("listener", log));
    store.dispose();
    store.dispose();
    expect(log).toEqual(["listener", "timer", "socket"]);
    expect(store.isDisposed).toBe(true);
  });

  it("disposes at once what is added after it was disposed", () => {
    const log: string[] = [];
    const store = new DisposableStore();
    store.dispose();
    const item = store.add(named("late", log));
    expect(log).toEqual(["late"]);
    store.dispose();
    expect(log).toEqual(["late"]);
    expect(item).toBeDefined();
  });

  it("keeps going when one item throws, and reports the error", () => {
    const error = vi.spyOn(console, "error").mockImplementation(() => undefined);
    const log: string[] = [];
    const store = new DisposableStore();
    store.add(named("first", log));
    store.add(
      toDisposable(() => {
        throw new Error("broken");
      }),
    );
    store.add(named("last", log));
    store.dispose();
    expect(log).toEqual(["last", "first"]);
    expect(error).toHaveBeenCalledTimes(1);
    error.mockRestore();
  });

  it("removes the listeners it added", () => {
    const target = new EventTarget() as unknown as HTMLElement;
    const seen: string[] = [];
    const store = new DisposableStore();
    store.listen(target, "click", () => seen.push("click"));
    target.dispatchEvent(new Event("click"));
    store.dispose();
    target.dispatchEvent(new Event("click"));
    expect(seen).toEqual(["click"]);
  });
});

describe("MutableDisposable", () => {
  it("disposes the value it held when a new one replaces it", () => {
    const log: string[] = [];
    const holder = new MutableDisposable();
    const first = named("first", log);
    const second = named("second", log);
    holder.value = first;
    expect(log).toEqual([]);
    holder.value = second;
    expect(log).toEqual(["first"]);
    expect(holder.value).toBe(second);
  });

  it("does not dispose a value set again in its own place", () => {
    const log: string[] = [];
    const holder = new MutableDisposable();
    const item = named("item", log);
    holder.value = item;
    holder.value = item;
    expect(log).toEqual([]);
  });

  it("already holds the new value while the old one is disposed", () => {
    const holder = new MutableDisposable();
    const next = named("next", []);
    let seenDuringDispose: Disposable | undefined;
    holder.value = { dispose: () => (seenDuringDispose = holder.value) };
    holder.value = next;
    expect(seenDuringDispose).toBe(next);
  });

  it("clear() disposes the value and leaves it empty", () => {
    const log: string[] = [];
    const holder = new MutableDisposable();
    holder.value = named("item", log);
    holder.clear();
    holder.clear();
    expect(log).toEqual(["item"]);
    expect(holder.value).toBeUndefined();
  });

  it("dispose() disposes the value once; anything set afterwards is disposed at once", () => {
    const log: string[] = [];
    const holder = new MutableDisposable();
    holder.value = named("held", log);
    holder.dispose();
    holder.dispose();
    expect(log).toEqual(["held"]);
    expect(holder.isDisposed).toBe(true);
    holder.value = named("late", log);
    expect(log).toEqual(["held", "late"]);
    expect(holder.value).toBeUndefined();
  });

  it("in a store, goes with the store like any other item", () => {
    const log: string[] = [];
    const store = new DisposableStore();
    const holder = store.add(new MutableDisposable());
    holder.value = named("current", log);
    store.dispose();
    expect(log).toEqual(["current"]);
  });
});
