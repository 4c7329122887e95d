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
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol

from juki.domain import certificate_settings as settings_rules
from juki.domain import certificates as rules
from juki.domain.certificate_settings import CertificateSettings
from juki.domain.certificates import (
    CertificateDocument,
    CertificateRequest,
    HistoryEntry,
    Issuer,
    Overflow,
    Subject,
)
from juki.domain.dates import JST, to_wareki
from juki.domain.errors import Conflict, DomainError, Forbidden, NotFound, ReferToCounter
from juki.domain.intake import free_text
from juki.domain.model import ResidentRecord, record_from_row
from juki.policy.roles import (
    CERTIFICATE_DISPOSE,
    CERTIFICATE_ISSUE,
    MY_NUMBER_REVEAL,
    REGISTER_READ,
    STAFF_ADMIN,
    Actor,
)
from juki.services import protection
from juki.services.audit import LogEntry, utc
from juki.services.authorization import authorize
from juki.services.unit_of_work import UnitOfWork, UnitOfWorkFactory

ISSUANCE_NUMBER = re.compile(r"\d{8}-\d{6}")


class Rendered(Protocol):
    @property
    def pdf(self) -> bytes: ...
    @property
    def pages(self) -> int: ...
    @property
    def warnings(self) -> tuple[str, ...]: ...
    @property
    def overflows(self) -> tuple[Overflow, ...]: ...


class IssuanceStore(Protocol):
    def next_number(self, day: Any) -> str: ...
    def add(self, values: dict[str, Any]) -> None: ...
    def get(self, number: str) -> Any: ...
    def disposal(self, number: str) -> Any: ...
    def dispose(self, number: str, at: datetime, staff_id: str, reason: str) -> None: ...
    def for_person(self, addressee_number: str, limit: int = 500) -> list[Any]: ...
    def settings(self) -> Any: ...
    def add_settings(self, values: dict[str, Any]) -> None: ...
    def add_overflows(self, rows: list[dict[str, Any]]) -> None: ...
    def overflows_on(self, day: Any, limit: int = 2000) -> list[Any]: ...
    def overflow_count(self, issuance_number: str) -> int: ...


@dataclass(frozen=True)
class CertificateOffice:
    """What issuance needs from outside the domain (wired by the composition root: adapters.certificate_store)."""

    render: Callable[[Sequence[CertificateDocument]], Rendered]
    store: Callable[[UnitOfWork], IssuanceStore]  # the issuance store over a unit of work's transaction
    issuer: Issuer = field(default_factory=Issuer)
    verify_base_url: str = "http://localhost:8000/"
    # the 文字超過リスト as PDF: (title, day in wareki, city, lines) → bytes
    render_list: Callable[[str, str, str, Sequence[Mapping[str, Any]]], bytes] | None = None

    def verify_url(self, number: str) -> str:
        return f"{self.verify_base_url.rstrip('/')}/verify/{number}"


@dataclass(frozen=True)
class Issued:
    issuance_number: str  # the first copy's
    issuance_numbers: tuple[str, ...]  # one per copy (j1040)
    pdf: bytes
    sha256: str
    kind: str
    pages: int
    fee: int
    my_number_printed: bool
    issued_at: datetime
    items: tuple[str, ...]
    warnings: tuple[str, ...]  # 文字溢れ・外字 (j1070)
    overflows: int = 0  # lines put on the 文字超過リスト


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
            raise NotFound("該当する世帯が見つかりません", "household_number")
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
                raise NotFound("該当する住民が見つかりません", "addressee_numbers")
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


def _versioned_settings(uow: UnitOfWork, office: CertificateOffice) -> tuple[int, CertificateSettings]:
    """The settings in force and their version (0: the defaults, never changed)."""
    row = office.store(uow).settings()
    if row is None:
        return 0, settings_rules.DEFAULT
    return row.version, settings_rules.parse(row.settings)


def settings_in(uow: UnitOfWork, office: CertificateOffice) -> CertificateSettings:
    """The settings in force, within a caller's transaction (issuance; the kiosk's offer names the fee)."""
    return _versioned_settings(uow, office)[1]


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


# --- verification (no sign-in, no personal data) -----------------------------------------------------------------


def _issuance(uow: UnitOfWork, office: CertificateOffice, number: str) -> Any:
    if not ISSUANCE_NUMBER.fullmatch(number):
        raise NotFound("該当する発行番号がありません", "issuance_number")
    row = office.store(uow).get(number)
    if row is None:
        raise NotFound("該当する発行番号がありません", "issuance_number")
    return row


def verify(
    uow_factory: UnitOfWorkFactory, office: CertificateOffice, number: str, sha256: str | None = None
) -> dict[str, Any]:
    """`/verify/<number>`: issued by this city, when, which kind, the PDF's SHA-256; with `sha256` (or a PDF's
    digest) whether it matches; whether the certificate was taken back (処分)."""
    with uow_factory() as uow:
        row = _issuance(uow, office, number)
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
            raise NotFound("該当する住民が見つかりません", "addressee_number")
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
        row = _issuance(uow, office, number)
        store = office.store(uow)
        if store.disposal(number) is not None:
            raise Conflict("この証明書はすでに処分されています", "issuance_number")
        store.dispose(number, uow.now, actor.staff_id, reason)
        uow.log(
            actor, LogEntry("certificate:dispose", list(row.addressee_numbers), detail=f"number={number}")
        )
        uow.commit()
        return _view(row, store.disposal(number))


# --- the city's certificate settings (j1000, j1040, j1050, j1070) -----------------------------------------------


def settings_in_force(uow_factory: UnitOfWorkFactory, office: CertificateOffice) -> CertificateSettings:
    """The settings as the counter's form opens with them (the defaults it ticks); not personal data, not logged."""
    with uow_factory() as uow:
        return settings_in(uow, office)


def _may_read_settings(uow_factory: UnitOfWorkFactory, actor: Actor) -> None:
    """The counter reads them (its form shows the defaults); the administrator sets them."""
    if not actor.may(REGISTER_READ):
        authorize(uow_factory, actor, STAFF_ADMIN, "certificate:settings")


def settings_of(uow_factory: UnitOfWorkFactory, actor: Actor, office: CertificateOffice) -> dict[str, Any]:
    _may_read_settings(uow_factory, actor)
    with uow_factory() as uow:
        version, settings = _versioned_settings(uow, office)
        row = office.store(uow).settings()
    return {
        "version": version,
        "changed_at": utc(row.changed_at).isoformat() if row is not None else None,
        "changed_by": row.changed_by if row is not None else None,
        "settings": settings.as_dict(),
    }


def change_settings(
    uow_factory: UnitOfWorkFactory, actor: Actor, office: CertificateOffice, payload: Mapping[str, Any]
) -> dict[str, Any]:
    """A new version of the settings (the whole document), with the reason; `version` is the one it replaces
    (`409 conflict` if another change came first)."""
    authorize(uow_factory, actor, STAFF_ADMIN, "certificate:settings")
    settings = settings_rules.parse(payload.get("settings"))
    reason = free_text(payload, "reason", 500)
    with uow_factory() as uow:
        current, before = _versioned_settings(uow, office)
        expected = payload.get("version")
        if expected is not None and expected != current:
            raise Conflict("設定はほかの職員が変更しました。読み直してください", "version")
        office.store(uow).add_settings(
            {
                "version": current + 1,
                "settings": settings.as_dict(),
                "changed_at": uow.now,
                "changed_by": actor.staff_id,
                "reason": reason,
            }
        )
        changed = sorted(k for k, v in settings.as_dict().items() if before.as_dict().get(k) != v)
        uow.log(
            actor,
            LogEntry("certificate:settings", detail=f"version={current + 1} changed={','.join(changed)}"),
        )
        uow.commit()
    return settings_of(uow_factory, actor, office)


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
