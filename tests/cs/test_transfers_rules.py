"""The rules of the telegrams between cities and of the notice kinds they bring (pure): 特例転入 for a card move-in,
転入通知受理 only of a person removed (the CS's checks and the prefecture's), the 市町村コード's check digit, the
period a 転出証明書情報 is held."""

from __future__ import annotations

from datetime import date

import pytest

from juki.cs.domain.notices import LOGIC_ERROR, Failure, Part, kind_of, plan
from juki.cs.domain.transfers import expired, is_city_code, purge_after
from juki.cs.wire import Notice, NoticeKind
from juki.sim.juki_net.checks import Held, Problem, check_logic
from tests.cs.test_notices import held, items

K = NoticeKind


def test_a_move_in_on_the_held_certificate_is_a_card_move_in_and_nothing_else_is():
    assert kind_of("転入", card=True) is K.CARD_MOVE_IN
    assert kind_of("国外転入", card=True) is K.MOVE_IN and kind_of("転入") is K.MOVE_IN
    assert kind_of("転出", card=True) is K.MOVE_OUT
    [part] = plan("転入", items(), None, False, card=True)  # type: ignore[misc]
    assert (
        part.kind is K.CARD_MOVE_IN
        and part.items["異動事由"] == "特例転入"
        and part.items["異動事由詳細"] is None
    )


def test_a_move_in_notice_received_is_only_for_a_person_removed():
    removed = held("1")
    parts = plan("転入通知受理", items("転出"), removed, False)
    assert isinstance(parts, list) and [p.kind for p in parts] == [K.MOVE_IN_NOTICE_RECEIVED]
    failure = plan("転入通知受理", items(), held(), False)
    assert isinstance(failure, Failure) and failure.code == LOGIC_ERROR and failure.item == "異動事由"
    assert isinstance(plan("転入通知受理", items(), None, False), Failure)  # not in the file at all


def test_a_minor_correction_that_changes_nothing_is_no_notice():
    assert plan("軽微な修正", items(), held(), False) == []
    parts = plan("軽微な修正", items(family_name="髙田"), held(), False)
    assert isinstance(parts, list) and parts == [Part(K.MINOR_CORRECTION, parts[0].items)]


def _notice(kind: NoticeKind) -> Notice:
    code = "12345678903"
    return Notice("n-1", kind, code, 3, {"住民票コード": code})


@pytest.mark.parametrize(("status", "refused"), [("0", True), ("1", False)])
def test_the_prefecture_takes_a_move_in_notice_received_only_of_a_person_removed(status: str, refused: bool):
    before = Held(2, K.MOVE_OUT, {"住民票コード": "12345678903", "レコード状況フラグ": status})
    if refused:
        with pytest.raises(Problem) as caught:
            check_logic(_notice(K.MOVE_IN_NOTICE_RECEIVED), before)
        assert (caught.value.code, caught.value.item) == ("logic_error", "異動事由")
    else:
        check_logic(_notice(K.MOVE_IN_NOTICE_RECEIVED), before)


def test_city_codes_carry_their_check_digit():
    assert all(is_city_code(c) for c in ("132110", "141003", "271004", "011002", "132039"))
    assert not any(is_city_code(c) for c in ("132111", "14100", "1410033", None, "abcdef"))


def test_a_certificate_is_held_for_thirty_days_after_the_planned_day():
    planned = date(2025, 7, 10)
    assert purge_after(planned) == date(2025, 8, 9)
    assert not expired(planned, date(2025, 8, 9)) and expired(planned, date(2025, 8, 10))
