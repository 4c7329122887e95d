"""The My Number leak check, a pytest plugin active for the whole suite.

Every My Number the tests make (tests.factories) or send is remembered. Then, for every test:
- every HTTP answer given through a TestClient is scanned; a known My Number in it is a leak unless the request
  asked for it explicitly (`include=my_number`, an `include.my_number`/`include_my_number` flag, or a path that
  names the reveal), the answer is a success, and the signed-in role may reveal it for the procedure it acts for;
- every log record emitted (any logger) is scanned: a My Number never belongs in a log line;
- every file the test wrote under its temporary folder is scanned (gzip files decompressed): the register keeps
  My Numbers encrypted, so none may appear in plain. A file is read in pieces cut where no spelling can cross
  (`file_spellings`), and a piece seen before (the template's pages in every test's copy of the register) is not
  read again: the same spellings are found as in the whole file, at a fraction of the cost.
A leak fails the test that caused it; the message never shows the number itself.
"""

from __future__ import annotations

import contextlib
import gzip
import hashlib
import json
import logging
import re
import unicodedata
from collections import OrderedDict
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, quote, unquote, urlsplit

import pytest
from starlette.testclient import TestClient

from juki.domain.identifiers import my_number_check_digit
from juki.policy.roles import MY_NUMBER_REVEAL, allows

# A number is found however it is spelt: percent-encoded (once or more), full-width or in another script's digits,
# grouped or spaced with whitespace, hyphens, dashes, ー or `+` (a form's space). Written independently of the
# product's own masking (juki.domain.redaction), so that a gap in one is not a gap in both.
_DASHES = "\\-+_\u2010\u2011\u2012\u2013\u2014\u2015\u2212\u30fc\ufe63\uff70"
_CHAIN = re.compile(rf"\d+(?:[\s{_DASHES}]{{1,3}}\d+)*")
_GAP = re.compile(rf"[\s{_DASHES}]+")
_ESCAPES = re.compile(r"(?:%[0-9A-Fa-f]{2})+")
_FULL_WIDTH = str.maketrans("0123456789", "０１２３４５６７８９")
KNOWN: set[str] = set()
_leaks: list[str] = []


def readable(text: str) -> str:
    """The text as a person reads it: percent-decoded (up to three times) and NFKC-folded."""
    for _ in range(3):
        decoded = _ESCAPES.sub(lambda m: unquote(m.group(), errors="replace"), text)
        if decoded == text:
            break
        text = decoded
    return text if text.isascii() else unicodedata.normalize("NFKC", text)


def _chains(text: str) -> Iterator[list[str]]:
    """The digit groups of each chain (groups parted by at most three separators), in ASCII digits."""
    for chain in _CHAIN.finditer(readable(text)):
        if len(_GAP.sub("", chain.group())) < 12:  # too short to spell a number: most chains
            continue
        yield [
            g if g.isascii() else "".join(str(unicodedata.decimal(ch)) for ch in g)
            for g in _GAP.split(chain.group())
        ]


def spellings(text: str) -> set[str]:
    """Every 12 digits the text spells: a run of whole groups of a chain that add up to 12 (`0 1234 5678 9012 3`
    spells one). Digits within a longer run are not a number of their own."""
    found: set[str] = set()
    for groups in _chains(text):
        for i in range(len(groups)):
            joined = ""
            for group in groups[i:]:
                joined += group
                if len(joined) >= 12:
                    break
            if len(joined) == 12:
                found.add(joined)
    return found


def written_forms(n: str) -> dict[str, str]:
    """The ways a person or a program writes one number (to prove that the scan and the masking read them all)."""
    grouped = f"{n[:4]}-{n[4:8]}-{n[8:]}"
    return {
        "plain": n,
        "full-width": n.translate(_FULL_WIDTH),
        "hyphens": grouped,
        "full-width hyphens": f"{n[:4]}－{n[4:8]}－{n[8:]}".translate(_FULL_WIDTH),
        "long vowel mark": f"{n[:4]}ー{n[4:8]}ー{n[8:]}",
        "minus and dashes": f"{n[:4]}\u2212{n[4:8]}\u2013{n[8:]}",
        "spaces": f"{n[:4]} {n[4:8]} {n[8:]}",
        "ideographic spaces": f"{n[:4]}\u3000{n[4:8]}\u3000{n[8:]}",
        "digit by digit": " ".join(n),
        "4-4-4 with spaced hyphens": f"{n[:4]} - {n[4:8]} - {n[8:]}",
        "6-6": f"{n[:6]} {n[6:]}",
        "form spaces": f"{n[:4]}+{n[4:8]}+{n[8:]}",
        "percent": "".join(f"%3{d}" for d in n),
        "percent full-width": quote(n.translate(_FULL_WIDTH)),
        "percent spaces": quote(f"{n[:4]} {n[4:8]} {n[8:]}"),
        "percent twice": quote(quote(n.translate(_FULL_WIDTH))),
        "percent three times": quote(quote(quote(grouped.translate(_FULL_WIDTH)))),
        "mixed": f"{n[:4].translate(_FULL_WIDTH)}%20{n[4:8]}ー%EF%BC%{90 + int(n[8])}{n[9:]}",
        "other script digits": n.translate(str.maketrans("0123456789", "٠١٢٣٤٥٦٧٨٩")),
        "in a longer chain": f"0 {grouped} 7",
    }


def remember(text: str) -> None:
    """The numbers a request carries: a whole chain of 12 digits with a valid check digit (a date range or two
    numbers side by side are not remembered as one), standing on its own — twelve digits inside a token of letters
    and digits (a card's hex serial in a URL, one time in a hundred) are part of that token, not a number sent."""
    readable_text = readable(text)
    for chain in _CHAIN.finditer(readable_text):
        before = readable_text[chain.start() - 1 : chain.start()]
        after = readable_text[chain.end() : chain.end() + 1]
        if (before.isascii() and before.isalpha()) or (after.isascii() and after.isalpha()):
            continue
        number = _GAP.sub("", chain.group())
        if not number.isascii():
            number = "".join(str(unicodedata.decimal(ch)) for ch in number)
        if len(number) == 12 and my_number_check_digit(number[:11]) == number[11]:
            KNOWN.add(number)


def found_in(text: str) -> set[str]:
    return spellings(text) & KNOWN


# A file is cut into pieces at bytes no spelling reads through: ASCII that is no digit, whitespace (as `\s` reads
# it), dash, `%` or hex letter. No chain, percent escape or UTF-8 sequence spans such a byte, and NFKC neither
# composes nor reorders across it (an ASCII character is a starter and the second half of no composition), so the
# spellings of the whole are the union of the pieces' spellings. Cuts are taken at the first such byte from each
# 4 KiB boundary: an unchanged page of a copied file gives the same piece, whose spellings are remembered.
_CUT = re.compile(rb"[^0-9A-Fa-f\t\n\x0b\x0c\r\x1c-\x1f \-+_%\x80-\xff]")
_PIECE = 4096
_seen_pieces: OrderedDict[bytes, frozenset[str]] = OrderedDict()


def _pieces(data: bytes) -> Iterator[bytes]:
    start = 0
    for boundary in range(_PIECE, len(data), _PIECE):
        cut = _CUT.search(data, max(boundary, start + 1), boundary + _PIECE)
        if cut is not None:
            yield data[start : cut.start()]
            start = cut.start()
    yield data[start:]


def _piece_spellings(piece: bytes) -> frozenset[str]:
    key = hashlib.blake2b(piece, digest_size=16).digest()
    found = _seen_pieces.get(key)
    if found is None:
        found = _seen_pieces[key] = frozenset(spellings(piece.decode("utf-8", "replace")))
        if len(_seen_pieces) > 20_000:
            _seen_pieces.popitem(last=False)
    else:
        _seen_pieces.move_to_end(key)
    return found


def file_spellings(data: bytes) -> set[str]:
    """What `spellings` finds in the bytes decoded as UTF-8 (undecodable bytes replaced), piece by piece."""
    return set().union(*map(_piece_spellings, _pieces(data)))


def _mask(numbers: set[str]) -> str:
    return ", ".join(sorted(f"****-****-{n[-4:]}" for n in numbers))


# --- what a request asked for and who asked ----------------------------------------------------------------------


def _asked(url: str, body: Any) -> bool:
    parts = urlsplit(url)
    query = parse_qs(parts.query)
    if any("my_number" in v for values in query.get("include", []) for v in values.split(",")):
        return True
    if "my-number" in parts.path or "my_number" in parts.path:
        return True
    if isinstance(body, dict):
        include = body.get("include")
        if body.get("include_my_number") is True:
            return True
        if isinstance(include, dict) and include.get("my_number") is True:
            return True
    return False


def _role(app: Any, headers: Any) -> str | None:
    auth = (headers or {}).get("Authorization") or (headers or {}).get("authorization")
    juki = getattr(getattr(app, "state", None), "juki", None)
    if not auth or juki is None or not auth.lower().startswith("bearer "):
        return None
    from sqlalchemy import select

    from juki.adapters import tables as t

    digest = hashlib.sha256(auth.split(" ", 1)[1].encode()).hexdigest()
    with juki.engine.connect() as conn:
        q = select(t.staff.c.role).join(t.sessions, t.sessions.c.staff_id == t.staff.c.staff_id)
        return conn.execute(q.where(t.sessions.c.token_hash == digest)).scalar()


def _check_answer(client: TestClient, method: str, url: str, kwargs: dict[str, Any], res: Any) -> None:
    body = kwargs.get("json")
    remember(url + (json.dumps(body, ensure_ascii=False) if body is not None else ""))
    if isinstance(kwargs.get("content"), str | bytes):
        content = kwargs["content"]
        remember(content if isinstance(content, str) else content.decode("utf-8", "replace"))
    leaked = found_in(res.content.decode("utf-8", "replace"))
    if not leaked:
        return
    headers = {**dict(client.headers), **dict(kwargs.get("headers") or {})}
    procedure = headers.get("X-Juki-Procedure") or headers.get("x-juki-procedure")
    role = _role(client.app, headers)
    ok = (
        _asked(url, body)
        and 200 <= res.status_code < 300
        and (role is None or allows(role, MY_NUMBER_REVEAL, procedure))
    )
    if not ok:
        _leaks.append(f"{method} {urlsplit(url).path} → {res.status_code} (role {role}): {_mask(leaked)}")


# --- the plugin ---------------------------------------------------------------------------------------------------


class _LogScan(logging.Handler):
    def emit(self, record: logging.LogRecord) -> None:
        try:
            text = record.getMessage()
        except Exception:  # a malformed record is not ours to judge
            return
        leaked = found_in(text + (record.exc_text or ""))
        if leaked:
            _leaks.append(f"log {record.name}: {_mask(leaked)}")


def _scan_files(folder: Path) -> None:
    for path in folder.rglob("*"):
        if not path.is_file() or path.stat().st_size > 200_000_000:
            continue
        data = path.read_bytes()
        if path.suffix == ".gz":
            with contextlib.suppress(OSError):  # not gzip after all: scan the bytes as they are
                data = gzip.decompress(data)
        leaked = file_spellings(data) & KNOWN
        if leaked:
            _leaks.append(f"file {path.name}: {_mask(leaked)}")


@pytest.fixture(scope="session", autouse=True)
def _leak_watch() -> Iterator[None]:
    import tests.factories as factories

    make = factories.generate_my_number

    def remembered(*args: Any, **kwargs: Any) -> str:
        number = make(*args, **kwargs)
        KNOWN.add(number)
        return number

    original = TestClient.request

    def request(self: TestClient, method: str, url: Any, *args: Any, **kwargs: Any) -> Any:
        res = original(self, method, url, *args, **kwargs)
        _check_answer(self, method, str(url), kwargs, res)
        return res

    factories.generate_my_number = remembered  # type: ignore[assignment]
    TestClient.request = request  # type: ignore[method-assign]
    handler = _LogScan(level=logging.DEBUG)
    logging.getLogger().addHandler(handler)
    try:
        yield
    finally:
        logging.getLogger().removeHandler(handler)
        TestClient.request = original  # type: ignore[method-assign]
        factories.generate_my_number = make


@pytest.fixture(autouse=True)
def _no_leak(request: pytest.FixtureRequest) -> Iterator[None]:
    _leaks.clear()
    folder = request.getfixturevalue("tmp_path") if "tmp_path" in request.fixturenames else None
    yield
    if folder is not None:  # pytest keeps the folder after the test: scan what the test left there
        _scan_files(folder)
    if _leaks:
        found = list(_leaks)
        _leaks.clear()
        pytest.fail("My Number leaked:\n  " + "\n  ".join(found[:20]), pytrace=False)


def take_leaks() -> list[str]:
    """The leaks found so far in this test (for the test that proves the check works); clears them."""
    found = list(_leaks)
    _leaks.clear()
    return found
