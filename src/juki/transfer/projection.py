"""A record as one department system may have it: the items of its basis, in the field names of
`GET /api/v1/residents/{n}`; every other item absent (not null: absent), the 個人番号 only when asked for and allowed."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from juki.domain.errors import Forbidden, InvalidField
from juki.transfer.items import KEY_FIELDS, MY_NUMBER
from juki.transfer.policy import DepartmentSystem

MAX_FIELDS = 60


def parse_fields(text: str | None) -> frozenset[str] | None:
    """`?fields=a,b`: the items a caller narrows a page to (None: every item it may have)."""
    if text is None:
        return None
    names = [n.strip() for n in text.split(",") if n.strip()]
    if (
        not names
        or len(names) > MAX_FIELDS
        or any(not n.replace("_", "").isalnum() or not n.isascii() for n in names)
    ):
        raise InvalidField("fields は項目名をカンマで区切って指定します", "fields")
    return frozenset(names)


class OutsideBasis(Forbidden):
    """An item the system's legal basis does not cover was asked for: refused whole, nothing given."""

    def __init__(self, items: Iterable[str]) -> None:
        self.items = sorted(items)
        super().__init__("法令上の根拠のない項目は提供できません: " + ", ".join(self.items), "fields")


def selected_items(
    system: DepartmentSystem, fields: frozenset[str] | None, include_my_number: bool
) -> frozenset[str]:
    """The items a delivery carries: the system's (or the asked subset of them), the 個人番号 only when asked.

    Anything asked beyond the basis is refused (`OutsideBasis`, 403), never silently dropped: a department that
    asks for what it may not have is told, and the refusal is logged."""
    wanted = set(fields if fields is not None else system.items - {MY_NUMBER}) - set(KEY_FIELDS)
    if include_my_number:
        wanted.add(MY_NUMBER)
    beyond = wanted - system.items
    if beyond:
        raise OutsideBasis(beyond)
    return frozenset(wanted)


def project(record: Mapping[str, Any], items: frozenset[str]) -> dict[str, Any]:
    """The record's key fields and these items, in the record's own order; nothing else."""
    return {k: v for k, v in record.items() if k in KEY_FIELDS or k in items}


def in_population(system: DepartmentSystem, record: Mapping[str, Any]) -> bool:
    """Whether the person is among those the system's rows cover (the 選挙人名簿: 日本国民 only; a foreign resident's
    record has `foreign`)."""
    return not system.nationals_only or not record.get("foreign")
