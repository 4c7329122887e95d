"""The register's valid changes of a day, of every kind, pass the CS's checks: none goes to the error queue, the
prefecture receives each person's notices in order, and the comparison with the register finds nothing."""

from __future__ import annotations

from typing import Any

from juki.services import filings
from tests import factories as f
from tests.cs.support import CITY, CLERK, SUPERVISOR, deliver, notices, take_in

ELSEWHERE = {"address": "東京都小平市学園東町一丁目1番1号"}
DAY = {"filed_on": "2025-06-20", "changed_on": "2025-06-19"}


def _file(j, kind: str, body: dict[str, Any]) -> Any:  # type: ignore[no-untyped-def]
    return filings.file(j.uow, CLERK, kind, body)


def test_a_day_of_every_kind_of_change_goes_through_without_an_error(j, cs, prefecture):
    from juki.cs.services.comparison import RegisterQueries, compare

    family = _file(j, "move-in", f.move_in())
    head, wife, son, daughter = (c["addressee_number"] for c in family.changes)
    other = _file(j, "move-in", f.move_in([f.person(family_name="佐藤", family_name_kana="サトウ")]))
    (sato,) = (c["addressee_number"] for c in other.changes)
    _file(j, "move-within", DAY | {  # the son leaves for a household of his own
        "household_number": family.household_number, "addressee_numbers": [son], "address": ELSEWHERE,
        "new_household": True, "householder": son,
        "new_relationships": {head: "世帯主", wife: "妻", daughter: "子", son: "世帯主"},
    })  # fmt: skip
    born = _file(j, "birth", {
        "filed_on": "2025-06-21", "birth_date": "2025-06-20", "household_number": family.household_number,
        "person": {"family_name": "山田", "given_name": "次郎", "family_name_kana": "ヤマダ",
                   "given_name_kana": "ジロウ", "sex": "male", "relationship": "子", "resident_code": "12345678903"},
    })  # fmt: skip
    (baby,) = (c["addressee_number"] for c in born.changes)
    _file(j, "household-change", {
        "filed_on": "2025-06-22", "changed_on": "2025-06-22", "type": "merge",
        "household_number": other.household_number, "into_household_number": family.household_number,
        "new_relationships": {sato: "同居人", head: "世帯主", wife: "妻", daughter: "子", baby: "子"},
    })  # fmt: skip
    _file(j, "death", {"filed_on": "2025-06-24", "died_on": "2025-06-23", "addressee_number": head,
                       "new_householder": wife,
                       "new_relationships": {wife: "世帯主", daughter: "子", baby: "子", sato: "同居人"}})  # fmt: skip
    moving_out = _file(j, "move-out", {"filed_on": "2025-06-25", "planned_on": "2025-07-01", "addressee_numbers": [daughter],
                          "destination": f.OTHER})  # fmt: skip
    filings.cancel(
        j.uow, SUPERVISOR, moving_out.filing_id, {"filed_on": "2025-06-27", "reason": "届出の取下げ"}
    )
    pending = _file(j, "ex-officio-correction", {"filed_on": "2025-06-26", "changed_on": "2025-06-26", "reason": "誤記",
                                       "addressee_number": wife, "corrections": {"given_name": "華子"}})  # fmt: skip
    filings.decide(j.uow, SUPERVISOR, pending.filing_id, True)  # 決裁
    take_in(j, cs)
    errors = [(n.addressee_number, n.change_reason, n.error_code, n.error_item) for n in notices(cs)
              if n.state != "queued"]  # fmt: skip
    assert errors == []
    deliver(cs, prefecture)
    assert {n.state for n in notices(cs)} == {"acknowledged"}
    kinds = [(n.addressee_number, n.kind) for n in notices(cs)]
    assert [k for a, k in kinds if a == son] == ["転入", "転居", "世帯変更"]
    assert [k for a, k in kinds if a == head] == ["転入", "死亡"]
    assert [k for a, k in kinds if a == daughter] == ["転入", "転出", "取消し"]
    assert [k for a, k in kinds if a == wife] == ["転入", "世帯変更", "職権修正"]
    assert [k for a, k in kinds if a == sato] == ["転入", "世帯変更"]
    assert [k for a, k in kinds if a == baby] == ["出生"]
    report = compare(j.uow, cs.transaction, RegisterQueries(j.uow, SUPERVISOR), SUPERVISOR, CITY)
    assert report.differences == []
