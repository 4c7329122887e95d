"""The CS's J-LIS step (cs/services/jlis.py) against the real register and CS tables, with J-LIS and the register's
送付先情報 as fakes in memory, on SQLite and PostgreSQL: the waits (a person J-LIS does not know yet, a refused
block), J-LIS unreachable, the 送付先情報's answers into the register and the error queue, the operator's view;
and the notices the numbers' own changes become (cs/domain/notices.py)."""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import text

from juki.bootstrap import Juki
from juki.cs.adapters import jlis_tables
from juki.cs.adapters.cs_db import CsDatabase
from juki.cs.domain.notices import KIND_OF, LOGIC_ERROR, Failure, Part, plan
from juki.cs.jlis_wire import (
    Answer,
    Block,
    BlockRequest,
    MailingRecord,
    MalformedAnswer,
    NotYetKnown,
    NumberRequestOut,
    Taken,
)
from juki.cs.services import jlis
from juki.cs.services.delivery import Backoff
from juki.cs.wire import Accepted, NoticeKind, Refused, Unreachable
from juki.domain.errors import Forbidden, InvalidField
from juki.domain.identifiers import generate_resident_code
from juki.policy.roles import CS_SYSTEM
from juki.services import filings, numbers
from tests import factories as f
from tests.cs.jlis_support import CITY, mailing_items
from tests.cs.support import CLERK, CS_OPERATOR, rows
from tests.cs.test_notices import items as notice_items

K = NoticeKind
NOW, LATER = Backoff(first=timedelta(0)), Backoff(first=timedelta(hours=1))


@dataclass
class FakeJlis:
    """J-LIS in memory (jlis_wire.JlisClient): down, refusing, or answering; what it was asked, in order."""

    down: bool = False
    known: set[str] = field(default_factory=set)  # the 住民票コード the national server holds
    refuse_block: Refused | None = None
    refuse_mailing: Refused | None = None
    blocks: list[BlockRequest] = field(default_factory=list)
    requests: list[NumberRequestOut] = field(default_factory=list)
    feed: list[Answer | MalformedAnswer] = field(default_factory=list)
    mailed: list[MailingRecord] = field(default_factory=list)

    def _up(self) -> None:
        if self.down:
            raise Unreachable("down")

    def issue_block(self, request: BlockRequest) -> Block | Refused:
        self._up()
        self.blocks.append(request)
        if self.refuse_block is not None:
            return self.refuse_block
        rng = random.Random(request.block_request_id)
        return Block(request.block_request_id, f"J{len(self.blocks)}",
                     tuple(sorted({generate_resident_code(rng) for _ in range(request.size)})))  # fmt: skip

    def request_number(self, request: NumberRequestOut) -> Taken | NotYetKnown | Refused:
        self._up()
        self.requests.append(request)
        return Taken(False) if request.resident_code in self.known else NotYetKnown()

    def answers(self, city_code: str, after: int) -> list[Answer | MalformedAnswer]:
        self._up()
        return [a for a in self.feed if a.seq > after]

    def deliver_mailing(self, record: MailingRecord) -> Accepted | Refused:
        self._up()
        self.mailed.append(record)
        return self.refuse_mailing or Accepted(False)


@dataclass(frozen=True)
class Out:
    record_id: str
    resident_code: str
    items: dict[str, Any]
    addressed_to: str = "householder"


@dataclass
class FakeMailing:
    """The register's 送付先情報 (jlis.MailingPort) in memory; it may refuse an item name it does not know, or
    refuse to record a delivery."""

    records: list[Out] = field(default_factory=list)
    delivered_ids: list[str] = field(default_factory=list)
    refused_calls: list[tuple[str, str, str | None]] = field(default_factory=list)
    known_items: frozenset[str] = frozenset(mailing_items("x"))
    refuse_delivered: bool = False

    def ready(self, uow_factory: Any, actor: Any, limit: int) -> list[Out]:
        done = set(self.delivered_ids) | {r for r, _, _ in self.refused_calls}
        return [r for r in self.records if r.record_id not in done][:limit]

    def delivered(self, uow_factory: Any, actor: Any, record_id: str) -> None:
        if self.refuse_delivered:
            raise InvalidField("no", "record_id", code="mailing_record_not_going")
        self.delivered_ids.append(record_id)

    def refused(self, uow_factory: Any, actor: Any, record_id: str, code: str, item: str | None) -> None:
        if item is not None and item not in self.known_items:
            raise InvalidField("送付先情報の項目名ではありません", "item")
        self.refused_calls.append((record_id, code, item))


def _setup(j: Juki, cs: CsDatabase, **kwargs: Any) -> jlis.Setup:
    base: dict[str, Any] = dict(threshold=1, block_size=5, backoff=NOW)
    return jlis.Setup(j.uow, cs.transaction, jlis_tables.of, CITY, **(base | kwargs))


def _events(cs: CsDatabase, subject: str) -> list[tuple[str, str]]:
    return [
        (e.ref, e.event)
        for e in rows(cs, jlis_tables.events, jlis_tables.events.c.id)
        if e.subject == subject
    ]


def _birth(j: Juki) -> tuple[str, str]:
    household = filings.file(j.uow, CLERK, "move-in", f.move_in([f.person()])).household_number
    born = filings.file(j.uow, CLERK, "birth", {
        "filed_on": "2025-06-21", "birth_date": "2025-06-20", "household_number": household,
        "person": {"family_name": "山田", "given_name": "次郎", "family_name_kana": "ヤマダ",
                   "given_name_kana": "ジロウ", "sex": "male", "relationship": "子"},
    })  # fmt: skip
    (request,) = numbers.open_requests(j.uow, CS_SYSTEM)
    return str(born.changes[0]["addressee_number"]), request.resident_code


# --- the waits ----------------------------------------------------------------------------------------------------


def test_a_person_j_lis_does_not_know_yet_is_asked_again_after_the_wait_not_as_an_error(j, cs):
    _, code = _birth(j)
    fake = FakeJlis()
    jlis.run(_setup(j, cs, backoff=LATER), fake)
    fake.known.add(code)
    jlis.run(_setup(j, cs, backoff=NOW), fake)  # within the wait recorded (an hour): not asked again
    assert [r.resident_code for r in fake.requests] == [code]
    assert [e for _, e in _events(cs, "request")] == ["not_yet_known"]


def test_once_the_wait_is_over_the_request_is_asked_again_and_taken(j, cs):
    _, code = _birth(j)
    fake = FakeJlis()
    first = jlis.run(_setup(j, cs, backoff=NOW), fake)  # not known: asked again at the next pass
    assert (first.not_yet_known, first.requests_sent, first.refused) == (1, 0, 0)
    fake.known.add(code)
    done = jlis.run(_setup(j, cs, backoff=NOW), fake)
    assert (done.not_yet_known, done.requests_sent, done.refused) == (0, 1, 0)
    assert [e for _, e in _events(cs, "request")] == ["not_yet_known", "taken"]
    assert jlis.run(_setup(j, cs), fake).requests_sent == 0  # taken: only waited for
    assert _events(cs, "request")[0][0] == fake.requests[0].request_id


def test_a_refused_block_is_not_asked_again_before_the_wait_and_unreachable_keeps_its_id(j, cs):
    fake = FakeJlis(refuse_block=Refused("format_error", None, "…"))
    threshold = numbers.stock(j.uow, CS_SYSTEM, 1).available + 1
    first = jlis.run(_setup(j, cs, threshold=threshold, backoff=LATER), fake)
    assert first.refused == 1 and len(fake.blocks) == 1
    jlis.run(_setup(j, cs, threshold=threshold, backoff=LATER), fake)
    assert len(fake.blocks) == 1  # the wait after a refusal
    fake.refuse_block, fake.down = None, True
    down = jlis.run(_setup(j, cs, threshold=threshold), fake)
    assert down.unreachable and len(fake.blocks) == 1
    fake.down = False
    up = jlis.run(_setup(j, cs, threshold=threshold), fake)
    assert up.codes_received == 5
    asked = [ref for ref, event in _events(cs, "block") if event == "asked"]
    assert [b.block_request_id for b in fake.blocks] == [asked[0], asked[1]]  # asked again by the same id


def test_j_lis_unreachable_stops_the_step_and_nothing_is_recorded_for_it(j, cs):
    _birth(j)
    report = jlis.run(_setup(j, cs), FakeJlis(down=True))
    assert report.unreachable and report == jlis.JlisReport(unreachable=True, stock=report.stock)
    assert _events(cs, "request") == [] and _events(cs, "answer") == []


# --- 送付先情報 --------------------------------------------------------------------------------------------------------


def test_a_record_goes_to_j_lis_and_its_delivery_into_the_register(j, cs):
    port = FakeMailing([Out("M-1", "12345678903", mailing_items("M-1")),
                        Out("M-2", "12345678903", mailing_items("M-2"), "residence")])  # fmt: skip
    fake = FakeJlis()
    done = jlis.run(_setup(j, cs, mailing=port), fake)
    assert done.mailing_delivered == 2 and port.delivered_ids == ["M-1", "M-2"]
    assert [(m.record_id, m.to_residence, m.city_code) for m in fake.mailed] == [
        ("M-1", False, CITY), ("M-2", True, CITY)
    ]  # fmt: skip
    assert jlis.run(_setup(j, cs, mailing=port), fake).mailing_delivered == 0


def test_a_refused_record_is_refused_to_the_register_once_even_when_it_does_not_know_the_item(j, cs):
    port = FakeMailing([Out("M-1", "12345678903", mailing_items("M-1"))])
    fake = FakeJlis(refuse_mailing=Refused("format_error", "印字区分", "…"))
    done = jlis.run(_setup(j, cs, mailing=port), fake)
    assert done.refused == 1 and port.refused_calls == [("M-1", "format_error", None)]
    (error,) = jlis.status(j.uow, cs.transaction, jlis_tables.of, CS_OPERATOR).errors
    assert (error.subject, error.ref, error.code, error.item) == (
        "mailing",
        "M-1",
        "format_error",
        "印字区分",
    )


def test_a_record_the_register_will_not_mark_delivered_is_an_error_and_not_sent_again(j, cs):
    port = FakeMailing([Out("M-1", "12345678903", mailing_items("M-1"))], refuse_delivered=True)
    fake = FakeJlis()
    assert jlis.run(_setup(j, cs, mailing=port), fake).refused == 1
    assert jlis.run(_setup(j, cs, mailing=port), fake).refused == 0
    assert len(fake.mailed) == 1 and _events(cs, "mailing") == [("M-1", "refused")]


# --- the operator's view ------------------------------------------------------------------------------------------


def test_the_operator_sees_the_stock_as_the_cs_saw_it_and_the_errors_others_are_refused(j, cs):
    available = numbers.stock(j.uow, CS_SYSTEM, 1).available
    fake = FakeJlis(refuse_block=Refused("format_error", None, "…"))
    jlis.run(_setup(j, cs, threshold=available + 10, backoff=LATER), fake)
    seen = jlis.status(j.uow, cs.transaction, jlis_tables.of, CS_OPERATOR)
    assert seen.stock is not None and (seen.stock.available, seen.stock.threshold) == (
        available,
        available + 10,
    )
    assert seen.stock.low and seen.errors_total == 1 and seen.errors[0].subject == "block"
    with pytest.raises(Forbidden):
        jlis.status(j.uow, cs.transaction, jlis_tables.of, CLERK)


# --- the notices of the numbers' own changes ----------------------------------------------------------------------


def test_the_numbers_changes_have_the_law_s_notice_kinds():
    assert {KIND_OF[r] for r in ("住民票コード記載", "住民票コード変更", "個人番号指定", "個人番号変更")} == {
        K.RESIDENT_CODE_ENTRY, K.RESIDENT_CODE_CHANGE, K.MY_NUMBER_ASSIGNED, K.MY_NUMBER_CHANGED
    }  # fmt: skip


def test_a_number_s_change_may_change_the_number_only():
    before = notice_items("転入") | {"個人番号": None, "レコード状況フラグ": "0"}
    assigned = before | {"個人番号": "123456789018"}
    parts = plan("個人番号指定", assigned, before, False)
    assert isinstance(parts, list) and [p.kind for p in parts] == [K.MY_NUMBER_ASSIGNED]
    assert parts[0].items["異動事由"] == "個人番号指定" and parts[0].items["異動事由詳細"] is None
    renamed = plan("個人番号指定", assigned | {"漢字氏名": "山田\u3000次郎"}, before, False)
    assert isinstance(renamed, Failure) and (renamed.code, renamed.item) == (LOGIC_ERROR, "漢字氏名")
    assert plan("個人番号指定", before, before, False) == []  # nothing changed: nothing to notify


def test_a_code_entry_opens_a_person_and_a_code_change_needs_one_present():
    items = notice_items("転入")
    assert [p.kind for p in plan("住民票コード記載", items, None, False)] == [K.RESIDENT_CODE_ENTRY]  # type: ignore[union-attr]
    changed = items | {"住民票コード": "12345678903", "旧住民票コード": items["住民票コード"]}
    gone = plan("住民票コード変更", changed, items | {"レコード状況フラグ": "1"}, False)
    assert isinstance(gone, Failure) and gone.code == LOGIC_ERROR
    ok = plan("住民票コード変更", changed, items | {"レコード状況フラグ": "0"}, False)
    assert isinstance(ok, list) and ok == [Part(K.RESIDENT_CODE_CHANGE, ok[0].items)]


def test_what_the_cs_keeps_of_j_lis_is_append_only(j, cs):
    available = numbers.stock(j.uow, CS_SYSTEM, 1).available
    jlis.run(_setup(j, cs, threshold=available + 1), FakeJlis())
    statements = ["UPDATE cs_jlis_events SET event = 'x'", "DELETE FROM cs_jlis_events",
                  "UPDATE cs_jlis_stock SET available = 0", "DELETE FROM cs_jlis_stock"]  # fmt: skip
    if cs.engine.dialect.name == "postgresql":
        statements += ["TRUNCATE cs_jlis_events", "TRUNCATE cs_jlis_stock"]
    for statement in statements:
        with pytest.raises(Exception, match="append-only"), cs.engine.begin() as conn:
            conn.execute(text(statement))
    assert len(rows(cs, jlis_tables.events)) == 4 and len(rows(cs, jlis_tables.stock)) == 2
