// @vitest-environment happy-dom

// One view of one run, driven through its DOM like a user: the Cancel button's states between a
// click and the run's end, and when the end is shown.

import { describe, expect, it } from "vitest";
import type { HttpDeps } from "../src/api";
import type { PageLike } from "../src/config";
import { RunSession, type SessionOptions } from "../src/session";
import { FakeTerminal, ManualTimers, output, runRecord, SocketFactory, status } from "./fakes";

const PAGE: PageLike = {
  location: { href: "http://localhost:8888/lab/tree/a.ipynb" },
  document: {
    getElementById: (id) =>
      id === "jupyter-config-data" ? { textContent: JSON.stringify({ baseUrl: "/" }) } : null,
    body: { dataset: {} },
  },
};

const OPTIONS: SessionOptions = {
  runId: "r1",
  baseUrl: "",
  tailBytes: 2_000_000,
  heightPx: 320,
  fontSizePx: 13,
  showCancel: true,
};

const json = (code: number, body: unknown) =>
  new Response(JSON.stringify(body), {
    status: code,
    headers: { "Content-Type": "application/json" },
  });

/** REST answers the test releases by hand; the URLs asked for. */
function manualHttp() {
  const requests: Array<{ url: string; answer: (response: Response) => void }> = [];
  const http: HttpDeps = {
    fetch: (input) =>
      new Promise<Response>((resolve) => requests.push({ url: String(input), answer: resolve })),
    cookie: () => "",
  };
  return { http, requests };
}

/** Lets promise callbacks (the REST answer and its parsing) run. */
const settlePromises = () => new Promise((resolve) => setTimeout(resolve, 0));

function setup() {
  const parent = document.createElement("div");
  const sockets = new SocketFactory();
  const timers = new ManualTimers();
  const terminal = new FakeTerminal();
  const { http, requests } = manualHttp();
  const session = new RunSession(parent, OPTIONS, {
    page: PAGE,
    http,
    createSocket: sockets.create,
    createTerminal: () => terminal,
    timers,
  });
  const find = <T extends Element>(selector: string): T => {
    const found = parent.querySelector<T>(selector);
    if (found === null) throw new Error(`no ${selector}`);
    return found;
  };
  const button = find<HTMLButtonElement>(".nebula-cancel");
  const view = {
    button,
    phase: () => button.dataset.phase,
    status: () => find<HTMLElement>(".nebula-run").dataset.status,
    message: () => {
      const line = find<HTMLElement>(".nebula-message");
      return line.hidden ? null : line.textContent;
    },
  };
  return { session, parent, sockets, timers, terminal, requests, view };
}

/** A view whose stream is open and has said the run is running. */
function running() {
  const env = setup();
  env.sockets.last.open();
  env.sockets.last.receive(status("running"));
  return env;
}

describe("the Cancel button", () => {
  it("is pending from the click until the server confirms, then waits for the end", () => {
    const { sockets, terminal, timers, view } = running();
    expect(view.phase()).toBe("idle");
    expect(view.button.disabled).toBe(false);

    view.button.click();
    expect(view.phase()).toBe("pending");
    expect(view.button.disabled).toBe(true);
    expect(view.button.textContent).toBe("Cancelling…");
    expect(sockets.last.messages).toEqual([{ type: "cancel" }]);

    sockets.last.receive(status("running", { cancel_requested: true }));
    expect(view.phase()).toBe("requested");
    expect(view.button.disabled).toBe(true);
    expect(timers.pending).toEqual([]); // confirmed: the patience timer is gone

    sockets.last.receive(status("cancelled", { cancel_requested: true, signal: "SIGTERM" }));
    terminal.settle();
    expect(view.phase()).toBe("done");
    expect(view.button.disabled).toBe(true);
    expect(view.message()).toBeNull();
  });

  it("is released when nobody answers the click in time", () => {
    const { timers, view } = running();
    view.button.click();
    expect(view.phase()).toBe("pending");
    timers.runAll();
    expect(view.phase()).toBe("idle");
    expect(view.button.disabled).toBe(false);
    expect(view.message()).toBeNull();
  });

  it("a conflict (the run had already ended) releases it quietly; the end settles it", () => {
    const { sockets, terminal, timers, view } = running();
    view.button.click();
    sockets.last.receive({ type: "error", code: "conflict", message: "Run r1 has already ended." });
    expect(view.phase()).toBe("idle");
    expect(view.button.disabled).toBe(false);
    expect(view.message()).toBeNull();
    expect(timers.pending).toEqual([]);

    sockets.last.receive(status("succeeded", { exit_code: 0 }));
    terminal.settle();
    expect(view.phase()).toBe("done");
    expect(view.button.disabled).toBe(true);
    expect(view.message()).toBeNull();
  });

  it("after a conflict a new click is sent, with its own patience and no stale timer", () => {
    const { sockets, timers, view } = running();
    view.button.click();
    sockets.last.receive({ type: "error", code: "conflict" });
    view.button.click();
    expect(view.phase()).toBe("pending");
    expect(sockets.last.messages).toEqual([{ type: "cancel" }, { type: "cancel" }]);
    expect(timers.pending).toHaveLength(1);
  });

  it("other server errors are said, and release nothing", () => {
    const { sockets, view } = running();
    view.button.click();
    sockets.last.receive({ type: "error", code: "bad_message", message: "what?" });
    expect(view.message()).toBe("Server: what?");
    expect(view.phase()).toBe("pending");
  });

  it("without an open stream it asks over REST; a 409 releases it quietly", async () => {
    const { requests, view } = setup(); // the socket never opened
    view.button.click();
    expect(view.phase()).toBe("pending");
    expect(requests.map((request) => request.url)).toEqual([
      "http://localhost:8888/api/nebula/runs/r1/cancel",
    ]);
    requests[0]?.answer(
      json(409, { message: "already finished", run: runRecord({ status: "succeeded" }) }),
    );
    await settlePromises();
    expect(view.phase()).toBe("idle");
    expect(view.message()).toBeNull();
  });

  it("over REST: accepted shows the request; a failure says why and releases it", async () => {
    const accepted = setup();
    accepted.view.button.click();
    accepted.requests[0]?.answer(json(202, runRecord({ cancel_requested: true })));
    await settlePromises();
    expect(accepted.view.phase()).toBe("requested");

    const failed = setup();
    failed.view.button.click();
    failed.requests[0]?.answer(json(500, { message: "boom" }));
    await settlePromises();
    expect(failed.view.phase()).toBe("idle");
    expect(failed.view.message()).toBe("Cancel failed: boom");
  });

  it("a REST answer that lands after the view is gone changes nothing", async () => {
    const { session, parent, requests, view } = setup();
    view.button.click();
    session.dispose();
    requests[0]?.answer(json(500, { message: "boom" }));
    await settlePromises();
    expect(parent.children).toHaveLength(0);
  });
});

describe("the end of a run", () => {
  it("is shown once the terminal has settled, error line included, and not before", () => {
    const { sockets, terminal, view } = running();
    sockets.last.receive(output(1, "working...\n"));
    sockets.last.receive(
      status("failed", { reason: "spawn_error", error: "Could not start: no such file" }),
    );
    // The output is written at once, not a frame later: the settle has to cover it.
    expect(terminal.text).toBe("working...\n");
    expect(view.status()).toBe("running");
    expect(view.message()).toBeNull();

    terminal.settle();
    expect(view.status()).toBe("failed");
    expect(view.message()).toBe("Could not start: no such file");
  });

  it("is not shown by a view disposed while its terminal settled", () => {
    const { session, sockets, terminal, parent } = running();
    sockets.last.receive(status("succeeded", { exit_code: 0 }));
    session.dispose();
    terminal.settle();
    expect(parent.children).toHaveLength(0);
    expect(terminal.disposed).toBe(true);
  });

  it("a live status is shown at once", () => {
    const { view } = running();
    expect(view.status()).toBe("running");
  });
});

describe("terminal mode", () => {
  const tty = (value: string, overrides: Record<string, unknown> = {}) =>
    status(value, { tty: true, ...overrides });

  it("a tty run gets keystrokes and sizes: the size on attach, after every fit", () => {
    const { sockets, terminal } = setup();
    sockets.last.open();
    expect(terminal.io).toBeNull();
    sockets.last.receive(tty("running"));
    expect(terminal.io).not.toBeNull();
    expect(sockets.last.messages).toEqual([{ type: "resize", cols: 80, rows: 24 }]);

    terminal.resize(132, 50);
    terminal.io?.onInput("hello\r");
    terminal.io?.onInput("\x03"); // Ctrl-C is the program's: a keystroke, not a cancel
    expect(sockets.last.messages.slice(1)).toEqual([
      { type: "resize", cols: 132, rows: 50 },
      { type: "stdin", data: "hello\r" },
      { type: "stdin", data: "\x03" },
    ]);
  });

  it("a view that reattaches sends its size again on the new socket", () => {
    const { sockets, terminal, timers } = setup();
    sockets.last.open();
    sockets.last.receive(tty("running"));
    terminal.resize(100, 30);
    sockets.last.serverClose(1006);
    timers.runAll();
    sockets.last.open();
    sockets.last.receive(tty("running"));
    expect(sockets.last.messages).toEqual([{ type: "resize", cols: 100, rows: 30 }]);
  });

  it("a run without tty gets neither keystrokes nor sizes", () => {
    const { sockets, terminal } = running();
    sockets.last.receive(status("running", { cancel_requested: true }));
    expect(terminal.io).toBeNull();
    expect(sockets.last.messages).toEqual([]);
  });

  it("input stops when the run ends", () => {
    const { sockets, terminal } = setup();
    sockets.last.open();
    sockets.last.receive(tty("running"));
    sockets.last.receive(tty("succeeded", { exit_code: 0 }));
    terminal.settle();
    expect(terminal.io).toBeNull();
    expect(sockets.last.messages).toEqual([{ type: "resize", cols: 80, rows: 24 }]);
  });

  it("a finished tty run replayed later never takes input", () => {
    const { sockets, terminal } = setup();
    sockets.last.open();
    sockets.last.receive(output(1, "got hello\n"));
    sockets.last.receive(tty("succeeded", { exit_code: 0 }));
    terminal.settle();
    expect(terminal.io).toBeNull();
    expect(sockets.last.messages).toEqual([]);
  });

  it("the server refusing input is said in the message line", () => {
    const { sockets, view } = setup();
    sockets.last.open();
    sockets.last.receive(tty("running"));
    sockets.last.receive({ type: "error", code: "forbidden", message: "Not allowed to type." });
    expect(view.message()).toBe("Server: Not allowed to type.");
  });
});
