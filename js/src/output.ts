// Output goes to xterm as soon as xterm can take it, gathered while xterm is busy. xterm parses
// its queue of writes in slices of about 12 ms and lets the page run between slices, but it
// parses each write whole, so no write may grow large: output gathered for an animation frame
// reached megabytes in a flood and held up the page for up to a quarter of a second. Nor should
// output wait for a frame while xterm sits idle. So: write at once when xterm has parsed all it
// was given; otherwise gather until it has, or until a block's worth has gathered. A burst of
// small messages still becomes one write. The write callback is the moment xterm has parsed
// the data, so that is when the flow-control ack goes out.

import type { Disposable } from "./disposables";
import type { OutputMessage } from "./protocol";

export interface TerminalSink {
  write(data: string, callback: () => void): void;
}

/** Output gathered while xterm is busy is written once this many characters have gathered,
 * without waiting for xterm: its queue stays fed, and no write grows large (xterm parses one
 * write in one go, without yielding to the page). */
export const BLOCK_CHARS = 64 * 1024;

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
  /** Writes handed to xterm whose callback has not fired yet. */
  private unparsedWrites = 0;
  private disposed = false;
  // Write callbacks that fire together (one slice of xterm's parsing covers several writes)
  // are reported once, from a microtask: one cumulative ack per callback batch.
  private writtenSeq = 0;
  private writtenChars = 0;
  private reportQueued = false;

  constructor(
    private readonly sink: TerminalSink,
    private readonly onWritten: WrittenCallback,
    // Wrapped: a bare `queueMicrotask` called as a method throws "Illegal invocation" in browsers.
    private readonly defer: (fn: () => void) => void = (fn) => queueMicrotask(fn),
  ) {}

  push(message: OutputMessage): void {
    if (this.disposed) return;
    this.pieces.push(renderOutput(message));
    this.pendingSeq = Math.max(this.pendingSeq, message.seq);
    this.pendingChars += message.data.length;
    if (this.unparsedWrites === 0 || this.pendingChars >= BLOCK_CHARS) this.flush();
  }

  /** Writes whatever is pending now (also used when the stream ends, to not wait for xterm). */
  flush(): void {
    if (this.disposed || this.pieces.length === 0) return;
    const data = this.pieces.length === 1 ? (this.pieces[0] as string) : this.pieces.join("");
    const seq = this.pendingSeq;
    const chars = this.pendingChars;
    this.pieces = [];
    this.pendingSeq = 0;
    this.pendingChars = 0;
    this.unparsedWrites += 1;
    this.sink.write(data, () => this.written(seq, chars));
  }

  private written(seq: number, chars: number): void {
    if (this.disposed) return;
    this.unparsedWrites -= 1;
    // Called from inside xterm's parsing: what gathered meanwhile joins the same slice.
    if (this.unparsedWrites === 0) this.flush();
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
    this.pieces = [];
  }
}
