"""A Jupyter Authorizer for tests: deny chosen actions, remember every question."""

from __future__ import annotations

from typing import Any, ClassVar

from jupyter_server.auth.authorizer import Authorizer


class DenyingAuthorizer(Authorizer):
    """Deny the actions in ``denied``; remember every question asked."""

    denied: ClassVar[set[str]] = set()
    asked: ClassVar[list[tuple[str, str]]] = []

    def is_authorized(self, handler: Any, user: Any, action: str, resource: str) -> bool:
        DenyingAuthorizer.asked.append((action, resource))
        return action not in DenyingAuthorizer.denied


def deny(*actions: str) -> None:
    """From now on, deny ``actions`` (none: allow everything) and forget earlier questions."""
    DenyingAuthorizer.denied = set(actions)
    DenyingAuthorizer.asked = []
