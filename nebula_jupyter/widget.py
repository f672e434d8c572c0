"""``RunTerminal``: the anywidget that shows a run's live output in a notebook."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import anywidget
import traitlets

_STATIC = Path(__file__).parent / "static"


class RunTerminal(anywidget.AnyWidget):
    """Follow one run in an xterm.js terminal: stdout plain, stderr red, status, cancel.

    The browser connects to the run's WebSocket itself, with the page's own Jupyter
    credentials; no token is ever stored in the widget state (it is saved in the notebook).
    """

    _esm = _STATIC / "widget.js"
    _css = _STATIC / "widget.css"

    run_id = traitlets.Unicode("", help="The run to follow.").tag(sync=True)
    height_px = traitlets.Int(
        320, help="Maximum terminal height in pixels; it grows with the output. Default: 320."
    ).tag(sync=True)
    tail_bytes = traitlets.Int(
        2_000_000,
        help="Replay at most this many bytes of history on attach; 0 replays all. Default: 2 MB.",
    ).tag(sync=True)
    show_cancel = traitlets.Bool(True, help="Show the cancel button. Default: True.").tag(sync=True)
    font_size_px = traitlets.Int(13, help="Terminal font size in pixels. Default: 13.").tag(
        sync=True
    )
    base_url = traitlets.Unicode(
        "", help="Server base URL; empty means the page's own Jupyter server. Default: ''."
    ).tag(sync=True)

    def __init__(self, run_id: str = "", **kwargs: Any) -> None:
        super().__init__(run_id=run_id, **kwargs)
