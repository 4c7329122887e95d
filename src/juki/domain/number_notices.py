"""住民票コード通知票 (住基法30条の3第3項・30条の4第3項; 標準仕様書 j890): the notice a person gets of their 住民票コード
when it is first recorded (通知票) or changed on their request (変更通知票), printable again at the counter.

Pure: which notice a person's history calls for, and what it says. The PDF is drawn by adapters/notice_pdf.py.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from juki.domain import commands as c
from juki.domain.dates import to_wareki

NOTICE = "住民票コード通知票"
CHANGE_NOTICE = "住民票コード変更通知票"


@dataclass(frozen=True)
class CodeNotice:
    title: str
    name: str
    name_kana: str
    birth_date: str  # 和暦
    address: str
    resident_code: str
    recorded_on: str  # 和暦: the day the code was recorded (記載) or changed
    city: str
    issued_on: str  # 和暦


@dataclass(frozen=True)
class CodeChange:
    """One version of the person's history as the notice needs it."""

    change_reason: str
    changed_on: date
    resident_code: str | None


def code_since(history: list[CodeChange]) -> CodeChange | None:
    """The version that brought the current 住民票コード (the history oldest first)."""
    current = history[-1].resident_code if history else None
    if current is None:
        return None
    since = history[-1]
    for version in reversed(history):
        if version.resident_code != current:
            break
        since = version
    return since


def code_notice(
    person: dict[str, str], history: list[CodeChange], city: str, today: date
) -> CodeNotice | None:
    """The notice for `person` (family_name, given_name, their kana, birth_date ISO, address); None when the record
    has no code. A code that came by 住民票コード変更 gets the 変更通知票."""
    since = code_since(history)
    if since is None or since.resident_code is None:
        return None
    title = CHANGE_NOTICE if since.change_reason == c.RESIDENT_CODE_CHANGE else NOTICE
    return CodeNotice(
        title=title,
        name=f"{person['family_name']}\u3000{person['given_name']}",
        name_kana=f"{person.get('family_name_kana', '')}\u3000{person.get('given_name_kana', '')}".strip(),
        birth_date=to_wareki(date.fromisoformat(person["birth_date"])),
        address=person["address"],
        resident_code=since.resident_code,
        recorded_on=to_wareki(since.changed_on),
        city=city,
        issued_on=to_wareki(today),
    )
