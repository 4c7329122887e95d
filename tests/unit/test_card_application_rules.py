"""The rules of the 個人番号カード at the counter (domain/card_applications.py): how J-LIS's reports and the counter's
steps move an application, what the identity check at 交付 needs, and when a presented card proves nothing."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from juki.domain import card_applications as rules
from juki.domain.card_applications import PresentedCard
from juki.domain.errors import (
    CardApplicationState,
    CardExpired,
    CardHolderMismatch,
    CardRevoked,
    CardSuspended,
    IdentityCheckInsufficient,
    InvalidDate,
    InvalidField,
)

JLIS_CHAIN = ["applied", "received", "in_production", "arrived"]


@pytest.mark.parametrize(
    ("current", "reported", "changes"),
    [
        ("applied", "received", True),
        ("received", "in_production", True),
        ("in_production", "arrived", True),
        ("applied", "arrived", True),  # a step J-LIS did not report is skipped, never required
        ("received", "received", False),  # delivered again
        ("arrived", "received", False),  # overtaken
        ("notice_sent", "arrived", False),  # the city went on already
        ("issued", "arrived", False),
        ("applied", "revoked", True),
        ("notice_sent", "revoked", True),
        ("revoked", "revoked", False),
    ],
)
def test_a_jlis_report_moves_an_application_only_forward(current, reported, changes):
    assert rules.jlis_changes(current, reported) is changes


@pytest.mark.parametrize(
    ("current", "reported"), [("revoked", "received"), ("revoked", "arrived"), ("issued", "revoked")]
)
def test_a_jlis_report_that_cannot_be_is_refused(current, reported):
    with pytest.raises(CardApplicationState):
        rules.jlis_changes(current, reported)


@pytest.mark.parametrize("reported", ["applied", "notice_sent", "issued", "lost", ""])
def test_jlis_reports_only_its_own_states(reported):
    with pytest.raises(InvalidField) as refused:
        rules.jlis_changes("received", reported)
    assert refused.value.field == "state"


@pytest.mark.parametrize(
    ("current", "new", "allowed"),
    [
        ("arrived", "notice_sent", True),
        ("in_production", "notice_sent", False),
        ("notice_sent", "notice_sent", False),  # a reprint is not a second 発送
        ("arrived", "issued", True),
        ("notice_sent", "issued", True),
        ("applied", "issued", False),
        ("received", "issued", False),
        ("issued", "issued", False),
        ("revoked", "issued", False),
        ("applied", "revoked", True),
        ("notice_sent", "revoked", True),
        ("issued", "revoked", False),  # the card's 廃止 is the card registry's
        ("revoked", "revoked", False),
    ],
)
def test_the_counter_steps_follow_the_cards_arrival(current, new, allowed):
    if allowed:
        assert rules.check_counter_step(current, new) == new
    else:
        with pytest.raises(CardApplicationState):
            rules.check_counter_step(current, new)


def test_every_state_has_a_name_and_the_open_ones_are_before_the_end():
    assert set(rules.STATE_NAMES) == {*JLIS_CHAIN, "notice_sent", "issued", "revoked"}
    assert rules.OPEN == ("applied", "received", "in_production", "arrived", "notice_sent")
    assert set(rules.JLIS_STATES) <= set(rules.STATE_NAMES)


@pytest.mark.parametrize(
    ("notice", "documents", "enough"),
    [
        (True, ["driver_license"], True),
        (True, ["health_insurance", "pension_book"], True),
        (True, ["health_insurance"], False),
        (True, ["health_insurance", "health_insurance"], False),  # the same document twice is one
        (True, [], False),
        (False, ["passport"], False),
        (False, ["passport", "health_insurance"], True),
        (False, ["passport", "residence_card"], True),
        (False, ["health_insurance", "pension_book"], False),  # without the notice, one must be of list A
    ],
)
def test_the_identity_check_at_handover(notice, documents, enough):
    if enough:
        checked = rules.check_identity(notice, documents)
        assert checked.notice_presented is notice and checked.documents == tuple(dict.fromkeys(documents))
    else:
        with pytest.raises(IdentityCheckInsufficient):
            rules.check_identity(notice, documents)


def test_an_unknown_kind_of_document_is_refused_and_the_lists_do_not_overlap():
    with pytest.raises(InvalidField):
        rules.check_identity(True, ["driver_license", "library_card"])
    assert not set(rules.LIST_A) & set(rules.LIST_B)


def test_ids_kinds_dates_and_reasons_are_checked():
    assert rules.check_application_id(" c20250630-000001 ") == "C20250630-000001"
    for bad in ("C2025-1", "20250630-000001", "C20250630-0000001"):
        with pytest.raises(InvalidField):
            rules.check_application_id(bad)
    with pytest.raises(InvalidField):
        rules.check_kind("lost")
    with pytest.raises(InvalidDate):
        rules.check_applied_on(date(2025, 7, 1), date(2025, 6, 30))
    assert rules.check_applied_on(date(2025, 6, 30), date(2025, 6, 30)) == date(2025, 6, 30)
    with pytest.raises(InvalidField):
        rules.check_revoke_reason("because")
    assert rules.collect_by(date(2025, 6, 30)) == date(2025, 9, 28)


NOW = datetime(2025, 6, 30, 1, 0, tzinfo=UTC)


def card(**over) -> PresentedCard:
    values = {
        "addressee_number": "0000000019",
        "state": "active",
        "revoked_by_jlis": False,
        "not_before": NOW - timedelta(days=1),
        "not_after": NOW + timedelta(days=365),
    }
    return PresentedCard(**(values | over))


@pytest.mark.parametrize(
    ("over", "working_on", "refusal"),
    [
        ({}, None, None),
        ({}, "0000000019", None),
        ({"state": "revoked"}, None, CardRevoked),
        ({"revoked_by_jlis": True}, None, CardRevoked),
        ({"revoked_by_jlis": True, "state": "suspended"}, None, CardRevoked),  # revoked first: it is final
        ({"state": "suspended"}, None, CardSuspended),
        ({"not_after": NOW}, None, CardExpired),
        ({"not_before": NOW + timedelta(seconds=1)}, None, CardExpired),
        ({}, "0000000027", CardHolderMismatch),
        ({"state": "suspended"}, "0000000027", CardSuspended),  # the card's own state is told first
    ],
)
def test_a_presented_card_proves_the_holder_only_when_usable_and_theirs(over, working_on, refusal):
    if refusal is None:
        rules.check_presented(card(**over), NOW, working_on)
    else:
        with pytest.raises(refusal):
            rules.check_presented(card(**over), NOW, working_on)
