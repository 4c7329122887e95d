"""The city's certificate settings (証明書の設定) and the 文字超過リスト at the counter (j1000–j1070).

- `/ui/certificates/settings`: everyone who issues certificates sees what the settings are (the defaults the form
  ticks, who signs, the printers); the administrator (`staff:admin`) changes them — each change a new version
  with its reason (`certificates.change_settings`; a stale form is refused with `conflict`).
- `/ui/certificates/overflow`: the day's 文字超過リスト (fields cut or left blank, 外字), with the PDF to print.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Mapping
from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Response

from juki.domain import certificate_settings as settings_rules
from juki.domain import certificates as rules
from juki.domain.errors import DomainError, InvalidField
from juki.policy.roles import STAFF_ADMIN
from juki.services import certificates
from juki.web import schemas
from juki.web.ui.certificate_form import ITEM_NAMES
from juki.web.ui.certificate_pages import office_of
from juki.web.ui.core import Ui, UiRoute, current
from juki.web.ui.forms import whole_number

router = APIRouter(route_class=UiRoute)
UiDep = Annotated[Ui, Depends(current)]

DEFAULTABLE = [(code, ITEM_NAMES[code]) for code in settings_rules.DEFAULTABLE]
OMITTABLE = [(code, ITEM_NAMES[code]) for code in settings_rules.FOREIGN_OMITTABLE]
SIGNERS = [("mayor", "市長"), ("acting", "職務代理者")]
SEALS = [("mayor", "市長印"), ("certificate", "証明専用印"), ("none", "公印省略")]
OVERFLOW = [("truncate", "入る所まで印字する"), ("blank", "空欄にする")]
STALE = -1  # no version of the settings: the service answers `conflict`


def _values(s: settings_rules.CertificateSettings) -> dict[str, str]:
    """The settings as the form's fields."""
    values: dict[str, str] = {}
    for code in settings_rules.KIND_CODES:
        k = s.kind(code)
        values.update({f"kinds.{code}.include.{i}": "1" for i in k.include})
        values.update({f"kinds.{code}.omit.{i}": "1" for i in k.omit})
        values[f"kinds.{code}.signer"] = k.signer
        values[f"kinds.{code}.seal"] = k.seal
    values.update(
        {
            "mayor.title": s.mayor.title,
            "mayor.name": s.mayor.name,
            "acting.title": s.acting.title,
            "acting.name": s.acting.name,
            "overflow": s.overflow,
            "printers": "\n".join(f"{t}={p}" for t, p in sorted(s.printers.items())),
            "kiosk.fee": str(s.kiosk_fee),
            "kiosk.office": s.kiosk_office,
        }
    )
    return values


def _printers(text: str) -> dict[str, str]:
    printers = {}
    for n, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        terminal, sep, printer = line.partition("=")
        if not sep:
            raise InvalidField(f"{n}行目: 「端末=プリンタ」の形で書いてください", "printers")
        printers[terminal.strip()] = printer.strip()
    return printers


def _fee(text: str) -> int | str:
    plain = unicodedata.normalize("NFKC", text).replace(",", "").strip()
    number = whole_number(plain, 6)
    return number if number is not None else plain


def _version(text: str) -> int | None:
    """The version the page was given; one tampered into no number is no version there is: a conflict."""
    number = whole_number(text)
    return number if number is not None else (STALE if text.strip() else None)


def settings_body(form: Mapping[str, str]) -> dict[str, Any]:
    """The form's fields → the body of `PUT /api/v1/certificates/settings`."""

    def ticked(prefix: str, codes: list[tuple[str, str]]) -> list[str]:
        return [code for code, _ in codes if form.get(f"{prefix}.{code}")]

    kinds = {
        code: {
            "include": ticked(f"kinds.{code}.include", DEFAULTABLE),
            "omit": ticked(f"kinds.{code}.omit", OMITTABLE),
            "signer": form.get(f"kinds.{code}.signer", "mayor"),
            "seal": form.get(f"kinds.{code}.seal", "mayor"),
        }
        for code in settings_rules.KIND_CODES
    }
    version = form.get("version", "")
    return {
        "settings": {
            "kinds": kinds,
            "mayor": {"title": form.get("mayor.title", ""), "name": form.get("mayor.name", "")},
            "acting": {"title": form.get("acting.title", ""), "name": form.get("acting.name", "")},
            "overflow": form.get("overflow", ""),
            "printers": _printers(form.get("printers", "")),
            "kiosk": {"fee": _fee(form.get("kiosk.fee", "")), "office": form.get("kiosk.office", "")},
        },
        "reason": form.get("reason", "").strip(),
        "version": _version(version),
    }


def checked(body: Mapping[str, Any]) -> dict[str, Any]:
    """The change through the API's request models (`schemas.CertificateSettingsChangeBody`, its document through
    `schemas.CertificateSettingsIn`), as `PUT /api/v1/certificates/settings` puts it: the body the API hands to
    `certificates.change_settings`, or the first error as the API words it, with the same path."""
    change, problems = schemas.check(schemas.CertificateSettingsChangeBody, body)
    document, problems = (
        schemas.check(schemas.CertificateSettingsIn, change.settings) if change else (None, problems)
    )
    if change is None or document is None:
        raise InvalidField(problems[0]["message"], problems[0]["field"])
    return {**change.model_dump(exclude_none=True), "settings": document.model_dump(exclude_none=True)}


def _page(
    ui: Ui, values: dict[str, str], version: int, errors: dict[str, Any] | None = None, saved: bool = False
) -> Response:
    return ui.render(
        "certificates/settings.html",
        status=422 if errors else 200,
        values=values,
        version=version,
        errors=errors or {},
        saved=saved,
        may_change=ui.may(STAFF_ADMIN),
        kinds=[(code, rules.KINDS[code].name) for code in settings_rules.KIND_CODES],
        defaultable=DEFAULTABLE,
        omittable=OMITTABLE,
        signers=SIGNERS,
        seals=SEALS,
        overflow_choices=OVERFLOW,
    )


@router.get("/ui/certificates/settings")
def settings_page(ui: UiDep, saved: str = "") -> Response:
    shown = certificates.settings_of(ui.uow, ui.actor, office_of(ui))
    values = _values(settings_rules.parse(shown["settings"]))
    return _page(ui, values, shown["version"], saved=saved == "1")


@router.post("/ui/certificates/settings")
def change_settings(ui: UiDep) -> Response:
    values = dict(ui.form)
    version = whole_number(values.get("version", "")) or 0
    try:
        certificates.change_settings(ui.uow, ui.actor, office_of(ui), checked(settings_body(values)))
    except DomainError as exc:
        if exc.code == "forbidden" and exc.field is None:
            raise
        return _page(ui, values, version, {exc.field or "settings": exc.to_dict()})
    return ui.redirect("/ui/certificates/settings?saved=1")


# --- 文字超過リスト ---------------------------------------------------------------------------------------------------


def _day(ui: Ui, text: str) -> date:
    if not text:
        return ui.today()
    try:
        return date.fromisoformat(text[:10])
    except ValueError as exc:
        raise InvalidField("日付は YYYY-MM-DD で指定してください", "date") from exc


@router.get("/ui/certificates/overflow")
def overflow_page(ui: UiDep, date: str = "") -> Response:
    day = _day(ui, date)
    listed = certificates.overflow_list(ui.uow, ui.actor, office_of(ui), day)
    return ui.render("certificates/overflow.html", day=day, lines=listed["lines"])


@router.get("/ui/certificates/overflow.pdf")
def overflow_pdf(ui: UiDep, date: str = "") -> Response:
    day = _day(ui, date)
    pdf = certificates.overflow_list_pdf(ui.uow, ui.actor, office_of(ui), day)
    return Response(
        pdf,
        media_type="application/pdf",
        headers={"Content-Disposition": f'inline; filename="overflow-{day:%Y%m%d}.pdf"'},
    )
