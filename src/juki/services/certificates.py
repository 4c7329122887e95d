"""Issuing certificates (住民票の写し等) and verifying them (§3).

`issue(uow_factory, actor, request, office)` is the one entry point for every channel — the counter's
`POST /api/v1/certificates` and, later, the kiosk (コンビニ交付) with its own actor and a `self` or
`household_member` requester (`channel="kiosk"`). In order:
1. the actor may read the register for its procedure (`register:read`; denied → logged, `forbidden`);
2. the request's shape (`invalid_field`) and 第12条 (住民票コード・個人番号 only for the person or their household:
   `forbidden`, logged); a My Number also needs `my_number:reveal` for the procedure;
3. the persons exist (`not_found`), fit the kind (a 除票 for 除票の写し …), and the requester is who they say
   (self / household member / an agent for them: `forbidden`, logged);
4. 支援措置 and holds on issuance (`services.protection.check_certificate`: `protected_record`);
5. in one transaction: the 発行番号 of each copy (sequential per day), the PDF, the issuance records (items,
   My Number printed or not, terminal, staff, requester type, fee, SHA-256 of the PDF — no personal data beyond the
   addressee numbers) and one operation-log entry per copy (never the number itself).

The city's certificate settings (domain/certificate_settings.py: defaults per kind, the signer and seal, the
overflow policy, printers, the kiosk fee) are read in the issuing transaction; `settings_of` / `change_settings`
show and change them (a new version each time, `staff:admin`). `overflow_list` is the day's 文字超過リスト (j1070).

`verify(uow_factory, number, sha256=None)` answers what `/verify/<number>` shows: that the city issued it, when,
which kind, the PDF's digest and whether a given digest matches — no personal data.

The parts: this module issues; `certificate_office` holds the ports and what an issue returns,
`certificate_records` verification, the 交付履歴, 処分 and the 文字超過リスト, `certificate_settings` the city's
settings. Their public names are imported here, where the API, the UI and the kiosk call them.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from typing import Any

from juki.domain import certificates as rules
from juki.domain.certificate_settings import CertificateSettings
from juki.domain.certificates import (
    CertificateDocument,
    CertificateRequest,
    HistoryEntry,
    Overflow,
    Subject,
)
from juki.domain.errors import (
    DomainError,
    Forbidden,
    HouseholdNotFound,
    NotFound,
    ReferToCounter,
    ResidentNotFound,
)
from juki.domain.model import ResidentRecord, record_from_row
from juki.policy.roles import CERTIFICATE_ISSUE, MY_NUMBER_REVEAL, Actor
from juki.services import protection
from juki.services.audit import LogEntry
from juki.services.authorization import authorize
from juki.services.certificate_office import (
    ISSUANCE_NUMBER,
    CertificateOffice,
    IssuanceStore,
    Issued,
    Rendered,
    settings_in,
)
from juki.services.certificate_records import (
    dispose,
    issuances_of,
    overflow_list,
    overflow_list_pdf,
    verify,
    verify_pdf,
)
from juki.services.certificate_settings import change_settings, settings_in_force, settings_of
from juki.services.unit_of_work import UnitOfWork, UnitOfWorkFactory

__all__ = [
    "ISSUANCE_NUMBER",
    "CertificateOffice",
    "IssuanceStore",
    "Issued",
    "Rendered",
    "change_settings",
    "dispose",
    "issuances_of",
    "issue",
    "overflow_list",
    "overflow_list_pdf",
    "preview",
    "settings_in",
    "settings_in_force",
    "settings_of",
    "verify",
    "verify_pdf",
]


def _refuse(uow_factory: UnitOfWorkFactory, actor: Actor, targets: Sequence[str], error: DomainError) -> None:
    with uow_factory() as uow:
        uow.log(
            actor, LogEntry("certificate:issue", list(targets), result="denied", detail=error.message[:300])
        )
        uow.commit()
    raise error


def _load(uow: UnitOfWork, req: CertificateRequest) -> tuple[list[Any], ResidentRecord | None, bool]:
    """The rows of the persons on the certificate (in 記載順位), the requester's record, and whether they are the
    whole household."""
    today = uow.reader.today
    whole = False
    if req.household_number is not None:
        if uow.queries.household(req.household_number) is None:
            raise HouseholdNotFound()
        rows = uow.queries.members(req.household_number, active_only=False)
        if req.kind_info.of_removed:
            rows = [r for r in rows if not rules.is_present(_record(r), today)]
        else:
            rows = [r for r in rows if rules.is_present(_record(r), today)]
            whole = True
        if not rows:
            raise NotFound("証明できる住民がいません", "household_number")
    else:
        rows = []
        for number in req.addressee_numbers:
            row = uow.queries.resident(number)
            if row is None:
                raise ResidentNotFound(field="addressee_numbers")
            rows.append(row)
        rows.sort(key=lambda r: (r.household_number, r.position, r.addressee_number))
        if rows and not req.kind_info.of_removed:
            present = [
                m
                for m in uow.queries.members(rows[0].household_number, active_only=False)
                if rules.is_present(_record(m), today)
            ]
            whole = {m.addressee_number for m in present} == {r.addressee_number for r in rows}
    requester = None
    if req.requester.addressee_number:
        row = uow.queries.resident(req.requester.addressee_number)
        requester = _record(row) if row is not None else None
    return rows, requester, whole


def _record(row: Any, with_my_number: bool = False) -> ResidentRecord:
    return record_from_row(row.record, row.my_number if with_my_number else None)


def _householder(uow: UnitOfWork, household_number: str) -> str | None:
    hh = uow.queries.household(household_number)
    if hh is None or not hh.householder:
        return None
    row = uow.queries.resident(hh.householder)
    if row is None:
        return None
    r = _record(row)
    return f"{r.family_name}　{r.given_name}"


def _householders(uow_factory: UnitOfWorkFactory, households: set[str]) -> list[tuple[str, str]]:
    with uow_factory() as uow:
        found = {h: uow.queries.household(h) for h in sorted(households)}
    return [(hh.householder, h) for h, hh in found.items() if hh is not None and hh.householder]


def _subject(uow: UnitOfWork, req: CertificateRequest, record: ResidentRecord, city: str) -> Subject:
    """The person with what the certificate prints besides the record: the 異動履歴 if asked for, the 通称 history
    of a foreign resident unless left out (both from the record's versions, oldest first)."""
    wants_history = "history" in req.include
    wants_aliases = bool(record.foreign) and rules.ALIAS_HISTORY not in req.omit
    if not (wants_history or wants_aliases):
        return Subject(record)
    entries, aliases = [], []
    for v in uow.queries.history(record.addressee_number):
        r = record_from_row(v.record, None)
        address = r.address.address + (f"　{r.address.katagaki}" if r.address.katagaki else "")
        entries.append(HistoryEntry(v.change_reason, v.changed_on, v.filed_on, address))
        aliases.append((v.changed_on, r.foreign.alias_name if r.foreign else None))
    return Subject(
        record,
        tuple(entries) if wants_history else (),
        rules.alias_entries(aliases, city) if wants_aliases else (),
    )


def issue(
    uow_factory: UnitOfWorkFactory,
    actor: Actor,
    request: Mapping[str, Any],
    office: CertificateOffice,
    *,
    channel: str = "counter",
) -> Issued:
    """Issue a certificate (one PDF with every copy). See the module docstring for the checks, in order."""
    req = _checked(uow_factory, actor, request, office)
    return _issue(uow_factory, actor, req, office, channel)


def preview(
    uow_factory: UnitOfWorkFactory, actor: Actor, request: Mapping[str, Any], office: CertificateOffice
) -> tuple[CertificateDocument, ...]:
    """What `issue` would print (the counter's confirmation step): every check runs, refusals are logged as at
    issuance, and nothing is kept — the 発行番号 drawn for the layout are rolled back with the transaction."""
    req = _checked(uow_factory, actor, request, office)
    with uow_factory() as uow:
        _, documents, _ = _documents(uow, actor, req, office, "counter")
        return tuple(documents)


def _checked(
    uow_factory: UnitOfWorkFactory, actor: Actor, request: Mapping[str, Any], office: CertificateOffice
) -> CertificateRequest:
    """The request (with the city's defaults), once 住基法第12条, the persons, the requester and 支援措置 allow it
    (refusals logged)."""
    authorize(uow_factory, actor, CERTIFICATE_ISSUE, "certificate:issue")
    with uow_factory() as uow:
        settings = settings_in(uow, office)
    req = rules.parse_request(request, settings)
    targets = [*req.addressee_numbers, *([req.household_number] if req.household_number else [])]
    try:
        rules.check_items(req, actor.may(MY_NUMBER_REVEAL))
    except Forbidden as refused:
        _refuse(uow_factory, actor, targets, refused)
    with uow_factory() as uow:
        rows, requester, _ = _load(uow, req)
        records = [_record(r) for r in rows]
        try:
            rules.check_subjects(req, records, uow.reader.today)
            rules.check_requester(req, requester, records)
        except Forbidden as refused:
            error: Forbidden | None = refused
        else:
            error = None
    if error is not None:
        _refuse(uow_factory, actor, [r.addressee_number for r in rows], error)
    pairs = [(r.addressee_number, r.household_number) for r in rows]
    # The 世帯主's name is printed too, so the certificate names them as well (j440).
    if "householder_and_relationship" in req.include:
        pairs += _householders(uow_factory, {h for _, h in pairs})
    own = req.requester.addressee_number if req.requester.type in rules.OWN_HOUSEHOLD else None
    protection.check_certificate(uow_factory, actor, pairs, own)
    return req


def _documents(
    uow: UnitOfWork, actor: Actor, req: CertificateRequest, office: CertificateOffice, channel: str
) -> tuple[list[ResidentRecord], list[CertificateDocument], CertificateSettings]:
    """The records (as of this transaction) and one laid-out document per copy, each with its 発行番号, signed as
    the settings say for the kind (j1050), with the terminal's printer (j1040); and the settings used."""
    today = uow.reader.today
    settings = settings_in(uow, office)
    place = settings.kiosk_office if channel == "kiosk" else None
    issuer = office.issuer.signed(settings, req.kind, place)
    rows, requester, whole = _load(uow, req)
    records = [_record(r, with_my_number=req.shows_my_number) for r in rows]
    rules.check_subjects(req, records, today)  # as of this transaction
    rules.check_requester(req, requester, records)
    householder = _householder(uow, records[0].household_number)
    subjects = [_subject(uow, req, r, issuer.short_city) for r in records]
    store = office.store(uow)
    documents = []
    for copy_no in range(1, req.copies + 1):
        number = store.next_number(today)
        documents.append(
            rules.layout(
                req,
                subjects,
                whole_household=whole,
                householder=householder,
                today=today,
                issuance_number=number,
                terminal=actor.terminal,
                issuer=issuer,
                verify_url=office.verify_url(number),
                copy_no=copy_no,
                printer=settings.printer(actor.terminal),
                overflow=settings.overflow,
            )
        )
    return records, documents, settings


def _issue(
    uow_factory: UnitOfWorkFactory,
    actor: Actor,
    req: CertificateRequest,
    office: CertificateOffice,
    channel: str,
) -> Issued:
    with uow_factory() as uow:
        today = uow.reader.today
        records, documents, settings = _documents(uow, actor, req, office, channel)
        store = office.store(uow)
        rendered = office.render(documents)
        if channel == "kiosk" and rendered.overflows:
            # j1070: a cut or blank field needs the clerk's hand; nobody at a convenience store can add it
            raise ReferToCounter("文字溢れ・外字のある証明書は窓口で交付します", "overflow")
        digest = hashlib.sha256(rendered.pdf).hexdigest()
        persons = [r.addressee_number for r in records]
        fee_each = rules.fee(req, settings.kiosk_fee if channel == "kiosk" else None) // req.copies
        items = tuple(rules.printed_items(documents[0].items))
        shown = documents[0].my_number_printed
        for doc in documents:
            store.add(
                {
                    "issuance_number": doc.issuance_number,
                    "issued_at": uow.now,
                    "issued_on": today,
                    "kind": req.kind,
                    "layout": req.layout,
                    "household_number": records[0].household_number,
                    "addressee_numbers": persons,
                    "items": list(items),
                    "my_number_printed": shown,
                    "copy_no": doc.copy_no,
                    "copies": req.copies,
                    "pages": len(doc.pages),
                    "channel": channel,
                    "office": doc.issuer.office,
                    "printer": doc.printer or None,
                    "terminal": actor.terminal,
                    "staff_id": actor.staff_id,
                    "requester_type": req.requester.type,
                    "requester_addressee_number": req.requester.addressee_number,
                    "identity_document": req.requester.identity_document,
                    "purpose": req.purpose,
                    "fee": fee_each,
                    "sha256": digest,
                }
            )
            uow.log(
                actor,
                LogEntry(
                    "certificate:issue",
                    persons,
                    my_number_shown=shown,
                    detail=(
                        f"number={doc.issuance_number} kind={req.kind} items={','.join(items)} "
                        f"copy={doc.copy_no}/{req.copies} requester={req.requester.type} fee={fee_each} "
                        f"terminal={actor.terminal} channel={channel}"
                    )[:1000],
                ),
            )
        overflows = _overflow_rows(rendered.overflows, documents[0], today)
        store.add_overflows(overflows)
        uow.commit()
        issued_at = uow.now
    numbers = tuple(d.issuance_number for d in documents)
    return Issued(
        issuance_number=numbers[0],
        issuance_numbers=numbers,
        pdf=rendered.pdf,
        sha256=digest,
        kind=req.kind,
        pages=rendered.pages,
        fee=fee_each * req.copies,
        my_number_printed=shown,
        issued_at=issued_at,
        items=items,
        warnings=rendered.warnings,
        overflows=len(overflows),
    )


def _overflow_rows(
    overflows: Sequence[Overflow], first: CertificateDocument, day: Any
) -> list[dict[str, Any]]:
    """The 文字超過リスト's lines of an issuance: the first copy's (every copy prints the same), once each — the
    household header repeated on every page is one line; two history rows that overflow are two."""
    seen: dict[tuple[str | None, str, str, str], Overflow] = {}
    for o in overflows:
        if o.issuance_number == first.issuance_number:
            seen.setdefault((o.subject, o.item, o.problem, o.text), o)
    return [
        {
            "issuance_number": o.issuance_number,
            "line": n,
            "issued_on": day,
            "addressee_number": o.subject,
            "item": o.item[:60],
            "problem": o.problem,
            "text": o.text,
        }
        for n, o in enumerate(seen.values(), start=1)
    ]
