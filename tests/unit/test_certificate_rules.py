"""The certificate rules without a database: 住基法第12条, the request's shape, the fee, the layout."""

from __future__ import annotations

from datetime import date

import pytest

from juki.domain import certificates as rules
from juki.domain.certificates import HistoryEntry, Issuer, Subject
from juki.domain.errors import Forbidden, InvalidField, NotResident
from juki.domain.model import Address, MoveOutData, Removal, ResidentRecord
from juki.web import schemas

TODAY = date(2025, 6, 30)


def record(n: int = 1, **over) -> ResidentRecord:
    values = {
        "addressee_number": f"{n:09d}9",
        "household_number": "0000000019",
        "relationship": "世帯主" if n == 1 else "子",
        "position": n,
        "family_name": "山田",
        "given_name": "太郎" if n == 1 else f"子{n}",
        "family_name_kana": "ヤマダ",
        "given_name_kana": "タロウ",
        "sex": "male",
        "birth_date": date(1980, 4, 1),
        "address": Address("東京都小平市小川町一丁目100番地5"),
        "resident_since": date(2019, 4, 1),
        "address_since": date(2019, 4, 1),
        "filed_on": date(2019, 4, 3),
        "resident_code": "12345678903",
        "my_number": "987654321096",
    }
    values.update(over)
    return ResidentRecord(**values)


def payload(**over):
    body = {
        "kind": "residence_certificate",
        "household_number": "0000000019",
        "requester": {"type": "self", "name": "山田 太郎", "addressee_number": "0000000019"},
        "purpose": "手続のため",
    }
    body.update(over)
    return body


def test_nothing_optional_is_printed_unless_asked():
    req = rules.parse_request(payload())
    assert req.include == frozenset() and req.layout == "household" and req.copies == 1


@pytest.mark.parametrize("kind", ["agent", "third_party", "official"])
@pytest.mark.parametrize("item", ["resident_code", "my_number"])
def test_the_numbers_are_only_for_the_person_or_household(kind, item):
    requester = {"type": kind, "name": "甲", "addressee_number": "0000000019", "reason": "訴訟"}
    req = rules.parse_request(
        payload(requester=requester, include={item: True}, identity_check={"authority_document": "委任状"})
    )
    with pytest.raises(Forbidden):
        rules.check_items(req, may_reveal_my_number=True)


@pytest.mark.parametrize("kind", ["self", "household_member"])
def test_the_person_or_household_may_have_both_numbers_when_the_procedure_reveals(kind):
    req = rules.parse_request(
        payload(
            requester={"type": kind, "name": "山田 太郎", "addressee_number": "0000000019"},
            include={"resident_code": True, "my_number": True},
        )
    )
    rules.check_items(req, may_reveal_my_number=True)
    with pytest.raises(Forbidden):
        rules.check_items(req, may_reveal_my_number=False)


@pytest.mark.parametrize(
    ("over", "field"),
    [
        ({"kind": "photo"}, "kind"),
        ({"addressee_numbers": ["0000000019"]}, "household_number"),  # both
        ({"include": {"my_number": "yes"}}, "include.my_number"),
        ({"include": {"everything": True}}, "include.everything"),
        ({"omit": ["katagaki"]}, "omit"),  # only a 記載事項証明書 may leave out the 方書
        ({"layout": "poster"}, "layout"),
        ({"copies": 0}, "copies"),
        ({"items": ["name"]}, "items"),  # only a 記載事項証明書 chooses items
        ({"purpose": " "}, "purpose"),
        ({"purpose": "番号 1234 5678 9012"}, "purpose"),
        ({"requester": {"type": "third_party", "name": "甲"}}, "requester.reason"),
    ],
)
def test_malformed_requests_name_the_field(over, field):
    with pytest.raises(InvalidField) as e:
        typed(payload(**over))
    assert e.value.field == field


def typed(body: dict) -> rules.CertificateRequest:
    """A request as every caller hands it over: through its request model (web/schemas.py: the types, for the
    API and the counter's form alike), then the request's rules (the values)."""
    model, problems = schemas.check(schemas.CertificateBody, body)
    if model is None:
        raise InvalidField(problems[0]["message"], problems[0]["field"])
    return rules.parse_request(model.model_dump(exclude_none=True))


def test_the_fee_is_per_copy_and_free_for_public_bodies_and_move_out():
    assert rules.fee(rules.parse_request(payload(copies=3))) == 900
    official = {"type": "official", "name": "東京都", "reason": "生活保護法第29条"}
    assert rules.fee(rules.parse_request(payload(requester=official))) == 0
    assert rules.fee(rules.parse_request(payload(kind="move_out_certificate"))) == 0


def test_a_requester_of_another_household_or_with_another_name_is_refused():
    req = rules.parse_request(payload())
    me = record(1)
    rules.check_requester(req, me, [me, record(2)])
    with pytest.raises(Forbidden):
        rules.check_requester(req, record(1, household_number="0000000027"), [record(2)])
    with pytest.raises(Forbidden):
        rules.check_requester(req, record(1, given_name="次郎"), [record(1, given_name="次郎"), record(2)])
    with pytest.raises(Forbidden):  # self must be on it
        rules.check_requester(req, me, [record(2)])
    third = rules.parse_request(payload(requester={"type": "third_party", "name": "甲", "reason": "訴訟"}))
    rules.check_requester(third, None, [record(2)])  # 第12条の3: no relation needed


def test_a_leaver_is_present_until_the_planned_date():
    leaving = record(
        2,
        status="removed",
        removal=Removal("転出", date(2025, 7, 10)),
        move_out=MoveOutData(
            Address("大阪府大阪市北区梅田一丁目1番1号"), date(2025, 7, 10), date(2025, 6, 20)
        ),
    )
    assert rules.is_present(leaving, TODAY)
    assert not rules.is_present(leaving, date(2025, 7, 10))
    req = rules.parse_request(payload())
    rules.check_subjects(req, [leaving], TODAY)
    removed = rules.parse_request(payload(kind="removed_record_certificate"))
    with pytest.raises(InvalidField):
        rules.check_subjects(removed, [leaving], TODAY)
    with pytest.raises(NotResident):
        rules.check_subjects(req, [leaving], date(2025, 7, 11))


def test_persons_of_two_households_are_not_on_one_certificate():
    req = rules.parse_request(payload())
    with pytest.raises(InvalidField):
        rules.check_subjects(req, [record(1), record(2, household_number="0000000027")], TODAY)


def _doc(req, subjects, whole=True):
    return rules.layout(
        req,
        subjects,
        whole_household=whole,
        householder="山田　太郎",
        today=TODAY,
        issuance_number="20250630-000001",
        terminal="T",
        issuer=Issuer(),
        verify_url="http://x/verify/20250630-000001",
    )


def _cells(doc) -> list[str]:
    return [c.label for p in doc.pages for b in p.blocks for row in b.rows for c in row]


def test_the_layout_prints_only_what_was_asked():
    plain = _doc(rules.parse_request(payload()), [Subject(record(1))])
    labels = _cells(plain)
    assert "個人番号" not in labels and "住民票コード" not in labels and "本籍" not in labels
    assert "続柄" not in labels and "世帯主" not in labels and "異動履歴" not in labels
    assert not plain.my_number_printed and "my_number" not in plain.items
    full = _doc(
        rules.parse_request(
            payload(
                include={
                    "householder_and_relationship": True,
                    "honseki": True,
                    "resident_code": True,
                    "my_number": True,
                    "history": True,
                }
            )
        ),
        [Subject(record(1), (HistoryEntry("転入", date(2019, 4, 1), date(2019, 4, 3), "小平市"),))],
    )
    labels = _cells(full)
    assert {"個人番号", "住民票コード", "本籍", "筆頭者", "続柄", "世帯主", "異動履歴"} <= set(labels)
    assert full.my_number_printed
    assert set(rules.printed_items(full.items)) >= {"my_number", "resident_code", "honseki", "history"}


def test_hidden_history_entries_are_never_printed():
    entries = [
        HistoryEntry("転入", date(2019, 4, 1), date(2019, 4, 3), "a"),
        HistoryEntry("特別養子縁組", date(2020, 4, 1), date(2020, 4, 3), "a"),
        HistoryEntry("性別変更", date(2021, 4, 1), date(2021, 4, 3), "a"),
    ]
    assert [e.change_reason for e in rules.visible_history(entries)] == ["転入"]


def test_four_persons_a_page_and_the_statement_on_the_last_page_only():
    req = rules.parse_request(payload())
    doc = _doc(req, [Subject(record(n)) for n in range(1, 10)])
    persons = [sum(1 for b in p.blocks[1:] if not b.continued) for p in doc.pages]
    assert persons == [4, 4, 1]
    assert [p.last for p in doc.pages] == [False, False, True]
    assert [(p.number, p.total) for p in doc.pages] == [(1, 3), (2, 3), (3, 3)]
    for p in doc.pages:
        assert sum(len(b.rows) for b in p.blocks) <= rules.ROWS_PER_PAGE
    last = doc.pages[-1]
    assert sum(len(b.rows) for b in last.blocks) <= rules.ROWS_PER_PAGE - rules.STATEMENT_ROWS


def test_a_person_too_long_for_a_page_continues_on_the_next():
    history = tuple(HistoryEntry("転居", date(2000, 1, 1), date(2000, 1, 2), f"住所{i}") for i in range(60))
    doc = _doc(rules.parse_request(payload(include={"history": True})), [Subject(record(1), history)])
    assert len(doc.pages) >= 2
    assert doc.pages[1].blocks[1].continued
    printed = [
        c.value
        for p in doc.pages
        for b in p.blocks[1:]
        for row in b.rows
        for c in row
        if c.label == "異動履歴"
    ]
    assert len(printed) == 60  # nothing lost at the break


def test_the_statement_says_whole_household_only_when_it_is():
    req = rules.parse_request(payload())
    assert "世帯全員" in rules.statement(req, whole_household=True)
    assert "世帯全員" not in rules.statement(req, whole_household=False)
    entry = rules.parse_request(payload(kind="entry_certificate"))
    assert rules.statement(entry, True).startswith("上記の事項は")


def test_a_foreign_residents_items_can_be_left_out_one_by_one():
    from juki.domain.model import ForeignResidentItems

    foreigner = record(
        1,
        foreign=ForeignResidentItems(
            "ベトナム", "中長期在留者", "留学", "2年", date(2026, 3, 31), "AB12345678CD", alias_name="中村"
        ),
    )
    req = rules.parse_request(payload(omit=["residence_card_number", "alias_name"]))
    labels = _cells(_doc(req, [Subject(foreigner)]))
    assert "国籍・地域" in labels and "在留資格" in labels
    assert "在留カード等の番号" not in labels and "通称" not in labels
