"""The city's one transfer policy (庁内連携): which department system may receive which items, for which 事務, on
which legal basis — as data, seeded from the PIA and versioned.

The seed: 別紙2 (`transfer_recipients.csv`, 53 rows: each a 事務 under 番号法9条 別表第1 or the city's ordinance,
for one or more departments) and row 59 of 別紙1 (`provision_recipients.csv`: the 教育委員会 学務課, the city's
ordinance, through the 庁内連携システム). Departments with a legal need but no My Number basis are rows of their own
(`OTHER_BASES`): the 選挙管理委員会 keeps the 選挙人名簿 from the register (住基法15条) without the 個人番号.

A **department system** (業務システム) is one department's system, registered for every row that names the
department; it may receive the union of those rows' items, the 個人番号 only when one of them rests on 番号法9条 or
the ordinance under it (番号法9条2項), and only the population its rows cover. Its OAuth scopes follow from its rows
(`scopes_for`).

The policy is versioned: an amendment (a row's wording, departments or items changed, a row withdrawn or added) is
stored with who made it and when (`services/transfer_feed.amend_policy`); `load_policy` applies the latest stored
version to the seed. Version 0 is the seed itself.
"""

from __future__ import annotations

import csv
import unicodedata
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime
from functools import cache
from importlib import resources
from typing import TYPE_CHECKING, Any

from juki.transfer.items import ALL_ITEMS, MY_NUMBER, items_of, items_worded

if TYPE_CHECKING:
    from juki.services.unit_of_work import UnitOfWorkFactory

TRANSFERS = "別紙2"  # 移転先一覧
PROVISIONS = "別紙1"  # 提供先一覧
OTHER = "その他"  # a basis outside the PIA's lists: no My Number

# The ordinance under 番号法9条2項 that lets the city's own 事務 use the 個人番号.
CITY_ORDINANCE = "小平市個人番号の利用並びに特定個人情報"
# 別紙1's one row that runs through the 庁内連携 (the 教育委員会's 学務課 is a body of the city).
PROVISION_ROWS_BY_TRANSFER = (59,)

# Scopes (`<provider system>:<resource>:<operation>`).
SCOPE_CHANGES = "juki:transfer-changes:read"  # GET /api/v1/transfer/changes
SCOPE_EXTRACT = "juki:transfer-extract:read"  # GET /api/v1/transfer/extract (a first load)
SCOPE_MY_NUMBER = "juki:transfer-my-number:read"  # the 個人番号 among the items (include=my_number)
SCOPES = (SCOPE_CHANGES, SCOPE_EXTRACT, SCOPE_MY_NUMBER)

# One stable ASCII id per department (its business system's client and feed are named by it).
SYSTEM_IDS: Mapping[str, str] = {
    "保育課": "hoiku",
    "障がい者支援課": "shogaisha-shien",
    "生活支援課": "seikatsu-shien",
    "健康推進課": "kenko-suishin",
    "収納課": "shuno",
    "税務課": "zeimu",
    "保険年金課": "hoken-nenkin",
    "高齢者支援課": "koreisha-shien",
    "防災危機管理課": "bosai-kiki",
    "子育て支援課": "kosodate-shien",
    "学務課": "gakumu",
    "選挙管理委員会": "senkyo",
}


@dataclass(frozen=True)
class TransferRow:
    """One 事務 of the policy: a row of 別紙2 (or 別紙1), and what it lets its departments receive."""

    sheet: str  # 別紙2, 別紙1, or その他
    no: int  # the row's number in its sheet (その他: its own numbering)
    departments: tuple[str, ...]
    legal_basis: str
    purpose: str  # the 事務 (移転先における用途)
    information: str  # what the seed says is transferred, as worded
    items: frozenset[str]  # the record fields that wording covers
    population: str  # 対象となる本人の数
    scope: str  # 対象となる本人の範囲
    method: str
    timing: str
    nationals_only: bool = False  # the 選挙人名簿: 日本国民 only (公職選挙法9条)

    @property
    def key(self) -> str:
        return f"{self.sheet}-{self.no}"

    @property
    def my_number(self) -> bool:
        """番号法9条 (1項: 別表第1; 2項: the city's ordinance) is the only basis for the 個人番号 among the items."""
        basis = unicodedata.normalize("NFKC", self.legal_basis).replace(" ", "")
        return MY_NUMBER in self.items and (basis.startswith("番号法第9条") or CITY_ORDINANCE in basis)

    @property
    def allowed_items(self) -> frozenset[str]:
        return self.items if self.my_number else self.items - {MY_NUMBER}


@dataclass(frozen=True)
class DepartmentSystem:
    """One department's business system: a client of the feed, registered for every row that names it."""

    system_id: str
    department: str
    name: str
    rows: tuple[int, ...]  # the 別紙 row numbers it serves (別紙2's, and 59 of 別紙1 for 学務課)
    procedures: tuple[TransferRow, ...]
    items: frozenset[str]  # the record fields it may receive (the 個人番号 only when `my_number`)
    my_number: bool
    nationals_only: bool
    scopes: frozenset[str]

    def row_keys(self) -> list[str]:
        return [r.key for r in self.procedures]

    def bases(self) -> list[str]:
        """Each 事務 with its legal basis, for the delivery log ("for which procedure, on which legal basis")."""
        return [f"{r.key} {r.legal_basis}" for r in self.procedures]


@dataclass(frozen=True)
class Policy:
    version: int
    changed_at: datetime | None  # None: the seed
    changed_by: str | None
    reason: str
    transfers: tuple[TransferRow, ...]  # 別紙2, in order
    provisions: tuple[TransferRow, ...]  # 別紙1, in order (the PIA renders all 59)
    others: tuple[TransferRow, ...]  # bases outside the PIA's lists (no My Number)
    systems: tuple[DepartmentSystem, ...] = field(default=())

    def system(self, system_id: str) -> DepartmentSystem | None:
        return next((s for s in self.systems if s.system_id == system_id), None)

    def by_department(self, department: str) -> DepartmentSystem | None:
        return next((s for s in self.systems if s.department == department), None)

    def rows(self) -> tuple[TransferRow, ...]:
        """Every row a department system serves (別紙2, 別紙1's 庁内連携 rows, and the other bases)."""
        through = tuple(r for r in self.provisions if r.no in PROVISION_ROWS_BY_TRANSFER)
        return self.transfers + through + self.others


# --- the seed ---------------------------------------------------------------------------------------------------


def _departments(recipient: str) -> tuple[str, ...]:
    """別紙2 names several departments in one cell ("収納課 税務課 保険年金課"); 別紙1's "小平市教育委員会 学務課" is
    one department of the 教育委員会."""
    parts = recipient.split()
    if parts and parts[0].endswith("教育委員会"):
        return tuple(parts[1:])
    return tuple(parts)


def _row(sheet: str, values: Mapping[str, str]) -> TransferRow:
    return TransferRow(
        sheet=sheet,
        no=int(values["no"]),
        departments=_departments(values["recipient"]),
        legal_basis=values["legal_basis"],
        purpose=values["purpose"],
        information=values["information"],
        items=items_worded(values["information"]),
        population=values["population"],
        scope=values["scope"],
        method=values["method"].lstrip("・").strip(),
        timing=values["timing"],
    )


def _read(name: str) -> list[dict[str, str]]:
    text = resources.files("juki.policy").joinpath("data", name).read_text(encoding="utf-8")
    return list(csv.DictReader(text.splitlines()))


# 住基法15条: the 選挙人名簿 is kept from the register; the 選挙管理委員会 needs who may vote and where, never the
# 個人番号 (no basis in 番号法9条). 氏名, 生年月日, 性別, 住民となった日, 住所とその日, 従前の住所, 選挙人名簿の
# 登録, and 消除・転出 (住所要件, 公職選挙法9条・21条).
OTHER_BASES = (
    TransferRow(
        sheet=OTHER,
        no=1,
        departments=("選挙管理委員会",),
        legal_basis="住民基本台帳法第15条、公職選挙法第21条",
        purpose="選挙人名簿の調製及び登録に関する事務",
        information="住基法第7条第1号から第3号まで、第6号から第9号まで及び第14号に規定する事項（個人番号を除く）",
        items=items_of("1", "2", "3", "6", "7", "8", "9", "14") - {"foreign"},
        population="10万人以上 100万人未満",
        scope="市内の住民のうち日本国民 ※消除者を含む",
        method="庁内連携システム",
        timing="異動情報を随時連携",
        nationals_only=True,
    ),
)


@cache
def seed() -> Policy:
    """Version 0: the PIA's lists as shipped (src/juki/policy/data, copies of shared/data)."""
    transfers = tuple(_row(TRANSFERS, r) for r in _read("transfer_recipients.csv"))
    provisions = tuple(_row(PROVISIONS, r) for r in _read("provision_recipients.csv"))
    return _with_systems(
        Policy(0, None, None, "特定個人情報保護評価書（別紙1・別紙2）", transfers, provisions, OTHER_BASES)
    )


# --- department systems ------------------------------------------------------------------------------------------


def scopes_for(rows: Iterable[TransferRow]) -> frozenset[str]:
    """A system's scopes follow from its rows: changes as they happen (異動情報を随時連携) and on request (照会の都度)
    alike come from the change feed and the first load; the 個人番号 only where a row's basis includes it."""
    rows = list(rows)
    scopes = {SCOPE_CHANGES, SCOPE_EXTRACT} if rows else set()
    if any(r.my_number for r in rows):
        scopes.add(SCOPE_MY_NUMBER)
    return frozenset(scopes)


def _system(department: str, rows: list[TransferRow]) -> DepartmentSystem:
    items = frozenset().union(*(r.allowed_items for r in rows))
    return DepartmentSystem(
        system_id=SYSTEM_IDS.get(department) or _ascii_id(department),
        department=department,
        name=f"{department} 業務システム",
        rows=tuple(r.no for r in rows if r.sheet != OTHER),
        procedures=tuple(rows),
        items=items,
        my_number=MY_NUMBER in items,
        nationals_only=all(r.nationals_only for r in rows),
        scopes=scopes_for(rows),
    )


def _ascii_id(department: str) -> str:
    """A department an amendment adds without an id of its own: a stable id from its name's code points."""
    return "dept-" + "".join(f"{ord(ch):x}" for ch in department)[:40]


def _with_systems(policy: Policy) -> Policy:
    by_department: dict[str, list[TransferRow]] = {}
    for row in policy.rows():
        for department in row.departments:
            by_department.setdefault(department, []).append(row)
    systems = tuple(_system(d, rows) for d, rows in by_department.items())
    return replace(policy, systems=systems)


# --- amendments (versions) ---------------------------------------------------------------------------------------

_AMENDABLE = (
    "departments",
    "legal_basis",
    "purpose",
    "information",
    "population",
    "scope",
    "method",
    "timing",
)


def amended(
    base: Policy, document: Mapping[str, Any], version: int, by: str, at: datetime, reason: str
) -> Policy:
    """The seed with a stored amendment applied. `document`: {"rows": {"別紙2-11": {field: value, …} or
    {"withdrawn": true}}, "added": [a row's fields, sheet その他]}. A row's items follow from its wording; an
    amendment may narrow them with "items" (never beyond what 住基法7条 holds)."""
    rows = {r.key: r for r in base.transfers + base.provisions + base.others}
    withdrawn: set[str] = set()
    for key, change in dict(document.get("rows", {})).items():
        if key not in rows:
            raise ValueError(f"ポリシーにない行です: {key}")
        if change.get("withdrawn"):
            withdrawn.add(key)
            continue
        rows[key] = _changed(rows[key], change)
    others = list(base.others)
    for i, added in enumerate(document.get("added", []), start=len(base.others) + 1):
        row = _changed(replace(OTHER_BASES[0], no=i, nationals_only=False), added)
        others.append(row)
        rows[row.key] = row
    keep = [k for k in rows if k not in withdrawn]
    return _with_systems(
        Policy(
            version,
            at,
            by,
            reason,
            tuple(rows[k] for k in keep if rows[k].sheet == TRANSFERS),
            tuple(rows[k] for k in keep if rows[k].sheet == PROVISIONS),
            tuple(rows[k] for k in keep if rows[k].sheet == OTHER),
        )
    )


def _changed(row: TransferRow, change: Mapping[str, Any]) -> TransferRow:
    values: dict[str, Any] = {k: change[k] for k in _AMENDABLE if k in change}
    if "departments" in values:
        values["departments"] = tuple(str(d) for d in values["departments"])
    if "information" in values:
        values["items"] = items_worded(str(values["information"]))
    if "items" in change:  # narrowed only: never beyond what the row's wording declares
        narrowed = frozenset(str(i) for i in change["items"])
        if not narrowed <= ALL_ITEMS:
            raise ValueError("住基法第7条にない項目は移転できません")
        values["items"] = narrowed & values.get("items", row.items)
    if "nationals_only" in change:
        values["nationals_only"] = bool(change["nationals_only"])
    unknown = set(change) - set(_AMENDABLE) - {"items", "nationals_only", "withdrawn"}
    if unknown:
        raise ValueError(f"変更できない項目です: {sorted(unknown)}")
    return replace(row, **values)


def load_policy(uow_factory: UnitOfWorkFactory | None = None) -> Policy:
    """The policy in force: the seed, with the latest stored amendment when a register is given (without one, the
    seed alone)."""
    if uow_factory is None:
        return seed()
    from juki.services.transfer_feed import stored_policy

    return stored_policy(uow_factory)
