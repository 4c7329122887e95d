"""What the city keeps of issued certificates: `/verify/<number>` (no sign-in, no personal data), the person's
交付履歴 (j360) and a supervisor's 処分 (j300), and the day's 文字超過リスト (j1070)."""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from typing import Any

from juki.domain import certificates as rules
from juki.domain.dates import JST, to_wareki
from juki.domain.errors import Conflict, NotFound, ResidentNotFound
from juki.domain.intake import free_text
from juki.policy.roles import CERTIFICATE_DISPOSE, REGISTER_READ, Actor
from juki.services import protection
from juki.services.audit import LogEntry, utc
from juki.services.authorization import authorize
from juki.services.certificate_office import CertificateOffice, issuance
from juki.services.unit_of_work import UnitOfWorkFactory

# --- verification (no sign-in, no personal data) -----------------------------------------------------------------


def verify(
    uow_factory: UnitOfWorkFactory, office: CertificateOffice, number: str, sha256: str | None = None
) -> dict[str, Any]:
    """`/verify/<number>`: issued by this city, when, which kind, the PDF's SHA-256; with `sha256` (or a PDF's
    digest) whether it matches; whether the certificate was taken back (処分)."""
    with uow_factory() as uow:
        row = issuance(uow, office, number)
        disposal = office.store(uow).disposal(number)
    issued_at = utc(row.issued_at)
    answer: dict[str, Any] = {
        "issuance_number": row.issuance_number,
        "kind": row.kind,
        "issued_at": issued_at.isoformat(),
        "sha256": row.sha256,
        "kind_name": rules.KINDS[row.kind].name,
        "issued_on": row.issued_on.isoformat(),
        "issued_at_jst": issued_at.astimezone(JST).isoformat(),
        "issuer": office.issuer.city,
        "copy": {"number": row.copy_no, "of": row.copies},
        "pages": row.pages,
        "disposed": disposal is not None,
    }
    if sha256 is not None:
        answer["matches"] = sha256.strip().lower() == row.sha256
    return answer


def verify_pdf(
    uow_factory: UnitOfWorkFactory, office: CertificateOffice, number: str, pdf: bytes
) -> dict[str, Any]:
    return verify(uow_factory, office, number, hashlib.sha256(pdf).hexdigest())


# --- the issuance records (交付履歴, j300/j360) ----------------------------------------------------------------


def _view(row: Any, disposal: Any = None) -> dict[str, Any]:
    return {
        "issuance_number": row.issuance_number,
        "issued_at": utc(row.issued_at).isoformat(),
        "kind": row.kind,
        "layout": row.layout,
        "household_number": row.household_number,
        "addressee_numbers": list(row.addressee_numbers),
        "items": list(row.items),
        "my_number_printed": row.my_number_printed,
        "copy": {"number": row.copy_no, "of": row.copies},
        "pages": row.pages,
        "channel": row.channel,
        "office": row.office,
        "terminal": row.terminal,
        "staff_id": row.staff_id,
        "requester_type": row.requester_type,
        "requester_addressee_number": row.requester_addressee_number,
        "identity_document": row.identity_document,
        "purpose": row.purpose,
        "fee": row.fee,
        "sha256": row.sha256,
        "disposal": None
        if disposal is None
        else {
            "disposed_at": utc(disposal.disposed_at).isoformat(),
            "staff_id": disposal.staff_id,
            "reason": disposal.reason,
        },
    }


def _screened_view(view: dict[str, Any], hidden: set[str]) -> dict[str, Any]:
    """An issuance record without the persons this actor may not see (a household certificate names them all)."""
    if not hidden:
        return view
    requester = view["requester_addressee_number"]
    return {
        **view,
        "addressee_numbers": [n for n in view["addressee_numbers"] if n not in hidden],
        "requester_addressee_number": None if requester in hidden else requester,
    }


def issuances_of(
    uow_factory: UnitOfWorkFactory, actor: Actor, office: CertificateOffice, addressee_number: str
) -> dict[str, Any]:
    """交付履歴照会 (j360): the certificates issued with this person on them, newest first (logged)."""
    authorize(uow_factory, actor, REGISTER_READ, "certificate:list", (addressee_number,))
    with uow_factory() as uow:
        store = office.store(uow)
        rows = store.for_person(addressee_number)
        named = {n for r in rows for n in (*r.addressee_numbers, r.requester_addressee_number) if n}
        hidden = protection.screen(uow, actor, {addressee_number, *named}, "certificate:list")
        if addressee_number in hidden:  # a protected person's certificates are as hidden as the person
            uow.log(actor, LogEntry("certificate:list", [addressee_number], result="hidden"))
            uow.commit()
            raise ResidentNotFound()
        views = [_screened_view(_view(r, store.disposal(r.issuance_number)), hidden) for r in rows]
        uow.log(actor, LogEntry("certificate:list", [addressee_number], detail=f"results={len(views)}"))
        uow.commit()
    return {"addressee_number": addressee_number, "issuances": views}


def dispose(
    uow_factory: UnitOfWorkFactory,
    actor: Actor,
    office: CertificateOffice,
    number: str,
    payload: Mapping[str, Any],
) -> dict[str, Any]:
    """処分情報 (j300): a wrongly issued certificate taken back (a supervisor's decision). The record stays;
    `/verify` then says disposed."""
    authorize(uow_factory, actor, CERTIFICATE_DISPOSE, "certificate:dispose")
    reason = free_text(payload, "reason")
    with uow_factory() as uow:
        row = issuance(uow, office, number)
        store = office.store(uow)
        if store.disposal(number) is not None:
            raise Conflict("この証明書はすでに処分されています", "issuance_number")
        store.dispose(number, uow.now, actor.staff_id, reason)
        uow.log(
            actor, LogEntry("certificate:dispose", list(row.addressee_numbers), detail=f"number={number}")
        )
        uow.commit()
        return _view(row, store.disposal(number))


# --- the 文字超過リスト (j1070) ----------------------------------------------------------------------------------


def overflow_list(
    uow_factory: UnitOfWorkFactory, actor: Actor, office: CertificateOffice, day: Any
) -> dict[str, Any]:
    """The day's fields that did not fit, or had 外字, with the whole text for the clerk to write in (logged). An
    issuance with a protected person on it shows none of its lines to those who may not see that person — its
    household header (the address, the householder) included."""
    authorize(uow_factory, actor, REGISTER_READ, "certificate:overflow_list")
    with uow_factory() as uow:
        rows = office.store(uow).overflows_on(day)
        persons = sorted({n for r in rows for n in r.addressee_numbers})
        pairs = []
        for number in persons:
            person = uow.queries.resident(number)
            if person is not None:
                pairs.append((number, person.household_number))
        hidden = protection.screen(uow, actor, pairs, "certificate:overflow_list")
        lines = [
            {
                "issuance_number": r.issuance_number,
                "line": r.line,
                "kind": r.kind,
                "kind_name": rules.KINDS[r.kind].name,
                "issued_at": utc(r.issued_at).isoformat(),
                "terminal": r.terminal,
                "staff_id": r.staff_id,
                "channel": r.channel,
                "addressee_number": r.addressee_number,
                "item": r.item,
                "problem": r.problem,
                "problem_name": rules.PROBLEMS.get(r.problem, r.problem),
                "text": r.text,
            }
            for r in rows
            if not hidden.intersection(r.addressee_numbers)
        ]
        shown = sorted({line["addressee_number"] for line in lines if line["addressee_number"]})
        uow.log(actor, LogEntry("certificate:overflow_list", shown, detail=f"day={day} lines={len(lines)}"))
        uow.commit()
    return {"date": str(day), "lines": lines}


def overflow_list_pdf(
    uow_factory: UnitOfWorkFactory, actor: Actor, office: CertificateOffice, day: Any
) -> bytes:
    """The 文字超過リスト printed (j1070: the list goes with the certificates to the counter)."""
    if office.render_list is None:
        raise NotFound("文字超過リストを印刷できません", "format")
    answer = overflow_list(uow_factory, actor, office, day)
    return office.render_list("文字超過リスト", to_wareki(day), office.issuer.city, answer["lines"])
