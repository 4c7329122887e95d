"""The 整合性確認 with the prefecture server: for every person the CS holds in the file's scope, what the prefecture
holds for their 住民票コード (`PrefectureClient.identity`) compared item by item with the CS's current version.

A difference shows both values, since the operator must see which side is wrong — except the 個人番号, which is
compared but never shown (番号法: no report, log or screen of the CS holds a number): `(個人番号)` stands for it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from juki.cs.domain.items import MY_NUMBER
from juki.cs.services.ports import CsTransaction
from juki.cs.wire import PrefectureClient

MASK = "(個人番号)"
MISSING = "(登録なし)"  # the item of a person the prefecture does not hold
HELD = "(保有)"


@dataclass
class CheckReport:
    persons: int = 0
    differences: list[dict[str, str | None]] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return {"persons": self.persons, "differences": self.differences}


def check(cs: CsTransaction, client: PrefectureClient) -> CheckReport:
    """Every person in scope with a 住民票コード; raises wire.Unreachable when the prefecture cannot answer."""
    with cs() as store:
        held = [(c.items.get("住民票コード"), c.items) for c in store.in_scope()]
    report = CheckReport()
    for code, ours in sorted(((c, i) for c, i in held if c), key=lambda pair: pair[0]):
        report.persons += 1
        theirs = client.identity(code)
        if theirs is None:
            report.differences.append(_difference(code, MISSING, HELD, None))
            continue
        their_items = theirs.get("items")
        assert isinstance(their_items, dict)  # the client checks the answer's shape
        report.differences += [
            _difference(code, item, value, their_items.get(item))
            for item, value in ours.items()
            if value != their_items.get(item)
        ]
    return report


def _difference(code: str, item: str, ours: str | None, theirs: object) -> dict[str, str | None]:
    shown = None if theirs is None else str(theirs)
    if item == MY_NUMBER:
        ours, shown = _masked(ours), _masked(shown)
    return {"resident_code": code, "item": item, "ours": ours, "theirs": shown}


def _masked(value: str | None) -> str | None:
    return None if value is None else MASK
