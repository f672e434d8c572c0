"""The `nebula` command: parsing, and end to end as a real process against a real server."""

from __future__ import annotations

import asyncio
import fcntl
import json
import os
import pty
import re
import signal
import struct
import sys
import termios
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from nebula_jupyter.cli import main
from nebula_jupyter.cli.commands import build_parser, exit_code_for
from nebula_jupyter.client import NebulaClient

from ..support.jupyter import child
from ..support.waiting import wait_for

if TYPE_CHECKING:
    from ..support.client_fixtures import Cli, Server


LINES_20 = "".join(f"line {i}\n" for i in range(1, 21)).encode()
PRINT_WHERE = "import os, sys; print(os.getcwd()); print(sys.executable)"
# Anything a terminal would act on instead of showing (see test_console.py).
RAW_CONTROL = re.compile(
    "[\x00-\x08\x0b-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069\ud800-\udfff]"
)
# The colour nebula itself puts on a status word, on a terminal (and nothing else may have ESC).
OUR_COLOUR = re.compile("\x1b\\[[0-9]+m((?:queued|running|succeeded|failed|cancelled) *)\x1b\\[0m")


@pytest.fixture(autouse=True)
def _inside_the_server_root(jp_root_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Use the CLI from inside the server's root, as its users do: a run starts where they are."""
    monkeypatch.chdir(jp_root_dir)


async def read_line(stream: asyncio.StreamReader, timeout: float = 20) -> bytes:
    line = await asyncio.wait_for(stream.readline(), timeout)
    assert line, "the stream ended early"
    return line


async def run_id_from(stderr: asyncio.StreamReader) -> str:
    """Read the CLI's first status line, `nebula: run <id> <status>`, and return the id."""
    line = (await read_line(stderr)).decode()
    assert line.startswith("nebula: run "), line
    return line.split()[2]


# -- parsing and pure pieces ----------------------------------------------------------------


@pytest.mark.parametrize(
    "argv",
    [
        [],
        ["bogus"],
        ["run"],
        ["run", "--"],
        ["run", "--env", "NOEQUALS", "--", "true"],
        ["run", "--resource", "GPU", "--", "true"],
        ["run", "--resource", "GPU=none", "--", "true"],
        ["run", "--resource", "GPU=-1", "--", "true"],
        ["run", "--resource", "GPU=inf", "--", "true"],
        ["logs"],
        ["logs", "--stream", "nope", "x"],
        ["ls", "--status", "nope"],
        ["status", "--timeout", "soon", "x"],
        ["status", "--timeout", "0", "x"],
        ["ls", "--url", "ftp://example.org/"],
        ["ls", "unexpected\x1b[2J\nargument"],
        ["run", "--url", "http://127.0.0.1:9/", "--", "printf", "a\udcffb"],
    ],
)
def test_usage_errors_exit_2_with_one_line(argv: list[str], capsys: Any) -> None:
    with pytest.raises(SystemExit) as info:
        main(argv)
    assert info.value.code == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "error:" in err and "--help" in err
    assert not RAW_CONTROL.search(err.rstrip("\n")), err


@pytest.mark.parametrize("subcommand", ["run", "logs", "cancel", "status", "ls", "delete"])
def test_every_subcommand_has_help(subcommand: str, capsys: Any) -> None:
    with pytest.raises(SystemExit) as info:
        main([subcommand, "--help"])
    assert info.value.code == 0
    out = capsys.readouterr().out
    assert "--url" in out and "--token" in out and len(out.splitlines()) > 6


def test_run_parses_the_command_after_the_separator() -> None:
    args = build_parser().parse_args(
        ["run", "--name", "n", "--url", "http://h:1/", "--", "python", "-c", "print(1)", "--x"]
    )
    assert args.command == ["--", "python", "-c", "print(1)", "--x"]
    assert args.name == "n" and args.url == "http://h:1/"


@pytest.mark.parametrize(
    ("record", "code"),
    [
        ({"status": "succeeded", "exit_code": 0}, 0),
        ({"status": "failed", "exit_code": 3}, 3),
        ({"status": "failed", "exit_code": None, "signal": "SIGKILL"}, 137),
        ({"status": "failed", "exit_code": None, "signal": "SIGSEGV"}, 128 + 11),
        ({"status": "cancelled", "exit_code": 0, "signal": None}, 130),
        ({"status": "cancelled", "exit_code": None, "signal": "SIGTERM"}, 130),
        ({"status": "failed", "exit_code": None, "reason": "spawn_error"}, 127),
        ({"status": "failed", "exit_code": None, "reason": "server_lost"}, 1),
    ],
)
def test_exit_codes(record: dict[str, Any], code: int) -> None:
    assert exit_code_for(record) == code


# -- end to end -----------------------------------------------------------------------------


@pytest.mark.parametrize("run_executor", ["dask"], indirect=True)
async def test_run_on_dask_with_a_resource(cli: Cli) -> None:
    # CONTRACT §6: nebula run --executor dask --resource K=V -- CMD, on a real cluster.
    result = await cli.run(
        "run",
        "-q",
        "--executor",
        "dask",
        "--resource",
        "GPU=1",
        "--shell",
        "--",
        'echo "$NEBULA_WORKER"; echo warn >&2; exit 4',
    )
    assert (result.code, result.stdout, result.stderr) == (4, b"gpu\n", b"warn\n")
    missing = await cli.run("run", "-q", "--executor", "nope", "--", "true")
    assert missing.code != 0 and b"executor" in missing.stderr


async def test_run_exit_codes(cli: Cli) -> None:
    ok = await cli.run("run", "-q", "--", *child("lines", 20))
    assert ok.code == 0 and ok.stdout == LINES_20 and ok.stderr == b"err 10\nerr 20\n"
    three = await cli.run("run", "-q", "--shell", "--", "echo out; echo err >&2; exit 3")
    assert (three.code, three.stdout, three.stderr) == (3, b"out\n", b"err\n")
    killed = await cli.run("run", "-q", "--", "sh", "-c", "kill -9 $$")
    assert killed.code == 128 + 9
    missing = await cli.run("run", "--", "/no/such/binary-nebula")
    assert missing.code == 127 and b"failed" in missing.stderr


async def test_run_reports_start_and_end_without_colours(cli: Cli) -> None:
    result = await cli.run("run", "--name", "report", "--", "sh", "-c", "echo hi; exit 4")
    assert result.code == 4 and result.stdout == b"hi\n"
    lines = result.stderr.decode().splitlines()
    assert lines[0].startswith("nebula: run ") and len(lines) == 2
    assert lines[1].endswith("failed (exit code 4)")
    assert "\033[" not in result.stderr.decode()  # not a terminal: no colours


async def test_run_streams_live(cli: Cli, tmp_path: Path) -> None:
    gate = tmp_path / "gate"
    script = f"echo first; echo warn >&2; while [ ! -e '{gate}' ]; do sleep 0.05; done; echo second"
    process = await cli.start("run", "-q", "--shell", "--", script)
    assert process.stdout is not None and process.stderr is not None
    # Both lines arrive while the run is still blocked on the gate: streamed, not buffered.
    assert await read_line(process.stdout) == b"first\n"
    assert await read_line(process.stderr) == b"warn\n"
    assert process.returncode is None
    gate.touch()
    assert await read_line(process.stdout) == b"second\n"
    assert await asyncio.wait_for(process.wait(), 20) == 0


async def test_run_with_env_cwd_and_name(cli: Cli, client: NebulaClient, jp_root_dir: Path) -> None:
    (jp_root_dir / "place").mkdir()
    result = await cli.run(
        "run", "-q", "--name", "envy", "--cwd", "place", "--env", "A=1", "--env", "B=x=y",
        "--", "sh", "-c", 'echo "$A $B"; pwd',
    )  # fmt: skip
    assert result.code == 0
    assert result.stdout.decode().splitlines() == ["1 x=y", str((jp_root_dir / "place").resolve())]
    newest = (await asyncio.to_thread(client.list))[0]
    assert newest["name"] == "envy" and newest["cwd"] == "place"


def own_python3(tmp_path: Path) -> tuple[Path, dict[str, str]]:
    """Return a `python3` of the caller's own, and a CLI environment whose PATH finds it first."""
    from ..support.client_fixtures import clean_env

    folder = tmp_path / "callers-bin"
    folder.mkdir()
    (folder / "python3").symlink_to(sys.executable)
    return folder / "python3", clean_env(PATH=f"{folder}{os.pathsep}{os.environ['PATH']}")


async def test_run_starts_in_the_current_folder_with_the_shells_python3(
    cli: Cli,
    client: NebulaClient,
    jp_root_dir: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    here = jp_root_dir / "project" / "sub"
    here.mkdir(parents=True)
    (here / "prog.py").write_text("print('prog.py found')\n")
    monkeypatch.chdir(here)
    python3, env = own_python3(tmp_path)
    result = await cli.run("run", "-q", "--", "python3", "-c", PRINT_WHERE, env=env)
    assert result.code == 0, result.stderr
    assert result.stdout.decode().splitlines() == [str(here.resolve()), str(python3)]
    assert (await asyncio.to_thread(client.list))[0]["cwd"] == "project/sub"
    # The first-hour case: a script next to the user, run with a bare `python3`.
    prog = await cli.run("run", "-q", "--", "python3", "prog.py", env=env)
    assert (prog.code, prog.stdout) == (0, b"prog.py found\n")


async def test_explicit_cwd_and_path_win(
    cli: Cli, jp_root_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (jp_root_dir / "project" / "sub").mkdir(parents=True)
    monkeypatch.chdir(jp_root_dir / "project" / "sub")
    _, env = own_python3(tmp_path)
    script = 'pwd; echo "$PATH"'
    result = await cli.run(
        "run", "-q", "--cwd", "project", "--env", "PATH=/usr/bin:/bin", "--", "sh", "-c", script,
        env=env,
    )  # fmt: skip
    assert result.stdout.decode().splitlines() == [
        str((jp_root_dir / "project").resolve()),
        "/usr/bin:/bin",
    ]
    root = await cli.run("run", "-q", "--cwd", ".", "--", "pwd", env=env)
    assert root.stdout.decode().strip() == str(jp_root_dir.resolve())


async def test_run_outside_the_server_root_says_so_in_one_line(
    cli: Cli,
    client: NebulaClient,
    jp_root_dir: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    outside = tmp_path / "elsewhere"
    outside.mkdir()
    monkeypatch.chdir(outside)
    before = await asyncio.to_thread(client.list)
    result = await cli.run("run", "--", "python3", "prog.py")
    err = result.stderr.decode()
    assert result.code == 1 and err.count("\n") == 1 and err.startswith("nebula: error: "), err
    assert f"current folder {outside.resolve()} " in err and "--cwd DIR" in err
    assert "root" in err and "Traceback" not in err
    assert await asyncio.to_thread(client.list) == before  # nothing was started
    chosen = await cli.run("run", "-q", "--cwd", ".", "--", "pwd")
    assert chosen.code == 0 and chosen.stdout.decode().strip() == str(jp_root_dir.resolve())


async def test_detach_prints_the_id(cli: Cli, client: NebulaClient) -> None:
    result = await cli.run("run", "-d", "--", *child("lines", 2))
    run_id = result.stdout.decode().strip()
    assert result.code == 0 and (await asyncio.to_thread(client.get, run_id))["id"] == run_id


async def test_cancel_from_elsewhere_exits_130(cli: Cli, client: NebulaClient) -> None:
    process = await cli.start("run", "--", *child("ignore_term"))
    assert process.stdout is not None and process.stderr is not None
    run_id = await run_id_from(process.stderr)
    assert await read_line(process.stdout) == b"ignoring SIGTERM\n"
    await asyncio.to_thread(client.cancel, run_id)
    assert await asyncio.wait_for(process.wait(), 30) == 130
    rest = (await process.stderr.read()).decode()
    assert f"run {run_id} cancelled" in rest


async def test_sigint_cancels_the_run(cli: Cli, client: NebulaClient) -> None:
    process = await cli.start("run", "--", *child("lines", 100000, 0.05))
    assert process.stdout is not None and process.stderr is not None
    run_id = await run_id_from(process.stderr)
    assert await read_line(process.stdout) == b"line 1\n"
    process.send_signal(signal.SIGINT)
    drained = asyncio.create_task(process.stdout.read())
    assert await asyncio.wait_for(process.wait(), 30) == 130
    await drained
    record = await asyncio.to_thread(client.get, run_id)
    assert record["status"] == "cancelled" and record["cancel_requested"] is True
    messages = (await process.stderr.read()).decode()
    assert "cancelling run" in messages and f"run {run_id} cancelled" in messages


async def test_logs_exact_bytes_per_stream(cli: Cli, client: NebulaClient) -> None:
    command = child("write_bytes", "out:6869ff0a", "err:c328", "out:0001")
    run_id = (await asyncio.to_thread(client.create, command))["id"]
    await asyncio.to_thread(client.wait, run_id, 20)
    split = await cli.run("logs", run_id)
    assert (split.code, split.stdout, split.stderr) == (0, b"hi\xff\n\x00\x01", b"\xc3\x28")
    only_err = await cli.run("logs", "--stream", "stderr", run_id)
    assert (only_err.stdout, only_err.stderr) == (b"", b"\xc3\x28")
    merged = await cli.run("logs", "--stream", "both", run_id)
    assert merged.stdout == await asyncio.to_thread(client.logs, run_id) and merged.stderr == b""
    assert sorted(merged.stdout) == sorted(b"hi\xff\n\xc3\x28\x00\x01")


async def test_logs_follow_until_the_end(cli: Cli, client: NebulaClient) -> None:
    run_id = (await asyncio.to_thread(client.create, child("lines", 20, 0.05)))["id"]
    followed = asyncio.create_task(cli.run("logs", "-f", run_id))
    # The follower attaches while the run is still going (20 lines, 50 ms apart).
    await wait_for(lambda: asyncio.to_thread(lambda: client.logs(run_id)), 10)
    assert (await asyncio.to_thread(client.get, run_id))["status"] == "running"
    result = await asyncio.wait_for(followed, 30)
    assert result.code == 0 and result.stdout == LINES_20
    assert result.stderr == b"err 10\nerr 20\n"
    one = await cli.run("logs", "-f", "--stream", "stdout", run_id)
    assert one.stdout == LINES_20


async def test_status_ls_cancel_delete(cli: Cli, client: NebulaClient) -> None:
    done_id = (await asyncio.to_thread(client.create, ["true"], name="quick"))["id"]
    await asyncio.to_thread(client.wait, done_id, 20)
    sleeper_id = (await asyncio.to_thread(client.create, ["sleep", "30"], name="sleepy"))["id"]

    status = await cli.run("status", done_id)
    assert status.code == 0 and "succeeded" in status.stdout.decode()
    assert "quick" in status.stdout.decode() and "exit code: 0" in status.stdout.decode()
    as_json = json.loads((await cli.run("status", "--json", done_id)).stdout)
    assert as_json["id"] == done_id and as_json["exit_code"] == 0

    table = (await cli.run("ls")).stdout.decode().splitlines()
    assert table[0].split() == ["ID", "NAME", "STATUS", "EXIT", "CREATED", "COMMAND"]
    assert table[1].startswith(sleeper_id) and table[2].startswith(done_id)  # newest first
    assert "\033[" not in "".join(table)
    listed = json.loads((await cli.run("ls", "--json", "--status", "running")).stdout)
    assert [r["id"] for r in listed] == [sleeper_id]

    cancelled = await cli.run("cancel", sleeper_id)
    assert cancelled.code == 0 and b"cancel requested" in cancelled.stdout
    final = await asyncio.to_thread(client.wait, sleeper_id, 20)
    assert final["status"] == "cancelled"
    again = await cli.run("cancel", sleeper_id)
    assert again.code == 1 and again.stderr.count(b"\n") == 1 and b"409" in again.stderr

    assert (await cli.run("delete", done_id)).code == 0
    gone = await cli.run("status", done_id)
    assert gone.code == 1 and b"404" in gone.stderr and gone.stderr.startswith(b"nebula: error:")


NASTY = "echo one\n\techo two\x1b[31m red\x1b[0m\r\x07\x9b2J\u202eevil; exit 0"
LONG = "echo " + " ".join(f"word{i}" for i in range(80))


async def nasty_runs(client: NebulaClient) -> list[str]:
    """Create finished runs with control characters and a long command; return their ids."""
    ids = []
    for command, name in ((NASTY, "multi\nline\tname\x1b]0;title\x07"), (LONG, None)):
        record = await asyncio.to_thread(client.create, command, name=name)
        await asyncio.to_thread(client.wait, record["id"], 20)
        ids.append(record["id"])
    return ids


def assert_table(stdout: str, ids: list[str], columns: int) -> None:
    lines = stdout.split("\n")
    assert lines.pop() == ""  # the output ends with a newline
    assert len(lines) == 1 + len(ids), lines  # the header, then one line per run
    for line in lines:
        plain = OUR_COLOUR.sub(r"\1", line)
        assert not RAW_CONTROL.search(plain), repr(line)
        assert len(plain) <= columns, (columns, line)
    assert [line.split()[0] for line in lines[1:]] == ids[::-1]
    assert all(line.endswith("…") for line in lines[1:])


async def test_ls_prints_one_line_per_run_without_raw_controls(
    cli: Cli, client: NebulaClient
) -> None:
    from ..support.client_fixtures import clean_env

    ids = await nasty_runs(client)
    piped = await cli.run("ls", env={k: v for k, v in clean_env().items() if k != "COLUMNS"})
    assert piped.code == 0
    assert_table(piped.stdout.decode(), ids, 120)
    assert "echo one\\n\\techo two\\x1b[31m red" in piped.stdout.decode()
    narrow = await cli.run("ls", env=clean_env(COLUMNS="70"))
    assert_table(narrow.stdout.decode(), ids, 70)


async def test_ls_on_a_terminal_is_cut_to_its_width(cli: Cli, client: NebulaClient) -> None:
    from ..support.client_fixtures import clean_env

    ids = await nasty_runs(client)
    leader, follower = pty.openpty()
    fcntl.ioctl(follower, termios.TIOCSWINSZ, struct.pack("HHHH", 24, 90, 0, 0))
    attrs = termios.tcgetattr(follower)
    attrs[1] &= ~termios.ONLCR  # keep "\n" as the program wrote it
    termios.tcsetattr(follower, termios.TCSANOW, attrs)
    env = {k: v for k, v in clean_env().items() if k not in ("COLUMNS", "NO_COLOR")}
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "nebula_jupyter.cli", *cli.argv("ls"),
        stdin=asyncio.subprocess.DEVNULL, stdout=follower, stderr=asyncio.subprocess.PIPE, env=env,
    )  # fmt: skip
    os.close(follower)
    output = await asyncio.to_thread(read_terminal, leader)
    assert await asyncio.wait_for(process.wait(), 30) == 0
    assert OUR_COLOUR.search(output)  # it really saw a terminal: the statuses are coloured
    assert_table(output, ids, 90)


def read_terminal(leader: int) -> str:
    """Read a pseudo-terminal's output until every writer has closed it."""
    chunks = []
    try:
        while chunk := os.read(leader, 65536):
            chunks.append(chunk)
    except OSError:
        pass  # EIO: the last writer is gone
    finally:
        os.close(leader)
    return b"".join(chunks).decode()


async def test_status_and_run_lines_show_controls_visibly(cli: Cli, client: NebulaClient) -> None:
    ids = await nasty_runs(client)
    status = await cli.run("status", ids[0])
    text = status.stdout.decode()
    assert status.code == 0 and not RAW_CONTROL.search(text), text
    assert "name:      multi\\nline\\tname\\x1b]0;title\\x07\n" in text
    assert "echo one\\n\\techo two\\x1b[31m red\\x1b[0m\\r\\x07\\x9b2J\\u202eevil" in text
    # A spawn error's message names the program: the server's text, told back to a terminal.
    missing = await cli.run("run", "--name", "bad\x1b[2J", "--", "/no/such\n\x1b[2Jprogram")
    err = missing.stderr.decode()
    assert missing.code == 127 and not RAW_CONTROL.search(err), err
    assert len(err.splitlines()) == 2 and "\\x1b[2J" in err


async def test_ls_into_a_closed_pipe_stops_quietly(cli: Cli, client: NebulaClient) -> None:
    await nasty_runs(client)
    reader, writer = os.pipe()
    os.close(reader)  # like `nebula ls | head -1` once head has exited
    try:
        process = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "nebula_jupyter.cli", *cli.argv("ls"),
            stdin=asyncio.subprocess.DEVNULL, stdout=writer, stderr=asyncio.subprocess.PIPE,
        )  # fmt: skip
    finally:
        os.close(writer)
    _, stderr = await asyncio.wait_for(process.communicate(), 30)
    assert (process.returncode, stderr) == (128 + signal.SIGPIPE, b"")


async def test_server_errors_exit_1_without_leaking_tokens(cli: Cli, server: Server) -> None:
    secret = "not-the-token-7c1d"
    bad = await cli.run("ls", "--url", server.url, "--token", secret, auth=False)
    assert bad.code == 1 and bad.stderr.count(b"\n") == 1
    assert b"403" in bad.stderr or b"401" in bad.stderr
    assert secret.encode() not in bad.stderr + bad.stdout
    missing = await cli.run("status", "nope-nope")
    assert missing.code == 1 and server.token.encode() not in missing.stderr
    away = await cli.run("ls", "--url", "http://127.0.0.1:9/", "--token", "t", auth=False)
    assert away.code == 1 and b"cannot reach" in away.stderr


async def test_environment_configures_the_cli(cli: Cli, server: Server) -> None:
    from ..support.client_fixtures import clean_env

    env = clean_env(NEBULA_URL=server.url, NEBULA_TOKEN=server.token)
    result = await cli.run("run", "-q", "--", "echo", "from-env", auth=False, env=env)
    assert result.code == 0 and result.stdout == b"from-env\n"


LS_WATCHING_IMPORTS = """
import json, runpy, sys
sys.argv = ["nebula", "ls"]
try:
    runpy.run_module("nebula_jupyter.cli", run_name="__main__")
except SystemExit as exc:
    code = exc.code
heavy = sorted(m for m in sys.modules if m == "jupyter_server" or m.startswith("jupyter_server."))
print("IMPORTS " + json.dumps({"code": code, "heavy": heavy}))
"""


async def test_ls_discovery_never_imports_jupyter_server(server: Server) -> None:
    # No --url and no NEBULA_URL: the CLI finds the test server from its jpserver-*.json file
    # in the runtime dir (pytest-jupyter's), the path every `nebula` call without flags takes.
    from ..support.client_fixtures import clean_env

    process = await asyncio.create_subprocess_exec(
        sys.executable, "-c", LS_WATCHING_IMPORTS,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE, env=clean_env(),
    )  # fmt: skip
    stdout, stderr = await asyncio.wait_for(process.communicate(), 60)
    last = stdout.decode().splitlines()[-1]
    assert last.startswith("IMPORTS "), (stdout, stderr)
    assert json.loads(last.removeprefix("IMPORTS ")) == {"code": 0, "heavy": []}, stderr


def test_cli_module_runs_as_a_script() -> None:
    import subprocess

    from ..support.client_fixtures import clean_env

    out = subprocess.run(
        [sys.executable, "-m", "nebula_jupyter.cli", "--version"],
        capture_output=True,
        text=True,
        env=clean_env(),
        check=False,
    )
    assert out.returncode == 0 and out.stdout.startswith("nebula_jupyter ")
