// The golden frames (tests/golden/frames.json) are shared with the Python suite: both ends of
// the stream are held to the same examples, so they cannot drift apart unnoticed.

import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import {
  ackFrame,
  cancelFrame,
  parseServerMessage,
  resizeFrame,
  stdinFrames,
} from "../src/protocol";

interface Example {
  name: string;
  /** A JSON value; its compact encoding is the frame text. */
  frame?: unknown;
  /** The raw frame text, for frames that are not valid JSON objects. */
  text?: string;
}

interface Golden {
  server: { valid: Example[]; invalid: Example[] };
  client: { valid: Example[]; invalid: Example[] };
}

const golden = JSON.parse(
  readFileSync(new URL("../../tests/golden/frames.json", import.meta.url), "utf8"),
) as Golden;

function frameText(example: Example): string {
  if (example.text !== undefined) return example.text;
  if (example.frame === undefined) throw new Error(`${example.name}: neither frame nor text`);
  return JSON.stringify(example.frame);
}

const named = (examples: Example[]) => examples.map((example) => [example.name, example] as const);

describe("golden server frames", () => {
  it("has examples of both kinds", () => {
    expect(golden.server.valid.length).toBeGreaterThan(0);
    expect(golden.server.invalid.length).toBeGreaterThan(0);
  });

  it.each(named(golden.server.valid))("accepts: %s", (_name, example) => {
    const result = parseServerMessage(frameText(example));
    expect(result.ok ? "ok" : result.error).toBe("ok");
  });

  it.each(named(golden.server.invalid))("refuses without throwing: %s", (_name, example) => {
    let result: ReturnType<typeof parseServerMessage> | undefined;
    expect(() => {
      result = parseServerMessage(frameText(example));
    }).not.toThrow();
    expect(result?.ok).toBe(false);
    if (result?.ok === false) expect(result.error).not.toBe("");
  });
});

describe("golden client frames", () => {
  const validFrames = golden.client.valid.map((example) => JSON.parse(frameText(example)));

  it.each([
    ["cancelFrame()", cancelFrame()],
    ["ackFrame(7)", ackFrame(7)],
    ['stdinFrames("yes\\r")', ...stdinFrames("yes\r")],
    ['stdinFrames("\\x03") (Ctrl-C)', ...stdinFrames("\x03")],
    ["resizeFrame(120, 40)", resizeFrame(120, 40)],
    ["resizeFrame(1000, 1)", resizeFrame(1000, 1)],
  ])("%s is one of the valid examples", (_what, frame) => {
    expect(validFrames).toContainEqual(JSON.parse(frame));
  });
});

describe("golden client frames the encoders must never produce", () => {
  const invalidFrames = golden.client.invalid
    .filter((example) => example.frame !== undefined)
    .map((example) => JSON.stringify(example.frame));

  it("a paste over 16 KiB is split, so no frame is the refused oversized example", () => {
    const oversized = golden.client.invalid.find((example) => example.name.includes("16 KiB"));
    const data = (oversized?.frame as { data?: string } | undefined)?.data ?? "";
    expect(data.length).toBeGreaterThan(16 * 1024);
    const frames = stdinFrames(data);
    expect(frames.length).toBeGreaterThan(1);
    for (const frame of frames) expect(invalidFrames).not.toContain(frame);
  });

  it("sizes out of range are clamped, so no frame is a refused resize example", () => {
    for (const [cols, rows] of [
      [0, 24],
      [80, 1001],
    ] as const) {
      expect(invalidFrames).not.toContain(resizeFrame(cols, rows));
    }
  });
});
