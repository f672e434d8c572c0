"""Where the caller is: the folder and ``PATH`` that ``nj.run`` and ``nebula run`` default to.

One place for both: a run starts in the caller's current folder (which must lie inside the
server's root) and finds programs on the caller's ``PATH``, so ``python`` in a notebook is the
kernel's Python and ``python3`` in a shell is the shell's.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Mapping

from ..protocol import RunRecord
from .calls import Command, RunOptions
from .errors import BadRequest, NebulaError


def create_here(
    create: Callable[..., RunRecord],
    command: Command,
    options: RunOptions,
    *,
    how_to_choose: str,
    python: str | None = None,
) -> RunRecord:
    """Start a run as if from the caller's shell, with ``create`` (a client's ``create``).

    What ``options`` leave out is taken from the caller: ``cwd`` is the current folder (the
    server accepts it when it lies inside its root) and ``env`` gets the caller's ``PATH``,
    with ``python``'s folder first when given, unless ``env`` sets ``PATH`` itself. An explicit
    ``cwd`` (``""`` is the server's root) or ``PATH`` always wins. When the server refuses the
    current folder, the error names it and ends with ``how_to_choose``, the caller's way to
    pick another.
    """
    sent: RunOptions = {**options}
    folder = None
    if sent.get("cwd") is None:
        try:
            folder = sent["cwd"] = os.getcwd()
        except OSError as exc:
            raise NebulaError(
                f"the current folder is gone ({exc.strerror}); {how_to_choose}"
            ) from None
    sent["env"] = caller_env(sent.get("env"), python=python)
    try:
        return create(command, **sent)
    except (BadRequest, ValueError) as exc:
        if folder is None or not re.search(r"\bcwd\b|working dir", str(exc)):
            raise  # not about the folder we chose
        reason = (str(exc).partition("HTTP 400: ")[2] or str(exc)).rstrip(". ")
        error = BadRequest(
            f"cannot start the run in the current folder {folder} ({reason}); {how_to_choose}",
            status=getattr(exc, "status", None),
        )
    raise error


def caller_env(
    env: Mapping[str, str] | None,
    *,
    python: str | None = None,
    environ: Mapping[str, str] | None = None,
) -> dict[str, str] | None:
    """Return ``env`` plus the caller's ``PATH`` (``python``'s folder first), unless it has one."""
    sent = dict(env or {})
    if "PATH" not in sent:
        path = (os.environ if environ is None else environ).get("PATH")
        folders = [] if path is None else path.split(os.pathsep)
        first = os.path.dirname(python) if python else ""
        if first and folders[:1] != [first]:
            folders.insert(0, first)
        if folders:
            sent["PATH"] = os.pathsep.join(folders)
    return sent or None
