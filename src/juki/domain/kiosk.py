"""証明書コンビニ交付 (kiosk issuance): the rules, pure.

A resident at a multi-function printer (MFP) in a shop authenticates with the 利用者証明用電子証明書 on their My
Number card and its 4-digit PIN, and gets their own or their household's 住民票の写し.

- **Service hours.** Japan time, `[start, end)` — 6:30 to 23:00 by default (`JUKI_KIOSK_HOURS_START/END`, "24:00"
  is midnight) — and closed over 年末年始 (12/29–1/3, as コンビニ交付 is in practice and as the city's counter
  is: `JUKI_KIOSK_YEAR_END_CLOSED`). Outside them every kiosk call is `outside_service_hours`.
- **The card.** The user certificate carries no name and no My Number (as the real one): its serial is the key, and
  the city knows which resident holds which card (`CardState`). A card is refused when the city does not know the
  serial, when J-LIS has revoked it (its CRL) or the city has suspended or revoked it, when the certificate is out
  of its validity, and when it is locked (`card_refusal`).
- **The PIN.** The card's chip checks the PIN and signs the kiosk's one-time challenge only when it is right (the
  signature is the proof of possession, and so of the PIN). The city never holds a PIN verifier — a hash of a
  4-digit PIN is the PIN to anyone who reads it (10,000 tries) — but it keeps the failure counter: the kiosk reports
  each wrong PIN (over its mutually authenticated TLS, bound to a challenge of its own), and three in a row at any
  kiosks lock the card for every kiosk (`after_pin_failure`). A successful authentication starts the count again.
- **What a resident may get** (住基法第12条 — the person or their household — as self-service allows):
  a 住民票の写し (世帯連記式) of themselves, of the whole household, or of chosen members of their own household;
  optional 世帯主・続柄 and 本籍・筆頭者; 1–`MAX_COPIES` copies. Not at a kiosk: 住民票コード and 個人番号 — the
  printout leaves the city's hands in a shop (a copy left on the tray is a known risk) and 番号法 limits who may
  collect a My Number; コンビニ交付 in practice prints neither, so both stay at the counter — nor history,
  other kinds of certificate, agents or third parties.
- **Holds.** A 支援措置 or a hold on certificate issuance for anyone on the certificate, or for the card holder,
  refuses the issuance with `refer_to_counter` (「窓口でお問い合わせください」), also for the protected person
  themselves; a temporary release is not passed to kiosks. The kiosk is never told why.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime, time
from typing import Any

from juki.domain.certificates import INCLUDE as CERTIFICATE_ITEMS
from juki.domain.dates import JST
from juki.domain.errors import Forbidden, InvalidField, NotFound, Unauthenticated
from juki.domain.identifiers import validate_addressee_number

KIND = "residence_certificate"  # what a kiosk issues
KIND_NAME = "住民票の写し"
PURPOSE = "証明書コンビニ交付"  # the purpose recorded on the issuance (the resident gives none at a kiosk)
INCLUDE = ("householder_and_relationship", "honseki")  # the options a resident may choose at a kiosk
NOT_AT_KIOSK = frozenset({"resident_code", "my_number", "history"})  # counter only
SCOPES = ("self", "household", "members")
MAX_COPIES = 10
MAX_PIN_FAILURES = 3
PIN = re.compile(r"\d{4}")
KIOSK_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,31}")  # "kiosk:<id>" fits the log's staff_id (40)
REFER = "窓口でお問い合わせください"


class CardRefused(Unauthenticated):
    """A card (or a kiosk's certificate) that cannot be used; `reason` goes to the operation log, the kiosk gets the
    message (`unauthenticated`)."""

    def __init__(self, reason: str, message: str, field: str = "card_certificate") -> None:
        super().__init__(message, field)
        self.reason = reason


class NoCardSession(Unauthenticated):
    """The kiosk sent no live card session of its own (none, ended, lapsed, or another kiosk's)."""

    default_message = "カードの認証からやり直してください"
    default_field = "X-Kiosk-Session"


class KioskNotFound(NotFound):
    default_message = "該当する端末がありません"
    default_field = "kiosk_id"


class CardNotFound(NotFound):
    """No card with this serial is registered (the counter's side; a kiosk is told `unauthenticated`)."""

    default_message = "該当するカードがありません"
    default_field = "serial"


@dataclass(frozen=True)
class Presented:
    """A certificate shown to the city that its CA signed: whose it is (a kiosk's id, a card's serial), its
    SHA-256, its validity, and its public key (opaque here: the PKI adapter checks signatures with it)."""

    subject_id: str
    sha256: str
    not_before: datetime
    not_after: datetime
    key: Any = None

    def valid_at(self, at: datetime) -> bool:
        return self.not_before <= at < self.not_after


# --- service hours --------------------------------------------------------------------------------------------


def _clock(text: str, field: str) -> time | None:
    m = re.fullmatch(r"(\d{1,2}):(\d{2})", text.strip())
    if not m:
        raise InvalidField("時刻は HH:MM で指定してください", field)
    hour, minute = int(m[1]), int(m[2])
    if (hour, minute) == (24, 0):
        return None  # midnight at the end of the day
    if hour > 23 or minute > 59:
        raise InvalidField("存在しない時刻です", field)
    return time(hour, minute)


def is_year_end(day: date) -> bool:
    """年末年始: 12月29日から1月3日まで."""
    return (day.month == 12 and day.day >= 29) or (day.month == 1 and day.day <= 3)


@dataclass(frozen=True)
class ServiceHours:
    start: time
    end: time | None  # None: until midnight
    year_end_closed: bool = True

    @classmethod
    def parse(cls, start: str, end: str, year_end_closed: bool = True) -> ServiceHours:
        opens = _clock(start, "kiosk_hours_start")
        if opens is None:
            raise InvalidField("開始時刻に 24:00 は指定できません", "kiosk_hours_start")
        closes = _clock(end, "kiosk_hours_end")
        if closes is not None and closes <= opens:
            raise InvalidField("終了時刻は開始時刻より後にしてください", "kiosk_hours_end")
        return cls(opens, closes, year_end_closed)

    def is_open(self, at: datetime) -> bool:
        local = at.astimezone(JST)
        if self.year_end_closed and is_year_end(local.date()):
            return False
        now = local.time().replace(tzinfo=None)
        return self.start <= now and (self.end is None or now < self.end)

    def describe(self) -> str:
        end = "24:00" if self.end is None else f"{self.end:%H:%M}"
        closed = "（12月29日〜1月3日を除く）" if self.year_end_closed else ""
        return f"{self.start:%H:%M}〜{end}{closed}"


# --- the card --------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class CardState:
    """What the city knows of a card, and what its certificate says about its validity."""

    serial: str
    addressee_number: str
    state: str  # active / suspended (一時停止, e.g. reported lost) / revoked (廃止)
    pin_failures: int
    locked: bool
    revoked_by_jlis: bool  # on J-LIS's revocation list
    not_before: datetime | None = None  # the certificate's validity (None: checked already)
    not_after: datetime | None = None


REFUSALS = {
    "unknown_card": "このカードの電子証明書は登録されていません。" + REFER,
    "revoked": "このカードの電子証明書は失効しています。" + REFER,
    "suspended": "このカードは一時停止されています。" + REFER,
    "expired": "このカードの電子証明書は有効期限が切れています。" + REFER,
    "not_yet_valid": "このカードの電子証明書はまだ有効ではありません。" + REFER,
}


def card_refusal(card: CardState | None, at: datetime) -> str | None:
    """Why the card cannot be used now (a key of `REFUSALS`, or "locked"), or None when it can."""
    if card is None:
        return "unknown_card"
    if card.revoked_by_jlis or card.state == "revoked":
        return "revoked"
    if card.state == "suspended":
        return "suspended"
    if card.not_after is not None and at >= card.not_after:
        return "expired"
    if card.not_before is not None and at < card.not_before:
        return "not_yet_valid"
    if card.locked:
        return "locked"
    return None


def locks(failures: int) -> bool:
    """Whether this many wrong PINs in a row lock the card."""
    return failures >= MAX_PIN_FAILURES


def remaining_tries(failures: int) -> int:
    return max(0, MAX_PIN_FAILURES - failures)


def check_kiosk_id(kiosk_id: str) -> str:
    if not KIOSK_ID.fullmatch(kiosk_id):
        raise InvalidField("端末IDは英数字と . _ - の32文字までです", "kiosk_id")
    return kiosk_id


# --- the registry: a card's state as the counter changes it ---------------------------------------------------

CARD_STATES = ("active", "suspended", "revoked")  # 利用可 / 一時停止 (e.g. reported lost) / 廃止
SERIAL = re.compile(r"[0-9a-f]{1,40}")  # a user certificate's serial number, hex (as `kiosk_cards` keeps it)


def check_serial(serial: str) -> str:
    """A card's serial as the city keeps it (lower-case hex); upper case is accepted as typed."""
    text = serial.strip().lower()
    if not SERIAL.fullmatch(text):
        raise InvalidField("電子証明書のシリアル番号（16進数、40桁まで）を指定してください", "serial")
    return text


def check_state_change(current: str, new: str) -> str:
    """The state the counter sets: one of `CARD_STATES`; a revoked (廃止) certificate stays revoked — the resident
    gets a new one, registered as a new card."""
    if new not in CARD_STATES:
        raise InvalidField("state は active / suspended / revoked のいずれかです", "state")
    if current == "revoked" and new != "revoked":
        raise InvalidField(
            "廃止した電子証明書は元に戻せません（新しい電子証明書を登録してください）", "state"
        )
    return new


# --- what a resident may get -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class KioskRequest:
    scope: str  # self / household / members
    addressee_numbers: tuple[str, ...]  # members only
    include: frozenset[str]
    copies: int = 1


def parse_request(payload: Mapping[str, Any]) -> KioskRequest:
    """What a resident asks for at the kiosk. The request arrives typed, as the request model
    `KioskCertificateBody` (web/schemas.py) gives it (the numbers strings, `include` items to booleans, `copies` an
    integer): only values are checked here."""
    kind = payload.get("kind", KIND)
    if kind != KIND:
        raise InvalidField(f"コンビニ交付で発行できるのは{KIND_NAME}だけです", "kind")
    scope = payload.get("scope", "self")
    if scope not in SCOPES:
        raise InvalidField(f"scope は {' / '.join(SCOPES)} のいずれかです", "scope")
    numbers = payload.get("addressee_numbers")
    persons: tuple[str, ...] = ()
    if scope == "members":
        if not numbers:
            raise InvalidField("世帯の一部を選ぶときは宛名番号を指定してください", "addressee_numbers")
        persons = tuple(dict.fromkeys(validate_addressee_number(n, "addressee_numbers") for n in numbers))
    elif numbers is not None:
        raise InvalidField("宛名番号を指定できるのは scope が members のときだけです", "addressee_numbers")
    include: Mapping[str, bool] = payload.get("include") or {}
    chosen = set()
    for key, value in include.items():
        if key in NOT_AT_KIOSK:
            raise InvalidField(
                "この項目はコンビニ交付では記載できません（窓口で請求してください）", f"include.{key}"
            )
        if key not in INCLUDE:
            raise InvalidField("指定できない項目です", f"include.{key}")
        if value:
            chosen.add(key)
    copies: int = payload.get("copies", 1)
    if not 1 <= copies <= MAX_COPIES:
        raise InvalidField(f"通数は1〜{MAX_COPIES}です", "copies")
    return KioskRequest(scope, persons, frozenset(chosen), copies)


@dataclass(frozen=True)
class Holder:
    """The card holder as the register has them now."""

    addressee_number: str
    name: str  # 氏 + space + 名 (a requester's name is printable text: no U+3000)
    household_number: str


def subjects(req: KioskRequest, holder: Holder, household: list[str]) -> list[str]:
    """The addressee numbers on the certificate: only the holder's own household (its present members, in 記載順位)
    — anyone else is `forbidden` (第12条の3 and agents are for the counter)."""
    if req.scope == "self":
        return [holder.addressee_number]
    if req.scope == "household":
        return list(household)
    outside = [n for n in req.addressee_numbers if n not in household]
    if outside:
        raise Forbidden("コンビニ交付では同一世帯の方の証明書だけを発行できます", "addressee_numbers")
    return [n for n in household if n in req.addressee_numbers]


def certificate_request(req: KioskRequest, holder: Holder, persons: list[str]) -> dict[str, Any]:
    """The request the certificate service takes (`services.certificates.issue`): the holder asks for themselves
    when they are on it, else as a member of the same household."""
    body: dict[str, Any] = {
        "kind": KIND,
        # every item said, so that none takes the city's counter defaults (j1000): a kiosk prints what was chosen
        "include": {key: key in req.include for key in CERTIFICATE_ITEMS},
        "requester": {
            "type": "self" if holder.addressee_number in persons else "household_member",
            "name": holder.name,
            "addressee_number": holder.addressee_number,
        },
        "purpose": PURPOSE,
        "layout": "household",
        "copies": req.copies,
    }
    if req.scope == "household":
        body["household_number"] = holder.household_number
    else:
        body["addressee_numbers"] = persons
    return body
