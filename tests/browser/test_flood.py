"""A run printing 50 MB: the terminal renders all of it, or its tail with a banner, and the
page never freezes."""

from __future__ import annotations

import json
import re
import time
from pathlib import Path
from typing import Any

from .lab_server import LabServer
from .notebook_page import OpenNotebook, terminal_lines, wait_attr, wait_status
from .programs import FLOOD, FLOOD_BYTES, start_run_cell


def test_fifty_megabytes_render_without_freezing_the_page(
    open_notebook: OpenNotebook, lab: LabServer, artifacts: Path
) -> None:
    notebook = open_notebook(
        # tail_bytes=0: every one of the 50 MB goes through the terminal.
        start_run_cell(FLOOD, "flood", "nj.RunTerminal(run.id, tail_bytes=0)"),
        # The default view of a finished big run: the tail, and a banner for the rest.
        "nj.RunTerminal(run.id)",
    )
    notebook.start_lag_probe()
    started = time.monotonic()
    widget = notebook.widgets(notebook.run_cell(0)).first
    widget.wait_for()
    run_id = str(widget.get_attribute("data-run-id"))
    wait_attr(
        widget,
        "data-bytes-written",
        lambda value: value == str(FLOOD_BYTES),
        timeout=150,
        what="bytes written to the terminal",
    )
    wait_status(widget, "succeeded", timeout=10)
    render_seconds = time.monotonic() - started
    lag = notebook.lag_probe()
    notebook.screenshot(widget, "flood-full", artifacts)

    record = lab.run_record(run_id)
    assert record["stdout_bytes"] == FLOOD_BYTES, record
    assert widget.locator(".nebula-truncated").is_hidden()
    last = terminal_lines(widget)[-1]
    assert last.startswith("0499999 xxx"), last
    # Grown with its output to the full height_px (320 by default), and no further.
    height = widget.locator(".nebula-term").evaluate("el => el.getBoundingClientRect().height")
    assert height == 320, height

    tail_view = notebook.widgets(notebook.run_cell(1)).first
    tail_view.wait_for()
    wait_status(tail_view, "succeeded", timeout=30)
    banner = tail_view.locator(".nebula-truncated")
    banner.wait_for()
    skipped = int(str(banner.get_attribute("data-skipped-bytes")))
    written = int(
        wait_attr(
            tail_view,
            "data-bytes-written",
            lambda value: int(value or 0) + skipped == FLOOD_BYTES,
            timeout=30,
            what="tail bytes written",
        )
    )
    assert 0 < written <= 2_000_000 + 100_000, written
    assert re.match(r"Earlier output not shown \(4\d\.\d MB\)", banner.inner_text()), (
        banner.inner_text()
    )
    href = str(banner.locator(".nebula-download").get_attribute("href"))
    assert href.endswith(f"api/nebula/runs/{run_id}/logs"), href
    assert lab.token not in href
    assert terminal_lines(tail_view)[-1].startswith("0499999 xxx")
    notebook.screenshot(tail_view, "flood-tail", artifacts)
    final_lag = notebook.lag_probe()

    metrics: dict[str, Any] = {
        "bytes": FLOOD_BYTES,
        "full_render_seconds": round(render_seconds, 2),
        "max_timer_lag_ms_full_render": round(lag["maxLag"], 1),
        "max_timer_lag_ms_overall": round(final_lag["maxLag"], 1),
        "timer_ticks": final_lag["ticks"],
        "timer_elapsed_ms": round(final_lag["elapsedMs"]),
        "tail_view_skipped_bytes": skipped,
        "tail_view_bytes_written": written,
    }
    (artifacts / "flood-metrics.json").write_text(json.dumps(metrics, indent=2) + "\n")
    print(f"\n50 MB run: {json.dumps(metrics)}")
    assert lag["maxLag"] < 1000, f"the page froze for {lag['maxLag']:.0f} ms"
    assert final_lag["maxLag"] < 1000, f"the page froze for {final_lag['maxLag']:.0f} ms"
