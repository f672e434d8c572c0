"""The wire contract: golden frames, parsing client messages, encoding server frames."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from nebula_jupyter import protocol
from nebula_jupyter.protocol import Stream
from nebula_jupyter.server.records import StoredRun

GOLDEN = json.loads((Path(__file__).parent / "golden" / "frames.json").read_text())


def _frame_text(example: dict[str, Any]) -> str:
    return example["text"] if "text" in example else json.dumps(example["frame"])


def _examples(side: str, kind: str) -> list[Any]:
    return [pytest.param(_frame_text(e), id=e["name"]) for e in GOLDEN[side][kind]]


@pytest.mark.parametrize("text", _examples("server", "valid"))
def test_golden_server_frames_parse(text: str) -> None:
    kinds = {
        "status": protocol.StatusMessage,
        "stdout": protocol.OutputMessage,
        "stderr": protocol.OutputMessage,
        "truncated": protocol.TruncatedMessage,
        "error": protocol.ErrorMessage,
    }
    message = protocol.parse_server_message(text)
    assert isinstance(message, kinds[json.loads(text)["type"]])


@pytest.mark.parametrize("text", _examples("server", "invalid"))
def test_golden_bad_server_frames_are_refused(text: str) -> None:
    with pytest.raises(protocol.ProtocolError):
        protocol.parse_server_message(text)


@pytest.mark.parametrize("text", _examples("client", "valid"))
def test_golden_client_messages_parse(text: str) -> None:
    protocol.parse_client_message(text)


@pytest.mark.parametrize("text", _examples("client", "invalid"))
def test_golden_bad_client_messages_are_refused(text: str) -> None:
    with pytest.raises(protocol.ProtocolError):
        protocol.parse_client_message(text)


def test_server_encoders_produce_golden_shapes() -> None:
    # What the server sends must parse back as the client reads it.
    record = StoredRun(id="x", command=["true"]).to_record()
    for frame in (
        protocol.status_frame(record),
        protocol.output_frame(Stream.STDOUT, 1, b"hi\n"),
        protocol.truncated_frame(10, 2),
        protocol.error_frame("bad_message", "nope"),
    ):
        protocol.parse_server_message(frame)


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
    with pytest.raises(protocol.ProtocolError):
        protocol.parse_client_message(raw)


def test_output_frame_replaces_invalid_bytes() -> None:
    frame = json.loads(protocol.output_frame(Stream.STDERR, 7, b"ok \xff\x00"))
    assert frame == {"type": "stderr", "seq": 7, "data": "ok \ufffd\x00"}


def test_status_frame_carries_the_record_without_pid() -> None:
    record = StoredRun(id="x", command=["true"], pid=123)
    frame = json.loads(protocol.status_frame(record.to_record()))
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
