"""The run list in pages (CONTRACT §2 v2): limit, before, next; bad parameters are 400."""

from __future__ import annotations

import json

import pytest
from tornado.httpclient import HTTPClientError

from ..support.jupyter import Api


async def page(api: Api, **params: str) -> dict:
    return json.loads((await api.request("GET", "runs", params=params)).body)


async def test_following_next_visits_every_run_once_while_runs_are_created(api: Api) -> None:
    created = [(await api.create(["true"]))["id"] for _ in range(7)]
    seen: list[str] = []
    cursor = None
    while True:
        params = {"limit": "3", **({"before": cursor} if cursor else {})}
        body = await page(api, **params)
        assert len(body["runs"]) <= 3
        seen += [run["id"] for run in body["runs"]]
        # A run created meanwhile is newer than every page still to come: never seen twice.
        created.append((await api.create(["true"]))["id"])
        cursor = body["next"]
        if cursor is None:
            break
    assert seen == list(reversed(created[:7]))


async def test_default_page_is_100_and_the_last_page_says_so(api: Api) -> None:
    for _ in range(101):
        await api.create(["true"])
    first = await page(api)
    assert len(first["runs"]) == 100 and first["next"]
    second = await page(api, before=first["next"])
    assert len(second["runs"]) == 1 and second["next"] is None


async def test_status_filter_pages_too(api: Api) -> None:
    ok = [(await api.create(["true"]))["id"] for _ in range(3)]
    bad = [(await api.create(["false"]))["id"] for _ in range(2)]
    for run_id in ok + bad:
        await api.wait_done(run_id)
    body = await page(api, status="failed", limit="1")
    assert [run["id"] for run in body["runs"]] == [bad[1]]
    rest = await page(api, status="failed", limit="5", before=body["next"])
    assert [run["id"] for run in rest["runs"]] == [bad[0]] and rest["next"] is None


@pytest.mark.parametrize(
    "params",
    [
        {"limit": "0"},
        {"limit": "1001"},
        {"limit": "abc"},
        {"limit": "-1"},
        {"limit": "1.5"},
        {"before": "12"},
        {"before": "12.0000000000000000"},
        {"before": "x' OR 1=1 --"},
        {"before": "999999999999999999999.abcdef0123456789"},
    ],
)
async def test_bad_page_parameters_are_400(api: Api, params: dict[str, str]) -> None:
    await api.create(["true"])
    with pytest.raises(HTTPClientError) as info:
        await api.request("GET", "runs", params=params)
    assert info.value.code == 400
    message = json.loads(info.value.response.body)["message"]
    assert params.get("before", "§") not in message


async def test_a_cursor_from_a_page_keeps_working_after_its_run_is_deleted(api: Api) -> None:
    ids = [(await api.create(["true"]))["id"] for _ in range(3)]
    for run_id in ids:
        await api.wait_done(run_id)
    first = await page(api, limit="1")
    assert [run["id"] for run in first["runs"]] == [ids[2]]
    await api.request("DELETE", "runs", ids[2])
    rest = await page(api, before=first["next"])
    assert [run["id"] for run in rest["runs"]] == [ids[1], ids[0]]


async def test_a_damaged_record_does_not_end_the_list(api: Api, manager: object) -> None:
    ids = [(await api.create(["true"]))["id"] for _ in range(6)]
    for run_id in ids:
        await api.wait_done(run_id)
    db = manager.storage.records._db  # type: ignore[attr-defined]
    db.execute("UPDATE runs SET record = '{broken' WHERE id = ?", (ids[4],))
    seen: list[str] = []
    cursor = None
    while True:
        body = await page(api, limit="3", **({"before": cursor} if cursor else {}))
        seen += [run["id"] for run in body["runs"]]
        if (cursor := body["next"]) is None:
            break
    assert seen == [ids[5], ids[3], ids[2], ids[1], ids[0]]
