// Notebook 7 shows one document per browser tab: its main area takes a single widget (the
// notebook, the editor, or on the tree page the tabs Files and Running). So in Notebook 7 a run
// opens as one more tab of the tree page's main area, like Running, and from any other page in a
// new browser tab of the tree page (`?nebula-run=<id>`), as Notebook 7 opens every document. The
// Runs panel sits in the left sidebar, as in JupyterLab (View > Left Sidebar shows it).

import type { JupyterFrontEnd } from "@jupyterlab/application";
import { PageConfig, URLExt } from "@jupyterlab/coreutils";
import { TabPanel, type Widget } from "@lumino/widgets";

/** The query parameter that asks a Notebook 7 tree page to open a run. */
export const RUN_PARAM = "nebula-run";

/** The tree page's tab panel (Files, Running…), or null on any other page. */
export function treeTabs(app: JupyterFrontEnd): TabPanel | null {
  for (const widget of app.shell.widgets("main")) {
    if (widget instanceof TabPanel) return widget;
  }
  return null;
}

/** Shows `widget` as a tab of the tree page (adding it the first time). */
export function showInTree(tabs: TabPanel, widget: Widget): void {
  if (!tabs.widgets.includes(widget)) tabs.addWidget(widget);
  tabs.currentWidget = widget;
}

/** Opens the tree page in a new browser tab, where the run opens (see `runRequested`). */
export function openInTreePage(runId: string): void {
  const url = new URL(URLExt.join(PageConfig.getBaseUrl(), "tree"), window.location.href);
  url.searchParams.set(RUN_PARAM, runId);
  window.open(url.href, "_blank", "noopener");
}

/** The run this page was opened for, if any. */
export function runRequested(): string | null {
  return new URLSearchParams(window.location.search).get(RUN_PARAM);
}
