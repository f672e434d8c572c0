"""The server's side of the agent link (link.py rules), with real storage and a test peer.

The end-to-end behaviour on a real Dask cluster is in test_dask.py; these tests pin the rules
one at a time, including orderings a real cluster produces only by chance.
"""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest

from nebula_jupyter.link import AgentState, ExitState
from nebula_jupyter.protocol import RunStatus, Stream
from nebula_jupyter.server.executors import Executor
from nebula_jupyter.server.fanout import OutputFeed
from nebula_jupyter.server.records import StoredRun
from nebula_jupyter.server.remote import AgentRefused, RemoteRun, credential_hash
from nebula_jupyter.server.run import RunTimings
from nebula_jupyter.server.storage import Storage

from ..support.waiting import wait_for


class Peer:
    """The agent's end as the server sees it: what was sent, and whether it was refused."""

    def __init__(self) -> None:
        self.sent: list[dict[str, object]] = []
        self.refused: str | None = None

    def send(self, message: str) -> None:
        self.sent.append(json.loads(message))

    def refuse(self, reason: str) -> None:
        self.refused = reason

    def types(self) -> list[object]:
        return [message["type"] for message in self.sent]


def remote_run(tmp_path: Path, lost_timeout_seconds: float = 30.0) -> RemoteRun:
    storage = Storage(tmp_path / "data")
    record = StoredRun(id="r1", command=["true"], cwd="", executor="dask")
    record.agent_credential_sha256 = credential_hash("secret-1")
    storage.records.insert(record, "owner")
    return RemoteRun(
        record,
        None,
        executor=Executor(),
        resources={},
        lost_timeout_seconds=lost_timeout_seconds,
        records=storage.records,
        writer=storage.writer("r1"),
        feed=OutputFeed(storage.reader("r1")),
        timings=RunTimings(),
    )


STARTED = AgentState(agent_id="agent-a", started=True, host="node1", worker="w1")


async def test_only_the_runs_credential_opens_its_link(tmp_path: Path) -> None:
    run = remote_run(tmp_path)
    assert run.verify("secret-1")
    assert not run.verify("secret-2") and not run.verify("") and not run.verify("secret-1 ")


async def test_the_first_agent_claims_the_run_and_a_retry_is_refused(tmp_path: Path) -> None:
    run = remote_run(tmp_path)
    first = Peer()
    run.attach(first, AgentState(agent_id="agent-a", started=False))
    assert first.types() == ["welcome"]
    # Dask re-ran the task elsewhere while the first agent still works (a network split):
    with pytest.raises(AgentRefused):
        run.attach(Peer(), AgentState(agent_id="agent-b", started=False))
    # The first one reconnecting is welcome again, and learns how much is stored.
    run.update(STARTED)
    run.receive(1, Stream.STDOUT, b"one\n")
    again = Peer()
    run.attach(again, STARTED)
    assert again.sent[0] == {"type": "welcome", "stored_seq": 1, "cancel": False}
    assert first.refused is not None  # the older connection is closed


async def test_chunks_are_stored_once_in_order_then_acknowledged(tmp_path: Path) -> None:
    run = remote_run(tmp_path)
    peer = Peer()
    run.attach(peer, STARTED)
    assert run.record.status is RunStatus.RUNNING and run.record.host == "node1"
    run.receive(1, Stream.STDOUT, b"a")
    run.receive(2, Stream.STDERR, b"b")
    run.receive(1, Stream.STDOUT, b"a")  # resent after a reconnect: ignored, acked again
    with pytest.raises(AgentRefused):
        run.receive(4, Stream.STDOUT, b"d")  # a gap is never stored
    await wait_for(lambda: {"type": "ack", "seq": 2} in peer.sent, 2)
    assert run.feed.reader.read(0, 2, 1 << 20)[0].data == b"a"
    assert (run.record.stdout_bytes, run.record.stderr_bytes, run.record.last_seq) == (1, 1, 2)


async def test_the_end_waits_for_every_chunk_the_agent_numbered(tmp_path: Path) -> None:
    run = remote_run(tmp_path)
    peer = Peer()
    run.attach(peer, STARTED)
    run.receive(1, Stream.STDOUT, b"a")
    exited = AgentState(
        agent_id="agent-a", started=True, exit=ExitState(exit_code=0, signal=None, last_seq=2)
    )
    run.update(exited)  # the state overtook chunk 2 (it was resent after a reconnect)
    assert run.record.status is RunStatus.RUNNING
    run.receive(2, Stream.STDOUT, b"b")
    assert run.record.status is RunStatus.SUCCEEDED and run.record.exit_code == 0
    assert peer.types()[-1] == "done"
    with pytest.raises(AgentRefused):
        run.attach(Peer(), exited)  # the credential expired with the run
    assert not run.verify("secret-1")


async def test_a_silent_agent_means_a_lost_worker(tmp_path: Path) -> None:
    run = remote_run(tmp_path, lost_timeout_seconds=0.2)
    peer = Peer()
    run.attach(peer, STARTED)
    run.detach(peer)
    await wait_for(lambda: run.record.status.terminal, 5)
    assert (run.record.status, run.record.reason) == (RunStatus.FAILED, "worker_lost")


async def test_a_cancel_accepted_while_the_agent_is_away_decides_the_status(
    tmp_path: Path,
) -> None:
    run = remote_run(tmp_path, lost_timeout_seconds=0.2)
    peer = Peer()
    run.attach(peer, STARTED)
    run.detach(peer)
    run.cancel()
    assert run.record.cancel_requested and run.record.status is RunStatus.RUNNING
    await asyncio.wait_for(run.ended.wait(), 5)
    assert (run.record.status, run.record.reason) == (RunStatus.CANCELLED, "cancelled")


async def test_a_cancel_reaches_a_connected_agent_and_a_queued_run_ends_at_once(
    tmp_path: Path,
) -> None:
    run = remote_run(tmp_path)
    peer = Peer()
    run.attach(peer, STARTED)
    run.cancel()
    assert peer.types()[-1] == "cancel"
    queued = remote_run(tmp_path / "other")
    queued.cancel()
    assert (queued.record.status, queued.record.started_at) == (RunStatus.CANCELLED, None)
