"""The 照会許可照合リスト (query_permission_list): which body may ask for which 特定個人情報, on which legal basis, as
data.

Seeded from the PIA's 別紙1 (`juki/policy/data/provision_recipients.csv`, a copy of shared/data): rows 1–58, the
provisions through the 情報提供ネットワークシステム — row 59 is the city's own ordinance through the 庁内連携 and
never reaches the network. One entry per row (the same body appears in many rows, once per 事務): the requester is
the row's `recipient` cell whole, the legal basis its `legal_basis` (compared ignoring white space), the
information its 特定個人情報名 with the items of the replica's layout. A change of the law (the 別表 moved into a
主務省令, a row added) is a change of that file.

A query is allowed only if an entry names exactly its (requester, legal basis, information) and every item it asks
for is among the entry's items.
"""

from __future__ import annotations

import csv
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from functools import cache
from importlib import resources

from juki.intermediate.domain.replica import LAYOUTS_BY_NAME

NETWORK_ROWS = range(1, 59)  # 別紙1 rows 1–58: 情報提供ネットワークシステム; row 59 is the 庁内連携
SOURCE = "provision_recipients.csv"
_SPACE = re.compile(r"\s+")


def basis_key(text: str) -> str:
    """A legal basis as compared: without any white space (the PIA writes 「第8号 別表」 and 「第8号別表」 alike)."""
    return _SPACE.sub("", text)


def information_name(cell: str) -> str:
    """The 特定個人情報名 of a row's `information` cell: the text before its first parenthesis."""
    return re.split(r"[（(]", cell, maxsplit=1)[0].strip()


@dataclass(frozen=True)
class Entry:
    no: int  # the row of 別紙1
    requester: str
    legal_basis: str
    procedure: str  # the row's purpose (事務)
    information: str  # 特定個人情報名
    items: tuple[str, ...]  # the item names it may ask for

    def matches(self, requester: str, legal_basis: str, information: str) -> bool:
        return (
            self.requester == requester
            and basis_key(self.legal_basis) == basis_key(legal_basis)
            and self.information == information
        )


@dataclass(frozen=True)
class Decision:
    allowed: bool
    entry: Entry | None  # the entry that matched (requester, basis, information), allowed or not
    items: tuple[str, ...]  # the items to answer (allowed), or those asked (refused)


@dataclass(frozen=True)
class QueryPermissionList:
    entries: tuple[Entry, ...]

    def decide(
        self, requester: str, legal_basis: str, information: str, items: Sequence[str] | None
    ) -> Decision:
        """`items` None asks for every item of the information the entry allows."""
        entry = next((e for e in self.entries if e.matches(requester, legal_basis, information)), None)
        asked = tuple(items) if items is not None else None
        if entry is None:
            return Decision(False, None, asked or ())
        if asked is None:
            return Decision(True, entry, entry.items)
        if not asked or len(set(asked)) != len(asked) or not set(asked) <= set(entry.items):
            return Decision(False, entry, asked)
        return Decision(True, entry, asked)


def from_rows(rows: Iterable[Mapping[str, str]]) -> QueryPermissionList:
    """The list from 別紙1's rows: those through the network, each with its information's items."""
    entries = []
    for row in rows:
        no = int(row["no"])
        if no not in NETWORK_ROWS:
            continue
        name = information_name(row["information"])
        spec = LAYOUTS_BY_NAME.get(name)
        if spec is None:
            raise ValueError(f"別紙1 {no}: 特定個人情報名「{name}」のレイアウトがありません")
        entries.append(
            Entry(
                no,
                row["recipient"].strip(),
                row["legal_basis"].strip(),
                row["purpose"].strip(),
                name,
                spec.item_names,
            )
        )
    return QueryPermissionList(tuple(entries))


@cache
def seed() -> QueryPermissionList:
    """The list as shipped (the PIA's 別紙1)."""
    text = resources.files("juki.policy").joinpath("data", SOURCE).read_text(encoding="utf-8")
    return from_rows(csv.DictReader(text.splitlines()))
