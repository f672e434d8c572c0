"""Terminal mode from Python: create(tty=True), and a TerminalLink typing while following."""

from __future__ import annotations

import asyncio
import sys

from nebula_jupyter.client import NebulaClient, OutputMessage, StatusMessage, TerminalLink


def follow_and_type(client: NebulaClient, run_id: str) -> str:
    link = TerminalLink()
    text = ""
    for event in client.follow(run_id, link=link):
        if isinstance(event, StatusMessage) and event.status == "running":
            assert link.resize(90, 20)
        if isinstance(event, OutputMessage):
            text += event.data
            if "ready" in text and "got" not in text:
                assert link.send_input("hello\r")
    return text


async def test_create_with_tty_and_type_through_a_link(client: NebulaClient) -> None:
    code = "import sys; print(sys.stdout.isatty(), flush=True); print('ready', flush=True);"
    code += "print('got', input())"
    record = await asyncio.to_thread(client.create, [sys.executable, "-c", code], tty=True)
    assert record["tty"] is True
    text = await asyncio.to_thread(follow_and_type, client, record["id"])
    assert text.startswith("True\n") and "got hello" in text
