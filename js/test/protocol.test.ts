import { describe, expect, it } from "vitest";
import {
  ackFrame,
  cancelFrame,
  isTerminalStatus,
  MAX_STDIN_CHARS,
  parseServerMessage,
  resizeFrame,
  stdinFrames,
} from "../src/protocol";
import { runRecord, status } from "./fakes";

function parse(value: unknown) {
  return parseServerMessage(typeof value === "string" ? value : JSON.stringify(value));
}

function expectOk(value: unknown) {
  const result = parse(value);
  if (!result.ok) throw new Error(`expected ok, got: ${result.error}`);
  return result.message;
}

function expectError(value: unknown): string {
  const result = parse(value);
  if (result.ok) throw new Error(`expected a parse error for ${JSON.stringify(value)}`);
  return result.error;
}

describe("parseServerMessage: good messages", () => {
  it("parses output messages of both streams", () => {
    expect(expectOk({ type: "stdout", seq: 1, data: "hello\n" })).toEqual({
      type: "stdout",
      seq: 1,
      data: "hello\n",
    });
    expect(expectOk({ type: "stderr", seq: 7, data: "" })).toEqual({
      type: "stderr",
      seq: 7,
      data: "",
    });
  });

  it("parses a status message with its full run record", () => {
    const message = expectOk(status("failed", { exit_code: 2, reason: "exited", last_seq: 9 }));
    expect(message.type).toBe("status");
    if (message.type !== "status") return;
    expect(message.status).toBe("failed");
    expect(message.run).toMatchObject({
      id: "r1",
      name: "train",
      exit_code: 2,
      reason: "exited",
      last_seq: 9,
    });
  });

  it("fills neutral defaults for record fields a server omits", () => {
    const message = expectOk({
      type: "status",
      status: "queued",
      run: { id: "x", status: "queued" },
    });
    if (message.type !== "status") throw new Error("not a status");
    expect(message.run).toMatchObject({
      name: null,
      cancel_requested: false,
      exit_code: null,
      last_seq: 0,
      cwd: "",
    });
  });

  it("accepts a shell-string command and extra unknown record fields", () => {
    const message = expectOk(status("running", { command: "make test", pid: 42 }));
    if (message.type !== "status") throw new Error("not a status");
    expect(message.run.command).toBe("make test");
  });

  it("parses truncated and error messages", () => {
    expect(expectOk({ type: "truncated", skipped_bytes: 1234, first_seq: 5 })).toEqual({
      type: "truncated",
      skipped_bytes: 1234,
      first_seq: 5,
    });
    expect(expectOk({ type: "error", code: "conflict", message: "already finished" })).toEqual({
      type: "error",
      code: "conflict",
      message: "already finished",
    });
  });
});

describe("parseServerMessage: bad messages never throw", () => {
  it.each([
    ["not JSON", "{nope"],
    ["a JSON array", "[1, 2]"],
    ["a JSON string", '"stdout"'],
    ["null", "null"],
  ])("rejects %s", (_what, frame) => {
    expect(expectError(frame)).toMatch(/JSON/);
  });

  it("rejects a binary frame", () => {
    const result = parseServerMessage(new ArrayBuffer(4));
    expect(result.ok).toBe(false);
  });

  it("rejects an unknown or missing type", () => {
    expect(expectError({ type: "bogus" })).toMatch(/unknown message type/);
    expect(expectError({ seq: 1, data: "x" })).toMatch(/unknown message type/);
  });

  it.each([
    [{ type: "stdout", data: "x" }, /seq/],
    [{ type: "stdout", seq: 0, data: "x" }, /seq/],
    [{ type: "stdout", seq: -3, data: "x" }, /seq/],
    [{ type: "stdout", seq: 1.5, data: "x" }, /seq/],
    [{ type: "stdout", seq: "1", data: "x" }, /seq/],
    [{ type: "stderr", seq: 1 }, /data/],
    [{ type: "stderr", seq: 1, data: 5 }, /data/],
    [{ type: "truncated", skipped_bytes: -1, first_seq: 2 }, /skipped_bytes/],
    [{ type: "truncated", skipped_bytes: 10 }, /first_seq/],
    [{ type: "error", message: "no code" }, /code/],
    [{ type: "status", status: "exploded", run: runRecord() }, /status/],
    [{ type: "status", status: "running" }, /run/],
    [{ type: "status", status: "running", run: runRecord({ id: 7 }) }, /id/],
    [{ type: "status", status: "running", run: runRecord({ status: "weird" }) }, /status/],
    [
      { type: "status", status: "running", run: runRecord({ cancel_requested: "yes" }) },
      /cancel_requested/,
    ],
    [{ type: "status", status: "running", run: runRecord({ exit_code: "0" }) }, /exit_code/],
    [{ type: "status", status: "running", run: runRecord({ command: [1, 2] }) }, /command/],
  ])("rejects %j", (message, pattern) => {
    expect(expectError(message)).toMatch(pattern);
  });
});

describe("protocol helpers", () => {
  it("knows which statuses are terminal", () => {
    expect(["queued", "running"].map((s) => isTerminalStatus(s as "queued"))).toEqual([
      false,
      false,
    ]);
    expect(["succeeded", "failed", "cancelled"].every((s) => isTerminalStatus(s as "failed"))).toBe(
      true,
    );
  });

  it("builds client frames", () => {
    expect(JSON.parse(cancelFrame())).toEqual({ type: "cancel" });
    expect(JSON.parse(ackFrame(12))).toEqual({ type: "ack", seq: 12 });
  });
});

describe("terminal-mode client messages", () => {
  const pieces = (data: string) =>
    stdinFrames(data).map((frame) => (JSON.parse(frame) as { type: string; data: string }).data);

  it("stdin carries keystrokes as typed, Ctrl-C as \\x03", () => {
    expect(stdinFrames("ls\r").map((frame) => JSON.parse(frame))).toEqual([
      { type: "stdin", data: "ls\r" },
    ]);
    expect(pieces("\x03")).toEqual(["\x03"]);
    expect(stdinFrames("")).toEqual([]);
  });

  it("a big paste is split into pieces of at most 16 KiB, in order, nothing lost", () => {
    const paste = "0123456789".repeat(5000); // 50 000 characters
    const parts = pieces(paste);
    expect(parts.length).toBe(Math.ceil(paste.length / MAX_STDIN_CHARS));
    for (const part of parts) expect(part.length).toBeLessThanOrEqual(MAX_STDIN_CHARS);
    expect(parts.join("")).toBe(paste);
  });

  it("never splits a character made of two UTF-16 units", () => {
    const paste = `a${"🚀".repeat(MAX_STDIN_CHARS)}`;
    const parts = pieces(paste);
    expect(parts.join("")).toBe(paste);
    for (const part of parts) {
      expect(part.length).toBeLessThanOrEqual(MAX_STDIN_CHARS);
      expect(part.codePointAt(part.length - 1)).not.toBeUndefined();
      expect(/[\uD800-\uDBFF]$/.test(part)).toBe(false); // no high surrogate left dangling
    }
  });

  it("keeps every frame under the server's 64 KiB limit, even for control characters", () => {
    const paste = "\x01".repeat(MAX_STDIN_CHARS);
    const frames = stdinFrames(paste);
    for (const frame of frames) expect(new TextEncoder().encode(frame).length).toBeLessThan(65536);
    expect(pieces(paste).join("")).toBe(paste);
  });

  it("resize sends whole sizes within 1..1000", () => {
    expect(JSON.parse(resizeFrame(120, 40))).toEqual({ type: "resize", cols: 120, rows: 40 });
    expect(JSON.parse(resizeFrame(0, 5000))).toEqual({ type: "resize", cols: 1, rows: 1000 });
    expect(JSON.parse(resizeFrame(80.7, Number.NaN))).toEqual({
      type: "resize",
      cols: 80,
      rows: 1,
    });
  });
});
