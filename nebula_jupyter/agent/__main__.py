"""``python -m nebula_jupyter.agent``: run one agent job read from stdin.

The first line of stdin is the job (``link.AgentJob`` as JSON; it holds the run's credential,
which is why it never travels in argv or the environment). stdin then stays open as a lifeline:
when it reaches end of file, whoever started the agent (the engine's worker) is gone, and the
agent kills the run's tree and reports the worker lost. Exit status: ``core.Outcome``.
"""

from __future__ import annotations

import asyncio
import logging
import os
import sys

from ..link import AgentJob
from ..protocol import ProtocolError
from .core import Agent, Outcome


class _Lifeline(asyncio.Protocol):
    def __init__(self, agent: Agent) -> None:
        self._agent = agent

    def connection_lost(self, exc: Exception | None) -> None:
        self._agent.worker_lost()


async def _main(job: AgentJob, worker: str | None) -> Outcome:
    agent = Agent(job, worker=worker)
    loop = asyncio.get_running_loop()
    lifeline, _ = await loop.connect_read_pipe(
        lambda: _Lifeline(agent), os.fdopen(sys.stdin.fileno(), "rb", buffering=0, closefd=False)
    )
    try:
        return await agent.run()
    finally:
        lifeline.close()
        agent.close()


def main() -> int:
    """Read the job, run the agent, return its :class:`Outcome`."""
    logging.basicConfig(level=logging.INFO, format="nebula-agent %(levelname)s %(message)s")
    line = sys.stdin.buffer.readline()
    try:
        job = AgentJob.from_json(line.decode("utf-8"))
    except (ProtocolError, UnicodeDecodeError):
        print("nebula-agent: the first line of stdin must be an agent job", file=sys.stderr)
        return Outcome.BAD_JOB
    return asyncio.run(_main(job, job.worker))


if __name__ == "__main__":
    sys.exit(main())
