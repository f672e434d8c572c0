"""Listing runs a page at a time: the I/O-free pager, and both clients against a server."""

from __future__ import annotations

import asyncio

from nebula_jupyter.client import AsyncNebulaClient, NebulaClient
from nebula_jupyter.client.calls import Pager, RunPage

from ..support.client_fixtures import Server


def record(run_id: str) -> dict[str, object]:
    return {"id": run_id, "status": "succeeded"}


def test_pager_follows_next_and_stops_at_the_limit() -> None:
    pager = Pager("succeeded", limit=5)
    answers: list[RunPage] = [
        {"runs": [record("e"), record("d"), record("c")], "next": "c-cursor"},  # type: ignore[list-item]
        {"runs": [record("b"), record("a"), record("z")], "next": "z-cursor"},  # type: ignore[list-item]
    ]
    seen, queries = [], []
    while (call := pager.next_call()) is not None:
        queries.append(call.query)
        seen += [run["id"] for run in pager.take(answers.pop(0))]
    assert seen == ["e", "d", "c", "b", "a"]
    assert queries == [
        {"status": "succeeded", "limit": "5"},
        {"status": "succeeded", "limit": "2", "before": "c-cursor"},
    ]
    assert pager.more  # the server had more than the limit


def test_pager_without_a_limit_reads_until_next_is_null() -> None:
    pager = Pager()
    answers: list[RunPage] = [
        {"runs": [record("b")], "next": "b"},  # type: ignore[list-item]
        {"runs": [record("a")], "next": None},  # type: ignore[list-item]
    ]
    seen = []
    while (call := pager.next_call()) is not None:
        assert call.query is not None and call.query["limit"] == "1000"
        seen += [run["id"] for run in pager.take(answers.pop(0))]
    assert seen == ["b", "a"] and not pager.more


async def test_both_clients_list_the_newest_runs_and_all_of_them(
    client: NebulaClient, server: Server
) -> None:
    ids = [(await asyncio.to_thread(client.create, ["true"]))["id"] for _ in range(4)]
    newest = [run["id"] for run in await asyncio.to_thread(client.list, None, 2)]
    assert newest == [ids[3], ids[2]]
    everything = [run["id"] for run in await asyncio.to_thread(client.list, None, None)]
    assert everything == list(reversed(ids))
    aio = AsyncNebulaClient(server.url, server.token, timeout_seconds=10)
    assert [run["id"] async for run in aio.iter_runs(limit=3)] == list(reversed(ids))[:3]
