// The xterm.js view of a run: output only (stdin disabled), fitted to its container's width,
// as tall as its output up to the height_px trait (sizing.ts), themed from JupyterLab. xterm
// itself keeps following new output unless the user has scrolled up, so nothing here ever
// scrolls programmatically.

import { FitAddon } from "@xterm/addon-fit";
import { WebLinksAddon } from "@xterm/addon-web-links";
import { Terminal } from "@xterm/xterm";
import { DisposableStore, toDisposable, type Disposable } from "./disposables";
import { openHttpLink } from "./links";
import type { TerminalSink } from "./output";
import { contentRows, MIN_TERMINAL_PX, terminalHeightPx } from "./sizing";
import { fontFamily, jupyterTheme } from "./theme";

// Lines kept above the screen. Each costs ~12 bytes per column, and a notebook may show many
// runs; the full log is always one click away (the logs endpoint keeps every byte).
const SCROLLBACK_LINES = 10_000;

/** The renderer's row height in CSS pixels, read where the fit addon reads it (xterm has no
 * public API for it); 0 before the font is measured, null if xterm no longer exposes it. */
function cellHeightPx(term: Terminal): number | null {
  type Core = { _renderService?: { dimensions?: { css?: { cell?: { height?: unknown } } } } };
  const core = (term as unknown as { _core?: Core })._core;
  const height = core?._renderService?.dimensions?.css?.cell?.height;
  return typeof height === "number" ? height : null;
}

function verticalPaddingPx(element: HTMLElement | undefined): number {
  if (element === undefined) return 0;
  const style = getComputedStyle(element);
  // parseInt, as the fit addon does: the two must agree on the space left for rows.
  return (parseInt(style.paddingTop, 10) || 0) + (parseInt(style.paddingBottom, 10) || 0);
}

export class RunTerminal implements TerminalSink, Disposable {
  private readonly store = new DisposableStore();
  private readonly term: Terminal;
  private readonly fitAddon = new FitAddon();
  private layoutFrame: number | null = null;
  private fitNeeded = false;
  private growNeeded = false;
  private maxHeightPx: number;
  private heightPx = MIN_TERMINAL_PX;
  /** Whether xterm is drawing: it pauses while its screen is out of the browser's viewport. */
  private onScreen = typeof IntersectionObserver === "undefined";

  constructor(private readonly container: HTMLElement, fontSize: number, maxHeightPx: number) {
    this.maxHeightPx = maxHeightPx;
    // Start small and grow with the output: a short run leaves no big blank area.
    container.style.height = `${this.heightPx}px`;
    this.markFill();
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

    // Parsed output may need more rows; so may a resize that re-wrapped lines. Once at full
    // height neither can change it, and a flood of output costs nothing here.
    this.store.add(this.term.onWriteParsed(() => this.scheduleLayout({ grow: true })));
    this.store.add(this.term.onResize(() => this.scheduleLayout({ grow: true })));
    const resizes = new ResizeObserver(() => this.scheduleLayout({ fit: true, grow: true }));
    resizes.observe(container);
    this.store.add(toDisposable(() => resizes.disconnect()));
    this.watchVisibility();
    this.watchTheme();
    this.store.add(toDisposable(() => this.cancelLayout()));
    this.scheduleLayout({ fit: true, grow: true });
  }

  write(data: string, callback: () => void): void {
    this.term.write(data, callback);
  }

  setFontSize(px: number): void {
    this.term.options.fontSize = px;
    this.scheduleLayout({ fit: true, grow: true });
  }

  /** The height_px trait: the most the terminal grows to (a lower value shrinks it now). */
  setMaxHeight(px: number): void {
    this.maxHeightPx = px;
    this.markFill();
    this.scheduleLayout({ grow: true, force: true });
  }

  dispose(): void {
    this.store.dispose();
  }

  private get atFullHeight(): boolean {
    return this.heightPx >= Math.max(MIN_TERMINAL_PX, this.maxHeightPx);
  }

  /** `data-fill="content"` while the terminal is below height_px: then everything is on screen
   * and the stylesheet hides xterm's scrollbar, which would otherwise flash at every growth.
   * `"max"` once at full height, where it scrolls like any terminal. */
  private markFill(): void {
    this.container.dataset["fill"] = this.atFullHeight ? "max" : "content";
  }

  /** Grow and fit in the next frame, at most once per frame: fitting inside a ResizeObserver
   * callback can resize the observed element again in the same frame (the "ResizeObserver
   * loop" warning), and output can arrive many times a frame. */
  private scheduleLayout(what: { fit?: boolean; grow?: boolean; force?: boolean }): void {
    if (this.store.isDisposed) return;
    if (what.fit) this.fitNeeded = true;
    if (what.grow && (what.force || !this.atFullHeight)) this.growNeeded = true;
    if (this.layoutFrame !== null || !(this.fitNeeded || (this.growNeeded && this.onScreen))) return;
    this.layoutFrame = requestAnimationFrame(() => {
      this.layoutFrame = null;
      if (this.growNeeded && this.onScreen) {
        this.growNeeded = false;
        this.grow();
      }
      if (this.fitNeeded) {
        this.fitNeeded = false;
        try {
          this.fitAddon.fit(); // a no-op while the container is hidden (zero size)
        } catch (err) {
          console.warn("nebula: could not fit the terminal", err);
        }
      }
    });
  }

  /** Sets the container's height for the output so far; the fit then adds the rows, and xterm
   * brings the lines that had scrolled off the top back into view. */
  private grow(): void {
    const cell = cellHeightPx(this.term);
    const height =
      cell === null
        ? Math.max(MIN_TERMINAL_PX, this.maxHeightPx) // cannot measure: the fixed height of old
        : terminalHeightPx({
            contentRows: contentRows(this.term.buffer.active),
            cellHeightPx: cell,
            paddingPx: verticalPaddingPx(this.term.element),
            maxPx: this.maxHeightPx,
            currentPx: this.heightPx,
          });
    if (height === this.heightPx) return;
    this.heightPx = height;
    this.container.style.height = `${height}px`;
    this.markFill();
    this.fitNeeded = true; // in this frame, not a frame later through the ResizeObserver
  }

  /**
   * Growing waits while the terminal is off screen. xterm defers a resize made while it is not
   * drawing, but syncs its scrollbar to the old height meanwhile and never again: the view would
   * keep a stale scrollbar after scrolling into sight. This observer watches what xterm's own
   * watches, with the same rule, and is called after it (it was created later).
   */
  private watchVisibility(): void {
    if (typeof IntersectionObserver === "undefined") return;
    const screen = this.term.element?.querySelector(".xterm-screen") ?? this.container;
    const observer = new IntersectionObserver((entries) => {
      const entry = entries[entries.length - 1];
      if (entry === undefined) return;
      this.onScreen = entry.isIntersecting === undefined ? entry.intersectionRatio > 0 : entry.isIntersecting;
      if (this.onScreen) this.scheduleLayout({});
    });
    observer.observe(screen);
    this.store.add(toDisposable(() => observer.disconnect()));
  }

  private cancelLayout(): void {
    if (this.layoutFrame !== null) cancelAnimationFrame(this.layoutFrame);
    this.layoutFrame = null;
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
