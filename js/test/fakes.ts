// Test doubles: a scriptable WebSocket, manual timers, a recording terminal.

import type { WebSocketLike } from "../src/connection";
import type { TerminalSink } from "../src/output";
import type { TerminalLike } from "../src/session";
import type { TerminalIO } from "../src/terminal";
import type { Timers } from "../src/timers";

export class FakeSocket implements WebSocketLike {
  readyState = 0;
  readonly sent: string[] = [];
  closedWith: number | undefined;
  onopen: ((event: Event) => void) | null = null;
  onmessage: ((event: MessageEvent) => void) | null = null;
  onclose: ((event: CloseEvent) => void) | null = null;
  onerror: ((event: Event) => void) | null = null;

  constructor(readonly url: string) {}

  get params(): URLSearchParams {
    return new URL(this.url).searchParams;
  }

  /** Parsed client frames. */
  get messages(): Array<Record<string, unknown>> {
    return this.sent.map((frame) => JSON.parse(frame) as Record<string, unknown>);
  }

  open(): void {
    this.readyState = 1;
    this.onopen?.({ type: "open" } as Event);
  }

  receive(message: unknown): void {
    const data = typeof message === "string" ? message : JSON.stringify(message);
    this.onmessage?.({ data } as MessageEvent);
  }

  /** The server (or the network) closes the socket. */
  serverClose(code: number): void {
    this.readyState = 3;
    this.onerror?.({ type: "error" } as Event);
    this.onclose?.({ code, reason: "" } as CloseEvent);
  }

  send(data: string): void {
    if (this.readyState !== 1) throw new Error("send on a socket that is not open");
    this.sent.push(data);
  }

  close(code?: number): void {
    this.closedWith = code;
    this.readyState = 2;
  }
}

export class SocketFactory {
  readonly sockets: FakeSocket[] = [];
  readonly create = (url: string): FakeSocket => {
    const socket = new FakeSocket(url);
    this.sockets.push(socket);
    return socket;
  };

  get last(): FakeSocket {
    const socket = this.sockets[this.sockets.length - 1];
    if (socket === undefined) throw new Error("no socket was created");
    return socket;
  }
}

interface Pending {
  id: number;
  fn: () => void;
  ms: number;
}

/** Timers that only fire when the test says so; `delays` records every requested delay. */
export class ManualTimers implements Timers {
  private next = 1;
  pending: Pending[] = [];
  readonly delays: number[] = [];

  setTimeout(fn: () => void, ms: number): unknown {
    const id = this.next++;
    this.pending.push({ id, fn, ms });
    this.delays.push(ms);
    return id;
  }

  clearTimeout(handle: unknown): void {
    this.pending = this.pending.filter((p) => p.id !== handle);
  }

  runAll(): void {
    const due = this.pending;
    this.pending = [];
    for (const p of due) p.fn();
  }
}

/** Records writes; callbacks fire only when the test completes them (xterm parses async). */
export class RecordingTerminal implements TerminalSink {
  readonly writes: string[] = [];
  private callbacks: Array<() => void> = [];

  write(data: string, callback: () => void): void {
    this.writes.push(data);
    this.callbacks.push(callback);
  }

  get text(): string {
    return this.writes.join("");
  }

  /** xterm finished parsing everything written so far. */
  completeAll(): void {
    const due = this.callbacks;
    this.callbacks = [];
    for (const cb of due) cb();
  }

  completeOne(): void {
    this.callbacks.shift()?.();
  }
}

/** The terminal a session drives: writes recorded, and settling only when the test says so. */
export class FakeTerminal extends RecordingTerminal implements TerminalLike {
  fontSizePx = 0;
  maxHeightPx = 0;
  disposed = false;
  cols = 80;
  rows = 24;
  focused = 0;
  /** Terminal mode as the session set it: null while off. */
  io: TerminalIO | null = null;
  private settleCallbacks: Array<() => void> = [];

  setInteractive(io: TerminalIO | null): void {
    this.io = io;
  }

  focus(): void {
    this.focused += 1;
  }

  /** A fit changed the size: what xterm's onResize reports in terminal mode. */
  resize(cols: number, rows: number): void {
    this.cols = cols;
    this.rows = rows;
    this.io?.onSize(cols, rows);
  }

  setFontSize(px: number): void {
    this.fontSizePx = px;
  }

  setMaxHeight(px: number): void {
    this.maxHeightPx = px;
  }

  whenSettled(done: () => void): void {
    this.settleCallbacks.push(done);
  }

  /** Output parsed, height final: what the real terminal reports a frame or two later. */
  settle(): void {
    const due = this.settleCallbacks;
    this.settleCallbacks = [];
    for (const done of due) done();
  }

  dispose(): void {
    this.disposed = true;
  }
}

export function output(seq: number, data: string, type: "stdout" | "stderr" = "stdout") {
  return { type, seq, data };
}

export function runRecord(overrides: Record<string, unknown> = {}) {
  return {
    id: "r1",
    name: "train",
    command: ["python", "train.py"],
    cwd: "",
    status: "running",
    cancel_requested: false,
    exit_code: null,
    signal: null,
    reason: null,
    error: null,
    created_at: "2024-01-01T00:00:00Z",
    started_at: "2024-01-01T00:00:01Z",
    finished_at: null,
    stdout_bytes: 0,
    stderr_bytes: 0,
    last_seq: 0,
    ...overrides,
  };
}

export function status(value: string, overrides: Record<string, unknown> = {}) {
  return { type: "status", status: value, run: runRecord({ status: value, ...overrides }) };
}
