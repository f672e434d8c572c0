// Every word the widget shows a user, in one place: the wording stays consistent between the
// header, the message line and the banner, can be reviewed (or translated) as a whole, and tests
// assert on the same names the code uses. Console diagnostics for developers are not here.

import type { ShownConnection } from "./view";

// -- the header -----------------------------------------------------------------------------------

export const CONNECTION_TEXT: Record<ShownConnection, string> = {
  connecting: "connecting…",
  open: "live",
  reconnecting: "reconnecting…",
  closed: "",
  unavailable: "no server",
};

/** The badge before the first status arrives. */
export const STATUS_UNKNOWN = "…";

/** How a run that has no exit code or signal ended, by the record's `reason`. */
export const REASON_TEXT: Readonly<Record<string, string>> = {
  spawn_error: "could not start",
  server_lost: "server lost",
  worker_lost: "worker lost",
  server_shutdown: "server shut down",
};

export function exitText(code: number): string {
  return `exit ${code}`;
}

export const CANCEL_LABEL = "Cancel";
export const CANCELLING_LABEL = "Cancelling…";
export const CANCEL_TOOLTIP = "Stop this run (SIGTERM to its process group, then SIGKILL)";

// -- the truncation banner ------------------------------------------------------------------------

/** The download link follows this text. */
export function truncatedText(skippedBytes: number): string {
  return `Earlier output not shown (${formatBytes(skippedBytes)}) — `;
}

/** "812 bytes", "48.0 MB": the exact count stays in the banner's data-skipped-bytes. */
export function formatBytes(count: number): string {
  if (count < 1000) return `${count} byte${count === 1 ? "" : "s"}`;
  const units = ["kB", "MB", "GB", "TB"];
  let value = count / 1000;
  let unit = 0;
  while (value >= 999.95 && unit < units.length - 1) {
    value /= 1000;
    unit += 1;
  }
  return `${value.toFixed(1)} ${units[unit]}`;
}

export const DOWNLOAD_LOG = "download full log";

// -- the message line: why there is nothing (more) to show ----------------------------------------

export const NO_RUN_ID = "No run to show: run_id is empty.";

export const NO_SERVER =
  "No Jupyter server with nebula_jupyter is reachable from this page (this front end does not " +
  "expose one, e.g. VS Code or Colab). The run itself is unaffected: use run.logs() or " +
  "`nebula logs <id>` to read its output, or set the widget's base_url.";

export const NO_EXTENSION =
  "This Jupyter server does not have the nebula_jupyter extension enabled " +
  "(jupyter server extension enable nebula_jupyter).";

export const STREAM_UNAUTHORIZED =
  "Not authorised to follow this run: the server refused this page's credentials.";

/** A refused handshake whose HTTP status the REST lookup found out. */
export function unauthorizedText(httpStatus: number): string {
  return (
    `Not authorised to follow this run (HTTP ${httpStatus}): ` +
    "log in to Jupyter in this browser."
  );
}

export const RUN_NOT_FOUND = "This run does not exist on the server (it may have been deleted).";

/** The browser refused the stream's URL outright (e.g. ws: from an https page). */
export function streamOpenFailedText(reason: string): string {
  return `Could not open the stream: ${reason}`;
}

/** Said when the stream to a server on another origin never opened after a few attempts. */
export function foreignOriginText(server: string, page: string | null, attempts: number): string {
  const pageOrigin = page === null ? "" : ` (${page})`;
  return (
    `Could not connect to ${server} (${attempts} attempts). It is not this page's ` +
    `server${pageOrigin}: the browser does not send it this page's login, Jupyter refuses ` +
    "logins from other origins by default, and the browser hides the reason for the failure. " +
    "Open the notebook from that server, or leave base_url empty to use this page's server."
  );
}

/** An `error` message of the stream, e.g. about a client message the server refused. */
export function serverErrorText(detail: string): string {
  return `Server: ${detail}`;
}

export function cancelFailedText(reason: string): string {
  return `Cancel failed: ${reason}`;
}

export function downloadFailedText(reason: string): string {
  return `Could not download the log: ${reason}`;
}

// -- REST failures, as they appear in the texts above ---------------------------------------------

export const SERVER_UNREACHABLE = "The server could not be reached.";
export const RUN_ALREADY_ENDED = "The run has already ended.";

/** A failed request whose body said nothing usable (a proxy's error page, say). */
export function httpStatusText(httpStatus: number): string {
  return `HTTP ${httpStatus}`;
}
