"""The environment a run's process starts from: what it inherits, minus every secret."""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from ..protocol import KERNEL_SECRET_ENV, KERNEL_URL_ENV, TOKEN_ENV

#: Variables that carry a credential of this server, of the hub that spawned it or of an
#: engine's scheduler; children (and remote agents) never see them, whatever their value.
SECRET_ENV_NAMES = frozenset(
    {
        "JUPYTER_TOKEN",
        "JPY_API_TOKEN",
        "JUPYTERHUB_API_TOKEN",
        "JUPYTER_PASSWORD",
        "DASK_DISTRIBUTED__COMM__TLS__CLIENT__KEY",
        "DASK_GATEWAY__AUTH__KERBEROS__KEYTAB",
        TOKEN_ENV,
        KERNEL_SECRET_ENV,
        KERNEL_URL_ENV,
    }
)


def child_environment(
    inherited: Mapping[str, str], defaults: Mapping[str, str], secret_values: Iterable[str]
) -> dict[str, str]:
    """Return the environment runs start from: inherited minus secrets, then the defaults.

    A variable is dropped when its name is in :data:`SECRET_ENV_NAMES` or its value is one of
    ``secret_values`` (a token may hide under any name).
    """
    hidden = {value for value in secret_values if value}
    env = {
        key: value
        for key, value in inherited.items()
        if key not in SECRET_ENV_NAMES and value not in hidden
    }
    env.update(defaults)
    return env
