"""Finding running servers from Jupyter's runtime files, without importing Jupyter Server."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from nebula_jupyter.client.discovery import running_servers


def dead_pid() -> int:
    """Return the pid of a process that has exited and been reaped."""
    process = subprocess.Popen([sys.executable, "-c", "pass"])
    process.wait()
    return process.pid


def server_file(directory: Path, name: str, content: object, mtime: float) -> Path:
    path = directory / f"jpserver-{name}.json"
    path.write_text(content if isinstance(content, str) else json.dumps(content))
    os.utime(path, (mtime, mtime))
    return path


def test_running_servers_keeps_live_files_newest_first(tmp_path: Path) -> None:
    me = os.getpid()
    # Names sort the other way round from their ages: the order must come from the files' times.
    server_file(tmp_path, "1-older", {"pid": me, "url": "http://127.0.0.1:1/"}, 1_000_000)
    server_file(tmp_path, "2-newer", {"pid": me, "url": "http://127.0.0.1:2/"}, 3_000_000)
    server_file(tmp_path, "3-stale", {"pid": dead_pid(), "url": "http://127.0.0.1:3/"}, 4_000_000)
    garbage: list[object] = [
        "{not json",
        "[1, 2]",
        "null",
        {"url": "http://127.0.0.1:5/"},  # no pid
        {"pid": str(me), "url": "http://127.0.0.1:6/"},
        {"pid": True, "url": "http://127.0.0.1:7/"},  # a bool is not a pid (True == 1, init)
        {"pid": 0, "url": "http://127.0.0.1:8/"},  # 0 would signal our own process group
        {"pid": -1, "url": "http://127.0.0.1:9/"},  # -1 would signal every process
        {"pid": 2**80, "url": "http://127.0.0.1:10/"},
    ]
    for index, content in enumerate(garbage):
        server_file(tmp_path, f"4-garbage-{index}", content, 5_000_000)
    (tmp_path / "jpserver-5-bytes.json").write_bytes(b"\xff\xfe{")
    (tmp_path / "jpserver-6-a-folder.json").mkdir()
    (tmp_path / "other-7.json").write_text(json.dumps({"pid": me, "url": "http://127.0.0.1:11/"}))

    found = running_servers(tmp_path)
    assert [info["url"] for info in found] == ["http://127.0.0.1:2/", "http://127.0.0.1:1/"]


def test_running_servers_of_a_missing_runtime_dir_is_empty(tmp_path: Path) -> None:
    assert running_servers(tmp_path / "never-made") == []
