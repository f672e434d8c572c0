"""The ``nebula`` subcommands: each takes the parsed arguments and returns an exit status."""

from __future__ import annotations

import argparse
import contextlib
import functools
import json
import math
import signal
import sys
import threading
from collections.abc import Callable, Iterable, Sequence
from types import FrameType
from typing import Any, NoReturn

from ..client import Conflict, NebulaClient, NebulaError, RunRecord
from ..client.calls import RunOptions
from ..client.defaults import create_here
from ..client.sync import TerminalLink
from ..protocol import OutputMessage, StatusMessage
from .console import Output, describe_end, printable, runs_table, say, silence, status_lines
from .keyboard import RawTerminal

EXIT_SERVER_ERROR = 1
EXIT_USAGE = 2
EXIT_CANCELLED = 130  # what a shell reports for a job stopped with Ctrl-C (128 + SIGINT)
EXIT_SPAWN_ERROR = 127  # the shell's "command not found"
EXIT_BROKEN_PIPE = 128 + signal.SIGPIPE  # what `cat` gives when its reader goes away

HOW_TO_CHOOSE_CWD = (
    "run nebula from a folder inside the server's root, or pass --cwd DIR "
    "(relative to the server's root; --cwd . is the root)"
)


class _Parser(argparse.ArgumentParser):
    """An argument parser whose usage errors are a single line on stderr."""

    def error(self, message: str) -> NoReturn:
        """Print one line naming the problem and where to get help, then exit 2."""
        text = printable(f"{self.prog}: error: {message} (see '{self.prog} --help')")
        self.exit(EXIT_USAGE, text + "\n")


def exit_code_for(record: RunRecord) -> int:
    """Map a finished run to the exit code `nebula run` returns."""
    if record.get("status") == "cancelled":
        return EXIT_CANCELLED
    signal_name = record.get("signal")
    if signal_name:
        try:
            return 128 + signal.Signals[str(signal_name)].value
        except KeyError:
            return EXIT_SERVER_ERROR
    exit_code = record.get("exit_code")
    if exit_code is not None:
        return exit_code
    if record.get("reason") == "spawn_error":
        return EXIT_SPAWN_ERROR
    return EXIT_SERVER_ERROR


def _client(args: argparse.Namespace) -> NebulaClient:
    try:
        return NebulaClient(args.url, args.token, timeout_seconds=args.timeout)
    except ValueError as exc:  # a --url that is not one, a --timeout of 0
        _usage_error(args, str(exc))


class _Canceller:
    """SIGINT handler for `nebula run`: the first Ctrl-C cancels, the second stops waiting."""

    def __init__(self, client: NebulaClient, run_id: str) -> None:
        self.client = client
        self.run_id = run_id
        self.requested = False

    def __call__(self, signum: int, frame: FrameType | None) -> None:
        if self.requested:
            raise KeyboardInterrupt
        self.requested = True
        say(f"cancelling run {self.run_id} (Ctrl-C again to stop waiting)")
        # The request runs in a thread: a signal handler must not block the stream it interrupts.
        threading.Thread(target=self._cancel, daemon=True).start()

    def _cancel(self) -> None:
        try:
            self.client.cancel(self.run_id)
        except Conflict:
            pass  # it ended on its own meanwhile; the stream reports how
        except NebulaError as exc:
            say(f"could not cancel run {self.run_id}: {exc.message}")


def _install_sigint(handler: Callable[[int, FrameType | None], None]) -> Callable[[], None]:
    if threading.current_thread() is not threading.main_thread():
        return lambda: None  # signal handlers can only be set from the main thread
    previous = signal.signal(signal.SIGINT, handler)

    def restore() -> None:
        signal.signal(signal.SIGINT, previous)

    return restore


def cmd_run(args: argparse.Namespace) -> int:
    """Start a run and follow it to the end, mirroring its output and exit code."""
    command: Sequence[str] | str = args.command
    if command and command[0] == "--":
        command = command[1:]
    if not command:
        _usage_error(args, "a command is required, e.g. nebula run -- python train.py")
    if args.shell:
        command = " ".join(command)
    env = dict(_parse_env(args, item) for item in args.env)
    options: RunOptions = {
        "name": args.name,
        "cwd": args.cwd,
        "env": env or None,
        "tty": True if args.tty else None,
        "executor": args.executor,
        "resources": dict(_parse_resource(args, item) for item in args.resource) or None,
    }
    client = _client(args)
    try:
        # The run starts where this shell is, with its PATH, unless --cwd/--env PATH say else.
        record = create_here(client.create, command, options, how_to_choose=HOW_TO_CHOOSE_CWD)
    except ValueError as exc:  # text no run can be given: a NUL, undecodable bytes
        _usage_error(args, str(exc))
    run_id = str(record["id"])
    if args.detach:
        print(printable(run_id), flush=True)
        return 0
    if not args.quiet:
        say(f"run {run_id} {record['status']}")
    canceller = _Canceller(client, run_id)
    restore = _install_sigint(canceller)
    outputs = {"stdout": Output(sys.stdout), "stderr": Output(sys.stderr)}
    link = TerminalLink()
    keyboard: contextlib.AbstractContextManager[RawTerminal | None] = contextlib.nullcontext()
    if args.tty and sys.stdin.isatty():
        if not args.quiet:
            say("keys go to the run (Ctrl-C too); Ctrl-] cancels it")
        keyboard = RawTerminal(link, on_escape=lambda: canceller(signal.SIGINT, None))
    try:
        with keyboard as raw:
            for event in client.follow(run_id, link=link):
                if isinstance(event, OutputMessage):
                    outputs[event.stream].write(event.data.encode("utf-8"))
                elif isinstance(event, StatusMessage):
                    if raw is not None:
                        raw.send_size()  # (re)connected: the run gets this terminal's size
                    if event.terminal:
                        record = event.run
    except KeyboardInterrupt:
        say(f"stopped waiting; run {run_id} is being cancelled")
        return EXIT_CANCELLED
    finally:
        restore()
    if not args.quiet:
        say(describe_end(record), str(record["status"]))
    return exit_code_for(record)


def _parse_env(args: argparse.Namespace, item: str) -> tuple[str, str]:
    key, sep, value = item.partition("=")
    if not sep or not key:
        _usage_error(args, f"--env expects KEY=VALUE, got {item!r}")
    return key, value


def _parse_resource(args: argparse.Namespace, item: str) -> tuple[str, float]:
    key, sep, value = item.partition("=")
    try:
        amount = float(value)
    except ValueError:
        amount = -1.0
    if not sep or not key or not math.isfinite(amount) or amount <= 0:
        _usage_error(args, f"--resource expects NAME=POSITIVE_NUMBER, e.g. GPU=1, got {item!r}")
    return key, amount


def _usage_error(args: argparse.Namespace, message: str) -> NoReturn:
    parser: _Parser = args.parser
    parser.error(message)


def cmd_logs(args: argparse.Namespace) -> int:
    """Print a run's logs as exact bytes, optionally following until the run ends."""
    client = _client(args)
    jobs: list[tuple[str | None, Output]]
    if args.stream == "both":
        jobs = [(None, Output(sys.stdout))]
    elif args.stream:
        jobs = [(args.stream, Output(sys.stdout if args.stream == "stdout" else sys.stderr))]
    else:
        jobs = [("stdout", Output(sys.stdout)), ("stderr", Output(sys.stderr))]

    def copy(stream: str | None, out: Output) -> None:
        if args.follow:
            for chunk in client.stream_logs(args.id, stream, follow=True):
                out.write(chunk)
        else:
            out.write(client.logs(args.id, stream))

    if not args.follow or len(jobs) == 1:
        for stream, out in jobs:
            copy(stream, out)
        return 0
    _run_concurrently([functools.partial(copy, stream, out) for stream, out in jobs])
    return 0


def _run_concurrently(tasks: Iterable[Callable[[], None]]) -> None:
    errors: list[BaseException] = []

    def guarded(task: Callable[[], None]) -> None:
        try:
            task()
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=guarded, args=(task,), daemon=True) for task in tasks]
    for thread in threads:
        thread.start()
    for thread in threads:
        # A bounded join keeps the main thread responsive to Ctrl-C.
        while thread.is_alive():
            thread.join(0.2)
    if errors:
        raise errors[0]


def cmd_cancel(args: argparse.Namespace) -> int:
    """Ask the server to cancel a run."""
    record = _client(args).cancel(args.id)
    print(printable(f"cancel requested for run {record['id']} (status: {record['status']})"))
    return 0


def cmd_delete(args: argparse.Namespace) -> int:
    """Delete a finished run and its logs."""
    _client(args).delete(args.id)
    print(printable(f"deleted run {args.id}"))
    return 0


def cmd_status(args: argparse.Namespace) -> int:
    """Print one run's record."""
    record = _client(args).get(args.id)
    if args.json:
        print(json.dumps(record, indent=2))
    else:
        print("\n".join(status_lines(record, sys.stdout)))
    return 0


def _positive_int(text: str) -> int | None:
    if not text.isascii() or not text.isdigit():
        raise argparse.ArgumentTypeError("expected a number of runs, e.g. --limit 20")
    return int(text) or None  # 0: no limit


def cmd_ls(args: argparse.Namespace) -> int:
    """List runs, newest first."""
    client = _client(args)
    records = list(client.iter_runs(args.status, args.limit))
    if args.limit is not None and len(records) == args.limit and not args.json:
        say(f"showing the newest {args.limit} runs; --limit N shows more, --limit 0 all")
    if args.json:
        print(json.dumps(records, indent=2))
    elif not records:
        print("no runs")
    else:
        print("\n".join(runs_table(records, sys.stdout)))
    return 0


_DESCRIPTION = """\
Start and watch background runs on a Jupyter server that has the nebula_jupyter extension.

The server is found from --url/--token, else NEBULA_URL/NEBULA_TOKEN, else the running
Jupyter servers of this user (jupyter server list)."""

_RUN_EPILOG = """\
The run starts in the current folder (which must lie inside the server's root; else choose
with --cwd) with this shell's PATH (--env PATH=... replaces it), as if typed here.
The run's stdout goes to stdout and its stderr to stderr, live. Exit status: the run's exit
code; 130 if it was cancelled; 128+N if signal N ended it; 127 if the command could not be
started; 1 if the server failed; 2 for usage errors. Ctrl-C cancels the run and waits for it
to end; a second Ctrl-C stops waiting.

examples:
  nebula run -- python train.py --epochs 3
  nebula run --name tests --shell -- 'make test && echo done'"""


def build_parser() -> _Parser:
    """Build the argument parser for every subcommand."""
    connection = _Parser(add_help=False)
    group = connection.add_argument_group("server")
    group.add_argument(
        "--url", help="server base URL, e.g. http://127.0.0.1:8888/ (env NEBULA_URL)"
    )
    group.add_argument(
        "--token", help="server or extension token (env NEBULA_TOKEN; prefer the env var)"
    )
    group.add_argument(
        "--timeout", type=float, default=30.0, metavar="SECONDS", help="HTTP timeout (default 30)"
    )

    parser = _Parser(
        prog="nebula", description=_DESCRIPTION, formatter_class=argparse.RawTextHelpFormatter
    )
    from .._version import __version__

    parser.add_argument("--version", action="version", version=f"nebula_jupyter {__version__}")
    commands = parser.add_subparsers(dest="subcommand", metavar="COMMAND", required=True)

    def add(
        name: str, handler: Callable[[argparse.Namespace], int], help_text: str, **kwargs: Any
    ) -> _Parser:
        sub: _Parser = commands.add_parser(
            name,
            parents=[connection],
            help=help_text,
            description=help_text,
            formatter_class=argparse.RawTextHelpFormatter,
            **kwargs,
        )
        sub.set_defaults(handler=handler, parser=sub)
        return sub

    run = add("run", cmd_run, "start a command as a run and follow its output", epilog=_RUN_EPILOG)
    run.add_argument("--name", help="a label for the run")
    run.add_argument(
        "--cwd",
        help="working directory, relative to the server's root_dir (or absolute inside it);\n"
        "default: the current folder, which must lie inside the server's root",
    )
    run.add_argument(
        "--env",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="extra environment variable (repeatable)",
    )
    run.add_argument(
        "--shell", action="store_true", help="join CMD into one string run by /bin/sh -c"
    )
    run.add_argument(
        "-t",
        "--tty",
        action="store_true",
        help="terminal mode: the run gets a pseudo-terminal (colours, progress bars, line by line\n"
        "output); on a terminal, your keys and window size go to it",
    )
    run.add_argument(
        "--executor",
        metavar="NAME",
        help="where the run executes: local, dask, or another executor the server offers;\n"
        "default: the server's default_executor",
    )
    run.add_argument(
        "--resource",
        action="append",
        default=[],
        metavar="KEY=NUMBER",
        help="an engine resource the run needs, e.g. GPU=1 (repeatable; remote executors)",
    )
    run.add_argument(
        "-d", "--detach", action="store_true", help="print the run id and exit without following"
    )
    run.add_argument(
        "-q", "--quiet", action="store_true", help="do not print nebula's own status lines"
    )
    run.add_argument("command", nargs=argparse.REMAINDER, metavar="-- CMD...", help="the command")

    logs = add("logs", cmd_logs, "print a run's output as the exact bytes it wrote")
    logs.add_argument(
        "-f", "--follow", action="store_true", help="keep printing until the run ends"
    )
    logs.add_argument(
        "--stream",
        choices=("stdout", "stderr", "both"),
        help="only one stream (stderr still goes to stderr), or both merged in order on stdout;\n"
        "default: stdout to stdout and stderr to stderr",
    )
    logs.add_argument("id", help="the run id")

    cancel = add("cancel", cmd_cancel, "cancel a run (SIGTERM, then SIGKILL after a grace period)")
    cancel.add_argument("id", help="the run id")

    status = add("status", cmd_status, "show one run's status and details")
    status.add_argument("--json", action="store_true", help="print the raw run record as JSON")
    status.add_argument("id", help="the run id")

    ls = add("ls", cmd_ls, "list runs, newest first")
    ls.add_argument(
        "--status",
        choices=("queued", "running", "succeeded", "failed", "cancelled"),
        help="only runs with this status",
    )
    ls.add_argument(
        "--limit",
        type=_positive_int,
        default=100,
        metavar="N",
        help="show the newest N runs (default 100); 0 shows every run",
    )
    ls.add_argument("--json", action="store_true", help="print the run records as a JSON list")

    delete = add("delete", cmd_delete, "delete a finished run and its logs", aliases=["rm"])
    delete.add_argument("id", help="the run id")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the nebula command line and return its exit status."""
    args = build_parser().parse_args(argv)
    handler: Callable[[argparse.Namespace], int] = args.handler
    try:
        return handler(args)
    except NebulaError as exc:
        print(f"nebula: error: {printable(exc.message)}", file=sys.stderr)
        return EXIT_SERVER_ERROR
    except KeyboardInterrupt:
        return EXIT_CANCELLED
    except BrokenPipeError:
        # The reader of our output went away (`nebula ls | head -3`): stop quietly, as cat does.
        silence(sys.stdout)
        return EXIT_BROKEN_PIPE
