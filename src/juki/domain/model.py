"""The register's records: one 住民票 per person, grouped into 世帯.

A `ResidentRecord` is a full snapshot (標準仕様書 j200): every version of a person holds every item, so history
needs no reconstruction. Records are immutable; a change makes a new one with `dataclasses.replace`.
"""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass, field
from datetime import date
from typing import Any

ACTIVE = "active"
REMOVED = "removed"


@dataclass(frozen=True)
class Address:
    """住所: this city's addresses are parsed (town, postal code); others are kept as written."""

    address: str
    katagaki: str = ""
    postal_code: str | None = None
    town: str | None = None
    municipality_code: str | None = None
    country: str | None = None  # set only for an address abroad (国外転入・国外転出)


@dataclass(frozen=True)
class ForeignResidentItems:
    """住基法第30条の45 items of a foreign resident."""

    nationality: str
    article_30_45_category: str
    status_of_residence: str | None = None
    period_of_stay: str | None = None
    stay_expires_on: date | None = None
    residence_card_number: str | None = None
    special_permanent_resident_certificate_number: str | None = None
    alias_name: str | None = None
    alias_name_kana: str | None = None
    foreign_resident_since: date | None = None
    parallel_name: str | None = None  # 併記名: the name in kanji beside the alphabet one (j20: 氏名（漢字）)


@dataclass(frozen=True)
class Enrollment:
    """An insurance or benefit status (国保・後期高齢・介護・国民年金・児童手当) as the register notes it."""

    enrolled: bool = False
    acquired_on: date | None = None
    lost_on: date | None = None
    number: str | None = None  # 基礎年金番号 for the national pension
    category: str | None = None  # 国民年金の種別 (第1号 …)


@dataclass(frozen=True)
class Removal:
    """消除: the record stays in the register as a 除票, with why and when."""

    reason: str
    removed_on: date


@dataclass(frozen=True)
class MoveOutData:
    """転出証明書 data: what the 転出届 recorded, kept for the certificate and the next city."""

    destination: Address
    planned_on: date
    filed_on: date
    card: bool = False  # 特例転出 (標準仕様書 j670): no paper 転出証明書 was issued
    confirmed: MoveInNoticeData | None = None  # the destination's 転入通知 (j680), once received


@dataclass(frozen=True)
class MoveInNoticeData:
    """転入通知 (住基法9条1項) as received: the 転出先（確定） and the 転出年月日（確定）, beside the 予定 ones (j680)."""

    notified_on: date
    moved_in_on: date
    destination: Address


@dataclass(frozen=True)
class ResidentRecord:
    addressee_number: str
    household_number: str
    relationship: str
    position: int
    family_name: str
    given_name: str
    family_name_kana: str
    given_name_kana: str
    sex: str
    birth_date: date
    address: Address
    resident_since: date
    address_since: date
    filed_on: date
    status: str = ACTIVE
    birth_date_unknown: str | None = (
        None  # 不詳日 text (標準仕様書 j80); birth_date then holds the internal value
    )
    # j80: which parts of birth_date are unknown — (), ("day",), ("month", "day") or all three
    # (domain.dates.UNKNOWN_PARTS); birth_date still holds a whole internal date.
    birth_date_unknown_parts: tuple[str, ...] = ()
    former_surname: str | None = None
    former_surname_kana: str | None = None
    honseki: str | None = None
    family_register_head: str | None = None
    previous_address: Address | None = None
    resident_code: str | None = None
    my_number: str | None = None
    foreign: ForeignResidentItems | None = None
    removal: Removal | None = None
    move_out: MoveOutData | None = None
    voter_registered: bool = False
    national_health_insurance: Enrollment = field(default_factory=Enrollment)
    late_elderly_insurance: Enrollment = field(default_factory=Enrollment)
    long_term_care_insurance: Enrollment = field(default_factory=Enrollment)
    national_pension: Enrollment = field(default_factory=Enrollment)
    child_allowance: Enrollment = field(default_factory=Enrollment)
    school_district: str | None = None
    voting_district: str | None = None

    def __post_init__(self) -> None:
        # Stored as a JSON list: kept as a tuple, so that a record read back equals the one written.
        if not isinstance(self.birth_date_unknown_parts, tuple):
            object.__setattr__(self, "birth_date_unknown_parts", tuple(self.birth_date_unknown_parts))

    @property
    def is_active(self) -> bool:
        return self.status == ACTIVE


@dataclass(frozen=True)
class Version:
    """One entry of a person's history: the snapshot and the change that made it."""

    record: ResidentRecord
    version: int
    change_reason: str
    changed_on: date
    filed_on: date


@dataclass
class HouseholdState:
    """A household as loaded for a command: its members in 記載順位, and the version read (for concurrency)."""

    household_number: str
    address: Address
    members: list[ResidentRecord]
    version: int = 0
    is_new: bool = False

    @property
    def householder(self) -> ResidentRecord | None:
        heads = [m for m in self.members if m.relationship == "世帯主"]
        return heads[0] if heads else None


# --- plain-data conversion (JSON storage and API); one place so the two never drift -------------------------

_NESTED: dict[str, type] = {
    "address": Address,
    "previous_address": Address,
    "foreign": ForeignResidentItems,
    "removal": Removal,
    "move_out": MoveOutData,
    "national_health_insurance": Enrollment,
    "late_elderly_insurance": Enrollment,
    "long_term_care_insurance": Enrollment,
    "national_pension": Enrollment,
    "child_allowance": Enrollment,
}


_SCALARS = (str, int, float, bool, type(None))
_FIELD_NAMES: dict[type, tuple[str, ...]] = {}


def _field_names(cls: type) -> tuple[str, ...]:
    # Looked up once per class: the bulk import converts hundreds of thousands of records.
    names = _FIELD_NAMES.get(cls)
    if names is None:
        names = _FIELD_NAMES[cls] = tuple(f.name for f in dataclasses.fields(cls))
    return names


def to_plain(obj: Any) -> Any:
    """Dataclasses → dicts, dates → ISO strings."""
    if isinstance(obj, _SCALARS):
        return obj
    if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        return {name: to_plain(getattr(obj, name)) for name in _field_names(type(obj))}
    if isinstance(obj, date):
        return obj.isoformat()
    if isinstance(obj, list | tuple):
        return [to_plain(v) for v in obj]
    if isinstance(obj, dict):
        return {k: to_plain(v) for k, v in obj.items()}
    return obj


def _from_plain(cls: type, data: dict[str, Any]) -> Any:
    kwargs: dict[str, Any] = {}
    for f in dataclasses.fields(cls):
        if f.name not in data:
            continue
        value = data[f.name]
        nested = _NESTED.get(f.name) if cls is ResidentRecord else _NESTED_IN.get((cls, f.name))
        if value is not None and nested is not None:
            value = _from_plain(nested, value)
        elif value is not None and f.name in _DATE_FIELDS:
            value = date.fromisoformat(value)
        kwargs[f.name] = value
    return cls(**kwargs)


_NESTED_IN: dict[tuple[type, str], type] = {
    (MoveOutData, "destination"): Address,
    (MoveOutData, "confirmed"): MoveInNoticeData,
    (MoveInNoticeData, "destination"): Address,
}
_DATE_FIELDS = {
    "birth_date",
    "resident_since",
    "address_since",
    "filed_on",
    "stay_expires_on",
    "foreign_resident_since",
    "acquired_on",
    "lost_on",
    "removed_on",
    "planned_on",
    "notified_on",
    "moved_in_on",
}


def record_from_plain(data: dict[str, Any]) -> ResidentRecord:
    record: ResidentRecord = _from_plain(ResidentRecord, data)
    return record


def record_from_row(record: Any, my_number: str | None) -> ResidentRecord:
    """A stored snapshot (JSON text or already-decoded mapping) plus the My Number kept in its own column."""
    data = json.loads(record) if isinstance(record, str) else dict(record)
    data["my_number"] = my_number
    return record_from_plain(data)
