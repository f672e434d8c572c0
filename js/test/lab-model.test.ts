// The Runs panel's model: merging pages and heads (pure), and the live model against an
// in-memory server that answers the REST list the way CONTRACT §2 says.

import { describe, expect, it } from "vitest";
import type { HttpDeps, RunPage } from "../src/api";
import type { ServerConfig } from "../src/config";
import {
  appendPage,
  fromPage,
  HEAD_LIMIT,
  mergeHead,
  newer,
  PAGE_SIZE,
  RunsModel,
} from "../src/lab/model";
import { parseRunRecord, type RunRecord } from "../src/protocol";
import { ManualTimers, runRecord } from "./fakes";

const record = (id: string, overrides: Record<string, unknown> = {}): RunRecord =>
  parseRunRecord(runRecord({ id, name: null, ...overrides }));

const page = (ids: string[], next: string | null = null): RunPage => ({
  runs: ids.map((id) => record(id)),
  next,
});

const ids = (prefix: string, count: number, from = 0) =>
  Array.from({ length: count }, (_, i) => `${prefix}${from + i}`);

describe("listing pages (pure)", () => {
  it("appending a page keeps the order and skips runs already listed", () => {
    const listing = fromPage(page(["c", "b"], "cur1"));
    expect(appendPage(listing, page(["b", "a"], null))).toEqual({
      ids: ["c", "b", "a"],
      next: null,
    });
  });

  it("a head brings new runs to the top and keeps the older pages and their cursor", () => {
    const listing = { ids: ["e", "d", "c", "b", "a"], next: "cur-a" };
    expect(mergeHead(listing, page(["g", "f", "e", "d"], "cur-d"))).toEqual({
      ids: ["g", "f", "e", "d", "c", "b", "a"],
      next: "cur-a",
    });
  });

  it("a listed run missing from the head's span was deleted; older ones stay", () => {
    const listing = { ids: ["e", "d", "c", "b", "a"], next: "cur-a" };
    expect(mergeHead(listing, page(["f", "e", "c"], "cur-c"))).toEqual({
      ids: ["f", "e", "c", "b", "a"],
      next: "cur-a",
    });
  });

  it("a head that is the whole list replaces it", () => {
    const listing = { ids: ["c", "b", "a"], next: null };
    expect(mergeHead(listing, page(["d", "b"], null))).toEqual({ ids: ["d", "b"], next: null });
  });

  it("a full head with nothing known (a gap we cannot see into) starts the listing over", () => {
    const listing = { ids: ["b", "a"], next: "cur-a" };
    const head = page(ids("n", HEAD_LIMIT), "cur-n");
    expect(mergeHead(listing, head)).toEqual({ ids: ids("n", HEAD_LIMIT), next: "cur-n" });
  });

  it("all listed runs inside the head: the head's cursor continues the listing", () => {
    const listing = { ids: ["b", "a"], next: "cur-a" };
    expect(mergeHead(listing, page(["c", "b", "a"], "cur-a2"))).toEqual({
      ids: ["c", "b", "a"],
      next: "cur-a2",
    });
  });
});

describe("which record of a run wins", () => {
  it("a terminal status is final, whatever arrives later", () => {
    const done = record("r", { status: "succeeded" });
    expect(newer(done, record("r", { status: "running" }))).toBe(done);
  });

  it("running never goes back to queued, and a cancel request stays", () => {
    const running = record("r", { status: "running", cancel_requested: true });
    expect(newer(running, record("r", { status: "queued" }))).toBe(running);
    expect(newer(running, record("r", { status: "running" })).cancel_requested).toBe(true);
  });

  it("anything newer otherwise", () => {
    const next = record("r", { status: "failed", exit_code: 3 });
    expect(newer(record("r"), next)).toBe(next);
  });
});

/** The REST list of CONTRACT §2 over an in-memory store, newest first, cursors opaque. */
class FakeServer {
  /** Newest first. */
  runs: RunRecord[] = [];
  readonly requests: string[] = [];
  failNext = 0;

  readonly http: HttpDeps = {
    fetch: async (input, init) => {
      const url = new URL(String(input));
      this.requests.push(`${init?.method ?? "GET"} ${url.pathname}${url.search}`);
      if (this.failNext > 0) {
        this.failNext -= 1;
        return json(500, { message: "database is locked" });
      }
      const match = /\/api\/nebula\/runs(?:\/([^/]+))?$/.exec(url.pathname);
      if (match === null) return json(404, { message: "Not found" });
      if (match[1] !== undefined) {
        const run = this.runs.find((r) => r.id === decodeURIComponent(match[1] ?? ""));
        return run === undefined ? json(404, { message: "No such run." }) : json(200, run);
      }
      const status = url.searchParams.get("status");
      const limit = Number(url.searchParams.get("limit") ?? "100");
      const before = url.searchParams.get("before");
      let matching = this.runs.filter((r) => status === null || r.status === status);
      if (before !== null) {
        const at = matching.findIndex((r) => `cursor:${r.id}` === before);
        matching = matching.slice(at + 1);
      }
      const runs = matching.slice(0, limit);
      const last = runs[runs.length - 1];
      const next = matching.length > limit && last !== undefined ? `cursor:${last.id}` : null;
      return json(200, { runs, next });
    },
    cookie: () => "",
  };

  create(id: string, overrides: Record<string, unknown> = {}): RunRecord {
    const run = record(id, overrides);
    this.runs.unshift(run);
    return run;
  }

  set(id: string, overrides: Record<string, unknown>): void {
    this.runs = this.runs.map((r) => (r.id === id ? record(id, { ...r, ...overrides }) : r));
  }

  delete(id: string): void {
    this.runs = this.runs.filter((r) => r.id !== id);
  }

  count(prefix: string): number {
    return this.requests.filter((request) => request.startsWith(prefix)).length;
  }
}

function json(status: number, body: unknown): Response {
  return new Response(JSON.stringify(body), {
    status,
    headers: { "Content-Type": "application/json" },
  });
}

const SERVER: ServerConfig = { kind: "server", baseUrl: "http://localhost:8888/x%40y/", token: "" };

function setup(stored = 0) {
  const server = new FakeServer();
  for (let i = 0; i < stored; i++) server.create(`old${i}`, { status: "succeeded", exit_code: 0 });
  const timers = new ManualTimers();
  const model = new RunsModel({ server: SERVER, http: server.http, timers });
  let changes = 0;
  model.onChange(() => {
    changes += 1;
  });
  const ended: RunRecord[] = [];
  model.onRunEnded((run) => ended.push(run));
  /** One tick of the poll timer, and its requests answered. */
  const tick = async () => {
    expect(timers.pending).toHaveLength(1);
    timers.runAll();
    await flush();
  };
  return { server, timers, model, ended, tick, changes: () => changes };
}

const flush = async () => {
  for (let i = 0; i < 20; i++) await new Promise((resolve) => setTimeout(resolve, 0));
};

const listed = (model: RunsModel) => model.runs.map((run) => run.id);
const lastDelay = (timers: ManualTimers) => timers.delays[timers.delays.length - 1];

describe("the live model", () => {
  it("lists the first page when shown, newest first, and pages on when asked", async () => {
    const { model, server } = setup(250);
    model.setListShown(true);
    await flush();
    expect(model.loaded).toBe(true);
    expect(listed(model)).toEqual(ids("old", PAGE_SIZE, 150).reverse());
    expect(model.hasMore).toBe(true);

    await model.loadMore();
    await model.loadMore();
    expect(model.runs).toHaveLength(250);
    expect(new Set(listed(model)).size).toBe(250);
    expect(model.hasMore).toBe(false);
    expect(server.requests.every((request) => !request.includes("limit=250"))).toBe(true);
  });

  it("keeps live by polling the active runs and the head only, not every page", async () => {
    const { model, server, tick } = setup(2000);
    model.start();
    model.setListShown(true);
    await flush();
    await model.loadMore(); // the user scrolled: 200 listed
    server.requests.length = 0;

    const fresh = server.create("new1", { status: "running" });
    await tick();
    expect(listed(model)[0]).toBe("new1");
    expect(model.activeCount).toBe(1);
    expect(server.requests.sort()).toEqual([
      `GET /x%40y/api/nebula/runs?limit=${HEAD_LIMIT}`,
      "GET /x%40y/api/nebula/runs?status=queued&limit=1000",
      "GET /x%40y/api/nebula/runs?status=running&limit=1000",
    ]);
    expect(model.runs).toHaveLength(201);

    // It ends: no longer in the active lists. It is still in the head, which says how.
    server.set(fresh.id, { status: "failed", exit_code: 3 });
    await tick();
    expect(model.get("new1")?.status).toBe("failed");
    expect(model.activeCount).toBe(0);
  });

  it("an active run older than the head is followed to its end by one GET", async () => {
    const { model, server, tick } = setup();
    server.create("long", { status: "running" });
    for (const id of ids("quick", HEAD_LIMIT + 10)) server.create(id, { status: "succeeded" });
    model.start();
    model.setListShown(true);
    await flush();
    await tick();
    expect(model.get("long")?.status).toBe("running");

    server.set("long", { status: "cancelled", cancel_requested: true, signal: "SIGTERM" });
    server.requests.length = 0;
    await tick();
    expect(model.get("long")?.status).toBe("cancelled");
    expect(server.requests).toContain("GET /x%40y/api/nebula/runs/long");
  });

  it("a run deleted elsewhere leaves the list", async () => {
    const { model, server, tick } = setup(3);
    model.start();
    model.setListShown(true);
    await flush();
    server.delete("old1");
    await tick();
    expect(listed(model)).toEqual(["old2", "old0"]);
  });

  it("while the panel is hidden only the active runs are polled (the status bar's count)", async () => {
    const { model, server, tick } = setup(10);
    model.start();
    await flush();
    await tick();
    expect(server.requests.every((request) => request.includes("status="))).toBe(true);
    expect(model.activeCount).toBe(0);
  });

  it("filters on the server, and drops a run that stops matching", async () => {
    const { model, server, tick } = setup();
    server.create("a", { status: "running" });
    server.create("b", { status: "succeeded" });
    server.create("c", { status: "running" });
    model.start();
    model.setListShown(true);
    model.setFilter("running");
    await flush();
    expect(listed(model)).toEqual(["c", "a"]);
    expect(server.requests).toContain("GET /x%40y/api/nebula/runs?status=running&limit=100");

    server.set("a", { status: "succeeded", exit_code: 0 });
    await tick();
    expect(listed(model)).toEqual(["c"]);
  });

  it("announces the end of a watched run once, and never an end it did not see happen", async () => {
    const { model, server, tick, ended } = setup();
    server.create("old", { status: "failed", exit_code: 1 });
    const watched = server.create("mine", { status: "running" });
    server.create("other", { status: "running" });
    model.start();
    await flush();
    model.watch("mine");
    model.watch("old"); // opened in a tab, but it had ended long before
    model.update(record("old", { status: "failed", exit_code: 1 }));

    server.set(watched.id, { status: "failed", exit_code: 3 });
    server.set("other", { status: "succeeded", exit_code: 0 });
    await tick();
    // A stream's push of the same end changes nothing more.
    model.update(record("mine", { status: "failed", exit_code: 3 }));
    await tick();
    expect(ended.map((run) => [run.id, run.status, run.exit_code])).toEqual([
      ["mine", "failed", 3],
    ]);
  });

  it("the active count follows what a tab or a create says at once, not a tick later", async () => {
    const { model, server } = setup();
    server.create("a", { status: "running" });
    model.start();
    await flush();
    expect(model.activeCount).toBe(1);
    model.update(record("a", { status: "succeeded", exit_code: 0 }));
    expect(model.activeCount).toBe(0);
    model.update(record("b", { status: "queued" }), { created: true });
    expect(model.activeCount).toBe(1);
    model.remove("b");
    expect(model.activeCount).toBe(0);
  });

  it("a run created here is listed at once, before any poll", async () => {
    const { model, server } = setup(2);
    model.setListShown(true);
    await flush();
    const created = server.create("made-here", { status: "queued" });
    model.update(created, { created: true });
    expect(listed(model)[0]).toBe("made-here");
  });

  it("a failing request is reported, and the next good one clears it", async () => {
    const { model, server, tick } = setup(1);
    server.failNext = 1;
    model.start();
    model.setListShown(true);
    await flush();
    expect(model.error).toBe("database is locked");
    await model.reload();
    await tick();
    expect(model.error).toBeNull();
    expect(listed(model)).toEqual(["old0"]);
  });

  it("slows down while the server fails, and says when the extension is missing", async () => {
    const { model, server, timers } = setup(1);
    server.failNext = 3;
    model.start();
    await flush();
    expect(lastDelay(timers)).toBe(4000);
    timers.runAll();
    await flush();
    expect(lastDelay(timers)).toBe(8000);
    timers.runAll();
    await flush();
    timers.runAll();
    await flush();
    expect(lastDelay(timers)).toBe(2000); // a good tick: back to the usual pace

    const missing = new RunsModel({
      server: SERVER,
      http: { fetch: async () => json(404, { message: "Not Found" }), cookie: () => "" },
      timers: new ManualTimers(),
    });
    missing.start();
    await flush();
    expect(missing.error).toMatch(/does not have the nebula_jupyter extension enabled/);
  });

  it("answers for an older filter are dropped", async () => {
    const { model, server } = setup();
    server.create("a", { status: "running" });
    server.create("b", { status: "failed" });
    model.setListShown(true);
    model.setFilter("failed");
    model.setFilter("running");
    await flush();
    expect(listed(model)).toEqual(["a"]);
  });

  it("stops polling when disposed", async () => {
    const { model, timers } = setup(1);
    model.start();
    await flush();
    model.dispose();
    expect(timers.pending).toEqual([]);
  });
});
