import { describe, expect, it } from "vitest";
import { parseRunRecord } from "../src/protocol";
import { badgeText, cancelButtonState, endDetail, headerParts } from "../src/status";
import { runRecord } from "./fakes";

const record = (overrides: Record<string, unknown>) => parseRunRecord(runRecord(overrides));

describe("badge", () => {
  it("shows the status, and how a finished run ended", () => {
    expect(badgeText("unknown", null)).toBe("…");
    expect(badgeText("running", record({}))).toBe("running");
    expect(badgeText("succeeded", record({ status: "succeeded", exit_code: 0 }))).toBe(
      "succeeded · exit 0",
    );
    expect(badgeText("failed", record({ status: "failed", exit_code: 3 }))).toBe("failed · exit 3");
    expect(
      badgeText("failed", record({ status: "failed", signal: "SIGKILL", reason: "signalled" })),
    ).toBe("failed · SIGKILL");
    expect(badgeText("cancelled", record({ status: "cancelled", signal: "SIGTERM" }))).toBe(
      "cancelled · SIGTERM",
    );
    expect(
      endDetail(record({ status: "failed", reason: "spawn_error", error: "No such file" })),
    ).toBe("could not start");
    // A remote run whose worker (or agent) was lost (CONTRACT §7).
    expect(badgeText("failed", record({ status: "failed", reason: "worker_lost" }))).toBe(
      "failed · worker lost",
    );
  });
});

describe("cancel button", () => {
  it("is enabled while the run is live and nothing was asked", () => {
    expect(cancelButtonState("running", false, false)).toEqual({
      label: "Cancel",
      disabled: false,
      phase: "idle",
    });
    expect(cancelButtonState("queued", false, false).disabled).toBe(false);
  });

  it("shows a loading state after a click until the server confirms, then while the run dies", () => {
    expect(cancelButtonState("running", false, true)).toEqual({
      label: "Cancelling…",
      disabled: true,
      phase: "pending",
    });
    expect(cancelButtonState("running", true, false)).toEqual({
      label: "Cancelling…",
      disabled: true,
      phase: "requested",
    });
  });

  it("is disabled once the run is terminal", () => {
    for (const status of ["succeeded", "failed", "cancelled"] as const) {
      expect(cancelButtonState(status, true, true)).toEqual({
        label: "Cancel",
        disabled: true,
        phase: "done",
      });
    }
  });
});

describe("header parts", () => {
  it("a live view shows the badge (even the initial …) and Cancel as the trait says", () => {
    expect(headerParts("unknown", false, true)).toEqual({ badge: true, cancel: true });
    expect(headerParts("running", false, true)).toEqual({ badge: true, cancel: true });
    expect(headerParts("running", false, false)).toEqual({ badge: true, cancel: false });
    expect(headerParts("succeeded", false, true)).toEqual({ badge: true, cancel: true });
  });

  it("a view with no server (or no run, or a stream refused before any status) hides both", () => {
    expect(headerParts("unknown", true, true)).toEqual({ badge: false, cancel: false });
    // show_cancel turned on later does not bring back a Cancel that cannot reach the run.
    expect(headerParts("unknown", true, false)).toEqual({ badge: false, cancel: false });
  });

  it("a status seen before the stream stopped stays on show", () => {
    expect(headerParts("running", true, true)).toEqual({ badge: true, cancel: true });
    expect(headerParts("failed", true, false)).toEqual({ badge: true, cancel: false });
  });
});
