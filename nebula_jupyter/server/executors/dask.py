"""The ``dask`` executor: a Dask distributed cluster places and runs the agents (CONTRACT §7).

Each run is one Dask task, ``nebula_jupyter.agent.task.run_agent``, with the key
``nebula-<run id>``, the run's ``resources`` as Dask worker resources, and
``fire_and_forget`` so the scheduler keeps it even while this server restarts. The task
holds its worker slot (and resources) for the whole run. The scheduler's ``remove-worker``
events name the tasks that were processing on a worker that died: those runs end
``worker_lost`` at once, and the task is cancelled so that Dask's automatic retry of it,
which the server would refuse anyway, does not occupy another worker.

Dask is an optional dependency (``pip install "nebula_jupyter[dask]"``): it is imported only
when the executor is first used.
"""

from __future__ import annotations

import asyncio
import contextlib
import importlib.util
from collections.abc import Mapping
from typing import Any

from traitlets import Float, Unicode

from ...agent.task import run_agent
from ...link import AgentJob
from .base import Executor, ExecutorUnavailable, LostCallback

KEY_PREFIX = "nebula-"


class DaskExecutor(Executor):
    """Send runs to a Dask distributed scheduler."""

    name = "dask"

    scheduler_address = Unicode(
        "",
        config=True,
        help=(
            "Address of the Dask scheduler, e.g. 'tcp://10.0.0.5:8786'. Empty means the dask "
            "executor is not configured: asking for it answers 400. Default: ''."
        ),
    )
    connect_timeout_seconds = Float(
        10.0,
        config=True,
        help="Seconds to wait for the scheduler when connecting. Default: 10.",
    )

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._client: Any = None
        self._connecting: asyncio.Lock | None = None
        self._on_lost: LostCallback | None = None

    def check(self, resources: Mapping[str, float]) -> None:
        """Refuse when Dask is not installed or no scheduler is configured."""
        if importlib.util.find_spec("distributed") is None:
            raise ExecutorUnavailable(
                'The dask executor needs Dask on the server: pip install "nebula_jupyter[dask]".'
            )
        if not self.scheduler_address:
            raise ExecutorUnavailable(
                "The dask executor is not configured: set c.DaskExecutor.scheduler_address."
            )

    async def _connected(self) -> Any:
        if self._client is not None:
            return self._client
        if self._connecting is None:
            self._connecting = asyncio.Lock()
        async with self._connecting:
            if self._client is None:
                from distributed import Client

                try:
                    client = await Client(  # type: ignore[no-untyped-call]
                        self.scheduler_address,
                        asynchronous=True,
                        timeout=self.connect_timeout_seconds,
                        set_as_default=False,
                    )
                except (OSError, TimeoutError) as exc:
                    raise ExecutorUnavailable(
                        f"Cannot reach the Dask scheduler ({type(exc).__name__})."
                    ) from None
                client.subscribe_topic("all", self._on_event)
                self._client = client
                self.log.info("nebula_jupyter: connected to Dask at %s", self.scheduler_address)
        return self._client

    async def submit(self, job: AgentJob, resources: Mapping[str, float]) -> None:
        """Submit the agent task; raise :class:`ExecutorUnavailable` if Dask is unreachable."""
        from distributed import fire_and_forget

        client = await self._connected()
        future = client.submit(
            run_agent,
            job.to_json(),
            key=KEY_PREFIX + job.run_id,
            resources=dict(resources) or None,
            pure=False,
        )
        fire_and_forget(future)  # type: ignore[no-untyped-call]

    async def withdraw(self, run_id: str) -> None:
        """Cancel the run's task (a queued run's, or the retry of a lost one)."""
        if self._client is None:
            return
        from distributed import Future

        with contextlib.suppress(Exception):
            await self._client.cancel([Future(KEY_PREFIX + run_id, self._client)], force=True)

    def watch(self, on_lost: LostCallback) -> None:
        """Report runs whose task was processing on a worker the scheduler removed."""
        self._on_lost = on_lost

    async def reattach(self, run_ids: list[str]) -> None:
        """Connect, so that worker losses of restored runs are heard (tasks live on)."""
        if run_ids and self.scheduler_address:
            with contextlib.suppress(ExecutorUnavailable):
                await self._connected()

    def _on_event(self, event: tuple[float, Any]) -> None:
        _, message = event
        if not isinstance(message, dict) or message.get("action") != "remove-worker":
            return
        worker = message.get("worker", "a worker")
        for key in message.get("processing-tasks") or ():
            if isinstance(key, str) and key.startswith(KEY_PREFIX) and self._on_lost:
                self._on_lost(key[len(KEY_PREFIX) :], f"Dask removed worker {worker}")

    async def close(self) -> None:
        """Disconnect from the scheduler; fire-and-forget tasks keep running."""
        if self._client is not None:
            client, self._client = self._client, None
            with contextlib.suppress(Exception):
                await client.close()
