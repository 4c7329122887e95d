"""The leak check reads a written file in pieces (tests/leakcheck.py, `file_spellings`): it must find exactly what
reading the whole file at once finds, whatever sits where a piece is cut."""

from __future__ import annotations

import random
import re

import pytest

from tests.leakcheck import _CUT, _DASHES, _PIECE, _pieces, file_spellings, spellings, written_forms

NUMBER = "123456789018"  # twelve digits (the scan does not look at the check digit)

# What a file may hold around a cut: digits of every kind, separators, percent escapes and their pieces, hex
# letters, combining and half-width marks NFKC composes, undecodable and truncated UTF-8, and plain letters.
TOKENS = [
    *"0123456789",
    *"０１２３４５６７８９",
    "٣",
    "①",
    "²",
    " ",
    "\u3000",
    "\t",
    "\x1c",
    *"-+_ー－\u2212\u2013",
    "%",
    "%3",
    "%31",
    "%EF%BC%91",
    "%25",
    *"aFfx,z;",
    "\u0301",
    "ｶﾞ",
    "ﾞ",
    "ア",
    b"\xe3\x81",
    b"\xff",
    b"\x00",
    b"\xf0\x9f",
]


def _blob(rng: random.Random, size: int) -> bytes:
    out = bytearray()
    while len(out) < size:
        token = rng.choice(TOKENS)
        out += token if isinstance(token, bytes) else token.encode()
        if rng.random() < 0.01:
            out += rng.choice(list(written_forms(NUMBER).values())).encode()
    return bytes(out)


def _whole(data: bytes) -> set[str]:
    return spellings(data.decode("utf-8", "replace"))


def test_no_byte_a_spelling_reads_is_a_cut():
    chain = re.compile(rf"[\d\s{_DASHES}%0-9A-Fa-f]")
    for byte in range(256):
        cuts = _CUT.fullmatch(bytes([byte])) is not None
        assert not (cuts and (byte >= 0x80 or chain.match(chr(byte)))), hex(byte)
    assert _CUT.fullmatch(b"x") and _CUT.fullmatch(b"\x00")  # and it does cut, or nothing is gained


@pytest.mark.parametrize("seed", range(40))
def test_pieces_find_what_the_whole_finds(seed):
    rng = random.Random(seed)
    data = _blob(rng, rng.randrange(3 * _PIECE, 6 * _PIECE))
    assert b"".join(_pieces(data)) == data
    assert len(list(_pieces(data))) > 1
    assert file_spellings(data) == _whole(data)


@pytest.mark.parametrize("form", sorted(written_forms(NUMBER)))
def test_a_number_across_every_cut_is_found(form):
    text = written_forms(NUMBER)[form].encode()
    for offset in range(len(text) + 1):
        data = b"x" * (_PIECE - offset) + text + b"x" * _PIECE
        found = file_spellings(data)
        assert NUMBER in found and found == _whole(data), (form, offset)


@pytest.mark.sqlite  # a register in a file
def test_a_register_file_is_read_the_same_in_pieces(j, tmp_path):
    from juki.services import filings
    from tests import factories as f
    from tests.e2e.role_cases.common import CLERK

    filings.file(j.uow, CLERK, "move-in", f.move_in(f.family_of_four()))
    j.engine.dispose()
    data = (tmp_path / "register.db").read_bytes() + written_forms(NUMBER)["full-width hyphens"].encode()
    assert len(list(_pieces(data))) > 10
    found = file_spellings(data)
    assert found == _whole(data) and NUMBER in found
