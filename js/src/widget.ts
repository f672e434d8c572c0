// anywidget entry point. The traits are those nebula_jupyter/widget.py syncs. Never a token:
// the model is saved into the notebook; credentials come from the page.

import type { AnyModel, AnyWidget, Render } from "@anywidget/types";
import { DisposableStore, MutableDisposable, toDisposable } from "./disposables";
import { browserSessionDeps, RunSession, type SessionOptions } from "./session";
import { RunTerminal } from "./terminal";

/** The synced traits of `RunTerminal` (nebula_jupyter/widget.py). */
export interface RunTerminalTraits {
  run_id: string;
  height_px: number;
  tail_bytes: number;
  show_cancel: boolean;
  font_size_px: number;
  base_url: string;
}

export type RunTerminalModel = AnyModel<RunTerminalTraits>;

// The declared types are what the Python side promises; the values still come from a saved
// notebook or another front end, so each is checked before use.

function stringOr(value: unknown, fallback: string): string {
  return typeof value === "string" ? value : fallback;
}

function countOr(value: unknown, fallback: number): number {
  return typeof value === "number" && Number.isFinite(value) && value >= 0
    ? Math.floor(value)
    : fallback;
}

function boolOr(value: unknown, fallback: boolean): boolean {
  return typeof value === "boolean" ? value : fallback;
}

export function readOptions(model: RunTerminalModel): SessionOptions {
  return {
    runId: stringOr(model.get("run_id"), ""),
    baseUrl: stringOr(model.get("base_url"), ""),
    tailBytes: countOr(model.get("tail_bytes"), 2_000_000),
    heightPx: countOr(model.get("height_px"), 320),
    fontSizePx: countOr(model.get("font_size_px"), 13) || 13,
    showCancel: boolOr(model.get("show_cancel"), true),
  };
}

const render: Render<RunTerminalTraits> = ({ model, el }) => {
  const store = new DisposableStore();
  const deps = browserSessionDeps(
    (container, fontSizePx, maxHeightPx) => new RunTerminal(container, fontSizePx, maxHeightPx),
  );
  const session = store.add(new MutableDisposable<RunSession>());

  // A new run (or server) is a new stream: tear everything down and attach afresh. The old
  // session goes first, so that a view never holds two streams or two terminals at once.
  const attach = () => {
    session.clear();
    session.value = new RunSession(el, readOptions(model), deps);
  };
  const on = (trait: keyof RunTerminalTraits, callback: () => void) => {
    model.on(`change:${trait}`, callback);
    store.add(toDisposable(() => model.off(`change:${trait}`, callback)));
  };

  attach();
  on("run_id", attach);
  on("base_url", attach);
  on("height_px", () => session.value?.setHeight(readOptions(model).heightPx));
  on("font_size_px", () => session.value?.setFontSize(readOptions(model).fontSizePx));
  on("show_cancel", () => session.value?.setShowCancel(readOptions(model).showCancel));
  // tail_bytes only shapes the first replay of a stream; it applies from the next attach.

  return () => store.dispose();
};

export default { render } satisfies AnyWidget<RunTerminalTraits>;
