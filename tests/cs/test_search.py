"""The CS operator's search of the 本人確認情報ファイル (seed III(2)-3 リスク2; cs/domain/search.py, cs/services/search.py):
the two-item rule and its refusals, answers that hold exactly what the conditions select and never a 個人番号, a
person under a 支援措置 left out, and every search — refused or answered — in cs_queries, the CS log and the
register's operation log by item names, never values; on both engines."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest
from sqlalchemy import select, text

from juki.adapters import tables as rt
from juki.cs.adapters import query_tables as qt
from juki.cs.adapters import tables as t
from juki.cs.domain import search as rules
from juki.cs.services import search
from juki.cs.services.ports import Restriction
from juki.domain.dates import today_jst
from juki.domain.errors import DomainError, Forbidden, InvalidDate, InvalidResidentCode
from juki.policy.roles import Actor
from juki.services import audit_reports, filings, protection
from tests import factories as f
from tests.cs.support import CLERK, CS_OPERATOR, rows, take_in
from tests.leakcheck import spellings

BOSS = Actor("super1", "係長 花子", "supervisor", "desk-1", procedure="protection")
AUDITOR = Actor("aud1", "監査 一郎", "auditor", "audit-1", procedure="audit")
GAKUEN = "東京都小平市学園東町一丁目2番3号"


# --- the rules (pure) ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "given",
    [
        {},
        {"name": "山田 太郎"},
        {"address": "小川町一丁目"},
        {"birth_date": date(1980, 4, 1)},
        {"name": "山田 太郎", "sex": "男"},
        {"birth_date": date(1980, 4, 1), "sex": "男"},
        {"name": "  ", "address": "小川町"},
    ],
    ids=["nothing", "name", "address", "birth", "name+sex", "birth+sex", "blank-name+address"],
)
def test_one_item_or_one_and_the_sex_is_refused_as_too_few(given: dict[str, Any]) -> None:
    with pytest.raises(rules.SearchNeedsTwoItems) as refused:
        rules.conditions(**given)
    assert refused.value.code == "search_needs_two_items"


def test_address_and_birth_date_without_the_name_is_not_a_combination_the_seed_allows() -> None:
    with pytest.raises(rules.SearchNeedsName) as refused:
        rules.conditions(address="小川町一丁目", birth_date=date(1980, 4, 1), sex="女")
    assert refused.value.code == "search_needs_name"


def test_the_two_combinations_and_the_resident_code_alone_are_searches() -> None:
    by_address = rules.conditions(name="山田", address="小川町", sex="男")
    assert by_address.items == ("氏名", "性別", "住所")
    assert rules.conditions(name="ヤマダ", birth_date=date(1980, 4, 1)).items == ("氏名", "生年月日")
    assert rules.conditions(resident_code="１２３４５６７８９０３").resident_code == "12345678903"


def test_a_resident_code_stands_alone_and_must_carry_its_check_digit() -> None:
    with pytest.raises(rules.CodeStandsAlone):
        rules.conditions(resident_code="12345678903", name="山田")
    with pytest.raises(InvalidResidentCode):
        rules.conditions(resident_code="12345678904")
    with pytest.raises(DomainError) as bad_sex:
        rules.conditions(name="山田", address="小川町", sex="male")
    assert bad_sex.value.field == "sex"


def test_a_purpose_is_required_and_must_be_one_of_the_three_articles() -> None:
    with pytest.raises(rules.PurposeRequired) as none:
        rules.purpose_of("  ")
    assert none.value.code == "purpose_required"
    with pytest.raises(rules.UnknownPurpose):
        rules.purpose_of("30-9")
    assert [rules.purpose_of(p) for p in ("30-10", "30-12", "30-14")] == ["30-10", "30-12", "30-14"]


ITEMS = {
    "住民票コード": "12345678903",
    "漢字氏名": "髙橋\u3000一郎",
    "清音化かな氏名": "タカハシ\u3000イチロオ",
    "生年月日": "1980-04-01",
    "性別": "男",
    "住所": "東京都小平市小川町一丁目100番地5",
}


@pytest.mark.parametrize(
    ("name", "address", "found"),
    [
        ("たかはし いちろう", "東京都小平市小川町一丁目", True),  # hiragana, 清音化 (ウ after オ段)
        ("ﾀｶﾊｼｲﾁﾛｳ", "小平市小川町1丁目", True),  # half-width, no space; 丁目 in digits
        ("タカハシ", "小川町一丁目100番地", True),  # the family name alone; after 都道府県 and 市
        ("イチロウ", "東京都小平市小川町", True),  # the given name alone
        ("髙橋一郎", "小川町", True),
        ("髙橋 一郎", "小川町", True),
        ("高橋 一郎", "小川町", False),  # 異体字 stay apart
        ("タカハシ イチ", "小川町", False),  # a name matches whole, not in part
        ("髙橋", "一丁目", False),  # an address matches from its start, not from the middle
        ("髙橋", "小平市学園東町", False),
    ],
)
def test_names_match_by_kana_or_kanji_and_addresses_from_their_start(
    name: str, address: str, found: bool
) -> None:
    assert rules.matcher(rules.conditions(name=name, address=address))(ITEMS) is found


def test_the_birth_date_matches_the_day_and_the_sex_narrows() -> None:
    assert rules.matcher(rules.conditions(name="髙橋", birth_date=date(1980, 4, 1), sex="男"))(ITEMS)
    assert not rules.matcher(rules.conditions(name="髙橋", birth_date=date(1980, 4, 2)))(ITEMS)
    assert not rules.matcher(rules.conditions(name="髙橋", birth_date=date(1980, 4, 1), sex="女"))(ITEMS)


# --- the service, on the CS's file -----------------------------------------------------------------------------------


def _world(j: Any, cs: Any) -> dict[str, Any]:
    """The family of four in 小川町一丁目; a namesake 山田 太郎 born the same day in 学園東町; a 鈴木 太郎 born the same
    day in 小川町一丁目."""
    family = f.family_of_four()
    done = filings.file(j.uow, CLERK, "move-in", f.move_in(family))
    namesake = f.person()
    filings.file(j.uow, CLERK, "move-in", f.move_in([namesake], address={"address": GAKUEN}))
    suzuki = f.person(family_name="鈴木", family_name_kana="スズキ")
    filings.file(j.uow, CLERK, "move-in", f.move_in([suzuki]))
    take_in(j, cs)
    numbers = [c["addressee_number"] for c in done.changes]
    return {"family": family, "numbers": numbers, "namesake": namesake, "suzuki": suzuki}


def _search(j: Any, cs: Any, actor: Actor = CS_OPERATOR, **params: str) -> search.Answer:
    return search.search(j.uow, cs.transaction, qt.book, actor, params)


def _codes(answer: search.Answer) -> list[str]:
    return sorted(p.resident_code for p in answer.persons)


def _queries(cs: Any) -> list[Any]:
    return rows(cs, qt.queries, qt.queries.c.id)


def _op_log(j: Any, action: str) -> list[Any]:
    with j.engine.connect() as conn:
        return list(conn.execute(select(rt.operation_log).where(rt.operation_log.c.action == action)))


def test_the_answer_holds_exactly_the_persons_the_conditions_select(j, cs):
    w = _world(j, cs)
    head, namesake, suzuki = w["family"][0], w["namesake"], w["suzuki"]
    answer = _search(j, cs, name="ヤマダ タロウ", address="小川町1丁目")
    assert _codes(answer) == [
        head["resident_code"]
    ]  # not the namesake in 学園東町, not 鈴木 at the same address
    assert answer.items == ("氏名", "住所") and not answer.truncated
    by_birth = _search(j, cs, name="山田太郎", birth_date="S55.4.1")  # 和暦: the namesake too, not 鈴木
    assert _codes(by_birth) == sorted([head["resident_code"], namesake["resident_code"]])
    assert suzuki["resident_code"] not in _codes(by_birth)
    assert _codes(_search(j, cs, name="スズキ", address="東京都小平市小川町", sex="男")) == [
        suzuki["resident_code"]
    ]
    assert _search(j, cs, name="スズキ", address="東京都小平市小川町", sex="女").persons == []


def test_a_resident_code_finds_the_one_person_with_the_36_items_but_the_my_number(j, cs):
    w = _world(j, cs)
    wife = w["family"][1]
    [person] = _search(j, cs, resident_code=wife["resident_code"]).persons
    assert person.items["漢字氏名"] == "山田\u3000花子" and person.items["生年月日"] == "1982-07-07"
    assert len(person.items) == 35 and "個人番号" not in person.items
    assert not any(p["my_number"] in spellings(repr(person)) for p in w["family"])
    assert _search(j, cs, resident_code="12345678903").persons == []  # a valid code the CS does not hold


def test_a_search_with_too_few_items_is_refused_and_logged_by_item_names(j, cs):
    _world(j, cs)
    with pytest.raises(rules.SearchNeedsTwoItems):
        _search(j, cs, name="山田 太郎", sex="男")
    with pytest.raises(InvalidDate):
        _search(j, cs, name="山田 太郎", birth_date="2023-02-30")
    [few, bad_date] = _queries(cs)
    assert (few.kind, few.conditions, few.result, few.answered) == (
        "search",
        ["氏名", "性別"],
        "search_needs_two_items",
        0,
    )
    assert (few.staff_id, few.terminal, few.procedure, few.purpose) == ("cs1", "cs-terminal-1", "cs", None)
    assert bad_date.result == "invalid_date"
    [entry, _] = _op_log(j, "cs:search")
    assert entry.result == "search_needs_two_items" and entry.staff_id == "cs1"
    assert entry.facts["criteria"] == ["name", "sex"] and entry.facts["results"] == 0
    lines = [line for line in rows(cs, t.log, t.log.c.id) if line.action == "search"]
    assert [line.result for line in lines] == ["search_needs_two_items", "invalid_date"]
    assert not any("山田" in repr(x) or "太郎" in repr(x) for x in [*lines, entry, few])


def test_an_answered_search_is_logged_three_times_without_a_value(j, cs):
    w = _world(j, cs)
    _search(j, cs, name="ヤマダ タロウ", address="小川町一丁目")
    [row] = _queries(cs)
    assert (row.kind, row.conditions, row.result, row.answered, row.withheld) == (
        "search",
        ["氏名", "住所"],
        "ok",
        1,
        0,
    )
    assert row.at is not None
    [line] = [line for line in rows(cs, t.log, t.log.c.id) if line.action == "search"]
    assert (line.staff_id, line.terminal, line.result) == ("cs1", "cs-terminal-1", "ok")
    assert "氏名・住所" in line.message and "1件" in line.message
    [entry] = _op_log(j, "cs:search")
    assert entry.targets == [w["numbers"][0]] and entry.facts["criteria"] == ["name", "address"]
    for said in (line.message, entry.detail, repr(row)):
        assert "ヤマダ" not in said and "小川町" not in said and w["family"][0]["resident_code"] not in said


def test_a_person_under_a_support_measure_is_left_out_and_the_supervisors_alerted(j, cs):
    w = _world(j, cs)
    wife = w["numbers"][1]
    protection.set_measure(j.uow, BOSS, f.support_measure(wife))
    take_in(j, cs)
    answer = _search(j, cs, name="山田", address="小川町一丁目")
    assert _codes(answer) == sorted(p["resident_code"] for i, p in enumerate(w["family"]) if i != 1)
    assert _search(j, cs, resident_code=w["family"][1]["resident_code"]).persons == []
    assert [r.withheld for r in _queries(cs)] == [1, 1]
    alerts = protection.list_alerts(j.uow, BOSS)["alerts"]
    assert {(a["kind"], a["subject"]) for a in alerts} == {("protected_hidden", wife)}


def test_a_restriction_the_cs_holds_hides_the_person_too(j, cs):
    """The CS's own copy of a 支援措置 (cs_restrictions) screens even when the register's screening would not."""
    w = _world(j, cs)
    child = w["numbers"][2]
    with cs.transaction() as store:
        store.add_restriction(
            Restriction(
                child, "m-1", "support", "set", date(2025, 6, 1), None, date(2026, 5, 31), False, 99_999
            )
        )
        store.add_restriction(  # a 交付制限 restricts certificates, not a search
            Restriction(w["numbers"][3], "m-2", "certificate_hold", "set", date(2025, 6, 1), None, date(2026, 5, 31),
                        False, 99_998)
        )  # fmt: skip
    found = _codes(_search(j, cs, name="山田", address="小川町"))
    assert w["family"][2]["resident_code"] not in found and w["family"][3]["resident_code"] in found


def test_a_person_out_of_the_files_scope_is_not_found(j, cs):
    w = _world(j, cs)
    with cs.transaction() as store:
        store.leave_scope(w["numbers"][0])
    assert _search(j, cs, resident_code=w["family"][0]["resident_code"]).persons == []


def test_only_the_cs_operator_may_search_and_a_refusal_writes_no_query(j, cs):
    _world(j, cs)
    for actor in (CLERK, BOSS, Actor("aud1", "監査", "auditor", "a-1"), Actor("adm1", "管理", "admin", "x")):
        with pytest.raises(Forbidden):
            _search(j, cs, actor, name="山田", address="小川町")
        with pytest.raises(Forbidden):
            search.may_open(j.uow, actor, "cs:search_form")
    assert _queries(cs) == []
    assert {e.result for e in _op_log(j, "cs:search")} == {"denied"}


def test_the_log_of_searches_is_append_only(j, cs):
    _world(j, cs)
    _search(j, cs, name="山田", address="小川町")
    for statement in ("UPDATE cs_queries SET answered = 9", "DELETE FROM cs_queries"):
        with pytest.raises(Exception, match="append-only"), cs.engine.begin() as conn:
            conn.execute(text(statement))
    assert [r.answered for r in _queries(cs)] == [4]


def test_the_auditors_number_lookup_report_counts_the_cs_operators_searches_by_resident_code(j, cs):
    w = _world(j, cs)
    wife = w["family"][1]
    _search(j, cs, resident_code=wife["resident_code"])
    _search(j, cs, name="ヤマダ タロウ", address="小川町一丁目")  # not by a number: not in this report
    today = today_jst().isoformat()
    found = audit_reports.report(j.uow, AUDITOR, "number_lookups", {"from": today, "to": today})
    [row] = [r for r in found.rows if r["staff_id"] == "cs1"]
    assert row["keys"] == "住民票コード" and row["found"] == 1 and row["targets"] == [w["numbers"][1]]
