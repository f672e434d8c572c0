"""Prove the machine can run a real Dask cluster before the tests rely on one.

Starts ``dask scheduler`` and ``dask worker --resources GPU=1`` as processes (as the test
fixtures do), runs one task that needs the GPU resource on it, and stops them. A failure here
is a set-up problem (the test extra installs Dask), not a product bug: say so early and
clearly rather than as forty failing tests.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

BIN = Path(sys.executable).parent


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def main() -> int:
    port = free_port()
    address = f"tcp://127.0.0.1:{port}"
    common = ["--no-dashboard"]
    log = tempfile.TemporaryFile()  # noqa: SIM115 - the cluster processes write to it until the end
    procs = [
        subprocess.Popen(
            [str(BIN / "dask"), "scheduler", "--host", "127.0.0.1", "--port", str(port), *common],
            start_new_session=True,
            stdout=log,
            stderr=log,
        ),
        subprocess.Popen(
            [
                str(BIN / "dask"),
                "worker",
                address,
                "--no-nanny",
                "--resources",
                "GPU=1",
                "--host",
                "127.0.0.1",
                *common,
            ],
            start_new_session=True,
            stdout=log,
            stderr=log,
        ),
    ]
    try:
        from distributed import Client

        deadline = time.monotonic() + 60
        with Client(address, timeout=60) as client:
            client.wait_for_workers(1, timeout=max(1.0, deadline - time.monotonic()))
            host = client.submit(socket.gethostname, resources={"GPU": 1}, pure=False).result(60)
        print(f"Dask cluster OK: a GPU task ran on {host} ({address})")
        return 0
    except Exception:
        log.seek(0)
        sys.stderr.write(log.read().decode(errors="replace")[-3000:])
        raise
    finally:
        for proc in procs:
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()


if __name__ == "__main__":
    sys.exit(main())
