"""The rows a certificate prints for one person: a 写し's items (世帯連記式 or 個人票), a 記載事項証明書's chosen items,
and the 通称 attachment (別紙), each with the item codes it printed."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import date

from juki.domain.certificates.document import Cell, Row
from juki.domain.certificates.persons import Subject, visible_history
from juki.domain.certificates.request import ALIAS_HISTORY, FOREIGN_ITEMS, CertificateRequest
from juki.domain.dates import format_date, to_wareki
from juki.domain.model import Address, ForeignResidentItems, ResidentRecord


def address_text(a: Address | None, katagaki: bool = True) -> str:
    if a is None:
        return ""
    text = a.address
    if katagaki and a.katagaki:
        text += "　" + a.katagaki
    return text


def _birth(r: ResidentRecord) -> str:
    if r.birth_date_unknown:
        return r.birth_date_unknown
    # j90: a foreign resident's birth date and stay expiry in the western calendar, everything else in wareki;
    # j80: unknown parts left blank (「昭和10年　月日不詳」).
    return format_date(r.birth_date, r.birth_date_unknown_parts, western=r.foreign is not None)


def _sex(r: ResidentRecord) -> str:
    return {"male": "男", "female": "女"}.get(r.sex, r.sex)


def _name(r: ResidentRecord) -> str:
    return f"{r.family_name}　{r.given_name}".strip()


@dataclass
class Items:
    """Collects the rows of one person and the item codes printed."""

    rows: list[Row] = field(default_factory=list)
    printed: set[str] = field(default_factory=set)

    def add(self, code: str, *cells: Cell) -> None:
        self.rows.append(tuple(cells))
        self.printed.add(code)


def person_rows(
    req: CertificateRequest, s: Subject, householder: str | None, individual: bool, today: date
) -> Items:
    """A 写し's rows of one person, in the page's order; `individual` for a 個人票 (the address and the householder
    in the person's own rows rather than the household's header)."""
    r, out = s.record, Items()
    _name_rows(req, r, out)
    _residence_rows(req, r, out, householder, individual)
    _honseki_rows(req, r, out)
    _number_rows(req, r, out)
    if r.foreign:
        _foreign_rows(req, r.foreign, out)
    _removal_rows(req, r, out)
    if "history" in req.include and req.kind != "move_out_certificate":
        _history_rows(s, out)
    return out


def _always_household(req: CertificateRequest) -> bool:
    """施行令第23条: a 転出証明書 carries the householder, the 続柄 and the 本籍 whatever was asked for."""
    return req.kind == "move_out_certificate"


def _name_rows(req: CertificateRequest, r: ResidentRecord, out: Items) -> None:
    out.add(
        "name",
        Cell("氏名", _name(r), 6, emphasis=True),
        Cell("生年月日", _birth(r), 4),
        Cell("性別", _sex(r), 2),
    )
    if r.former_surname:
        out.add("former_surname", Cell("旧氏", r.former_surname, 12))
    if r.foreign and r.foreign.alias_name and "alias_name" not in req.omit:
        out.add("alias_name", Cell("通称", r.foreign.alias_name, 12))


def _residence_rows(
    req: CertificateRequest, r: ResidentRecord, out: Items, householder: str | None, individual: bool
) -> None:
    """The householder and 続柄, the address (個人票), the two dates and the previous address."""
    relationship = "householder_and_relationship" in req.include or _always_household(req)
    if relationship and individual:
        out.add(
            "householder_and_relationship",
            Cell("世帯主", householder or "", 7),
            Cell("続柄", r.relationship, 5),
        )
    if individual:
        out.add("address", Cell("住所", address_text(r.address), 12))
    dates: tuple[Cell, ...] = (
        Cell("住民となった年月日", to_wareki(r.resident_since), 6),
        Cell("住所を定めた年月日", to_wareki(r.address_since), 6),
    )
    if relationship and not individual:  # 世帯連記式: the householder is in the header, 続柄 beside the dates
        dates = (Cell("続柄", r.relationship, 4), *(replace(c, span=4) for c in dates))
        out.printed.add("householder_and_relationship")
    out.add("resident_since", *dates)
    out.add(
        "previous_address",
        Cell("届出日", to_wareki(r.filed_on), 4),
        Cell("従前の住所", address_text(r.previous_address), 8),
    )


def _honseki_rows(req: CertificateRequest, r: ResidentRecord, out: Items) -> None:
    if ("honseki" in req.include or _always_household(req)) and not r.foreign:
        out.add(
            "honseki",
            Cell("本籍", r.honseki or "", 7),
            Cell("筆頭者", r.family_register_head or "", 5),
        )


def _number_rows(req: CertificateRequest, r: ResidentRecord, out: Items) -> None:
    """住民票コード and 個人番号 share one row (`check_items` decided whether they may be printed)."""
    inc = req.include
    numbers = []
    if "resident_code" in inc:
        numbers.append(Cell("住民票コード", r.resident_code or "", 6))
    if "my_number" in inc:
        numbers.append(Cell("個人番号", r.my_number or "", 6))
    if numbers:
        out.add("+".join(c for c in ("resident_code", "my_number") if c in inc), *numbers)


def _foreign_rows(req: CertificateRequest, f: ForeignResidentItems, out: Items) -> None:
    """第30条の45's items not left out, two a row."""
    values = {
        "nationality": f.nationality,
        "article_30_45_category": f.article_30_45_category,
        "status_of_residence": f.status_of_residence or "",
        "period_of_stay": f.period_of_stay or "",
        "stay_expires_on": format_date(f.stay_expires_on, western=True) if f.stay_expires_on else "",
        "residence_card_number": f.residence_card_number or "",
    }
    cells = [(code, Cell(FOREIGN_ITEMS[code], v, 6)) for code, v in values.items() if code not in req.omit]
    for i in range(0, len(cells), 2):
        pair = cells[i : i + 2]
        out.add("+".join(c for c, _ in pair), *(c for _, c in pair))


def _removal_rows(req: CertificateRequest, r: ResidentRecord, out: Items) -> None:
    """A 除票's 消除事由, or a 転出証明書's planned date; with the destination a 転出届 recorded."""
    kind = req.kind
    if kind not in ("removed_record_certificate", "move_out_certificate") or not r.removal:
        return
    if kind == "move_out_certificate" and r.move_out:
        removal = [Cell("転出予定年月日", to_wareki(r.move_out.planned_on), 5)]
    else:
        removal = [Cell("消除事由", f"{to_wareki(r.removal.removed_on)}　{r.removal.reason}", 5)]
    if r.move_out:  # before the planned date a 写し leaves out what the 転出届 recorded (j1000)
        removal.append(Cell("転出先", address_text(r.move_out.destination), 7))
    out.add("removal", *removal)


def _history_rows(s: Subject, out: Items) -> None:
    for e in visible_history(s.history):
        out.add(
            "history",
            Cell(
                "異動履歴",
                f"{to_wareki(e.changed_on)}　{e.change_reason}（{to_wareki(e.filed_on)}届出）　{e.address}",
                12,
            ),
        )


def entry_rows(req: CertificateRequest, s: Subject) -> Items:
    """記載事項証明書: the chosen items of one person."""
    r, out = s.record, Items()
    keep_katagaki = "katagaki" not in req.omit
    values = {
        "name": ("氏名", _name(r)),
        "birth_date": ("生年月日", _birth(r)),
        "sex": ("性別", _sex(r)),
        "address": ("住所", address_text(r.address, keep_katagaki)),
        "resident_since": ("住民となった年月日", to_wareki(r.resident_since)),
        "address_since": ("住所を定めた年月日", to_wareki(r.address_since)),
        "previous_address": ("従前の住所", address_text(r.previous_address, keep_katagaki)),
    }
    for code in req.items:
        label, value = values[code]
        out.add(code, Cell(label, value, 12, emphasis=code == "name"))
    if "householder_and_relationship" in req.include:
        out.add("householder_and_relationship", Cell("続柄", r.relationship, 12))
    if "honseki" in req.include and not r.foreign:
        out.add("honseki", Cell("本籍", r.honseki or "", 7), Cell("筆頭者", r.family_register_head or "", 5))
    if "resident_code" in req.include:
        out.add("resident_code", Cell("住民票コード", r.resident_code or "", 12))
    if "my_number" in req.include:
        out.add("my_number", Cell("個人番号", r.my_number or "", 12))
    return out


def alias_attachments(req: CertificateRequest, subjects: Sequence[Subject]) -> list[tuple[str, list[Row]]]:
    """通称の記載及び削除に関する事項 of each foreign resident who has one, unless left out (j1000)."""
    if {ALIAS_HISTORY, "alias_name"} & req.omit or req.kind in ("entry_certificate", "move_out_certificate"):
        return []  # the attachment prints the 通称: leaving the 通称 out leaves it out too
    out = []
    for s in subjects:
        if not (s.record.foreign and s.aliases):
            continue
        rows: list[Row] = [
            (Cell("別紙", "通称の記載及び削除に関する事項", 7), Cell("氏名", _name(s.record), 5)),
        ]
        for a in s.aliases:
            deleted = f"{to_wareki(a.deleted_on)}　{a.deleted_by or ''}" if a.deleted_on else ""
            rows.append(
                (
                    Cell("通称", a.alias, 4),
                    Cell("記載", f"{to_wareki(a.entered_on)}　{a.entered_by}", 4),
                    Cell("削除", deleted, 4),
                )
            )
        out.append((s.record.addressee_number, rows))
    return out
