"""Parsing client messages and encoding frames."""

from __future__ import annotations

import json

import pytest

from nebula_jupyter import protocol
from nebula_jupyter.models import RunRecord, Stream


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ('{"type": "cancel"}', protocol.CancelMessage()),
        ('{"type": "ack", "seq": 4}', protocol.AckMessage(4)),
        ('{"type": "auth", "token": "t"}', protocol.AuthMessage("t")),
    ],
)
def test_parse_valid(raw: str, expected: protocol.ClientMessage) -> None:
    assert protocol.parse_client_message(raw) == expected


@pytest.mark.parametrize(
    "raw",
    [
        "",
        "nope",
        "[]",
        "3",
        '{"type": "dance"}',
        '{"type": "ack"}',
        '{"type": "ack", "seq": -1}',
        '{"type": "ack", "seq": true}',
        '{"type": "auth"}',
        '{"type": "auth", "token": 5}',
        b"\xff",
    ],
)
def test_parse_invalid(raw: str | bytes) -> None:
    with pytest.raises(protocol.BadMessage):
        protocol.parse_client_message(raw)


def test_output_frame_replaces_invalid_bytes() -> None:
    frame = json.loads(protocol.output_frame(Stream.STDERR, 7, b"ok \xff\x00"))
    assert frame == {"type": "stderr", "seq": 7, "data": "ok \ufffd\x00"}


def test_status_frame_carries_the_record_without_pid() -> None:
    record = RunRecord(id="x", command=["true"], pid=123)
    frame = json.loads(protocol.status_frame(record))
    assert frame["type"] == "status" and frame["status"] == "queued"
    assert frame["run"]["id"] == "x" and "pid" not in frame["run"]
