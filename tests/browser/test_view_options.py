"""Display options belong to their own view: several run views on one page, each with its own
font size, each draw their text at that size in rows made for it."""

from __future__ import annotations

from pathlib import Path

from .notebook_page import OpenNotebook, wait_lines, wait_status

SIZES = (11, 13, 20)

SHORT = "print('size check: the quick brown fox')"

# Per view: the computed font size of the terminal's text, the height of one of its rows, and
# the height of the text's glyph box (a Range around it: what the font really draws).
TEXT_METRICS = """root => {
  const row = Array.from(root.querySelectorAll(".xterm-rows > div"))
    .find(r => r.textContent.includes("size check"));
  const span = row.querySelector("span") || row;
  const range = document.createRange();
  range.selectNodeContents(span);
  return {font: parseFloat(getComputedStyle(span).fontSize),
          row: row.getBoundingClientRect().height,
          glyph: range.getBoundingClientRect().height};
}"""


def test_each_view_keeps_its_own_font_size(open_notebook: OpenNotebook, artifacts: Path) -> None:
    # Three models of one run, so three evaluations of the widget's module, as anywidget does.
    notebook = open_notebook(
        "import sys\nimport nebula_jupyter as nj\n"
        f"run = nj.run([sys.executable, '-c', {SHORT!r}], name='sizes')\n"
        f"for size in {SIZES!r}:\n"
        "    display(nj.RunTerminal(run.id, font_size_px=size, height_px=120))\n"
    )
    cell = notebook.run_cell(0)
    widgets = notebook.widgets(cell)
    widgets.nth(len(SIZES) - 1).wait_for()
    assert widgets.count() == len(SIZES)
    for index in range(len(SIZES)):
        wait_status(widgets.nth(index), "succeeded")
        wait_lines(widgets.nth(index), lambda lines: "size check" in " ".join(lines))
    notebook.screenshot(cell.locator(".jp-Cell-outputWrapper"), "font-sizes", artifacts)

    metrics = [widgets.nth(i).evaluate(TEXT_METRICS) for i in range(len(SIZES))]
    for size, seen in zip(SIZES, metrics, strict=True):
        assert seen["font"] == size, f"font_size_px={size} draws {seen['font']} px text: {metrics}"
        # Rows are made for that font: its glyphs fit, with no more than a line's worth of air.
        assert seen["glyph"] <= seen["row"] + 0.5, (size, metrics)
        assert seen["row"] <= 1.6 * size, (size, metrics)
    rows = [seen["row"] for seen in metrics]
    assert rows == sorted(rows) and len(set(rows)) == len(SIZES), metrics
