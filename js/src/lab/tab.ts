// A run in a main-area tab: the notebook widget's own session (RunSession: stream, resume, flow
// control, terminal, badge, Cancel) filling the tab, and a toolbar with where it runs, when it
// started, its log and its id. Nothing about streaming is done here.

import { MainAreaWidget } from "@jupyterlab/apputils";
import { copyIcon, downloadIcon, Toolbar, ToolbarButton } from "@jupyterlab/ui-components";
import type { Message } from "@lumino/messaging";
import { Widget } from "@lumino/widgets";
import type { RunRecord } from "../protocol";
import { RunSession, type SessionDeps } from "../session";
import { placeText } from "../status";
import { RunTerminal } from "../terminal";
import { commandText, formatStart, runLabel } from "./format";
import { runsIcon } from "./icons";
import {
  ACTION_COPY_ID,
  ACTION_DOWNLOAD,
  COPY_ID_BUTTON,
  DOWNLOAD_BUTTON,
  startedText,
} from "./messages";
import type { LabSettings } from "./settings";

/** History replayed when a tab opens; the banner links the full log beyond it. */
export const TAB_TAIL_BYTES = 2_000_000;

export interface RunTabOptions {
  runId: string;
  settings: LabSettings;
  sessionDeps: (terminalOptions: TerminalFactoryOptions) => SessionDeps;
  onRun(run: RunRecord): void;
  download(runId: string): void;
  copyId(runId: string): void;
}

export interface TerminalFactoryOptions {
  scrollback: number;
}

/** The tab's content: the session's view, the terminal filling what the header leaves. */
export class RunTabContent extends Widget {
  readonly runId: string;
  private readonly session: RunSession;
  private terminal: RunTerminal | null = null;

  constructor(
    options: RunTabOptions,
    private readonly onRecord: (run: RunRecord) => void,
  ) {
    super();
    this.runId = options.runId;
    this.addClass("nebula-lab-run");
    this.node.tabIndex = -1;
    this.id = `nebula-run-content-${options.runId}`;
    const deps = options.sessionDeps({ scrollback: options.settings.scrollback });
    const createTerminal = deps.createTerminal;
    this.session = new RunSession(
      this.node,
      {
        runId: options.runId,
        baseUrl: "",
        tailBytes: TAB_TAIL_BYTES,
        heightPx: 0, // the tab's stylesheet sizes the terminal (layout "fill")
        fontSizePx: options.settings.terminalFontSize,
        showCancel: true,
        onRun: (run) => {
          // A terminal-mode run learnt of while its tab has the focus gets the keyboard.
          if (run.tty && this.node.contains(document.activeElement)) this.session.focus();
          this.onRecord(run);
          options.onRun(run);
        },
      },
      {
        ...deps,
        createTerminal: (container, fontSizePx, maxHeightPx) => {
          const terminal = createTerminal(container, fontSizePx, maxHeightPx);
          if (terminal instanceof RunTerminal) this.terminal = terminal;
          return terminal;
        },
      },
    );
  }

  get record(): RunRecord | null {
    return this.session.record;
  }

  applySettings(settings: LabSettings): void {
    this.session.setFontSize(settings.terminalFontSize);
    this.terminal?.setScrollback(settings.scrollback);
  }

  override dispose(): void {
    if (this.isDisposed) return;
    this.session.dispose();
    super.dispose();
  }

  protected override onActivateRequest(msg: Message): void {
    super.onActivateRequest(msg);
    // Keystrokes go to a terminal-mode run's program; a plain run's tab takes the focus itself
    // (its terminal has no input, and would show a cursor that means nothing).
    if (!this.session.focus()) this.node.focus();
  }
}

/** A run's tab: a MainAreaWidget (Lab's own tab look, toolbar included) around the content. */
export class RunTab extends MainAreaWidget<RunTabContent> {
  private readonly place: HTMLSpanElement;

  constructor(options: RunTabOptions) {
    const place = document.createElement("span");
    place.className = "nebula-tab-place";
    let tab: RunTab | null = null;
    const content = new RunTabContent(options, (run) => tab?.showRecord(run));
    super({ content });
    tab = this;
    this.place = place;
    this.id = RunTab.idFor(options.runId);
    this.addClass("nebula-run-tab");
    this.title.label = options.runId;
    this.title.icon = runsIcon;
    this.title.closable = true;
    this.title.caption = options.runId;
    this.toolbar.addItem("place", new Widget({ node: place }));
    this.toolbar.addItem("spacer", Toolbar.createSpacerItem());
    this.toolbar.addItem(
      "download",
      new ToolbarButton({
        icon: downloadIcon,
        label: DOWNLOAD_BUTTON,
        tooltip: ACTION_DOWNLOAD,
        className: "nebula-tab-download",
        onClick: () => options.download(options.runId),
      }),
    );
    this.toolbar.addItem(
      "copy",
      new ToolbarButton({
        icon: copyIcon,
        label: COPY_ID_BUTTON,
        tooltip: ACTION_COPY_ID,
        className: "nebula-tab-copy-id",
        onClick: () => options.copyId(options.runId),
      }),
    );
  }

  static idFor(runId: string): string {
    return `nebula-run-${runId}`;
  }

  get runId(): string {
    return this.content.runId;
  }

  /** The title and details follow the record: name, command, status, where, when. */
  showRecord(run: RunRecord): void {
    const label = runLabel(run);
    this.title.label = label;
    this.title.caption = `${label} (${run.status})\n${commandText(run.command)}\n${run.id}`;
    this.title.className = `nebula-tab-title nebula-status-${run.status}`;
    const started = formatStart(run.started_at ?? run.created_at, Date.now());
    this.place.textContent = [placeText(run), started === "" ? "" : startedText(started)]
      .filter((part) => part !== "")
      .join(" · ");
    this.place.title = run.host ?? "";
  }
}
