"""The やりとり履歴's withholding rules (domain/my_usage.py): which uses are withheld, why, until when, what the resident
is told, and how a supervisor's decision changes it."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from juki.domain import my_usage as rules
from juki.domain.errors import InvalidDate, InvalidField
from juki.policy.roles import PROCEDURES
from juki.transfer.items import ALL_ITEMS

AT = datetime(2025, 6, 29, 16, 0, tzinfo=UTC)  # 2025-06-30 01:00 in Japan
TODAY = date(2025, 6, 30)


def use(**over: object) -> rules.Use:
    values: dict[str, object] = {
        "key": "log-1",
        "at": AT,
        "kind": "view",
        "counterpart": "市民課",
        "procedure": "住民基本台帳に関する事務",
        "legal_basis": "住民基本台帳法",
        "items": (rules.RECORD,),
        "action": "resident:view",
    }
    values.update(over)
    return rules.Use(**values)  # type: ignore[arg-type]


def test_the_procedure_names_the_rules_read_are_the_policys():
    assert PROCEDURES["protection"].name == rules.PROTECTION_PROCEDURE
    assert PROCEDURES["investigation_inquiry"].name == rules.INVESTIGATION_PROCEDURE


def test_an_ordinary_use_is_shown():
    assert rules.withholding(use()) is None
    assert rules.is_shown(None, TODAY)


@pytest.mark.parametrize(
    "over",
    [
        {"procedure": "支援措置に関する事務"},
        {"action": "protection:set"},
        {"action": "alert:list"},
        {"kind": "transfer", "action": "transfer:deliver", "protection_only": True},
    ],
)
def test_anything_of_a_protection_case_is_withheld_until_released_and_never_told(over):
    held = rules.withholding(use(**over))
    assert held is not None and held.reason.code == "protection"
    assert held.until is None and not rules.is_shown(held, date(2099, 1, 1))
    assert rules.notices([held]) == []


def test_an_investigation_is_withheld_a_year_and_not_told():
    for over in (
        {"procedure": rules.INVESTIGATION_PROCEDURE},
        {"kind": "provision", "procedure": "地方税に関する調査（犯則事件の調査を含む。）", "action": ""},
    ):
        held = rules.withholding(use(**over))
        assert held is not None and held.reason.code == "investigation"
        assert held.until == TODAY + timedelta(days=rules.INVESTIGATION_DAYS)  # the day in Japan, not UTC
        assert rules.notices([held]) == []


def test_an_inspection_is_withheld_with_a_notice_of_how_many_and_until_when():
    inspection = use(
        kind="provision", procedure="生活保護法第２９条による資産等の調査", action=""
    )  # full-width digits
    held = rules.withholding(inspection)
    assert held is not None and held.reason.code == "inspection"
    until = TODAY + timedelta(days=rules.INSPECTION_DAYS)
    assert not rules.is_shown(held, until - timedelta(days=1))
    assert rules.is_shown(held, until)
    told = rules.notices([held, held])
    assert told == [
        {
            "reason": held.reason.label,
            "legal_basis": held.reason.legal_basis,
            "count": 2,
            "until": until.isoformat(),
        }
    ]


def test_the_withholding_of_entries_is_itself_withheld():
    held = rules.withholding(
        use(action="my_usage:release", procedure="自己情報の確認（やりとり履歴）に関する事務")
    )
    assert held is not None and held.reason.code == "withholding" and held.until is None


def test_the_latest_decision_is_in_force():
    held = rules.withholding(use(procedure=rules.INVESTIGATION_PROCEDURE))
    decisions = [
        rules.Decision("log-1", "extend", date(2027, 1, 1), AT + timedelta(days=1)),
        rules.Decision("log-1", "release", TODAY, AT + timedelta(days=2)),
    ]
    now = rules.in_force(held, decisions)
    assert now is not None and now.until == TODAY and now.decided and rules.is_shown(now, TODAY)
    earlier = rules.in_force(held, decisions[:1])
    assert earlier is not None and earlier.until == date(2027, 1, 1) and not rules.is_shown(earlier, TODAY)
    assert rules.in_force(None, decisions) is None  # a decision never withholds what no rule withholds


def test_an_extension_is_after_today_and_within_five_years():
    held = rules.withholding(use(procedure=rules.INVESTIGATION_PROCEDURE))
    assert rules.check_extension(held, TODAY + timedelta(days=1), TODAY) == TODAY + timedelta(days=1)
    with pytest.raises(InvalidDate):
        rules.check_extension(held, TODAY, TODAY)
    with pytest.raises(InvalidDate):
        rules.check_extension(held, TODAY + timedelta(days=rules.MAX_WITHHOLD_DAYS + 1), TODAY)
    with pytest.raises(InvalidField):
        rules.check_extension(None, TODAY + timedelta(days=1), TODAY)


def test_an_entry_held_until_released_gets_no_date_that_would_show_it_by_itself():
    held = rules.withholding(use(procedure=rules.PROTECTION_PROCEDURE))
    assert held is not None and held.until is None
    with pytest.raises(InvalidField):
        rules.check_extension(held, TODAY + timedelta(days=30), TODAY)


def test_a_provisions_key_is_stable_and_distinct():
    a = rules.provision_key(AT, "厚生労働大臣", "健康保険", "番号法")
    assert a == rules.provision_key(AT, "厚生労働大臣", "健康保険", "番号法") and len(a) <= 40
    assert a != rules.provision_key(AT, "厚生労働大臣", "国民年金", "番号法")


def test_the_entry_has_the_contracts_fields_only():
    assert set(use().shown()) == {"at", "kind", "counterpart", "procedure", "legal_basis", "items"}


# --- what the resident reads as items -------------------------------------------------------------------------------


def test_every_item_a_delivery_may_carry_has_a_japanese_name():
    assert set(ALL_ITEMS) <= set(rules.ITEM_NAMES)
    assert all(not name.isascii() for name in rules.ITEM_NAMES.values())
    assert len(set(rules.ITEM_NAMES.values())) == len(rules.ITEM_NAMES)  # no two items read alike


def test_items_are_named_in_the_records_order_and_an_unnamed_field_keeps_its_own():
    assert rules.item_names({"address", "my_number", "family_name"}) == ("氏", "住所", "個人番号")
    assert rules.item_names({"sex", "a_future_field"}) == ("性別", "a_future_field")
    assert rules.item_names(()) == ()


def test_a_transfer_is_not_withheld_for_what_its_procedures_name_covers_but_a_provision_is():
    tax = "地方税の賦課徴収又は地方税に関する調査(犯則事件の調査を含む。)に関する事務"
    assert rules.reason_for(use(kind="transfer", procedure=tax, action="transfer:deliver")) is None
    assert rules.reason_for(use(kind="provision", procedure=tax, action="")) == rules.REASONS["investigation"]
    only_measure = use(kind="transfer", procedure=tax, action="transfer:deliver", protection_only=True)
    assert rules.reason_for(only_measure) == rules.REASONS["protection"]
