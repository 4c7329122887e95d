"""The city's certificate settings without a database: the document's checks, the defaults a request takes (j1000),
the signer and seal (j1050), the 通称 attachment, the printer (j1040)."""

from __future__ import annotations

from datetime import date

import pytest

from juki.domain import certificate_settings as settings_rules
from juki.domain import certificates as rules
from juki.domain.certificate_settings import DEFAULT, CertificateSettings, KindSettings, Official
from juki.domain.certificates import AliasEntry, Issuer, Subject
from juki.domain.errors import InvalidField
from juki.domain.model import ForeignResidentItems
from juki.web import schemas
from tests.unit.test_certificate_rules import TODAY, _cells, payload, record


def with_defaults(**kinds: KindSettings) -> CertificateSettings:
    return CertificateSettings(kinds={**DEFAULT.kinds, **kinds})


def test_the_document_round_trips():
    changed = settings_rules.parse(
        {
            **DEFAULT.as_dict(),
            "kinds": {"residence_certificate": {"include": ["history"], "signer": "acting", "seal": "none"}},
            "overflow": "blank",
            "printers": {"窓口01": "プリンタ001"},
            "kiosk": {"fee": 200, "office": "コンビニ交付"},
        }
    )
    assert settings_rules.parse(changed.as_dict()) == changed
    assert changed.kind("residence_certificate").include == {"history"}
    assert changed.kind("entry_certificate") == KindSettings()  # what is left out keeps the default
    assert changed.signer("residence_certificate") == DEFAULT.acting
    assert changed.signer("entry_certificate") == DEFAULT.mayor
    assert changed.printer("窓口01") == "プリンタ001" and changed.printer("窓口02") == ""


@pytest.mark.parametrize(
    ("document", "field"),
    [
        ([], "settings"),
        ({"colour": "red"}, "settings"),
        ({"kinds": {"marriage_certificate": {}}}, "kinds"),
        (
            {"kinds": {"residence_certificate": {"include": ["my_number"]}}},
            "kinds.residence_certificate.include",
        ),
        (
            {"kinds": {"residence_certificate": {"include": ["resident_code"]}}},
            "kinds.residence_certificate.include",
        ),
        ({"kinds": {"residence_certificate": {"omit": ["name"]}}}, "kinds.residence_certificate.omit"),
        ({"kinds": {"residence_certificate": {"signer": "deputy"}}}, "kinds.residence_certificate.signer"),
        ({"kinds": {"residence_certificate": {"seal": True}}}, "kinds.residence_certificate.seal"),
        ({"kinds": {"residence_certificate": {"seal": "card"}}}, "kinds.residence_certificate.seal"),
        ({"mayor": {"title": "小平市長", "name": "小平　一郎"}}, "mayor.title"),  # no prefecture first
        ({"acting": {"title": "東京都小平市長職務代理者", "name": " "}}, "acting.name"),
        ({"mayor": {"title": "東京都\n小平市長", "name": "甲"}}, "mayor.title"),
        ({"overflow": "shrink"}, "overflow"),
        ({"printers": {"窓口01": ""}}, "printers.窓口01"),
        ({"kiosk": {"fee": -1}}, "kiosk.fee"),
        ({"kiosk": {"fee": True}}, "kiosk.fee"),
        ({"kiosk": {"price": 200}}, "kiosk"),
    ],
)
def test_a_bad_document_is_refused_with_its_path(document, field):
    with pytest.raises(InvalidField) as refused:
        typed(document)
    assert refused.value.field == field


def typed(document: object) -> CertificateSettings:
    """A document as the API and the settings page hand it over: through the change's request model and its
    document's (web/schemas.py: the types, paths within the document), then the settings' rules (the values)."""
    change, problems = schemas.check(
        schemas.CertificateSettingsChangeBody, {"settings": document, "reason": "改正"}
    )
    if change is not None:
        model, problems = schemas.check(schemas.CertificateSettingsIn, change.settings)
        if model is not None:
            return settings_rules.parse(model.model_dump(exclude_none=True))
    raise InvalidField(problems[0]["message"], problems[0]["field"])


def test_the_numbers_cannot_be_printed_by_default():
    """住基法第12条第5項: 住民票コード and 個人番号 only when specially asked for — no setting prints them."""
    assert not set(settings_rules.DEFAULTABLE) & rules.NUMBERS


def test_a_request_takes_the_kinds_defaults_item_by_item():
    settings = with_defaults(
        residence_certificate=KindSettings(include=frozenset({"householder_and_relationship", "history"}))
    )
    silent = rules.parse_request(payload(), settings)
    assert silent.include == {"householder_and_relationship", "history"}
    declined = rules.parse_request(payload(include={"history": False, "honseki": True}), settings)
    assert declined.include == {"householder_and_relationship", "honseki"}
    other_kind = rules.parse_request(payload(kind="removed_record_certificate"), settings)
    assert other_kind.include == frozenset()


def test_a_request_that_lists_omissions_replaces_the_default_list():
    settings = with_defaults(residence_certificate=KindSettings(omit=frozenset({"residence_card_number"})))
    assert rules.parse_request(payload(), settings).omit == {"residence_card_number"}
    assert rules.parse_request(payload(omit=[]), settings).omit == frozenset()
    assert rules.parse_request(payload(omit=["nationality"]), settings).omit == {"nationality"}


def test_the_signer_and_seal_follow_the_kind():
    settings = with_defaults(move_out_certificate=KindSettings(signer="acting", seal="none"))
    signed = Issuer().signed(settings, "move_out_certificate", "コンビニ交付")
    assert (signed.title, signed.name, signed.seal, signed.office) == (
        DEFAULT.acting.title,
        DEFAULT.acting.name,
        "none",
        "コンビニ交付",
    )
    plain = Issuer().signed(settings, "residence_certificate")
    assert (plain.title, plain.seal, plain.office) == ("東京都小平市長", "mayor", "本庁")
    assert (
        Official("北海道札幌市長", "甲")
        == settings_rules.parse({"mayor": {"title": "北海道札幌市長", "name": "甲"}}).mayor
    )


def test_the_alias_history_comes_from_the_versions():
    versions = [
        (date(2019, 4, 1), None),
        (date(2020, 5, 1), "中村"),
        (date(2021, 1, 4), "中村"),  # another change of the record: the 通称 stands
        (date(2022, 2, 1), "中山"),
        (date(2023, 3, 1), None),
        (date(2024, 4, 1), "中田"),
    ]
    assert rules.alias_entries(versions, "小平市") == (
        AliasEntry("中村", date(2020, 5, 1), "小平市", date(2022, 2, 1), "小平市"),
        AliasEntry("中山", date(2022, 2, 1), "小平市", date(2023, 3, 1), "小平市"),
        AliasEntry("中田", date(2024, 4, 1), "小平市"),
    )
    assert rules.alias_entries([(date(2019, 4, 1), None)], "小平市") == ()


def _foreigner():
    return record(
        1,
        foreign=ForeignResidentItems(
            "ベトナム", "中長期在留者", "留学", "2年", date(2026, 3, 31), alias_name="中田"
        ),
    )


def _layout(req, subjects, **over):
    return rules.layout(
        req,
        subjects,
        whole_household=True,
        householder="山田　太郎",
        today=TODAY,
        issuance_number="20250630-000001",
        terminal="T",
        issuer=Issuer(),
        verify_url="http://x/verify/20250630-000001",
        **over,
    )


def test_the_alias_attachment_follows_the_persons_and_the_statement_stays_last():
    aliases = (AliasEntry("中村", date(2020, 5, 1), "小平市", date(2024, 4, 1), "小平市"),)
    subjects = [Subject(_foreigner(), aliases=aliases), Subject(record(2))]
    doc = _layout(rules.parse_request(payload()), subjects)
    assert len(doc.pages) == 2 and rules.ALIAS_HISTORY in doc.items
    first, attachment = doc.pages
    assert not first.last and attachment.last  # the 認証文 after the attachment only
    labels = [c.value for b in attachment.blocks for row in b.rows for c in row]
    assert "通称の記載及び削除に関する事項" in labels and "中村" in labels
    assert attachment.blocks[0].subject == subjects[0].record.addressee_number
    assert {b.subject for b in first.blocks if b.subject} == {s.record.addressee_number for s in subjects}

    left_out = _layout(rules.parse_request(payload(omit=["alias_history"])), subjects)
    assert len(left_out.pages) == 1 and rules.ALIAS_HISTORY not in left_out.items
    assert "別紙" not in _cells(left_out)
    individual = _layout(rules.parse_request(payload(layout="individual")), subjects)
    assert [p.last for p in individual.pages] == [False, False, True]


def test_the_printer_and_overflow_policy_reach_the_document():
    doc = _layout(
        rules.parse_request(payload()), [Subject(record(1))], printer="プリンタ001", overflow="blank"
    )
    assert (doc.printer, doc.overflow) == ("プリンタ001", "blank")


def test_before_the_planned_day_a_copy_leaves_out_what_the_move_out_recorded():
    """j1000: the leaver is still present; the 転出届's items (destination, planned day) are not on the 写し."""
    from juki.domain.model import Address, MoveOutData, Removal

    leaving = record(
        2,
        status="removed",
        removal=Removal("転出", date(2025, 7, 10)),
        move_out=MoveOutData(
            Address("大阪府大阪市北区梅田一丁目1番1号"), date(2025, 7, 10), date(2025, 6, 20)
        ),
    )
    copy = _layout(rules.parse_request(payload()), [Subject(leaving)])
    labels = _cells(copy)
    assert "転出先" not in labels and "転出予定年月日" not in labels and "消除事由" not in labels
    certificate = _layout(rules.parse_request(payload(kind="move_out_certificate")), [Subject(leaving)])
    assert "転出先" in _cells(certificate) and "転出予定年月日" in _cells(certificate)


@pytest.mark.parametrize("requester", ["third_party", "official"])
def test_a_third_party_or_public_body_gets_no_defaults(requester):
    """第12条の3第7項: beyond the basic items only what is asked for — the city's defaults are not asked for."""
    settings = with_defaults(
        residence_certificate=KindSettings(
            include=frozenset({"householder_and_relationship", "honseki", "history"})
        )
    )
    asker = {"type": requester, "name": "甲野", "reason": "訴訟の提起のため"}
    assert rules.parse_request(payload(requester=asker), settings).include == frozenset()
    asked = rules.parse_request(payload(requester=asker, include={"honseki": True}), settings)
    assert asked.include == {"honseki"}
    agent = {"type": "agent", "name": "乙野", "addressee_number": "0000000019"}
    by_agent = rules.parse_request(
        payload(requester=agent, identity_check={"authority_document": "委任状"}), settings
    )
    assert by_agent.include == {"householder_and_relationship", "honseki", "history"}


def test_leaving_the_alias_out_leaves_its_history_out():
    aliases = (AliasEntry("中村", date(2020, 5, 1), "小平市"),)
    doc = _layout(rules.parse_request(payload(omit=["alias_name"])), [Subject(_foreigner(), aliases=aliases)])
    assert rules.ALIAS_HISTORY not in doc.items and "中村" not in [
        c.value for p in doc.pages for b in p.blocks for row in b.rows for c in row
    ]


def test_the_fee_is_the_kinds_or_the_one_given_and_public_bodies_pay_nothing():
    two = rules.parse_request(payload(copies=2))
    assert rules.fee(two) == 600 and rules.fee(two, 200) == 400
    official = {"type": "official", "name": "小平税務署", "reason": "国税徴収法第146条の2"}
    assert rules.fee(rules.parse_request(payload(requester=official)), 200) == 0
