"""The extension's own credentials: configured tokens and the secret handed to kernels."""

from __future__ import annotations

import hmac
import secrets
from collections.abc import Iterable

#: The Jupyter authorizer's resource name for every nebula endpoint.
AUTH_RESOURCE = "nebula"
# Jupyter's actions: GET routes need READ, changes need WRITE, and what runs a process needs
# EXECUTE (as kernel and terminal sockets do). docs/rest.md lists the action of every route.
READ, WRITE, EXECUTE = "read", "write", "execute"


def constant_time_match(candidate: str, accepted: Iterable[str]) -> bool:
    """Say whether ``candidate`` equals one of ``accepted``, in time independent of the match."""
    given = candidate.encode("utf-8", "surrogatepass")
    found = False
    for token in accepted:
        if token and hmac.compare_digest(given, token.encode("utf-8", "surrogatepass")):
            found = True
    return bool(candidate) and found


def token_from_authorization(header: str) -> str | None:
    """Return the token of an ``Authorization: token|Bearer <t>`` header (``""`` if blank)."""
    parts = header.strip().split(None, 1)
    if not parts or parts[0].lower() not in ("token", "bearer"):
        return None
    return parts[1].strip() if len(parts) == 2 else ""


class ExtensionCredentials:
    """Tokens this extension accepts besides Jupyter's own identity."""

    def __init__(self, tokens: Iterable[str], kernel_secret: str | None = None) -> None:
        self._tokens = [token for token in tokens if token]
        self.kernel_secret = kernel_secret or secrets.token_urlsafe(32)

    def verify(self, candidate: str) -> bool:
        """Say whether ``candidate`` is one of the extension tokens or the kernel secret."""
        return constant_time_match(candidate, [*self._tokens, self.kernel_secret])

    def secrets(self) -> list[str]:
        """Return every secret value, for scrubbing child environments."""
        return [*self._tokens, self.kernel_secret]
