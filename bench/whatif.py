"""What-if: rows 1 and 2 against nebula servers with proposed changes patched in at start-up.

The proposals in the results (a JSON fast path for output frames, a larger shared ring) are
measured here before anyone edits ``nebula_jupyter/``: the bench starts the same Jupyter server
through ``python -m bench.whatif serve <patches> --config=...``, which monkeypatches the named
changes into the imported modules and then runs ``jupyter_server``. The patches live only in
this file and only in that process; once a change lands in the server, its variant here should
measure the same as ``base``.

    .venv/bin/python -m bench.whatif [--quick] [--variants base,fastjson,ring8,fastjson+ring8]
"""

from __future__ import annotations

import argparse
import asyncio
import datetime
import os
import shutil
import statistics
import sys
import tempfile
from pathlib import Path

MiB = 1 << 20


# -- patches (run inside the server process) ---------------------------------------------------


def _patch_fastjson() -> None:
    """protocol.output_frame without json for the common case (proposal 1).

    Valid UTF-8 whose only control characters are \\n \\r \\t ESC is escaped with bytes.replace
    (memchr speed) and spliced into a fixed envelope: the same JSON value json.dumps gives.
    Anything else (invalid UTF-8, other control bytes) takes the existing json path.
    """
    from nebula_jupyter import protocol

    original = protocol.output_frame
    control = bytes(range(32))

    def output_frame(kind, seq, data):  # type: ignore[no-untyped-def]
        try:
            data.decode("utf-8")
        except UnicodeDecodeError:
            return original(kind, seq, data)
        escaped = (
            data.replace(b"\\", b"\\\\")
            .replace(b'"', b'\\"')
            .replace(b"\n", b"\\n")
            .replace(b"\r", b"\\r")
            .replace(b"\t", b"\\t")
            .replace(b"\x1b", b"\\u001b")
        )
        if len(escaped.translate(None, control)) != len(escaped):
            return original(kind, seq, data)
        return b'{"type":"%s","seq":%d,"data":"%s"}' % (kind.label.encode(), seq, escaped)

    protocol.output_frame = output_frame


def _patch_ring8() -> None:
    """stream.RING_BYTES 1 MiB → 8 MiB (proposal 2)."""
    from nebula_jupyter import stream

    stream.RING_BYTES = 8 * MiB


def _patch_nostore() -> None:
    """No output written to disk: a lower bound only, never a proposal."""
    from nebula_jupyter import storage

    storage._write_all = lambda fd, data: None


PATCHES = {"fastjson": _patch_fastjson, "ring8": _patch_ring8, "nostore": _patch_nostore}


def serve(names: str, rest: list[str]) -> None:
    for name in filter(None, names.split("+")):
        if name != "base":
            PATCHES[name]()
    from jupyter_server.serverapp import main

    sys.argv = [sys.argv[0], *rest]
    sys.exit(main())


# -- the comparison (run by the bench) ---------------------------------------------------------


async def compare(variants: list[str], reps: int, row1_bytes: int, row2_bytes: int) -> str:
    from .peers import CeilingPeer, NebulaPeer, bulk
    from .report import machine
    from .rows import rotate
    from .servers import PYTHON, CeilingServer, JupyterServer, nebula_server
    from .trial import run_trial

    class Patched(JupyterServer):
        patches = "base"

        def argv(self) -> list[str]:
            config = super().argv()[-1]
            return [PYTHON, "-m", "bench.whatif", "serve", self.patches, config]

    stamp = datetime.datetime.now(datetime.UTC)
    workdir = Path(tempfile.mkdtemp(prefix="nebula-whatif-"))
    servers = {}
    for variant in variants:
        server = nebula_server(workdir)
        server.__class__ = Patched
        server.patches = variant  # type: ignore[attr-defined]
        servers[variant] = await server.start()
    ceiling = await CeilingServer(workdir).start()
    names = [*variants, "ceiling"]
    lines = [
        f"# What-if: proposed server changes, measured — {stamp:%Y-%m-%d %H:%M} UTC",
        "",
        f"Command: `.venv/bin/python -m bench.whatif {' '.join(sys.argv[1:])}`; "
        f"{reps} repetitions, "
        "variants interleaved (rotating order), ratios paired per repetition.",
        "",
        "| machine | |",
        "|---|---|",
        *[f"| {k} | {v.replace('|', '/')} |" for k, v in machine()],
        "",
        "Variants: `base` = the server as committed; `fastjson` = protocol.output_frame fast path; "
        "`ring8` = stream.RING_BYTES 8 MiB; `nostore` = no disk writes (a bound, not a proposal).",
    ]
    try:
        for label, size, clients in (
            (f"row 1: one client, {row1_bytes // MiB} MiB", row1_bytes, 1),
            (f"row 2: 100 clients, {row2_bytes // MiB} MiB", row2_bytes, 100),
        ):
            rate: dict[str, list[float]] = {name: [] for name in names}
            cpu: dict[str, list[float]] = {name: [] for name in names}
            for rep in range(reps):
                for name in rotate(names, rep):
                    peer = CeilingPeer(ceiling) if name == "ceiling" else NebulaPeer(servers[name])
                    result = await run_trial(peer, bulk(size), clients)
                    rate[name].append(result.delivered_bytes / result.seconds / 1e6)
                    cpu[name].append(result.server_cpu / (result.delivered_bytes / 1e9))
                print(
                    f"{label} rep {rep + 1}: "
                    + ", ".join(f"{n} {rate[n][-1]:.0f} MB/s" for n in names),
                    flush=True,
                )
            lines += [
                "",
                f"## {label}",
                "",
                "| variant | throughput MB/s | ÷ ceiling (paired) "
                "| server CPU s/GB | ÷ ceiling (paired) |",
                "|---|---|---|---|---|",
            ]
            for name in names:
                t_ratio = [a / b for a, b in zip(rate[name], rate["ceiling"], strict=False)]
                c_ratio = [a / b for a, b in zip(cpu[name], cpu["ceiling"], strict=False)]
                lines.append(
                    f"| {name} | {statistics.median(rate[name]):.0f} "
                    f"({min(rate[name]):.0f}-{max(rate[name]):.0f}) | "
                    f"{statistics.median(t_ratio):.2f}x ({min(t_ratio):.2f}-{max(t_ratio):.2f}) | "
                    f"{statistics.median(cpu[name]):.2f} | "
                    f"{statistics.median(c_ratio):.2f}x ({min(c_ratio):.2f}-{max(c_ratio):.2f}) |"
                )
    finally:
        for server in [*servers.values(), ceiling]:
            await server.stop()
        shutil.rmtree(workdir, ignore_errors=True)
    return "\n".join(lines) + "\n"


def main() -> None:
    if len(sys.argv) > 1 and sys.argv[1] == "serve":
        serve(sys.argv[2], sys.argv[3:])
        return
    parser = argparse.ArgumentParser(prog="python -m bench.whatif", description=__doc__)
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--variants", default="base,fastjson,ring8,fastjson+ring8")
    parser.add_argument("--out", type=Path, default=Path(__file__).resolve().parent / "results")
    args = parser.parse_args()
    reps = 3 if args.quick else 8
    sizes = (8 * MiB, 2 * MiB) if args.quick else (64 * MiB, 16 * MiB)
    text = asyncio.run(compare(args.variants.split(","), reps, *sizes))
    args.out.mkdir(parents=True, exist_ok=True)
    stamp = datetime.datetime.now(datetime.UTC)
    path = args.out / f"{stamp:%Y-%m-%d}-whatif{'-quick' if args.quick else ''}.md"
    path.write_text(text)
    print(f"\nwrote {path}\n\n{text.split('Variants:', 1)[1]}")


if __name__ == "__main__":
    os.environ.setdefault("PYTHONUNBUFFERED", "1")
    main()
