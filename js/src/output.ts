// Batches output between animation frames: a fast process can send thousands of small chunks
// per second, and one xterm write per frame keeps the page responsive. The write callback is
// the moment xterm has parsed the data, so that is when the flow-control ack goes out.

import type { Disposable } from "./disposables";
import type { OutputMessage } from "./protocol";

export interface TerminalSink {
  write(data: string, callback: () => void): void;
}

export interface FrameScheduler {
  request(fn: () => void): unknown;
  cancel(handle: unknown): void;
}

/** requestAnimationFrame in a page, setTimeout elsewhere (tests, or a page without rAF). */
export function defaultFrameScheduler(): FrameScheduler {
  if (typeof globalThis.requestAnimationFrame === "function") {
    return {
      request: (fn) => globalThis.requestAnimationFrame(() => fn()),
      cancel: (handle) => globalThis.cancelAnimationFrame(handle as number),
    };
  }
  return {
    request: (fn) => globalThis.setTimeout(fn, 16),
    cancel: (handle) => globalThis.clearTimeout(handle as ReturnType<typeof setTimeout>),
  };
}

// SGR 31 / 39: red foreground, then back to the default, so stderr stands out but its own
// colour codes (if any) still apply inside it.
const STDERR_START = "\x1b[31m";
const STDERR_END = "\x1b[39m";

export function renderOutput(message: OutputMessage): string {
  return message.type === "stderr" ? STDERR_START + message.data + STDERR_END : message.data;
}

/** Reports what xterm has finished parsing: the highest seq so far and the UTF-16 length of
 * the run's own text since the last report (our colour codes not counted). */
export type WrittenCallback = (seq: number, chars: number) => void;

export class OutputBatcher implements Disposable {
  private pieces: string[] = [];
  private pendingSeq = 0;
  private pendingChars = 0;
  private frame: unknown = null;
  private disposed = false;
  // Write callbacks that fire together (xterm catching up on several frames' writes in one go)
  // are reported once, from a microtask: one cumulative ack per callback batch.
  private writtenSeq = 0;
  private writtenChars = 0;
  private reportQueued = false;

  constructor(
    private readonly sink: TerminalSink,
    private readonly scheduler: FrameScheduler,
    private readonly onWritten: WrittenCallback,
    // Wrapped: a bare `queueMicrotask` called as a method throws "Illegal invocation" in browsers.
    private readonly defer: (fn: () => void) => void = (fn) => queueMicrotask(fn),
  ) {}

  push(message: OutputMessage): void {
    if (this.disposed) return;
    this.pieces.push(renderOutput(message));
    this.pendingSeq = Math.max(this.pendingSeq, message.seq);
    this.pendingChars += message.data.length;
    if (this.frame === null) this.frame = this.scheduler.request(() => this.flush());
  }

  /** Writes whatever is pending now (also used when the stream ends, to not wait a frame). */
  flush(): void {
    if (this.frame !== null) {
      this.scheduler.cancel(this.frame);
      this.frame = null;
    }
    if (this.disposed || this.pieces.length === 0) return;
    const data = this.pieces.join("");
    const seq = this.pendingSeq;
    const chars = this.pendingChars;
    this.pieces = [];
    this.pendingSeq = 0;
    this.pendingChars = 0;
    this.sink.write(data, () => this.written(seq, chars));
  }

  private written(seq: number, chars: number): void {
    if (this.disposed) return;
    this.writtenSeq = Math.max(this.writtenSeq, seq);
    this.writtenChars += chars;
    if (this.reportQueued) return;
    this.reportQueued = true;
    this.defer(() => {
      this.reportQueued = false;
      if (this.disposed) return;
      const chars = this.writtenChars;
      this.writtenChars = 0;
      this.onWritten(this.writtenSeq, chars);
    });
  }

  dispose(): void {
    this.disposed = true;
    if (this.frame !== null) this.scheduler.cancel(this.frame);
    this.frame = null;
    this.pieces = [];
  }
}
