"""証明書の交付 at the counter: a form → a confirmation of what will be printed → 発行 (the PDF, once);
the person's 交付履歴 with the supervisor's 処分.

The form builds the same body as `POST /api/v1/certificates`, and every step calls `services.certificates`:
- 確認 calls `certificates.preview`: every check runs as at 発行 — 住基法第12条, the persons, the requester,
  支援措置 (a refusal is logged and a protected access alerted; a permitted certificate of a protected person
  therefore alerts at 確認 and again at 発行) — and nothing is kept; the confirmation shows what the layout holds:
  the persons, the items, the pages, whether a My Number is printed, and the fee (`rules.fee`).
- Each confirmation's 発行 issues once (`IssuedPdfs.claim`): pressed twice, or again after 戻る, it leads to what
  it issued.
- 発行 calls `certificates.issue` with the register's office. The PDF is kept in this process's memory, for the
  staff member who issued it, until it is fetched once (`/ui/certificates/issued/<n>/pdf`) or ten minutes pass;
  nothing is written to disk, and a GET never issues. The result page shows the 発行番号, the fee and `/verify/<n>`.
- Inline checks (htmx, on change) run the request's pure rules (`domain.certificates.parse_request`,
  `check_items`): a 住民票コード asked for by a third party is refused beside its box as soon as it is ticked.
Errors go beside their fields; a 支援措置 refusal (`protected_record`) stands above the form, saying no more than the
service does.
"""

from __future__ import annotations

import secrets
import threading
import time
from collections import OrderedDict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Response

from juki.domain import certificates as rules
from juki.domain.certificates import CertificateDocument
from juki.domain.errors import Conflict, DomainError, NotFound
from juki.domain.identifiers import validate_addressee_number, validate_household_number
from juki.policy.roles import CERTIFICATE_DISPOSE, MY_NUMBER_REVEAL
from juki.services import certificates, register_queries, ui_queries
from juki.services.certificates import CertificateOffice, Issued
from juki.web.ui.core import Ui, UiRoute, current, is_htmx
from juki.web.ui.forms import whole_number

router = APIRouter(route_class=UiRoute)
UiDep = Annotated[Ui, Depends(current)]

# --- the words of the form ---------------------------------------------------------------------------------------

KIND_CHOICES = [(code, k.name) for code, k in rules.KINDS.items()]
KIND_HELP = {
    "residence_certificate": "現存の世帯員",
    "entry_certificate": "現存の世帯員・証明する事項を選択",
    "removed_record_certificate": "消除された者（除票）",
    "move_out_certificate": "転出届をした者・手数料なし",
}
LAYOUTS = [("household", "世帯（世帯連記式）"), ("individual", "個人票（1人1枚）")]
REQUESTER_CHOICES = [
    ("self", "本人"),
    ("household_member", "同一世帯の者"),
    ("agent", "代理人（委任状）"),
    ("third_party", "第三者（第12条の3）"),
    ("official", "公用（第12条の2）"),
]
OWN = (
    "self",
    "household_member",
    "agent",
)  # a resident named by 宛名番号: the person, or the agent's principal
WITH_REASON = ("third_party", "official")
INCLUDE_CHOICES = [
    ("householder_and_relationship", "世帯主・続柄"),
    ("honseki", "本籍・筆頭者"),
    ("resident_code", "住民票コード"),
    ("my_number", "個人番号"),
    ("history", "異動履歴"),
]
FOREIGN_CHOICES = [
    *rules.FOREIGN_ITEMS.items(),
    (rules.ALIAS_HISTORY, "通称の記載及び削除に関する事項（別紙）"),
]
ENTRY_CHOICES = [
    ("name", "氏名"),
    ("birth_date", "生年月日"),
    ("sex", "性別"),
    ("address", "住所"),
    ("resident_since", "住民となった年月日"),
    ("address_since", "住所を定めた年月日"),
    ("previous_address", "従前の住所"),
]
IDENTITY_DOCUMENTS = (
    "個人番号カード",
    "運転免許証",
    "旅券",
    "在留カード",
    "特別永住者証明書",
    "健康保険の資格確認書等（2点）",
    "その他の官公署発行の書類",
)
AUTHORITY_DOCUMENTS = ("委任状", "戸籍謄本等（親権者）", "登記事項証明書（成年後見人）")
# What the issuance records say was printed (rules.printed_items), in the clerk's words.
ITEM_NAMES = {
    "name": "氏名",
    "birth_date": "生年月日",
    "sex": "性別",
    "former_surname": "旧氏",
    "alias_name": "通称",
    "householder_and_relationship": "世帯主・続柄",
    "address": "住所",
    "resident_since": "住民となった年月日",
    "address_since": "住所を定めた年月日",
    "previous_address": "従前の住所",
    "honseki": "本籍・筆頭者",
    "resident_code": "住民票コード",
    "my_number": "個人番号",
    **rules.FOREIGN_ITEMS,
    "removal": "消除・転出の事項",
    "history": "異動履歴",
    rules.ALIAS_HISTORY: "通称の記載及び削除に関する事項",
}
# On a 写し (not a 記載事項証明書) one printed row carries more than its code says.
ROW_NAMES = {
    "name": "氏名・生年月日・性別",
    "resident_since": "住民となった年月日・住所を定めた年月日",
    "previous_address": "届出日・従前の住所",
}
CHANNELS = {"counter": "窓口", "kiosk": "コンビニ交付"}


def item_names(codes: Sequence[str], kind: str) -> list[str]:
    """The printed items (as the issuance record keeps them) in the clerk's words and the page's order."""
    order = list(ITEM_NAMES)
    names = ITEM_NAMES if kind == "entry_certificate" else {**ITEM_NAMES, **ROW_NAMES}
    ranked = sorted(set(codes), key=lambda c: order.index(c) if c in order else len(order))
    return [names.get(code, code) for code in ranked]


# The input (error slot) each field an error names belongs to. `free_text` names the key alone (`name`).
SLOTS = {
    "kind": "kind",
    "layout": "layout",
    "household_number": "addressee_numbers",
    "addressee_numbers": "addressee_numbers",
    "include.my_number": "include.my_number",
    "omit": "omit",
    "items": "items",
    "copies": "copies",
    "purpose": "purpose",
    "requester": "requester.type",
    "requester.type": "requester.type",
    "name": "requester.name",
    "requester.name": "requester.name",
    "requester.addressee_number": "requester.addressee_number",
    "reason": "requester.reason",
    "requester.reason": "requester.reason",
    "identity_check": "identity_check.document",
    "document": "identity_check.document",
    "identity_check.document": "identity_check.document",
    "authority_document": "identity_check.authority_document",
    "identity_check.authority_document": "identity_check.authority_document",
}
SLOT_NAMES = {
    "kind": "証明書の種類",
    "layout": "様式",
    "addressee_numbers": "記載する人",
    "include.resident_code": "住民票コード",
    "include.my_number": "個人番号",
    "items": "証明する事項",
    "omit": "外国人住民の記載事項",
    "copies": "通数",
    "requester.type": "請求者",
    "requester.addressee_number": "請求者（本人）",
    "requester.name": "請求者の氏名",
    "requester.reason": "請求事由",
    "identity_check.document": "本人確認書類",
    "identity_check.authority_document": "委任状等",
    "purpose": "使用目的",
}
ALL_SLOTS = tuple(SLOT_NAMES)  # in the order of the form: the first with an error takes the focus
TEXT_KEYS = ("requester.name", "requester.reason", "purpose", "copies")


def _s(values: Mapping[str, Any], key: str) -> str:
    value = values.get(key)
    return value.strip() if isinstance(value, str) else ""


def _typed(values: Mapping[str, Any], key: str) -> str:
    """Free text as typed: the ideographic space a Japanese input method puts between 氏 and 名 is a space (the
    service's `free_text` refuses it as unprintable; the name check ignores spaces of either width)."""
    return _s(values, key).replace("\u3000", " ")


def _persons(values: Mapping[str, Any]) -> list[str]:
    picked = values.get("addressee_numbers") or []
    if isinstance(picked, str):
        picked = [picked]
    return [n.strip() for n in picked if isinstance(n, str) and n.strip()][: rules.MAX_PERSONS + 1]


def _copies(text: str) -> int | str:
    number = whole_number(text, 3)  # full-width digits as typed
    return number if number is not None else text.strip()


def request_body(values: Mapping[str, Any]) -> dict[str, Any]:
    """The form's values → the body of `POST /api/v1/certificates` (what `certificates.issue` takes)."""
    kind = _s(values, "kind")
    body: dict[str, Any] = {
        "kind": kind,
        "layout": _s(values, "layout") or "household",
        "addressee_numbers": _persons(values),
        "include": {code: bool(_s(values, f"include.{code}")) for code, _ in INCLUDE_CHOICES},
        "omit": [code for code, _ in FOREIGN_CHOICES if _s(values, f"omit.{code}")],
        "copies": _copies(_s(values, "copies") or "1"),
        "purpose": _typed(values, "purpose"),
    }
    if kind == "entry_certificate":  # only it certifies chosen items and may leave the 方書 out (j1030)
        body["items"] = [code for code, _ in ENTRY_CHOICES if _s(values, f"items.{code}")]
        if _s(values, "omit.katagaki"):
            body["omit"].append("katagaki")
    kind_of = _s(values, "requester.type")
    requester: dict[str, Any] = {"type": kind_of, "name": _typed(values, "requester.name")}
    if kind_of in OWN and _s(values, "requester.addressee_number"):
        requester["addressee_number"] = _s(values, "requester.addressee_number")
    if kind_of in WITH_REASON:
        requester["reason"] = _typed(values, "requester.reason")
    body["requester"] = requester
    identity = {}
    if _s(values, "identity_check.document"):
        identity["document"] = _s(values, "identity_check.document")
    if kind_of == "agent" and _s(values, "identity_check.authority_document"):
        identity["authority_document"] = _s(values, "identity_check.authority_document")
    if identity:
        body["identity_check"] = identity
    return body


def slot_of(exc: DomainError, values: Mapping[str, Any]) -> str:
    """The input an error belongs beside. 第12条's refusal of the numbers names `include`: it goes beside each
    number asked for. A refusal that names no field is about the persons (支援措置, a removed record)."""
    name = exc.field or ""
    if name == "include":
        asked = [f"include.{c}" for c in ("resident_code", "my_number") if _s(values, f"include.{c}")]
        return asked[0] if asked else "include.resident_code"
    if name in SLOTS:
        return SLOTS[name]
    if name.startswith("include."):
        return name
    if name.startswith(("omit", "items", "addressee_numbers")):
        return name.split(".")[0]
    return "addressee_numbers"


def errors_of(exc: DomainError, values: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
    slot = slot_of(exc, values)
    entry = {**exc.to_dict(), "field": slot}
    errors = {slot: entry}
    if exc.field == "include" and slot == "include.resident_code" and _s(values, "include.my_number"):
        errors["include.my_number"] = entry  # both numbers asked for: the refusal stands beside each
    return errors


# --- the dry run (確認) ---------------------------------------------------------------------------------------------


def office_of(ui: Ui) -> CertificateOffice:
    built: CertificateOffice = ui.request.app.state.juki.certificate_office
    return built


def preview(ui: Ui, body: Mapping[str, Any]) -> tuple[CertificateDocument, ...]:
    """What `certificates.issue` would print for this body, every check run and nothing issued."""
    return certificates.preview(ui.uow, ui.actor, body, office_of(ui))


# --- the PDFs handed over once -------------------------------------------------------------------------------------


@dataclass
class _Kept:
    staff_id: str
    issued: Issued  # its `pdf` is dropped (replaced by b"") once fetched
    summary: dict[str, Any]
    at: float
    fetched: bool = False


@dataclass
class _Once:
    """A confirmation's 発行 button: it issues once; pressed again (twice in a hurry, or after 戻る) it leads to
    what it issued."""

    staff_id: str
    at: float
    busy: bool = False
    number: str | None = None
    failed: bool = False


class IssuedPdfs:
    """The issued PDFs of this process, in memory only: each for the staff member who issued it, fetched once;
    and the confirmations whose 発行 has not been pressed yet.

    A PDF may hold a My Number; it is never written to disk and goes after the one fetch or ten minutes (the
    result page's facts — number, fee, digest — stay for half an hour, without the PDF)."""

    PDF_SECONDS = 600
    KEEP_SECONDS = 1800
    MAX = 64
    WAIT_SECONDS = 20.0

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._changed = threading.Condition(self._lock)
        self._items: OrderedDict[str, _Kept] = OrderedDict()
        self._once: OrderedDict[str, _Once] = OrderedDict()

    def _expire(self, now: float) -> None:
        for number, kept in list(self._items.items()):
            if now - kept.at > self.KEEP_SECONDS:
                del self._items[number]
            elif now - kept.at > self.PDF_SECONDS and kept.issued.pdf:
                kept.issued = replace(kept.issued, pdf=b"")
        while len(self._items) > self.MAX:
            self._items.popitem(last=False)
        for token, once in list(self._once.items()):
            if now - once.at > self.KEEP_SECONDS and not once.busy:
                del self._once[token]
        while len(self._once) > self.MAX * 8:
            self._once.popitem(last=False)

    def begin(self, staff_id: str) -> str:
        """A confirmation shown: the token its 発行 button sends."""
        token = secrets.token_urlsafe(18)
        with self._lock:
            self._expire(time.monotonic())
            self._once[token] = _Once(staff_id, time.monotonic())
        return token

    def claim(self, token: str, staff_id: str) -> tuple[str, str | None]:
        """`go` (issue now), `done` with the number this confirmation issued, `busy` (still issuing after the
        wait) or `unknown` (no such confirmation for this staff member, expired, or its 発行 was refused)."""
        with self._changed:
            once = self._once.get(token)
            if once is None or once.staff_id != staff_id:
                return "unknown", None
            deadline = time.monotonic() + self.WAIT_SECONDS
            while once.busy and not once.failed:
                left = deadline - time.monotonic()
                if left <= 0:
                    return "busy", None
                self._changed.wait(left)
            if once.number is not None:
                return "done", once.number
            if once.failed:
                return "unknown", None
            once.busy = True
            return "go", None

    def finish(self, token: str, number: str | None) -> None:
        with self._changed:
            once = self._once.get(token)
            if once is not None:
                once.busy, once.number, once.failed = False, number, number is None
                if number is None:
                    del self._once[token]
            self._changed.notify_all()

    def put(self, staff_id: str, issued: Issued, summary: dict[str, Any]) -> None:
        with self._lock:
            self._items[issued.issuance_number] = _Kept(staff_id, issued, summary, time.monotonic())
            self._expire(time.monotonic())

    def get(self, number: str, staff_id: str) -> _Kept | None:
        with self._lock:
            self._expire(time.monotonic())
            kept = self._items.get(number)
            return kept if kept is not None and kept.staff_id == staff_id else None

    def take(self, number: str, staff_id: str) -> Issued | None:
        """The issued certificate with its PDF, once; None when fetched already, expired or another's."""
        with self._lock:
            self._expire(time.monotonic())
            kept = self._items.get(number)
            if kept is None or kept.staff_id != staff_id or not kept.issued.pdf:
                return None
            issued = kept.issued
            kept.issued, kept.fetched = replace(issued, pdf=b""), True
            return issued


_pdfs_lock = threading.Lock()


def pdfs_of(ui: Ui) -> IssuedPdfs:
    state = ui.request.app.state
    with _pdfs_lock:
        kept: IssuedPdfs | None = getattr(state, "ui_issued_pdfs", None)
        if kept is None:
            kept = IssuedPdfs()
            state.ui_issued_pdfs = kept
    return kept


# --- the form ---------------------------------------------------------------------------------------------------


def _subject(ui: Ui, values: dict[str, Any]) -> dict[str, Any]:
    """The person or household the form was opened from, read through the services (logged, 支援措置 screened)."""
    number = _s(values, "_addressee_number")
    household = _s(values, "_household_number")
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
    body = request_body(values)
    try:
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
        once=pdfs_of(ui).begin(ui.actor.staff_id),
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
        request = rules.parse_request(stand_in)
        rules.check_items(request, ui.may(MY_NUMBER_REVEAL))
    except DomainError as exc:
        found = errors_of(exc, values)
        errors = {slot: e for slot, e in found.items() if slot in filled}
    return ui.render("_inline_errors.html", names=list(ALL_SLOTS), errors=errors, hints={})


def _filled(values: Mapping[str, Any], slot: str) -> bool:
    if slot == "addressee_numbers":
        return bool(_persons(values))
    if slot in ("omit", "items"):
        return any(k.startswith(slot + ".") and _s(values, k) for k in values)
    return bool(_s(values, slot))


# --- 発行 -------------------------------------------------------------------------------------------------------


@router.post("/ui/certificates")
def issue(ui: UiDep) -> Response:
    """発行: `certificates.issue` once per confirmation; the PDF is kept for one fetch and the result page (a reload,
    a second press or 戻る and 発行 again issue nothing more)."""
    values = dict(ui.form)
    pdfs = pdfs_of(ui)
    token = _s(values, "_once")
    state, number = pdfs.claim(token, ui.actor.staff_id)
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
    body = request_body(values)
    try:
        issued = certificates.issue(ui.uow, ui.actor, body, office_of(ui))
    except DomainError as exc:
        pdfs.finish(token, None)
        if _refusal(exc):
            raise
        return _form(ui, values, errors_of(exc, values), exc.status)
    except BaseException:
        pdfs.finish(token, None)
        raise
    summary = {
        "addressee_number": _s(values, "_addressee_number"),
        "household_number": _s(values, "_household_number"),
        "persons": len(body["addressee_numbers"]),
        "requester": dict(REQUESTER_CHOICES).get(body["requester"]["type"], ""),
        "copies": len(issued.issuance_numbers),
    }
    pdfs.put(ui.actor.staff_id, issued, summary)
    pdfs.finish(token, issued.issuance_number)
    return ui.redirect(f"/ui/certificates/issued/{issued.issuance_number}")


class Gone(DomainError):
    """The PDF was handed over already (or its ten minutes passed): nothing to give, nothing issued again."""

    code = "gone"
    status = 410


def _number(text: str) -> str:
    if not certificates.ISSUANCE_NUMBER.fullmatch(text):
        raise NotFound("該当する発行番号がありません", "issuance_number")
    return text


@router.get("/ui/certificates/issued/{issuance_number}")
def issued_page(issuance_number: str, ui: UiDep) -> Response:
    """The result: 発行番号, fee, the PDF (once) and `/verify/<n>`. From another browser or later: the public facts."""
    number = _number(issuance_number[:20])
    kept = pdfs_of(ui).get(number, ui.actor.staff_id)
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
    issued = pdfs_of(ui).take(number, ui.actor.staff_id)
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
    person = validate_addressee_number(_s(ui.form, "_addressee_number")[:20])
    try:
        certificates.dispose(ui.uow, ui.actor, office_of(ui), number, {"reason": _s(ui.form, "reason")})
    except DomainError as exc:
        if _refusal(exc):
            raise
        return _history_page(ui, person, 422, {f"{number}.reason": exc.to_dict()})
    return ui.redirect(f"/ui/residents/{person}/certificates?disposed={number}")
