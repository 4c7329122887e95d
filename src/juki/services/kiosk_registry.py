"""証明書コンビニ交付 (kiosk issuance): the registry — the counter's and the administrator's side.

HTTP in web/api_kiosk_admin.py, pages in web/ui/kiosk_pages.py: `list_kiosks`, `register_kiosk`, `retire_kiosk`,
`import_revocations` (J-LIS's CRL) for the administrator (`staff:admin`); `cards_of` (`register:read`; a 支援措置
hides the person's cards as it hides the person), `register_card`, `set_card_state`, `reset_pin_lock` for the
counter (`register:file`, 住民基本台帳に関する事務). Each is logged (`kiosk:list|register|retire`,
`card:list|register|state|unlock|revocations`); a certificate or CRL the trust anchors refuse is logged as `refused`
and answered `invalid_field`. A revoked (廃止) card stays revoked.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime
from typing import Any

from juki.domain import kiosk as rules
from juki.domain.certificates import is_present
from juki.domain.dates import JST
from juki.domain.errors import InvalidField, NotResident, ResidentNotFound
from juki.domain.identifiers import validate_addressee_number
from juki.domain.kiosk import CardNotFound, CardRefused, CardState, KioskNotFound, Presented
from juki.domain.model import record_from_row
from juki.policy.roles import REGISTER_FILE, REGISTER_READ, STAFF_ADMIN, Actor
from juki.services import protection
from juki.services.audit import LogEntry
from juki.services.authorization import authorize
from juki.services.kiosk_desk import MAX_CERTIFICATE_CHARS, KioskTrust, iso, log_one
from juki.services.ports import StoredRow, Values
from juki.services.unit_of_work import UnitOfWorkFactory, utc_now


def _refuse(
    uow_factory: UnitOfWorkFactory,
    actor: Actor,
    action: str,
    refused: CardRefused,
    field: str,
    targets: tuple[str, ...] = (),
) -> InvalidField:
    """A certificate or CRL the trust anchors refused, in a registry call: logged (`refused`, with the reason) and
    answered `invalid_field` — it is the body that is wrong, not the caller's sign-in."""
    log_one(
        uow_factory, actor, LogEntry(action, targets, result="refused", detail=f"reason={refused.reason}")
    )
    return InvalidField(refused.message, field)


def _stamp(value: datetime | date | None) -> str | None:
    if value is None:
        return None
    return iso(value) if isinstance(value, datetime) else str(value.isoformat())


def kiosk_view(row: StoredRow) -> dict[str, Any]:
    return {
        "kiosk_id": row.kiosk_id,
        "name": row.name,
        "cert_sha256": row.cert_sha256,
        "state": row.state,
        "registered_at": _stamp(row.registered_at),
        "registered_by": row.registered_by,
    }


def card_view(row: StoredRow, revoked_by_jlis: bool, today: date, holder: bool = True) -> dict[str, Any]:
    """What the counter sees of a card: never a PIN (the city has none), never a My Number (the certificate has
    none). `usable`: whether a kiosk would take it today — `rules.card_refusal`, with the validity by date."""
    state = CardState(
        row.serial,
        row.addressee_number,
        row.state,
        row.pin_failures,
        row.locked_at is not None,
        revoked_by_jlis,
    )
    in_validity = row.issued_on <= today <= row.expires_on
    view = {
        "serial": row.serial,
        "addressee_number": row.addressee_number,
        "state": row.state,
        "issued_on": row.issued_on.isoformat(),
        "expires_on": row.expires_on.isoformat(),
        "expired": row.expires_on < today,
        "revoked_by_jlis": revoked_by_jlis,
        "pin_failures": row.pin_failures,
        "locked": row.locked_at is not None,
        "locked_at": _stamp(row.locked_at),
        "usable": in_validity and rules.card_refusal(state, utc_now()) is None,
        "registered_at": _stamp(row.registered_at),
        "registered_by": row.registered_by,
        "changed_at": _stamp(row.changed_at),
    }
    if not holder:
        del view["addressee_number"]
    return view


def list_kiosks(uow_factory: UnitOfWorkFactory, actor: Actor) -> dict[str, Any]:
    """The registered kiosks (active and retired) and the state of J-LIS's imported revocation list."""
    authorize(uow_factory, actor, STAFF_ADMIN, "kiosk:list")
    with uow_factory() as uow:
        rows = uow.cards.kiosks()
        count, last = uow.cards.revocation_summary()
        uow.log(actor, LogEntry("kiosk:list", detail=f"results={len(rows)}"))
        uow.commit()
    return {
        "kiosks": [kiosk_view(r) for r in rows],
        "revocations": {"count": count, "last_imported_at": _stamp(last)},
    }


def register_kiosk(
    uow_factory: UnitOfWorkFactory,
    trust: KioskTrust,
    actor: Actor,
    kiosk_id: str,
    name: str,
    certificate: str,
) -> dict[str, Any]:
    """Register a kiosk (or its new certificate): the certificate must be the kiosk CA's, for this kiosk id."""
    authorize(uow_factory, actor, STAFF_ADMIN, "kiosk:register")
    rules.check_kiosk_id(kiosk_id)
    if not name.strip() or len(name) > 100:
        raise InvalidField("端末の名称を100文字までで指定してください", "name")
    if not certificate.strip() or len(certificate) > MAX_CERTIFICATE_CHARS:
        raise InvalidField("端末のクライアント証明書（PEM）を指定してください", "certificate")
    try:
        cert = trust.kiosk(certificate)
    except CardRefused as refused:
        raise _refuse(uow_factory, actor, "kiosk:register", refused, "certificate") from None
    if cert.subject_id != kiosk_id:
        raise InvalidField("証明書の端末IDが一致しません", "certificate")
    with uow_factory() as uow:
        uow.cards.put_kiosk(
            {
                "kiosk_id": kiosk_id,
                "name": name.strip(),
                "cert_sha256": cert.sha256,
                "state": "active",
                "registered_at": uow.now,
                "registered_by": actor.staff_id,
            }
        )
        uow.log(actor, LogEntry("kiosk:register", detail=f"kiosk={kiosk_id} sha256={cert.sha256}"))
        row = uow.cards.kiosk(kiosk_id)
        uow.commit()
    return kiosk_view(row)


def retire_kiosk(uow_factory: UnitOfWorkFactory, actor: Actor, kiosk_id: str) -> dict[str, Any]:
    """廃止: the kiosk's certificate is no longer accepted (its open card sessions go with it: `identify` refuses a
    retired kiosk before anything else). Registering it again brings it back."""
    authorize(uow_factory, actor, STAFF_ADMIN, "kiosk:retire")
    with uow_factory() as uow:
        if not rules.KIOSK_ID.fullmatch(kiosk_id) or not uow.cards.set_kiosk_state(kiosk_id, "retired"):
            raise KioskNotFound()
        uow.log(actor, LogEntry("kiosk:retire", detail=f"kiosk={kiosk_id}"))
        row = uow.cards.kiosk(kiosk_id)
        uow.commit()
    return kiosk_view(row)


def cards_of(uow_factory: UnitOfWorkFactory, actor: Actor, addressee_number: str) -> dict[str, Any]:
    """The person's registered cards, oldest first (logged). A protected person's cards are as hidden as the
    person (it looks not found, and the supervisors are alerted), as their issuance history is."""
    number = validate_addressee_number(addressee_number)
    authorize(uow_factory, actor, REGISTER_READ, "card:list", (number,))
    with uow_factory() as uow:
        person = uow.queries.resident(number)
        if person is None:
            raise ResidentNotFound()
        if protection.screen(uow, actor, [(number, person.household_number)], "card:list"):
            uow.log(actor, LogEntry("card:list", [number], result="hidden"))
            uow.commit()
            raise ResidentNotFound()
        rows = uow.cards.cards_of(number)
        revoked = uow.cards.revoked_among(r.serial for r in rows)
        today = uow.reader.today
        views = [card_view(r, r.serial in revoked, today) for r in rows]
        uow.log(actor, LogEntry("card:list", [number], detail=f"results={len(views)}"))
        uow.commit()
    return {"addressee_number": number, "cards": views}


def register_card(
    uow_factory: UnitOfWorkFactory, trust: KioskTrust, actor: Actor, addressee_number: str, certificate: str
) -> dict[str, Any]:
    """The counter hands a card over: its user certificate's serial is recorded for the resident (who must be a
    resident now: `not_resident` for a removed record)."""
    authorize(uow_factory, actor, REGISTER_FILE, "card:register", (addressee_number,))
    number = validate_addressee_number(addressee_number)
    if not certificate.strip() or len(certificate) > MAX_CERTIFICATE_CHARS:
        raise InvalidField("カードの利用者証明用電子証明書（PEM）を指定してください", "certificate")
    try:
        cert = trust.card(certificate)
    except CardRefused as refused:
        raise _refuse(uow_factory, actor, "card:register", refused, "certificate", (number,)) from None
    with uow_factory() as uow:
        person = uow.queries.resident(number)
        if person is None:
            raise ResidentNotFound()
        if not is_present(record_from_row(person.record, None), uow.reader.today):
            raise NotResident("住民でない方にはカードを登録できません", "addressee_number")
        if uow.cards.card(cert.subject_id) is not None:
            raise InvalidField("この電子証明書はすでに登録されています", "certificate")
        uow.cards.add_card(new_card(cert, number, uow.now, actor))
        uow.log(actor, LogEntry("card:register", [number], detail=f"card={cert.subject_id}"))
        row = uow.cards.card(cert.subject_id)
        view = card_view(row, uow.cards.revoked(row.serial), uow.reader.today)
        uow.commit()
    return view


def new_card(cert: Presented, addressee_number: str, at: datetime, actor: Actor) -> Values:
    """The registry's row of a card handed over (here, or at 交付 of an application: services/card_applications.py):
    active, its validity the certificate's, no PIN failure."""
    return {
        "serial": cert.subject_id,
        "addressee_number": addressee_number,
        "issued_on": cert.not_before.astimezone(JST).date(),
        "expires_on": cert.not_after.astimezone(JST).date(),
        "state": "active",
        "pin_failures": 0,
        "registered_at": at,
        "registered_by": actor.staff_id,
        "changed_at": at,
    }


def _card_change(
    uow_factory: UnitOfWorkFactory,
    actor: Actor,
    serial: str,
    action: str,
    change: Callable[[StoredRow], Values],
) -> dict[str, Any]:
    """A change the counter makes to a card it holds (found by the serial its certificate shows). Like a filing,
    it is not hidden by a 支援措置 (the holder is at the counter); the answer leaves the holder out."""
    authorize(uow_factory, actor, REGISTER_FILE, action)
    key = rules.check_serial(serial)
    with uow_factory() as uow:
        row = uow.cards.card(key)
        if row is None:
            raise CardNotFound()
        values = change(row)
        uow.cards.change_card(key, {**values, "changed_at": uow.now})
        changes = " ".join(
            f"{name}={old}->{new}"
            for (name, old), (_, new) in (
                (_shown(k, getattr(row, k)), _shown(k, v)) for k, v in values.items()
            )
        )
        uow.log(actor, LogEntry(action, [row.addressee_number], detail=f"card={key} {changes}"[:300]))
        view = card_view(uow.cards.card(key), uow.cards.revoked(key), uow.reader.today, holder=False)
        uow.commit()
    return view


def _shown(key: str, value: object) -> tuple[str, object]:
    return ("locked", value is not None) if key == "locked_at" else (key, value)


def set_card_state(uow_factory: UnitOfWorkFactory, actor: Actor, serial: str, state: str) -> dict[str, Any]:
    """一時停止 (suspended, e.g. reported lost), 廃止 (revoked, final), or back to active from suspended."""
    if state not in rules.CARD_STATES:
        raise InvalidField("state は active / suspended / revoked のいずれかです", "state")
    return _card_change(
        uow_factory,
        actor,
        serial,
        "card:state",
        lambda row: {"state": rules.check_state_change(row.state, state)},
    )


def reset_pin_lock(uow_factory: UnitOfWorkFactory, actor: Actor, serial: str) -> dict[str, Any]:
    """The resident reset their PIN at the counter: the count starts again and the lock is lifted."""
    return _card_change(
        uow_factory, actor, serial, "card:unlock", lambda row: {"pin_failures": 0, "locked_at": None}
    )


def may_import_revocations(uow_factory: UnitOfWorkFactory, actor: Actor) -> None:
    """`forbidden` (logged) unless the actor may import a revocation list — asked before a large upload is read."""
    authorize(uow_factory, actor, STAFF_ADMIN, "card:revocations")


def import_revocations(
    uow_factory: UnitOfWorkFactory, trust: KioskTrust, actor: Actor, crl: bytes
) -> dict[str, int]:
    """J-LIS's revocation list (a CRL its CA signed, DER or PEM): the serials not known as revoked yet are added.
    A list the card CA did not sign, or that cannot be read, is refused (logged) and changes nothing."""
    may_import_revocations(uow_factory, actor)
    if not crl:
        raise InvalidField("失効リスト（CRL）を指定してください", "crl")
    try:
        entries = trust.revocations(crl)
    except CardRefused as refused:
        raise _refuse(uow_factory, actor, "card:revocations", refused, "crl") from None
    with uow_factory() as uow:
        added = uow.cards.add_revocations(
            {"serial": serial, "revoked_at": at, "reason": reason[:40], "imported_at": uow.now}
            for serial, at, reason in entries
        )
        uow.log(actor, LogEntry("card:revocations", detail=f"listed={len(entries)} added={added}"))
        uow.commit()
    return {"listed": len(entries), "added": added}
