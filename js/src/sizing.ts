// How tall the terminal is: as tall as its content, from MIN_TERMINAL_PX up to the height_px
// trait, and never shrinking while the view lives (output does not jump around when a program
// clears the screen, and a resize that re-wraps lines cannot make the size oscillate). Pure
// functions of the buffer and the measured cell height, so they are tested without a DOM.

/** The smallest terminal: about two rows at the default font size. */
export const MIN_TERMINAL_PX = 40;

/** The slice of xterm's `IBuffer` we read. */
export interface BufferLike {
  readonly baseY: number;
  readonly cursorY: number;
  readonly length: number;
  getLine(y: number): { translateToString(trimRight?: boolean): string } | undefined;
}

/**
 * Rows the output occupies, scrollback included: down to the cursor's line (output continues
 * there, so a trailing newline keeps one blank row, which is where the next line will appear),
 * or further down if a program moved the cursor up and left text below it. Reads only the lines
 * below the cursor, which are on screen: O(rows), whatever the scrollback.
 */
export function contentRows(buffer: BufferLike): number {
  const cursorLine = buffer.baseY + buffer.cursorY;
  for (let y = buffer.length - 1; y > cursorLine; y--) {
    if (buffer.getLine(y)?.translateToString(true)) return y + 1;
  }
  return cursorLine + 1;
}

export interface HeightInput {
  /** `contentRows` of the buffer. */
  contentRows: number;
  /** CSS pixels per row as the renderer measured it; 0 before the first measurement. */
  cellHeightPx: number;
  /** Vertical padding inside the container, which the fit subtracts before counting rows. */
  paddingPx: number;
  /** The height_px trait. */
  maxPx: number;
  /** The container's height now. */
  currentPx: number;
}

/** The container height (whole CSS pixels) that shows `contentRows`, within the bounds. */
export function terminalHeightPx(input: HeightInput): number {
  const maxPx = Math.max(MIN_TERMINAL_PX, Math.floor(input.maxPx));
  const current = Math.min(maxPx, Math.max(MIN_TERMINAL_PX, input.currentPx));
  if (!(input.cellHeightPx > 0) || !Number.isFinite(input.cellHeightPx)) return current;
  // Whole pixels, rounded up; checked with the fit addon's own arithmetic (floor of height over
  // cell height), which a rounding error in the product could otherwise leave one row short.
  const rows = Math.max(1, input.contentRows);
  let rowsPx = Math.ceil(rows * input.cellHeightPx);
  if (Math.floor(rowsPx / input.cellHeightPx) < rows) rowsPx += 1;
  const needed = rowsPx + Math.max(0, input.paddingPx);
  return Math.min(maxPx, Math.max(current, needed));
}
