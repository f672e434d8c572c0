// Flow control: output goes to xterm as soon as it has parsed what it was given (gathered
// meanwhile), acks follow xterm's write callback, and every ack is cumulative and strictly
// increasing on its socket.

import { describe, expect, it } from "vitest";
import { streamUrl } from "../src/api";
import { Backoff } from "../src/backoff";
import { RunConnection } from "../src/connection";
import { BLOCK_CHARS, OutputBatcher, renderOutput } from "../src/output";
import { ManualTimers, output, RecordingTerminal, SocketFactory } from "./fakes";

/** Write reports are delivered from a microtask; let it run. */
const microtasks = () => Promise.resolve();

function setup() {
  const sockets = new SocketFactory();
  const timers = new ManualTimers();
  const terminal = new RecordingTerminal();
  const written = { chars: 0, callbacks: [] as number[] };
  let connection: RunConnection | null = null;
  const batcher = new OutputBatcher(terminal, (seq, chars) => {
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
  return { connection, batcher, sockets, timers, terminal, written, acks };
}

describe("writes to the terminal", () => {
  it("go out at once while xterm has parsed everything it was given", () => {
    const { sockets, terminal } = setup();
    sockets.last.open();
    sockets.last.receive(output(1, "a"));
    expect(terminal.writes).toEqual(["a"]); // no waiting for a frame
    terminal.completeAll();
    sockets.last.receive(output(2, "b"));
    expect(terminal.writes).toEqual(["a", "b"]);
  });

  it("gather while xterm parses, and follow as one write, in order, once it has parsed", () => {
    const { sockets, terminal } = setup();
    sockets.last.open();
    sockets.last.receive(output(1, "a"));
    sockets.last.receive(output(2, "b"));
    sockets.last.receive(output(3, "c"));
    expect(terminal.writes).toEqual(["a"]);
    terminal.completeOne();
    expect(terminal.writes).toEqual(["a", "bc"]);
  });

  it("never grow past a block plus one message, however long xterm takes", () => {
    const { sockets, terminal } = setup();
    sockets.last.open();
    const line = `${"x".repeat(999)}\n`;
    const messages = Math.ceil((4 * BLOCK_CHARS) / line.length);
    for (let seq = 1; seq <= messages; seq++) sockets.last.receive(output(seq, line));
    expect(terminal.writes.length).toBeGreaterThan(3); // xterm never called back
    for (const write of terminal.writes) {
      expect(write.length).toBeLessThan(BLOCK_CHARS + line.length);
    }
    terminal.completeAll();
    expect(terminal.text).toBe(line.repeat(messages));
  });

  it("paints stderr red and resets only the foreground", () => {
    expect(renderOutput({ type: "stderr", seq: 1, data: "oops\n" })).toBe("\x1b[31moops\n\x1b[39m");
    expect(renderOutput({ type: "stdout", seq: 1, data: "\x1b[32mok\x1b[0m\r50%" })).toBe(
      "\x1b[32mok\x1b[0m\r50%",
    );
    const { sockets, terminal } = setup();
    sockets.last.open();
    sockets.last.receive(output(1, "out "));
    sockets.last.receive(output(2, "err", "stderr"));
    sockets.last.receive(output(3, " out"));
    terminal.completeAll();
    expect(terminal.text).toBe("out \x1b[31merr\x1b[39m out");
  });

  it("counts the run's own characters (UTF-16), not the colour codes", async () => {
    const { sockets, terminal, written } = setup();
    sockets.last.open();
    sockets.last.receive(output(1, "héllo 🌍\n"));
    sockets.last.receive(output(2, "err", "stderr"));
    expect(written.chars).toBe(0); // not until xterm has parsed it
    terminal.completeAll();
    await microtasks();
    terminal.completeAll();
    await microtasks();
    expect(written.chars).toBe("héllo 🌍\n".length + 3);
  });

  it("flush() writes what has gathered at once (used when the final status arrives)", () => {
    const { batcher, sockets, terminal } = setup();
    sockets.last.open();
    sockets.last.receive(output(1, "first"));
    sockets.last.receive(output(2, "last words"));
    batcher.flush();
    expect(terminal.writes).toEqual(["first", "last words"]);
  });
});

describe("acks", () => {
  it("are sent only after the terminal's write callback, with the highest seq it parsed", async () => {
    const { sockets, terminal, acks } = setup();
    sockets.last.open();
    for (let seq = 1; seq <= 5; seq++) sockets.last.receive(output(seq, `line ${seq}\n`));
    await microtasks();
    expect(acks()).toEqual([]);
    terminal.completeOne(); // seq 1; seqs 2-5 go to xterm as one write
    await microtasks();
    expect(acks()).toEqual([1]);
    terminal.completeAll();
    await microtasks();
    expect(acks()).toEqual([1, 5]);
  });

  it("are cumulative and strictly increasing", async () => {
    const { sockets, terminal, acks, connection } = setup();
    sockets.last.open();
    sockets.last.receive(output(1, "a"));
    sockets.last.receive(output(2, "b"));
    sockets.last.receive(output(3, "c"));
    terminal.completeOne();
    await microtasks();
    terminal.completeOne();
    await microtasks();
    connection.ack(2); // a stale or repeated ack is never sent
    connection.ack(3);
    expect(acks()).toEqual([1, 3]);
  });

  it("callbacks that fire together (xterm catching up) give one ack for the highest seq", async () => {
    const { sockets, terminal, acks, written } = setup();
    sockets.last.open();
    const block = "x".repeat(BLOCK_CHARS);
    for (let seq = 1; seq <= 3; seq++) sockets.last.receive(output(seq, block));
    expect(terminal.writes).toHaveLength(3); // each a block's worth: three writes pending in xterm
    terminal.completeAll();
    await microtasks();
    expect(acks()).toEqual([3]);
    expect(written.callbacks).toEqual([3]);
    expect(written.chars).toBe(3 * BLOCK_CHARS);
  });

  it("are never sent on a socket that is not open, nor after dispose", async () => {
    const { sockets, terminal, acks, connection, batcher } = setup();
    sockets.last.open();
    sockets.last.receive(output(1, "a"));
    connection.dispose();
    batcher.dispose();
    terminal.completeAll();
    await microtasks();
    expect(acks()).toEqual([]);
  });

  it("after a reconnect, acks for what the new socket started after are not sent", async () => {
    const { sockets, timers, terminal, acks } = setup();
    sockets.last.open();
    sockets.last.receive(output(1, "a"));
    sockets.last.receive(output(2, "b")); // written, but xterm has not called back yet
    sockets.last.serverClose(1006);
    timers.runAll();
    sockets.last.open();
    expect(sockets.last.params.get("after")).toBe("2");
    terminal.completeAll(); // the callbacks for seqs 1 and 2 land on the new socket: nothing to ack
    await microtasks();
    terminal.completeAll();
    await microtasks();
    expect(acks()).toEqual([]);
    sockets.last.receive(output(3, "c"));
    terminal.completeAll();
    await microtasks();
    expect(acks()).toEqual([3]);
  });

  it("the connect URL opts into flow control", () => {
    const { sockets } = setup();
    expect(sockets.last.params.get("window")).toBe(String(4 * 1024 * 1024));
  });

  it("a disposed batcher writes nothing more, not even what had gathered", () => {
    const { sockets, terminal, batcher } = setup();
    sockets.last.open();
    sockets.last.receive(output(1, "a"));
    sockets.last.receive(output(2, "b"));
    batcher.dispose();
    terminal.completeAll();
    batcher.flush();
    expect(terminal.writes).toEqual(["a"]);
  });
});
