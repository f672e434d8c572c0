"""Parsing client messages and encoding frames."""

from __future__ import annotations

import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

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


def _general_frame(stream: Stream, seq: int, data: bytes) -> bytes:
    text = data.decode("utf-8", "replace")
    return protocol.encode({"type": stream.label, "seq": seq, "data": text})


@given(st.binary(max_size=300), st.sampled_from(list(Stream)), st.integers(1, 10**12))
def test_fast_frames_equal_the_general_encoding_for_any_bytes(
    data: bytes, stream: Stream, seq: int
) -> None:
    assert json.loads(protocol.output_frame(stream, seq, data)) == json.loads(
        _general_frame(stream, seq, data)
    )


@given(st.text(alphabet=st.characters(codec="utf-8"), max_size=300))
def test_fast_frames_equal_the_general_encoding_for_any_text(text: str) -> None:
    data = text.encode()
    frame = protocol.output_frame(Stream.STDOUT, 3, data)
    assert json.loads(frame) == {"type": "stdout", "seq": 3, "data": text}
    assert json.loads(frame) == json.loads(_general_frame(Stream.STDOUT, 3, data))


def test_fast_path_handles_terminal_bytes() -> None:
    data = 'say "hi"\\ \x1b[31mred\x1b[0m\r\n\ttab 😀'.encode()
    frame = protocol.output_frame(Stream.STDERR, 9, data)
    assert frame.startswith(b'{"type":"stderr","seq":9,"data":"say \\"hi\\"')
    assert json.loads(frame)["data"] == data.decode()
