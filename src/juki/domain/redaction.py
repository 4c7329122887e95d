"""Masking a My Number in text that may reach a log, a screen or an error message, however it is written.

A My Number is shown only where a procedure needs it (番号法第19条・第20条), never to whoever reads a log. A number typed by a person or carried in a URL comes in
many spellings: full-width digits (１２３４…), grouped like the card (1234 5678 9012, 1234-5678-9012), spaced digit by
digit, percent-encoded (%31%32…, %EF%BC%91…, %2531… when encoded twice), with `+` for a space as forms send it, or a
mix. `redact` reads the text as a person would — percent-decoded (up to three times), NFKC-folded, separators
(whitespace, hyphens and dashes, the long vowel mark, `+`) skipped — and masks, in the text as it was written:
- any unbroken run of 12 or more digits (as before: a 13-digit run may hold a 12-digit number);
- a chain of digit groups joined by short separators that holds exactly 12 digits;
- in a longer chain, the card's grouping (4-4-4) or twelve digits spaced one by one (`0 1234 5678 9012`).
Other digits are left as they are: a phone number, a date range (`2025-06-01 2025-06-30`), two 宛名番号 in a row,
and digits within a word of Latin letters (a SHA-256 digest, a certificate serial).
"""

from __future__ import annotations

import codecs
import re
import unicodedata

MASK = "＊＊＊＊"
LENGTH = 12  # 11 digits and a check digit (番号法施行令第8条)
_MAX_GAP = 3  # separators between two digits of one spelling ("1234 - 5678", "1234%20-%205678")
# After NFKC full-width hyphens and spaces are ASCII; these are the other dashes people type between groups.
_SEPARATORS = frozenset("-+_\u2010\u2011\u2012\u2013\u2014\u2015\u2212\u30fc\ufe63\uff70")
_HEX = frozenset("0123456789abcdefABCDEF")
# Plain ASCII can spell twelve digits only like this (a cheap first look before reading it unit by unit).
_ASCII_CANDIDATE = re.compile(rf"[0-9](?:[\s\-+_]{{0,{_MAX_GAP}}}[0-9]){{{LENGTH - 1}}}")

# A character as read, and the span [start, end) of the original text it was written as.
Unit = tuple[str, int, int]
Group = list[Unit]


def _escape_at(units: list[Unit], i: int) -> bool:
    return units[i][0] == "%" and i + 2 < len(units) and {units[i + 1][0], units[i + 2][0]} <= _HEX


def _percent_decoded(units: list[Unit]) -> list[Unit]:
    """One round of percent-decoding (UTF-8); each decoded character spans the escapes it came from."""
    out: list[Unit] = []
    i = 0
    while i < len(units):
        if not _escape_at(units, i):
            out.append(units[i])
            i += 1
            continue
        decoder = codecs.getincrementaldecoder("utf-8")("replace")
        start = units[i][1]
        while i < len(units) and _escape_at(units, i):
            end = units[i + 2][2]
            out.extend(
                (ch, start, end) for ch in decoder.decode(bytes([int(units[i + 1][0] + units[i + 2][0], 16)]))
            )
            if not decoder.getstate()[0]:  # no byte pending: the next character starts after this escape
                start = end
            i += 3
        out.extend((ch, start, units[i - 1][2]) for ch in decoder.decode(b"", final=True))
    return out


def _read(text: str) -> list[Unit]:
    units: list[Unit] = [(ch, i, i + 1) for i, ch in enumerate(text)]
    for _ in range(3):  # a URL encoded twice (%2531) or three times still spells the number
        if not any(u[0] == "%" for u in units):
            break
        units = _percent_decoded(units)
    return [
        (ch, start, end)
        for c, start, end in units
        for ch in (c if c.isascii() else unicodedata.normalize("NFKC", c))
    ]


def _digit(ch: str) -> str:
    value = unicodedata.decimal(ch, None)
    return "" if value is None else str(value)


def _is_separator(ch: str) -> bool:
    return ch.isspace() or ch in _SEPARATORS


def _chains(units: list[Unit]) -> list[list[Group]]:
    """Runs of digits (groups), gathered into chains where at most `_MAX_GAP` separators part two groups.

    Digits that touch a Latin letter belong to a word — a SHA-256 digest, a certificate serial, an id — not to a
    number: they start no group and end the chain.
    """
    chains: list[list[Group]] = []
    chain: list[Group] = []
    group: Group = []
    gap = 0
    in_word = False
    for unit in units:
        ch = unit[0]
        if _digit(ch):
            if not in_word:
                group.append(unit)
            gap = 0
            continue
        in_word = ch.isascii() and ch.isalpha()
        if group and not in_word:
            chain.append(group)
        group = []
        if chain and not in_word and gap < _MAX_GAP and _is_separator(ch):
            gap += 1
            continue
        if chain:
            chains.append(chain)
            chain = []
    if group:
        chain.append(group)
    if chain:
        chains.append(chain)
    return chains


def _masked_spans(chain: list[Group]) -> list[tuple[int, int]]:
    """A chain of 12 digits whole; an unbroken run of 12 or more; in a longer chain, the card's grouping (4-4-4)
    or twelve digits spaced one by one."""
    sizes = [len(g) for g in chain]
    if sum(sizes) == LENGTH:
        return [(chain[0][0][1], chain[-1][-1][2])]
    spans = [(g[0][1], g[-1][2]) for g in chain if len(g) >= LENGTH]
    for first in range(len(chain)):
        for window in ((4, 4, 4), (1,) * LENGTH):
            last = first + len(window)
            if tuple(sizes[first:last]) == window:
                spans.append((chain[first][0][1], chain[last - 1][-1][2]))
    return spans


def redact(text: str) -> str:
    """The text with every spelling of a My Number-like number masked; the rest as it was written."""
    if text.isascii() and "%" not in text and not _ASCII_CANDIDATE.search(text):
        return text  # the common case (a log line, a message): no twelve digits within one chain
    # Each spelled digit shows at least one numeric character (%31, %EF%BC%91; ⑫ shows two).
    if sum(ch.isnumeric() for ch in text) < LENGTH // 2:
        return text
    out: list[str] = []
    position = 0
    for start, end in sorted(span for chain in _chains(_read(text)) for span in _masked_spans(chain)):
        if start >= position:  # a span overlapping the one before is already behind its mask
            out.append(text[position:start] + MASK)
        position = max(position, end)
    return "".join(out) + text[position:]
