import { describe, expect, it, vi } from "vitest";
import { streamUrl } from "../src/api";
import { Backoff } from "../src/backoff";
import type { ServerConfig } from "../src/config";
import { type ConnectionOptions, type ConnectionState, RunConnection } from "../src/connection";
import { RUN_NOT_FOUND, STREAM_UNAUTHORIZED } from "../src/messages";
import type { OutputMessage, StatusMessage, TruncatedMessage } from "../src/protocol";
import { ManualTimers, output, SocketFactory, status } from "./fakes";

const SERVER: ServerConfig = {
  kind: "server",
  baseUrl: "http://localhost:8888/user/a%40b/",
  token: "",
};

function setup(overrides: Partial<ConnectionOptions> = {}, server: ServerConfig = SERVER) {
  const sockets = new SocketFactory();
  const timers = new ManualTimers();
  const seen = {
    states: [] as ConnectionState[],
    outputs: [] as OutputMessage[],
    statuses: [] as StatusMessage[],
    truncated: [] as TruncatedMessage[],
    errors: [] as string[],
    fatal: [] as string[],
  };
  const connection = new RunConnection({
    url: (params) => streamUrl(server, "r1", params),
    createSocket: sockets.create,
    timers,
    backoff: new Backoff({ random: () => 0.5 }),
    tailBytes: 2000,
    windowBytes: 4096,
    events: {
      onState: (s) => seen.states.push(s),
      onOutput: (m) => seen.outputs.push(m),
      onStatus: (m) => seen.statuses.push(m),
      onTruncated: (m) => seen.truncated.push(m),
      onServerError: (m) => seen.errors.push(m.code),
      onFatal: (m) => seen.fatal.push(m),
    },
    ...overrides,
  });
  connection.start();
  return { connection, sockets, timers, seen };
}

/** Lets promise callbacks (diagnose) run. */
const settle = () => new Promise((resolve) => setTimeout(resolve, 0));

describe("stream URL", () => {
  it("first connect asks for after=0, the tail and the flow-control window, on the base URL", () => {
    const { sockets } = setup();
    const url = new URL(sockets.last.url);
    expect(url.protocol).toBe("ws:");
    expect(url.host).toBe("localhost:8888");
    expect(url.pathname).toBe("/user/a%40b/api/nebula/runs/r1/stream");
    expect(Object.fromEntries(url.searchParams)).toEqual({
      after: "0",
      tail: "2000",
      window: "4096",
    });
  });

  it("uses wss for https pages and adds the page token only when there is one", () => {
    const { sockets } = setup(
      {},
      { kind: "server", baseUrl: "https://hub.example/", token: "s3cret" },
    );
    const url = new URL(sockets.last.url);
    expect(url.protocol).toBe("wss:");
    expect(url.searchParams.get("token")).toBe("s3cret");
    expect(new URL(setup().sockets.last.url).searchParams.has("token")).toBe(false);
  });

  it("encodes the run id as one path segment", () => {
    const url = streamUrl(SERVER, "a/b?c", { after: 3 });
    expect(url).toBe("ws://localhost:8888/user/a%40b/api/nebula/runs/a%2Fb%3Fc/stream?after=3");
  });

  it("tail_bytes 0 means replay everything: no tail parameter", () => {
    const { sockets } = setup({ tailBytes: 0 });
    expect(sockets.last.params.has("tail")).toBe(false);
  });
});

describe("reconnect and resume", () => {
  it("after a drop it reconnects with after=<last seq seen> and never resubmits tail", () => {
    const { sockets, timers, seen } = setup();
    sockets.last.open();
    sockets.last.receive(output(1, "a"));
    sockets.last.receive(output(2, "b", "stderr"));
    sockets.last.receive(output(5, "c"));
    sockets.last.serverClose(1006);
    expect(seen.states).toEqual(["open", "reconnecting"]);
    expect(sockets.sockets).toHaveLength(1); // waits for the backoff first
    timers.runAll();
    expect(sockets.sockets).toHaveLength(2);
    expect(sockets.last.params.get("after")).toBe("5");
    expect(sockets.last.params.has("tail")).toBe(false);
    expect(sockets.last.params.get("window")).toBe("4096");
    sockets.last.open();
    expect(seen.states).toEqual(["open", "reconnecting", "open"]);

    sockets.last.receive(output(6, "d"));
    sockets.last.serverClose(1001); // server going away: also resumable
    timers.runAll();
    expect(sockets.last.params.get("after")).toBe("6");
    expect(sockets.last.params.has("tail")).toBe(false);
  });

  it("does not resubmit tail after a connection that opened, even if it delivered nothing", () => {
    const { sockets, timers } = setup();
    sockets.last.open();
    sockets.last.serverClose(1006);
    timers.runAll();
    expect(sockets.last.params.get("after")).toBe("0");
    expect(sockets.last.params.has("tail")).toBe(false);
  });

  it("keeps tail while no socket has opened yet (a refused handshake delivered nothing)", () => {
    const { sockets, timers } = setup();
    sockets.last.serverClose(1006);
    timers.runAll();
    expect(sockets.last.params.get("tail")).toBe("2000");
  });

  it("drops output whose seq is not newer than the last one seen", () => {
    const { sockets, timers, seen } = setup();
    sockets.last.open();
    sockets.last.receive(output(1, "one"));
    sockets.last.receive(output(2, "two"));
    sockets.last.receive(output(2, "two again"));
    sockets.last.receive(output(1, "one again"));
    sockets.last.serverClose(1006);
    timers.runAll();
    sockets.last.open();
    sockets.last.receive(output(2, "replayed by a confused proxy"));
    sockets.last.receive(output(3, "three"));
    expect(seen.outputs.map((m) => m.data)).toEqual(["one", "two", "three"]);
  });

  it("resumes after a truncated replay from the first shown chunk, not from 0", () => {
    const { sockets, timers, seen } = setup();
    sockets.last.open();
    sockets.last.receive({ type: "truncated", skipped_bytes: 9000, first_seq: 40 });
    expect(seen.truncated).toHaveLength(1);
    sockets.last.serverClose(1006);
    timers.runAll();
    expect(sockets.last.params.get("after")).toBe("39");
    expect(sockets.last.params.has("tail")).toBe(false);
  });

  it("ignores bad frames and keeps going", () => {
    const warn = vi.spyOn(console, "warn").mockImplementation(() => undefined);
    const { sockets, seen } = setup();
    sockets.last.open();
    sockets.last.receive("{not json");
    sockets.last.receive({ type: "stdout", seq: "x", data: "bad" });
    sockets.last.receive(output(1, "ok"));
    expect(seen.outputs.map((m) => m.data)).toEqual(["ok"]);
    expect(seen.fatal).toEqual([]);
    expect(warn).toHaveBeenCalledTimes(2);
    warn.mockRestore();
  });

  it("reports server error messages without closing", () => {
    const { sockets, seen } = setup();
    sockets.last.open();
    sockets.last.receive({ type: "error", code: "bad_message", message: "what?" });
    expect(seen.errors).toEqual(["bad_message"]);
    expect(sockets.last.closedWith).toBeUndefined();
  });

  it("reconnects after a 1000 close that came without a terminal status", () => {
    const { sockets, timers } = setup();
    sockets.last.open();
    sockets.last.receive(status("running"));
    sockets.last.serverClose(1000);
    timers.runAll();
    expect(sockets.sockets).toHaveLength(2);
  });

  it("ignores anything a superseded socket still delivers", () => {
    const { sockets, timers, seen } = setup();
    const first = sockets.last;
    first.open();
    first.serverClose(1006);
    timers.runAll();
    first.receive(output(1, "ghost"));
    first.open();
    expect(seen.outputs).toEqual([]);
    expect(seen.states).toEqual(["open", "reconnecting"]);
  });
});

describe("backoff", () => {
  it("grows on consecutive failures up to the cap and resets after a successful open", () => {
    const { sockets, timers } = setup();
    for (let i = 0; i < 7; i++) {
      sockets.last.serverClose(1006);
      timers.runAll();
    }
    // random() = 0.5 → 3/4 of 500, 1000, 2000, 4000, 8000, 10000 (cap), 10000
    expect(timers.delays).toEqual([375, 750, 1500, 3000, 6000, 7500, 7500]);

    sockets.last.open();
    sockets.last.serverClose(1006);
    timers.runAll();
    expect(timers.delays.slice(-1)[0]).toBe(375);
  });

  it("jitters each delay between half and all of the exponential step", () => {
    for (const random of [0, 0.25, 0.999]) {
      const backoff = new Backoff({ random: () => random });
      const steps = [500, 1000, 2000, 4000, 8000, 10000, 10000];
      for (const step of steps) {
        const delay = backoff.next();
        expect(delay).toBeGreaterThanOrEqual(step / 2);
        expect(delay).toBeLessThanOrEqual(step);
      }
    }
  });

  it("spreads clients that dropped together", () => {
    const delays = [0.1, 0.4, 0.7, 0.95].map((r) => new Backoff({ random: () => r }).next());
    expect(new Set(delays).size).toBe(4);
  });
});

describe("when it stops for good", () => {
  it("after the terminal status: the server's 1000 close does not reconnect", () => {
    const { sockets, timers, seen } = setup();
    sockets.last.open();
    sockets.last.receive(output(1, "done\n"));
    sockets.last.receive(status("succeeded", { exit_code: 0 }));
    sockets.last.serverClose(1000);
    expect(timers.pending).toEqual([]);
    timers.runAll();
    expect(sockets.sockets).toHaveLength(1);
    expect(seen.states.slice(-1)[0]).toBe("closed");
    expect(seen.fatal).toEqual([]);
  });

  it("after the terminal status even a 1001 or abnormal close does not reconnect", () => {
    for (const code of [1001, 1006]) {
      const { sockets, timers } = setup();
      sockets.last.open();
      sockets.last.receive(status("cancelled", { reason: "server_shutdown", signal: "SIGTERM" }));
      sockets.last.serverClose(code);
      timers.runAll();
      expect(sockets.sockets).toHaveLength(1);
    }
  });

  it.each([
    [4401, STREAM_UNAUTHORIZED],
    [4404, RUN_NOT_FOUND],
  ])("close %i is reported and never retried", (code, message) => {
    const { sockets, timers, seen } = setup();
    sockets.last.open();
    sockets.last.serverClose(code);
    timers.runAll();
    expect(sockets.sockets).toHaveLength(1);
    expect(seen.fatal).toEqual([message]);
    expect(seen.states.slice(-1)[0]).toBe("closed");
  });

  it("dispose closes the open socket with 1000 and never reconnects", () => {
    const { connection, sockets, timers } = setup();
    sockets.last.open();
    connection.dispose();
    expect(sockets.last.closedWith).toBe(1000);
    expect(sockets.last.onclose).toBeNull();
    timers.runAll();
    expect(sockets.sockets).toHaveLength(1);
  });

  it("dispose while waiting to reconnect cancels the timer", () => {
    const { connection, sockets, timers } = setup();
    sockets.last.open();
    sockets.last.serverClose(1006);
    expect(timers.pending).toHaveLength(1);
    connection.dispose();
    expect(timers.pending).toEqual([]);
    expect(sockets.sockets).toHaveLength(1);
  });

  it("a refused handshake is diagnosed: an unknown run stops, anything else retries", async () => {
    const verdicts: Array<string | null> = [null, "This run does not exist."];
    const { sockets, timers, seen } = setup({ diagnose: async () => verdicts.shift() ?? null });
    sockets.last.serverClose(1006);
    await settle();
    expect(timers.pending).toHaveLength(1);
    timers.runAll();
    sockets.last.serverClose(1006);
    await settle();
    expect(timers.pending).toEqual([]);
    expect(seen.fatal).toEqual(["This run does not exist."]);
    expect(sockets.sockets).toHaveLength(2);
  });

  it("a diagnosis that finishes after dispose does nothing", async () => {
    let resolve: (v: string | null) => void = () => undefined;
    const { connection, sockets, timers, seen } = setup({
      diagnose: () => new Promise((r) => (resolve = r)),
    });
    sockets.last.serverClose(1006);
    connection.dispose();
    resolve(null);
    await settle();
    expect(timers.pending).toEqual([]);
    expect(seen.fatal).toEqual([]);
  });
});

describe("giving up on a server that never answers (giveUp: a foreign origin)", () => {
  const giveUp = {
    afterAttempts: 4,
    message: "Could not connect to http://other:9999 (4 attempts).",
  };

  it("stops after that many failed handshakes, with the message and state closed", async () => {
    const { sockets, timers, seen } = setup({ giveUp });
    for (let i = 1; i <= 3; i++) {
      sockets.last.serverClose(1006);
      expect(seen.fatal).toEqual([]);
      expect(timers.pending).toHaveLength(1);
      timers.runAll();
    }
    expect(sockets.sockets).toHaveLength(4);
    sockets.last.serverClose(1006);
    expect(seen.fatal).toEqual([giveUp.message]);
    expect(timers.pending).toEqual([]);
    expect(seen.states).toEqual(["reconnecting", "closed"]);
    timers.runAll();
    await settle();
    expect(sockets.sockets).toHaveLength(4);
  });

  it("counts attempts after an inconclusive diagnosis too (a cross-origin fetch is blocked)", async () => {
    let diagnosed = 0;
    const { sockets, timers, seen } = setup({
      giveUp,
      diagnose: async () => {
        diagnosed += 1;
        return null; // what a CORS-blocked request resolves to: "unreachable"
      },
    });
    for (let i = 1; i <= 4; i++) {
      sockets.last.serverClose(1006);
      await settle();
      timers.runAll();
    }
    expect(diagnosed).toBe(4);
    expect(sockets.sockets).toHaveLength(4);
    expect(seen.fatal).toEqual([giveUp.message]);
  });

  it("a definite diagnosis still wins over the generic message", async () => {
    const { sockets, seen } = setup({ giveUp, diagnose: async () => RUN_NOT_FOUND });
    sockets.last.serverClose(1006);
    await settle();
    expect(seen.fatal).toEqual([RUN_NOT_FOUND]);
  });

  it("never gives up on a stream that opened once: the server may be restarting", () => {
    const { sockets, timers, seen } = setup({ giveUp });
    sockets.last.open();
    sockets.last.serverClose(1006);
    for (let i = 0; i < 10; i++) {
      timers.runAll();
      sockets.last.serverClose(1006);
    }
    expect(seen.fatal).toEqual([]);
    expect(timers.pending).toHaveLength(1);
    expect(seen.states.slice(-1)[0]).toBe("reconnecting");
  });

  it("without giveUp (the page's own server) it retries for ever", () => {
    const { sockets, timers, seen } = setup();
    for (let i = 0; i < 12; i++) {
      sockets.last.serverClose(1006);
      timers.runAll();
    }
    expect(sockets.sockets).toHaveLength(13);
    expect(seen.fatal).toEqual([]);
  });

  it("dispose during the attempts reports nothing", () => {
    const { connection, sockets, timers, seen } = setup({ giveUp });
    sockets.last.serverClose(1006);
    connection.dispose();
    timers.runAll();
    expect(seen.fatal).toEqual([]);
    expect(sockets.sockets).toHaveLength(1);
  });
});

describe("cancel over the socket", () => {
  it("is sent only on an open socket; otherwise the caller must use REST", () => {
    const { connection, sockets } = setup();
    expect(connection.sendCancel()).toBe(false);
    sockets.last.open();
    expect(connection.sendCancel()).toBe(true);
    expect(sockets.last.messages).toEqual([{ type: "cancel" }]);
    sockets.last.serverClose(1006);
    expect(connection.sendCancel()).toBe(false);
  });
});
