"""The program that runs in kernels, scripts and the CLI: clients of the nebula REST/WebSocket API.

``NebulaClient`` (blocking) and ``AsyncNebulaClient`` (asyncio) share one request builder and
parser per endpoint (``calls``), one I/O-free follow session (``follow``) and one error
taxonomy (``errors``). Nothing here imports the server.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ..protocol import (
    TERMINAL_STATUSES,
    OutputMessage,
    RunRecord,
    StatusMessage,
    TruncatedMessage,
)
from .address import ServerAddress
from .calls import Command
from .errors import (
    BadFrame,
    BadRequest,
    Conflict,
    InsufficientStorage,
    NebulaError,
    NotFound,
    QueueFull,
    RequestTimeout,
    ServerError,
    ServerUnavailable,
    Unauthorized,
)
from .sync import NebulaClient, TerminalLink

if TYPE_CHECKING:
    from .aio import AsyncNebulaClient
    from .follow import Event

__all__ = [
    "TERMINAL_STATUSES",
    "AsyncNebulaClient",
    "BadFrame",
    "BadRequest",
    "Command",
    "Conflict",
    "Event",
    "InsufficientStorage",
    "NebulaClient",
    "NebulaError",
    "NotFound",
    "OutputMessage",
    "QueueFull",
    "RequestTimeout",
    "RunRecord",
    "ServerAddress",
    "ServerError",
    "ServerUnavailable",
    "StatusMessage",
    "TerminalLink",
    "TruncatedMessage",
    "Unauthorized",
]


def __getattr__(name: str) -> Any:
    """Load the asyncio client and the follow types on first use (they import websockets)."""
    if name == "AsyncNebulaClient":
        from .aio import AsyncNebulaClient

        return AsyncNebulaClient
    if name == "Event":
        from .follow import Event

        return Event
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
