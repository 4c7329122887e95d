"""証明書コンビニ交付 (kiosk issuance): the kiosk API's services.

Who is who:
- a **kiosk** (MFP) is a registered system, not a staff member. It calls the kiosk API over mutually authenticated
  TLS with its own client certificate (kiosk CA, CN = kiosk id); `identify` checks that certificate again — the CA,
  its validity, and that it is the one registered for an active kiosk (its SHA-256 is pinned) — and gives the
  kiosk's `Actor`: `staff_id "kiosk:<id>"`, role `kiosk`, terminal = the kiosk id, procedure `kiosk_issuance`
  (証明書のコンビニ交付に関する事務: `register:read`, never a My Number; policy/roles.py). Kiosks are outside the staff
  roles: no account can be a kiosk and no /api/v1 token carries the role.
- the **resident** authenticates with their card (domain/kiosk.py): the kiosk asks for a one-time challenge
  (`new_challenge`, 2 minutes, single-use, bound to the kiosk), the card's chip signs it after the right PIN, and the
  kiosk sends the user certificate with the signature (`authenticate`, `pin_result: "ok"`) — or reports that the
  chip refused the PIN (`pin_result: "incorrect"`, no signature). The city checks the certificate against J-LIS's
  CA, finds the card by its serial, refuses a card it does not know, that J-LIS revoked (the imported CRL) or the
  city suspended or revoked, that is out of its validity, or that is locked; counts a wrong PIN (three in a row, at
  any kiosks, lock the card: `card_locked`); and checks the signature (proof of possession). Success opens a card
  session (5 minutes, this kiosk, this card) whose token the kiosk sends as `X-Kiosk-Session`.
- **issuance** (`issue`): a 住民票の写し of the holder, their whole household, or chosen members of it (domain/kiosk.py
  says which items), only within the service hours. Before the certificate service is asked, a 支援措置 or a hold on
  certificates (`protection.in_force_for(…, for_other_systems=True, operation="certificate", level="error")`: a
  temporary release does not reach kiosks) for anyone on it or for the holder refuses it with `refer_to_counter` —
  the kiosk shows 「窓口でお問い合わせください」 and is never told why; supervisors get an alert. Then
  `services.certificates.issue(…, channel="kiosk")` with the kiosk's actor and a `self` / `household_member`
  requester whose addressee number is the card holder's: the same checks, 発行番号, PDF, issuance record and log
  entry as at the counter.

Every step is in the operation log with the kiosk's actor (the kiosk id as terminal): `kiosk:connect` (a refused
kiosk certificate), `kiosk:challenge`, `kiosk:card_auth` (ok / wrong_pin / locked / denied / refused / closed, with
the card's serial and the reason), `kiosk:issue` (ok with the 発行番号 and the card's serial / denied / refused /
closed) besides the certificate service's own `certificate:issue`, and `kiosk:session_end`.

The registry (the counter's and the administrator's side; HTTP in web/api_kiosk_admin.py, pages in
web/ui/kiosk_pages.py): `list_kiosks`, `register_kiosk`, `retire_kiosk`, `import_revocations` (J-LIS's CRL) for the
administrator (`staff:admin`); `cards_of` (`register:read`; a 支援措置 hides the person's cards as it hides the person),
`register_card`, `set_card_state`, `reset_pin_lock` for the counter (`register:file`, 住民基本台帳に関する事務). Each
is logged (`kiosk:list|register|retire`, `card:list|register|state|unlock|revocations`); a certificate or CRL the
trust anchors refuse is logged as `refused` and answered `invalid_field`. A revoked (廃止) card stays revoked.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import secrets
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any, Protocol

from juki.domain import kiosk as rules
from juki.domain.certificates import is_present
from juki.domain.dates import JST
from juki.domain.errors import (
    CardLocked,
    DomainError,
    InvalidField,
    NotFound,
    NotResident,
    OutsideServiceHours,
    ProtectedRecord,
    ReferToCounter,
    Unauthenticated,
)
from juki.domain.identifiers import validate_addressee_number
from juki.domain.kiosk import CardRefused, CardState, Holder, Presented, ServiceHours
from juki.domain.model import record_from_row
from juki.policy.roles import REGISTER_FILE, REGISTER_READ, STAFF_ADMIN, Actor
from juki.services import certificates, protection
from juki.services.audit import LogEntry, utc
from juki.services.authorization import authorize
from juki.services.certificates import CertificateOffice, Issued
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
    """What the kiosk services need from outside (composed by adapters.pki.kiosk_desk)."""

    trust: KioskTrust
    hours: ServiceHours
    office: CertificateOffice
    clock: Callable[[], datetime] = utc_now
    session_seconds: int = 300
    challenge_seconds: int = CHALLENGE_SECONDS


def kiosk_actor(kiosk_id: str, name: str) -> Actor:
    return Actor(f"kiosk:{kiosk_id}", name, "kiosk", kiosk_id, procedure=PROCEDURE)


def _stranger(peer: str) -> Actor:
    return Actor("kiosk:unknown", "未登録の端末", "kiosk", peer[:100] or "unknown", procedure=PROCEDURE)


def _refusal_reason(refused: DomainError) -> str:
    """What the log says of a refusal at issuance: the counter's own reason (overflow), else the error's code."""
    return (refused.field or refused.code) if isinstance(refused, ReferToCounter) else refused.code


def _log(uow_factory: UnitOfWorkFactory, actor: Actor, entry: LogEntry) -> None:
    with uow_factory() as uow:
        uow.log(actor, entry)
        uow.commit()


def _iso(at: datetime) -> str:
    return utc(at).isoformat()


# --- the kiosk ---------------------------------------------------------------------------------------------------


def identify(
    uow_factory: UnitOfWorkFactory,
    desk: KioskDesk,
    client_certificate: str | None,
    peer: str,
    *,
    via: str = "tls",
    missing: str | None = None,
) -> Actor:
    """The kiosk behind a request, from the client certificate its TLS connection presented — directly (`via`
    "tls") or as a trusted TLS terminator forwarded it ("proxy") — refused and logged: `unauthenticated`.

    `missing`: why there is no certificate when the web layer knows more than "none was presented" (a certificate
    header from a peer that is not a trusted proxy, a header that cannot be read)."""
    how = "" if via == "tls" else f" via={via}"
    if not client_certificate:
        _log(
            uow_factory,
            _stranger(peer),
            LogEntry(
                "kiosk:connect", result="denied", detail=f"reason={missing or 'no_client_certificate'}{how}"
            ),
        )
        raise Unauthenticated("端末のクライアント証明書が必要です", "client_certificate")
    cert: Presented | None = None
    row = None
    try:
        cert = desk.trust.kiosk(client_certificate)
        reason = None if cert.valid_at(desk.clock()) else "expired"
    except CardRefused as refused:
        reason = refused.reason
    if cert is not None and reason is None:
        with uow_factory() as uow:
            row = uow.cards.kiosk(cert.subject_id)
        if row is None:
            reason = "unregistered"
        elif row.state != "active":
            reason = "retired"
        elif row.cert_sha256 != cert.sha256:
            reason = "certificate_mismatch"
    if reason is not None or row is None:
        claimed = cert.subject_id if cert is not None and rules.KIOSK_ID.fullmatch(cert.subject_id) else "-"
        _log(
            uow_factory,
            _stranger(peer),
            LogEntry("kiosk:connect", result="denied", detail=f"reason={reason} kiosk={claimed}{how}"),
        )
        raise CardRefused(str(reason), "この端末は登録されていないか、証明書が無効です", "client_certificate")
    return kiosk_actor(row.kiosk_id, row.name)


def _open(uow_factory: UnitOfWorkFactory, desk: KioskDesk, actor: Actor, action: str) -> datetime:
    at = desk.clock()
    if not desk.hours.is_open(at):
        _log(uow_factory, actor, LogEntry(action, result="closed", detail=f"hours={desk.hours.describe()}"))
        raise OutsideServiceHours(f"サービス提供時間外です（{desk.hours.describe()}）")
    return at


def status(desk: KioskDesk, actor: Actor) -> dict[str, Any]:
    at = desk.clock()
    return {
        "kiosk_id": actor.terminal,
        "open": desk.hours.is_open(at),
        "hours": desk.hours.describe(),
        "now": at.astimezone(JST).isoformat(),
    }


# --- the card ----------------------------------------------------------------------------------------------------


def new_challenge(uow_factory: UnitOfWorkFactory, desk: KioskDesk, actor: Actor) -> dict[str, Any]:
    at = _open(uow_factory, desk, actor, "kiosk:challenge")
    challenge_id = secrets.token_urlsafe(18)
    challenge = base64.b64encode(secrets.token_bytes(32)).decode("ascii")
    expires = at + timedelta(seconds=desk.challenge_seconds)
    with uow_factory() as uow:
        uow.cards.add_challenge(
            {
                "challenge_id": challenge_id,
                "kiosk_id": actor.terminal,
                "challenge": challenge,
                "issued_at": at,
                "expires_at": expires,
            }
        )
        uow.log(actor, LogEntry("kiosk:challenge", detail=f"challenge={challenge_id}"))
        uow.commit()
    return {"challenge_id": challenge_id, "challenge": challenge, "expires_at": _iso(expires)}


def _b64(value: Any, field: str, limit: int = 2048) -> bytes:
    if not isinstance(value, str) or not value or len(value) > limit:
        raise InvalidField("base64 で指定してください", field)
    try:
        return base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError):
        raise InvalidField("base64 で指定してください", field) from None


def _auth_fields(payload: Mapping[str, Any]) -> tuple[str, str, str, bytes | None]:
    challenge_id = payload.get("challenge_id")
    if not isinstance(challenge_id, str) or not 1 <= len(challenge_id) <= 40:
        raise InvalidField("チャレンジIDを指定してください", "challenge_id")
    cert = payload.get("card_certificate")
    if not isinstance(cert, str) or not cert.strip() or len(cert) > MAX_CERTIFICATE_CHARS:
        raise InvalidField("カードの利用者証明用電子証明書（PEM）を指定してください", "card_certificate")
    pin_result = payload.get("pin_result")
    if pin_result not in ("ok", "incorrect"):
        raise InvalidField("pin_result は ok / incorrect のいずれかです", "pin_result")
    signature = payload.get("signature")
    if pin_result == "ok":
        return challenge_id, cert, pin_result, _b64(signature, "signature")
    if signature is not None:
        raise InvalidField("暗証番号が違うときは署名を送りません", "signature")
    return challenge_id, cert, pin_result, None


def _card_state(uow: UnitOfWork, row: Any, cert: Presented) -> CardState | None:
    if row is None:
        return None
    return CardState(
        serial=row.serial,
        addressee_number=row.addressee_number,
        state=row.state,
        pin_failures=row.pin_failures,
        locked=row.locked_at is not None,
        revoked_by_jlis=uow.cards.revoked(row.serial),
        not_before=cert.not_before,
        not_after=cert.not_after,
    )


def _holder(uow: UnitOfWork, addressee_number: str) -> tuple[Holder, list[tuple[str, str]]] | None:
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


def _session_answer(
    token: str, expires: datetime, fee: int, holder: Holder, members: list[tuple[str, str]]
) -> dict[str, Any]:
    return {
        "session": token,
        "expires_at": _iso(expires),
        "holder": {"addressee_number": holder.addressee_number, "name": holder.name},
        "household": [
            {"addressee_number": n, "name": name, "holder": n == holder.addressee_number}
            for n, name in members
        ],
        "offer": {
            "kind": rules.KIND,
            "kind_name": rules.KIND_NAME,
            "scopes": list(rules.SCOPES),
            "include": list(rules.INCLUDE),
            "max_copies": rules.MAX_COPIES,
            "fee_per_copy": fee,  # the city's コンビニ交付 fee (certificate settings)
        },
    }


def authenticate(
    uow_factory: UnitOfWorkFactory, desk: KioskDesk, actor: Actor, payload: Mapping[str, Any]
) -> dict[str, Any]:
    """A card at the kiosk: the challenge's answer, or the chip's refusal of the PIN (see the module docstring)."""
    at = _open(uow_factory, desk, actor, "kiosk:card_auth")
    challenge_id, text, pin_result, signature = _auth_fields(payload)
    try:
        cert = desk.trust.card(text)
    except CardRefused as refused:
        _log(
            uow_factory,
            actor,
            LogEntry("kiosk:card_auth", result="denied", detail=f"reason={refused.reason}"),
        )
        raise
    serial = cert.subject_id
    error: DomainError | None = None
    answer: dict[str, Any] = {}
    with uow_factory() as uow:
        challenge = uow.cards.take_challenge(challenge_id, actor.terminal, at)
        row = uow.cards.card(serial)
        targets = [row.addressee_number] if row is not None else []
        reason = None if challenge is not None else "challenge"
        if reason is None:
            reason = rules.card_refusal(_card_state(uow, row, cert), at)
        result = "denied"
        if reason == "challenge":
            error = Unauthenticated(
                "確認用の値が無効か期限切れです。最初からやり直してください", "challenge_id"
            )
        elif reason == "locked":
            error, result = CardLocked(_LOCKED), "locked"
        elif reason is not None:
            error = CardRefused(reason, rules.REFUSALS[reason])
        elif pin_result == "incorrect":
            failures = uow.cards.count_pin_failure(serial, at)
            reason = f"wrong_pin failures={failures}"
            if rules.locks(failures):
                uow.cards.change_card(serial, {"locked_at": at})
                error, result = CardLocked(_LOCKED), "locked"
            else:
                left = rules.remaining_tries(failures)
                error = Unauthenticated(f"暗証番号が違います（あと{left}回間違えるとロックされます）", "pin")
                result = "wrong_pin"
        elif signature is None or not desk.trust.possession(
            cert, base64.b64decode(challenge.challenge), signature
        ):
            reason = "bad_signature"
            error = CardRefused(reason, "カードを確認できませんでした。もう一度お試しください")
        else:
            found = _holder(uow, row.addressee_number)
            if found is None:
                reason, result = "not_resident", "refused"
                error = ReferToCounter(rules.REFER)
            else:
                if row.pin_failures:
                    uow.cards.change_card(serial, {"pin_failures": 0, "changed_at": at})
                token = secrets.token_urlsafe(32)
                expires = at + timedelta(seconds=desk.session_seconds)
                uow.cards.add_session(
                    {
                        "token_hash": _hash(token),
                        "kiosk_id": actor.terminal,
                        "serial": serial,
                        "addressee_number": row.addressee_number,
                        "started_at": at,
                        "expires_at": expires,
                    }
                )
                fee = certificates.settings_in(uow, desk.office).kiosk_fee
                answer = _session_answer(token, expires, fee, *found)
                result = "ok"
        uow.log(
            actor,
            LogEntry(
                "kiosk:card_auth", targets, result=result, detail=f"card={serial} reason={reason or '-'}"
            ),
        )
        uow.commit()
    if error is not None:
        raise error
    return answer


_LOCKED = "暗証番号を3回続けて間違えたため、このカードはロックされています。" + rules.REFER


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _session(uow: UnitOfWork, actor: Actor, token: str | None, at: datetime) -> Any:
    """The live card session of this kiosk, or None."""
    if not token or len(token) > 100:
        return None
    row = uow.cards.session(_hash(token))
    if row is None or row.kiosk_id != actor.terminal or row.ended_at is not None or utc(row.expires_at) <= at:
        return None
    return row


def end_session(uow_factory: UnitOfWorkFactory, desk: KioskDesk, actor: Actor, token: str | None) -> None:
    """The card was taken out: the session ends (an unknown or ended one is `unauthenticated`)."""
    at = desk.clock()
    with uow_factory() as uow:
        row = _session(uow, actor, token, at)
        if row is not None:
            uow.cards.end_session(row.token_hash, at)
            uow.log(actor, LogEntry("kiosk:session_end", [row.addressee_number], detail=f"card={row.serial}"))
            uow.commit()
    if row is None:
        raise Unauthenticated("カードの認証からやり直してください", "X-Kiosk-Session")


# --- issuance ----------------------------------------------------------------------------------------------------


def _alert(uow: UnitOfWork, actor: Actor, number: str) -> None:
    uow.controls.add_alert(
        {
            "at": uow.now,
            "kind": "protected_access",
            "subject": number,
            "staff_id": actor.staff_id,
            "detail": f"kiosk:issue kiosk {actor.terminal}"[:500],
        }
    )


def issue(
    uow_factory: UnitOfWorkFactory,
    desk: KioskDesk,
    actor: Actor,
    token: str | None,
    payload: Mapping[str, Any],
) -> Issued:
    """A 住民票の写し for the card holder of this session (see the module docstring)."""
    at = _open(uow_factory, desk, actor, "kiosk:issue")
    req = rules.parse_request(payload)
    error: DomainError | None = None
    persons: list[str] = []
    holder: Holder | None = None
    with uow_factory() as uow:
        session = _session(uow, actor, token, at)
        result, targets = "denied", []
        reason: str | None = "session"
        if session is None:
            error = Unauthenticated("カードの認証からやり直してください", "X-Kiosk-Session")
        else:
            targets = [session.addressee_number]
            card = uow.cards.card(session.serial)
            state = CardState(  # the certificate's validity was checked when the session began
                card.serial,
                card.addressee_number,
                card.state,
                card.pin_failures,
                card.locked_at is not None,
                uow.cards.revoked(card.serial),
            )
            found = _holder(uow, session.addressee_number)
            reason = rules.card_refusal(state, at) or ("not_resident" if found is None else None)
            if reason is not None or found is None:
                uow.cards.end_session(session.token_hash, at)
                result, error = "refused", ReferToCounter(rules.REFER)
            else:
                holder, members = found
                try:
                    persons = rules.subjects(req, holder, [n for n, _ in members])
                except DomainError as refused:
                    reason, error = "other_household", refused
                else:
                    targets = persons
                    pairs = [(n, holder.household_number) for n in {*persons, holder.addressee_number}]
                    held = protection.in_force_for(
                        uow, pairs, for_other_systems=True, operation="certificate", level="error"
                    )
                    if held:
                        for number in sorted(held):
                            _alert(uow, actor, number)
                        result, reason, error = "protected", "hold", ReferToCounter(rules.REFER)
        if error is not None:
            detail = f"card={session.serial if session else '-'} reason={reason}"
            uow.log(actor, LogEntry("kiosk:issue", targets, result=result, detail=detail))
            uow.commit()
    if error is not None:
        raise error
    assert session is not None and holder is not None
    body = rules.certificate_request(req, holder, persons)
    try:
        issued = certificates.issue(uow_factory, actor, body, desk.office, channel="kiosk")
    except (ProtectedRecord, NotResident, NotFound, ReferToCounter) as refused:
        # a change since the checks above, or a certificate the counter must finish (文字溢れ・外字)
        _log(
            uow_factory,
            actor,
            LogEntry(
                "kiosk:issue",
                persons,
                result="refused",
                detail=f"card={session.serial} reason={_refusal_reason(refused)}",
            ),
        )
        raise ReferToCounter(rules.REFER) from None
    _log(
        uow_factory,
        actor,
        LogEntry(
            "kiosk:issue",
            persons,
            detail=(
                f"card={session.serial} numbers={','.join(issued.issuance_numbers)} scope={req.scope} "
                f"items={','.join(issued.items)} fee={issued.fee}"
            )[:1000],
        ),
    )
    return issued


# --- the registry (the counter's and the administrator's side) --------------------------------------------------


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
    _log(uow_factory, actor, LogEntry(action, targets, result="refused", detail=f"reason={refused.reason}"))
    return InvalidField(refused.message, field)


def _stamp(value: Any) -> str | None:
    if value is None:
        return None
    return _iso(value) if isinstance(value, datetime) else str(value.isoformat())


def kiosk_view(row: Any) -> dict[str, Any]:
    return {
        "kiosk_id": row.kiosk_id,
        "name": row.name,
        "cert_sha256": row.cert_sha256,
        "state": row.state,
        "registered_at": _stamp(row.registered_at),
        "registered_by": row.registered_by,
    }


def card_view(row: Any, revoked_by_jlis: bool, today: date, holder: bool = True) -> dict[str, Any]:
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
            raise NotFound("該当する端末がありません", "kiosk_id")
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
            raise NotFound("該当する住民が見つかりません", "addressee_number")
        if protection.screen(uow, actor, [(number, person.household_number)], "card:list"):
            uow.log(actor, LogEntry("card:list", [number], result="hidden"))
            uow.commit()
            raise NotFound("該当する住民が見つかりません", "addressee_number")
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
            raise NotFound("該当する住民が見つかりません", "addressee_number")
        if not is_present(record_from_row(person.record, None), uow.reader.today):
            raise NotResident("住民でない方にはカードを登録できません", "addressee_number")
        if uow.cards.card(cert.subject_id) is not None:
            raise InvalidField("この電子証明書はすでに登録されています", "certificate")
        values = {
            "serial": cert.subject_id,
            "addressee_number": number,
            "issued_on": cert.not_before.astimezone(JST).date(),
            "expires_on": cert.not_after.astimezone(JST).date(),
            "state": "active",
            "pin_failures": 0,
            "registered_at": uow.now,
            "registered_by": actor.staff_id,
            "changed_at": uow.now,
        }
        uow.cards.add_card(values)
        uow.log(actor, LogEntry("card:register", [number], detail=f"card={cert.subject_id}"))
        row = uow.cards.card(cert.subject_id)
        view = card_view(row, uow.cards.revoked(row.serial), uow.reader.today)
        uow.commit()
    return view


def _card_change(
    uow_factory: UnitOfWorkFactory,
    actor: Actor,
    serial: str,
    action: str,
    change: Callable[[Any], dict[str, Any]],
) -> dict[str, Any]:
    """A change the counter makes to a card it holds (found by the serial its certificate shows). Like a filing,
    it is not hidden by a 支援措置 (the holder is at the counter); the answer leaves the holder out."""
    authorize(uow_factory, actor, REGISTER_FILE, action)
    key = rules.check_serial(serial)
    with uow_factory() as uow:
        row = uow.cards.card(key)
        if row is None:
            raise NotFound("該当するカードがありません", "serial")
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


def _shown(key: str, value: Any) -> tuple[str, Any]:
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
