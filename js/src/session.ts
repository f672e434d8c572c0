// One run attached to one view: discovers the server, opens the stream, feeds the terminal and
// keeps the header in step; for a run in terminal mode, also carries keystrokes and the
// terminal's size back. The widget makes a new session whenever run_id changes; a JupyterLab
// run tab holds one for its life.

import { browserHttpDeps, cancelRun, type HttpDeps, logsUrl, lookupRun, streamUrl } from "./api";
import { discoverServer, foreignOrigin, type PageLike, type ServerConfig } from "./config";
import { RunConnection, type WebSocketLike } from "./connection";
import { type Disposable, DisposableStore, MutableDisposable, toDisposable } from "./disposables";
import { downloadLog } from "./download";
import {
  cancelFailedText,
  downloadFailedText,
  foreignOriginText,
  NO_EXTENSION,
  NO_RUN_ID,
  RUN_NOT_FOUND,
  serverErrorText,
  unauthorizedText,
} from "./messages";
import { OutputBatcher, type TerminalSink } from "./output";
import { isTerminalStatus, type RunRecord, type StatusMessage } from "./protocol";
import type { ShownStatus } from "./status";
import type { TerminalIO } from "./terminal";
import { realTimers, type Timers, timeout } from "./timers";
import { RunView } from "./view";

/** Bytes the server may have in flight to us before it waits for an ack (CONTRACT §3 window). */
export const FLOW_WINDOW_BYTES = 4 * 1024 * 1024;
/** A click that gets no confirmation (socket dropped mid-send, say) re-enables the button. */
export const CANCEL_PENDING_TIMEOUT_MS = 10_000;
/** Handshakes to a foreign-origin server that may fail before the view gives up (~2–4 s). */
export const FOREIGN_ORIGIN_ATTEMPTS = 4;

export interface SessionOptions {
  runId: string;
  baseUrl: string;
  tailBytes: number;
  heightPx: number;
  fontSizePx: number;
  showCancel: boolean;
  /** Hears every record the stream (or a REST cancel) brings, once the view shows it. */
  onRun?: ((run: RunRecord) => void) | undefined;
}

export interface TerminalLike extends TerminalSink, Disposable {
  setFontSize(px: number): void;
  setMaxHeight(px: number): void;
  /** Calls `done` once what was written so far is on screen and the size is final for it. */
  whenSettled(done: () => void): void;
  readonly cols: number;
  readonly rows: number;
  /** Terminal mode on (keystrokes to `io.onInput`, sizes to `io.onSize`) or off (null). */
  setInteractive(io: TerminalIO | null): void;
  focus(): void;
}

export interface SessionDeps {
  page: PageLike;
  http: HttpDeps;
  createSocket(url: string): WebSocketLike;
  createTerminal(container: HTMLElement, fontSizePx: number, maxHeightPx: number): TerminalLike;
  timers: Timers;
}

export function browserSessionDeps(createTerminal: SessionDeps["createTerminal"]): SessionDeps {
  return {
    page: window,
    http: browserHttpDeps(),
    createSocket: (url) => new WebSocket(url),
    createTerminal,
    timers: realTimers,
  };
}

export class RunSession implements Disposable {
  private readonly store = new DisposableStore();
  private readonly view: RunView;
  private terminal: TerminalLike | null = null;
  private status: ShownStatus = "unknown";
  private run: RunRecord | null = null;
  private cancelRequested = false;
  /** Held from a click until the server confirms or refuses the cancel, or patience runs out. */
  private readonly cancelPending = new MutableDisposable();
  private bytesWritten = 0;
  private connection: RunConnection | null = null;
  /** The terminal takes keystrokes: the run is in terminal mode and has not ended. */
  private interactive = false;

  constructor(
    parent: HTMLElement,
    private readonly options: SessionOptions,
    private readonly deps: SessionDeps,
  ) {
    this.view = new RunView(parent, options.runId);
    this.store.add(toDisposable(() => this.view.remove()));
    this.store.add(this.cancelPending);
    this.setShowCancel(options.showCancel);

    if (options.runId === "") {
      this.view.setConnection("closed");
      this.view.showMessage(NO_RUN_ID, "info");
      this.view.setDetached();
      this.view.hideTerminal();
      return;
    }
    const server = discoverServer(deps.page, options.baseUrl);
    if (server.kind === "unavailable") {
      this.view.setConnection("unavailable");
      this.view.showMessage(server.message, "info");
      this.view.setDetached();
      this.view.hideTerminal();
      return;
    }
    this.attach(server);
  }

  /** The height_px trait: the terminal grows with its output up to this. */
  setHeight(px: number): void {
    this.terminal?.setMaxHeight(px);
  }

  setShowCancel(show: boolean): void {
    this.view.setShowCancel(show);
  }

  setFontSize(px: number): void {
    this.terminal?.setFontSize(px);
  }

  /** The newest record the view has shown, or null before the first status. */
  get record(): RunRecord | null {
    return this.run;
  }

  get root(): HTMLElement {
    return this.view.root;
  }

  /** Focuses the terminal of a run that takes keystrokes; false if there is none to type into. */
  focus(): boolean {
    if (!this.interactive || this.terminal === null) return false;
    this.terminal.focus();
    return true;
  }

  dispose(): void {
    this.store.dispose();
  }

  private attach(server: ServerConfig): void {
    const { runId } = this.options;
    const terminal = this.store.add(
      this.deps.createTerminal(
        this.view.terminalContainer,
        this.options.fontSizePx,
        this.options.heightPx,
      ),
    );
    this.terminal = terminal;

    // Declared before the batcher so its write callbacks can ack; the batcher is disposed
    // after the connection (reverse order), and a disposed connection ignores acks anyway.
    let connection: RunConnection | null = null;
    const foreign = foreignOrigin(this.deps.page, server);
    const batcher = this.store.add(
      new OutputBatcher(terminal, (seq, chars) => {
        connection?.ack(seq);
        this.bytesWritten += chars;
        this.view.setBytesWritten(this.bytesWritten);
      }),
    );
    connection = this.store.add(
      new RunConnection({
        url: (params) => streamUrl(server, runId, params),
        createSocket: this.deps.createSocket,
        timers: this.deps.timers,
        tailBytes: this.options.tailBytes,
        windowBytes: FLOW_WINDOW_BYTES,
        diagnose: () => this.diagnose(server),
        // The page's own server may be restarting: retry for ever. A foreign one that never
        // answered is most likely refusing this page, and the browser will not say so.
        giveUp:
          foreign === null
            ? undefined
            : {
                afterAttempts: FOREIGN_ORIGIN_ATTEMPTS,
                message: foreignOriginText(foreign.server, foreign.page, FOREIGN_ORIGIN_ATTEMPTS),
              },
        events: {
          onState: (state) => this.view.setConnection(state),
          onStatus: (message) => {
            if (!isTerminalStatus(message.status)) {
              this.onStatus(message);
              return;
            }
            // The end is shown once the output before it is written and the terminal has its
            // final size: from the moment a view says the run is over, it no longer changes
            // height and pushes the cells below it.
            batcher.flush();
            terminal.whenSettled(() => {
              if (!this.store.isDisposed) this.onStatus(message);
            });
          },
          onOutput: (message) => batcher.push(message),
          onTruncated: (message) =>
            this.view.showTruncated(
              message.skipped_bytes,
              message.first_seq,
              logsUrl(server, runId),
              `${runId}.log`,
            ),
          onServerError: (message) => {
            // "conflict" answers a cancel of a run that already ended: its final status follows.
            if (message.code === "conflict") this.cancelPending.clear();
            else this.view.showMessage(serverErrorText(message.message || message.code));
            this.render();
          },
          onFatal: (message) => {
            this.view.showMessage(message);
            this.view.setDetached();
          },
        },
      }),
    );
    const stream = connection;
    this.connection = stream;
    this.store.listen(this.view.cancelButton, "click", () => this.cancel(server, stream));
    this.store.listen(this.view.downloadLink, "click", (event) => {
      event.preventDefault();
      void this.download(server);
    });
    stream.start();
  }

  private onStatus(message: StatusMessage): void {
    this.status = message.status;
    this.run = message.run;
    if (message.run.cancel_requested || isTerminalStatus(message.status)) {
      this.cancelRequested = message.run.cancel_requested;
      this.cancelPending.clear();
    }
    if (isTerminalStatus(message.status) && message.run.error) {
      this.view.showMessage(message.run.error);
    }
    this.updateTerminalMode(message);
    this.render();
    this.options.onRun?.(message.run);
  }

  /**
   * Terminal mode (CONTRACT §1.1) is the record's `tty`: only such a run gets keystrokes and
   * sizes, and only until it ends. The size goes out with every status of a live run: the first
   * one on each socket is how the server learns the size of a view that (re)attached, and the
   * terminal reports each later fit itself.
   */
  private updateTerminalMode(message: StatusMessage): void {
    const terminal = this.terminal;
    const connection = this.connection;
    if (terminal === null || connection === null) return;
    const live = message.run.tty && !isTerminalStatus(message.status);
    if (live && !this.interactive) {
      this.interactive = true;
      const io: TerminalIO = {
        onInput: (data) => connection.sendStdin(data),
        onSize: (cols, rows) => connection.sendResize(cols, rows),
      };
      terminal.setInteractive(io);
    } else if (!live && this.interactive) {
      this.interactive = false;
      terminal.setInteractive(null);
    }
    if (live) connection.sendResize(terminal.cols, terminal.rows);
  }

  private render(): void {
    const pending = this.cancelPending.value !== undefined;
    this.view.setStatus(this.status, this.run, this.cancelRequested, pending);
  }

  private cancel(server: ServerConfig, connection: RunConnection): void {
    if (this.cancelPending.value !== undefined || this.cancelRequested) return;
    this.cancelPending.value = timeout(this.deps.timers, CANCEL_PENDING_TIMEOUT_MS, () => {
      this.cancelPending.clear();
      this.render();
    });
    this.render();
    if (connection.sendCancel()) return; // confirmed by the status broadcast
    void cancelRun(server, this.options.runId, this.deps.http).then((result) => {
      if (this.store.isDisposed) return;
      if (result.ok) {
        this.cancelRequested = result.run.cancel_requested;
        this.options.onRun?.(result.run);
      } else if (result.status !== 409) {
        this.view.showMessage(cancelFailedText(result.message));
      }
      this.cancelPending.clear();
      this.render();
    });
  }

  /** Browsers report a refused upgrade only as close 1006; the REST record says why. */
  private async diagnose(server: ServerConfig): Promise<string | null> {
    const found = await lookupRun(server, this.options.runId, this.deps.http);
    if (found.kind === "not_found") return RUN_NOT_FOUND;
    if (found.kind === "no_extension") return NO_EXTENSION;
    if (found.kind === "unauthorized") return unauthorizedText(found.status);
    return null;
  }

  private async download(server: ServerConfig): Promise<void> {
    try {
      await downloadLog(server, this.options.runId, this.deps.http);
    } catch (err) {
      if (this.store.isDisposed) return;
      this.view.showMessage(downloadFailedText(err instanceof Error ? err.message : String(err)));
    }
  }
}
