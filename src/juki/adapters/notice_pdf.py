"""The 住民票コード通知票 (標準仕様書 j890) as a one-page A5 PDF, in the certificates' fonts (adapters/pdf.py)."""

from __future__ import annotations

import io

from reportlab.lib.pagesizes import A5, landscape
from reportlab.lib.units import mm
from reportlab.pdfgen.canvas import Canvas

from juki.adapters.pdf import _Pen, fonts
from juki.domain.number_notices import CHANGE_NOTICE, CodeNotice

ROWS = (
    ("氏名", "name"),
    ("フリガナ", "name_kana"),
    ("生年月日", "birth_date"),
    ("住所", "address"),
    ("住民票コード", "resident_code"),
    ("記載（変更）年月日", "recorded_on"),
)


def _spaced(code: str) -> str:
    """The 11 digits in groups as the notice prints them (4-4-3), easier to read out at the counter."""
    return f"{code[:4]} {code[4:8]} {code[8:]}"


def render_code_notice(notice: CodeNotice) -> bytes:
    buffer = io.BytesIO()
    width, height = landscape(A5)
    canvas = Canvas(buffer, pagesize=(width, height))
    canvas.setTitle(notice.title)
    pen = _Pen(canvas, fonts())
    pen.centred(width / 2, height - 22 * mm, notice.title, 18)
    top, left, label_width, row_height = height - 38 * mm, 18 * mm, 42 * mm, 11 * mm
    for i, (label, key) in enumerate(ROWS):
        y = top - i * row_height
        canvas.rect(left, y - 3 * mm, width - 2 * left, row_height, stroke=1, fill=0)
        pen.text(left + 3 * mm, y + 1 * mm, label, 10)
        value = getattr(notice, key)
        if key == "resident_code":
            value = _spaced(value)
        pen.fitted(left + label_width, y + 1 * mm, width - 2 * left - label_width - 4 * mm, value, 12, label)
    article = "第30条の4第3項" if notice.title == CHANGE_NOTICE else "第30条の3第3項"
    note = f"あなたの住民票コードを上記のとおり通知します（住民基本台帳法{article}）。"
    pen.text(left, top - len(ROWS) * row_height - 4 * mm, note, 9)
    pen.right(width - left, 20 * mm, f"{notice.issued_on}　{notice.city}長", 11)
    canvas.showPage()
    canvas.save()
    return buffer.getvalue()
