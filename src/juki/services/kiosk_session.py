"""証明書コンビニ交付 (kiosk issuance): the kiosk and the card — who is at the kiosk, and whose card it is.

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
  session (5 minutes, this kiosk, this card) whose token the kiosk sends as `X-Kiosk-Session`; `end_session` closes
  it when the card is taken out.

The log entries are listed in services/kiosk_desk.py.
"""

from __future__ import annotations

import base64
import binascii
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from juki.domain import kiosk as rules
from juki.domain.dates import JST
from juki.domain.errors import CardLocked, DomainError, InvalidField, ReferToCounter, Unauthenticated
from juki.domain.kiosk import CardRefused, CardState, Holder, NoCardSession, Presented
from juki.policy.roles import Actor
from juki.services import certificates
from juki.services.audit import LogEntry
from juki.services.kiosk_desk import (
    MAX_CERTIFICATE_CHARS,
    PROCEDURE,
    KioskDesk,
    KioskTrust,
    holder_of,
    iso,
    kiosk_actor,
    live_session,
    log_one,
    open_now,
    token_hash,
)
from juki.services.ports import StoredRow
from juki.services.unit_of_work import UnitOfWork, UnitOfWorkFactory


def _stranger(peer: str) -> Actor:
    return Actor("kiosk:unknown", "未登録の端末", "kiosk", peer[:100] or "unknown", procedure=PROCEDURE)


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
        log_one(
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
        log_one(
            uow_factory,
            _stranger(peer),
            LogEntry("kiosk:connect", result="denied", detail=f"reason={reason} kiosk={claimed}{how}"),
        )
        raise CardRefused(str(reason), "この端末は登録されていないか、証明書が無効です", "client_certificate")
    return kiosk_actor(row.kiosk_id, row.name)


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
    at = open_now(uow_factory, desk, actor, "kiosk:challenge")
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
    return {"challenge_id": challenge_id, "challenge": challenge, "expires_at": iso(expires)}


def _b64(value: object, field: str, limit: int = 2048) -> bytes:
    if not isinstance(value, str) or not value or len(value) > limit:
        raise InvalidField("base64 で指定してください", field)
    try:
        return base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError):
        raise InvalidField("base64 で指定してください", field) from None


def auth_fields(payload: Mapping[str, Any]) -> tuple[str, str, str, bytes | None]:
    """A card's answer as sent: (challenge id, user certificate PEM, pin_result, signature or None)."""
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


def _card_state(uow: UnitOfWork, row: StoredRow, cert: Presented) -> CardState | None:
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


def _session_answer(
    token: str, expires: datetime, fee: int, holder: Holder, members: list[tuple[str, str]]
) -> dict[str, Any]:
    return {
        "session": token,
        "expires_at": iso(expires),
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


@dataclass
class CardCheck:
    """What the city found of a card's answer to a challenge (`check_card`): the card's row (None: unknown), the
    reason to log (None: accepted), the log entry's result, and the error to raise (None: accepted)."""

    row: StoredRow
    reason: str | None
    result: str
    error: DomainError | None


def check_card(
    uow: UnitOfWork,
    trust: KioskTrust,
    cert: Presented,
    challenge: bytes | None,
    pin_result: str,
    signature: bytes | None,
    at: datetime,
    *,
    count_wrong_pin: bool = True,
) -> CardCheck:
    """A card's answer to a one-time challenge (`challenge` None: no live challenge was found), in the caller's unit
    of work: the card's state (unknown, revoked, suspended, out of validity, locked), a wrong PIN counted (three lock
    the card), the signature checked (proof of possession), and the PIN count reset on success. Shared by the kiosk
    and the resident's own pages (services/my_usage.py); the caller logs and opens its session.

    `count_wrong_pin=False`: the answer comes from a client the city does not know (the resident's own computer), so
    its report of a wrong PIN proves nothing — anyone holding a copy of the card's certificate could send three and
    lock the card — and a client that guesses would simply not report; it is refused, not counted."""
    row = uow.cards.card(cert.subject_id)
    reason = None if challenge is not None else "challenge"
    if reason is None:
        reason = rules.card_refusal(_card_state(uow, row, cert), at)
    if reason == "challenge":
        error = Unauthenticated("確認用の値が無効か期限切れです。最初からやり直してください", "challenge_id")
        return CardCheck(row, reason, "denied", error)
    if reason == "locked":
        return CardCheck(row, reason, "locked", CardLocked(_LOCKED))
    if reason is not None:
        return CardCheck(row, reason, "denied", CardRefused(reason, rules.REFUSALS[reason]))
    if pin_result == "incorrect" and not count_wrong_pin:
        error = Unauthenticated("暗証番号が違います。正しい暗証番号でもう一度お試しください", "pin")
        return CardCheck(row, "wrong_pin reported", "wrong_pin", error)
    if pin_result == "incorrect":
        failures = uow.cards.count_pin_failure(cert.subject_id, at)
        reason = f"wrong_pin failures={failures}"
        if rules.locks(failures):
            uow.cards.change_card(cert.subject_id, {"locked_at": at})
            return CardCheck(row, reason, "locked", CardLocked(_LOCKED))
        left = rules.remaining_tries(failures)
        error = Unauthenticated(f"暗証番号が違います（あと{left}回間違えるとロックされます）", "pin")
        return CardCheck(row, reason, "wrong_pin", error)
    if challenge is None or signature is None or not trust.possession(cert, challenge, signature):
        error = CardRefused("bad_signature", "カードを確認できませんでした。もう一度お試しください")
        return CardCheck(row, "bad_signature", "denied", error)
    if row.pin_failures:
        uow.cards.change_card(cert.subject_id, {"pin_failures": 0, "changed_at": at})
    return CardCheck(row, None, "ok", None)


def authenticate(
    uow_factory: UnitOfWorkFactory, desk: KioskDesk, actor: Actor, payload: Mapping[str, Any]
) -> dict[str, Any]:
    """A card at the kiosk: the challenge's answer, or the chip's refusal of the PIN (see the module docstring)."""
    at = open_now(uow_factory, desk, actor, "kiosk:card_auth")
    challenge_id, text, pin_result, signature = auth_fields(payload)
    try:
        cert = desk.trust.card(text)
    except CardRefused as refused:
        log_one(
            uow_factory,
            actor,
            LogEntry("kiosk:card_auth", result="denied", detail=f"reason={refused.reason}"),
        )
        raise
    serial = cert.subject_id
    answer: dict[str, Any] = {}
    with uow_factory() as uow:
        challenge = uow.cards.take_challenge(challenge_id, actor.terminal, at)
        check = check_card(
            uow,
            desk.trust,
            cert,
            None if challenge is None else base64.b64decode(challenge.challenge),
            pin_result,
            signature,
            at,
        )
        row, reason, result, error = check.row, check.reason, check.result, check.error
        targets = [row.addressee_number] if row is not None else []
        if error is None:
            found = holder_of(uow, row.addressee_number)
            if found is None:
                reason, result = "not_resident", "refused"
                error = ReferToCounter(rules.REFER)
            else:
                token = secrets.token_urlsafe(32)
                expires = at + timedelta(seconds=desk.session_seconds)
                uow.cards.add_session(
                    {
                        "token_hash": token_hash(token),
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


def end_session(uow_factory: UnitOfWorkFactory, desk: KioskDesk, actor: Actor, token: str | None) -> None:
    """The card was taken out: the session ends (an unknown or ended one is `unauthenticated`)."""
    at = desk.clock()
    with uow_factory() as uow:
        row = live_session(uow, actor, token, at)
        if row is not None:
            uow.cards.end_session(row.token_hash, at)
            uow.log(actor, LogEntry("kiosk:session_end", [row.addressee_number], detail=f"card={row.serial}"))
            uow.commit()
    if row is None:
        raise NoCardSession()
