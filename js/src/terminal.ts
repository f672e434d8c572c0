// The xterm.js view of a run: output only (stdin disabled), fitted to its container's width
// and height, themed from JupyterLab. xterm itself keeps following new output unless the user
// has scrolled up, so nothing here ever scrolls programmatically.

import { FitAddon } from "@xterm/addon-fit";
import { WebLinksAddon } from "@xterm/addon-web-links";
import { Terminal } from "@xterm/xterm";
import { DisposableStore, toDisposable, type Disposable } from "./disposables";
import { openHttpLink } from "./links";
import type { TerminalSink } from "./output";
import { fontFamily, jupyterTheme } from "./theme";

// Lines kept above the screen. Each costs ~12 bytes per column, and a notebook may show many
// runs; the full log is always one click away (the logs endpoint keeps every byte).
const SCROLLBACK_LINES = 10_000;

export class RunTerminal implements TerminalSink, Disposable {
  private readonly store = new DisposableStore();
  private readonly term: Terminal;
  private readonly fitAddon = new FitAddon();
  private fitFrame: number | null = null;

  constructor(private readonly container: HTMLElement, fontSize: number) {
    this.term = this.store.add(
      new Terminal({
        convertEol: true, // pipes send bare "\n": start each line at column 0
        disableStdin: true,
        cursorBlink: false,
        cursorInactiveStyle: "none",
        scrollback: SCROLLBACK_LINES,
        fontSize,
        fontFamily: fontFamily(container),
        theme: jupyterTheme(container),
        // OSC 8 hyperlinks emitted by the program: same http(s)-only rule as plain-text links.
        linkHandler: { activate: (_event, text) => openHttpLink(text), allowNonHttpProtocols: false },
      }),
    );
    this.term.loadAddon(this.fitAddon);
    this.term.loadAddon(new WebLinksAddon((_event, uri) => openHttpLink(uri)));
    this.term.open(container);

    const resizes = new ResizeObserver(() => this.scheduleFit());
    resizes.observe(container);
    this.store.add(toDisposable(() => resizes.disconnect()));
    this.watchTheme();
    this.store.add(toDisposable(() => this.cancelFit()));
    this.scheduleFit();
  }

  write(data: string, callback: () => void): void {
    this.term.write(data, callback);
  }

  setFontSize(px: number): void {
    this.term.options.fontSize = px;
    this.scheduleFit();
  }

  dispose(): void {
    this.store.dispose();
  }

  /** Fit in the next frame: fitting inside a ResizeObserver callback can resize the observed
   * element again in the same frame (the "ResizeObserver loop" warning). */
  private scheduleFit(): void {
    if (this.fitFrame !== null || this.store.isDisposed) return;
    this.fitFrame = requestAnimationFrame(() => {
      this.fitFrame = null;
      try {
        this.fitAddon.fit(); // a no-op while the container is hidden (zero size)
      } catch (err) {
        console.warn("nebula: could not fit the terminal", err);
      }
    });
  }

  private cancelFit(): void {
    if (this.fitFrame !== null) cancelAnimationFrame(this.fitFrame);
    this.fitFrame = null;
  }

  private watchTheme(): void {
    if (!document.body) return;
    const observer = new MutationObserver(() => {
      this.term.options.theme = jupyterTheme(this.container);
    });
    observer.observe(document.body, {
      attributes: true,
      attributeFilter: ["data-jp-theme-light", "data-jp-theme-name"],
    });
    this.store.add(toDisposable(() => observer.disconnect()));
  }
}
