"""What the CS operator's page shows (cs/services/overview.py): the notices counted by state, the latest ones, the
error queue with names as the CS holds them — screened for a person under a 支援措置 — and never a 個人番号; a
correction from the page's form sends only the items changed."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from juki.adapters import tables as rt
from juki.cs.services import errors, overview
from juki.domain.errors import Forbidden
from juki.policy.roles import Actor
from juki.services import filings, protection
from tests import factories as f
from tests.cs.support import CLERK, CS_OPERATOR, deliver, notices, take_in

PROTECTOR = Actor("super1", "係長 花子", "supervisor", "desk-1", procedure="protection")


def _without_code(j, given_name: str = "一人") -> str:  # type: ignore[no-untyped-def]
    person = f.person(given_name=given_name)
    person.pop("resident_code")
    done = filings.file(j.uow, CLERK, "move-in", f.move_in([person]))
    return str(done.changes[0]["addressee_number"])


def test_counts_latest_and_the_error_queue_without_a_my_number(j, cs, prefecture):
    family = f.family_of_four()
    filings.file(j.uow, CLERK, "move-in", f.move_in(family))
    _without_code(j)
    take_in(j, cs)
    deliver(cs, prefecture)
    seen = overview.overview(j.uow, cs.transaction, CS_OPERATOR, limit=3)
    assert dict(seen.counts) == {"acknowledged": 4, "error": 1}
    assert len(seen.latest) == 3 and all(n.state in ("acknowledged", "error") for n in seen.latest)
    assert seen.latest[0].updated_at >= seen.latest[-1].updated_at
    [line] = seen.errors
    assert (line.name, line.resident_code, line.code, line.protected) == (
        "山田\u3000一人",
        None,
        "missing_resident_code",
        False,
    )
    assert "個人番号" not in line.items and "漢字氏名" in line.items
    assert not any(p["my_number"] in repr(seen) for p in family)
    with j.engine.connect() as conn:
        log = conn.execute(select(rt.operation_log).where(rt.operation_log.c.action == "cs:overview")).all()
    assert [(r.staff_id, r.result) for r in log] == [("cs1", "ok")]


def test_a_person_under_a_support_measure_is_listed_by_resident_code_only_and_the_supervisors_alerted(j, cs):
    number = _without_code(j, "秘匿")
    take_in(j, cs)
    protection.set_measure(j.uow, PROTECTOR, f.support_measure(number))
    [line] = overview.overview(j.uow, cs.transaction, CS_OPERATOR).errors
    assert line.protected and line.name is None and dict(line.items) == {}
    alerts = protection.list_alerts(j.uow, PROTECTOR)["alerts"]
    assert [(a["kind"], a["subject"]) for a in alerts] == [("protected_hidden", number)]


def test_only_the_cs_operator_sees_it(j, cs):
    with pytest.raises(Forbidden):
        overview.overview(j.uow, cs.transaction, CLERK)


def test_a_correction_from_the_form_sends_only_what_changed_and_never_the_my_number(j, cs):
    _without_code(j)
    take_in(j, cs)
    [line] = overview.overview(j.uow, cs.transaction, CS_OPERATOR).errors
    posted = {k: v or "" for k, v in line.items.items()} | {"住民票コード": "12345678903"}
    assert overview.correct(j.uow, cs.transaction, CS_OPERATOR, line.entry, posted) == ["住民票コード"]
    assert notices(cs)[0].state == "corrected"
    with pytest.raises(overview.NothingChanged):
        overview.correct(j.uow, cs.transaction, CS_OPERATOR, line.entry, posted)
    with pytest.raises(errors.NotCorrectable):
        overview.correct(j.uow, cs.transaction, CS_OPERATOR, line.entry, {"個人番号": "123456789018"})
    with pytest.raises(errors.EntryNotFound):
        overview.correct(j.uow, cs.transaction, CS_OPERATOR, 999, {"住民票コード": "12345678903"})


def test_a_discard_keeps_the_operators_reason_in_both_logs(j, cs):
    _without_code(j)
    take_in(j, cs)
    entry = notices(cs)[0].id
    errors.send_back(j.uow, cs.transaction, CS_OPERATOR, entry, "住民票コードの記載漏れ")
    errors.discard(j.uow, cs.transaction, CS_OPERATOR, entry, "既存住基で訂正済み")
    with j.engine.connect() as conn:
        [row] = conn.execute(
            select(rt.operation_log).where(rt.operation_log.c.action == "cs:error_discard")
        ).all()
    assert "既存住基で訂正済み" in row.detail


def test_the_page_lists_the_oldest_entries_and_says_how_many_wait(j, cs, monkeypatch):
    _without_code(j, "一番")
    _without_code(j, "二番")
    take_in(j, cs)
    monkeypatch.setattr(overview, "ERRORS_SHOWN", 1)
    seen = overview.overview(j.uow, cs.transaction, CS_OPERATOR)
    assert [e.name for e in seen.errors] == ["山田\u3000一番"] and seen.errors_total == 2
