"""The PIA's 別紙1 and 別紙2, each in full, rendered from the transfer policy in force (`juki pia render`): an HTML
page and an A4 PDF with the certificates' Mincho fonts. What the system enforces and what the city declares come
from one source (docs/architecture.md: the policy is data)."""

from __future__ import annotations

import io
from dataclasses import dataclass
from pathlib import Path

from jinja2 import Environment, PackageLoader, select_autoescape
from reportlab.lib import colors
from reportlab.lib.pagesizes import A4, landscape
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.platypus import LongTable, Paragraph, SimpleDocTemplate, Spacer, TableStyle

from juki.adapters.pdf import fonts
from juki.transfer.policy import Policy, TransferRow

HEADERS = ("番号", "{who}", "法令上の根拠", "{who}における用途", "{what}する情報", "対象となる本人の数",
           "対象となる本人の範囲", "{what}方法", "時期・頻度")  # fmt: skip
WIDTHS_MM = (12, 30, 38, 62, 36, 22, 26, 26, 22)


@dataclass(frozen=True)
class Sheet:
    name: str
    title: str
    headers: tuple[str, ...]
    rows: list[tuple[str, ...]]


def _cells(row: TransferRow, label: str) -> tuple[str, ...]:
    departments = " ".join(row.departments)
    who = f"小平市教育委員会 {departments}" if row.sheet == "別紙1" and row.no == 59 else departments
    return (f"{label}{row.no}", who, row.legal_basis, row.purpose, row.information, row.population, row.scope,
            row.method, row.timing)  # fmt: skip


def sheets(policy: Policy) -> list[Sheet]:
    provide = tuple(h.format(who="提供先", what="提供") for h in HEADERS)
    transfer = tuple(h.format(who="移転先", what="移転") for h in HEADERS)
    out = [
        Sheet("別紙1", "提供先一覧", provide, [_cells(r, "提供先") for r in policy.provisions]),
        Sheet("別紙2", "移転先一覧", transfer, [_cells(r, "移転先") for r in policy.transfers]),
    ]
    if policy.others:
        rows = [_cells(r, "その他") for r in policy.others]
        out.append(Sheet("参考", "特定個人情報を含まない庁内連携（個人番号を移転しない）", transfer, rows))
    return out


def render_html(policy: Policy) -> str:
    env = Environment(loader=PackageLoader("juki.web", "templates"), autoescape=select_autoescape(["html"]))
    return env.get_template("pia/pia.html").render(policy=policy, sheets=sheets(policy))


def render_pdf(policy: Policy) -> bytes:
    font = fonts().names[0]
    text = ParagraphStyle("cell", fontName=font, fontSize=6.5, leading=8)
    head = ParagraphStyle("title", fontName=font, fontSize=12, leading=16)
    story: list = [Paragraph("特定個人情報保護評価書（住民基本台帳に関する事務）", head),
                   Paragraph(f"庁内連携ポリシー 第{policy.version}版（{policy.reason}）", text), Spacer(1, 4 * mm)]  # fmt: skip
    for sheet in sheets(policy):
        story.append(Paragraph(f"（{sheet.name}）{sheet.title}", head))
        data = [[Paragraph(c, text) for c in sheet.headers]] + [
            [Paragraph(c, text) for c in r] for r in sheet.rows
        ]
        table = LongTable(data, colWidths=[w * mm for w in WIDTHS_MM], repeatRows=1)
        table.setStyle(TableStyle([("GRID", (0, 0), (-1, -1), 0.3, colors.black),
                                   ("BACKGROUND", (0, 0), (-1, 0), colors.lightgrey),
                                   ("VALIGN", (0, 0), (-1, -1), "TOP")]))  # fmt: skip
        story += [table, Spacer(1, 6 * mm)]
    buffer = io.BytesIO()
    doc = SimpleDocTemplate(buffer, pagesize=landscape(A4), leftMargin=10 * mm, rightMargin=10 * mm,
                            topMargin=10 * mm, bottomMargin=10 * mm, title="特定個人情報保護評価書 別紙1・別紙2")  # fmt: skip
    doc.build(story)
    return buffer.getvalue()


def write(policy: Policy, out: Path) -> tuple[Path, Path]:
    out.mkdir(parents=True, exist_ok=True)
    html, pdf = out / "pia.html", out / "pia.pdf"
    html.write_text(render_html(policy), encoding="utf-8")
    pdf.write_bytes(render_pdf(policy))
    return html, pdf
