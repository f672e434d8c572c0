// The JupyterLab (and Notebook 7) extension: runs as first-class citizens (CONTRACT §8).
// Commands nebula:open-runs, nebula:open-run, nebula:new-run and nebula:run-file; the Runs panel
// in the left sidebar; a tab per opened run, restored after a reload; notifications when a run
// started or opened here ends; the active-runs count in the status bar; settings.
//
// Everything about a run's stream (resume, flow control, terminal, cancel) is the notebook
// widget's own code (../session.ts and below): a tab is one more view of the same session.

import {
  ILabShell,
  ILayoutRestorer,
  type JupyterFrontEnd,
  type JupyterFrontEndPlugin,
} from "@jupyterlab/application";
import {
  Clipboard,
  Dialog,
  ICommandPalette,
  Notification,
  showDialog,
  WidgetTracker,
} from "@jupyterlab/apputils";
import { PathExt } from "@jupyterlab/coreutils";
import { IDefaultFileBrowser, IFileBrowserFactory } from "@jupyterlab/filebrowser";
import { ILauncher } from "@jupyterlab/launcher";
import { ISettingRegistry } from "@jupyterlab/settingregistry";
import { IStatusBar } from "@jupyterlab/statusbar";
import type { ReadonlyPartialJSONObject } from "@lumino/coreutils";
import {
  browserHttpDeps,
  type CreateRunBody,
  cancelRun,
  createRun,
  deleteRun,
  RestError,
} from "../api";
import { discoverServer, type ServerConfig } from "../config";
import { downloadLog } from "../download";
import type { RunRecord } from "../protocol";
import { browserSessionDeps } from "../session";
import { RunTerminal } from "../terminal";
import { realTimers } from "../timers";
import { askNewRun } from "./dialog";
import { outcomeText, runLabel } from "./format";
import { runsIcon } from "./icons";
import * as text from "./messages";
import { RunsModel } from "./model";
import { openInTreePage, runRequested, showInTree, treeTabs } from "./notebook7";
import { RunsPanel } from "./panel";
import { DEFAULT_SETTINGS, type LabSettings, readSettings } from "./settings";
import { ActiveRunsItem } from "./statusbar";
import { RunTab } from "./tab";

export const PLUGIN_ID = "nebula-jupyter:plugin";

export const CommandIDs = {
  openRuns: "nebula:open-runs",
  openRun: "nebula:open-run",
  newRun: "nebula:new-run",
  runFile: "nebula:run-file",
} as const;

/** Run ids as the server makes them (CONTRACT §1); anything else never reaches a URL. */
const RUN_ID = /^[A-Za-z0-9_-]{1,64}$/;
const RUNNABLE = /\.(py|sh)$/;
const PANEL_ID = "nebula-runs-panel";

function reason(err: unknown): string {
  if (err instanceof RestError) return err.message;
  return err instanceof Error ? err.message : String(err);
}

function stringArg(args: ReadonlyPartialJSONObject, key: string): string | undefined {
  const value = args[key];
  return typeof value === "string" ? value : undefined;
}

/** `command` as a create body takes it: a non-empty string or list of strings, else null. */
function commandArg(args: ReadonlyPartialJSONObject): string | string[] | null {
  const value = args.command;
  if (typeof value === "string") return value.trim() === "" ? null : value;
  if (Array.isArray(value) && value.length > 0 && value.every((v) => typeof v === "string")) {
    return value as string[];
  }
  return null;
}

const plugin: JupyterFrontEndPlugin<void> = {
  id: PLUGIN_ID,
  description: "Background runs in JupyterLab: Runs panel, run tabs, notifications.",
  autoStart: true,
  optional: [
    ILabShell,
    ILayoutRestorer,
    ICommandPalette,
    ILauncher,
    IFileBrowserFactory,
    IDefaultFileBrowser,
    IStatusBar,
    ISettingRegistry,
  ],
  activate: (
    app: JupyterFrontEnd,
    labShell: ILabShell | null,
    restorer: ILayoutRestorer | null,
    palette: ICommandPalette | null,
    launcher: ILauncher | null,
    browsers: IFileBrowserFactory | null,
    defaultBrowser: IDefaultFileBrowser | null,
    statusBar: IStatusBar | null,
    settingRegistry: ISettingRegistry | null,
  ) => {
    const found = discoverServer(window);
    if (found.kind !== "server") {
      console.warn(`nebula: ${found.message}`);
      return;
    }
    const server: ServerConfig = found;
    const http = browserHttpDeps();
    const { commands, shell } = app;
    const inLab = labShell !== null;
    let settings: LabSettings = DEFAULT_SETTINGS;

    const model = new RunsModel({ server, http, timers: realTimers });
    const tracker = new WidgetTracker<RunTab>({ namespace: "nebula-run" });

    // -- actions shared by the panel, the tabs and the commands --------------------------------

    const notifyError = (message: string) => Notification.error(message, { autoClose: 10_000 });

    const download = (id: string) => {
      downloadLog(server, id, http).catch((err) =>
        notifyError(text.actionFailedText("download the log", reason(err))),
      );
    };

    const copyId = (id: string) => {
      Clipboard.copyToSystem(id);
      Notification.info(text.copiedText(id), { autoClose: 2_000 });
    };

    const cancel = async (id: string) => {
      const result = await cancelRun(server, id, http);
      if (result.ok) model.update(result.run);
      else if (result.status !== 409) {
        notifyError(text.actionFailedText("cancel the run", result.message));
      }
      await model.refresh();
    };

    const remove = async (id: string) => {
      const run = model.get(id);
      const answer = await showDialog({
        title: text.deleteTitle(run === undefined ? id : runLabel(run)),
        body: text.DELETE_BODY,
        buttons: [Dialog.cancelButton(), Dialog.warnButton({ label: text.DELETE_BUTTON })],
      });
      if (!answer.button.accept) return;
      try {
        await deleteRun(server, id, http);
      } catch (err) {
        notifyError(text.actionFailedText("delete the run", reason(err)));
        return;
      }
      tracker.find((tab) => tab.runId === id)?.dispose();
      model.remove(id);
    };

    const currentFolder = (): string => {
      const browser = browsers?.tracker.currentWidget ?? defaultBrowser;
      const path = browser?.model.path ?? "";
      return app.serviceManager.contents.localPath(path);
    };

    // -- tabs --------------------------------------------------------------------------------

    const sessionDeps = ({ scrollback }: { scrollback: number }) =>
      browserSessionDeps(
        (container, fontSizePx, maxHeightPx) =>
          new RunTerminal(container, fontSizePx, maxHeightPx, { layout: "fill", scrollback }),
      );

    const openRun = (id: string): RunTab | null => {
      if (!RUN_ID.test(id)) {
        notifyError(text.BAD_RUN_ID);
        return null;
      }
      model.watch(id); // opened in this session: its end is announced
      const open = tracker.find((tab) => tab.runId === id);
      if (open !== undefined) {
        if (inLab) shell.activateById(open.id);
        else {
          const tabs = treeTabs(app);
          if (tabs !== null) showInTree(tabs, open);
        }
        return open;
      }
      if (!inLab && treeTabs(app) === null) {
        openInTreePage(id);
        return null;
      }
      const tab = new RunTab({
        runId: id,
        settings,
        sessionDeps,
        onRun: (run) => model.update(run),
        download,
        copyId,
      });
      const known = model.get(id);
      if (known !== undefined) tab.showRecord(known);
      void tracker.add(tab);
      if (inLab) {
        shell.add(tab, "main");
        shell.activateById(tab.id);
      } else {
        const tabs = treeTabs(app);
        if (tabs !== null) showInTree(tabs, tab);
      }
      return tab;
    };

    const startRun = async (body: CreateRunBody): Promise<RunTab | null> => {
      let run: RunRecord;
      try {
        run = await createRun(server, body, http);
      } catch (err) {
        notifyError(text.startFailedText(reason(err)));
        return null;
      }
      model.update(run, { created: true });
      return openRun(run.id);
    };

    // -- the panel and the status bar ---------------------------------------------------------

    const panel = new RunsPanel(model, {
      open: (id) => void openRun(id),
      cancel: (id) => void cancel(id),
      delete: (id) => void remove(id),
      download,
      copyId,
      newRun: () => void commands.execute(CommandIDs.newRun),
    });
    panel.id = PANEL_ID;
    panel.title.icon = runsIcon;
    panel.title.caption = text.PANEL_CAPTION;
    shell.add(panel, "left", { rank: 650, type: "Runs" });
    restorer?.add(panel, PANEL_ID);

    if (statusBar !== null) {
      statusBar.registerStatusItem("nebula-jupyter:active-runs", {
        item: new ActiveRunsItem(model, () => void commands.execute(CommandIDs.openRuns)),
        align: "left",
        rank: 5,
      });
    }

    model.onRunEnded((run) => {
      if (!settings.notifyOnFinish) return;
      const type =
        run.status === "succeeded" ? "success" : run.status === "failed" ? "error" : "warning";
      Notification.emit(text.runEndedText(runLabel(run), outcomeText(run)), type, {
        autoClose: run.status === "failed" ? 30_000 : 10_000,
        actions: [
          {
            label: text.OPEN_ACTION,
            callback: () => void commands.execute(CommandIDs.openRun, { id: run.id }),
          },
        ],
        data: { nebulaRunId: run.id },
      });
    });
    model.start();

    // -- commands -----------------------------------------------------------------------------

    commands.addCommand(CommandIDs.openRuns, {
      label: text.OPEN_RUNS_LABEL,
      caption: text.OPEN_RUNS_CAPTION,
      icon: runsIcon,
      execute: () => {
        if (!panel.isAttached) shell.add(panel, "left", { rank: 650 });
        shell.activateById(PANEL_ID);
      },
    });

    commands.addCommand(CommandIDs.openRun, {
      label: (args) =>
        typeof args.id === "string" ? `${text.OPEN_RUN_LABEL} ${args.id}` : text.OPEN_RUN_LABEL,
      caption: text.OPEN_RUN_LABEL,
      icon: runsIcon,
      describedBy: {
        args: {
          type: "object",
          properties: { id: { type: "string", description: "The run's id" } },
          required: ["id"],
        },
      },
      execute: (args) => openRun(stringArg(args, "id") ?? ""),
    });

    commands.addCommand(CommandIDs.newRun, {
      label: (args) => (args.isLauncher ? text.NEW_RUN_LAUNCHER_LABEL : text.NEW_RUN_LABEL),
      caption: text.NEW_RUN_CAPTION,
      icon: runsIcon,
      describedBy: {
        args: {
          type: "object",
          properties: {
            command: {
              oneOf: [{ type: "string" }, { type: "array", items: { type: "string" } }],
              description: "Starts at once: a shell string, or a program and its arguments",
            },
            cwd: { type: "string", description: "Folder, relative to the Jupyter root" },
            name: { type: "string" },
            tty: { type: "boolean", description: "Terminal mode" },
          },
        },
      },
      execute: async (args) => {
        const command = commandArg(args);
        const cwd = stringArg(args, "cwd") ?? currentFolder();
        const name = stringArg(args, "name") ?? "";
        const tty = typeof args.tty === "boolean" ? args.tty : settings.defaultTty;
        if (command !== null) {
          return startRun({ command, cwd, tty, ...(name === "" ? {} : { name }) });
        }
        const values = await askNewRun({ command: "", cwd, name, tty });
        if (values === null) return null;
        return startRun({
          command: values.command,
          cwd: values.cwd,
          tty: values.tty,
          ...(values.name === "" ? {} : { name: values.name }),
        });
      },
    });

    const selectedFile = (): string | null => {
      const browser = browsers?.tracker.currentWidget ?? defaultBrowser;
      const item = browser?.selectedItems().next();
      return item === undefined || item.done ? null : item.value.path;
    };

    commands.addCommand(CommandIDs.runFile, {
      label: text.RUN_FILE_LABEL,
      caption: text.RUN_FILE_CAPTION,
      icon: runsIcon,
      describedBy: {
        args: {
          type: "object",
          properties: { path: { type: "string", description: "A .py or .sh file" } },
        },
      },
      isVisible: (args) => RUNNABLE.test(stringArg(args, "path") ?? selectedFile() ?? ""),
      execute: (args) => {
        const given = stringArg(args, "path") ?? selectedFile();
        const path = app.serviceManager.contents.localPath(given ?? "");
        const match = RUNNABLE.exec(path);
        if (match === null) {
          notifyError(text.notRunnableText(path));
          return null;
        }
        const file = PathExt.basename(path);
        const folder = PathExt.dirname(path);
        const program = match[1] === "py" ? "python" : "sh";
        return startRun({
          command: [program, file],
          cwd: folder === "." ? "" : folder,
          name: file,
        });
      },
    });

    palette?.addItem({ command: CommandIDs.openRuns, category: text.CATEGORY });
    palette?.addItem({ command: CommandIDs.newRun, category: text.CATEGORY });
    launcher?.add({ command: CommandIDs.newRun, category: "Other", rank: 1 });
    app.contextMenu.addItem({
      command: CommandIDs.runFile,
      selector: '.jp-DirListing-item[data-isdir="false"]',
      rank: 3,
    });
    app.contextMenu.addItem({
      command: CommandIDs.newRun,
      selector: ".jp-DirListing-content",
      rank: 60,
    });

    // -- restoring, settings, Notebook 7 ------------------------------------------------------

    if (restorer !== null && inLab) {
      void restorer.restore(tracker, {
        command: CommandIDs.openRun,
        args: (tab) => ({ id: tab.runId }),
        name: (tab) => tab.runId,
      });
    }

    if (settingRegistry !== null) {
      Promise.all([settingRegistry.load(PLUGIN_ID), app.restored])
        .then(([loaded]) => {
          const apply = () => {
            settings = readSettings(loaded.composite as Record<string, unknown>);
            tracker.forEach((tab) => {
              tab.content.applySettings(settings);
            });
          };
          apply();
          loaded.changed.connect(apply);
        })
        .catch((err) => console.warn("nebula: settings not loaded, using defaults", err));
    }

    if (!inLab) {
      const requested = runRequested();
      if (requested !== null) void app.restored.then(() => openRun(requested));
    }
  },
};

export default plugin;
