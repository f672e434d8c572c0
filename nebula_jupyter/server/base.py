"""What every nebula handler shares: extension-token authentication and error mapping.

The only module of the server that turns domain errors (``errors.py``) into HTTP answers.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeVar, cast

from jupyter_server.auth.decorator import authorized
from jupyter_server.auth.identity import User
from jupyter_server.base.handlers import APIHandler, JupyterHandler
from tornado import web

from .auth import AUTH_RESOURCE, ExtensionCredentials, token_from_authorization
from .errors import ApiError, InvalidRequest
from .manager import RunManager

EXTENSION_USER = "nebula-token"

_Method = TypeVar("_Method", bound=Callable[..., Any])


def requires(action: str) -> Callable[[_Method], _Method]:
    """Decorate a handler method: Jupyter's authorizer must grant ``action`` on "nebula".

    jupyter_server's ``@authorized`` with the action named, so every route states its action
    (``auth.READ``, ``auth.WRITE`` or ``auth.EXECUTE``) instead of deriving it from the method.
    """
    return cast(Callable[[_Method], _Method], authorized(action))


# CONTRACT §2 v2: ASCII digits only. str.isdigit() also accepts '²' or '٣', which int() refuses
# or reads differently; 18 digits keep the value inside a 64-bit index.
_QUERY_INT = re.compile(r"[0-9]{1,18}")


if TYPE_CHECKING:
    _HandlerBase = JupyterHandler
else:
    _HandlerBase = object


class NebulaAuthMixin(_HandlerBase):
    """Accept the extension's tokens alongside Jupyter's identity; map domain errors.

    A plain mixin (not a JupyterHandler subclass) so that it sits before WebSocketMixin in
    the MRO of the WebSocket handler, as Jupyter's own socket handlers expect.
    """

    auth_resource = AUTH_RESOURCE

    @property
    def manager(self) -> RunManager:
        """Return the server's run manager."""
        manager: RunManager = self.settings["nebula_manager"]
        return manager

    @property
    def credentials(self) -> ExtensionCredentials:
        """Return the extension's own credentials."""
        credentials: ExtensionCredentials = self.settings["nebula_credentials"]
        return credentials

    def presented_tokens(self) -> list[str]:
        """Return the tokens the request carries in the query and the Authorization header."""
        tokens = list(self.get_query_arguments("token"))
        header = self.request.headers.get("Authorization")
        if header is not None:
            token = token_from_authorization(header)
            tokens.append(token or "")
        return tokens

    def credentials_presented(self) -> bool:
        """Say whether the request carries any credential (token, header or login cookie)."""
        if self.presented_tokens():
            return True
        return self.get_cookie(self.identity_provider.get_cookie_name(self)) is not None

    def query_int(self, name: str) -> int | None:
        """Return the non-negative integer query argument ``name`` or None if absent.

        Raises :class:`InvalidRequest` (400) for anything but 1 to 18 ASCII digits; the message
        names the parameter and never repeats the value.
        """
        raw = self.get_query_argument(name, None, strip=False)  # " 1" is not an integer
        if raw is None:
            return None
        if not _QUERY_INT.fullmatch(raw):
            raise InvalidRequest(f"'{name}' must be a non-negative integer (ASCII digits).")
        return int(raw)

    async def prepare(self) -> None:  # type: ignore[override]
        """Authenticate extension tokens before Jupyter's identity provider runs."""
        if any(self.credentials.verify(token) for token in self.presented_tokens()):
            # The identity provider returns a user already set on the handler; marking the
            # request token-authenticated also exempts it from the XSRF and Origin checks,
            # exactly as for Jupyter's own token.
            self._jupyter_current_user = User(username=EXTENSION_USER)
            self._token_authenticated = True
        await super().prepare()

    def _handle_request_exception(self, e: BaseException) -> None:
        if isinstance(e, ApiError) and not self._finished:
            self.log.debug("%s: %s", type(e).__name__, e.message)
            self.send_error(e.status_code, exc_info=(type(e), e, e.__traceback__))
            return
        super()._handle_request_exception(e)

    def log_exception(self, typ: Any, value: Any, tb: Any) -> None:
        """Log unexpected errors without the query string, which may hold a token."""
        if isinstance(value, web.HTTPError | ApiError):
            status = value.status_code
            message = value.log_message if isinstance(value, web.HTTPError) else value.message
            self.log.warning(
                "%d %s %s: %s", status, self.request.method, self.request.path, message or ""
            )
            return
        self.log.error(
            "Uncaught exception %s %s",
            self.request.method,
            self.request.path,
            exc_info=(typ, value, tb),
        )

    def write_error(self, status_code: int, **kwargs: Any) -> None:
        """Write ``{"message": ...}`` and never a traceback."""
        self.set_header("Content-Type", "application/json")
        exc = kwargs.get("exc_info", (None, None, None))[1]
        if isinstance(exc, ApiError):
            body = exc.body()
        elif isinstance(exc, web.HTTPError):
            body = {"message": exc.log_message or self._reason}
        else:
            body = {"message": self._reason}
        self.finish(json.dumps(body))


class NebulaAPIHandler(NebulaAuthMixin, APIHandler):
    """Base of the REST handlers."""

    def read_json(self) -> object:
        """Decode the request body as JSON or raise a 400 that says why."""
        try:
            return json.loads(self.request.body or b"")
        except (ValueError, UnicodeDecodeError) as exc:
            raise InvalidRequest(f"The body is not valid JSON: {exc}.") from None

    def write_json(self, data: object, status: int = 200) -> None:
        """Finish with a JSON body."""
        self.set_status(status)
        self.set_header("Content-Type", "application/json")
        self.finish(json.dumps(data))
