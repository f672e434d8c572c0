// The Runs panel (left sidebar): every run, newest first, a page at a time, with a live badge,
// name, command, start time and duration, a status filter and per-row actions. It draws what
// RunsModel holds; the model decides what to fetch (model.ts says why it polls so little).
//
// Rows are keyed by run id and patched in place: a tick that changed one status touches one row,
// and thousands of listed runs cost nothing per tick but a comparison each. The durations of
// running runs tick locally, once a second, without any request.

import {
  addIcon,
  copyIcon,
  deleteIcon,
  downloadIcon,
  type LabIcon,
  refreshIcon,
  stopIcon,
  Toolbar,
  ToolbarButton,
} from "@jupyterlab/ui-components";
import type { Message } from "@lumino/messaging";
import { Panel, Widget } from "@lumino/widgets";
import { DisposableStore, toDisposable } from "../disposables";
import { RUN_STATUSES, type RunRecord, type RunStatus } from "../protocol";
import { badgeText, endDetail } from "../status";
import { element } from "../view";
import { commandText, durationMs, formatDuration, formatStart, runLabel } from "./format";
import {
  ACTION_CANCEL,
  ACTION_COPY_ID,
  ACTION_DELETE,
  ACTION_DOWNLOAD,
  ALL_STATUSES,
  FILTER_LABEL,
  LOAD_MORE,
  LOADING,
  LOADING_MORE,
  NEW_RUN_CAPTION,
  NO_RUNS,
  noRunsWith,
  PANEL_TITLE,
  panelErrorText,
  REFRESH,
  statusFilterText,
} from "./messages";
import { isActive, type RunsModel } from "./model";

/** What the rows' buttons do; the plugin wires them to REST calls and commands. */
export interface RunActions {
  open(id: string): void;
  cancel(id: string): void;
  delete(id: string): void;
  download(id: string): void;
  copyId(id: string): void;
  newRun(): void;
}

type Action = "cancel" | "delete" | "download" | "copy";

const ACTIONS: ReadonlyArray<{ action: Action; icon: LabIcon; title: string }> = [
  { action: "cancel", icon: stopIcon, title: ACTION_CANCEL },
  { action: "delete", icon: deleteIcon, title: ACTION_DELETE },
  { action: "download", icon: downloadIcon, title: ACTION_DOWNLOAD },
  { action: "copy", icon: copyIcon, title: ACTION_COPY_ID },
];

/** One run's row. Its DOM is built once; `update` rewrites only what the record changed. */
class RunRow {
  readonly node: HTMLLIElement;
  private readonly badge: HTMLSpanElement;
  private readonly name: HTMLSpanElement;
  private readonly command: HTMLSpanElement;
  private readonly start: HTMLSpanElement;
  private readonly duration: HTMLSpanElement;
  private readonly end: HTMLSpanElement;
  private readonly buttons = new Map<Action, HTMLButtonElement>();
  private shown: RunRecord | null = null;

  constructor(readonly id: string) {
    this.node = element("li", "nebula-runs-row");
    this.node.dataset.runId = id;
    this.node.tabIndex = 0;
    this.badge = element("span", "nebula-badge", this.node);
    this.name = element("span", "nebula-runs-name", this.node);
    const actions = element("span", "nebula-runs-actions", this.node);
    for (const { action, icon, title } of ACTIONS) {
      const button = element("button", "nebula-runs-action jp-Button jp-mod-minimal", actions);
      button.type = "button";
      button.dataset.action = action;
      button.title = title;
      button.setAttribute("aria-label", title);
      icon.element({ container: button, tag: "span", elementSize: "normal" });
      this.buttons.set(action, button);
    }
    this.command = element("span", "nebula-runs-command", this.node);
    const times = element("span", "nebula-runs-times", this.node);
    this.start = element("span", "nebula-runs-start", times);
    this.duration = element("span", "nebula-runs-duration", times);
    this.end = element("span", "nebula-runs-end", times);
  }

  update(run: RunRecord, now: number): void {
    if (this.shown !== run) {
      this.shown = run;
      const label = runLabel(run);
      const command = commandText(run.command);
      this.node.dataset.status = run.status;
      this.node.setAttribute("aria-label", `${label}: ${run.status}`);
      this.badge.dataset.status = run.status;
      // The badge says the status only (a sidebar is narrow); how it ended follows the times.
      this.badge.textContent = run.status;
      this.badge.title = badgeText(run.status, run);
      this.end.textContent = endDetail(run);
      this.name.textContent = label;
      this.name.title = run.id;
      this.command.textContent = command;
      this.command.title = run.cwd === "" ? command : `${command}\n(in ${run.cwd})`;
      this.start.textContent = formatStart(run.created_at, now);
      this.start.title = run.created_at ?? "";
      const active = isActive(run);
      this.setButton("cancel", active, run.cancel_requested);
      this.setButton("delete", !active, false);
    }
    this.tickDuration(now);
  }

  tickDuration(now: number): void {
    const run = this.shown;
    if (run === null) return;
    const ms = durationMs(run, now);
    this.duration.textContent = ms === null ? "" : formatDuration(ms);
  }

  get active(): boolean {
    return this.shown !== null && isActive(this.shown);
  }

  private setButton(action: Action, shown: boolean, disabled: boolean): void {
    const button = this.buttons.get(action);
    if (button === undefined) return;
    button.hidden = !shown;
    button.disabled = disabled;
  }
}

export class RunsPanel extends Panel {
  private readonly store = new DisposableStore();
  private readonly body: HTMLDivElement;
  private readonly list: HTMLUListElement;
  private readonly state: HTMLDivElement;
  private readonly error: HTMLDivElement;
  private readonly more: HTMLButtonElement;
  private readonly filter: HTMLSelectElement;
  private readonly rows = new Map<string, RunRow>();
  private frame: number | null = null;
  private clock: ReturnType<typeof setInterval> | null = null;

  constructor(
    private readonly model: RunsModel,
    private readonly actions: RunActions,
  ) {
    super();
    this.addClass("nebula-runs-panel");
    this.title.caption = PANEL_TITLE;

    const toolbar = new Toolbar();
    toolbar.addClass("nebula-runs-toolbar");
    const heading = new Widget({ node: element("h2", "nebula-runs-heading") });
    heading.node.textContent = PANEL_TITLE;
    toolbar.addItem("heading", heading);
    toolbar.addItem("spacer", Toolbar.createSpacerItem());
    toolbar.addItem(
      "new",
      new ToolbarButton({
        icon: addIcon,
        tooltip: NEW_RUN_CAPTION,
        className: "nebula-runs-new",
        onClick: () => actions.newRun(),
      }),
    );
    toolbar.addItem(
      "refresh",
      new ToolbarButton({
        icon: refreshIcon,
        tooltip: REFRESH,
        className: "nebula-runs-refresh",
        onClick: () => void model.reload(),
      }),
    );
    this.addWidget(toolbar);

    const filterBar = element("label", "nebula-runs-filter");
    element("span", "nebula-runs-filter-label", filterBar).textContent = FILTER_LABEL;
    this.filter = element("select", "jp-mod-styled", filterBar);
    this.filter.append(new Option(ALL_STATUSES, ""));
    for (const status of RUN_STATUSES)
      this.filter.append(new Option(statusFilterText(status), status));
    this.addWidget(new Widget({ node: filterBar }));

    this.body = element("div", "nebula-runs-body");
    this.error = element("div", "nebula-runs-error", this.body);
    this.error.setAttribute("role", "alert");
    this.error.hidden = true;
    this.list = element("ul", "nebula-runs-list", this.body);
    this.list.setAttribute("role", "list");
    this.state = element("div", "nebula-runs-state", this.body);
    this.more = element("button", "nebula-runs-more jp-Button jp-mod-styled", this.body);
    this.more.type = "button";
    this.more.textContent = LOAD_MORE;
    const bodyWidget = new Widget({ node: this.body });
    bodyWidget.addClass("nebula-runs-scroll");
    this.addWidget(bodyWidget);

    this.store.listen(this.filter, "change", () => {
      const value = this.filter.value;
      model.setFilter(value === "" ? null : (value as RunStatus));
    });
    this.store.listen(this.more, "click", () => void model.loadMore());
    this.store.listen(this.list, "click", (event) => this.onClick(event));
    this.store.listen(this.list, "keydown", (event) => {
      const row = (event.target as HTMLElement).closest<HTMLElement>(".nebula-runs-row");
      const id = row?.dataset.runId;
      if (event.key === "Enter" && row === event.target && id !== undefined) actions.open(id);
    });
    // Older pages load as the end of the list scrolls into sight (the button stays for the
    // keyboard, and for when the observer is not there).
    const observer = new IntersectionObserver(
      (entries) => {
        if (entries.some((entry) => entry.isIntersecting)) void model.loadMore();
      },
      { root: this.body, rootMargin: "200px" },
    );
    observer.observe(this.more);
    this.store.add(toDisposable(() => observer.disconnect()));
    this.store.add(model.onChange(() => this.scheduleRender()));
    this.render();
  }

  override dispose(): void {
    if (this.isDisposed) return;
    this.store.dispose();
    this.stopClock();
    if (this.frame !== null) cancelAnimationFrame(this.frame);
    super.dispose();
  }

  protected override onAfterShow(msg: Message): void {
    super.onAfterShow(msg);
    this.model.setListShown(true);
    this.render();
    this.startClock();
  }

  protected override onAfterHide(msg: Message): void {
    super.onAfterHide(msg);
    this.model.setListShown(false);
    this.stopClock();
  }

  protected override onAfterAttach(msg: Message): void {
    super.onAfterAttach(msg);
    if (this.isVisible) {
      this.model.setListShown(true);
      this.startClock();
    }
  }

  protected override onBeforeDetach(msg: Message): void {
    this.model.setListShown(false);
    this.stopClock();
    super.onBeforeDetach(msg);
  }

  private startClock(): void {
    if (this.clock !== null) return;
    this.clock = setInterval(() => {
      const now = Date.now();
      for (const row of this.rows.values()) if (row.active) row.tickDuration(now);
    }, 1000);
  }

  private stopClock(): void {
    if (this.clock !== null) clearInterval(this.clock);
    this.clock = null;
  }

  /** At most one render per frame, however many changes a tick brings. */
  private scheduleRender(): void {
    if (this.frame !== null || this.isDisposed) return;
    this.frame = requestAnimationFrame(() => {
      this.frame = null;
      this.render();
    });
  }

  private render(): void {
    const model = this.model;
    const now = Date.now();
    const runs = model.runs;
    const seen = new Set<string>();
    // Patch the list in the model's order: each row moves only if it is out of place.
    let cursor = this.list.firstElementChild;
    for (const run of runs) {
      seen.add(run.id);
      let row = this.rows.get(run.id);
      if (row === undefined) {
        row = new RunRow(run.id);
        this.rows.set(run.id, row);
      }
      row.update(run, now);
      if (row.node === cursor) cursor = cursor.nextElementSibling;
      else this.list.insertBefore(row.node, cursor);
    }
    for (const [id, row] of this.rows) {
      if (!seen.has(id)) {
        row.node.remove();
        this.rows.delete(id);
      }
    }

    this.filter.value = model.filter ?? "";
    this.node.dataset.loaded = String(model.loaded);
    this.node.dataset.count = String(runs.length);
    this.error.hidden = model.error === null;
    this.error.textContent = model.error === null ? "" : panelErrorText(model.error);
    let state = "";
    if (!model.loaded) state = model.error === null ? LOADING : "";
    else if (runs.length === 0) state = model.filter === null ? NO_RUNS : noRunsWith(model.filter);
    this.state.textContent = state;
    this.state.hidden = state === "";
    this.state.dataset.kind = !model.loaded ? "loading" : runs.length === 0 ? "empty" : "";
    this.more.hidden = !model.loaded || !model.hasMore;
    this.more.disabled = model.loadingOlder;
    this.more.textContent = model.loadingOlder ? LOADING_MORE : LOAD_MORE;
  }

  private onClick(event: MouseEvent): void {
    const target = event.target as HTMLElement;
    const row = target.closest<HTMLElement>(".nebula-runs-row");
    const id = row?.dataset.runId;
    if (id === undefined) return;
    const button = target.closest<HTMLButtonElement>(".nebula-runs-action");
    if (button === null) {
      this.actions.open(id);
      return;
    }
    event.stopPropagation();
    switch (button.dataset.action as Action) {
      case "cancel":
        button.disabled = true;
        this.actions.cancel(id);
        return;
      case "delete":
        this.actions.delete(id);
        return;
      case "download":
        this.actions.download(id);
        return;
      case "copy":
        this.actions.copyId(id);
        return;
    }
  }
}
