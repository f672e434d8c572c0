"""Prove the README's demo command works: run it, wait for its notebook URL, fetch, stop it.

CI runs this first on a clean clone (no .venv yet), so it also proves that the demo command
alone installs everything it opens. Standard library only: it runs before anything is installed.
"""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
INSTALL_DEADLINE_SECONDS = 900


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def fetch(url: str) -> tuple[int, bytes]:
    with urllib.request.urlopen(url, timeout=30) as response:  # noqa: S310 (our own loopback URL)
        return response.status, response.read()


def main() -> int:
    port = free_port()
    log_path = ROOT / "test-artifacts" / "demo.log"
    log_path.parent.mkdir(exist_ok=True)
    command = ["bash", ".ci/demo", "--no-browser", f"--port={port}", "--ip=127.0.0.1"]
    with open(log_path, "wb") as log:
        demo = subprocess.Popen(
            command, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
        )
    pattern = re.compile(rf"http://127\.0\.0\.1:{port}/lab/tree/examples/demo\.ipynb\?token=\w+")
    try:
        deadline = time.monotonic() + INSTALL_DEADLINE_SECONDS
        url = None
        while url is None:
            match = pattern.search(log_path.read_text(errors="replace"))
            if match:
                url = match.group(0)
            elif demo.poll() is not None:
                print(log_path.read_text(errors="replace")[-4000:], file=sys.stderr)
                print(f"demo command exited with {demo.returncode}", file=sys.stderr)
                return 1
            elif time.monotonic() > deadline:
                print("demo command printed no notebook URL in time", file=sys.stderr)
                return 1
            else:
                time.sleep(1)
        base, token = url.split("/lab/tree/")[0], url.rsplit("token=", 1)[1]
        status, page = fetch(url)
        assert status == 200 and b"JupyterLab" in page, "the notebook URL does not serve Lab"
        status, body = fetch(f"{base}/api/contents/examples/demo.ipynb?content=0&token={token}")
        assert json.loads(body)["type"] == "notebook", "the server is not rooted at the repo"
        status, body = fetch(f"{base}/api/kernelspecs?token={token}")
        assert json.loads(body)["kernelspecs"], "no kernel is installed"
        status, body = fetch(f"{base}/api/nebula/runs?token={token}")
        assert "runs" in json.loads(body), "the nebula extension is not enabled"
        print(f"demo OK: {url.split('?')[0]} answers, rooted at the repository, extension on")
        return 0
    finally:
        os.killpg(demo.pid, signal.SIGTERM)
        try:
            demo.wait(30)
        except subprocess.TimeoutExpired:
            os.killpg(demo.pid, signal.SIGKILL)


if __name__ == "__main__":
    raise SystemExit(main())
