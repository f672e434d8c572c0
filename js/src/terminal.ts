// The xterm.js view of a run, fitted to its container's width, themed from JupyterLab. Two
// layouts: in a notebook it is as tall as its output up to the height_px trait (sizing.ts); in a
// JupyterLab tab it fills the tab. Output only (stdin disabled) unless the run is in terminal
// mode, when it takes keystrokes and reports its size (`setInteractive`). xterm itself keeps
// following new output unless the user has scrolled up; the only scrolling done here is to open
// a view at its end, and never once the user has moved it.

import { FitAddon } from "@xterm/addon-fit";
import { WebLinksAddon } from "@xterm/addon-web-links";
import type { Terminal } from "@xterm/xterm";
import { type Disposable, DisposableStore, MutableDisposable, toDisposable } from "./disposables";
import { openHttpLink } from "./links";
import type { TerminalSink } from "./output";
import { contentRows, MIN_TERMINAL_PX, terminalHeightPx } from "./sizing";
import { fontFamily, jupyterTheme } from "./theme";
import { PageTerminal } from "./xterm";

// Lines kept above the screen by default. Each costs ~12 bytes per column, and a notebook may
// show many runs; the full log is always one click away (the logs endpoint keeps every byte).
export const SCROLLBACK_LINES = 10_000;

/** Layout frames a settle may take before it is called done anyway (a height that keeps
 * changing, e.g. a container whose width oscillates, must not hold a run's end back). */
const MAX_SETTLE_FRAMES = 10;

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

export interface TerminalLayout {
  /** "grow" (a notebook output: as tall as the output, up to the maximum height) or "fill" (a
   * tab: the container's own height, set by its stylesheet). */
  layout?: "grow" | "fill";
  scrollback?: number;
}

/** What a terminal-mode run does with the terminal: keystrokes in, and the size it should
 * draw for after every fit. */
export interface TerminalIO {
  onInput(data: string): void;
  onSize(cols: number, rows: number): void;
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
  /** Called back by the next layout frame that changes nothing (see `whenSettled`). */
  private settleWaiters: Array<() => void> = [];
  private settleFrames = 0;
  /** The user scrolled, dragged or clicked in the terminal: its scroll position is theirs. */
  private userMoved = false;
  private readonly fill: boolean;
  /** Terminal mode: takes keystrokes, and has a fixed size (programs draw for their size). */
  private interactive = false;
  private readonly io = new MutableDisposable<DisposableStore>();

  constructor(
    private readonly container: HTMLElement,
    fontSize: number,
    maxHeightPx: number,
    options: TerminalLayout = {},
  ) {
    this.maxHeightPx = maxHeightPx;
    this.fill = options.layout === "fill";
    // Start small and grow with the output: a short run leaves no big blank area.
    if (!this.fill) container.style.height = `${this.heightPx}px`;
    this.markFill();
    this.store.add(this.io);
    this.term = this.store.add(
      new PageTerminal({
        // Pipes, and terminal mode too (the server turns the pty's output processing off, so
        // the stored bytes are what the program wrote), send bare "\n": start lines at column 0.
        convertEol: true,
        disableStdin: true,
        cursorBlink: false,
        cursorInactiveStyle: "none",
        scrollback: options.scrollback ?? SCROLLBACK_LINES,
        fontSize,
        fontFamily: fontFamily(container),
        theme: jupyterTheme(container),
        // OSC 8 hyperlinks emitted by the program: same http(s)-only rule as plain-text links.
        linkHandler: {
          activate: (_event, text) => openHttpLink(text),
          allowNonHttpProtocols: false,
        },
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
    this.watchUser();
    this.watchTheme();
    this.store.add(toDisposable(() => this.cancelLayout()));
    this.scheduleLayout({ fit: true, grow: true });
  }

  write(data: string, callback: () => void): void {
    this.term.write(data, callback);
  }

  /**
   * Calls `done` once everything written so far is parsed and laid out and the height has
   * stopped changing for it; opens the view at its end unless the user has moved it. The moment
   * a run's end can be shown without the view changing size after it. Also while the view is
   * out of sight: its height is set all the same (rows are measured off screen too), so
   * scrolling to it later does not push what is below it.
   */
  whenSettled(done: () => void): void {
    this.term.write("", () => {
      if (this.store.isDisposed) return;
      this.settleWaiters.push(done);
      this.scheduleLayout({ fit: true, grow: true, force: true });
    });
  }

  setFontSize(px: number): void {
    this.term.options.fontSize = px;
    this.scheduleLayout({ fit: true, grow: true });
  }

  /** The height_px trait: the most the terminal grows to (a lower value shrinks it now). */
  setMaxHeight(px: number): void {
    this.maxHeightPx = px;
    if (this.interactive && !this.fill) this.useFullHeight();
    this.markFill();
    this.scheduleLayout({ grow: true, force: true });
  }

  setScrollback(lines: number): void {
    this.term.options.scrollback = lines;
  }

  get cols(): number {
    return this.term.cols;
  }

  get rows(): number {
    return this.term.rows;
  }

  /**
   * Terminal mode on (`io`) or off (null). On: keystrokes go to `io.onInput` (Ctrl-C included,
   * as "\x03": it is the program's to handle, Cancel stops a run), a cursor shows, and the
   * terminal takes its full height at once, since a program draws for the size it is told
   * (`io.onSize`, after every fit) rather than for its output so far.
   */
  setInteractive(io: TerminalIO | null): void {
    this.io.clear();
    this.interactive = io !== null;
    this.term.options.disableStdin = io === null;
    this.term.options.cursorBlink = io !== null;
    this.term.options.cursorInactiveStyle = io === null ? "none" : "outline";
    if (io === null) return;
    const listeners = new DisposableStore();
    listeners.add(this.term.onData((data) => io.onInput(data)));
    listeners.add(this.term.onResize(({ cols, rows }) => io.onSize(cols, rows)));
    this.io.value = listeners;
    if (!this.fill) this.useFullHeight();
    this.scheduleLayout({ fit: true });
  }

  focus(): void {
    this.term.focus();
  }

  dispose(): void {
    this.store.dispose();
  }

  private get atFullHeight(): boolean {
    return this.fill || this.heightPx >= Math.max(MIN_TERMINAL_PX, this.maxHeightPx);
  }

  private useFullHeight(): void {
    this.heightPx = Math.max(MIN_TERMINAL_PX, this.maxHeightPx);
    this.container.style.height = `${this.heightPx}px`;
    this.markFill();
    this.fitNeeded = true;
  }

  /** `data-fill="content"` while the terminal is below height_px: then everything is on screen
   * and the stylesheet hides xterm's scrollbar, which would otherwise flash at every growth.
   * `"max"` once at full height, where it scrolls like any terminal. */
  private markFill(): void {
    this.container.dataset.fill = this.atFullHeight ? "max" : "content";
  }

  /** Grow and fit in the next frame, at most once per frame: fitting inside a ResizeObserver
   * callback can resize the observed element again in the same frame (the "ResizeObserver
   * loop" warning), and output can arrive many times a frame. */
  private scheduleLayout(what: { fit?: boolean; grow?: boolean; force?: boolean }): void {
    if (this.store.isDisposed) return;
    if (what.fit) this.fitNeeded = true;
    if (what.grow && (what.force || !this.atFullHeight)) this.growNeeded = true;
    if (this.layoutFrame !== null || !(this.fitNeeded || this.growNeeded)) return;
    this.layoutFrame = requestAnimationFrame(() => {
      this.layoutFrame = null;
      this.layout();
    });
  }

  private layout(): void {
    const before = this.heightPx;
    if (this.growNeeded) {
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
    if (this.settleWaiters.length === 0) return;
    // A fit that changed the rows has asked for one more frame (onResize): settled is a frame
    // in which nothing was left to change.
    const settled = this.heightPx === before && !this.growNeeded && !this.fitNeeded;
    if (!settled && ++this.settleFrames < MAX_SETTLE_FRAMES) {
      this.scheduleLayout({ grow: true, force: true });
      return;
    }
    this.settleFrames = 0;
    if (!this.userMoved) this.term.scrollToBottom();
    const waiters = this.settleWaiters;
    this.settleWaiters = [];
    for (const done of waiters) done();
  }

  /** Sets the container's height for the output so far; the fit then adds the rows, and xterm
   * brings the lines that had scrolled off the top back into view. */
  private grow(): void {
    if (this.fill || this.interactive) return;
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

  /** Anything that moves the scroll position by hand (wheel, scrollbar, selection, keys). In
   * the capture phase: xterm's scrollable element stops the wheel events it uses. */
  private watchUser(): void {
    for (const type of ["wheel", "pointerdown", "keydown", "touchstart"] as const) {
      const moved = () => {
        // Typing into a terminal-mode run is not moving its view (xterm scrolls to the input).
        if (!(type === "keydown" && this.interactive)) this.userMoved = true;
      };
      this.store.listen(this.container, type, moved, { capture: true, passive: true });
    }
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
