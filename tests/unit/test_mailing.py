"""送付先情報's builder (domain/mailing.py): the 31 items as the assessment lists them, addressed to the householder
at the household's address (方書 included) or to the person at a registered 居所; 項目長 in characters; 外字数 by the
CS's rule; ready or held, and why; a stored record's state and flags as its events leave them."""

from __future__ import annotations

import csv
import dataclasses
from datetime import UTC, datetime
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

import juki.policy
from juki.config import Settings
from juki.cs.domain.items import gaiji_count
from juki.domain import mailing as m
from juki.domain.errors import InvalidField
from juki.domain.model import Address
from juki.services.mailing import settings_of

CSV = Path(juki.policy.__file__).parent / "data" / "mailing_info_items.csv"  # the assessment's 別添1(3)
SETTINGS = settings_of(Settings())
HOME = Address("東京都小平市小川町一丁目100番地5", "コーポ小川201", "1870032", "小川町一丁目", "132110")
CHILD = m.Name("0000000051", "山田", "蓮")
HEAD = m.Name("0000000019", "山田", "太郎")
AT = datetime(2025, 6, 30, 1, 0, tzinfo=UTC)


def subject(**over: Any) -> m.Subject:
    values: dict[str, Any] = dict(
        person=CHILD, resident=True, protected=False, householder=HEAD, address=HOME, residence=None
    )
    values.update(over)
    return m.Subject(**values)


def test_the_items_are_the_assessments_31_in_its_order():
    with CSV.open(encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    assert [int(r["no"]) for r in rows] == list(range(1, 32))
    assert tuple(r["item"] for r in rows) == m.ITEMS
    assert len(set(m.ITEMS)) == 31


def test_an_ordinary_record_goes_to_the_householder_at_the_households_address_with_its_katagaki():
    built = m.build("M20250630-m000000001", subject(), SETTINGS)
    items = built.items
    assert list(items) == list(m.ITEMS)
    assert (built.state, built.hold_reason) == (m.READY, None)
    assert built.destination.kind == m.HOUSEHOLDER and built.destination.addressee == HEAD
    assert items["送付先管理番号"] == "M20250630-m000000001"
    assert items["送付先氏名 漢字"] == "山田\u3000太郎"  # the householder's, not the child's
    assert items["送付先氏名 漢字項目長"] == 5
    assert items["送付先郵便番号"] == "1870032"
    assert items["送付先住所 漢字"] == "東京都小平市小川町一丁目100番地5\u3000コーポ小川201"
    assert items["送付先住所 漢字項目長"] == len("東京都小平市小川町一丁目100番地5\u3000コーポ小川201") == 27
    assert items["送付先住所 漢字外字数"] == 0 and items["送付先氏名 漢字 外字数"] == 0


def test_the_citys_and_the_pick_up_places_items_come_from_the_settings():
    items = m.build("M1", subject(), SETTINGS).items
    assert items["市町村コード"] == "132110"
    assert (items["市町村名"], items["市町村名 項目長"]) == ("小平市", 3)
    assert (
        items["市町村郵便番号"] == "1878701"
    )  # 187-8701 in the settings: 7 digits like every postal code here
    assert items["市町村住所"] == "東京都小平市小川町二丁目1333番地" and items["市町村住所 項目長"] == 18
    assert items["市町村電話番号"] == "042-341-1211"
    assert (items["交付場所名"], items["交付場所名 項目長"], items["交付場所名 外字数"]) == (
        "小平市役所\u3000市民課",
        9,
        0,
    )
    assert items["交付場所郵便番号"] == items["カード送付場所郵便番号"] == "1878701"
    assert items["カード送付場所住所"] == "東京都小平市小川町二丁目1333番地"
    assert items["カード送付場所住所 外字数"] == 0 and items["カード送付場所名 項目長"] == 9


def test_item_lengths_count_characters_and_gaiji_are_counted_by_the_cs_rule():
    head = m.Name("0000000019", "髙橋", "𠮷郎")  # 髙 and 𠮷 are outside JIS X 0208; 𠮷 is one character
    home = dataclasses.replace(HOME, address="東京都小平市小川町一丁目100番地5", katagaki="渡邉﨑ハイツ")
    items = m.build("M1", subject(householder=head, address=home), SETTINGS).items
    assert items["送付先氏名 漢字"] == "髙橋\u3000𠮷郎"
    assert items["送付先氏名 漢字項目長"] == 5
    assert items["送付先氏名 漢字 外字数"] == 2 == gaiji_count("髙橋\u3000𠮷郎")
    assert items["送付先住所 漢字外字数"] == 1  # 﨑 counts, 渡邉 does not (docs/cs.md)
    place = dataclasses.replace(
        SETTINGS, pickup_name="髙島屋出張所", card_place_address="東京都小平市﨑町1番"
    )
    items = m.build("M1", subject(), place).items
    assert (items["交付場所名 外字数"], items["カード送付場所住所 外字数"]) == (1, 1)


def test_a_registered_residence_takes_the_place_of_the_household_and_names_the_person():
    residence = m.Residence("1870001", "東京都小平市大沼町一丁目1番1号　みどり荘3号")
    built = m.build("M1", subject(protected=True, residence=residence), SETTINGS)
    assert (built.state, built.hold_reason) == (m.READY, None)
    assert built.destination.kind == m.RESIDENCE and built.destination.addressee == CHILD
    assert built.items["送付先氏名 漢字"] == "山田\u3000蓮"
    assert built.items["送付先郵便番号"] == "1870001"
    assert built.items["送付先住所 漢字"] == "東京都小平市大沼町一丁目1番1号　みどり荘3号"
    assert built.items["送付先住所 漢字項目長"] == len(residence.address)


@pytest.mark.parametrize(
    ("over", "reason"),
    [
        ({"resident": False}, m.NOT_RESIDENT),
        ({"resident": False, "protected": True}, m.NOT_RESIDENT),  # the first reason that applies
        ({"protected": True}, m.PROTECTED_NO_RESIDENCE),
        ({"householder": None}, m.NO_ADDRESSEE_NAME),
        ({"householder": m.Name("0000000019", " ", "")}, m.NO_ADDRESSEE_NAME),
        ({"address": dataclasses.replace(HOME, postal_code=None)}, m.NO_POSTAL_CODE),
        ({"address": dataclasses.replace(HOME, postal_code="187-003")}, m.NO_POSTAL_CODE),
        ({"address": dataclasses.replace(HOME, postal_code="１８７００３２")}, m.NO_POSTAL_CODE),
        ({"address": dataclasses.replace(HOME, address=" ", katagaki="")}, m.NO_ADDRESS),
        ({"address": None}, m.NO_POSTAL_CODE),
    ],
)
def test_a_record_without_a_usable_destination_is_held_with_its_reason(over, reason):
    built = m.build("M1", subject(**over), SETTINGS)
    assert (built.state, built.hold_reason) == (m.HELD, reason)
    assert reason in m.HOLD_REASONS
    assert list(built.items) == list(m.ITEMS)  # the items are still built: the counter sees what would go


def test_a_name_with_one_part_blank_is_the_other_part_alone():
    assert m.Name("0000000019", "NGUYEN", "").kanji == "NGUYEN"
    assert m.Name("0000000019", "山田", "太郎").kanji == "山田\u3000太郎"


def test_only_a_protected_persons_missing_residence_may_be_released_as_it_stands():
    assert frozenset({m.PROTECTED_NO_RESIDENCE}) == m.RELEASABLE
    assert set(m.RELEASABLE) < set(m.HOLD_REASONS)


# --- a stored record and its events ---------------------------------------------------------------------------


def record(*events: m.MailingEvent, flags: tuple[str, str] = ("通常", "なし")) -> m.MailingRecord:
    first = m.MailingEvent(
        m.READY, AT, "cs", {"addressed_to": "householder", "addressee": HEAD.addressee_number}
    )
    return m.MailingRecord(
        "M1", CHILD.addressee_number, "07049996220", "N1", {}, flags[0], flags[1], m.READY, None, AT,
        (first, *events),
    )  # fmt: skip


def event(state: str, **detail: Any) -> m.MailingEvent:
    return m.MailingEvent(state, AT, "clerk1", detail)


def test_a_records_state_is_its_latest_event_and_its_flags_the_latest_set():
    r = record()
    assert (r.state, r.flags(), r.goes) == (m.READY, ("通常", "なし"), True)
    assert (r.addressee, r.addressed_to) == (HEAD.addressee_number, "householder")
    r = record(event(m.READY, **{m.PRINT_CATEGORY: "大判", m.SPECIAL_CIRCUMSTANCE: "施設入所"}))
    assert r.flags() == ("大判", "施設入所") and r.goes
    r = record(
        event(m.READY, **{m.PRINT_CATEGORY: "大判", m.SPECIAL_CIRCUMSTANCE: "施設入所"}), event(m.DELIVERED)
    )
    assert (r.state, r.goes, r.flags()) == (m.DELIVERED, False, ("大判", "施設入所"))


def test_a_record_goes_only_once_both_flags_are_set():
    assert not record(flags=("", "なし")).goes
    assert not record(flags=("通常", "")).goes
    waiting = record(event(m.READY, **{m.PRINT_CATEGORY: "通常", m.SPECIAL_CIRCUMSTANCE: ""}), flags=("", ""))
    assert not waiting.goes
    set_both = record(
        event(m.READY, **{m.PRINT_CATEGORY: "通常", m.SPECIAL_CIRCUMSTANCE: "なし"}), flags=("", "")
    )
    assert set_both.goes


def test_a_record_replaced_after_it_could_go_still_went_and_a_held_one_never_did():
    assert record(event(m.REPLACED, by="M2")).went()
    assert not record(event(m.REPLACED, by="M2")).goes
    held = m.MailingRecord("M1", "0000000051", "07049996220", None, {}, "通常", "なし", m.HELD, "no_address", AT,
                           (event(m.HELD), event(m.REPLACED, by="M2")))  # fmt: skip
    assert not held.went()
    assert record(event(m.REFUSED, code="E1", item="送付先住所 漢字")).refusal() == ("E1", "送付先住所 漢字")
    assert record().refusal() is None


# --- the settings ------------------------------------------------------------------------------------------------


def _config(**over: str) -> SimpleNamespace:
    fields = {k: getattr(Settings(), k) for k in Settings.model_fields if k.startswith("mailing_")}
    return SimpleNamespace(city_code="132110", **{**fields, **over})


def test_the_settings_postal_codes_become_7_digits_and_a_wrong_one_is_refused_when_the_hook_is_made():
    s = settings_of(_config(mailing_pickup_postal_code="〒１８７－００３２"))
    assert s.pickup_postal_code == "1870032"
    with pytest.raises(InvalidField) as err:
        settings_of(_config(mailing_card_place_postal_code="187-87"))
    assert err.value.field == "postal_code"


def test_empty_default_flags_make_every_record_wait_for_the_counter():
    s = settings_of(_config(mailing_print_category=" ", mailing_special_circumstance="なし"))
    assert s.print_category == ""
    with pytest.raises(InvalidField):
        settings_of(_config(mailing_special_circumstance="あ" * 21))
