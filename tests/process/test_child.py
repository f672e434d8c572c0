"""Cutting output at UTF-8 character boundaries, and naming signals."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from nebula_jupyter.process.child import exit_fields, utf8_boundary


def test_boundary_holds_back_an_incomplete_character() -> None:
    smile = "😀".encode()
    assert utf8_boundary(b"abc") == 3
    assert utf8_boundary(b"a" + smile[:1]) == 1
    assert utf8_boundary(b"a" + smile[:3]) == 1
    assert utf8_boundary(b"a" + smile) == 5
    assert utf8_boundary("é".encode()[:1]) == 0
    # Invalid bytes are not held back: they can never complete.
    assert utf8_boundary(b"a\xff") == 2
    assert utf8_boundary(b"a\x80\x80\x80\x80") == 5


@given(st.text(), st.lists(st.integers(min_value=0, max_value=64), max_size=20))
def test_cut_pieces_each_decode_and_rejoin_exactly(text: str, cuts: list[int]) -> None:
    raw = text.encode()
    pieces: list[bytes] = []
    carry = b""
    position = 0
    for cut in [*sorted(cuts), len(raw)]:
        data = carry + raw[position : max(position, cut)]
        position = max(position, cut)
        keep = utf8_boundary(data)
        if keep:
            pieces.append(data[:keep])
        carry = data[keep:]
    if carry:
        pieces.append(carry)
    assert b"".join(pieces) == raw
    assert "".join(piece.decode() for piece in pieces) == text


@given(st.binary(max_size=64), st.integers(min_value=1, max_value=8))
def test_arbitrary_bytes_are_preserved(raw: bytes, step: int) -> None:
    pieces, carry = [], b""
    for start in range(0, len(raw), step):
        data = carry + raw[start : start + step]
        keep = utf8_boundary(data)
        pieces.append(data[:keep])
        carry = data[keep:]
    assert b"".join(pieces) + carry == raw
    assert len(carry) < 4


def test_exit_fields() -> None:
    assert exit_fields(0) == (0, None)
    assert exit_fields(3) == (3, None)
    assert exit_fields(None) == (None, None)
    assert exit_fields(-9) == (None, "SIGKILL")
    assert exit_fields(-15) == (None, "SIGTERM")
    assert exit_fields(-200) == (None, "SIG200")
