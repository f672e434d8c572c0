// Flow control: output is batched per frame, acks follow xterm's write callback, and every
// ack is cumulative and strictly increasing on its socket.

import { describe, expect, it } from "vitest";
import { streamUrl } from "../src/api";
import { Backoff } from "../src/backoff";
import { RunConnection } from "../src/connection";
import { OutputBatcher, renderOutput } from "../src/output";
import { ManualFrames, ManualTimers, output, RecordingTerminal, SocketFactory } from "./fakes";

/** Write reports are delivered from a microtask; let it run. */
const microtasks = () => Promise.resolve();

function setup() {
  const sockets = new SocketFactory();
  const timers = new ManualTimers();
  const frames = new ManualFrames();
  const terminal = new RecordingTerminal();
  const written = { chars: 0, callbacks: [] as number[] };
  let connection: RunConnection | null = null;
  const batcher = new OutputBatcher(terminal, frames, (seq, chars) => {
    written.callbacks.push(seq);
    written.chars += chars;
    connection?.ack(seq);
  });
  connection = new RunConnection({
    url: (params) => streamUrl({ kind: "server", baseUrl: "http://h/", token: "" }, "r1", params),
    createSocket: sockets.create,
    timers,
    backoff: new Backoff({ random: () => 0 }),
    tailBytes: 0,
    windowBytes: 4 * 1024 * 1024,
    events: {
      onState: () => undefined,
      onStatus: () => undefined,
      onOutput: (m) => batcher.push(m),
      onTruncated: () => undefined,
      onServerError: () => undefined,
      onFatal: () => undefined,
    },
  });
  connection.start();
  const acks = () => sockets.last.messages.filter((m) => m.type === "ack").map((m) => m.seq);
  return { connection, batcher, sockets, timers, frames, terminal, written, acks };
}

describe("batched writes", () => {
  it("writes everything that arrived within a frame in one write, in order", () => {
    const { sockets, frames, terminal } = setup();
    sockets.last.open();
    sockets.last.receive(output(1, "a"));
    sockets.last.receive(output(2, "b"));
    sockets.last.receive(output(3, "c"));
    expect(terminal.writes).toEqual([]); // nothing before the frame
    expect(frames.count).toBe(1); // one frame requested for the whole burst
    frames.tick();
    expect(terminal.writes).toEqual(["abc"]);
    sockets.last.receive(output(4, "d"));
    frames.tick();
    expect(terminal.writes).toEqual(["abc", "d"]);
  });

  it("paints stderr red and resets only the foreground", () => {
    expect(renderOutput({ type: "stderr", seq: 1, data: "oops\n" })).toBe("\x1b[31moops\n\x1b[39m");
    expect(renderOutput({ type: "stdout", seq: 1, data: "\x1b[32mok\x1b[0m\r50%" })).toBe(
      "\x1b[32mok\x1b[0m\r50%",
    );
    const { sockets, frames, terminal } = setup();
    sockets.last.open();
    sockets.last.receive(output(1, "out "));
    sockets.last.receive(output(2, "err", "stderr"));
    frames.tick();
    expect(terminal.text).toBe("out \x1b[31merr\x1b[39m");
  });

  it("counts the run's own characters (UTF-16), not the colour codes", async () => {
    const { sockets, frames, terminal, written } = setup();
    sockets.last.open();
    sockets.last.receive(output(1, "héllo 🌍\n"));
    sockets.last.receive(output(2, "err", "stderr"));
    frames.tick();
    expect(written.chars).toBe(0); // not until xterm has parsed it
    terminal.completeAll();
    await microtasks();
    expect(written.chars).toBe("héllo 🌍\n".length + 3);
  });

  it("flush() writes at once (used when the final status arrives)", () => {
    const { batcher, sockets, frames, terminal } = setup();
    sockets.last.open();
    sockets.last.receive(output(1, "last words"));
    batcher.flush();
    expect(terminal.writes).toEqual(["last words"]);
    expect(frames.count).toBe(0);
  });
});

describe("acks", () => {
  it("are sent only after the terminal's write callback, once per batch, with the batch's last seq", async () => {
    const { sockets, frames, terminal, acks } = setup();
    sockets.last.open();
    for (let seq = 1; seq <= 5; seq++) sockets.last.receive(output(seq, `line ${seq}\n`));
    frames.tick();
    await microtasks();
    expect(acks()).toEqual([]);
    terminal.completeAll();
    await microtasks();
    expect(acks()).toEqual([5]);
  });

  it("are cumulative and strictly increasing", async () => {
    const { sockets, frames, terminal, acks, connection } = setup();
    sockets.last.open();
    sockets.last.receive(output(1, "a"));
    frames.tick();
    sockets.last.receive(output(2, "b"));
    sockets.last.receive(output(3, "c"));
    frames.tick();
    terminal.completeOne();
    await microtasks();
    terminal.completeOne();
    await microtasks();
    connection.ack(2); // a stale or repeated ack is never sent
    connection.ack(3);
    expect(acks()).toEqual([1, 3]);
  });

  it("callbacks that fire together (xterm catching up) give one ack for the highest seq", async () => {
    const { sockets, frames, terminal, acks, written } = setup();
    sockets.last.open();
    for (let seq = 1; seq <= 3; seq++) {
      sockets.last.receive(output(seq, "xy"));
      frames.tick(); // one write per frame: three writes pending in xterm
    }
    expect(terminal.writes).toHaveLength(3);
    terminal.completeAll();
    await microtasks();
    expect(acks()).toEqual([3]);
    expect(written.callbacks).toEqual([3]);
    expect(written.chars).toBe(6);
  });

  it("are never sent on a socket that is not open, nor after dispose", async () => {
    const { sockets, frames, terminal, acks, connection, batcher } = setup();
    sockets.last.open();
    sockets.last.receive(output(1, "a"));
    frames.tick();
    connection.dispose();
    batcher.dispose();
    terminal.completeAll();
    await microtasks();
    expect(acks()).toEqual([]);
  });

  it("after a reconnect, acks for what the new socket started after are not sent", async () => {
    const { sockets, timers, frames, terminal, acks } = setup();
    sockets.last.open();
    sockets.last.receive(output(1, "a"));
    sockets.last.receive(output(2, "b"));
    frames.tick(); // written, but xterm has not called back yet
    sockets.last.serverClose(1006);
    timers.runAll();
    sockets.last.open();
    expect(sockets.last.params.get("after")).toBe("2");
    terminal.completeAll(); // the callback for seq 2 lands on the new socket: nothing to ack
    await microtasks();
    expect(acks()).toEqual([]);
    sockets.last.receive(output(3, "c"));
    frames.tick();
    terminal.completeAll();
    await microtasks();
    expect(acks()).toEqual([3]);
  });

  it("the connect URL opts into flow control", () => {
    const { sockets } = setup();
    expect(sockets.last.params.get("window")).toBe(String(4 * 1024 * 1024));
  });

  it("a disposed batcher cancels its frame and writes nothing", () => {
    const { sockets, frames, terminal, batcher } = setup();
    sockets.last.open();
    sockets.last.receive(output(1, "a"));
    batcher.dispose();
    expect(frames.count).toBe(0);
    frames.tick();
    expect(terminal.writes).toEqual([]);
  });
});
