// The Runs panel's data: which runs are listed (newest first, one page at a time), the newest
// record of every run this page has heard of, how many runs are active, and which runs this Lab
// session watches for their end (notifications).
//
// How it stays live without polling the whole list every second (js/README.md, "The Runs
// panel"): only what can still change is asked for again.
//   - The active runs, whatever their age: `?status=running` and `?status=queued` (small: at most
//     the concurrency limit plus the queue). A run we knew as active that left both lists has
//     ended or was deleted; one GET of its record says which, and how it ended.
//   - The head of the list, only while the panel is shown: the newest HEAD_LIMIT runs of the
//     current filter, which brings runs created meanwhile (even those that started and ended
//     between two looks) and drops deleted ones.
//   - The streams of the runs open in tabs push their statuses at once (`update`).
// A finished run never changes again, so older pages are fetched once, when the user scrolls to
// them. A tick costs three small requests whether the server stores ten runs or a million.
// Rejected: a WebSocket per listed run (each stream carries the run's output, megabytes a second
// for a busy run, and its final status only after all of it) and a server-side feed of changes
// (the REST API has none, CONTRACT §2; this needs nothing new from the server).

import { getRun, type HttpDeps, type ListQuery, listRuns, RestError, type RunPage } from "../api";
import type { ServerConfig } from "../config";
import { type Disposable, DisposableStore, MutableDisposable, toDisposable } from "../disposables";
import { NO_EXTENSION } from "../messages";
import { isTerminalStatus, type RunRecord, type RunStatus } from "../protocol";
import { type Timers, timeout } from "../timers";

/** Runs per page the user scrolls through. */
export const PAGE_SIZE = 100;
/** Runs re-read from the top of the list at each tick while the panel is shown. */
export const HEAD_LIMIT = 50;
/** The server's largest page: enough for every active run (the queue holds 100 by default). */
export const ACTIVE_LIMIT = 1000;
/** Time between ticks. */
export const POLL_MS = 2000;
/** Runs whose end is looked up one by one in a tick, at most (more wait for the next tick). */
export const MAX_LOOKUPS_PER_TICK = 20;
/** After failed ticks the pace slows down (doubling) to this, so that a server without the
 * extension, or one that is down, is not asked every two seconds for ever. */
export const MAX_POLL_MS = 30_000;

// -- the pure part: lists of ids --------------------------------------------------------------

export interface Listing {
  /** Listed run ids, newest first, in the server's order. */
  ids: string[];
  /** Cursor of the page after the last one listed; null once everything is listed. */
  next: string | null;
}

/** The first page, or a reload: the listing starts over from it. */
export function fromPage(page: RunPage): Listing {
  return { ids: unique(page.runs.map((run) => run.id)), next: page.next };
}

/** The next (older) page, appended; a run already listed (it moved while we paged) stays put. */
export function appendPage(listing: Listing, page: RunPage): Listing {
  const known = new Set(listing.ids);
  const added = page.runs.map((run) => run.id).filter((id) => !known.has(id));
  return { ids: [...listing.ids, ...unique(added)], next: page.next };
}

/**
 * Merges a fresh first page (the newest HEAD_LIMIT runs) into the listing:
 *   - runs in the head that are new come first, in the server's order;
 *   - listed runs as new as the head's oldest known one but missing from it were deleted (or
 *     no longer match the filter) and go;
 *   - listed runs older than that stay, with the cursor to page on from them.
 * If none of the head is known and more runs follow it, more runs arrived than a head holds:
 * what lies between is unknown, so the listing starts over from the head.
 */
export function mergeHead(listing: Listing, head: RunPage): Listing {
  const headIds = unique(head.runs.map((run) => run.id));
  if (head.next === null) return { ids: headIds, next: null }; // the head is everything
  const position = new Map(listing.ids.map((id, index) => [id, index]));
  let oldestKnown = -1;
  for (const id of headIds) oldestKnown = Math.max(oldestKnown, position.get(id) ?? -1);
  // A head with a cursor is a full page: none of it known means a gap we cannot see into.
  if (oldestKnown < 0) return { ids: headIds, next: head.next };
  const inHead = new Set(headIds);
  const older = listing.ids.slice(oldestKnown + 1).filter((id) => !inHead.has(id));
  return { ids: [...headIds, ...older], next: older.length > 0 ? listing.next : head.next };
}

function unique(ids: string[]): string[] {
  return [...new Set(ids)];
}

export function isActive(run: RunRecord): boolean {
  return !isTerminalStatus(run.status);
}

/**
 * Which of two records of a run to keep. Records can arrive out of order (a poll answered after a
 * stream's push), but a run's life only goes forward: a terminal status is final, and a cancel
 * once requested stays requested.
 */
export function newer(previous: RunRecord | undefined, next: RunRecord): RunRecord {
  if (previous === undefined) return next;
  if (isTerminalStatus(previous.status) && !isTerminalStatus(next.status)) return previous;
  if (previous.status === "running" && next.status === "queued") return previous;
  if (previous.cancel_requested && !next.cancel_requested && !isTerminalStatus(next.status)) {
    return { ...next, cancel_requested: true };
  }
  return next;
}

// -- the live model ---------------------------------------------------------------------------

export interface RunsModelDeps {
  server: ServerConfig;
  http: HttpDeps;
  timers: Timers;
  pollMs?: number;
}

type Listener<T> = (value: T) => void;

class Emitter<T> {
  private readonly listeners = new Set<Listener<T>>();

  listen(listener: Listener<T>): Disposable {
    this.listeners.add(listener);
    return toDisposable(() => this.listeners.delete(listener));
  }

  emit(value: T): void {
    for (const listener of [...this.listeners]) listener(value);
  }
}

export class RunsModel implements Disposable {
  private readonly store = new DisposableStore();
  private readonly records = new Map<string, RunRecord>();
  private listing: Listing = { ids: [], next: null };
  private statusFilter: RunStatus | null = null;
  /** Bumped by every reload: answers to an older listing's requests are dropped. */
  private generation = 0;
  private listShown = false;
  private listLoaded = false;
  private loadingMore = false;
  private lastError: string | null = null;
  /** The active runs on the server, as of the last tick and every record heard since. */
  private activeIds: Set<string> | null = null;
  private readonly watched = new Set<string>();
  private readonly announced = new Set<string>();
  private readonly nextTick = new MutableDisposable();
  private ticking: Promise<void> | null = null;
  private failedTicks = 0;
  private started = false;
  private readonly changes = new Emitter<void>();
  private readonly endings = new Emitter<RunRecord>();

  constructor(private readonly deps: RunsModelDeps) {
    this.store.add(this.nextTick);
  }

  /** Something shown changed: the listing, a record, the active count, the error. */
  onChange(listener: () => void): Disposable {
    return this.changes.listen(listener);
  }

  /** A watched run ended (once per run; only an end seen happening, not an old one). */
  onRunEnded(listener: (run: RunRecord) => void): Disposable {
    return this.endings.listen(listener);
  }

  get filter(): RunStatus | null {
    return this.statusFilter;
  }

  /** The listed runs, newest first. */
  get runs(): RunRecord[] {
    const runs: RunRecord[] = [];
    for (const id of this.listing.ids) {
      const run = this.records.get(id);
      if (run !== undefined) runs.push(run);
    }
    return runs;
  }

  get(id: string): RunRecord | undefined {
    return this.records.get(id);
  }

  /** Older runs remain to be listed. */
  get hasMore(): boolean {
    return this.listing.next !== null;
  }

  /** The first page of the current filter has arrived. */
  get loaded(): boolean {
    return this.listLoaded;
  }

  get loadingOlder(): boolean {
    return this.loadingMore;
  }

  /** Why the last request failed, until one succeeds; null when all is well. */
  get error(): string | null {
    return this.lastError;
  }

  /** Queued plus running runs on the server; null until first known. */
  get activeCount(): number | null {
    return this.activeIds?.size ?? null;
  }

  /** Starts the ticks (the active count is always kept; the head only while the list shows). */
  start(): void {
    if (this.started) return;
    this.started = true;
    void this.refresh();
  }

  /** The panel is shown (or hidden): its list is loaded and its head kept fresh only then. */
  setListShown(shown: boolean): void {
    const was = this.listShown;
    this.listShown = shown;
    if (shown && !was) {
      if (this.listLoaded) void this.refresh();
      else void this.reload();
    }
  }

  setFilter(status: RunStatus | null): void {
    if (status === this.statusFilter) return;
    this.statusFilter = status;
    void this.reload();
  }

  /** Lists the first page again (the filter changed, or the user asked). */
  async reload(): Promise<void> {
    const generation = ++this.generation;
    this.listLoaded = false;
    this.listing = { ids: [], next: null };
    this.changes.emit();
    try {
      const page = await listRuns(this.deps.server, this.query(PAGE_SIZE), this.deps.http);
      if (generation !== this.generation) return;
      this.storeAll(page.runs);
      this.listing = fromPage(page);
      this.listLoaded = true;
      this.lastError = null;
    } catch (err) {
      if (generation !== this.generation) return;
      this.lastError = errorText(err);
    }
    this.changes.emit();
  }

  /** Lists the next page of older runs (scrolling down); one request at a time. */
  async loadMore(): Promise<void> {
    const before = this.listing.next;
    if (before === null || this.loadingMore || !this.listLoaded) return;
    const generation = this.generation;
    this.loadingMore = true;
    this.changes.emit();
    try {
      const page = await listRuns(
        this.deps.server,
        { ...this.query(PAGE_SIZE), before },
        this.deps.http,
      );
      if (generation === this.generation) {
        this.storeAll(page.runs);
        this.listing = appendPage(this.listing, page);
        this.lastError = null;
      }
    } catch (err) {
      if (generation === this.generation) this.lastError = errorText(err);
    } finally {
      this.loadingMore = false;
    }
    this.changes.emit();
  }

  /** One tick now (after an action of the user's), then the usual pace. */
  refresh(): Promise<void> {
    if (this.ticking === null) {
      this.nextTick.clear();
      this.ticking = this.tick().finally(() => {
        this.ticking = null;
        this.schedule();
      });
    }
    return this.ticking;
  }

  /**
   * A record from elsewhere: a stream's status, a create or cancel answer. A run created here
   * goes to the top of the list at once (if it matches the filter).
   */
  update(run: RunRecord, options: { created?: boolean } = {}): void {
    this.storeAll([run]);
    if (options.created && this.listLoaded && this.matches(run)) {
      if (!this.listing.ids.includes(run.id)) {
        this.listing = { ...this.listing, ids: [run.id, ...this.listing.ids] };
      }
    }
    if (!this.matches(this.records.get(run.id) ?? run)) this.unlist(run.id);
    this.changes.emit();
  }

  /** The run is gone from the server (deleted here, or found missing). */
  remove(id: string): void {
    this.records.delete(id);
    this.activeIds?.delete(id);
    this.watched.delete(id);
    this.unlist(id);
    this.changes.emit();
  }

  /** Announce this run's end: it was started or opened in this Lab session. */
  watch(id: string): void {
    this.watched.add(id);
  }

  dispose(): void {
    this.generation += 1;
    this.store.dispose();
  }

  private query(limit: number): ListQuery {
    return { status: this.statusFilter ?? undefined, limit };
  }

  private matches(run: RunRecord): boolean {
    return this.statusFilter === null || run.status === this.statusFilter;
  }

  private unlist(id: string): void {
    if (this.listing.ids.includes(id)) {
      this.listing = { ...this.listing, ids: this.listing.ids.filter((other) => other !== id) };
    }
  }

  private storeAll(runs: RunRecord[]): void {
    for (const run of runs) {
      const previous = this.records.get(run.id);
      const kept = newer(previous, run);
      this.records.set(run.id, kept);
      // The count follows what we hear at once (a tab's stream, a create), not a tick later.
      if (isActive(kept)) this.activeIds?.add(run.id);
      else this.activeIds?.delete(run.id);
      const ended = previous !== undefined && isActive(previous) && isTerminalStatus(kept.status);
      if (ended && this.watched.has(run.id) && !this.announced.has(run.id)) {
        this.announced.add(run.id);
        this.endings.emit(kept);
      }
    }
  }

  private schedule(): void {
    if (this.store.isDisposed) return;
    const pace = this.deps.pollMs ?? POLL_MS;
    const delay = Math.min(MAX_POLL_MS, pace * 2 ** Math.min(this.failedTicks, 10));
    this.nextTick.value = timeout(this.deps.timers, delay, () => {
      void this.refresh();
    });
  }

  private async tick(): Promise<void> {
    const { server, http } = this.deps;
    const generation = this.generation;
    try {
      const [running, queued] = await Promise.all(
        (["running", "queued"] as const).map((status) =>
          listRuns(server, { status, limit: ACTIVE_LIMIT }, http),
        ),
      );
      if (running === undefined || queued === undefined) return;
      const active = [...running.runs, ...queued.runs];
      const activeIds = new Set(active.map((run) => run.id));
      this.activeIds = new Set(activeIds);
      this.storeAll(active);

      if (this.listShown && this.listLoaded) {
        const head = await listRuns(server, this.query(HEAD_LIMIT), http);
        if (generation === this.generation) {
          this.storeAll(head.runs);
          this.listing = mergeHead(this.listing, head);
          for (const run of head.runs) activeIds.add(run.id); // as fresh as the active lists
        }
      }

      // Runs we knew as active that are active no more: ended, or deleted.
      const ended = [...this.records.values()]
        .filter((run) => isActive(run) && !activeIds.has(run.id))
        .slice(0, MAX_LOOKUPS_PER_TICK);
      for (const { id } of ended) {
        const run = await getRun(server, id, http);
        if (run === null) {
          this.records.delete(id);
          this.activeIds?.delete(id);
          this.unlist(id);
        } else {
          this.storeAll([run]);
          if (!this.matches(run)) this.unlist(id);
        }
      }
      this.lastError = null;
      this.failedTicks = 0;
    } catch (err) {
      this.lastError = errorText(err);
      this.failedTicks += 1;
    }
    if (!this.store.isDisposed) this.changes.emit();
  }
}

function errorText(err: unknown): string {
  // The runs collection exists only when the server extension is enabled.
  if (err instanceof RestError && err.status === 404) return NO_EXTENSION;
  if (err instanceof RestError) return err.message;
  return err instanceof Error ? err.message : String(err);
}
