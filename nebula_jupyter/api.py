"""The notebook-facing API: ``nj.run(...)``, ``nj.runs()``, ``nj.connect(...)`` and ``Run``."""

from __future__ import annotations

import importlib
import sys
import threading
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any, Unpack

from .client import Command, Conflict, NebulaClient, NebulaError, RunRecord
from .client.arguments import checked
from .client.calls import RunOptions
from .client.defaults import create_here
from .protocol import TERMINAL_STATUSES, StatusMessage

if TYPE_CHECKING:
    from .client import Event

__all__ = ["Run", "connect", "iter_runs", "run", "runs"]

_lock = threading.Lock()
_default_client: NebulaClient | None = None

HOW_TO_CHOOSE_CWD = (
    "os.chdir() into a folder inside the server's root, or pass cwd=DIR "
    "(relative to the server's root; cwd='' is the root)"
)


@checked
def connect(
    url: str | None = None, token: str | None = None, *, timeout_seconds: float = 30.0
) -> NebulaClient:
    """Use this server for every later call; without a URL, discover it again."""
    global _default_client
    client = NebulaClient(url, token, timeout_seconds=timeout_seconds)
    with _lock:
        _default_client = client
    return client


def _client() -> NebulaClient:
    global _default_client
    with _lock:
        if _default_client is None:
            # Discovery happens on first use so that importing never touches the network.
            _default_client = NebulaClient()
        return _default_client


@checked
def run(command: Command, **options: Unpack[RunOptions]) -> Run:
    """Start a run on the server (a list runs directly, a string through /bin/sh).

    ``options``: ``name``; ``cwd`` (relative to the server's root, or absolute inside it;
    default: this process's current folder, e.g. the notebook's); ``env`` (over the server's
    child environment; ``PATH`` defaults to this process's, with the folder of this Python
    first, so ``python`` in the command is the kernel's own).
    """
    client = _client()
    record = create_here(
        client.create, command, options, python=sys.executable, how_to_choose=HOW_TO_CHOOSE_CWD
    )
    return Run(record, client)


@checked
def runs(status: str | None = None, limit: int | None = 100) -> list[Run]:
    """Return the newest ``limit`` runs (None: every run), optionally only one status."""
    return list(iter_runs(status, limit))


@checked
def iter_runs(status: str | None = None, limit: int | None = None) -> Iterator[Run]:
    """Yield runs newest first, fetching a page at a time: every run, or up to ``limit``."""
    client = _client()
    for record in client.iter_runs(status, limit):
        yield Run(record, client)


class Run:
    """A handle on one run; attributes that can change are read fresh from the server."""

    def __init__(self, record: RunRecord, client: NebulaClient | None = None) -> None:
        """Wrap a run record; use :func:`run` or :meth:`Run.get` rather than this."""
        self._record: RunRecord = record
        self._client = client if client is not None else _client()

    @classmethod
    @checked
    def get(cls, run_id: str) -> Run:
        """Re-attach to an existing run by id."""
        client = _client()
        return cls(client.get(run_id), client)

    @property
    def id(self) -> str:
        """Return the run's id."""
        return str(self._record["id"])

    @property
    def name(self) -> str | None:
        """Return the label given at creation."""
        name = self._record.get("name")
        return None if name is None else str(name)

    @property
    def record(self) -> RunRecord:
        """Return the run's full record, refreshed from the server."""
        self._record = self._client.get(self.id)
        return self._record.copy()

    @property
    def status(self) -> str:
        """Return the current status: queued, running, succeeded, failed or cancelled."""
        return str(self._fresh()["status"])

    @property
    def exit_code(self) -> int | None:
        """Return the process exit code (None while running or when a signal ended it)."""
        code = self._fresh().get("exit_code")
        return None if code is None else int(code)

    @property
    def done(self) -> bool:
        """Say whether the run has reached a terminal status."""
        return self._fresh()["status"] in TERMINAL_STATUSES

    @checked
    def wait(self, timeout: float | None = None) -> Run:
        """Block until the run ends and return it; raise TimeoutError after ``timeout`` s."""
        try:
            self._record = self._client.wait(self.id, timeout)
        except TimeoutError:
            raise TimeoutError(
                f"run {self.id} did not finish within {timeout:g} s "
                f"(status: {self._fresh()['status']})"
            ) from None
        return self

    def cancel(self) -> Run:
        """Ask the server to stop the run; does nothing if it already ended."""
        try:
            self._record = self._client.cancel(self.id)
        except Conflict as exc:
            # Finishing first is not an error for a notebook user; the record says how it ended.
            self._record = exc.run if exc.run is not None else self._client.get(self.id)
        return self

    @checked
    def logs(self, stream: str | None = None) -> str:
        """Return the output so far as text: both streams in the order the server read them, or one.

        Writes made at the same moment on the two pipes have no order between them; merge them
        in the program (``2>&1``) when their interleaving matters.
        """
        return self._client.logs(self.id, stream).decode("utf-8", errors="replace")

    @checked
    def follow(self, after: int = 0) -> Iterator[Event]:
        """Yield output and status events until the run ends."""
        for event in self._client.follow(self.id, after):
            if isinstance(event, StatusMessage):
                self._record = event.run
            yield event

    def __eq__(self, other: object) -> bool:
        """Compare runs by id and server."""
        if not isinstance(other, Run):
            return NotImplemented
        return (self.id, self._client.url) == (other.id, other._client.url)

    def __hash__(self) -> int:
        """Hash by id and server, like equality."""
        return hash((self.id, self._client.url))

    def __repr__(self) -> str:
        """Show id, name, status and exit code."""
        record = self._fresh(quiet=True)
        return (
            f"Run(id={self.id!r}, name={self.name!r}, status={record.get('status')!r}, "
            f"exit_code={record.get('exit_code')!r})"
        )

    def _repr_mimebundle_(
        self, include: Any = None, exclude: Any = None
    ) -> dict[str, Any] | tuple[dict[str, Any], dict[str, Any]]:
        """Display the run as its live terminal widget, or as text when widgets are missing."""
        bundle: dict[str, Any] | tuple[dict[str, Any], dict[str, Any]] | None = None
        try:
            # Imported here: a plain `import nebula_jupyter` must not pull in the widget stack.
            widget = importlib.import_module(f"{__package__}.widget").RunTerminal(run_id=self.id)
            bundle = widget._repr_mimebundle_(include=include, exclude=exclude)
        except Exception:
            # No anywidget/ipywidgets (a server-only install) or a broken widget: fall back to text.
            bundle = None
        return bundle or {"text/plain": self._text_summary()}

    def _text_summary(self) -> str:
        record = self._fresh(quiet=True)
        parts = [f"run {self.id}"]
        if self.name:
            parts.append(f"({self.name})")
        parts.append(str(record.get("status")))
        if record.get("exit_code") is not None:
            parts.append(f"exit code {record['exit_code']}")
        elif record.get("signal"):
            parts.append(f"signal {record['signal']}")
        return " ".join(parts)

    def _fresh(self, *, quiet: bool = False) -> RunRecord:
        # A terminal record never changes again, so only active runs cost a request.
        if self._record.get("status") not in TERMINAL_STATUSES:
            try:
                self._record = self._client.get(self.id)
            except NebulaError:
                if not quiet:
                    raise
        return self._record
