"""What the stores answer, in the services' words: frozen records built by the adapters from their rows.

Each attribute keeps the name of the column it comes from, so a service reads `measure.state` whatever engine
answered. The adapters build them (adapters/rows.py); the services never see a database row from these stores.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from juki.services.audit import Fact

# --- the register's read side (adapters.queries) -----------------------------------------------------------------


@dataclass(frozen=True)
class StoredResident:
    """A person's current row (除票 too). The My Number stays sealed until `my_number` is read, so a list that
    never shows it never decrypts it. A history search adds whether today's name and address match (1/0)."""

    addressee_number: str
    version: int
    status: str  # active / removed
    household_number: str
    position: int  # 記載順位, an order key
    relationship: str
    family_name: str
    given_name: str
    birth_date: date
    sex: str
    address: str
    resident_code: str | None
    residence_card_number: str | None
    last_changed_on: date
    record: dict[
        str, Any
    ]  # the ResidentRecord's snapshot, without the My Number (domain.model.record_from_row)
    has_my_number: bool
    open_my_number: Callable[[], str | None] = field(repr=False, compare=False)
    name_now: int = 1
    address_now: int = 1

    @property
    def my_number(self) -> str | None:
        return self.open_my_number()


@dataclass(frozen=True)
class StoredVersion:
    """One version of a person's record, as recorded (append-only); the My Number sealed as in StoredResident."""

    addressee_number: str
    version: int
    household_number: str
    change_reason: str
    changed_on: date
    filed_on: date
    recorded_at: datetime
    filing_id: str
    staff_id: str
    family_name: str
    given_name: str
    address: str
    record: dict[str, Any]
    has_my_number: bool
    open_my_number: Callable[[], str | None] = field(repr=False, compare=False)

    @property
    def my_number(self) -> str | None:
        return self.open_my_number()


@dataclass(frozen=True)
class Household:
    household_number: str
    version: int
    status: str  # active / removed
    address: str
    householder: str | None
    member_count: int


@dataclass(frozen=True)
class StoredFiling:
    """A filing as entered (届出). Its secrets (a My Number in the command) stay sealed until `secret_payload` is
    read; `payload` never holds one."""

    filing_id: str
    kind: str
    change_reason: str | None
    changed_on: date | None
    filed_on: date
    late: bool
    household_number: str | None
    staff_id: str
    recorded_at: datetime
    approval_state: str  # none / pending / approved / returned
    approved_by: str | None
    decided_at: datetime | None
    reason: str | None
    payload: dict[str, Any]  # the command as entered, without its secrets
    open_secret_payload: Callable[[], Any] = field(repr=False, compare=False)

    @property
    def secret_payload(self) -> Any:  # the secrets as entered (JSON), or None
        return self.open_secret_payload()


@dataclass(frozen=True)
class FilingChange:
    """One version a filing wrote."""

    addressee_number: str
    version: int
    change_reason: str


@dataclass(frozen=True)
class MatchedVersion:
    """A version of a person found by a history search, and whether its name and its address matched (1/0)."""

    addressee_number: str
    version: int
    changed_on: date
    change_reason: str
    family_name: str
    given_name: str
    address: str
    name_hit: int
    address_hit: int


# --- work orders, 支援措置, alerts, bulk outputs, media records (adapters.controls_store) ----------------------------


@dataclass(frozen=True)
class WorkOrder:
    """A contractor's (委託先) work order."""

    order_id: str
    contractor_id: str
    procedure: str
    permissions: list[str]
    purpose: str
    valid_from: datetime
    valid_until: datetime
    issued_by: str
    issued_at: datetime
    revoked_at: datetime | None


@dataclass(frozen=True)
class ProtectionMeasure:
    """A 支援措置 or another hold (j410) on a person or a household, as stored (its state on a day is the domain's)."""

    measure_id: str
    subject_kind: str  # person / household
    subject: str
    reason: str
    requester: str
    received_on: date
    starts_on: date
    ends_on: date
    provisional: bool
    state: str  # active / ended
    ended_on: date | None
    end_reason: str | None
    released_until: datetime | None
    release_reason: str | None
    version: int
    created_by: str
    created_at: datetime
    kind: str  # support / hold
    operations: list[str]
    level: str  # error / alert


@dataclass(frozen=True)
class Alert:
    alert_id: str
    at: datetime
    kind: str
    subject: str | None
    staff_id: str
    detail: str
    acknowledged_by: str | None
    acknowledged_at: datetime | None


@dataclass(frozen=True)
class BulkOutput:
    """A bulk output request (大量のデータ出力)."""

    output_id: str
    requested_by: str
    requested_at: datetime
    procedure: str
    purpose: str
    criteria: dict[str, Any]  # JSON: status, town, born_from, born_to (ISO dates or None)
    person_count: int
    state: str  # pending / approved / rejected / done
    decided_by: str | None
    decided_at: datetime | None
    comment: str | None
    completed_at: datetime | None
    sha256: str | None


@dataclass(frozen=True)
class MediaRecord:
    """A media export record (媒体出力の記録)."""

    record_id: str
    recorded_at: datetime
    staff_id: str
    witness_id: str
    purpose: str
    medium: str
    item_count: int
    sha256: str
    output_id: str | None


@dataclass(frozen=True)
class SelectedResident:
    """A person a bulk output selects; status, address, birth date, sex and record only when it runs."""

    addressee_number: str
    household_number: str
    status: str | None = None
    address: str | None = None
    birth_date: date | None = None
    sex: str | None = None
    record: dict[str, Any] | None = None


# --- WebAuthn (adapters.webauthn_store) ----------------------------------------------------------------------------


@dataclass(frozen=True)
class StaffAccount:
    """A staff account as the sign-in steps read it (the password hash and TOTP secret included)."""

    staff_id: str
    username: str
    display_name: str
    role: str
    department: str | None
    password_hash: str
    totp_secret: str
    active: bool
    is_demo: bool
    failed_logins: int
    last_otp_step: int | None
    created_at: datetime
    valid_until: datetime | None


@dataclass(frozen=True)
class StaffSession(StaffAccount):
    """A bearer token's session (adapters.staff_store), with the account that opened it."""

    token_hash: str
    opened_at: datetime
    expires_at: datetime
    revoked: bool
    terminal: str  # as the client named itself at sign-in


@dataclass(frozen=True)
class WebAuthnCredential:
    credential_id: str  # base64url
    staff_id: str
    public_key: str  # COSE key, base64url
    sign_count: int
    transports: list[str]
    aaguid: str
    name: str
    created_at: datetime
    last_used_at: datetime | None
    active: bool
    deactivated_at: datetime | None
    deactivated_by: str | None


@dataclass(frozen=True)
class WebAuthnChallenge:
    challenge_id: str
    staff_id: str
    purpose: str  # register / authenticate
    challenge: str
    enrolment_code_id: str | None
    terminal: str
    created_at: datetime
    expires_at: datetime
    used_at: datetime | None


@dataclass(frozen=True)
class EnrolmentCodeRecord:
    code_id: str
    staff_id: str
    code_hash: str
    issued_by: str
    issued_at: datetime
    expires_at: datetime
    used_at: datetime | None
    revoked_at: datetime | None


# --- data-subject requests (adapters.subject_request_store) ----------------------------------------------------------


@dataclass(frozen=True)
class SubjectRequest:
    """A 開示・訂正・利用停止請求 and every step taken on it."""

    request_id: str
    kind: str  # disclosure / correction / suspension
    addressee_number: str
    requester_type: str  # self / legal_representative / agent
    requester_name: str
    requester_relationship: str | None
    identity_document: str
    authority_document: str | None
    identity_checked_by: str
    received_on: date
    initial_due_on: date
    due_on: date
    request_text: str
    include_my_number: bool
    state: str  # received / extended / decided / answered
    extension_days: int | None
    extension_reason: str | None
    extended_by: str | None
    extended_at: datetime | None
    decision: str | None
    decision_reason: str | None
    decided_on: date | None
    correction_filing_id: str | None
    decided_by: str | None
    decided_at: datetime | None
    answered_on: date | None
    answered_by: str | None
    answered_at: datetime | None
    created_by: str
    created_at: datetime
    version: int


@dataclass(frozen=True)
class StaffStatus:
    staff_id: str
    active: bool


@dataclass(frozen=True)
class UseOfRecord:
    """An operation-log entry naming the person, for the disclosure package, with the staff member's department."""

    seq: int
    at: datetime
    staff_name: str
    role: str
    department: str | None  # None: an account no longer in the staff table
    procedure: str
    action: str
    my_number_shown: bool
    targets: list[str]


@dataclass(frozen=True)
class ChangeSent:
    """An outbox entry about the person: what went out about them."""

    seq: int
    event: str
    version: int
    change_reason: str
    changed_on: date
    filing_id: str
    recorded_at: datetime


# --- the operation log's read side for the auditor (adapters.audit_store) ---------------------------------------------


@dataclass(frozen=True)
class LogRecord:
    """One stored entry of the operation log, without its chain hashes; `at` is UTC."""

    seq: int
    at: datetime
    staff_id: str
    staff_name: str
    role: str
    terminal: str
    procedure: str
    action: str
    targets: tuple[str, ...]
    my_number_shown: bool
    result: str
    detail: str
    facts: dict[str, Fact] | None  # None: written without facts


@dataclass(frozen=True)
class SignInTally:
    """Sign-in attempts (`auth:login`) of one account — and terminal, when counted per terminal — in a period.

    The account is the staff id logged, or the masked name typed for an unknown one. Times are UTC; a `first_ok_at`
    or `first_failed_at` is None when there was no such attempt."""

    staff_id: str
    terminal: str | None  # None: counted over every terminal
    staff_name: str
    role: str
    ok: int
    failed: int
    rate_limited: int
    attempts: int
    terminals: int
    first_ok_at: datetime | None
    last_ok_at: datetime | None
    first_failed_at: datetime | None
    last_failed_at: datetime | None


# --- the outbox (adapters.repository.read_outbox) -------------------------------------------------------------


@dataclass(frozen=True)
class OutboxEntry:
    """One outbox row with the record of the version it points at (docs/events.md)."""

    seq: int
    event: str
    addressee_number: str
    version: int
    household_number: str
    change_reason: str
    changed_on: date
    filing_id: str
    schema_version: int
    payload: dict[str, Any] | None  # the event's body; None for a row written before events had one
    my_number_sealed: str | None  # the event key's token
    record: dict[str, Any]  # the version's snapshot, without the My Number
    has_my_number: bool


@dataclass(frozen=True)
class HeldMoveOut:
    """One 転出証明書情報 the 市町村CS holds for a 特例転入 (住基法24条の2第3項): what the previous city sent."""

    certificate_id: str
    resident_code: str
    my_number: str | None = field(repr=False)  # never in a log line or a message
    family_name: str
    given_name: str
    family_name_kana: str
    given_name_kana: str
    birth_date: date
    sex: str  # 男/女
    relationship: str  # 続柄 at the previous city
    householder_name: str | None
    previous_address: str  # the 転出元
    previous_city_code: str
    planned_on: date  # 転出予定日
    destination_address: str  # 転出先 as the previous city recorded it
    provisional_protection: bool  # a 支援措置 of the previous city (標準仕様書 j440)
    received_on: date
