import { describe, expect, it } from "vitest";
import {
  commandText,
  durationMs,
  formatDuration,
  formatStart,
  outcomeText,
  runLabel,
} from "../src/lab/format";
import { parseRunRecord } from "../src/protocol";
import { placeText } from "../src/status";
import { runRecord } from "./fakes";

const run = (overrides: Record<string, unknown> = {}) => parseRunRecord(runRecord(overrides));

describe("how a run reads", () => {
  it("is called by its name, else its id", () => {
    expect(runLabel(run({ name: "train" }))).toBe("train");
    expect(runLabel(run({ id: "abc", name: null }))).toBe("abc");
    expect(runLabel(run({ id: "abc", name: "" }))).toBe("abc");
  });

  it("shows a list command with the quoting a shell needs, a string as given", () => {
    expect(commandText(["python", "train.py", "--lr=0.1"])).toBe("python train.py --lr=0.1");
    expect(commandText(["sh", "-c", "echo it's"])).toBe(`sh -c 'echo it'"'"'s'`);
    expect(commandText("make test | tee log")).toBe("make test | tee log");
    expect(commandText(null)).toBe("");
  });

  it("durations: running until now, finished until the end, nothing before the start", () => {
    const start = Date.parse("2024-01-01T00:00:01Z");
    expect(durationMs(run({ status: "running" }), start + 5_000)).toBe(5_000);
    expect(
      durationMs(run({ status: "succeeded", finished_at: "2024-01-01T00:01:01Z" }), start + 1e9),
    ).toBe(60_000);
    expect(durationMs(run({ status: "queued", started_at: null }), start)).toBeNull();
  });

  it.each([
    [400, "0.4s"],
    [9_999, "9.9s"],
    [12_000, "12s"],
    [185_000, "3m 05s"],
    [7_440_000, "2h 04m"],
    [266_400_000, "3d 02h"],
  ])("formats %d ms as %s", (ms, text) => {
    expect(formatDuration(ms)).toBe(text);
  });

  it("start time: the clock today, the date otherwise (local time)", () => {
    const now = new Date(2024, 0, 31, 18, 0, 0).getTime();
    expect(formatStart(new Date(2024, 0, 31, 14, 3, 12).toISOString(), now)).toBe("14:03:12");
    expect(formatStart(new Date(2024, 0, 30, 9, 5, 0).toISOString(), now)).toBe("2024-01-30 09:05");
    expect(formatStart(null, now)).toBe("");
  });

  it("the outcome says the exit code or signal of a failure", () => {
    expect(outcomeText(run({ status: "succeeded", exit_code: 0 }))).toBe("succeeded");
    expect(outcomeText(run({ status: "failed", exit_code: 3 }))).toBe("failed (exit 3)");
    expect(outcomeText(run({ status: "failed", signal: "SIGKILL" }))).toBe("failed (SIGKILL)");
    expect(outcomeText(run({ status: "failed", reason: "spawn_error" }))).toBe(
      "failed (could not start)",
    );
    expect(outcomeText(run({ status: "cancelled", signal: "SIGTERM" }))).toBe("cancelled");
  });

  it("where it runs", () => {
    expect(placeText(run({ executor: "local", host: "node1" }))).toBe("local · node1");
    expect(placeText(run({ status: "queued", executor: "dask", host: null }))).toBe(
      "dask · not started",
    );
  });
});
