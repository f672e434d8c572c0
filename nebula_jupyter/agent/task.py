"""What an executor hands its engine: one plain function that runs the agent and watches it.

The agent is a process of its own rather than code in the engine's worker, for three reasons:
it then has its own event loop (no contention with the worker's compute threads for the GIL),
it can outlive a dying worker long enough to kill the run's tree (it holds the read end of a
lifeline pipe from the worker, see ``__main__.py``), and the worker side of this function can
in turn kill the run's tree when the agent itself dies. Each of the two watches the other, and
neither is a child of the other's process group: Dask (like Ray) kills a dying worker's
direct children only.

The task blocks one worker thread for the whole run on purpose: the engine then counts the
run against the worker's slots and resources (``{"GPU": 1}``) for as long as it runs.
"""

from __future__ import annotations

import dataclasses
import os
import signal
import subprocess
import sys

from ..link import AgentJob
from ..process.environment import child_environment
from ..process.tree import signal_run


def run_agent(job_json: str) -> int:
    """Run the agent for ``job_json`` (``AgentJob.to_json()``); return its exit status.

    Called by the engine on a worker. Returns the agent's :class:`~.core.Outcome` value, or a
    negative number when a signal killed the agent (the run's tree is then killed here).
    """
    job = AgentJob.from_json(job_json)
    job = dataclasses.replace(job, worker=_worker_name())
    # The worker's environment minus every secret we know of: the agent and the command
    # start from it (CONTRACT §3: no secret in a child's environment).
    env = child_environment(os.environ, {}, [])
    agent = subprocess.Popen(
        [sys.executable, "-m", "nebula_jupyter.agent"],
        stdin=subprocess.PIPE,
        env=env,
        start_new_session=True,
    )
    assert agent.stdin is not None
    with agent.stdin:
        agent.stdin.write(job.to_json().encode("utf-8") + b"\n")
        agent.stdin.flush()
        # stdin stays open while the agent runs: it is the agent's lifeline to this worker.
        returncode = agent.wait()
    if returncode < 0:
        # The agent was killed: nothing may outlive it (CONTRACT §7 cancel and cleanup).
        signal_run(job.run_id, None, signal.SIGKILL)
    return returncode


def _worker_name() -> str | None:
    # Engine-neutral: a Dask worker names itself; under another engine this stays None.
    try:
        from distributed import get_worker  # the engine is Dask
    except ImportError:
        return None
    try:
        worker = get_worker()
    except ValueError:
        return None  # not inside a Dask task (e.g. a test or another engine)
    return str(worker.name) if worker.name is not None else str(worker.address)
