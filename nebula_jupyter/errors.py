"""Domain errors: the core raises these, one base handler maps them to HTTP statuses."""

from __future__ import annotations

from typing import Any


class NebulaError(Exception):
    """Base of every error a client may be told about; ``message`` is safe to show."""

    status_code = 500

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message

    def body(self) -> dict[str, Any]:
        """Return the JSON error body."""
        return {"message": self.message}


class InvalidRequest(NebulaError):
    """The request is malformed; nothing was started or changed."""

    status_code = 400


class RunNotFound(NebulaError):
    """No run has this id."""

    status_code = 404

    def __init__(self, run_id: str) -> None:
        super().__init__(f"No run with id {run_id!r}.")


class RunConflict(NebulaError):
    """The run's state forbids the operation (e.g. cancel after the end)."""

    status_code = 409

    def __init__(self, message: str, run: dict[str, Any]) -> None:
        super().__init__(message)
        self.run = run

    def body(self) -> dict[str, Any]:
        """Return the message together with the run's current record."""
        return {"message": self.message, "run": self.run}


class QueueFull(NebulaError):
    """The queue already holds ``max_queued_runs`` runs."""

    status_code = 429
