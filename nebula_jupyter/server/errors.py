"""Why the server refuses a request: the core raises these, one base handler maps them to HTTP.

Only ``server/base.py`` knows HTTP; elsewhere these are plain domain errors with a status code
attached. Messages are safe to show: they never hold a token, a traceback or a malformed id.
"""

from __future__ import annotations

from typing import Any

from ..protocol import RUN_ID_PATTERN, RunRecord


class ApiError(Exception):
    """Base of every error a client may be told about; ``message`` is safe to show."""

    status_code = 500

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message

    def body(self) -> dict[str, Any]:
        """Return the JSON error body (CONTRACT: ``{"message": ...}``)."""
        return {"message": self.message}


class InvalidRequest(ApiError):
    """The request is malformed; nothing was started or changed (400)."""

    status_code = 400


class RunNotFound(ApiError):
    """No run has this id (404); a malformed id is not repeated back."""

    status_code = 404

    def __init__(self, run_id: str) -> None:
        shown = repr(run_id) if RUN_ID_PATTERN.match(run_id) else "(malformed id)"
        super().__init__(f"No run with id {shown}.")


class RunConflict(ApiError):
    """The run's state forbids the operation, e.g. cancel after the end (409)."""

    status_code = 409

    def __init__(self, message: str, run: RunRecord) -> None:
        super().__init__(message)
        self.run = run

    def body(self) -> dict[str, Any]:
        """Return the message together with the run's current record."""
        return {"message": self.message, "run": self.run}


class NotATty(InvalidRequest):
    """Input or a size for a run that is not in terminal mode (CONTRACT §3 ``not_a_tty``)."""


class TooManyRuns(ApiError):
    """The queue already holds ``max_queued_runs`` runs (429)."""

    status_code = 429


class StorageFull(ApiError):
    """The data dir has no room for a new run's output (507, RFC 4918 §11.5)."""

    status_code = 507


class Unavailable(ApiError):
    """The server cannot do this now; the same request may work later (503)."""

    status_code = 503


class InputRefused(Unavailable):
    """The program does not read its input: this input was refused, not dropped."""


class StorageUnavailable(Unavailable):
    """The data dir cannot be written for a reason other than a full disk."""


class ShuttingDown(Unavailable):
    """The server is stopping and takes no new runs."""


class AgentUnknown(ApiError):
    """No active run of this server accepts this agent credential (404, CONTRACT §7).

    One answer for a wrong credential, an ended run and an unknown one: an agent learns only
    that it must stop, and a prober learns nothing.
    """

    status_code = 404

    def __init__(self) -> None:
        super().__init__("No active run takes this agent.")
