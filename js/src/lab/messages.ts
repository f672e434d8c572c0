// Every word the JupyterLab extension shows a user (the widget's own are in ../messages.ts):
// labels, tooltips, the panel's states, dialog fields, notifications.

import type { RunStatus } from "../protocol";

export const CATEGORY = "Nebula";

// -- commands ---------------------------------------------------------------------------------

export const OPEN_RUNS_LABEL = "Show Runs";
export const OPEN_RUNS_CAPTION = "The runs of this Jupyter server, newest first";
export const OPEN_RUN_LABEL = "Open Run";
export const NEW_RUN_LABEL = "New Run…";
export const NEW_RUN_LAUNCHER_LABEL = "Background Run";
export const NEW_RUN_CAPTION = "Start a command as a background run and follow its output";
export const NEW_RUN_HERE_LABEL = "New Run Here…";
export const RUN_FILE_LABEL = "Run as Background Run";
export const RUN_FILE_CAPTION = "Run this file (python or sh) in its folder, in the background";

// -- the Runs panel ---------------------------------------------------------------------------

export const PANEL_TITLE = "Runs";
export const PANEL_CAPTION = "Nebula runs";
export const REFRESH = "Refresh";
export const FILTER_LABEL = "Show";
export const ALL_STATUSES = "all runs";
export const LOADING = "Loading runs…";
export const LOAD_MORE = "Load older runs";
export const LOADING_MORE = "Loading older runs…";

export function statusFilterText(status: RunStatus): string {
  return `${status} runs`;
}

/** The empty state: how a run comes to exist. */
export const NO_RUNS =
  "No runs yet. Start one with the + button above, “Background Run” in the Launcher, " +
  "“Nebula: New Run…” in the command palette, “Run as Background Run” on a .py or .sh file " +
  "in the file browser, or nebula_jupyter.run(...) in a notebook.";

export function noRunsWith(status: RunStatus): string {
  return `No ${status} runs.`;
}

export function panelErrorText(reason: string): string {
  return `Could not list the runs: ${reason}`;
}

export const ACTION_OPEN = "Open its output in a tab";
export const ACTION_CANCEL = "Cancel this run";
export const ACTION_DELETE = "Delete this run and its log";
export const ACTION_DOWNLOAD = "Download the full log";
export const ACTION_COPY_ID = "Copy the run id";

export function deleteTitle(label: string): string {
  return `Delete run “${label}”?`;
}
export const DELETE_BODY = "Its record and its whole log are removed from the server.";
export const DELETE_BUTTON = "Delete";

export function copiedText(runId: string): string {
  return `Copied run id ${runId}`;
}

// -- a run's tab ------------------------------------------------------------------------------

export const DOWNLOAD_BUTTON = "Log";
export const COPY_ID_BUTTON = "Id";

export function startedText(when: string): string {
  return `started ${when}`;
}

// -- the New Run dialog -----------------------------------------------------------------------

export const DIALOG_TITLE = "New Run";
export const FIELD_COMMAND = "Command";
export const FIELD_COMMAND_HINT = "e.g. python train.py --epochs 3 (run by /bin/sh)";
export const FIELD_CWD = "Folder";
export const FIELD_CWD_HINT = "relative to the Jupyter root; empty for the root";
export const FIELD_NAME = "Name";
export const FIELD_NAME_HINT = "optional";
export const FIELD_TTY =
  "Terminal mode (a pseudo-terminal: colours, progress bars, keyboard input)";
export const START_BUTTON = "Start";
export const COMMAND_REQUIRED = "Enter a command to run.";

// -- failures and notifications ---------------------------------------------------------------

export function startFailedText(reason: string): string {
  return `Could not start the run: ${reason}`;
}

export function actionFailedText(action: string, reason: string): string {
  return `Could not ${action}: ${reason}`;
}

export function notRunnableText(path: string): string {
  return `Only .py and .sh files can be run this way: ${path}`;
}

export const BAD_RUN_ID = "Open Run needs the id of a run.";

/** When a run started or opened in this session ends: its name and how it ended. */
export function runEndedText(label: string, outcome: string): string {
  return `Run “${label}” ${outcome}`;
}
export const OPEN_ACTION = "Open";

// -- the status bar ---------------------------------------------------------------------------

export function activeRunsText(count: number | null): string {
  if (count === null) return "Runs";
  return `${count} run${count === 1 ? "" : "s"} active`;
}
export const STATUS_BAR_CAPTION = "Active Nebula runs: click to show the Runs panel";

// -- Notebook 7 -------------------------------------------------------------------------------

export const NOTEBOOK7_RUNS_TAB = "Runs";
