// The widget's DOM: a header (name, status badge, connection state, Cancel), a truncation
// banner, a message line and the terminal container. Class names and data attributes are
// stable on purpose: browser tests and users' CSS select on them.

import { CANCEL_TOOLTIP, CONNECTION_TEXT, DOWNLOAD_LOG, truncatedText } from "./messages";
import type { RunRecord } from "./protocol";
import { badgeText, cancelButtonState, headerParts, placeText, type ShownStatus } from "./status";

export type ShownConnection = "connecting" | "open" | "reconnecting" | "closed" | "unavailable";

/** Create an element with a class name, appended to `parent` when given. */
export function element<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  className: string,
  parent?: HTMLElement,
): HTMLElementTagNameMap[K] {
  const el = document.createElement(tag);
  el.className = className;
  parent?.appendChild(el);
  return el;
}

export class RunView {
  readonly root: HTMLDivElement;
  readonly terminalContainer: HTMLDivElement;
  readonly cancelButton: HTMLButtonElement;
  readonly downloadLink: HTMLAnchorElement;
  private readonly title: HTMLSpanElement;
  private readonly badge: HTMLSpanElement;
  private readonly connection: HTMLSpanElement;
  private readonly banner: HTMLDivElement;
  private readonly bannerText: HTMLSpanElement;
  private readonly message: HTMLDivElement;
  private status: ShownStatus = "unknown";
  private showCancel = true;
  private detached = false;

  constructor(parent: HTMLElement, runId: string) {
    this.root = element("div", "nebula-run", parent);
    this.root.dataset.runId = runId;
    this.root.dataset.bytesWritten = "0";

    const header = element("div", "nebula-header", this.root);
    this.title = element("span", "nebula-title", header);
    this.title.textContent = runId;
    this.badge = element("span", "nebula-badge", header);
    this.connection = element("span", "nebula-connection", header);
    this.connection.setAttribute("aria-live", "polite");
    element("span", "nebula-spacer", header);
    this.cancelButton = element("button", "nebula-cancel", header);
    this.cancelButton.type = "button";
    this.cancelButton.title = CANCEL_TOOLTIP;

    this.banner = element("div", "nebula-truncated", this.root);
    this.banner.hidden = true;
    this.bannerText = element("span", "nebula-truncated-text", this.banner);
    this.downloadLink = element("a", "nebula-download", this.banner);
    this.downloadLink.textContent = DOWNLOAD_LOG;

    this.message = element("div", "nebula-message", this.root);
    this.message.hidden = true;
    this.message.setAttribute("role", "status");

    this.terminalContainer = element("div", "nebula-term", this.root);

    this.setStatus("unknown", null, false, false);
    this.setConnection("connecting");
  }

  setStatus(
    status: ShownStatus,
    run: RunRecord | null,
    cancelRequested: boolean,
    cancelPending: boolean,
  ): void {
    this.status = status;
    this.root.dataset.status = status;
    this.badge.dataset.status = status;
    this.badge.textContent = badgeText(status, run);
    if (run !== null) {
      this.badge.title = placeText(run);
      this.title.textContent = run.name ?? run.id;
      const command = Array.isArray(run.command) ? run.command.join(" ") : run.command;
      this.title.title = command ? `${run.id}: ${command}` : run.id;
    }
    const button = cancelButtonState(status, cancelRequested, cancelPending);
    this.cancelButton.textContent = button.label;
    this.cancelButton.disabled = button.disabled || this.detached;
    this.cancelButton.dataset.phase = button.phase;
    this.cancelButton.setAttribute(
      "aria-busy",
      String(button.phase === "pending" || button.phase === "requested"),
    );
    this.applyHeaderParts();
  }

  setConnection(state: ShownConnection): void {
    this.root.dataset.connection = state;
    this.connection.dataset.connection = state;
    this.connection.textContent = CONNECTION_TEXT[state];
  }

  setShowCancel(show: boolean): void {
    this.showCancel = show;
    this.applyHeaderParts();
  }

  /** This view will not hear from the run again (see `headerParts`); Cancel is disabled for good. */
  setDetached(): void {
    this.detached = true;
    this.cancelButton.disabled = true;
    this.applyHeaderParts();
  }

  setBytesWritten(count: number): void {
    this.root.dataset.bytesWritten = String(count);
  }

  showTruncated(skippedBytes: number, firstSeq: number, logsHref: string, fileName: string): void {
    this.banner.hidden = false;
    this.banner.dataset.skippedBytes = String(skippedBytes);
    this.banner.dataset.firstSeq = String(firstSeq);
    this.bannerText.textContent = truncatedText(skippedBytes);
    this.downloadLink.href = logsHref;
    this.downloadLink.download = fileName;
  }

  showMessage(text: string, kind: "info" | "error" = "error"): void {
    this.message.hidden = text === "";
    this.message.dataset.kind = kind;
    this.message.textContent = text;
  }

  hideTerminal(): void {
    this.terminalContainer.hidden = true;
  }

  private applyHeaderParts(): void {
    const parts = headerParts(this.status, this.detached, this.showCancel);
    this.badge.hidden = !parts.badge;
    this.cancelButton.hidden = !parts.cancel;
  }

  remove(): void {
    this.root.remove();
  }
}
