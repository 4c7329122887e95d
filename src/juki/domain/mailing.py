"""送付先情報: where J-LIS mails a person's 個人番号通知書 (個人番号カード省令23条の2; docs/mailing.md), pure.

When J-LIS generates or changes a 個人番号 (番号法7条1項・2項), the city gives J-LIS the 送付先情報 of the person
(the assessment's 別添1(3): 31 items, policy/data/mailing_info_items.csv) so that J-LIS prints and mails the
個人番号通知書 (個人番号カード省令7条) by registered mail that is not forwarded. It goes to the head of the
household at the household's address — unless the person registered a 居所 for delivery (標準仕様書 j1120: the
delivery address may be a place of stay other than the registered one), which a person under 支援措置 does.

A record is `ready` or `held` as built; it goes to J-LIS only once its print category and special circumstance
are both set (標準仕様書 j1090). No item ever holds a 個人番号: J-LIS prints its own.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from juki.cs.domain.items import gaiji_count  # the CS's documented 外字数 rule (docs/cs.md), one copy of it
from juki.domain.certificates.rows import address_text
from juki.domain.errors import DomainError, NotFound
from juki.domain.model import Address

IDEOGRAPHIC_SPACE = "\u3000"
Value = str | int | None

# The 31 items, in the order of the assessment's 別添1(3) (tests compare them with mailing_info_items.csv).
ITEMS: tuple[str, ...] = (
    "送付先管理番号", "送付先郵便番号", "送付先住所 漢字項目長", "送付先住所 漢字", "送付先住所 漢字外字数",
    "送付先氏名 漢字項目長", "送付先氏名 漢字", "送付先氏名 漢字 外字数", "市町村コード", "市町村名 項目長",
    "市町村名", "市町村郵便番号", "市町村住所 項目長", "市町村住所", "市町村住所 外字数", "市町村電話番号",
    "交付場所名 項目長", "交付場所名", "交付場所名 外字数", "交付場所郵便番号", "交付場所住所 項目長",
    "交付場所住所", "交付場所住所 外字数", "交付場所電話番号", "カード送付場所名 項目長", "カード送付場所名",
    "カード送付場所名 外字数", "カード送付場所郵便番号", "カード送付場所住所 項目長", "カード送付場所住所",
    "カード送付場所住所 外字数",
)  # fmt: skip
# The two settings a record goes with (標準仕様書 j1090), beside the items when the CS takes a record.
PRINT_CATEGORY, SPECIAL_CIRCUMSTANCE = "印字区分", "特殊事情"

# A record's states: the latest of its events (all append-only).
READY = "ready"  # built with a usable address: goes once both flags are set
HELD = "held"  # built without one, or for a person under 支援措置 without a 居所: waits for the counter
RELEASED = "released"  # a held record the counter let go (after fixing what held it)
DELIVERED = "delivered"  # the CS handed it to J-LIS
REFUSED = "refused"  # J-LIS's 突合 found a mismatch (its code and item kept): rebuilt by the counter
REPLACED = "replaced"  # superseded by a later record (rebuilt, a 居所 registered or ended, a newer number)
OPEN = frozenset({READY, HELD, RELEASED})  # not delivered yet and still the person's record
GOING = frozenset({READY, RELEASED})  # the CS may take it (once both flags are set)
LISTED = {  # what the counter lists by name → the states shown
    HELD: frozenset({HELD}),
    REFUSED: frozenset({REFUSED}),
    READY: GOING,
    DELIVERED: frozenset({DELIVERED}),
}

# Why a record is held, checked in this order (the first that applies is kept).
NOT_RESIDENT = "not_resident"  # the record was removed (転出, 死亡 …) before the number came
PROTECTED_NO_RESIDENCE = (
    "protected_no_residence"  # under 支援措置 and no 居所 registered: the counter decides
)
NO_ADDRESSEE_NAME = "no_addressee_name"  # no 世帯主 (j100/j490), or a blank name
NO_POSTAL_CODE = "no_postal_code"  # none, or not 7 digits
NO_ADDRESS = "no_address"
HOLD_REASONS = {
    NOT_RESIDENT: "住民でなくなっている（転出・死亡等）",
    PROTECTED_NO_RESIDENCE: "支援措置の対象者で、送付先の居所が登録されていない",
    NO_ADDRESSEE_NAME: "世帯主がいない（送付先氏名がない）",
    NO_POSTAL_CODE: "送付先の郵便番号がない",
    NO_ADDRESS: "送付先の住所がない",
}
# Reasons the counter may release a record with, as they stand: the others need the register fixed first.
RELEASABLE = frozenset({PROTECTED_NO_RESIDENCE})

HOUSEHOLDER, RESIDENCE = "householder", "residence"  # whom a record is addressed to


@dataclass(frozen=True)
class MailingSettings:
    """The city's and the pick-up places' details (config.Settings' `mailing_*`), postal codes as 7 digits, and
    the print category and special circumstance a new record starts with ("" = not set: it waits for the
    counter)."""

    city_code: str
    city_name: str
    city_postal_code: str
    city_address: str
    city_phone: str
    pickup_name: str
    pickup_postal_code: str
    pickup_address: str
    pickup_phone: str
    card_place_name: str
    card_place_postal_code: str
    card_place_address: str
    print_category: str = ""
    special_circumstance: str = ""


@dataclass(frozen=True)
class Name:
    """A person as a 送付先: the 宛名番号 and the name as the register holds it."""

    addressee_number: str
    family_name: str
    given_name: str

    @property
    def kanji(self) -> str:
        """氏 and 名 joined by one U+3000 (as the 本人確認情報's 漢字氏名); a part that is blank is left out."""
        return IDEOGRAPHIC_SPACE.join(p.strip() for p in (self.family_name, self.given_name) if p.strip())


@dataclass(frozen=True)
class Residence:
    """A 居所 registered for delivery: its postal code (7 digits) and the address as written, 方書 included."""

    postal_code: str
    address: str


@dataclass(frozen=True)
class Subject:
    """What the register says of the person a record is for, when it is built."""

    person: Name
    resident: bool  # the record is active
    protected: bool  # under a 支援措置 in force (a temporary release does not count)
    householder: Name | None
    address: Address | None  # the household's, 方書 included
    residence: Residence | None


@dataclass(frozen=True)
class Destination:
    """送付先: whom and where."""

    kind: str  # HOUSEHOLDER or RESIDENCE
    addressee: Name | None
    postal_code: str | None
    address: str

    @property
    def name(self) -> str:
        return self.addressee.kanji if self.addressee is not None else ""


@dataclass(frozen=True)
class Built:
    items: dict[str, Value]
    state: str  # READY or HELD
    hold_reason: str | None
    destination: Destination


def destination(subject: Subject) -> Destination:
    """API.md: to the householder at the household's address, unless a 居所 is registered for delivery — then to the
    person at the 居所 (the householder may be the one the person is protected from)."""
    if subject.residence is not None:
        r = subject.residence
        return Destination(RESIDENCE, subject.person, r.postal_code, r.address.strip())
    a = subject.address
    return Destination(
        HOUSEHOLDER,
        subject.householder,
        a.postal_code if a is not None else None,
        address_text(a).strip() if a is not None else "",
    )


def hold_reason(subject: Subject, to: Destination) -> str | None:
    """Why the record cannot go as it is, or None. Under 支援措置 without a 居所 it is held: the notice would go,
    registered, to the household's address, where the person may no longer live and whose head may be the one
    they are protected from; whether it may go there is for the counter to decide, not the program."""
    if not subject.resident:
        return NOT_RESIDENT
    if subject.protected and to.kind != RESIDENCE:
        return PROTECTED_NO_RESIDENCE
    if not to.name:
        return NO_ADDRESSEE_NAME
    if not (
        to.postal_code and len(to.postal_code) == 7 and to.postal_code.isascii() and to.postal_code.isdigit()
    ):
        return NO_POSTAL_CODE
    if not to.address:
        return NO_ADDRESS
    return None


def _text(items: dict[str, Value], prefix: str, text: str, length: str, gaiji: str | None) -> None:
    """A text item with its 項目長 (characters, as API.md says) and, where the standard has one, its 外字数."""
    items[prefix + length] = len(text)
    items[prefix] = text
    if gaiji is not None:
        items[prefix + gaiji] = gaiji_count(text)


def items(record_id: str, to: Destination, s: MailingSettings) -> dict[str, Value]:
    """The 31 items of one record (keys: ITEMS), in order."""
    built: dict[str, Value] = {"送付先管理番号": record_id, "送付先郵便番号": to.postal_code or None}
    _text(built, "送付先住所 漢字", to.address, "項目長", "外字数")
    _text(built, "送付先氏名 漢字", to.name, "項目長", " 外字数")
    built["市町村コード"] = s.city_code
    _text(built, "市町村名", s.city_name, " 項目長", None)
    built["市町村郵便番号"] = s.city_postal_code
    _text(built, "市町村住所", s.city_address, " 項目長", " 外字数")
    built["市町村電話番号"] = s.city_phone
    _text(built, "交付場所名", s.pickup_name, " 項目長", " 外字数")
    built["交付場所郵便番号"] = s.pickup_postal_code
    _text(built, "交付場所住所", s.pickup_address, " 項目長", " 外字数")
    built["交付場所電話番号"] = s.pickup_phone
    _text(built, "カード送付場所名", s.card_place_name, " 項目長", " 外字数")
    built["カード送付場所郵便番号"] = s.card_place_postal_code
    _text(built, "カード送付場所住所", s.card_place_address, " 項目長", " 外字数")
    return {name: built[name] for name in ITEMS}


def build(record_id: str, subject: Subject, settings: MailingSettings) -> Built:
    """A record for `subject`: its items, and whether it is ready or held (and why)."""
    to = destination(subject)
    reason = hold_reason(subject, to)
    return Built(items(record_id, to, settings), HELD if reason else READY, reason, to)


# --- the rules' refusals (stable codes; defined here rather than in errors.py, which others edit too) -----------


class MailingRecordNotFound(NotFound):
    """No such 送付先情報 — or one naming a person the actor may not see (支援措置: it looks not found)."""

    default_message = "該当する送付先情報が見つかりません"
    default_field = "record_id"


class MailingRecordNotHeld(DomainError):
    """Only a held record is released."""

    code = "mailing_record_not_held"
    status = 409
    default_message = "保留中の送付先情報ではありません"
    default_field = "record_id"


class MailingRecordNotRefused(DomainError):
    """Only a record J-LIS refused (突合の不一致) is built again."""

    code = "mailing_record_not_refused"
    status = 409
    default_message = "地方公共団体情報システム機構から返された送付先情報ではありません"
    default_field = "record_id"


class MailingRecordClosed(DomainError):
    """A record delivered to J-LIS, refused or replaced by a later one is kept as it is."""

    code = "mailing_record_closed"
    status = 409
    default_message = "送付済み・返戻・差替え済みの送付先情報は変更できません"
    default_field = "record_id"


class MailingRecordNotGoing(DomainError):
    """The CS reports delivery or J-LIS's refusal only of a record that could go (ready or released, both flags
    set, standard j1090) — never of a held one."""

    code = "mailing_record_not_going"
    status = 409
    default_message = "送付できる状態の送付先情報ではありません"
    default_field = "record_id"


class MailingRecordHeld(DomainError):
    """A release that would still not go: what held the record (its address, its householder) is still so in the
    register. The field is `hold_reason`; the message names the reason in words, never a value."""

    code = "mailing_record_held"
    status = 409
    default_field = "hold_reason"


class DeliveryResidenceNotProtected(DomainError):
    """A 居所 for delivery is registered for a person under 支援措置 (the measure in force), no one else."""

    code = "delivery_residence_not_protected"
    status = 409
    default_message = "支援措置の対象者ではないため、送付先の居所は登録できません"
    default_field = "addressee_number"


class DeliveryResidenceNotFound(DomainError):
    """Ending a 居所 registration that is not there."""

    code = "delivery_residence_not_found"
    status = 409
    default_message = "送付先の居所は登録されていません"
    default_field = "addressee_number"


# --- a stored record, as its events left it ------------------------------------------------------------------


@dataclass(frozen=True)
class MailingEvent:
    state: str
    at: datetime
    staff_id: str
    detail: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class MailingRecord:
    """A record as built (append-only) and its events, oldest first: the state is the latest event's."""

    record_id: str
    addressee_number: str
    resident_code: str
    request_id: str | None
    items: Mapping[str, Value]
    print_category: str  # as built
    special_circumstance: str  # as built
    built_state: str
    hold_reason: str | None
    built_at: datetime
    events: tuple[MailingEvent, ...] = ()

    @property
    def state(self) -> str:
        return self.events[-1].state if self.events else self.built_state

    @property
    def state_at(self) -> datetime:
        return self.events[-1].at if self.events else self.built_at

    def flags(self) -> tuple[str, str]:
        """(print category, special circumstance) now: the latest change of them, else as built."""
        for event in reversed(self.events):
            if PRINT_CATEGORY in event.detail:
                return str(event.detail[PRINT_CATEGORY]), str(event.detail[SPECIAL_CIRCUMSTANCE])
        return self.print_category, self.special_circumstance

    @property
    def goes(self) -> bool:
        """The CS may take it: ready or released, and both flags set (標準仕様書 j1090)."""
        return self.state in GOING and all(self.flags())

    def went(self) -> bool:
        """It could go when it was last not replaced: a record the CS took may be replaced before the CS reports
        it delivered (or J-LIS's refusal of it), and what the CS did is still recorded."""
        events = list(self.events)
        while events and events[-1].state == REPLACED:
            events.pop()
        return dataclasses.replace(self, events=tuple(events)).goes if events else self.goes

    @property
    def addressee(self) -> str | None:
        """The 宛名番号 of whom it is addressed to, as built (screened like the person: its items name them)."""
        value = self.events[0].detail.get("addressee") if self.events else None
        return str(value) if value else None

    @property
    def addressed_to(self) -> str | None:
        value = self.events[0].detail.get("addressed_to") if self.events else None
        return str(value) if value else None

    def refusal(self) -> tuple[str, str | None] | None:
        """J-LIS's code and item, while refused."""
        if self.state != REFUSED:
            return None
        detail = self.events[-1].detail
        item = detail.get("item")
        return str(detail.get("code", "")), str(item) if item else None


@dataclass(frozen=True)
class StoredResidence:
    """The latest registration of a person's 居所 for delivery (None as `residence`: ended)."""

    addressee_number: str
    residence: Residence | None
    registered_at: datetime
    staff_id: str
