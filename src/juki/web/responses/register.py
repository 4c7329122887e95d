"""Answers of the register: records, households, searches and filings (API.md "Register" and "Filings")."""

from __future__ import annotations

from typing import Any

from juki.web.responses import FieldMessage, Out

# A record's parts are mixins so that each answer keeps the register's key order: pydantic lays out the fields of
# the last base first.


class Address(Out):
    """An address; a household without a current member shows only its `address` line."""

    address: str
    katagaki: str = ""
    postal_code: str | None = None
    town: str | None = None
    municipality_code: str | None = None
    country: str | None = None  # only for an address abroad (国外転入・国外転出)


class Removal(Out):
    reason: str  # 消除事由
    removed_on: str


class MoveInNotice(Out):
    """The destination's 転入通知 (標準仕様書 j680): the 転出先・転出年月日（確定）."""

    notified_on: str
    moved_in_on: str
    destination: Address


class MoveOut(Out):
    """What the 転出届 recorded, kept for the 転出証明書 (the 予定 destination and date, never overwritten)."""

    destination: Address
    planned_on: str
    filed_on: str
    card: bool = False  # 特例転出 (j670): no paper 転出証明書
    confirmed: MoveInNotice | None = None  # the 転入通知, once received


class MoveOutConfirmed(Out):
    """`POST /filings/move-out-confirmations`: the 転入通知受理 recorded."""

    filing_id: str


class HeldMoveOut(Out):
    """One 転出証明書情報 the CS holds for a 特例転入 (never the 個人番号: `has_my_number` only)."""

    certificate_id: str
    resident_code: str
    has_my_number: bool
    family_name: str
    given_name: str
    family_name_kana: str
    given_name_kana: str
    birth_date: str
    sex: str
    relationship: str
    householder_name: str | None
    previous_address: str
    previous_city_code: str
    planned_on: str
    destination_address: str
    provisional_protection: bool
    received_on: str


class HeldMoveOuts(Out):
    certificates: list[HeldMoveOut]


class Foreign(Out):
    """住基法第30条の45 items of a foreign resident."""

    nationality: str
    article_30_45_category: str
    status_of_residence: str | None
    period_of_stay: str | None
    stay_expires_on: str | None
    residence_card_number: str | None
    special_permanent_resident_certificate_number: str | None
    alias_name: str | None
    alias_name_kana: str | None
    foreign_resident_since: str | None
    parallel_name: str | None


class Enrollment(Out):
    enrolled: bool
    acquired_on: str | None
    lost_on: str | None
    number: str | None
    category: str | None


class _Addressee(Out):
    addressee_number: str


class _RecordStatus(Out):
    status: str  # active / removed


class _Version(Out):
    version: int


class _Placement(Out):
    household_number: str
    relationship: str
    position: int
    family_name: str
    given_name: str
    family_name_kana: str
    given_name_kana: str
    sex: str
    birth_date: str
    address: Address
    resident_since: str
    address_since: str
    filed_on: str


class _Details(Out):
    birth_date_unknown: str | None
    birth_date_unknown_parts: list[str]
    former_surname: str | None
    former_surname_kana: str | None
    honseki: str | None
    family_register_head: str | None
    previous_address: Address | None
    resident_code: str | None
    my_number: str | None = None  # only with `include=my_number`, for a procedure that may reveal it
    foreign: Foreign | None
    removal: Removal | None
    move_out: MoveOut | None
    voter_registered: bool
    national_health_insurance: Enrollment
    late_elderly_insurance: Enrollment
    long_term_care_insurance: Enrollment
    national_pension: Enrollment
    child_allowance: Enrollment
    school_district: str | None
    voting_district: str | None


class Record(_Details, _RecordStatus, _Placement, _Addressee):
    """One version's record."""


class Resident(_Details, _Placement, _Version, _RecordStatus, _Addressee):
    """`GET /residents/{n}`: the current record. Its route leaves out unset keys (`my_number` when not asked)."""


class RecordVersion(Out):
    version: int
    change_reason: str
    changed_on: str
    filed_on: str
    recorded_at: str
    filing_id: str | None
    staff_id: str | None
    record: Record


class History(Out):
    """`GET /residents/{n}/history`, oldest first."""

    addressee_number: str
    versions: list[RecordVersion]


class _Person(Out):
    family_name: str
    given_name: str
    family_name_kana: str
    given_name_kana: str
    birth_date: str
    sex: str


class MatchedHistory(Out):
    """A criterion today's record fails, met by an earlier version (`history=true`)."""

    field: str  # name / address
    value: str
    version: int
    changed_on: str
    until: str | None


class Summary(_Person, _RecordStatus, _Addressee):
    """What a list of people shows of each: enough to pick the right person."""

    household_number: str
    relationship: str
    address: Address
    removal: Removal | None


class SearchResult(Summary):
    matched_on: str  # current / history
    matched_history: list[MatchedHistory]


class SearchResults(Out):
    results: list[SearchResult]
    truncated: bool


class MoveOutCertificate(Summary):
    """`GET /residents/{n}/move-out-certificate`: the summary with what the 転出証明書 prints."""

    resident_since: str
    address_since: str
    resident_code: str | None
    honseki: str | None
    family_register_head: str | None
    foreign: Foreign | None
    move_out: MoveOut


class Member(_Addressee):
    relationship: str
    position: int
    family_name: str
    given_name: str
    family_name_kana: str
    given_name_kana: str
    birth_date: str
    sex: str
    status: str
    removal: Removal | None


class Household(Out):
    """`GET /households/{n}`; `position` of a member is its rank among those shown (j1010)."""

    household_number: str
    version: int
    status: str
    householder: str | None  # null without a 世帯主, or when the 世帯主 is hidden from the caller
    address: Address
    members: list[Member]
    removed_members: list[Member]  # j430


class Change(Out):
    addressee_number: str
    change_reason: str  # 異動事由
    version: int


class FilingAccepted(Out):
    """A filing that took effect."""

    filing_id: str
    household_number: str | None
    changes: list[Change]
    late: bool
    warnings: list[FieldMessage]


class FilingState(Out):
    """A filing waiting for (or sent back by) a supervisor: ex officio changes answer `202` so."""

    filing_id: str
    approval_state: str


class FilingApproved(FilingAccepted):
    approval_state: str


FilingAnswer = FilingAccepted | FilingState
ApprovalAnswer = FilingApproved | FilingState


class Filing(Out):
    """A filing as recorded; `payload` and `reason` are null when it names a person hidden from the caller."""

    filing_id: str
    kind: str
    change_reason: str
    changed_on: str | None
    filed_on: str
    late: bool
    household_number: str | None
    staff_id: str | None
    recorded_at: str
    approval_state: str
    approved_by: str | None
    reason: str | None
    payload: dict[str, Any] | None
    changes: list[Change]


class Filings(Out):
    filings: list[Filing]


class MemberPosition(_Addressee):
    relationship: str
    position: int


class MemberOrder(Out):
    """`POST /households/{n}/member-order`: the new order; `filing_id` null when nothing changed."""

    filing_id: str | None
    household_number: str
    version: int
    members: list[MemberPosition]
    changes: list[Change]
    warnings: list[FieldMessage]
