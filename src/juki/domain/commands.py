"""Commands: what a filing (届出) or an ex officio change (職権) asks the register to do.

Values here are already parsed and validated one by one (identifiers, names, dates); the rules that need the
register's state (who is active, who heads which household) live in the `register` package.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

from juki.domain.model import Address, ForeignResidentItems

# 異動事由 as the register records them (API.md `change_reason`).
MOVE_IN = "転入"
MOVE_IN_FROM_ABROAD = "国外転入"
MOVE_WITHIN = "転居"
MOVE_OUT = "転出"
MOVE_OUT_ABROAD = "国外転出"
BIRTH = "出生"
DEATH = "死亡"
HOUSEHOLDER_CHANGE = "世帯主変更"
SPLIT = "世帯分離"
MERGE = "世帯合併"
EX_OFFICIO_ENTRY = "職権記載"
EX_OFFICIO_CORRECTION = "職権修正"
EX_OFFICIO_REMOVAL = "職権消除"
EX_OFFICIO_RESTORATION = "職権回復"
# 標準仕様書 j40: entries of these 職権修正 are kept on the page but not printed on certificates by default
# (domain/certificates.HIDDEN_HISTORY), so they carry their own 異動事由.
SPECIAL_ADOPTION = "特別養子縁組"
SPECIAL_ADOPTION_DISSOLVED = "特別養子縁組解消"
GENDER_CHANGE = "性別変更"
# 住基ネットの「軽微な修正」: a correction of how a name, its kana or an address is written (a character, a town's
# name) that is no 異動 of the person; it may change the text of those items only (register/corrections.py).
MINOR_CORRECTION = "軽微な修正"
CORRECTION_REASONS = (
    EX_OFFICIO_CORRECTION,
    SPECIAL_ADOPTION,
    SPECIAL_ADOPTION_DISSOLVED,
    GENDER_CHANGE,
    MINOR_CORRECTION,
)
# 標準仕様書 j680 (j50): the destination's 転入通知 (住基法9条1項) confirms the 消除 of a person removed by 転出.
MOVE_OUT_CONFIRMED = "転入通知受理"
# 住基法30条の3・30条の4, 番号法7条・8条 (標準仕様書 j870〜j900): a person's numbers changing on their own.
RESIDENT_CODE_ENTRY = "住民票コード記載"  # a record that lacked a code gets one from the stock
RESIDENT_CODE_CHANGE = "住民票コード変更"  # on the person's request: a new code from the stock
MY_NUMBER_ASSIGNED = "個人番号指定"  # J-LIS generated the number the city asked for (番号法8条)
MY_NUMBER_CHANGED = "個人番号変更"  # J-LIS generated a new one on a change request (番号法7条2項)
CANCELLATION_ADD = "取消（増）"
CANCELLATION_REMOVE = "取消（減）"
CANCELLATION_AMEND = "取消（修正）"
# 標準仕様書 j1010: a change of the members' order only. Not a 異動 of the person: certificates leave it out of
# the 異動履歴 (domain/certificates.HIDDEN_HISTORY).
MEMBER_ORDER = "記載順位の変更"


@dataclass(frozen=True)
class PersonInput:
    family_name: str
    given_name: str
    family_name_kana: str
    given_name_kana: str
    birth_date: date
    sex: str
    relationship: str
    my_number: str | None = None
    resident_code: str | None = None
    honseki: str | None = None
    family_register_head: str | None = None
    former_surname: str | None = None
    former_surname_kana: str | None = None
    foreign: ForeignResidentItems | None = None
    birth_date_unknown: str | None = None  # 不詳日 as written (j80); birth_date holds its internal value
    birth_date_unknown_parts: tuple[
        str, ...
    ] = ()  # j80: the unknown parts of birth_date (dates.UNKNOWN_PARTS)


@dataclass(frozen=True)
class Command:
    filed_on: date


@dataclass(frozen=True)
class MoveIn(Command):
    changed_on: date
    previous_address: Address
    address: Address
    persons: tuple[PersonInput, ...]
    household_number: str | None = None  # None: the persons form a new household
    # 特例転入 (住基法24条の2): the 転出証明書情報 the CS holds stands in for the paper 転出証明書.
    card: bool = False
    moveout_certificate_id: str | None = None
    # The 転出証明書情報 of each person it covers, by 住民票コード (the services fill it from the CS's port).
    moveout_certificates: dict[str, str] = field(default_factory=dict)
    moveout_planned_on: date | None = (
        None  # the 転出予定日 the 転出証明書情報 gives (the period, 住基法24条の2)
    )


@dataclass(frozen=True)
class MoveWithin(Command):
    changed_on: date
    household_number: str
    addressee_numbers: tuple[str, ...]
    address: Address
    new_household: bool = False
    householder: str | None = None
    join_household_number: str | None = None
    new_relationships: dict[str, str] = field(default_factory=dict)
    new_householder: str | None = None  # of the household left behind, when its 世帯主 moves away


@dataclass(frozen=True)
class MoveOut(Command):
    planned_on: date
    addressee_numbers: tuple[str, ...]
    destination: Address
    new_householder: str | None = None
    new_relationships: dict[str, str] = field(default_factory=dict)
    card: bool = False  # 特例転出 (標準仕様書 j670): no paper 転出証明書; its data go to the CS


@dataclass(frozen=True)
class ConfirmMoveOut(Command):
    """転入通知受理 (標準仕様書 j680): the destination's 転入通知 on a person removed by 転出. `filed_on` is the day it
    is recorded; the 予定 destination and date stay as the 転出届 gave them."""

    resident_code: str
    moved_in_on: date
    destination: Address  # 転出先（確定）, with the destination's 市町村コード
    notified_on: date  # 転入通知日


@dataclass(frozen=True)
class RegisterBirth(Command):
    birth_date: date
    household_number: str
    person: PersonInput


@dataclass(frozen=True)
class RegisterDeath(Command):
    died_on: date
    addressee_number: str
    new_householder: str | None = None
    new_relationships: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class ChangeHousehold(Command):
    """世帯変更 (住基法第25条): householder_change, split or merge."""

    changed_on: date
    type: str
    household_number: str
    new_householder: str | None = None  # householder_change
    addressee_numbers: tuple[str, ...] = ()  # split: who leaves to form the new household
    householder: str | None = None  # split: the new household's head
    into_household_number: str | None = None  # merge: the household that absorbs `household_number`
    new_relationships: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class ExOfficioEntry(Command):
    changed_on: date
    reason: str
    address: Address
    persons: tuple[PersonInput, ...]
    household_number: str | None = None


@dataclass(frozen=True)
class ExOfficioCorrection(Command):
    changed_on: date
    reason: str
    addressee_number: str
    corrections: dict[str, object]
    change_reason: str = EX_OFFICIO_CORRECTION  # one of CORRECTION_REASONS


@dataclass(frozen=True)
class ExOfficioRemoval(Command):
    changed_on: date
    reason: str
    addressee_numbers: tuple[str, ...]
    new_householder: str | None = None
    new_relationships: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class ExOfficioRestoration(Command):
    changed_on: date
    reason: str
    addressee_number: str


@dataclass(frozen=True)
class CancelFiling(Command):
    """取消し (標準仕様書 4.6, j980): restore each person the filing changed to their state before it — all of them,
    or only `addressee_numbers` (part of the household)."""

    filing_id: str
    reason: str
    addressee_numbers: tuple[str, ...] = ()


@dataclass(frozen=True)
class ReorderMembers(Command):
    """記載順位の変更 (標準仕様書 j1010): the standard order (`order` None) or the clerk's own (`order` lists every
    current member's 宛名番号 once). `expected_version` is the household's version the caller read, if given."""

    household_number: str
    order: tuple[str, ...] | None = None
    expected_version: int | None = None


EX_OFFICIO = (ExOfficioEntry, ExOfficioCorrection, ExOfficioRemoval, ExOfficioRestoration)


@dataclass(frozen=True)
class ChangeResidentCode(Command):
    """住民票コード記載 (a record without one) or 住民票コード変更 (住基法30条の4, the person's request): a code drawn
    from the city's stock replaces the one held, which stays in the history as the 旧住民票コード."""

    addressee_number: str
    change_reason: str  # RESIDENT_CODE_ENTRY or RESIDENT_CODE_CHANGE


@dataclass(frozen=True)
class AssignMyNumber(Command):
    """The 個人番号 J-LIS generated (番号法8条) on the city's request, or the new one of a change (7条2項), set on
    the person whose 住民票コード the request named."""

    addressee_number: str
    resident_code: str
    my_number: str
    change_reason: str  # MY_NUMBER_ASSIGNED or MY_NUMBER_CHANGED
