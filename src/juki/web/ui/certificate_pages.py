"""証明書の交付 at the counter: a form → a confirmation of what will be printed → 発行 (the PDF, once);
the person's 交付履歴 with the supervisor's 処分.

The form builds the same body as `POST /api/v1/certificates`, and every step calls `services.certificates`:
- 確認 calls `certificates.preview`: every check runs as at 発行 — 住基法第12条, the persons, the requester,
  支援措置 (a refusal is logged and a protected access alerted; a permitted certificate of a protected person
  therefore alerts at 確認 and again at 発行) — and nothing is kept; the confirmation shows what the layout holds:
  the persons, the items, the pages, whether a My Number is printed, and the fee (`rules.fee`).
- Each confirmation's 発行 issues once (`Handovers.claim`, services/certificate_handover.py): pressed twice, or
  again after 戻る, it leads to what it issued.
- 発行 calls `certificates.issue` with the register's office. The PDF waits in the database, sealed, for the
  staff member who issued it, until it is fetched once (`/ui/certificates/issued/<n>/pdf`) or ten minutes pass;
  a GET never issues. The result page shows the 発行番号, the fee and `/verify/<n>`.
- Every step puts the form's body through the API's request model first (`certificate_form.checked`), so a wrong
  input is refused with the API's code, field and message.
- Inline checks (htmx, on change) run the request's pure rules (`domain.certificates.parse_request`,
  `check_items`): a 住民票コード asked for by a third party is refused beside its box as soon as it is ticked.
Errors go beside their fields; a 支援措置 refusal (`protected_record`) stands above the form, saying no more than the
service does.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Response

from juki.domain import certificates as rules
from juki.domain.certificates import CertificateDocument
from juki.domain.errors import Conflict, DomainError, IssuanceNotFound, NotFound
from juki.domain.identifiers import validate_addressee_number, validate_household_number
from juki.policy.roles import CERTIFICATE_DISPOSE, MY_NUMBER_REVEAL
from juki.services import certificates, register_queries, ui_queries
from juki.services.certificate_handover import Handovers
from juki.services.certificates import CertificateOffice
from juki.web.ui.certificate_form import (
    ALL_SLOTS,
    AUTHORITY_DOCUMENTS,
    CHANNELS,
    ENTRY_CHOICES,
    FOREIGN_CHOICES,
    IDENTITY_DOCUMENTS,
    INCLUDE_CHOICES,
    KIND_CHOICES,
    KIND_HELP,
    LAYOUTS,
    OWN,
    REQUESTER_CHOICES,
    SLOT_NAMES,
    WITH_REASON,
    checked,
    errors_of,
    item_names,
    persons_of,
    request_body,
    text_of,
)
from juki.web.ui.core import Ui, UiRoute, current, is_htmx

router = APIRouter(route_class=UiRoute)
UiDep = Annotated[Ui, Depends(current)]

# --- the dry run (確認) ---------------------------------------------------------------------------------------------


def office_of(ui: Ui) -> CertificateOffice:
    built: CertificateOffice = ui.request.app.state.juki.certificate_office
    return built


def preview(ui: Ui, body: Mapping[str, Any]) -> tuple[CertificateDocument, ...]:
    """What `certificates.issue` would print for this body, every check run and nothing issued."""
    return certificates.preview(ui.uow, ui.actor, body, office_of(ui))


# --- the PDFs handed over once -------------------------------------------------------------------------------------


def handovers_of(ui: Ui) -> Handovers:
    """The confirmations' 発行 and the issued PDFs, in the database: any worker process serves any step."""
    built: Handovers = ui.request.app.state.juki.certificate_handovers
    return built


# --- the form ---------------------------------------------------------------------------------------------------


def _subject(ui: Ui, values: dict[str, Any]) -> dict[str, Any]:
    """The person or household the form was opened from, read through the services (logged, 支援措置 screened)."""
    number = text_of(values, "_addressee_number")
    household = text_of(values, "_household_number")
    resident = None
    if number:
        resident = register_queries.get_resident(ui.uow, ui.actor, validate_addressee_number(number))
        household = resident["household_number"]
    if not household:
        raise NotFound("証明書を発行する住民か世帯を選んでください", "addressee_number")
    hh = register_queries.get_household(ui.uow, ui.actor, validate_household_number(household))
    values["_household_number"] = hh["household_number"]
    people = [*hh["members"], *hh["removed_members"]]
    flags = ui_queries.protection_flags(
        ui.uow, ui.actor, [(p["addressee_number"], hh["household_number"]) for p in people]
    )
    return {"resident": resident, "household": hh, "people": people, "protected": flags}


def _defaults(ui: Ui, subject: dict[str, Any]) -> dict[str, Any]:
    """The form as it opens: the kind that fits the person, every current member, and the city's defaults for
    the kind's items (j1000) ticked."""
    resident, hh = subject["resident"], subject["household"]
    removed = resident is not None and resident["status"] != "active"
    if removed or not hh["members"]:
        kind = "removed_record_certificate"
        persons = (
            [resident["addressee_number"]]
            if resident
            else [m["addressee_number"] for m in hh["removed_members"]]
        )
    else:
        kind = "residence_certificate"
        persons = [m["addressee_number"] for m in hh["members"]]  # 世帯: every current member
    requester = resident["addressee_number"] if resident else (hh.get("householder") or "")
    values: dict[str, Any] = {
        "kind": kind,
        "layout": "household",
        "addressee_numbers": persons,
        "copies": "1",
        "requester.type": "self",
        "requester.addressee_number": requester,
        **{f"items.{code}": "1" for code, _ in ENTRY_CHOICES},
    }
    kind_settings = certificates.settings_in_force(ui.uow, office_of(ui)).kind(kind)
    values.update({f"include.{code}": "1" for code in kind_settings.include})
    values.update({f"omit.{code}": "1" for code in kind_settings.omit})
    return values


def _form(
    ui: Ui,
    values: dict[str, Any],
    errors: dict[str, dict[str, Any]] | None = None,
    status: int = 200,
) -> Response:
    subject = _subject(ui, values)
    errors = errors or {}
    first = next((name for name in ALL_SLOTS if name in errors), None)
    return ui.render(
        "certificates/form.html",
        status=422 if errors and status == 200 else status,
        values=values,
        errors=errors,
        hints={},
        first_error=first,
        refused=next((e for e in errors.values() if e["code"] == "protected_record"), None),
        **_choices(ui),
        **subject,
    )


def _choices(ui: Ui) -> dict[str, Any]:
    return {
        "kinds": KIND_CHOICES,
        "kind_help": KIND_HELP,
        "kind_fees": {code: k.fee for code, k in rules.KINDS.items()},
        "layouts": LAYOUTS,
        "requester_types": REQUESTER_CHOICES,
        "include_choices": INCLUDE_CHOICES,
        "foreign_choices": FOREIGN_CHOICES,
        "entry_choices": ENTRY_CHOICES,
        "identity_documents": IDENTITY_DOCUMENTS,
        "authority_documents": AUTHORITY_DOCUMENTS,
        "slot_names": SLOT_NAMES,
        "may_reveal": ui.may(MY_NUMBER_REVEAL),
        "max_copies": rules.MAX_COPIES,
    }


@router.get("/ui/certificates/new")
def new_certificate(ui: UiDep, addressee_number: str = "", household_number: str = "") -> Response:
    """The form, from a person's page (that person, their household) or a household's page (its members)."""
    values: dict[str, Any] = {
        "_addressee_number": addressee_number[:20],
        "_household_number": household_number[:20],
    }
    subject = _subject(ui, values)
    values.update(_defaults(ui, subject))
    return _form(ui, values)


@router.post("/ui/certificates/form")
def refill(ui: UiDep) -> Response:
    """The form again with what was chosen (修正する on the confirmation)."""
    return _form(ui, dict(ui.form))


def _refusal(exc: DomainError) -> bool:
    """A refusal that is not about this request (the role or 事務 may not read the register): the error page."""
    return exc.code == "forbidden" and exc.field is None


@router.post("/ui/certificates/confirm")
def confirm(ui: UiDep) -> Response:
    """確認: the dry run — every rule of 発行 — and what will be printed, or the form with the error beside its field."""
    return _confirm(ui, dict(ui.form))


def _confirm(ui: Ui, values: dict[str, Any], notice: str = "") -> Response:
    values.pop("_once", None)
    try:
        body = checked(request_body(values))
        documents = preview(ui, body)
    except DomainError as exc:
        if _refusal(exc):
            raise
        return _form(ui, values, errors_of(exc, values), exc.status)
    request = rules.parse_request(body)
    subject = _subject(ui, values)
    names = {p["addressee_number"]: p for p in subject["people"]}
    first = documents[0]
    return ui.render(
        "certificates/confirm.html",
        values=values,
        once=handovers_of(ui).begin(ui.actor.staff_id),
        notice=notice,
        kind=rules.KINDS[request.kind],
        individual=request.layout == "individual"
        or request.kind in ("entry_certificate", "move_out_certificate"),
        persons=[names.get(n, {"addressee_number": n}) for n in _ordered(subject["people"], body)],
        items=item_names(rules.printed_items(first.items), request.kind),
        my_number_printed=first.my_number_printed,
        pages=len(first.pages),
        statement=first.statement,
        copies=request.copies,
        fee=rules.fee(request),
        fee_each=rules.fee(request) // request.copies,
        requester=request.requester,
        requester_name=dict(REQUESTER_CHOICES).get(request.requester.type, request.requester.type),
        official=first.official,
        purpose=request.purpose,
        **subject,
    )


def _ordered(people: list[dict[str, Any]], body: Mapping[str, Any]) -> list[str]:
    chosen = list(dict.fromkeys(body.get("addressee_numbers") or []))
    order = [p["addressee_number"] for p in people if p["addressee_number"] in chosen]
    return order + [n for n in chosen if n not in order]


@router.post("/ui/certificates/validate")
def validate_inline(ui: UiDep) -> Response:
    """Inline checks (htmx, on change): the request's own rules for what has been chosen so far. What is not typed
    yet stands in with a placeholder, so that a refusal of what is chosen (第12条) shows at once."""
    values = dict(ui.form)
    body = request_body(values)
    filled = {slot for slot in ALL_SLOTS if _filled(values, slot)}
    stand_in = dict(body, purpose=body["purpose"] or "確認中")
    requester = dict(body["requester"], name=body["requester"]["name"] or "確認中")
    if requester["type"] in WITH_REASON and not requester.get("reason"):
        requester["reason"] = "確認中"
    persons = body["addressee_numbers"]
    if requester["type"] in OWN and "addressee_number" not in requester and persons:
        requester["addressee_number"] = persons[0]
    stand_in["requester"] = requester
    if requester["type"] == "agent":
        stand_in["identity_check"] = {"authority_document": "確認中", **body.get("identity_check", {})}
    errors: dict[str, dict[str, Any]] = {}
    try:
        request = rules.parse_request(checked(stand_in))
        rules.check_items(request, ui.may(MY_NUMBER_REVEAL))
    except DomainError as exc:
        found = errors_of(exc, values)
        errors = {slot: e for slot, e in found.items() if slot in filled}
    return ui.render("_inline_errors.html", names=list(ALL_SLOTS), errors=errors, hints={})


def _filled(values: Mapping[str, Any], slot: str) -> bool:
    if slot == "addressee_numbers":
        return bool(persons_of(values))
    if slot in ("omit", "items"):
        return any(k.startswith(slot + ".") and text_of(values, k) for k in values)
    return bool(text_of(values, slot))


# --- 発行 -------------------------------------------------------------------------------------------------------


@router.post("/ui/certificates")
def issue(ui: UiDep) -> Response:
    """発行: `certificates.issue` once per confirmation; the PDF is kept for one fetch and the result page (a reload,
    a second press or 戻る and 発行 again issue nothing more)."""
    values = dict(ui.form)
    handovers = handovers_of(ui)
    token = text_of(values, "_once")
    state, number = handovers.claim(token, ui.actor.staff_id)
    if state == "done":
        return ui.redirect(f"/ui/certificates/issued/{number}")
    if state == "busy":
        raise Conflict("この確認の発行を処理しています。しばらくしてから交付履歴を確認してください")
    if state == "unknown":
        return _confirm(
            ui,
            values,
            "確認の有効期限が切れました。内容を確かめてから、もう一度「発行する」を押してください。",
        )
    try:
        body = checked(request_body(values))
        issued = certificates.issue(ui.uow, ui.actor, body, office_of(ui))
    except DomainError as exc:
        handovers.refused(token)
        if _refusal(exc):
            raise
        return _form(ui, values, errors_of(exc, values), exc.status)
    except BaseException:
        handovers.refused(token)
        raise
    summary = {
        "addressee_number": text_of(values, "_addressee_number"),
        "household_number": text_of(values, "_household_number"),
        "persons": len(body["addressee_numbers"]),
        "requester": dict(REQUESTER_CHOICES).get(body["requester"]["type"], ""),
        "copies": len(issued.issuance_numbers),
    }
    handovers.issued(token, issued, summary)
    return ui.redirect(f"/ui/certificates/issued/{issued.issuance_number}")


class Gone(DomainError):
    """The PDF was handed over already (or its ten minutes passed): nothing to give, nothing issued again."""

    code = "gone"
    status = 410


def _number(text: str) -> str:
    if not certificates.ISSUANCE_NUMBER.fullmatch(text):
        raise IssuanceNotFound()
    return text


@router.get("/ui/certificates/issued/{issuance_number}")
def issued_page(issuance_number: str, ui: UiDep) -> Response:
    """The result: 発行番号, fee, the PDF (once) and `/verify/<n>`. From another browser or later: the public facts."""
    number = _number(issuance_number[:20])
    kept = handovers_of(ui).get(number, ui.actor.staff_id)
    checked = certificates.verify(ui.uow, office_of(ui), number)
    return ui.render(
        "certificates/issued.html",
        number=number,
        kept=kept,
        issued=kept.issued if kept else None,
        checked=checked,
        kind_name=rules.KINDS[checked["kind"]].name,
        items=item_names(kept.issued.items if kept else (), checked["kind"]),
        verify_url=office_of(ui).verify_url(number),
    )


@router.get("/ui/certificates/issued/{issuance_number}/pdf")
def issued_pdf(issuance_number: str, ui: UiDep) -> Response:
    """The PDF, once, to the staff member who issued it (fetching it again issues nothing and gives nothing)."""
    number = _number(issuance_number[:20])
    issued = handovers_of(ui).take(number, ui.actor.staff_id)
    if issued is None:
        raise Gone(
            "この証明書のPDFはすでに渡したか、保持期間（10分）を過ぎました。"
            "PDFは保存していません。もう一度必要なときは新たに発行し、誤って発行したものは交付履歴から処分してください"
        )
    return Response(
        issued.pdf,
        media_type="application/pdf",
        headers={
            "X-Issuance-Number": issued.issuance_number,
            "X-Issuance-Numbers": ",".join(issued.issuance_numbers),
            "X-Issuance-Fee": str(issued.fee),
            "X-Content-SHA256": issued.sha256,
            "Content-Disposition": f'inline; filename="{issued.issuance_number}.pdf"',
        },
    )


# --- 交付履歴 and 処分 -----------------------------------------------------------------------------------------------


def _history(ui: Ui, number: str) -> list[dict[str, Any]]:
    listed = certificates.issuances_of(ui.uow, ui.actor, office_of(ui), number)
    rows = []
    for row in listed["issuances"]:
        rows.append(
            {
                **row,
                "kind_name": rules.KINDS[row["kind"]].name if row["kind"] in rules.KINDS else row["kind"],
                "item_names": item_names(row["items"], row["kind"]),
                "requester_name": dict(REQUESTER_CHOICES).get(row["requester_type"], row["requester_type"]),
                "channel_name": CHANNELS.get(row["channel"], row["channel"]),
            }
        )
    return rows


def _history_page(
    ui: Ui,
    number: str,
    status: int = 200,
    errors: dict[str, dict[str, Any]] | None = None,
    disposed: str = "",
) -> Response:
    rows = _history(ui, number)
    context = {
        "number": number,
        "issuances": rows,
        "may_dispose": ui.may(CERTIFICATE_DISPOSE),
        "errors": errors or {},
        "disposed": disposed,
    }
    if is_htmx(ui.request):
        return ui.render("certificates/_history.html", status=status, **context)
    resident = register_queries.get_resident(ui.uow, ui.actor, number)
    return ui.render("certificates/history.html", status=status, r=resident, **context)


@router.get("/ui/residents/{addressee_number}/certificates")
def history(addressee_number: str, ui: UiDep, disposed: str = "") -> Response:
    """交付履歴 (j360): the person's page loads it in place (htmx); without JavaScript, a page of its own."""
    number = validate_addressee_number(addressee_number[:20])
    return _history_page(ui, number, disposed=disposed[:20])


@router.post("/ui/certificates/{issuance_number}/disposal")
def dispose(issuance_number: str, ui: UiDep) -> Response:
    """処分 (j300): a supervisor takes back a wrongly issued certificate; `/verify` then says so."""
    number = _number(issuance_number[:20])
    person = validate_addressee_number(text_of(ui.form, "_addressee_number")[:20])
    try:
        certificates.dispose(ui.uow, ui.actor, office_of(ui), number, {"reason": text_of(ui.form, "reason")})
    except DomainError as exc:
        if _refusal(exc):
            raise
        return _history_page(ui, person, 422, {f"{number}.reason": exc.to_dict()})
    return ui.redirect(f"/ui/residents/{person}/certificates?disposed={number}")
