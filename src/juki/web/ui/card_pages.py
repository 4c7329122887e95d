"""個人番号カード at the counter in the clerk UI: the counter's list of 交付申請 (交付待ち first) and one application's
page (its J-LIS states, the 交付通知書, the 交付 with the identity check and the PINs, the 廃止; after 交付 the card's
一時停止 / 利用再開 / 廃止 in the card registry); a person's applications on their page (loaded in place, with the
form that records a new one); and 「カードで本人確認」: the card's user certificate pasted or uploaded (a card reader
gives the file), and the holder's page opens — no name typed.

Every step calls `services.card_applications` (or `kiosk_registry.set_card_state` for the card's state), which checks
the permission, screens protected persons and logs. The forms' bodies go through the API's request models
(web/api_cards.py): the same input is refused with the same code and message on both.
"""

from __future__ import annotations

import base64
import textwrap
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Response
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import UploadFile

from juki.domain import card_applications as rules
from juki.domain.errors import DomainError, Forbidden, InvalidField
from juki.domain.identifiers import validate_addressee_number
from juki.policy.roles import CERTIFICATE_ISSUE, REGISTER_FILE
from juki.services import card_applications, kiosk_registry, register_queries
from juki.services.kiosk_desk import MAX_CERTIFICATE_CHARS
from juki.web import schemas
from juki.web.api_cards import ApplicationBody, HandoverBody, IdentifyBody, RevokeBody
from juki.web.api_kiosk import desk
from juki.web.ui.core import Ui, UiRoute, current, is_htmx
from juki.web.ui.forms import TRUE_TEXTS
from juki.web.ui.kiosk_pages import STATE_NAMES as CARD_STATE_NAMES

router = APIRouter(route_class=UiRoute)
UiDep = Annotated[Ui, Depends(current)]

LISTS = {
    "waiting": (rules.ARRIVED, rules.NOTICE_SENT),
    "under_way": (rules.APPLIED, rules.RECEIVED, rules.IN_PRODUCTION),
    "issued": (rules.ISSUED,),
    "revoked": (rules.REVOKED,),
}
LIST_NAMES = {"waiting": "交付待ち", "under_way": "申請中（J-LIS）", "issued": "交付済", "revoked": "廃止"}
DONE = {
    "applied": "交付申請を受け付けました。J-LIS の申請受付を待ちます。",
    "issued": "カードを交付しました。カードはコンビニ交付・本人確認で使えます。",
    "revoked": "申請を廃止しました。",
    "suspended": "カードを一時停止しました。",
    "active": "カードの利用を再開しました。",
    "card_revoked": "カードを廃止しました（元に戻せません）。",
}
PEM_BEGIN, PEM_END = "-----BEGIN CERTIFICATE-----", "-----END CERTIFICATE-----"


def _s(values: dict[str, Any], key: str) -> str:
    value = values.get(key)
    return value.strip() if isinstance(value, str) else ""


def _refusal(exc: DomainError) -> bool:
    """A refusal that is not about this input (the role or 事務 may not): the error page."""
    return exc.code == "forbidden" and exc.field is None


def _errors(problems: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    return {p["field"] or "": p for p in problems}


# --- the counter's list -------------------------------------------------------------------------------------------


@router.get("/ui/card-applications")
def applications_page(ui: UiDep, show: str = "waiting", open: str = "") -> Response:
    """交付待ち (the cards at the city), 申請中, 交付済 or 廃止; 申請番号 (from the 交付通知書) opens one."""
    chosen = show if show in LISTS else "waiting"
    errors: dict[str, dict[str, Any]] = {}
    if open.strip():
        try:
            return ui.redirect(f"/ui/card-applications/{rules.check_application_id(open[:30])}")
        except InvalidField as exc:
            errors["open"] = exc.to_dict()
    try:
        listed = card_applications.worklist(ui.uow, ui.actor, LISTS[chosen])
    except Forbidden:
        return ui.switch_to("resident_record", "/ui/card-applications")
    return ui.render(
        "cards/applications.html",
        status=422 if errors else 200,
        show=chosen,
        lists=LIST_NAMES,
        listed=listed,
        kinds=rules.KINDS,
        channels=rules.CHANNELS,
        errors=errors,
        values={"open": open[:30]},
    )


# --- one application ----------------------------------------------------------------------------------------------


def _application_page(
    ui: Ui, application_id: str, status: int = 200, errors: dict[str, dict[str, Any]] | None = None
) -> Response:
    app = card_applications.get(ui.uow, ui.actor, application_id)
    resident = register_queries.get_resident(ui.uow, ui.actor, app["addressee_number"])
    return ui.render(
        "cards/application.html",
        status=status,
        a=app,
        r=resident,
        kinds=rules.KINDS,
        channels=rules.CHANNELS,
        state_names=rules.STATE_NAMES,
        card_state_names=CARD_STATE_NAMES,
        list_a=rules.LIST_A,
        list_b=rules.LIST_B,
        reasons=rules.REVOKE_REASONS,
        may_file=ui.may(REGISTER_FILE),
        may_print=ui.may(CERTIFICATE_ISSUE),
        may_hand_over=app["state"] in rules.HANDOVER_FROM,
        done=DONE.get(ui.request.query_params.get("done", ""), ""),
        errors=errors or {},
        values=ui.form,
    )


@router.get("/ui/card-applications/{application_id}")
def application_page(application_id: str, ui: UiDep) -> Response:
    return _application_page(ui, application_id[:30])


@router.post("/ui/card-applications/{application_id}/notice")
def print_notice(application_id: str, ui: UiDep) -> Response:
    """The 交付通知書 (PDF; the first print records 交付通知書発送)."""
    key, pdf = card_applications.notice(ui.uow, ui.actor, application_id[:30])
    disposition = f'inline; filename="card-notice-{key}.pdf"'
    return Response(pdf, media_type="application/pdf", headers={"Content-Disposition": disposition})


def _handover_form(form: dict[str, Any]) -> dict[str, Any]:
    """The handover form as the API's body: ticked boxes (`doc.<kind>` for each document seen)."""
    return {
        "notice_presented": _s(form, "notice_presented") in TRUE_TEXTS,
        "identity_documents": [k[len("doc.") :] for k, v in form.items() if k.startswith("doc.") and v],
        "pins_set": _s(form, "pins_set") in TRUE_TEXTS,
    }


@router.post("/ui/card-applications/{application_id}/handover")
def hand_over(application_id: str, ui: UiDep) -> Response:
    key = application_id[:30]
    body, problems = schemas.check(HandoverBody, _handover_form(ui.form))
    try:
        if body is None:
            raise InvalidField(problems[0]["message"], problems[0]["field"])
        card_applications.handover(
            ui.uow, desk(ui.request).trust, ui.actor, key, body.notice_presented, body.identity_documents,
            body.pins_set,
        )  # fmt: skip
    except DomainError as exc:
        if _refusal(exc):
            raise
        return _application_page(ui, key, 422, {exc.field or "": exc.to_dict()})
    return ui.redirect(f"/ui/card-applications/{key}?done=issued")


@router.post("/ui/card-applications/{application_id}/revoke")
def revoke(application_id: str, ui: UiDep) -> Response:
    key = application_id[:30]
    body, problems = schemas.check(RevokeBody, {"reason": _s(ui.form, "reason")})
    try:
        if body is None:
            raise InvalidField(problems[0]["message"], problems[0]["field"])
        card_applications.revoke(ui.uow, ui.actor, key, body.reason)
    except DomainError as exc:
        if _refusal(exc):
            raise
        return _application_page(ui, key, 422, {exc.field or "": exc.to_dict()})
    return ui.redirect(f"/ui/card-applications/{key}?done=revoked")


@router.post("/ui/card-applications/{application_id}/card-state")
def card_state(application_id: str, ui: UiDep) -> Response:
    """The handed-over card's 一時停止 (reported lost), 利用再開 or 廃止, by the card registry's rules."""
    key = application_id[:30]
    state = _s(ui.form, "state")
    try:
        kiosk_registry.set_card_state(ui.uow, ui.actor, _s(ui.form, "serial")[:40], state)
    except DomainError as exc:
        if _refusal(exc):
            raise
        return _application_page(ui, key, 422, {"card": exc.to_dict()})
    done = "card_revoked" if state == "revoked" else state
    return ui.redirect(f"/ui/card-applications/{key}?done={done}")


# --- a person's applications --------------------------------------------------------------------------------------


def _person_page(ui: Ui, number: str, status: int = 200, errors: dict[str, Any] | None = None) -> Response:
    listed = card_applications.of_person(ui.uow, ui.actor, number)
    context = {
        "number": number,
        "applications": listed["applications"],
        "kinds": rules.KINDS,
        "channels": rules.CHANNELS,
        "card_state_names": CARD_STATE_NAMES,
        "may_apply": ui.may(REGISTER_FILE)
        and not any(a["state"] in rules.OPEN for a in listed["applications"]),
        "errors": errors or {},
        "values": {"applied_on": ui.today().isoformat(), "kind": "new", **ui.form},
    }
    if is_htmx(ui.request):  # swapped into the person's page
        return ui.render("cards/_person.html", **context)
    resident = register_queries.get_resident(ui.uow, ui.actor, number)
    return ui.render("cards/person.html", status=status, r=resident, **context)


@router.get("/ui/residents/{addressee_number}/card-applications")
def person_page(addressee_number: str, ui: UiDep) -> Response:
    return _person_page(ui, validate_addressee_number(addressee_number[:20]))


@router.post("/ui/residents/{addressee_number}/card-applications")
def apply(addressee_number: str, ui: UiDep) -> Response:
    """交付申請 at the counter."""
    number = validate_addressee_number(addressee_number[:20])
    data = {"addressee_number": number, "kind": _s(ui.form, "kind"), "applied_on": _s(ui.form, "applied_on")}
    body, problems = schemas.check(ApplicationBody, data)
    try:
        if body is None:
            raise InvalidField(problems[0]["message"], problems[0]["field"])
        made = card_applications.apply(ui.uow, ui.actor, number, body.kind, body.applied_on)
    except DomainError as exc:
        if _refusal(exc):
            raise
        return _person_page(ui, number, 422, {exc.field or "": exc.to_dict()})
    return ui.redirect(f"/ui/card-applications/{made['application_id']}?done=applied")


# --- カードで本人確認 (seed ⑩) ----------------------------------------------------------------------------------------


@router.get("/ui/cards/identify")
def identify_page(ui: UiDep, addressee_number: str = "") -> Response:
    """The form; from a person's page (`addressee_number`) the card must be theirs."""
    working_on = validate_addressee_number(addressee_number[:20]) if addressee_number else ""
    return ui.render("cards/identify.html", working_on=working_on, errors={}, values={})


def _pem(data: bytes) -> str:
    """An uploaded certificate as PEM text: PEM as it is, DER (a card reader's .cer) wrapped in PEM's armour."""
    if data.lstrip().startswith(b"-----BEGIN"):
        return data.decode("ascii", "replace")
    body = "\n".join(textwrap.wrap(base64.b64encode(data).decode("ascii"), 64))
    return f"{PEM_BEGIN}\n{body}\n{PEM_END}\n"


async def _certificate(ui: Ui) -> str:
    """The certificate pasted, or else the file uploaded (bounded)."""
    pasted = _s(ui.form, "certificate")
    if pasted:
        return pasted
    upload = (await ui.request.form()).get("certificate_file")  # parsed once already (CSRF)
    if not isinstance(upload, UploadFile):
        return ""
    data = await upload.read(MAX_CERTIFICATE_CHARS + 1)
    return _pem(data) if data else ""


@router.post("/ui/cards/identify")
async def identify(ui: UiDep) -> Response:
    """The card's holder: their page opens (a refusal stays on the form, with its code)."""
    working_on = _s(ui.form, "addressee_number")[:20]
    data = {"certificate": await _certificate(ui), "addressee_number": working_on or None}
    body, problems = schemas.check(IdentifyBody, data)
    try:
        if body is None:
            raise InvalidField(problems[0]["message"], problems[0]["field"])
        found = await run_in_threadpool(
            card_applications.identify,
            ui.uow,
            desk(ui.request).trust,
            ui.actor,
            body.certificate,
            body.addressee_number,
        )
    except DomainError as exc:
        if _refusal(exc):
            raise
        errors = {"certificate": exc.to_dict()}
        return ui.render(
            "cards/identify.html", status=exc.status, working_on=working_on, errors=errors, values={}
        )
    return ui.redirect(f"/ui/residents/{found['addressee_number']}")
