"""証明書コンビニ交付 (kiosk issuance): a 住民票の写し for the card holder of a kiosk's card session.

`issue`: a 住民票の写し of the holder, their whole household, or chosen members of it (domain/kiosk.py says which
items), only within the service hours. Before the certificate service is asked, a 支援措置 or a hold on certificates
(`protection.in_force_for(…, for_other_systems=True, operation="certificate", level="error")`: a temporary release
does not reach kiosks) for anyone on it or for the holder refuses it with `refer_to_counter` — the kiosk shows
「窓口でお問い合わせください」 and is never told why; supervisors get an alert. Then
`services.certificates.issue(…, channel="kiosk")` with the kiosk's actor and a `self` / `household_member` requester
whose addressee number is the card holder's: the same checks, 発行番号, PDF, issuance record and log entry as at the
counter.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from juki.domain import kiosk as rules
from juki.domain.errors import (
    DomainError,
    NotFound,
    NotResident,
    ProtectedRecord,
    ReferToCounter,
)
from juki.domain.kiosk import CardState, Holder, NoCardSession
from juki.policy.roles import Actor
from juki.services import certificates, protection
from juki.services.audit import LogEntry
from juki.services.certificates import Issued
from juki.services.kiosk_desk import KioskDesk, holder_of, live_session, log_one, open_now
from juki.services.unit_of_work import UnitOfWork, UnitOfWorkFactory


def _refusal_reason(refused: DomainError) -> str:
    """What the log says of a refusal at issuance: the counter's own reason (overflow), else the error's code."""
    return (refused.field or refused.code) if isinstance(refused, ReferToCounter) else refused.code


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
    at = open_now(uow_factory, desk, actor, "kiosk:issue")
    req = rules.parse_request(payload)
    error: DomainError | None = None
    persons: list[str] = []
    holder: Holder | None = None
    with uow_factory() as uow:
        session = live_session(uow, actor, token, at)
        result, targets = "denied", []
        reason: str | None = "session"
        if session is None:
            error = NoCardSession()
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
            found = holder_of(uow, session.addressee_number)
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
        log_one(
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
    log_one(
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
