"""証明書コンビニ交付 (kiosk issuance): what the kiosk services share — the desk (trust anchors, hours, certificate
office, clock), the kiosk's actor, and the steps every kiosk call takes (the service hours, the card session, the
card holder as the register has them now).

The services: `kiosk_session` (the kiosk's certificate, the card's challenge and authentication, the card
session), `kiosk_issuance` (a 住民票の写し for the card holder), `kiosk_registry` (the counter's and the
administrator's side: kiosks, cards, J-LIS's revocation list).

Every step is in the operation log with the kiosk's actor (the kiosk id as terminal): `kiosk:connect` (a refused
kiosk certificate), `kiosk:challenge`, `kiosk:card_auth` (ok / wrong_pin / locked / denied / refused / closed, with
the card's serial and the reason), `kiosk:issue` (ok with the 発行番号 and the card's serial / denied / refused /
closed) besides the certificate service's own `certificate:issue`, and `kiosk:session_end`.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from juki.domain.certificates import is_present
from juki.domain.errors import OutsideServiceHours
from juki.domain.kiosk import Holder, Presented, ServiceHours
from juki.domain.model import record_from_row
from juki.policy.roles import Actor
from juki.services.audit import LogEntry, utc
from juki.services.certificates import CertificateOffice
from juki.services.ports import StoredRow
from juki.services.unit_of_work import UnitOfWork, UnitOfWorkFactory, utc_now

PROCEDURE = "kiosk_issuance"
CHALLENGE_SECONDS = 120
MAX_CERTIFICATE_CHARS = 8000


class KioskTrust(Protocol):
    """The trust anchors (adapters.pki.TrustAnchors)."""

    def kiosk(self, text: str) -> Presented: ...
    def card(self, text: str) -> Presented: ...
    def possession(self, card: Presented, challenge: bytes, signature: bytes) -> bool: ...
    def revocations(self, crl_der: bytes) -> list[tuple[str, datetime, str]]: ...


@dataclass(frozen=True)
class KioskDesk:
    """What the kiosk services need from outside (composed by adapters.pki.kiosk_desk, built by the composition
    root)."""

    trust: KioskTrust
    hours: ServiceHours
    office: CertificateOffice
    clock: Callable[[], datetime] = utc_now
    session_seconds: int = 300
    challenge_seconds: int = CHALLENGE_SECONDS


def kiosk_actor(kiosk_id: str, name: str) -> Actor:
    """A kiosk is a registered system, not a staff member: procedure `kiosk_issuance` (証明書のコンビニ交付に関する
    事務: `register:read`, never a My Number; policy/roles.py)."""
    return Actor(f"kiosk:{kiosk_id}", name, "kiosk", kiosk_id, procedure=PROCEDURE)


def log_one(uow_factory: UnitOfWorkFactory, actor: Actor, entry: LogEntry) -> None:
    """One operation-log entry in its own transaction (a refusal is logged though nothing else is written)."""
    with uow_factory() as uow:
        uow.log(actor, entry)
        uow.commit()


def iso(at: datetime) -> str:
    return utc(at).isoformat()


def open_now(uow_factory: UnitOfWorkFactory, desk: KioskDesk, actor: Actor, action: str) -> datetime:
    """Now, if the service is open now; else `outside_service_hours` (logged `closed`)."""
    at = desk.clock()
    if not desk.hours.is_open(at):
        log_one(
            uow_factory, actor, LogEntry(action, result="closed", detail=f"hours={desk.hours.describe()}")
        )
        raise OutsideServiceHours(f"サービス提供時間外です（{desk.hours.describe()}）")
    return at


def token_hash(token: str) -> str:
    """A card session is stored by its token's hash: the table never holds a token a kiosk could send."""
    return hashlib.sha256(token.encode()).hexdigest()


def live_session(uow: UnitOfWork, actor: Actor, token: str | None, at: datetime) -> StoredRow:
    """The live card session of this kiosk (a `kiosk_sessions` row), or None."""
    if not token or len(token) > 100:
        return None
    row = uow.cards.session(token_hash(token))
    if row is None or row.kiosk_id != actor.terminal or row.ended_at is not None or utc(row.expires_at) <= at:
        return None
    return row


def holder_of(uow: UnitOfWork, addressee_number: str) -> tuple[Holder, list[tuple[str, str]]] | None:
    """The card holder as the register has them now, and their household's present members (addressee number,
    name) in 記載順位; None when the holder is not (or no longer) a resident here."""
    today = uow.reader.today
    row = uow.queries.resident(addressee_number)
    if row is None or not is_present(record_from_row(row.record, None), today):
        return None
    record = record_from_row(row.record, None)
    members = []
    for m in uow.queries.members(row.household_number, active_only=False):
        r = record_from_row(m.record, None)
        if is_present(r, today):
            members.append((m.addressee_number, f"{r.family_name} {r.given_name}"))
    holder = Holder(addressee_number, f"{record.family_name} {record.given_name}", row.household_number)
    return holder, members
