"""The rules of 開示・訂正・利用停止請求: the 30-day period and its one extension, the states, the inputs."""

from __future__ import annotations

from datetime import date

import pytest

from juki.domain import subject_requests as rules
from juki.domain.errors import InvalidDate, InvalidField
from juki.domain.subject_requests import InvalidState

# --- the period -----------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("received_on", "due_on"),
    [
        (date(2025, 6, 2), date(2025, 7, 2)),  # the day of receipt is not counted: +30 days
        (date(2023, 1, 31), date(2023, 3, 2)),  # across a 28-day February
        (date(2024, 1, 31), date(2024, 3, 1)),  # across a 29-day February
        (date(2025, 5, 1), date(2025, 6, 2)),  # a 31-day May; 5/31 is a Saturday → Monday
        (date(2024, 2, 29), date(2024, 4, 1)),  # from a leap day; 3/30 is a Saturday → Monday
        (date(2025, 1, 31), date(2025, 3, 3)),  # 3/2 is a Sunday → Monday
        (date(2025, 4, 5), date(2025, 5, 7)),  # 5/5 こどもの日, 5/6 振替休日 → Wednesday
        (
            date(2025, 11, 30),
            date(2026, 1, 5),
        ),  # 12/30 is in the year-end closure (12/29–1/3), then a weekend
        (date(2025, 12, 1), date(2026, 1, 5)),
    ],
)
def test_the_last_day_is_thirty_days_after_receipt_or_the_next_open_day(received_on, due_on):
    assert rules.due_date(received_on) == due_on


@pytest.mark.parametrize(
    ("days", "due_on"),
    [
        (30, date(2025, 8, 1)),  # 60 days after 6/2
        (10, date(2025, 7, 14)),  # 7/12 is a Saturday → Monday
        (1, date(2025, 7, 3)),
    ],
)
def test_an_extension_adds_its_days_to_the_period_not_to_the_moved_last_day(days, due_on):
    assert rules.due_date(date(2025, 6, 2), days) == due_on


def test_an_extension_counts_from_the_period_even_when_the_first_last_day_was_moved():
    # received 2025-01-31: the period ends on Sunday 3/2 (last day moved to 3/3); +5 days ends on 3/7.
    assert rules.due_date(date(2025, 1, 31)) == date(2025, 3, 3)
    assert rules.due_date(date(2025, 1, 31), 5) == date(2025, 3, 7)


@pytest.mark.parametrize(
    ("day", "closed"),
    [
        (date(2025, 6, 30), False),
        (date(2025, 6, 28), True),  # Saturday
        (date(2025, 6, 29), True),  # Sunday
        (date(2025, 7, 21), True),  # 海の日
        (date(2025, 12, 29), True),
        (date(2026, 1, 3), True),
        (date(2026, 1, 5), False),
        (date(2025, 12, 26), False),
    ],
)
def test_the_city_is_closed_on_weekends_holidays_and_at_the_year_end(day, closed):
    assert rules.is_closed_day(day) is closed


def test_a_request_received_in_the_future_is_refused():
    with pytest.raises(InvalidDate) as err:
        rules.check_received_on(date(2025, 7, 1), today=date(2025, 6, 30))
    assert err.value.field == "received_on"
    assert rules.check_received_on(date(2025, 6, 30), today=date(2025, 6, 30)) == date(2025, 6, 30)


# --- extension ------------------------------------------------------------------------------------------------


def test_an_open_request_can_be_extended_by_up_to_thirty_days_within_its_period():
    assert rules.check_extension(rules.RECEIVED, 30, date(2025, 7, 2), date(2025, 7, 2)) == 30
    assert rules.check_extension(rules.RECEIVED, 1, date(2025, 6, 3), date(2025, 7, 2)) == 1


def test_a_second_extension_is_refused():
    with pytest.raises(InvalidState) as err:
        rules.check_extension(rules.EXTENDED, 10, date(2025, 6, 10), date(2025, 8, 1))
    assert err.value.code == "invalid_state" and err.value.status == 409


@pytest.mark.parametrize("state", [rules.DECIDED, rules.ANSWERED])
def test_a_decided_request_cannot_be_extended(state):
    with pytest.raises(InvalidState):
        rules.check_extension(state, 10, date(2025, 6, 10), date(2025, 7, 2))


def test_an_extension_after_the_last_day_is_refused():
    with pytest.raises(InvalidState):
        rules.check_extension(rules.RECEIVED, 30, date(2025, 7, 3), date(2025, 7, 2))


@pytest.mark.parametrize("days", [0, -1, 31, 60])
def test_an_extension_outside_one_to_thirty_days_is_refused(days):
    with pytest.raises(InvalidField) as err:
        rules.check_extension(rules.RECEIVED, days, date(2025, 6, 10), date(2025, 7, 2))
    assert err.value.field == "days"


# --- decision and answer --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kind", "decision"),
    [
        ("disclosure", "disclose"),
        ("correction", "correct"),
        ("suspension", "suspend"),
    ],
)
@pytest.mark.parametrize("state", [rules.RECEIVED, rules.EXTENDED])
def test_an_open_request_is_granted_without_a_reason(kind, decision, state):
    rules.check_decision(kind, state, decision, None, None)


@pytest.mark.parametrize("decision", ["partial", "refuse"])
def test_a_partial_or_refused_disclosure_needs_a_reason(decision):
    with pytest.raises(InvalidField) as err:
        rules.check_decision("disclosure", rules.RECEIVED, decision, None, None)
    assert err.value.field == "reason"
    rules.check_decision("disclosure", rules.RECEIVED, decision, "第三者の情報を含むため", None)


@pytest.mark.parametrize(
    ("kind", "decision"),
    [
        ("disclosure", "correct"),  # a decision of another kind of request
        ("correction", "disclose"),
        ("suspension", "no_correction"),
        ("disclosure", "granted"),  # no such decision
    ],
)
def test_a_decision_that_does_not_belong_to_the_kind_is_refused(kind, decision):
    with pytest.raises(InvalidField) as err:
        rules.check_decision(kind, rules.RECEIVED, decision, "理由", None)
    assert err.value.field == "decision"


@pytest.mark.parametrize("state", [rules.DECIDED, rules.ANSWERED])
def test_a_request_is_decided_only_once(state):
    with pytest.raises(InvalidState):
        rules.check_decision("disclosure", state, "disclose", None, None)


def test_only_a_granted_correction_points_at_a_filing():
    rules.check_decision("correction", rules.RECEIVED, "correct", None, "F20250620-0000003")
    with pytest.raises(InvalidField) as err:
        rules.check_decision("correction", rules.RECEIVED, "no_correction", "誤りはない", "F20250620-0000003")
    assert err.value.field == "correction_filing_id"


def test_the_decision_date_lies_between_receipt_and_today():
    assert rules.check_decided_on(date(2025, 6, 2), date(2025, 6, 2), date(2025, 6, 30)) == date(2025, 6, 2)
    for day in (date(2025, 6, 1), date(2025, 7, 1)):
        with pytest.raises(InvalidDate) as err:
            rules.check_decided_on(day, date(2025, 6, 2), date(2025, 6, 30))
        assert err.value.field == "decided_on"


@pytest.mark.parametrize("state", [rules.RECEIVED, rules.EXTENDED])
def test_no_answer_before_the_decision(state):
    with pytest.raises(InvalidState):
        rules.check_answer(state, date(2025, 6, 20), date(2025, 6, 20), date(2025, 6, 30))


def test_no_second_answer():
    with pytest.raises(InvalidState):
        rules.check_answer(rules.ANSWERED, date(2025, 6, 20), date(2025, 6, 20), date(2025, 6, 30))


def test_the_notice_date_lies_between_the_decision_and_today():
    assert rules.check_answer(rules.DECIDED, date(2025, 6, 20), date(2025, 6, 20), date(2025, 6, 30))
    with pytest.raises(InvalidDate):
        rules.check_answer(rules.DECIDED, date(2025, 6, 19), date(2025, 6, 20), date(2025, 6, 30))
    with pytest.raises(InvalidDate):
        rules.check_answer(rules.DECIDED, date(2025, 7, 1), date(2025, 6, 20), date(2025, 6, 30))


def test_a_request_is_overdue_after_its_last_day_until_it_is_answered():
    assert not rules.is_overdue(rules.RECEIVED, date(2025, 6, 30), date(2025, 6, 30))
    assert rules.is_overdue(rules.RECEIVED, date(2025, 6, 29), date(2025, 6, 30))
    assert rules.is_overdue(rules.DECIDED, date(2025, 6, 29), date(2025, 6, 30))
    assert not rules.is_overdue(rules.ANSWERED, date(2025, 6, 29), date(2025, 6, 30))


# --- the inputs -----------------------------------------------------------------------------------------------


@pytest.mark.parametrize("kind", ["", "Disclosure", "deletion", "開示"])
def test_an_unknown_kind_is_refused(kind):
    with pytest.raises(InvalidField) as err:
        rules.check_kind(kind)
    assert err.value.field == "kind" and err.value.code == "invalid_field"


def test_a_representative_states_the_relationship_and_the_document_of_authority():
    rules.check_authority("self", None, None)
    rules.check_authority("legal_representative", "母", "family_register")
    with pytest.raises(InvalidField) as err:
        rules.check_authority("agent", None, "power_of_attorney")
    assert err.value.field == "requester.relationship"
    with pytest.raises(InvalidField) as err:
        rules.check_authority("agent", "弁護士", None)
    assert err.value.field == "identity_check.authority_document"
    with pytest.raises(InvalidField):
        rules.check_authority("agent", "弁護士", "business_card")


@pytest.mark.parametrize("document", ["my_number_card", "driver_license", "passport", "residence_card"])
def test_identity_documents_are_kinds(document):
    assert rules.check_identity_document(document) == document


@pytest.mark.parametrize("document", ["123456789012", "driver_license:123", ""])
def test_an_identity_document_that_is_not_a_known_kind_is_refused(document):
    with pytest.raises(InvalidField):
        rules.check_identity_document(document)


@pytest.mark.parametrize(
    "text", ["番号は123456789012です", "1234 5678 9012", "１２３４-５６７８-９０１２", "1234\n5678\n9012"]
)
def test_free_text_holding_something_like_a_my_number_is_refused(text):
    with pytest.raises(InvalidField) as err:
        rules.refuse_my_number(text, "text")
    assert "1234" not in err.value.message


@pytest.mark.parametrize("text", ["電話 042-341-1211", "平成30年1月26日の記録", "12345678901"])
def test_free_text_with_shorter_numbers_is_kept(text):
    assert rules.refuse_my_number(text, "text") == text
