// How a run reads in the Runs panel, a tab's details and a notification. Pure functions of the
// record (and of "now"), tested without a DOM.

import { isTerminalStatus, type RunRecord } from "../protocol";
import { endDetail } from "../status";

/** What a run is called: its name, else its id. */
export function runLabel(run: Pick<RunRecord, "id" | "name">): string {
  return run.name !== null && run.name !== "" ? run.name : run.id;
}

const PLAIN_ARG = /^[\w@%+=:,./-]+$/;

/** A command as one line: a list is joined with its arguments quoted as a shell would need
 * them (so it can be copied); a shell string is shown as given. */
export function commandText(command: RunRecord["command"]): string {
  if (command === null) return "";
  if (typeof command === "string") return command;
  return command
    .map((arg) => (PLAIN_ARG.test(arg) ? arg : `'${arg.split("'").join(`'"'"'`)}'`))
    .join(" ");
}

function parseTime(iso: string | null): number | null {
  if (iso === null) return null;
  const ms = Date.parse(iso);
  return Number.isNaN(ms) ? null : ms;
}

/** How long the run has run (until now while it runs); null before it started. */
export function durationMs(run: RunRecord, now: number): number | null {
  const started = parseTime(run.started_at);
  if (started === null) return null;
  const finished = parseTime(run.finished_at);
  const end = finished ?? (isTerminalStatus(run.status) ? started : now);
  return Math.max(0, end - started);
}

const pad = (n: number) => String(n).padStart(2, "0");

/** "0.4s", "12s", "3m 05s", "2h 04m", "3d 02h". */
export function formatDuration(ms: number): string {
  if (ms < 10_000) return `${(Math.floor(ms / 100) / 10).toFixed(1)}s`;
  const seconds = Math.floor(ms / 1000);
  if (seconds < 60) return `${seconds}s`;
  const minutes = Math.floor(seconds / 60);
  if (minutes < 60) return `${minutes}m ${pad(seconds % 60)}s`;
  const hours = Math.floor(minutes / 60);
  if (hours < 24) return `${hours}h ${pad(minutes % 60)}m`;
  return `${Math.floor(hours / 24)}d ${pad(hours % 24)}h`;
}

/** When it was created, in local time: "14:03:12" today, else "2024-01-31 14:03". */
export function formatStart(iso: string | null, now: number): string {
  const ms = parseTime(iso);
  if (ms === null) return "";
  const at = new Date(ms);
  const today = new Date(now);
  const time = `${pad(at.getHours())}:${pad(at.getMinutes())}`;
  if (at.toDateString() === today.toDateString()) return `${time}:${pad(at.getSeconds())}`;
  return `${at.getFullYear()}-${pad(at.getMonth() + 1)}-${pad(at.getDate())} ${time}`;
}

/** The final status as a notification says it: "succeeded", "failed (exit 3)", "failed
 * (SIGKILL)", "cancelled". */
export function outcomeText(run: RunRecord): string {
  if (run.status !== "failed") return run.status;
  const detail = endDetail(run);
  return detail === "" ? "failed" : `failed (${detail})`;
}
