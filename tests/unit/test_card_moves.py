"""特例転出, 特例転入, 転入通知受理 and 軽微な修正 on the in-memory register (no database)."""

from __future__ import annotations

import dataclasses
from datetime import date, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from juki.domain import commands as c
from juki.domain import register
from juki.domain.certificates.persons import check_subjects
from juki.domain.errors import (
    CardMoveInPeriodOver,
    CardMoveOutDestinationRequired,
    CardMoveOutNoCertificate,
    InvalidDate,
    MinorCorrectionNotAllowed,
    MoveInBeforeMoveOutAddress,
    MoveOutAlreadyConfirmed,
    MoveOutCertificateNotFound,
    MoveOutNotFound,
)
from juki.domain.events import RecordedBy, body
from juki.domain.model import Address
from juki.domain.register.arrivals import card_move_in_deadline
from tests.fakes import FakeRegister
from tests.unit.test_register_rules import ELSEWHERE, HOME, move_in, person

CODE = "12345678901"
ABROAD = Address("アメリカ合衆国カリフォルニア州", country="アメリカ合衆国")
NEXT = Address("大阪府大阪市北区梅田一丁目1番1号", municipality_code="271276")
BY = RecordedBy("clerk1", "窓口01")


def moved_out(reg: FakeRegister, card: bool = False, planned: date = date(2025, 6, 20)) -> str:
    number = move_in(reg, person(resident_code=CODE)).changes[0].record.addressee_number
    reg.apply(register.move_out(reg, c.MoveOut(date(2025, 6, 10), planned, (number,), ELSEWHERE, card=card)))
    return number


def confirm(moved_in_on: date, notified_on: date = date(2025, 6, 28), code: str = CODE) -> c.ConfirmMoveOut:
    return c.ConfirmMoveOut(date(2025, 6, 29), code, moved_in_on, NEXT, notified_on)


# --- 特例転出 ---------------------------------------------------------------------------------------------------


def test_a_card_move_out_keeps_its_flag_and_its_event_says_so():
    reg = FakeRegister()
    number = move_in(reg, person()).changes[0].record.addressee_number
    cmd = c.MoveOut(date(2025, 6, 10), date(2025, 6, 20), (number,), ELSEWHERE, card=True)
    outcome = reg.apply(register.move_out(reg, cmd))
    record = reg.resident(number).record
    assert record.move_out is not None and record.move_out.card
    assert body(outcome.events[0], "F1", BY)["transfer"] == {
        "card": True,
        "planned_on": "2025-06-20",
        "destination_city_code": "132039",
        "destination_address": ELSEWHERE.address,
    }


def test_an_ordinary_move_out_is_no_card_move_out_and_a_successor_has_no_transfer():
    reg = FakeRegister()
    out = move_in(reg, person(), person("妻", "花子", date(1982, 7, 7), "female"))
    head, wife = (ch.record.addressee_number for ch in out.changes)
    outcome = register.move_out(reg, c.MoveOut(date(2025, 6, 10), date(2025, 6, 20), (head,), ABROAD))
    bodies = {e.addressee_number: body(e, "F1", BY) for e in outcome.events}
    assert bodies[head]["transfer"]["card"] is False
    assert bodies[head]["transfer"]["destination_city_code"] is None
    assert bodies[wife]["event"] == "HouseholderChanged" and bodies[wife]["transfer"] is None


@pytest.mark.parametrize("destination", [ABROAD, Address("大阪府大阪市", municipality_code=None)])
def test_a_card_move_out_needs_a_destination_city_code_in_japan(destination):
    reg = FakeRegister()
    number = move_in(reg, person()).changes[0].record.addressee_number
    cmd = c.MoveOut(date(2025, 6, 10), date(2025, 6, 20), (number,), destination, card=True)
    with pytest.raises(CardMoveOutDestinationRequired) as err:
        register.move_out(reg, cmd)
    assert err.value.code == "card_move_out_destination_required"


def _move_out_request(number: str):
    from juki.domain.certificates.request import parse_request

    return parse_request(
        {
            "kind": "move_out_certificate",
            "addressee_numbers": [number],
            "requester": {"type": "self", "name": "山田 太郎", "addressee_number": number},
            "purpose": "転入届のため",
        }
    )


def test_no_paper_move_out_certificate_for_a_card_move_out():
    reg = FakeRegister()
    card = reg.resident(moved_out(reg, card=True)).record
    with pytest.raises(CardMoveOutNoCertificate) as err:
        check_subjects(_move_out_request(card.addressee_number), [card], date(2025, 6, 30))
    assert err.value.code == "card_move_out_no_certificate"
    ordinary = FakeRegister()
    paper = ordinary.resident(moved_out(ordinary)).record
    check_subjects(_move_out_request(paper.addressee_number), [paper], date(2025, 6, 30))  # still issued


# --- 転入通知受理 -----------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("moved_in_on", "removed_on"),
    [(date(2025, 6, 18), date(2025, 6, 18)), (date(2025, 6, 25), date(2025, 6, 20))],
)
def test_the_removal_date_becomes_the_earlier_of_the_planned_and_the_move_in_date(moved_in_on, removed_on):
    reg = FakeRegister()
    number = moved_out(reg, planned=date(2025, 6, 20))
    before = reg.resident(number)
    outcome = reg.apply(register.confirm_move_out(reg, confirm(moved_in_on)))
    after = reg.resident(number)
    assert after.version == before.version + 1 and not after.record.is_active
    assert after.record.removal.removed_on == removed_on  # j50
    data = after.record.move_out
    assert data.planned_on == date(2025, 6, 20) and data.destination == ELSEWHERE  # j680: 予定 kept
    assert data.confirmed.moved_in_on == moved_in_on and data.confirmed.destination == NEXT
    assert data.confirmed.notified_on == date(2025, 6, 28)
    (event,) = outcome.events
    assert event.change_reason == c.MOVE_OUT_CONFIRMED and event.name == "MoveOutConfirmed"
    assert body(event, "F1", BY)["transfer"] == {
        "moved_in_on": moved_in_on.isoformat(),
        "removed_on": removed_on.isoformat(),
        "destination_city_code": "271276",
        "destination_address": NEXT.address,
    }


def test_a_late_move_out_recorded_ex_officio_is_confirmed_too():
    reg = FakeRegister()
    number = move_in(reg, person(resident_code=CODE)).changes[0].record.addressee_number
    late = c.MoveOut(date(2025, 6, 28), date(2025, 6, 10), (number,), ELSEWHERE)
    reg.apply(register.move_out(reg, late))
    assert reg.resident(number).record.removal.reason == c.MOVE_OUT
    reg.apply(register.confirm_move_out(reg, confirm(date(2025, 6, 9))))
    assert reg.resident(number).record.removal.removed_on == date(2025, 6, 9)


def test_a_second_notice_for_the_same_move_out_is_refused():
    reg = FakeRegister()
    moved_out(reg)
    reg.apply(register.confirm_move_out(reg, confirm(date(2025, 6, 18))))
    with pytest.raises(MoveOutAlreadyConfirmed) as err:
        register.confirm_move_out(reg, confirm(date(2025, 6, 19)))
    assert err.value.code == "move_out_already_confirmed" and err.value.status == 409


@pytest.mark.parametrize("how", ["active", "death", "removal", "abroad", "unknown"])
def test_a_notice_for_no_one_removed_by_a_move_out_is_refused(how):
    reg = FakeRegister()
    number = move_in(reg, person(resident_code=CODE)).changes[0].record.addressee_number
    on, filed = date(2025, 6, 10), date(2025, 6, 11)
    if how == "death":
        reg.apply(register.register_death(reg, c.RegisterDeath(filed, on, number)))
    elif how == "removal":
        reg.apply(register.ex_officio_removal(reg, c.ExOfficioRemoval(filed, on, "居住実態なし", (number,))))
    elif how == "abroad":
        reg.apply(register.move_out(reg, c.MoveOut(filed, on, (number,), ABROAD)))
    code = "98765432109" if how == "unknown" else CODE
    with pytest.raises(MoveOutNotFound) as err:
        register.confirm_move_out(reg, confirm(date(2025, 6, 18), code=code))
    assert err.value.code == "move_out_not_found"


def test_a_move_in_elsewhere_before_the_person_came_to_their_address_here_is_refused():
    reg = FakeRegister()
    moved_out(reg)  # moved in here (address_since) on 2025-06-01
    with pytest.raises(MoveInBeforeMoveOutAddress) as err:
        register.confirm_move_out(reg, confirm(date(2025, 5, 31)))
    assert err.value.code == "moved_in_before_last_address"
    register.confirm_move_out(reg, confirm(date(2025, 6, 1)))  # the same day is possible


def test_a_notice_dated_before_the_move_in_or_after_today_is_refused():
    reg = FakeRegister()
    moved_out(reg)
    with pytest.raises(InvalidDate):
        register.confirm_move_out(reg, confirm(date(2025, 6, 18), notified_on=date(2025, 6, 17)))
    with pytest.raises(InvalidDate):
        register.confirm_move_out(reg, confirm(date(2025, 6, 18), notified_on=date(2025, 6, 30)))


@settings(max_examples=40, deadline=None)
@given(
    planned=st.dates(date(2025, 6, 2), date(2025, 6, 29)),
    moved_in=st.dates(date(2025, 6, 1), date(2025, 6, 27)),
)
def test_a_confirmation_changes_its_own_removed_record_and_nothing_else(planned, moved_in):
    reg = FakeRegister()
    out = move_in(reg, person(resident_code=CODE), person("妻", "花子", date(1982, 7, 7), "female"))
    head, wife = (ch.record.addressee_number for ch in out.changes)
    reg.apply(register.move_out(reg, c.MoveOut(date(2025, 6, 2), planned, (head,), ELSEWHERE)))
    others = {n: reg.resident(n) for n in (wife,)}
    household = reg.household(out.household_number)
    outcome = reg.apply(register.confirm_move_out(reg, confirm(moved_in)))
    assert [ch.record.addressee_number for ch in outcome.changes] == [head]
    assert outcome.households == {}  # the household left behind is not written
    assert {n: reg.resident(n) for n in others} == others
    assert reg.household(out.household_number) == household
    assert reg.resident(head).record.removal.removed_on == min(planned, moved_in)


# --- 特例転入 ---------------------------------------------------------------------------------------------------


def card_move_in(filed_on: date, changed_on: date, planned_on: date | None, **over: object) -> c.MoveIn:
    cmd = c.MoveIn(
        filed_on,
        changed_on,
        ELSEWHERE,
        HOME,
        (person(resident_code=CODE),),
        card=True,
        moveout_certificate_id="MC1",
        moveout_certificates={CODE: "MC1"},
        moveout_planned_on=planned_on,
    )
    return dataclasses.replace(cmd, **over)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("planned", "changed", "last_day"),
    [
        (date(2025, 6, 1), date(2025, 6, 1), date(2025, 6, 15)),  # 転入日 + 14 comes first
        (date(2025, 5, 20), date(2025, 6, 10), date(2025, 6, 19)),  # 転出予定日 + 30 comes first
    ],
)
def test_a_card_move_in_is_filed_by_the_earlier_of_the_two_deadlines(planned, changed, last_day):
    assert card_move_in_deadline(planned, changed) == last_day
    reg = FakeRegister(today=date(2025, 7, 31))
    outcome = register.move_in(reg, card_move_in(last_day, changed, planned))
    transfer = body(outcome.events[0], "F1", BY)["transfer"]
    assert transfer == {
        "card": True,
        "previous_city_code": "132039",
        "previous_address": ELSEWHERE.address,
        "moveout_certificate_id": "MC1",
    }
    with pytest.raises(CardMoveInPeriodOver) as err:
        register.move_in(reg, card_move_in(last_day + timedelta(days=1), changed, planned))
    assert err.value.code == "card_move_in_period_over"


def test_a_card_move_in_needs_each_persons_move_out_certificate():
    reg = FakeRegister()
    day = date(2025, 6, 5)
    with pytest.raises(MoveOutCertificateNotFound):
        register.move_in(reg, card_move_in(day, day, day, moveout_certificates={}))
    with pytest.raises(MoveOutCertificateNotFound) as err:
        register.move_in(reg, card_move_in(day, day, day, persons=(person(resident_code="98765432109"),)))
    assert err.value.field == "persons.0.resident_code"


def test_an_ordinary_move_in_says_no_card_in_its_transfer():
    reg = FakeRegister()
    outcome = move_in(reg, person())
    assert body(outcome.events[0], "F1", BY)["transfer"]["card"] is False
    assert body(outcome.events[0], "F1", BY)["transfer"]["moveout_certificate_id"] is None


# --- 軽微な修正 -------------------------------------------------------------------------------------------------


def correction(number: str, **corrections: object) -> c.ExOfficioCorrection:
    day = date(2025, 6, 20)
    return c.ExOfficioCorrection(day, day, "表記の修正", number, dict(corrections), c.MINOR_CORRECTION)


def test_a_minor_correction_changes_how_a_name_is_written():
    reg = FakeRegister()
    number = move_in(reg, person()).changes[0].record.addressee_number
    outcome = register.ex_officio_correction(
        reg, correction(number, family_name="山﨑", family_name_kana="ヤマサキ")
    )
    (event,) = outcome.events
    assert event.change_reason == "軽微な修正" and event.name == "MinorCorrectionRecorded"
    assert body(event, "F1", BY)["transfer"] is None


@pytest.mark.parametrize(
    "item",
    [
        {"birth_date": date(1980, 4, 2)},
        {"sex": "female"},
        {"relationship": "妻"},
        {"resident_code": "98765432109"},
        {"given_name": "次郎", "honseki": "東京都小平市"},
    ],
)
def test_a_minor_correction_of_anything_but_names_and_kana_is_refused(item):
    reg = FakeRegister()
    number = move_in(reg, person()).changes[0].record.addressee_number
    with pytest.raises(MinorCorrectionNotAllowed) as err:
        register.ex_officio_correction(reg, correction(number, **item))
    assert err.value.code == "minor_correction_not_allowed"
    assert err.value.field == "corrections." + sorted(set(item) - {"given_name"})[0]
