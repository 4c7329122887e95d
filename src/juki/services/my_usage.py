"""自己情報 (やりとり履歴): a resident signs in with their My Number card and sees who used their data; a supervisor
releases early or extends what is withheld from it (docs/my-usage.md).

**Sign-in.** The same card and PIN as the kiosk, checked by the same code (`kiosk_session.auth_fields`,
`kiosk_session.check_card`: the J-LIS CA, the card's state, the signature over a one-time challenge as the proof of
possession). A wrong PIN is refused but not counted: the report comes from the resident's own computer, which proves
nothing (the card's chip counts its PINs; a count here would let anyone with a copy of the certificate lock the card). The challenge is the portal's own (`my_challenges`: no kiosk
stands between the resident and the city), and so is the session (`my_sessions`, `SESSION_SECONDS`, bound to the card
and the person, by its token's hash). Refusals answer the kiosk's codes (`unauthenticated`, `card_locked`) and are
logged (`my:sign_in`); nothing is shown. A session that is forged, ended or expired, or whose card has since been
suspended, revoked or locked, is `unauthenticated` (logged as `my:session`).

**The history.** The person comes from the session, never from the request: an explicit request naming anyone else
is refused (`forbidden`) and logged. Entries (`GET /api/v1/my/usage`, API.md):
- `provision` — the 中間サーバー's answered 照会 about the person (`ProvisionRecords`, a port; none configured: none);
- `transfer` — each 庁内連携 delivery that included the person (the operation log's `transfer:deliver` entries, written
  by services/transfer_feed.log_delivery), one entry per 事務 of the department system, with the 事務's legal basis
  from the transfer policy and the items delivered that the 事務 covers;
- `view` — each staff use of the person's record in the operation log, the staff named only by department.
Withholding is the domain's rule (domain/my_usage.py) with the supervisors' decisions applied; a withheld entry is
absent until its date, and the resident is told of withheld entries only where the law lets the city tell.

Log entries: `my:sign_in`, `my:session`, `my:sign_out`, `my:usage` (the resident's own acts, as role `resident`,
never shown back as uses), `my_usage:withheld`, `my_usage:release`, `my_usage:extend` (a supervisor's).
"""

from __future__ import annotations

import base64
import secrets
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any, Protocol

from juki.domain import kiosk as card_rules
from juki.domain import my_usage as rules
from juki.domain.dates import parse_date
from juki.domain.errors import (
    DomainError,
    Forbidden,
    InvalidField,
    NotFound,
    ResidentNotFound,
    Unauthenticated,
)
from juki.domain.events import PROTECTION_CHANGED
from juki.domain.identifiers import validate_addressee_number
from juki.domain.intake import free_text
from juki.domain.kiosk import CardRefused, CardState
from juki.intermediate.records import ProvisionEntry
from juki.policy.roles import MY_USAGE_READ, MY_USAGE_WITHHOLD, PROCEDURES, PROTECTION_VIEW, Actor
from juki.services import kiosk_session, protection, transfer_feed
from juki.services.audit import LogEntry, utc
from juki.services.authorization import authorize
from juki.services.kiosk_desk import KioskDesk, iso, log_one, token_hash
from juki.services.read_models import ChangeSent
from juki.services.unit_of_work import UnitOfWork, UnitOfWorkFactory

PROCEDURE = "my_usage"
ROLE = "resident"  # policy/roles.py: a person signed in with their card, never an account
TOKEN_PREFIX = "my."  # a resident's session token; a staff token never starts so
SESSION_SECONDS = 600
CHALLENGE_SECONDS = 120
ANSWERED = "answered"  # the only provision status the resident sees (wire.STATUSES)
# Who did it, as the resident is told: the department of the staff member (staff table), else the role's office.
ROLE_COUNTERPARTS = {
    "clerk": "市民課",
    "supervisor": "市民課",
    "contractor": "市民課（委託事業者）",
    "auditor": "操作ログの監査担当",
    "admin": "情報システム担当",
    "cs_operator": "市民課（住基ネット）",
    "cs_system": "市町村CS（住基ネット）",
    "kiosk": "コンビニ交付（証明書の自動交付機）",
}
# The law a procedure's use of the record rests on (by procedure code, policy/roles.py).
LEGAL_BASES = {
    "resident_record": "住民基本台帳法",
    "resident_inquiry": "住民基本台帳法第12条",
    "protection": "住民基本台帳法第12条第6項、住民基本台帳事務処理要領",
    "bulk_output": "住民基本台帳法",
    "subject_request": "個人情報の保護に関する法律第76条・第90条・第98条",
    "audit": "個人情報の保護に関する法律第66条（安全管理措置）",
    "administration": "個人情報の保護に関する法律第66条（安全管理措置）",
    "cs": "住民基本台帳法第30条の5・第30条の6",
    "transfer": "番号法第9条、住民基本台帳法",
    "kiosk_issuance": "住民基本台帳法第12条",
    "investigation_inquiry": "刑事訴訟法第197条第2項",
    "my_usage": "個人情報の保護に関する法律第76条",
}
_BASIS_BY_NAME = {PROCEDURES[code].name: basis for code, basis in LEGAL_BASES.items() if code in PROCEDURES}


class ProvisionRecords(Protocol):
    """The 中間サーバー's 情報提供等記録 about a person (juki.intermediate)."""

    def provisions_for(self, addressee_number: str) -> list[ProvisionEntry]: ...


class NoProvisions:
    """No 中間サーバー configured: no provision entries."""

    def provisions_for(self, addressee_number: str) -> list[ProvisionEntry]:
        return []


class MyUsageStore(Protocol):
    def add_challenge(self, values: dict[str, Any]) -> None: ...
    def drop_challenges(self, expired_before: datetime) -> None: ...
    def take_challenge(self, challenge_id: str, at: datetime) -> Any: ...  # a row, or None
    def add_session(self, values: dict[str, Any]) -> None: ...
    def session(self, token_hash: str) -> Any: ...  # a row, or None
    def end_session(self, token_hash: str, at: datetime) -> bool: ...
    def log_about(self, addressee_number: str) -> list[Any]: ...
    def changes_of(self, addressee_number: str) -> list[ChangeSent]: ...
    def add_decision(self, values: dict[str, Any]) -> None: ...
    def decisions(self, addressee_number: str) -> list[Any]: ...


def store_of(uow: UnitOfWork) -> MyUsageStore:
    """The history's store over the unit of work's connection (its own tables; the register's unit of work does not
    carry it), opened from the one adapter of this port."""
    from juki.adapters.my_usage_store import of

    return of(uow)


# --- who is signed in ----------------------------------------------------------------------------------------------


def resident_actor(addressee_number: str, terminal: str) -> Actor:
    """The resident as the operation log names them: never by name, and never as a staff member."""
    return Actor(
        f"{ROLE}:{addressee_number}",
        "本人（個人番号カード）",
        ROLE,
        terminal[:100] or "unknown",
        None,
        PROCEDURE,
    )


def _stranger(terminal: str) -> Actor:
    return Actor(f"{ROLE}:unknown", "未確認の利用者", ROLE, terminal[:100] or "unknown", None, PROCEDURE)


def person_of(actor: Actor) -> str | None:
    """The person a resident actor stands for (None for anyone else)."""
    prefix = f"{ROLE}:"
    if actor.role != ROLE or not actor.staff_id.startswith(prefix):
        return None
    return actor.staff_id[len(prefix) :]


def new_challenge(uow_factory: UnitOfWorkFactory, clock: Callable[[], datetime]) -> dict[str, Any]:
    """A one-time challenge for the card to sign (`CHALLENGE_SECONDS`, single use). It names nobody: not logged."""
    at = clock()
    challenge_id = secrets.token_urlsafe(18)
    challenge = base64.b64encode(secrets.token_bytes(32)).decode("ascii")
    expires = at + timedelta(seconds=CHALLENGE_SECONDS)
    with uow_factory() as uow:
        values = {
            "challenge_id": challenge_id,
            "challenge": challenge,
            "issued_at": at,
            "expires_at": expires,
        }
        store = store_of(uow)
        store.drop_challenges(at)
        store.add_challenge(values)
        uow.commit()
    return {"challenge_id": challenge_id, "challenge": challenge, "expires_at": iso(expires)}


def sign_in(
    uow_factory: UnitOfWorkFactory,
    desk: KioskDesk,
    payload: Mapping[str, Any],
    terminal: str,
    session_seconds: int = SESSION_SECONDS,
) -> dict[str, Any]:
    """The card's answer to a challenge (or the chip's refusal of the PIN) → a session for the card holder."""
    challenge_id, text, pin_result, signature = kiosk_session.auth_fields(payload)
    at = desk.clock()
    try:
        cert = desk.trust.card(text)
    except CardRefused as refused:
        entry = LogEntry("my:sign_in", result="denied", detail=f"reason={refused.reason}")
        log_one(uow_factory, _stranger(terminal), entry)
        raise
    error: DomainError | None = None
    answer: dict[str, Any] = {}
    with uow_factory() as uow:
        challenge = store_of(uow).take_challenge(challenge_id, at)
        raw = None if challenge is None else base64.b64decode(challenge.challenge)
        check = kiosk_session.check_card(
            uow, desk.trust, cert, raw, pin_result, signature, at, count_wrong_pin=False
        )
        row, reason, result, error = check.row, check.reason, check.result, check.error
        person = row.addressee_number if row is not None else None
        actor = resident_actor(person, terminal) if person else _stranger(terminal)
        if error is None and (person is None or uow.queries.resident(person) is None):
            reason, result, error = "not_in_register", "refused", ResidentNotFound()
        if error is None:
            answer = _open_session(store_of(uow), cert.subject_id, str(person), at, session_seconds)
        detail = f"card={cert.subject_id} reason={reason or '-'}"
        uow.log(actor, LogEntry("my:sign_in", [person] if person else [], result=result, detail=detail))
        uow.commit()
    if error is not None:
        raise error
    return answer


def _open_session(
    store: MyUsageStore, serial: str, person: str, at: datetime, seconds: int
) -> dict[str, Any]:
    """A new session bound to the card and its holder, stored by its token's hash only."""
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    expires = at + timedelta(seconds=seconds)
    store.add_session(
        {
            "token_hash": token_hash(token),
            "serial": serial,
            "addressee_number": person,
            "started_at": at,
            "expires_at": expires,
        }
    )
    return {"session": token, "expires_at": iso(expires)}


class NoSession(Unauthenticated):
    default_message = "個人番号カードでのログインからやり直してください"
    default_field = "session"


def _card_usable(uow: UnitOfWork, serial: str) -> bool:
    """Whether the session's card is still usable: suspended, revoked or locked since sign-in ends the session."""
    row = uow.cards.card(serial)
    if row is None:
        return False
    state = CardState(
        serial=row.serial,
        addressee_number=row.addressee_number,
        state=row.state,
        pin_failures=row.pin_failures,
        locked=row.locked_at is not None,
        revoked_by_jlis=uow.cards.revoked(serial),
    )  # the certificate's validity was checked at sign-in, and a session lasts minutes
    return card_rules.card_refusal(state, uow.now) is None


def resident(
    uow_factory: UnitOfWorkFactory, token: str | None, terminal: str, clock: Callable[[], datetime]
) -> Actor:
    """The resident a session token stands for; a forged, ended or expired one — or one whose card can no longer be
    used — is `unauthenticated`, logged."""
    at = clock()
    reason = "forged"
    with uow_factory() as uow:
        row = None
        if token and token.startswith(TOKEN_PREFIX) and len(token) <= 100:
            row = store_of(uow).session(token_hash(token))
        if row is not None:
            if row.ended_at is not None:
                reason = "ended"
            elif utc(row.expires_at) <= at:
                reason = "expired"
            elif not _card_usable(uow, row.serial):
                reason = "card"
            else:
                return resident_actor(row.addressee_number, terminal)
        actor = resident_actor(row.addressee_number, terminal) if row is not None else _stranger(terminal)
        uow.log(actor, LogEntry("my:session", result="denied", detail=f"reason={reason}"))
        uow.commit()
    raise NoSession()


def sign_out(uow_factory: UnitOfWorkFactory, actor: Actor, token: str, clock: Callable[[], datetime]) -> None:
    with uow_factory() as uow:
        person = person_of(actor)
        if person is not None and store_of(uow).end_session(token_hash(token), clock()):
            uow.log(actor, LogEntry("my:sign_out", [person]))
            uow.commit()


# --- the history ---------------------------------------------------------------------------------------------------


def _counterpart(row: Any) -> str:
    return str(row.department or ROLE_COUNTERPARTS.get(row.role, "市役所"))


def _views(row: Any) -> rules.Use:
    items = (rules.RECORD, rules.MY_NUMBER) if row.my_number_shown else (rules.RECORD,)
    return rules.Use(
        key=f"log-{row.seq}",
        at=utc(row.at),
        kind="view",
        counterpart=_counterpart(row),
        procedure=row.procedure,
        legal_basis=_BASIS_BY_NAME.get(row.procedure, ""),
        items=items,
        action=row.action,
    )


def _transfers(uow: UnitOfWork, row: Any, protection_only: bool) -> list[rules.Use]:
    """One delivery → one entry per 事務 of the system whose items it carried (the transfer policy in force)."""
    facts = row.facts or {}
    delivered = set(facts.get("items") or [])
    policy = transfer_feed.policy_in(uow)
    system = policy.system(str(facts.get("system", "")))
    by_key = {r.key: r for r in policy.rows()}
    at = utc(row.at)
    uses = []
    for key in facts.get("procedures") or []:
        transfer = by_key.get(key)
        items = rules.item_names(delivered & transfer.allowed_items) if transfer else ()
        if transfer is None or not items:
            continue
        uses.append(
            rules.Use(
                key=f"log-{row.seq}-{key}"[:40],
                at=at,
                kind="transfer",
                counterpart=system.department if system else _counterpart(row),
                procedure=transfer.purpose,
                legal_basis=transfer.legal_basis,
                items=items,
                action=row.action,
                protection_only=protection_only,
            )
        )
    return uses


def _protection_only(changes: list[ChangeSent], since: datetime | None, until: datetime) -> bool:
    """Whether the person's changes a delivery may have carried (those recorded after the same system's previous
    delivery naming them) are all a 支援措置's: such a delivery would tell that a case exists."""
    window = [c for c in changes if (since is None or c.recorded_at > since) and c.recorded_at <= until]
    return bool(window) and all(c.event == PROTECTION_CHANGED for c in window)


def _provisions(records: ProvisionRecords, person: str) -> list[rules.Use]:
    return [
        rules.Use(
            key=rules.provision_key(utc(p.at), p.requester, p.procedure, p.legal_basis),
            at=utc(p.at),
            kind="provision",
            counterpart=p.requester,
            procedure=p.procedure,
            legal_basis=p.legal_basis,
            items=tuple(p.items),
        )
        for p in records.provisions_for(person)
        if p.status == ANSWERED
    ]


def uses_of(uow: UnitOfWork, person: str, records: ProvisionRecords) -> list[rules.Use]:
    """Every use of the person's data, oldest first, before withholding (the resident's own acts are not uses)."""
    store = store_of(uow)
    changes = store.changes_of(person)
    last_delivery: dict[str, datetime] = {}
    uses: list[rules.Use] = []
    for row in store.log_about(person):
        if row.role == ROLE:
            continue
        if row.action == "transfer:deliver":
            system = str((row.facts or {}).get("system", ""))
            at = utc(row.at)
            uses += _transfers(uow, row, _protection_only(changes, last_delivery.get(system), at))
            last_delivery[system] = at
        else:
            uses.append(_views(row))
    uses += _provisions(records, person)
    return sorted(uses, key=lambda u: (u.at, u.key))


def _decisions(store: MyUsageStore, person: str) -> dict[str, list[rules.Decision]]:
    found: dict[str, list[rules.Decision]] = {}
    for d in store.decisions(person):
        until = d.until if isinstance(d.until, date) or d.until is None else date.fromisoformat(str(d.until))
        found.setdefault(d.entry_key, []).append(
            rules.Decision(d.entry_key, d.action, until, utc(d.decided_at))
        )
    return found


@dataclass(frozen=True)
class Judged:
    use: rules.Use
    held: rules.Withholding | None


def _judged(uow: UnitOfWork, person: str, records: ProvisionRecords) -> list[Judged]:
    decisions = _decisions(store_of(uow), person)
    return [
        Judged(u, rules.in_force(rules.withholding(u), decisions.get(u.key, ())))
        for u in uses_of(uow, person, records)
    ]


def usage(
    uow_factory: UnitOfWorkFactory,
    actor: Actor,
    records: ProvisionRecords | None = None,
    asked_for: Iterable[str] = (),
) -> dict[str, Any]:
    """The signed-in resident's history (API.md): entries shown, oldest first, and what they may be told of
    withheld ones. `asked_for`: any person the request named — anyone but the resident is refused, logged."""
    authorize(uow_factory, actor, MY_USAGE_READ, "my:usage")
    person = person_of(actor)
    if person is None:  # a permission held by someone who is not a resident: nobody's history to show
        raise Forbidden("本人の記録のみ表示できます")
    others = sorted({str(n)[:20] for n in asked_for} - {person})
    if others:
        entry = LogEntry("my:usage", [person], result="denied", detail="reason=another_person")
        log_one(uow_factory, actor, entry)
        raise Forbidden("ご本人の記録のみ表示できます", "addressee_number")
    with uow_factory() as uow:
        today = uow.reader.today
        judged = _judged(uow, person, records or NoProvisions())
        shown = [j.use for j in judged if rules.is_shown(j.held, today)]
        withheld = [j.held for j in judged if j.held is not None and not rules.is_shown(j.held, today)]
        uow.log(actor, LogEntry("my:usage", [person], detail=f"entries={len(shown)}"))
        uow.commit()
    return {"entries": [u.shown() for u in shown], "withheld": rules.notices(withheld)}


# --- a supervisor's side: what is withheld, released early, extended --------------------------------------------


def _supervised(uow: UnitOfWork, actor: Actor, number: str, action: str) -> None:
    """The person must exist and be one this actor may see (支援措置: hidden → looks not found, logged)."""
    if uow.queries.resident(number) is None:
        raise ResidentNotFound()
    if protection.screen(uow, actor, [number], action):
        uow.log(actor, LogEntry(action, [number], result="protected"))
        uow.commit()
        raise ResidentNotFound()


def _visible(actor: Actor, held: rules.Withholding) -> bool:
    """A 支援措置's entries only to who may see the measures (acting for the 支援措置に関する事務)."""
    return held.reason.code != "protection" or actor.may(PROTECTION_VIEW)


def _withheld_view(j: Judged) -> dict[str, Any]:
    assert j.held is not None
    return {
        "entry": j.use.key,
        **j.use.shown(),
        "reason": j.held.reason.label,
        "reason_code": j.held.reason.code,
        "exemption": j.held.reason.legal_basis,
        "told": j.held.reason.told,
        "until": j.held.until.isoformat() if j.held.until else None,
        "decided": j.held.decided,
    }


def _listable(actor: Actor, judged: list[Judged], today: date) -> list[Judged]:
    return [
        j
        for j in judged
        if j.held is not None
        and j.held.reason.code != "withholding"  # the managing of withheld entries is the auditor's to read
        and not rules.is_shown(j.held, today)
        and _visible(actor, j.held)
    ]


def withheld(
    uow_factory: UnitOfWorkFactory,
    actor: Actor,
    addressee_number: str,
    records: ProvisionRecords | None = None,
) -> dict[str, Any]:
    """The entries withheld now from a person's history, with reason, exemption and date (the supervisor's list)."""
    authorize(uow_factory, actor, MY_USAGE_WITHHOLD, "my_usage:withheld")
    number = validate_addressee_number(addressee_number)
    with uow_factory() as uow:
        _supervised(uow, actor, number, "my_usage:withheld")
        today = uow.reader.today
        listed = _listable(actor, _judged(uow, number, records or NoProvisions()), today)
        uow.log(actor, LogEntry("my_usage:withheld", [number], detail=f"entries={len(listed)}"))
        uow.commit()
    return {"addressee_number": number, "entries": [_withheld_view(j) for j in listed]}


def _withheld_now(
    uow: UnitOfWork, actor: Actor, number: str, key: str, records: ProvisionRecords, today: date
) -> Judged:
    """The entry `key` of the person's history, if it is withheld now and this actor may see it; else not found."""
    found = next(
        (j for j in _listable(actor, _judged(uow, number, records), today) if j.use.key == key), None
    )
    if found is None:
        raise NotFound("非表示中の該当する記録がありません", "entry")
    return found


def _new_date(found: Judged, payload: Mapping[str, Any], today: date) -> date:
    return rules.check_extension(found.held, parse_date(str(payload.get("until", "")), "until"), today)


def decide(
    uow_factory: UnitOfWorkFactory,
    actor: Actor,
    action: str,
    payload: Mapping[str, Any],
    records: ProvisionRecords | None = None,
) -> dict[str, Any]:
    """`release` (shown from today) or `extend` (shown from `until`) one withheld entry, with a reason; logged."""
    if action not in ("release", "extend"):
        raise InvalidField("release / extend のいずれかです", "action")
    authorize(uow_factory, actor, MY_USAGE_WITHHOLD, f"my_usage:{action}")
    number = validate_addressee_number(str(payload.get("addressee_number", "")))
    key = payload.get("entry")
    if not isinstance(key, str) or not 1 <= len(key) <= 40:
        raise InvalidField("記録を指定してください", "entry")
    reason = free_text(payload, "reason")
    with uow_factory() as uow:
        _supervised(uow, actor, number, f"my_usage:{action}")
        today = uow.reader.today
        found = _withheld_now(uow, actor, number, key, records or NoProvisions(), today)
        until = today if action == "release" else _new_date(found, payload, today)
        store_of(uow).add_decision(
            {
                "entry_key": key,
                "addressee_number": number,
                "action": action,
                "until": until,
                "reason": reason,
                "decided_by": actor.staff_id,
                "decided_at": uow.now,
            }
        )
        detail = f"entry={key} until={until.isoformat()} {reason}"[:500]
        uow.log(actor, LogEntry(f"my_usage:{action}", [number], detail=detail))
        uow.commit()
        held = rules.Withholding(found.held.reason, until, decided=True) if found.held else None
    return _withheld_view(Judged(found.use, held))
