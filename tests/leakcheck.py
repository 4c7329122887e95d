"""The My Number leak check (issue 3 §3), a pytest plugin active for the whole suite.

Every My Number the tests make (tests.factories) or send is remembered. Then, for every test:
- every HTTP answer given through a TestClient is scanned; a known My Number in it is a leak unless the request
  asked for it explicitly (`include=my_number`, an `include.my_number`/`include_my_number` flag, or a path that
  names the reveal), the answer is a success, and the signed-in role may reveal it for the procedure it acts for;
- every log record emitted (any logger) is scanned: a My Number never belongs in a log line;
- every file the test wrote under its temporary folder is scanned (gzip files decompressed): the register keeps
  My Numbers encrypted, so none may appear in plain.
A leak fails the test that caused it; the message never shows the number itself.
"""

from __future__ import annotations

import contextlib
import gzip
import hashlib
import json
import logging
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from starlette.testclient import TestClient

from juki.domain.identifiers import my_number_check_digit
from juki.policy.roles import MY_NUMBER_REVEAL, allows

_RUN = re.compile(r"(?<!\d)(\d{4})[ -]?(\d{4})[ -]?(\d{4})(?!\d)")
KNOWN: set[str] = set()
_leaks: list[str] = []


def remember(text: str) -> None:
    for m in _RUN.finditer(text):
        number = "".join(m.groups())
        if my_number_check_digit(number[:11]) == number[11]:
            KNOWN.add(number)


def found_in(text: str) -> set[str]:
    return {n for m in _RUN.finditer(text) if (n := "".join(m.groups())) in KNOWN}


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
        leaked = found_in(data.decode("latin-1"))
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
