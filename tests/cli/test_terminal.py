"""`nebula run -t` on a real terminal: keys and size go to the run; the terminal is restored."""

from __future__ import annotations

import asyncio
import fcntl
import os
import pty
import struct
import sys
import termios
import time
from pathlib import Path

import pytest

from ..support.client_fixtures import Cli, clean_env


@pytest.fixture
def cli(cli: Cli, jp_root_dir: Path) -> Cli:
    cli.root = jp_root_dir  # type: ignore[attr-defined]
    return cli


def open_terminal(cols: int = 100, rows: int = 30) -> tuple[int, int]:
    leader, follower = pty.openpty()
    fcntl.ioctl(follower, termios.TIOCSWINSZ, struct.pack("HHHH", rows, cols, 0, 0))
    return leader, follower


def read_until(leader: int, needle: bytes, timeout: float = 20) -> bytes:
    """Read the terminal's output until ``needle`` appears (or fail at the deadline)."""
    seen = b""
    deadline = time.monotonic() + timeout
    os.set_blocking(leader, False)
    while needle not in seen:
        if time.monotonic() > deadline:
            raise AssertionError(f"{needle!r} not seen; got {seen[-500:]!r}")
        try:
            seen += os.read(leader, 65536)
        except BlockingIOError:
            time.sleep(0.02)
        except OSError:
            break
    return seen


async def start_on_terminal(cli: Cli, follower: int, *args: str) -> asyncio.subprocess.Process:
    # From the server's root, as a user would: runs start in the shell's folder.
    return await asyncio.create_subprocess_exec(
        sys.executable, "-m", "nebula_jupyter.cli", *cli.argv("run", "-t", *args),
        stdin=follower, stdout=follower, stderr=follower, env=clean_env(), cwd=cli.root,
    )  # fmt: skip


async def test_keys_and_size_reach_the_run_and_the_terminal_is_restored(cli: Cli) -> None:
    leader, follower = open_terminal(cols=100, rows=30)
    before = termios.tcgetattr(follower)
    process = await start_on_terminal(
        cli, follower, "--", "sh", "-c", "echo ready; read x; stty size; echo got $x"
    )
    await asyncio.to_thread(read_until, leader, b"ready")
    os.write(leader, b"hello\r")
    seen = await asyncio.to_thread(read_until, leader, b"got hello")
    assert b"30 100" in seen  # the size was sent when the CLI connected
    assert await asyncio.wait_for(process.wait(), 30) == 0
    # Raw mode ended with the run: the terminal is as it was (echo, line editing, signals).
    assert termios.tcgetattr(follower) == before
    os.close(follower)
    os.close(leader)


async def test_ctrl_c_goes_to_the_program_and_ctrl_bracket_cancels(cli: Cli) -> None:
    leader, follower = open_terminal()
    before = termios.tcgetattr(follower)
    code = (
        "import time\nfor i in range(2):\n    try:\n        print('ready', i, flush=True)\n"
        "        time.sleep(60)\n    except KeyboardInterrupt:\n        print('interrupted', i)\n"
    )
    process = await start_on_terminal(cli, follower, "--", sys.executable, "-c", code)
    await asyncio.to_thread(read_until, leader, b"ready 0")
    os.write(leader, b"\x03")  # Ctrl-C: the program's KeyboardInterrupt, not a cancel
    await asyncio.to_thread(read_until, leader, b"ready 1")
    os.write(leader, b"\x1d")  # Ctrl-]: cancel the run
    assert await asyncio.wait_for(process.wait(), 30) == 130
    assert termios.tcgetattr(follower) == before
    os.close(follower)
    os.close(leader)
