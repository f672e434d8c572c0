// One run's WebSocket stream, kept alive across drops. The bookkeeping that makes resuming exact:
//   - `lastSeq` is the newest output seq seen; every reconnect asks for `after=lastSeq`, so the
//     server sends exactly what follows (nothing lost, nothing repeated), and any frame with
//     seq <= lastSeq is dropped anyway in case a server or proxy replays one.
//   - `tail=` only until the first socket opens: after that, output has been (or is being)
//     shown and a second tail would cut a hole in it.
//   - A terminal status is the last message of a run; after it, and after 4401/4404 or
//     dispose(), nothing reconnects. With `giveUp`, neither does a stream whose socket never
//     opened once in that many attempts (a foreign-origin server: nothing says why).
//   - Flow control (`window=`): acks are cumulative and strictly increasing per socket, and
//     never below the `after=` that socket started from (the server knows those already).

import type { StreamParams } from "./api";
import { Backoff } from "./backoff";
import { type Disposable, MutableDisposable } from "./disposables";
import { RUN_NOT_FOUND, STREAM_UNAUTHORIZED, streamOpenFailedText } from "./messages";
import {
  ackFrame,
  CloseCode,
  cancelFrame,
  type ErrorMessage,
  isTerminalStatus,
  type OutputMessage,
  parseServerMessage,
  resizeFrame,
  type ServerMessage,
  type StatusMessage,
  stdinFrames,
  type TruncatedMessage,
} from "./protocol";
import { realTimers, type Timers, timeout } from "./timers";

export type ConnectionState = "connecting" | "open" | "reconnecting" | "closed";

/** The part of the browser WebSocket we use; tests provide a fake. */
export interface WebSocketLike {
  readonly readyState: number;
  onopen: ((event: Event) => void) | null;
  onmessage: ((event: MessageEvent) => void) | null;
  onclose: ((event: CloseEvent) => void) | null;
  onerror: ((event: Event) => void) | null;
  send(data: string): void;
  close(code?: number, reason?: string): void;
}

const OPEN = 1;
const CLOSING = 2;

export interface ConnectionEvents {
  onState(state: ConnectionState): void;
  onStatus(message: StatusMessage): void;
  onOutput(message: OutputMessage): void;
  onTruncated(message: TruncatedMessage): void;
  onServerError(message: ErrorMessage): void;
  /** The stream stopped for good for a reason the user must be told (auth, unknown run). */
  onFatal(message: string): void;
}

export interface ConnectionOptions {
  url(params: StreamParams): string;
  createSocket(url: string): WebSocketLike;
  events: ConnectionEvents;
  /** 0 replays the whole history. */
  tailBytes: number;
  windowBytes: number;
  timers?: Timers;
  backoff?: Backoff;
  /** Called when a handshake fails before opening (browsers hide why); resolves to a message
   * that ends the stream for good, or null to keep retrying. */
  diagnose?: () => Promise<string | null>;
  /** Stop for good, with `message`, once `afterAttempts` handshakes in a row failed and no
   * socket ever opened. Without it (the page's own server) retries go on: a server that is
   * restarting comes back. */
  giveUp?: { afterAttempts: number; message: string };
}

/** One socket's own state. Disposing it silences the socket (events from a superseded socket
 * must never reach the view) and closes it normally if it is still up. */
class Attempt implements Disposable {
  opened = false;
  acked = 0;

  constructor(
    readonly socket: WebSocketLike,
    readonly after: number,
  ) {}

  dispose(): void {
    const socket = this.socket;
    socket.onopen = socket.onmessage = socket.onclose = socket.onerror = null;
    if (socket.readyState < CLOSING) socket.close(CloseCode.normal);
  }
}

export class RunConnection implements Disposable {
  private readonly timers: Timers;
  private readonly backoff: Backoff;
  /** The current socket; replaced on each reconnect, cleared when it closes. */
  private readonly attempt = new MutableDisposable<Attempt>();
  /** The pending reconnect, if any. */
  private readonly retry = new MutableDisposable();
  private everOpened = false;
  /** Handshakes that failed in a row (reset by an open). */
  private failedHandshakes = 0;
  private finished = false;
  private stopped = false;
  private currentState: ConnectionState = "connecting";
  private seen = 0;

  constructor(private readonly options: ConnectionOptions) {
    this.timers = options.timers ?? realTimers;
    this.backoff = options.backoff ?? new Backoff();
  }

  /** The newest output seq seen: the `after=` of the next connection. */
  get lastSeq(): number {
    return this.seen;
  }

  get state(): ConnectionState {
    return this.currentState;
  }

  start(): void {
    if (this.attempt.value === undefined && !this.stopped) this.connect();
  }

  /** Sends a cancel on the open socket; false if there is none (the caller falls back to REST). */
  sendCancel(): boolean {
    return this.send([cancelFrame()]);
  }

  /** Keystrokes for a tty run, split into frames the server accepts. Input typed while no socket
   * is open is dropped, as a terminal with no line drops it: resending it later could reach a
   * program in another state. */
  sendStdin(data: string): boolean {
    return this.send(stdinFrames(data));
  }

  /** The viewer's terminal size, for a tty run. */
  sendResize(cols: number, rows: number): boolean {
    return this.send([resizeFrame(cols, rows)]);
  }

  /** Everything up to `seq` has been written to the terminal. */
  ack(seq: number): void {
    const attempt = this.attempt.value;
    if (attempt === undefined || !attempt.opened || attempt.socket.readyState !== OPEN) return;
    if (seq <= Math.max(attempt.after, attempt.acked)) return;
    attempt.acked = seq;
    attempt.socket.send(ackFrame(seq));
  }

  private send(frames: string[]): boolean {
    const attempt = this.attempt.value;
    if (attempt === undefined || !attempt.opened || attempt.socket.readyState !== OPEN)
      return false;
    for (const frame of frames) attempt.socket.send(frame);
    return true;
  }

  /** Closes the socket with 1000 and cancels any pending reconnect; reports nothing more. */
  dispose(): void {
    this.stop(true);
  }

  private connect(): void {
    const tail =
      !this.everOpened && this.options.tailBytes > 0 ? this.options.tailBytes : undefined;
    const url = this.options.url({ after: this.seen, tail, window: this.options.windowBytes });
    let socket: WebSocketLike;
    try {
      socket = this.options.createSocket(url);
    } catch (err) {
      // A URL the browser refuses outright (e.g. ws: from an https page) will never work.
      this.fail(streamOpenFailedText(err instanceof Error ? err.message : String(err)));
      return;
    }
    const attempt = new Attempt(socket, this.seen);
    this.attempt.value = attempt;
    socket.onopen = () => this.onOpen(attempt);
    socket.onmessage = (event) => this.onFrame(event.data);
    socket.onclose = (event) => this.onClose(attempt, event.code);
    socket.onerror = () => undefined; // always followed by close, which carries what we need
  }

  private onOpen(attempt: Attempt): void {
    attempt.opened = true;
    this.everOpened = true;
    this.failedHandshakes = 0;
    this.backoff.reset();
    this.setState("open");
  }

  private onFrame(frame: unknown): void {
    const parsed = parseServerMessage(frame);
    if (!parsed.ok) {
      console.warn(`nebula: ignoring a bad frame from the server (${parsed.error})`);
      return;
    }
    this.dispatch(parsed.message);
  }

  private dispatch(message: ServerMessage): void {
    const events = this.options.events;
    switch (message.type) {
      case "stdout":
      case "stderr":
        if (message.seq <= this.seen) return; // a repeat: already shown
        this.seen = message.seq;
        events.onOutput(message);
        return;
      case "truncated":
        // Output before first_seq is deliberately skipped: resuming must not ask for it again.
        this.seen = Math.max(this.seen, message.first_seq - 1);
        events.onTruncated(message);
        return;
      case "status":
        if (isTerminalStatus(message.status)) this.finished = true;
        events.onStatus(message);
        return;
      case "error":
        events.onServerError(message);
        return;
    }
  }

  private onClose(attempt: Attempt, code: number): void {
    this.attempt.clear();
    if (this.finished) {
      this.stop();
    } else if (code === CloseCode.unauthorized) {
      this.fail(STREAM_UNAUTHORIZED);
    } else if (code === CloseCode.notFound) {
      this.fail(RUN_NOT_FOUND);
    } else if (!attempt.opened) {
      this.failedHandshakes += 1;
      if (this.options.diagnose === undefined) {
        this.retryOrGiveUp();
        return;
      }
      this.setState("reconnecting");
      this.options.diagnose().then(
        (fatal) => this.afterDiagnosis(fatal),
        () => this.afterDiagnosis(null),
      );
    } else {
      this.scheduleReconnect();
    }
  }

  private afterDiagnosis(fatal: string | null): void {
    if (this.stopped) return;
    if (fatal !== null) this.fail(fatal);
    else this.retryOrGiveUp();
  }

  /** After a failed handshake: the diagnosis (if any) found nothing definite. */
  private retryOrGiveUp(): void {
    const giveUp = this.options.giveUp;
    if (giveUp !== undefined && !this.everOpened && this.failedHandshakes >= giveUp.afterAttempts) {
      this.fail(giveUp.message);
    } else {
      this.scheduleReconnect();
    }
  }

  private scheduleReconnect(): void {
    this.setState("reconnecting");
    const delay = this.backoff.next();
    this.retry.value = timeout(this.timers, delay, () => {
      this.retry.clear();
      if (!this.stopped) this.connect();
    });
  }

  private fail(message: string): void {
    this.stop();
    this.options.events.onFatal(message);
  }

  /** Final: no socket, no timer, no reconnect, state "closed". */
  private stop(silent = false): void {
    const wasStopped = this.stopped;
    this.stopped = true;
    this.retry.clear();
    this.attempt.clear();
    if (!wasStopped && !silent) this.setState("closed");
  }

  private setState(state: ConnectionState): void {
    if (state === this.currentState) return;
    this.currentState = state;
    this.options.events.onState(state);
  }
}
