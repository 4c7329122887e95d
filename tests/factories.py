"""Small builders of filing bodies, as a counter clerk would enter them."""

from __future__ import annotations

import random
from typing import Any

from juki.domain.identifiers import generate_my_number, generate_resident_code

_rng = random.Random(7)
ADDRESS = "東京都小平市小川町一丁目100番地5"
OTHER = {"address": "東京都武蔵野市吉祥寺本町一丁目1番1号", "municipality_code": "132039"}


def person(relationship: str = "世帯主", **over: Any) -> dict[str, Any]:
    body = {
        "family_name": "山田",
        "given_name": "太郎",
        "family_name_kana": "ヤマダ",
        "given_name_kana": "タロウ",
        "birth_date": "1980-04-01",
        "sex": "male",
        "relationship": relationship,
        "my_number": generate_my_number(_rng),
        "resident_code": generate_resident_code(_rng),
    }
    body.update(over)
    return body


def foreign_person(
    family_name: str,
    given_name: str,
    family_name_kana: str,
    given_name_kana: str,
    *,
    nationality: str = "ベトナム",
    card: str = "AB12345678CD",
    relationship: str = "世帯主",
    foreign: dict[str, Any] | None = None,
    **over: Any,
) -> dict[str, Any]:
    """A foreign resident (中長期在留者) with the names as the 在留カード writes them; no 本籍."""
    body = person(
        relationship,
        family_name=family_name,
        given_name=given_name,
        family_name_kana=family_name_kana,
        given_name_kana=given_name_kana,
        foreign={
            "nationality": nationality,
            "article_30_45_category": "中長期在留者",
            "status_of_residence": "技術・人文知識・国際業務",
            "stay_expires_on": "2028-03-31",
            "residence_card_number": card,
            **(foreign or {}),
        },
        **over,
    )
    body.pop("honseki", None)
    return body


def family_of_four() -> list[dict[str, Any]]:
    return [
        person("世帯主"),
        person("妻", given_name="花子", given_name_kana="ハナコ", sex="female", birth_date="1982-07-07"),
        person("子", given_name="一郎", given_name_kana="イチロウ", birth_date="2010-05-05"),
        person("子", given_name="桜", given_name_kana="サクラ", sex="female", birth_date="2013-03-03"),
    ]


def move_in(persons: list[dict[str, Any]] | None = None, **over: Any) -> dict[str, Any]:
    body = {
        "filed_on": "2025-06-02",
        "changed_on": "2025-06-01",
        "previous_address": OTHER,
        "address": {"address": ADDRESS},
        "household": {"new": True},
        "persons": persons or family_of_four(),
    }
    body.update(over)
    return body


def support_measure(subject: str, subject_kind: str = "person", **over: Any) -> dict[str, Any]:
    """A 支援措置 as a supervisor sets it (services.protection.set_measure's body): in force from 2025-06-01."""
    return {
        "subject_kind": subject_kind,
        "subject": subject,
        "reason": "DV等支援措置申出書による",
        "requester": "本人",
        "received_on": "2025-06-01",
        "starts_on": "2025-06-01",
        **over,
    }
