"""Every 異動事由 the domain records has its past-tense event, and the body keeps the My Number out."""

from __future__ import annotations

import re
from datetime import date

from juki.domain import commands as c
from juki.domain.events import EVENT_NAMES, SCHEMA_VERSION, HouseholdAfter, RecordedBy, RegisterEvent, body
from juki.domain.model import Address, ResidentRecord

REASONS = {v for k, v in vars(c).items() if k.isupper() and isinstance(v, str)}


def test_every_change_reason_has_an_event_in_the_past_tense():
    assert set(EVENT_NAMES) == REASONS
    past = re.compile(r"[a-z](ed|Born|Split)(?=[A-Z]|$)")  # a verb in the past tense names what happened
    assert all(past.search(name) for name in EVENT_NAMES.values())
    # Only the three 取消し share one event (the reason tells them apart)
    shared = {name for name in EVENT_NAMES.values() if list(EVENT_NAMES.values()).count(name) > 1}
    assert shared == {"ChangeCancelled"}


def test_the_body_carries_the_record_without_the_my_number():
    day = date(2025, 6, 1)
    record = ResidentRecord(
        "0000000018", "H000000012", "世帯主", 1, "山田", "太郎", "ヤマダ", "タロウ", "male", date(1980, 4, 1),
        Address("東京都小平市小川町一丁目100番地5"), day, day, day, my_number="123456789018",
    )  # fmt: skip
    event = RegisterEvent(
        "ResidentMovedIn",
        c.MOVE_IN,
        day,
        day,
        record,
        1,
        HouseholdAfter("H000000012", "x", None, 1),
        None,
        (),
    )
    plain = body(event, "F1", RecordedBy("clerk1", "窓口01"))
    assert plain["has_my_number"] and "my_number" not in plain["record"]
    assert "123456789018" not in repr(plain) and plain["schema_version"] == SCHEMA_VERSION
