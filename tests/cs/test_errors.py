"""The error queue end to end: an entry the checks refused, corrected by the CS operator and resent; sent back
to the register and discarded once the register's own correction has come; every action in the CS log and in
the register's hash-chained operation log."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from juki.adapters import tables as rt
from juki.cs.adapters import tables as t
from juki.cs.services import errors
from juki.domain.errors import Forbidden
from juki.services import filings
from juki.services.audit_queries import verify_chain
from tests import factories as f
from tests.cs.support import CLERK, CS_OPERATOR, deliver, notices, rows, states, take_in

NEW_CODE = "12345678903"


def _without_code_then_moving(j) -> str:  # type: ignore[no-untyped-def]
    person = f.person()
    person.pop("resident_code")
    done = filings.file(j.uow, CLERK, "move-in", f.move_in([person]))
    (number,) = (c["addressee_number"] for c in done.changes)
    filings.file(j.uow, CLERK, "move-within", {
        "filed_on": "2025-06-20", "changed_on": "2025-06-19", "household_number": done.household_number,
        "addressee_numbers": [number], "address": {"address": "東京都小平市学園東町一丁目1番1号"},
    })  # fmt: skip
    return number


def _register_log(j, prefix: str = "cs:") -> list[tuple[str, str, str]]:  # type: ignore[no-untyped-def]
    with j.engine.connect() as conn:
        log = conn.execute(select(rt.operation_log).order_by(rt.operation_log.c.seq)).all()
    return [(r.action, r.staff_id, r.result) for r in log if r.action.startswith(prefix)]


def test_the_operator_corrects_an_entry_and_resends_it_and_what_waited_goes_after_it(j, cs, prefecture):
    number = _without_code_then_moving(j)
    take_in(j, cs)
    listed = errors.list_errors(j.uow, cs.transaction, CS_OPERATOR)
    assert [(e["kind"], e["code"], e["item"], e["state"]) for e in listed] == [
        ("転入", "missing_resident_code", "住民票コード", "error"),
    ]
    assert "個人番号" not in listed[0]["items"]
    entry = listed[0]["entry"]
    errors.correct(j.uow, cs.transaction, CS_OPERATOR, entry, {"住民票コード": NEW_CODE})
    assert notices(cs)[0].state == "corrected"
    assert errors.resend(j.uow, cs.transaction, CS_OPERATOR, entry) is None
    # the held 転居 is checked in turn: the register sent it without the code too, so it is an error of its own
    assert states(cs) == [(number, "転入", 1, "queued"), (number, "転居", None, "error")]
    assert notices(cs)[0].items["異常時更新順番号"] == str(entry)  # it went through the error queue
    deliver(cs, prefecture)
    assert prefecture.kinds() == [(NEW_CODE, 1, "転入")]
    second = notices(cs)[1].id
    errors.correct(j.uow, cs.transaction, CS_OPERATOR, second, {"住民票コード": NEW_CODE})
    assert errors.resend(j.uow, cs.transaction, CS_OPERATOR, second) is None
    deliver(cs, prefecture)
    assert prefecture.kinds() == [(NEW_CODE, 1, "転入"), (NEW_CODE, 2, "転居")]
    assert [s[3] for s in states(cs)] == ["acknowledged", "acknowledged"]
    assert _register_log(j) == [
        ("cs:error_list", "cs1", "ok"), ("cs:error_correct", "cs1", "ok"), ("cs:error_resend", "cs1", "ok"),
        ("cs:error_correct", "cs1", "ok"), ("cs:error_resend", "cs1", "ok"),
    ]  # fmt: skip
    assert verify_chain(j.uow)[1] is None
    actions = [(r.action, r.staff_id, r.terminal) for r in rows(cs, t.log, t.log.c.id) if r.staff_id == "cs1"]
    assert ("error_correct", "cs1", "cs-terminal-1") in actions and (
        "error_resend",
        "cs1",
        "cs-terminal-1",
    ) in actions


def test_a_resend_that_still_fails_stays_in_the_error_queue(j, cs):
    _without_code_then_moving(j)
    take_in(j, cs)
    entry = notices(cs)[0].id
    errors.correct(j.uow, cs.transaction, CS_OPERATOR, entry, {"住民票コード": "123"})
    assert errors.resend(j.uow, cs.transaction, CS_OPERATOR, entry) == "format_error"
    assert [s[3] for s in states(cs)] == ["error", "held"]


def test_an_entry_sent_back_to_the_register_is_discarded_when_the_registers_correction_has_come(j, cs):
    number = _without_code_then_moving(j)
    take_in(j, cs)
    entry = notices(cs)[0].id
    errors.send_back(j.uow, cs.transaction, CS_OPERATOR, entry, "住民票コードの記載漏れ")
    assert notices(cs)[0].state == "sent_back" and notices(cs)[0].send_back_reason == "住民票コードの記載漏れ"
    errors.discard(j.uow, cs.transaction, CS_OPERATOR, entry)
    # the held 転居 is checked in turn: the CS does not hold the person, so it is an error of its own
    assert [(s[1], s[3]) for s in states(cs)] == [("転入", "discarded"), ("転居", "error")]
    assert [a for a, _, _ in _register_log(j)] == ["cs:error_send_back", "cs:error_discard"]
    assert number


def test_only_a_cs_operator_may_work_the_error_queue_and_a_refusal_is_logged(j, cs):
    _without_code_then_moving(j)
    take_in(j, cs)
    with pytest.raises(Forbidden):
        errors.resend(j.uow, cs.transaction, CLERK, notices(cs)[0].id)
    assert _register_log(j) == [("cs:error_resend", "clerk1", "denied")]
    assert notices(cs)[0].state == "error"


def test_the_change_items_cannot_be_corrected_and_an_acknowledged_notice_cannot_be_resent(j, cs, prefecture):
    filings.file(j.uow, CLERK, "move-in", f.move_in(f.family_of_four()[:1]))
    take_in(j, cs)
    deliver(cs, prefecture)
    entry = notices(cs)[0].id
    with pytest.raises(errors.NotCorrectable):
        errors.correct(j.uow, cs.transaction, CS_OPERATOR, entry, {"更新順番号": "5"})
    with pytest.raises(errors.EntryNotInState):
        errors.resend(j.uow, cs.transaction, CS_OPERATOR, entry)
    with pytest.raises(errors.EntryNotFound):
        errors.resend(j.uow, cs.transaction, CS_OPERATOR, 999)
