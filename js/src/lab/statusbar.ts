// The status bar item: how many runs are active (queued or running) on the server, from the
// model's active-runs poll (the same requests that keep the panel live); a click shows the panel.

import { Widget } from "@lumino/widgets";
import { DisposableStore } from "../disposables";
import { runsIcon } from "./icons";
import { activeRunsText, STATUS_BAR_CAPTION } from "./messages";
import type { RunsModel } from "./model";

export class ActiveRunsItem extends Widget {
  private readonly store = new DisposableStore();
  private readonly text: HTMLSpanElement;

  constructor(
    private readonly model: RunsModel,
    onClick: () => void,
  ) {
    super();
    this.addClass("nebula-statusbar-item");
    this.addClass("jp-mod-highlighted");
    this.node.title = STATUS_BAR_CAPTION;
    this.node.setAttribute("role", "button");
    this.node.tabIndex = 0;
    runsIcon.element({ container: this.node, tag: "span", elementSize: "small" });
    this.text = document.createElement("span");
    this.text.className = "nebula-statusbar-text";
    this.node.append(this.text);
    this.store.listen(this.node, "click", onClick);
    this.store.listen(this.node, "keydown", (event) => {
      if (event.key === "Enter" || event.key === " ") onClick();
    });
    this.store.add(model.onChange(() => this.render()));
    this.render();
  }

  override dispose(): void {
    this.store.dispose();
    super.dispose();
  }

  private render(): void {
    const count = this.model.activeCount;
    this.text.textContent = activeRunsText(count);
    this.node.dataset.activeCount = count === null ? "" : String(count);
  }
}
