"""Opaque ids and cursors: each round-trips, and anything else is BAD_USER_INPUT, never a 500."""

from __future__ import annotations

import base64

import pytest

from gateway.errors import InvalidInput
from resolvers.issues import decode_issue_cursor, encode_issue_cursor
from schema.common import decode_global_id, decode_offset, encode_global_id, encode_offset
from schema.search import decode_search_cursor, encode_search_cursor

GARBAGE = ["", "!!!", "é", "bm9wZQ", "a", "=" * 5, "b'x'"]


def test_each_kind_round_trips_without_padding() -> None:
    gid = encode_global_id("Issue", "3f2a9c", "ALPHA-1")
    assert "=" not in gid
    assert decode_global_id(gid) == ("Issue", "3f2a9c", "ALPHA-1")
    for offset in (0, 1, 99, 10_000):
        assert decode_offset(encode_offset(offset)) == offset
    assert decode_search_cursor(encode_search_cursor("j", "tok==en")) == ("j", "tok==en")
    assert decode_issue_cursor(encode_issue_cursor("next", 3, 50)) == ("next", 3, 50)
    assert decode_issue_cursor(encode_issue_cursor(None, 0, 1)) == (None, 0, 1)


@pytest.mark.parametrize("text", GARBAGE)
def test_garbage_is_invalid_input(text: str) -> None:
    for decode in (decode_global_id, decode_offset, decode_search_cursor, decode_issue_cursor):
        with pytest.raises(InvalidInput):
            decode(text)


def test_cursor_of_one_kind_is_refused_by_another() -> None:
    with pytest.raises(InvalidInput):
        decode_offset(encode_search_cursor("m", "3"))
    with pytest.raises(InvalidInput):
        decode_search_cursor(encode_offset(3))
    with pytest.raises(InvalidInput):
        decode_global_id(encode_offset(3))


@pytest.mark.parametrize("offset", ["\u00b2", "1\u00b2", "9" * 5000, "-1", " 1"])
def test_a_mirror_cursor_holds_a_plain_number(offset: str) -> None:
    # The first three passed the old isdigit() check, then failed in int(): an internal error.
    with pytest.raises(InvalidInput):
        decode_search_cursor(encode_search_cursor("m", offset))


def test_a_forged_huge_offset_is_refused() -> None:
    forged = base64.urlsafe_b64encode(b"o:" + b"9" * 30).decode()
    with pytest.raises(InvalidInput):
        decode_offset(forged)
