// anywidget entry point. The Python side (nebula_jupyter/widget.py) syncs these traits:
//   run_id, height_px, tail_bytes, show_cancel, font_size_px, base_url
// Never a token: the model is saved into the notebook; credentials come from the page.

import { DisposableStore, toDisposable } from "./disposables";
import { browserSessionDeps, RunSession, type SessionOptions } from "./session";
import { RunTerminal } from "./terminal";

/** The slice of anywidget's model API we use. */
export interface WidgetModel {
  get(name: string): unknown;
  on(event: string, callback: () => void): void;
  off(event: string, callback: () => void): void;
}

function readString(model: WidgetModel, name: string, fallback: string): string {
  const value = model.get(name);
  return typeof value === "string" ? value : fallback;
}

function readInt(model: WidgetModel, name: string, fallback: number): number {
  const value = model.get(name);
  return typeof value === "number" && Number.isFinite(value) && value >= 0 ? Math.floor(value) : fallback;
}

function readBool(model: WidgetModel, name: string, fallback: boolean): boolean {
  const value = model.get(name);
  return typeof value === "boolean" ? value : fallback;
}

export function readOptions(model: WidgetModel): SessionOptions {
  return {
    runId: readString(model, "run_id", ""),
    baseUrl: readString(model, "base_url", ""),
    tailBytes: readInt(model, "tail_bytes", 2_000_000),
    heightPx: readInt(model, "height_px", 320),
    fontSizePx: readInt(model, "font_size_px", 13) || 13,
    showCancel: readBool(model, "show_cancel", true),
  };
}

function render({ model, el }: { model: WidgetModel; el: HTMLElement }): () => void {
  const store = new DisposableStore();
  const deps = browserSessionDeps(
    (container, fontSizePx, maxHeightPx) => new RunTerminal(container, fontSizePx, maxHeightPx),
  );
  let session: RunSession | null = null;

  // A new run (or server) is a new stream: tear everything down and attach afresh.
  const attach = () => {
    session?.dispose();
    session = new RunSession(el, readOptions(model), deps);
  };
  const on = (event: string, callback: () => void) => {
    model.on(event, callback);
    store.add(toDisposable(() => model.off(event, callback)));
  };

  attach();
  store.add(toDisposable(() => session?.dispose()));
  on("change:run_id", attach);
  on("change:base_url", attach);
  on("change:height_px", () => session?.setHeight(readOptions(model).heightPx));
  on("change:font_size_px", () => session?.setFontSize(readOptions(model).fontSizePx));
  on("change:show_cancel", () => session?.setShowCancel(readOptions(model).showCancel));
  // tail_bytes only shapes the first replay of a stream; it applies from the next attach.

  return () => store.dispose();
}

export default { render };
