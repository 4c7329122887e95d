"""個人番号カード at the counter (番号法17条, 個人番号カード省令; 標準仕様書 j1110, j1160; seed ⑨⑩): the 交付申請 and the
states J-LIS reports, the 交付通知書, the 交付 that registers the card in the card registry, the 廃止 of an
application, and the 本人確認 with a card. The rules are domain/card_applications.py; docs/cards.md tells it whole.

Who does what (each call authorized and logged, `card_application:*` and `card:identify`):
- the counter (`register:file`, 住民基本台帳に関する事務): records an application (`apply`), hands the card over
  (`handover`: the identity check, the PINs set by the holder, the card registered as active in `kiosk_cards`, the
  one source of a card's state from then on — its 一時停止 and 廃止 are kiosk_registry.set_card_state's), ends an
  application (`revoke`);
- printing the 交付通知書 (`notice`) issues a document naming the person (`certificate:issue`);
- reading applications (`of_person`, `get`, `worklist`) and the card check (`identify`): `register:read`, every
  person screened by `protection.screen` (a protected person looks not found to whoever may not see them, and the
  supervisors are alerted);
- J-LIS's side (`receive_from_jlis`, `record_report`) comes through the CS, as the numbers do (`register:numbers`,
  held by the CS alone): in this system the simulated card center (sim/card_center.py) plays it.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import date
from typing import Any

from juki.domain import card_applications as rules
from juki.domain.card_applications import PresentedCard
from juki.domain.certificates import Issuer, is_present
from juki.domain.dates import JST, parse_date
from juki.domain.errors import (
    CardApplicationNotFound,
    CardApplicationOpen,
    CardApplicationState,
    CardNotRegistered,
    CardRevoked,
    CardUntrusted,
    DomainError,
    InvalidField,
    NotFound,
    NotResident,
    PinsNotSet,
    ResidentNotFound,
)
from juki.domain.identifiers import validate_addressee_number
from juki.domain.kiosk import CardRefused, Presented
from juki.domain.model import record_from_row
from juki.policy.roles import CERTIFICATE_ISSUE, REGISTER_FILE, REGISTER_NUMBERS, REGISTER_READ, Actor
from juki.services import protection
from juki.services.audit import Fact, LogEntry
from juki.services.authorization import authorize
from juki.services.card_application_ports import CardApplication, CardNotice
from juki.services.kiosk_desk import MAX_CERTIFICATE_CHARS, KioskTrust, iso, log_one
from juki.services.kiosk_registry import card_view, new_card
from juki.services.unit_of_work import UnitOfWork, UnitOfWorkFactory

MAX_LIST = 500
ISSUER = Issuer()  # the city and its mayor, as the certificates name them (domain/certificates)
COUNTER = "市民課"  # where the 交付通知書 sends the applicant


# --- views ------------------------------------------------------------------------------------------------------


def _card(uow: UnitOfWork, serial: str | None) -> dict[str, Any] | None:
    """The card as the registry has it now (its state is the registry's, not the application's)."""
    row = uow.cards.card(serial) if serial else None
    if row is None:
        return None
    return card_view(row, uow.cards.revoked(row.serial), uow.reader.today, holder=False)


def _arrived_on(uow: UnitOfWork, app: CardApplication) -> date | None:
    arrivals = [e.at for e in uow.card_applications.events(app.application_id) if e.state == rules.ARRIVED]
    return arrivals[-1].astimezone(JST).date() if arrivals else None


def view(uow: UnitOfWork, app: CardApplication, events: bool = False) -> dict[str, Any]:
    """An application as the counter sees it: no name, no 個人番号, no PIN; the card once handed over."""
    answer: dict[str, Any] = {
        "application_id": app.application_id,
        "addressee_number": app.addressee_number,
        "kind": app.kind,
        "channel": app.channel,
        "applied_on": app.applied_on.isoformat(),
        "state": app.state,
        "state_name": rules.STATE_NAMES[app.state],
        "state_at": iso(app.state_at),
        "serial": app.serial,
        "card": _card(uow, app.serial) if app.state == rules.ISSUED else None,
    }
    if events:
        answer["events"] = [
            {
                "state": e.state,
                "at": iso(e.at),
                "staff_id": e.staff_id,
                "serial": e.serial,
                "detail": e.detail,
            }
            for e in uow.card_applications.events(app.application_id)
        ]
    return answer


# --- reading (screened) -------------------------------------------------------------------------------------------


def _hidden(uow: UnitOfWork, actor: Actor, number: str, action: str) -> bool:
    """Whether a 支援措置 hides this person from the actor (logged `hidden`; the supervisors are alerted)."""
    person = uow.queries.resident(number)
    pair = (number, person.household_number) if person is not None else number
    if not protection.screen(uow, actor, [pair], action):
        return False
    uow.log(actor, LogEntry(action, [number], result="hidden"))
    uow.commit()
    return True


def of_person(uow_factory: UnitOfWorkFactory, actor: Actor, addressee_number: str) -> dict[str, Any]:
    """A person's applications, oldest first, each with its card once handed over (j1110: whether they hold one)."""
    number = validate_addressee_number(addressee_number)
    authorize(uow_factory, actor, REGISTER_READ, "card_application:list", (number,))
    with uow_factory() as uow:
        if uow.queries.resident(number) is None:
            raise ResidentNotFound()
        if _hidden(uow, actor, number, "card_application:list"):
            raise ResidentNotFound()
        views = [view(uow, a) for a in uow.card_applications.of_person(number)]
        uow.log(actor, LogEntry("card_application:list", [number], detail=f"results={len(views)}"))
        uow.commit()
    return {"addressee_number": number, "applications": views}


def _application(uow: UnitOfWork, application_id: str) -> CardApplication:
    app = uow.card_applications.get(rules.check_application_id(application_id))
    if app is None:
        raise CardApplicationNotFound()
    return app


def get(uow_factory: UnitOfWorkFactory, actor: Actor, application_id: str) -> dict[str, Any]:
    """One application with its events (who reported or did what, when)."""
    authorize(uow_factory, actor, REGISTER_READ, "card_application:view")
    with uow_factory() as uow:
        app = _application(uow, application_id)
        if _hidden(uow, actor, app.addressee_number, "card_application:view"):
            raise CardApplicationNotFound()
        answer = view(uow, app, events=True)
        uow.log(actor, LogEntry("card_application:view", [app.addressee_number], detail=app.application_id))
        uow.commit()
    return answer


def check_states(states: Sequence[str]) -> tuple[str, ...]:
    unknown = [s for s in states if s not in rules.STATE_NAMES]
    if unknown:
        raise InvalidField(f"state は {' / '.join(rules.STATE_NAMES)} のいずれかです", "state")
    return tuple(dict.fromkeys(states)) or rules.OPEN


def worklist(uow_factory: UnitOfWorkFactory, actor: Actor, states: Sequence[str] = ()) -> dict[str, Any]:
    """The counter's list: applications in these states (by default those under way), oldest first; a person a
    支援措置 hides from the actor is left out (and the supervisors alerted)."""
    wanted = check_states(states)
    authorize(uow_factory, actor, REGISTER_READ, "card_application:list")
    with uow_factory() as uow:
        apps = uow.card_applications.in_states(wanted, MAX_LIST)
        hidden = protection.screen(uow, actor, {a.addressee_number for a in apps}, "card_application:list")
        shown = [a for a in apps if a.addressee_number not in hidden]
        targets = sorted({a.addressee_number for a in shown})
        uow.log(
            actor,
            LogEntry(
                "card_application:list", targets, detail=f"states={','.join(wanted)} results={len(shown)}"
            ),
        )
        views = [view(uow, a) for a in shown]
        uow.commit()
    return {"states": list(wanted), "applications": views, "truncated": len(apps) >= MAX_LIST}


# --- the counter --------------------------------------------------------------------------------------------------


def _present_resident(uow: UnitOfWork, number: str, message: str) -> None:
    person = uow.queries.resident(number)
    if person is None:
        raise ResidentNotFound()
    if not is_present(record_from_row(person.record, None), uow.reader.today):
        raise NotResident(message, "addressee_number")


def _open(
    uow: UnitOfWork, actor: Actor, number: str, kind: str, applied_on: date, channel: str, state: str
) -> CardApplication:
    """A new application and its first event. The day's counter row is locked first, so two applications of one
    person at once are one after the other, and the second sees the first (`card_application_open`)."""
    application_id = uow.card_applications.next_id(uow.reader.today)
    if uow.card_applications.open_of(number) is not None:
        raise CardApplicationOpen()
    uow.card_applications.add(
        {
            "application_id": application_id,
            "addressee_number": number,
            "kind": kind,
            "channel": channel,
            "applied_on": applied_on,
            "created_at": uow.now,
            "created_by": actor.staff_id,
        }
    )
    uow.card_applications.add_event(
        {"application_id": application_id, "state": state, "at": uow.now, "staff_id": actor.staff_id}
    )
    return _application(uow, application_id)


def apply(
    uow_factory: UnitOfWorkFactory, actor: Actor, addressee_number: str, kind: str, applied_on: str
) -> dict[str, Any]:
    """交付申請 at the counter (申請 through the 市町村長): the resident applies; J-LIS's 申請受付 follows."""
    authorize(uow_factory, actor, REGISTER_FILE, "card_application:apply", (addressee_number,))
    number = validate_addressee_number(addressee_number)
    rules.check_kind(kind)
    day = parse_date(applied_on, "applied_on")
    with uow_factory() as uow:
        rules.check_applied_on(day, uow.reader.today)
        _present_resident(uow, number, "住民でない方の申請は受け付けられません")
        app = _open(uow, actor, number, kind, day, "counter", rules.APPLIED)
        uow.log(
            actor, LogEntry("card_application:apply", [number], detail=f"{app.application_id} kind={kind}")
        )
        answer = view(uow, app, events=True)
        uow.commit()
    return answer


def _card_at_city(uow: UnitOfWork, trust: KioskTrust, app: CardApplication) -> Presented:
    """The card J-LIS sent, checked again against J-LIS's CA (the anchors may have changed since it arrived), not
    revoked by J-LIS and not registered already."""
    if not app.certificate:
        raise CardApplicationState("J-LIS からカードの電子証明書が報告されていません")
    try:
        cert = trust.card(app.certificate)
    except CardRefused:
        raise CardUntrusted(field="application_id") from None
    if uow.cards.revoked(cert.subject_id):
        raise CardRevoked(field="application_id")
    if uow.cards.card(cert.subject_id) is not None:
        raise CardApplicationState("このカードの電子証明書はすでに登録されています")
    return cert


def handover(
    uow_factory: UnitOfWorkFactory,
    trust: KioskTrust,
    actor: Actor,
    application_id: str,
    notice_presented: bool,
    identity_documents: Iterable[str],
    pins_set: bool,
) -> dict[str, Any]:
    """交付 at the counter: the applicant's identity checked (kinds of documents recorded), the PINs set on the card
    by the holder (recorded as done; nothing of them kept), and the card registered as active in the card registry
    — application event, registry row and log entries in one transaction."""
    authorize(uow_factory, actor, REGISTER_FILE, "card_application:handover")
    key = rules.check_application_id(application_id)
    checked = rules.check_identity(notice_presented, identity_documents)
    if not pins_set:
        raise PinsNotSet()
    with uow_factory() as uow:
        app = _application(uow, key)
        rules.check_counter_step(app.state, rules.ISSUED)
        _present_resident(uow, app.addressee_number, "住民でない方にはカードを交付できません")
        cert = _card_at_city(uow, trust, app)
        uow.cards.add_card(new_card(cert, app.addressee_number, uow.now, actor))
        detail = {"notice_presented": checked.notice_presented, "documents": list(checked.documents),
                  "pins_set": True}  # fmt: skip
        uow.card_applications.add_event(
            {"application_id": key, "state": rules.ISSUED, "at": uow.now, "staff_id": actor.staff_id,
             "serial": cert.subject_id, "detail": detail}
        )  # fmt: skip
        facts: dict[str, Fact] = {
            "documents": list(checked.documents),
            "notice_presented": checked.notice_presented,
        }
        targets = [app.addressee_number]
        uow.log(actor, LogEntry("card_application:handover", targets, detail=f"{key} card={cert.subject_id}",
                                facts=facts))  # fmt: skip
        uow.log(actor, LogEntry("card:register", targets, detail=f"card={cert.subject_id} application={key}"))
        answer = view(uow, _application(uow, key), events=True)
        uow.commit()
    return answer


def revoke(uow_factory: UnitOfWorkFactory, actor: Actor, application_id: str, reason: str) -> dict[str, Any]:
    """廃止 of an application not handed over (withdrawn, not collected in time, moved away, died …)."""
    authorize(uow_factory, actor, REGISTER_FILE, "card_application:revoke")
    key = rules.check_application_id(application_id)
    rules.check_revoke_reason(reason)
    with uow_factory() as uow:
        app = _application(uow, key)
        rules.check_counter_step(app.state, rules.REVOKED)
        uow.card_applications.add_event(
            {"application_id": key, "state": rules.REVOKED, "at": uow.now, "staff_id": actor.staff_id,
             "detail": {"reason": reason}}
        )  # fmt: skip
        uow.log(
            actor,
            LogEntry("card_application:revoke", [app.addressee_number], detail=f"{key} reason={reason}"),
        )
        answer = view(uow, _application(uow, key), events=True)
        uow.commit()
    return answer


def _notice(uow: UnitOfWork, app: CardApplication) -> CardNotice:
    person = uow.queries.resident(app.addressee_number)
    if person is None:
        raise ResidentNotFound()
    record = record_from_row(person.record, None)
    arrived = _arrived_on(uow, app) or uow.reader.today
    return CardNotice(
        application_id=app.application_id,
        city=ISSUER.city,
        mayor=ISSUER.title,
        office=f"{ISSUER.short_city}役所 {COUNTER}",
        postal_code=record.address.postal_code,
        address=" ".join(p for p in (record.address.address, record.address.katagaki) if p),
        name=f"{record.family_name}　{record.given_name}",
        kind=rules.KINDS[app.kind],
        applied_on=app.applied_on,
        arrived_on=arrived,
        collect_by=rules.collect_by(arrived),
        printed_on=uow.reader.today,
    )


def notice(uow_factory: UnitOfWorkFactory, actor: Actor, application_id: str) -> tuple[str, bytes]:
    """The 交付通知書 (PDF) of an application whose card is at the city; the first print records 交付通知書発送, a
    reprint changes nothing. It names the person: screened like a read, issued like a certificate."""
    authorize(uow_factory, actor, CERTIFICATE_ISSUE, "card_application:notice")
    with uow_factory() as uow:
        app = _application(uow, application_id)
        if _hidden(uow, actor, app.addressee_number, "card_application:notice"):
            raise CardApplicationNotFound()
        if app.state not in rules.HANDOVER_FROM:  # a reprint is fine; before the card arrived, not
            raise CardApplicationState("カードが市区町村に到着していないため、交付通知書は発行できません")
        pdf = uow.card_applications.render_notice(_notice(uow, app))
        first = app.state == rules.ARRIVED
        if first:
            uow.card_applications.add_event(
                {"application_id": app.application_id, "state": rules.NOTICE_SENT, "at": uow.now,
                 "staff_id": actor.staff_id}
            )  # fmt: skip
        detail = f"{app.application_id} {'sent' if first else 'reprint'}"
        uow.log(actor, LogEntry("card_application:notice", [app.addressee_number], detail=detail))
        uow.commit()
    return app.application_id, pdf


# --- J-LIS's side, through the CS ---------------------------------------------------------------------------------


def receive_from_jlis(
    uow_factory: UnitOfWorkFactory,
    actor: Actor,
    resident_code: str,
    kind: str,
    applied_on: date,
    channel: str = "online",
) -> dict[str, Any]:
    """An application J-LIS took in directly (online or by mail), as it reports it: 申請受付 already. J-LIS names the
    person by their 住民票コード."""
    authorize(uow_factory, actor, REGISTER_NUMBERS, "card_application:receive")
    rules.check_kind(kind)
    if channel not in ("online", "mail"):
        raise InvalidField("channel は online / mail のいずれかです", "channel")
    with uow_factory() as uow:
        number = uow.card_applications.addressee_of(resident_code)
        if number is None:
            raise NotFound("この住民票コードの住民がいません", "resident_code")
        app = _open(uow, actor, number, kind, applied_on, channel, rules.RECEIVED)
        uow.log(
            actor, LogEntry("card_application:receive", [number], detail=f"{app.application_id} {channel}")
        )
        answer = view(uow, app, events=True)
        uow.commit()
    return answer


def _reported_card(
    uow_factory: UnitOfWorkFactory, trust: KioskTrust, actor: Actor, pem: str | None
) -> Presented:
    """The user certificate J-LIS reports with 市区町村到着 (its 交付前設定): J-LIS's CA's, new to the city."""
    if not pem or not pem.strip() or len(pem) > MAX_CERTIFICATE_CHARS:
        raise InvalidField("市区町村到着にはカードの利用者証明用電子証明書（PEM）が必要です", "certificate")
    try:
        return trust.card(pem)
    except CardRefused as refused:
        log_one(uow_factory, actor, LogEntry("card_application:report", result="refused",
                                             detail=f"reason={refused.reason}"))  # fmt: skip
        raise CardUntrusted() from None


def record_report(
    uow_factory: UnitOfWorkFactory,
    trust: KioskTrust,
    actor: Actor,
    application_id: str,
    state: str,
    certificate: str | None = None,
) -> dict[str, Any]:
    """J-LIS's report of an application's state. Delivered again or overtaken, it is answered (`changed: false`)
    and writes nothing but its log entry; 市区町村到着 brings the card's user certificate."""
    authorize(uow_factory, actor, REGISTER_NUMBERS, "card_application:report")
    key = rules.check_application_id(application_id)
    cert = _reported_card(uow_factory, trust, actor, certificate) if state == rules.ARRIVED else None
    with uow_factory() as uow:
        app = _application(uow, key)
        changed = rules.jlis_changes(app.state, state)
        if changed:
            _record(uow, actor, app, state, (cert, certificate or "") if cert else None)
        result = "changed" if changed else "unchanged"
        uow.log(actor, LogEntry("card_application:report", [app.addressee_number],
                                detail=f"{key} state={state} {result}"))  # fmt: skip
        answer = view(uow, _application(uow, key), events=True) | {"changed": changed}
        uow.commit()
    return answer


def _record(
    uow: UnitOfWork, actor: Actor, app: CardApplication, state: str, card: tuple[Presented, str] | None
) -> None:
    """The report's event; a card reported must be new to the city (neither registered nor reported before)."""
    values: dict[str, Any] = {"application_id": app.application_id, "state": state, "at": uow.now,
                              "staff_id": actor.staff_id}  # fmt: skip
    if card is not None:
        cert, pem = card
        if uow.cards.card(cert.subject_id) is not None or uow.card_applications.serial_reported(
            cert.subject_id
        ):
            raise InvalidField("この電子証明書は別のカードとして報告・登録されています", "certificate")
        values |= {"serial": cert.subject_id, "certificate": pem.strip() + "\n"}
    if state == rules.REVOKED:
        values["detail"] = {"reason": "jlis"}
    uow.card_applications.add_event(values)


# --- 本人確認 with the card (seed ⑩) ------------------------------------------------------------------------------


def identify(
    uow_factory: UnitOfWorkFactory,
    trust: KioskTrust,
    actor: Actor,
    certificate: str,
    working_on: str | None = None,
) -> dict[str, Any]:
    """The clerk presents a card's user certificate (a card reader reads it; here pasted or uploaded): J-LIS's CA's,
    a card the city knows, not revoked (by the city or J-LIS's CRL), not suspended, in its validity, and — when the
    clerk is working on a record — that person's. The answer is the holder's 宛名番号, for the clerk's screen to open
    their page (itself a logged, screened read). Every check is logged; a refusal changes nothing."""
    authorize(uow_factory, actor, REGISTER_READ, "card:identify")
    record = validate_addressee_number(working_on) if working_on else None
    if not certificate.strip() or len(certificate) > MAX_CERTIFICATE_CHARS:
        raise InvalidField("カードの利用者証明用電子証明書（PEM）を指定してください", "certificate")
    targets = [record] if record else []
    try:
        cert = trust.card(certificate)
    except CardRefused as refused:
        log_one(uow_factory, actor, LogEntry("card:identify", targets, result="refused",
                                             detail=f"reason={refused.reason}"))  # fmt: skip
        if refused.reason == "malformed":
            raise InvalidField(refused.message, "certificate") from None
        raise CardUntrusted() from None
    with uow_factory() as uow:
        error, answer = _identified(uow, actor, cert, record)
        uow.commit()
    if error is not None:
        raise error
    return answer


def _identified(
    uow: UnitOfWork, actor: Actor, cert: Presented, record: str | None
) -> tuple[DomainError | None, dict[str, Any]]:
    """The card's checks against the registry, each outcome logged (`ok`, `refused` with its code, `hidden`)."""
    serial = cert.subject_id
    row = uow.cards.card(serial)
    targets = list(dict.fromkeys([*([record] if record else []), *([row.addressee_number] if row else [])]))
    try:
        if row is None:
            raise CardNotRegistered()
        revoked = uow.cards.revoked(serial)
        card = PresentedCard(row.addressee_number, row.state, revoked, cert.not_before, cert.not_after)
        rules.check_presented(card, uow.now, record)
        person = uow.queries.resident(row.addressee_number)
        if (
            person is None
        ):  # a registered card's holder is on the register (foreign key); never hidden by absence
            raise CardNotRegistered()
    except DomainError as refused:
        detail = f"card={serial} reason={refused.code}"
        uow.log(actor, LogEntry("card:identify", targets, result="refused", detail=detail))
        return refused, {}
    if protection.screen(uow, actor, [(person.addressee_number, person.household_number)], "card:identify"):
        uow.log(actor, LogEntry("card:identify", targets, result="hidden", detail=f"card={serial}"))
        return ResidentNotFound(), {}
    uow.log(actor, LogEntry("card:identify", targets, detail=f"card={serial}"))
    answer = {
        "addressee_number": person.addressee_number,
        "serial": serial,
        "expires_on": row.expires_on.isoformat(),
        "locked": row.locked_at is not None,
        "status": person.status,
    }
    return None, answer
