// How a run's state reads in the header: the badge text and the Cancel button's state. Pure
// functions of the run record, so they are tested without a DOM.

import { CANCEL_LABEL, CANCELLING_LABEL, exitText, REASON_TEXT, STATUS_UNKNOWN } from "./messages";
import { isTerminalStatus, type RunRecord, type RunStatus } from "./protocol";

/** "unknown" until the first status arrives (a finished run's replay comes before its status). */
export type ShownStatus = RunStatus | "unknown";

/** How a finished run ended: "exit 2", "SIGKILL", "could not start"… or "" while it is live. */
export function endDetail(run: RunRecord | null): string {
  if (run === null || !isTerminalStatus(run.status)) return "";
  if (run.signal) return run.signal;
  if (run.exit_code !== null) return exitText(run.exit_code);
  return (run.reason && REASON_TEXT[run.reason]) ?? "";
}

export function badgeText(status: ShownStatus, run: RunRecord | null): string {
  if (status === "unknown") return STATUS_UNKNOWN;
  const detail = endDetail(run);
  return detail === "" ? status : `${status} · ${detail}`;
}

/** Where and how it runs, for a tab's details and the badge's tooltip: "local · host1",
 * "dask · gpu-node", "dask · not started" (CONTRACT §7: the host of a remote run). */
export function placeText(run: RunRecord): string {
  const host = run.host ?? (run.status === "queued" ? "not started" : "");
  return host === "" ? run.executor : `${run.executor} · ${host}`;
}

export interface CancelButtonState {
  label: string;
  disabled: boolean;
  /** "idle" | "pending" (clicked, not yet confirmed) | "requested" (server accepted) | "done" */
  phase: "idle" | "pending" | "requested" | "done";
}

export function cancelButtonState(
  status: ShownStatus,
  cancelRequested: boolean,
  pending: boolean,
): CancelButtonState {
  if (status !== "unknown" && isTerminalStatus(status)) {
    return { label: CANCEL_LABEL, disabled: true, phase: "done" };
  }
  if (cancelRequested) return { label: CANCELLING_LABEL, disabled: true, phase: "requested" };
  if (pending) return { label: CANCELLING_LABEL, disabled: true, phase: "pending" };
  return { label: CANCEL_LABEL, disabled: false, phase: "idle" };
}

export interface HeaderParts {
  badge: boolean;
  cancel: boolean;
}

/**
 * Which header parts are shown besides the title. A view is `detached` when it will never hear
 * from the run: no Jupyter server on the page, no run id, or a stream that stopped for good
 * (refused, unknown run, unreachable server). If that happened before any status arrived, the
 * badge could only ever say "…" and Cancel could not reach the run: both are hidden, and the
 * widget's message says why. A status seen earlier stays on show.
 */
export function headerParts(
  status: ShownStatus,
  detached: boolean,
  showCancel: boolean,
): HeaderParts {
  const blank = detached && status === "unknown";
  return { badge: !blank, cancel: showCancel && !blank };
}
