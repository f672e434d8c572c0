"""What an executor is (CONTRACT §7): the bridge from a run to an existing engine.

An executor decides nothing about placement: it hands the run's agent to an engine (Dask
today; Slurm next) and reports the engine's facts, such as "this worker is gone". The
agent does the rest through the agent link (``link.py``). ``local`` is not an engine: its
runs are children of this server, queued by the manager (``max_concurrent_runs``).

Executors are found by name: ``local`` and ``dask`` are built in, others come from the
entry-point group ``nebula_jupyter.executors`` (a class deriving from :class:`Executor`).
Each is a traitlets ``Configurable``, so ``c.<ClassName>.<trait>`` configures it.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

from traitlets.config import LoggingConfigurable

from ...link import AgentJob

#: Called with ``(run_id, why)`` when the engine says a run's worker is gone.
LostCallback = Callable[[str, str], None]


class ExecutorUnavailable(Exception):
    """The executor cannot take this run; the text says what to do (shown to the user)."""


class Executor(LoggingConfigurable):
    """A way to execute runs. Subclasses set :attr:`name` and override what they support."""

    #: The name clients pass as ``executor`` (CONTRACT §2, §7).
    name = ""
    #: Whether runs are children of this server (queued by the manager) or go to an engine.
    remote = True

    def check(self, resources: Mapping[str, float]) -> None:
        """Raise :class:`ExecutorUnavailable` if a run asking for ``resources`` cannot go here.

        Called while the create request is answered, so a refusal is a 400, not a failed run.
        """

    async def submit(self, job: AgentJob, resources: Mapping[str, float]) -> None:
        """Hand the agent for ``job`` to the engine; raise :class:`ExecutorUnavailable`.

        Returns once the engine holds the task (not when it runs). The job carries the run's
        credential: it must travel only inside the engine's task.
        """
        raise NotImplementedError

    async def withdraw(self, run_id: str) -> None:
        """Ask the engine to drop the run's task if it has not started (best effort)."""

    def watch(self, on_lost: LostCallback) -> None:
        """Report, through ``on_lost``, the runs whose worker the engine has lost."""

    async def reattach(self, run_ids: list[str]) -> None:
        """After a server restart: resume watching these active runs' tasks."""

    async def close(self) -> None:
        """Release the engine connection (runs keep running)."""


class LocalExecutor(Executor):
    """Runs as children of this server: the default, and the only one without an engine."""

    name = "local"
    remote = False

    def check(self, resources: Mapping[str, float]) -> None:
        """Refuse resource constraints: only an engine that places runs can honour them."""
        if resources:
            raise ExecutorUnavailable("'resources' need an executor that places runs (e.g. dask).")
