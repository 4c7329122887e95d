"""The CS's 符号取得 requests (cs/services/link_codes.py) against the real CS tables, with J-LIS a fake in memory, on
SQLite and PostgreSQL: the queue (idempotent per serial, the 個人番号 sealed), sending (taken → sent and the number
erased), the waits (J-LIS does not know the person yet, J-LIS cannot reach the network) retried after the backoff,
J-LIS unreachable, a refusal into the J-LIS error queue, the relay's pass, and no 個人番号 in any text."""

from __future__ import annotations

import json
import random
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import select, update

from juki.bootstrap import Juki
from juki.cs.adapters import jlis_tables, link_code_tables
from juki.cs.adapters import tables as t
from juki.cs.adapters.cs_db import CsDatabase
from juki.cs.jlis_wire import LinkCodeRequestOut, NetworkDown, NotYetKnown, Taken
from juki.cs.services import jlis, link_codes
from juki.cs.services.delivery import Backoff
from juki.cs.services.link_codes import CsLinkCodeRequester, SerialReused
from juki.cs.services.relay import Relay
from juki.cs.wire import Refused, Unreachable
from juki.domain.errors import InvalidField, InvalidMyNumber
from tests import factories as f
from tests.cs.fakes import FakePrefecture
from tests.cs.support import CITY, CS_OPERATOR, rows
from tests.leakcheck import spellings

NOW, LATER = Backoff(first=timedelta(0)), Backoff(first=timedelta(minutes=10))
SERIAL, OTHER_SERIAL = "SN0000000000000000A1", "SN0000000000000000B2"


def number(seed: int = 1) -> str:
    return f.generate_my_number(random.Random(seed))  # remembered by the leak check (tests.factories)


@dataclass
class FakeJlis:
    """J-LIS's 符号取得 endpoint in memory: each serial answered as `replies` says (default: taken), or down."""

    down: bool = False
    replies: dict[str, Taken | NotYetKnown | NetworkDown | Refused] = field(default_factory=dict)
    sent: list[LinkCodeRequestOut] = field(default_factory=list)

    def request_link_code(self, request: LinkCodeRequestOut) -> Taken | NotYetKnown | NetworkDown | Refused:
        if self.down:
            raise Unreachable("down")
        self.sent.append(request)
        return self.replies.get(request.serial, Taken(False))


def _setup(j: Juki, cs: CsDatabase, backoff: Backoff = NOW, **kwargs: Any) -> jlis.Setup:
    return jlis.Setup(j.uow, cs.transaction, jlis_tables.of, CITY, 1, 5, backoff=backoff,
                      link_codes_of=link_code_tables.of, **kwargs)  # fmt: skip


def _requester(cs: CsDatabase) -> CsLinkCodeRequester:
    return CsLinkCodeRequester(cs.transaction, CITY, link_code_tables.of)


def _pass(j: Juki, cs: CsDatabase, client: FakeJlis, backoff: Backoff = NOW) -> jlis.JlisReport:
    report = jlis.JlisReport()
    link_codes.run(_setup(j, cs, backoff), client, report)  # type: ignore[arg-type]
    return report


def _rows(cs: CsDatabase) -> list[Any]:
    return rows(cs, link_code_tables.requests, link_code_tables.requests.c.id)


def _time_passes(cs: CsDatabase) -> None:
    """Every wait is over: the next attempt times moved into the past (as the clock would, later)."""
    requests = link_code_tables.requests
    with cs.engine.begin() as conn:
        conn.execute(update(requests).values(next_attempt_at=datetime.now(UTC) - timedelta(seconds=1))
                     .where(requests.c.next_attempt_at.is_not(None)))  # fmt: skip


def _log(cs: CsDatabase) -> list[tuple[str, str]]:
    return [(r.action, r.result) for r in rows(cs, t.log, t.log.c.id) if r.action == "link_code"]


# --- the queue ------------------------------------------------------------------------------------------------


def test_a_request_is_queued_once_per_serial_with_the_number_sealed(j, cs):
    requester = _requester(cs)
    requester.request(SERIAL, number())
    requester.request(SERIAL, number())  # the 団体内統合宛名 function asked again: nothing more
    (row,) = _rows(cs)
    assert (row.serial, row.state, row.attempts, row.answer) == (SERIAL, "queued", 0, None)
    assert row.my_number and number() not in spellings(row.my_number)  # sealed, not in clear
    assert cs.vault.decrypt(row.my_number) == number()
    assert _log(cs) == [("link_code", "queued")]
    assert requester.state(SERIAL) == "queued" and requester.state(OTHER_SERIAL) is None
    with pytest.raises(SerialReused) as reused:
        requester.request(SERIAL, number(2))
    assert reused.value.code == "link_code_serial_reused" and number(2) not in spellings(str(reused.value))
    assert len(_rows(cs)) == 1


@pytest.mark.parametrize(
    ("serial", "my_number", "error"),
    [(SERIAL, "123456789012", InvalidMyNumber), ("", "", InvalidField), ("has space", "", InvalidField),
     ("x" * 41, "", InvalidField)],
)  # fmt: skip
def test_a_request_of_a_bad_serial_or_number_is_refused_and_nothing_queued(j, cs, serial, my_number, error):
    with pytest.raises(error):
        _requester(cs).request(serial, my_number or number())
    assert _rows(cs) == [] and _log(cs) == []


# --- sending ----------------------------------------------------------------------------------------------------


def test_a_request_j_lis_takes_is_sent_once_and_its_number_erased(j, cs):
    _requester(cs).request(SERIAL, number())
    client = FakeJlis()
    report = _pass(j, cs, client)
    assert [(r.serial, r.city_code, r.my_number) for r in client.sent] == [(SERIAL, CITY, number())]
    assert report.link_codes_sent == 1 and not report.unreachable
    (row,) = _rows(cs)
    assert (row.state, row.answer, row.my_number, row.next_attempt_at) == ("sent", "accepted", None, None)
    assert _pass(j, cs, client).link_codes_sent == 0 and len(client.sent) == 1  # never sent again
    _requester(cs).request(SERIAL, number())  # a repeat after sending is still the same request
    assert len(_rows(cs)) == 1 and _requester(cs).state(SERIAL) == "sent"
    assert _log(cs) == [("link_code", "queued"), ("link_code", "sent")]


def test_a_repeat_j_lis_acknowledges_as_a_duplicate_is_sent_too(j, cs):
    _requester(cs).request(SERIAL, number())
    _pass(j, cs, FakeJlis(replies={SERIAL: Taken(True)}))
    assert [(r.state, r.answer) for r in _rows(cs)] == [("sent", "duplicate")]


def test_requests_go_oldest_first(j, cs):
    _requester(cs).request(OTHER_SERIAL, number(2))
    _requester(cs).request(SERIAL, number())
    client = FakeJlis()
    _pass(j, cs, client)
    assert [r.serial for r in client.sent] == [OTHER_SERIAL, SERIAL]


@pytest.mark.parametrize(
    ("answer", "code"), [(NotYetKnown(), "not_yet_known"), (NetworkDown(), "network_unreachable")]
)
def test_a_wait_is_asked_again_only_after_the_backoff(j, cs, answer, code):
    _requester(cs).request(SERIAL, number())
    client = FakeJlis(replies={SERIAL: answer})
    report = _pass(j, cs, client, LATER)
    assert report.link_codes_waiting == 1 and report.link_codes_sent == 0
    (row,) = _rows(cs)
    assert (row.state, row.answer, row.attempts) == ("queued", code, 1)
    wait = link_code_tables._aware(row.next_attempt_at) - link_code_tables._aware(row.updated_at)
    assert wait == timedelta(minutes=10)
    assert cs.vault.decrypt(row.my_number) == number()  # still held: it must go again
    _pass(j, cs, client, LATER)
    assert len(client.sent) == 1  # not due yet
    _time_passes(cs)
    _pass(j, cs, client, LATER)
    (row,) = _rows(cs)
    assert len(client.sent) == 2 and row.attempts == 2
    wait = link_code_tables._aware(row.next_attempt_at) - link_code_tables._aware(row.updated_at)
    assert wait == timedelta(minutes=20)  # twice the first wait
    client.replies.clear()
    _time_passes(cs)
    assert _pass(j, cs, client, LATER).link_codes_sent == 1
    assert [(r.state, r.answer) for r in _rows(cs)] == [("sent", "accepted")]
    assert _log(cs) == [
        ("link_code", "queued"),
        ("link_code", code),
        ("link_code", code),
        ("link_code", "sent"),
    ]


def test_j_lis_unreachable_changes_nothing_and_is_no_attempt(j, cs):
    _requester(cs).request(SERIAL, number())
    report = _pass(j, cs, FakeJlis(down=True))
    assert report.unreachable and report.link_codes_sent == 0
    (row,) = _rows(cs)
    assert (row.state, row.attempts, row.answer, row.next_attempt_at) == ("queued", 0, None, None)


def test_nothing_is_sent_when_j_lis_was_unreachable_earlier_in_the_pass_or_the_store_is_not_wired(j, cs):
    _requester(cs).request(SERIAL, number())
    client = FakeJlis()
    link_codes.run(_setup(j, cs), client, jlis.JlisReport(unreachable=True))  # type: ignore[arg-type]
    unwired = jlis.Setup(j.uow, cs.transaction, jlis_tables.of, CITY, 1, 5)
    link_codes.run(unwired, client, jlis.JlisReport())  # type: ignore[arg-type]
    assert client.sent == [] and _rows(cs)[0].state == "queued"


@pytest.mark.parametrize(
    "refusal",
    [Refused("unknown_serial", None, "unknown"), Refused("serial_reused", None, "reused"),
     Refused("format_error", "個人番号", "bad")],
)  # fmt: skip
def test_a_refusal_goes_to_the_j_lis_error_queue_and_is_not_sent_again(j, cs, refusal):
    _requester(cs).request(SERIAL, number())
    client = FakeJlis(replies={SERIAL: refusal})
    report = _pass(j, cs, client)
    assert report.refused == 1 and report.link_codes_sent == 0
    (row,) = _rows(cs)
    assert (row.state, row.answer, row.my_number) == ("refused", refusal.code, None)
    status = jlis.status(j.uow, cs.transaction, jlis_tables.of, CS_OPERATOR)
    assert status.errors_total == 1
    (error,) = status.errors
    assert (error.subject, error.ref, error.event, error.code, error.item) == (
        "link_code", SERIAL, "refused", refusal.code, refusal.item
    )  # fmt: skip
    assert jlis.SUBJECT_WORDS[error.subject] == "符号取得の要求"
    _pass(j, cs, client)
    assert len(client.sent) == 1 and _requester(cs).state(SERIAL) == "refused"
    assert link_codes.counts(cs.transaction, link_code_tables.of) == {"queued": 0, "sent": 0, "refused": 1}


# --- the relay's pass -------------------------------------------------------------------------------------------


class _Link:
    """A connect function's context manager handing out one client."""

    def __init__(self, client: Any) -> None:
        self.client = client

    def __enter__(self) -> Any:
        return self.client

    def __exit__(self, *exc: object) -> None:
        return None


@dataclass
class FakeJlisAll(FakeJlis):
    """The whole J-LIS wire, with nothing to do but the 符号取得 requests (the stock is never low here)."""

    def issue_block(self, request: Any) -> Any:
        raise AssertionError("no block is asked: the stock threshold is 0")

    def request_number(self, request: Any) -> Any:
        raise AssertionError("no number request is open")

    def answers(self, city_code: str, after: int) -> list[Any]:
        return []

    def deliver_mailing(self, record: Any) -> Any:
        raise AssertionError("no 送付先情報 is ready")


def test_the_relay_sends_the_requests_after_the_j_lis_steps(j, cs):
    _requester(cs).request(SERIAL, number())
    client = FakeJlisAll()
    setup = jlis.Setup(j.uow, cs.transaction, jlis_tables.of, CITY, 0, 5, link_codes_of=link_code_tables.of)
    relay = Relay(j.uow, cs.transaction, j.event_key, CITY, lambda: _Link(FakePrefecture()), numbers=setup,
                  connect_jlis=lambda: _Link(client))  # fmt: skip
    done = relay.run_once()
    assert done.jlis is not None and done.jlis.link_codes_sent == 1 and done.jlis.busy
    assert [r.serial for r in client.sent] == [SERIAL] and _rows(cs)[0].state == "sent"


# --- no 個人番号 in any text ------------------------------------------------------------------------------------


def test_no_my_number_in_the_cs_log_the_error_queue_or_the_request_rows(j, cs):
    numbers = [number(s) for s in range(1, 5)]
    serials = [f"SN{s:018d}" for s in range(1, 5)]
    requester = _requester(cs)
    for serial, n in zip(serials, numbers, strict=True):
        requester.request(serial, n)
    with pytest.raises(SerialReused) as reused:
        requester.request(serials[0], numbers[1])
    client = FakeJlis(replies={serials[1]: NotYetKnown(), serials[2]: NetworkDown(),
                               serials[3]: Refused("format_error", "個人番号", "個人番号が正しくありません")})  # fmt: skip
    _pass(j, cs, client)
    status = jlis.status(j.uow, cs.transaction, jlis_tables.of, CS_OPERATOR)
    texts = [str(reused.value), repr(reused.value), repr(client.sent)]
    texts += [f"{r.action} {r.result} {r.kind} {r.message}" for r in rows(cs, t.log, t.log.c.id)]
    texts += [json.dumps(e.__dict__, default=str, ensure_ascii=False) for e in status.errors]
    texts += [
        f"{r.serial} {r.my_number_index} {r.state} {r.answer}" + (f" {r.my_number}" if r.my_number else "")
        for r in _rows(cs)
    ]  # the sealed numbers of the two still waiting are tokens, not numbers
    found = spellings("\n".join(texts))
    assert not any(n in found for n in numbers)
    assert len(client.sent) == 4 and [r.state for r in _rows(cs)] == ["sent", "queued", "queued", "refused"]
    with cs.engine.connect() as conn:
        erased = conn.execute(select(link_code_tables.requests.c.my_number)).scalars().all()
    assert sum(1 for value in erased if value is None) == 2  # sent and refused keep no number
