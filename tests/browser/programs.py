"""The child programs the browser tests run, and the notebook cells that start them."""

from __future__ import annotations

# Child programs run with the kernel's Python (`sys.executable`): the server's PATH may not
# hold a `python`. Each is passed with `-c`, so a test reads as one file.
MIXED = """
import sys, time
time.sleep(0.5)
for i in range(1, 4):
    print(f"out {i}")
    print(f"err {i}", file=sys.stderr)
    time.sleep(0.2)
for pct in range(0, 101, 25):
    print(f"\\rprogress {pct:3d}%", end="", flush=True)
    time.sleep(0.1)
print()
time.sleep(1)
"""

FAILING = """
import sys
print("working...")
print("boom: something broke", file=sys.stderr)
sys.exit(3)
"""

TICKING = """
import time
for i in range(10000):
    print("tick", i, flush=True)
    time.sleep(0.1)
"""

NUMBERED_LINES = 24
NUMBERED = f"""
import time
for i in range(1, {NUMBERED_LINES + 1}):
    print(f"line {{i:02d}} of {NUMBERED_LINES}", flush=True)
    time.sleep(0.3)
"""

# 500 000 lines of 100 bytes: 50 000 000 bytes, written as fast as the pipe takes them.
FLOOD_BYTES = 50_000_000
FLOOD = """
import sys
pad = "x" * 91
block = 5000
for start in range(0, 500000, block):
    sys.stdout.write("".join(f"{i:07d} {pad}\\n" for i in range(start, start + block)))
"""


EXPECTED_NUMBERED = [f"line {i:02d} of {NUMBERED_LINES}" for i in range(1, NUMBERED_LINES + 1)]


def start_run_cell(code: str, name: str, display: str = "run") -> str:
    """A cell that starts ``code`` with nj.run and displays ``display``."""
    return (
        "import sys\nimport nebula_jupyter as nj\n"
        f"run = nj.run([sys.executable, '-c', {code!r}], name={name!r})\n"
        f"{display}"
    )


def is_stream_url(url: str) -> bool:
    """Whether ``url`` is a run's WebSocket stream (not JupyterLab's own sockets)."""
    return "/api/nebula/runs/" in url and url.split("?")[0].endswith("/stream")
