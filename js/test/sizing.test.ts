import { describe, expect, it } from "vitest";
import { type BufferLike, contentRows, MIN_TERMINAL_PX, terminalHeightPx } from "../src/sizing";

/** A buffer as xterm keeps it: `lines` (scrollback then screen), the cursor on the screen. */
function buffer(lines: string[], rows: number, cursor: { x?: number; line: number }): BufferLike {
  const all = [...lines];
  while (all.length < rows) all.push(""); // the screen always has `rows` lines
  const baseY = all.length - rows;
  return {
    baseY,
    cursorY: cursor.line - baseY,
    length: all.length,
    getLine: (y) => {
      const text = all[y];
      return text === undefined ? undefined : { translateToString: () => text };
    },
  };
}

describe("contentRows", () => {
  it("counts down to the cursor's line: a trailing newline keeps the row the next line goes to", () => {
    expect(contentRows(buffer(["out", "err"], 10, { line: 2 }))).toBe(3);
    expect(contentRows(buffer(["out", "err", "no newline yet"], 10, { line: 2 }))).toBe(3);
  });

  it("is one row for a run that printed nothing", () => {
    expect(contentRows(buffer([], 5, { line: 0 }))).toBe(1);
  });

  it("includes the scrollback once output outgrew the screen", () => {
    const lines = Array.from({ length: 30 }, (_, i) => `line ${i}`);
    expect(contentRows(buffer([...lines, ""], 4, { line: 30 }))).toBe(31);
  });

  it("keeps text a program left below the cursor (it moved the cursor up)", () => {
    expect(contentRows(buffer(["a", "b", "c", "d"], 8, { line: 1 }))).toBe(4);
  });
});

describe("terminalHeightPx", () => {
  const base = { cellHeightPx: 15, paddingPx: 8, maxPx: 320, currentPx: MIN_TERMINAL_PX };

  it("fits the content rows, plus the padding the fit subtracts", () => {
    expect(terminalHeightPx({ ...base, contentRows: 3 })).toBe(3 * 15 + 8);
    expect(terminalHeightPx({ ...base, contentRows: 10 })).toBe(10 * 15 + 8);
  });

  it("gives the fit back every row, also for fractional cell heights", () => {
    for (const cell of [15, 17, 17.5, 52 / 3, 14.4, 16.25]) {
      for (let rows = 1; rows <= 40; rows++) {
        const height = terminalHeightPx({
          ...base,
          cellHeightPx: cell,
          contentRows: rows,
          maxPx: 10_000,
        });
        // FitAddon: floor((parseInt(height) - padding) / cell height)
        expect(Math.max(1, Math.floor((height - 8) / cell)), `cell ${cell}, rows ${rows}`).toBe(
          Math.max(rows, Math.floor((MIN_TERMINAL_PX - 8) / cell)),
        );
      }
    }
  });

  it("never goes below the minimum nor above height_px", () => {
    expect(terminalHeightPx({ ...base, contentRows: 1 })).toBe(MIN_TERMINAL_PX);
    expect(terminalHeightPx({ ...base, contentRows: 500 })).toBe(320);
    expect(terminalHeightPx({ ...base, contentRows: 500, maxPx: 10 })).toBe(MIN_TERMINAL_PX);
  });

  it("never shrinks on its own (a clear screen, a wider cell), but follows a lower height_px", () => {
    expect(terminalHeightPx({ ...base, contentRows: 2, currentPx: 200 })).toBe(200);
    expect(terminalHeightPx({ ...base, contentRows: 2, currentPx: 320, maxPx: 100 })).toBe(100);
    expect(terminalHeightPx({ ...base, contentRows: 30, currentPx: 320, maxPx: 600 })).toBe(
      30 * 15 + 8,
    );
  });

  it("keeps the current height until the font has been measured", () => {
    expect(terminalHeightPx({ ...base, cellHeightPx: 0, contentRows: 10 })).toBe(MIN_TERMINAL_PX);
    expect(
      terminalHeightPx({ ...base, cellHeightPx: Number.NaN, contentRows: 10, currentPx: 90 }),
    ).toBe(90);
  });
});
