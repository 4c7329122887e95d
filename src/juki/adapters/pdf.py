"""Certificates as PDF: draws the domain's `CertificateDocument` on A4 portrait with reportlab.

- Fonts: IPAmj明朝 (Debian `fonts-ipamj-mincho`, the MJ character set local government uses) embedded as a
  subset, so characters outside JIS (𠮷, 髙, 﨑) print; any character it lacks is drawn in IPAex明朝
  (`fonts-ipaexfont`), and one that neither has is reported (文字溢れ・外字の警告, j1070) and drawn as the font's
  missing-glyph box.
- Text too long for its cell is shrunk to fit, down to a minimum size; beyond that it is cut (or, if the city's
  setting says so, left blank) and reported (j1070). Each report is an `Overflow` with the whole value, for the
  文字超過リスト (`render_overflow_list`).
- Every page carries the 発行番号, "page x of y" and a QR code for `/verify/<number>`; the last page the 認証文,
  the date, the signer's title and name and the seal the settings choose for the kind — the mayor's
  (`data/seal.png`), the certificate-only one (`data/seal-certificate.png`), or 「公印省略」 (generated
  placeholders: black, 22 mm, j1050 — a real city puts its registered seal images there).
"""

from __future__ import annotations

import io
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

import segno
from reportlab.lib.colors import Color, black, white
from reportlab.lib.pagesizes import A4
from reportlab.lib.units import mm
from reportlab.lib.utils import ImageReader
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFont
from reportlab.pdfgen.canvas import Canvas

from juki.domain.certificates import (
    PERSONS_PER_PAGE,
    ROWS_PER_PAGE,
    STATEMENT_ROWS,
    Block,
    Cell,
    CertificateDocument,
    Overflow,
    Page,
)

DATA = Path(__file__).parent / "data"
SEALS = {"mayor": DATA / "seal.png", "certificate": DATA / "seal-certificate.png"}
# The placeholders' text, column by column from the right (a seal reads top to bottom, right to left).
SEAL_TEXT = {"mayor": ("小平市", "長之印"), "certificate": ("小平市", "長証明", "専用印")}
# Debian's paths; the first that exists is the main font, the next its fallback.
MINCHO_FONTS = (
    ("IPAmjMincho", Path("/usr/share/fonts/truetype/ipamj/ipamjm.ttf")),
    ("IPAexMincho", Path("/usr/share/fonts/opentype/ipaexfont-mincho/ipaexm.ttf")),
    ("IPAexMincho", Path("/usr/share/fonts/truetype/ipaexfont-mincho/ipaexm.ttf")),
    ("IPAexGothic", Path("/usr/share/fonts/opentype/ipaexfont-gothic/ipaexg.ttf")),
)

PAGE_W, PAGE_H = A4
LEFT = 15 * mm
WIDTH = PAGE_W - 2 * LEFT
ROW = 5.5 * mm
BODY_TOP = PAGE_H - 36 * mm
GAP = 1.5 * mm  # between blocks
BODY_BOTTOM = BODY_TOP - ROWS_PER_PAGE * ROW - PERSONS_PER_PAGE * GAP
LABEL_SIZE = 6.5
VALUE_SIZE = 9.5
NAME_SIZE = 12.0
MIN_SIZE = 5.0
SEAL_SIZE = 22 * mm  # at most 25 mm (j1050)
QR_SIZE = 20 * mm
GREY = Color(0.92, 0.92, 0.92)


class FontsMissing(RuntimeError):
    """Neither IPAmj明朝 nor IPAex is installed (`make install` installs them with apt)."""


@dataclass(frozen=True)
class Fonts:
    names: tuple[str, ...]  # registered reportlab font names, main first
    cmaps: tuple[frozenset[int], ...]

    def runs(self, text: str) -> tuple[list[tuple[str, str]], list[str]]:
        """The text split into runs of one font each, and the characters no font has."""
        runs: list[tuple[str, str]] = []
        missing: list[str] = []
        for ch in text:
            code = ord(ch)
            font = next((n for n, cmap in zip(self.names, self.cmaps, strict=True) if code in cmap), None)
            if font is None:
                if not ch.isspace():
                    missing.append(ch)
                font = self.names[0]
            if runs and runs[-1][0] == font:
                runs[-1] = (font, runs[-1][1] + ch)
            else:
                runs.append((font, ch))
        return runs, missing

    def width(self, text: str, size: float) -> float:
        runs, _ = self.runs(text)
        return sum(pdfmetrics.stringWidth(t, f, size) for f, t in runs)


_lock = threading.Lock()


@lru_cache(maxsize=1)
def fonts() -> Fonts:
    """Register the installed Mincho fonts once per process (IPAmj first)."""
    names: list[str] = []
    cmaps: list[frozenset[int]] = []
    for name, path in MINCHO_FONTS:
        if name in names or not path.exists():
            continue
        font = TTFont(name, str(path))
        pdfmetrics.registerFont(font)
        names.append(name)
        cmaps.append(frozenset(font.face.charToGlyph))
    if not names:
        raise FontsMissing(
            "IPAmj明朝・IPAex明朝が見つかりません（apt-get install fonts-ipamj-mincho fonts-ipaexfont）"
        )
    return Fonts(tuple(names), tuple(cmaps))


@dataclass(frozen=True)
class Rendered:
    pdf: bytes
    pages: int
    warnings: tuple[str, ...]  # 文字溢れ・外字 (j1070): which item, never the text itself
    overflows: tuple[Overflow, ...] = ()  # the 文字超過リスト's lines (with the text: staff only)


class _Pen:
    def __init__(self, canvas: Canvas, f: Fonts) -> None:
        self.c = canvas
        self.f = f
        self.warnings: list[str] = []
        self.overflows: list[Overflow] = []
        self.number = ""  # the copy being drawn
        self.subject: str | None = None  # the person whose block is being drawn
        self.blank = False  # j1070: leave an overflowing field blank rather than cut it

    def report(self, problem: str, item: str, text: str) -> None:
        self.overflows.append(Overflow(self.number, self.subject, item, problem, text))

    def text(self, x: float, y: float, text: str, size: float, where: str = "") -> None:
        runs, missing = self.f.runs(text)
        if missing:
            self.warnings.append(f"外字 {len(missing)} 文字を表示できません: {where}")
            self.report("gaiji", where, text)
        for font, part in runs:
            self.c.setFont(font, size)
            self.c.drawString(x, y, part)
            x += pdfmetrics.stringWidth(part, font, size)

    def centred(self, x: float, y: float, text: str, size: float) -> None:
        self.text(x - self.f.width(text, size) / 2, y, text, size)

    def right(self, x: float, y: float, text: str, size: float) -> None:
        self.text(x - self.f.width(text, size), y, text, size)

    def fitted(self, x: float, y: float, width: float, text: str, size: float, where: str) -> None:
        """Shrink to fit; below the minimum size, cut and warn (j1070)."""
        w = self.f.width(text, size)
        if w > width:
            size = max(MIN_SIZE, size * width / w * 0.99)
            if self.f.width(text, size) > width:
                self.warnings.append(f"文字溢れ: {where}")
                self.report("overflow", where, text)
                if self.blank:
                    return
                while text and self.f.width(text + "…", size) > width:
                    text = text[:-1]
                text += "…"
        self.text(x, y, text, size, where)


def _cell(pen: _Pen, cell: Cell, x: float, y: float, width: float) -> None:
    c = pen.c
    label_w = max(12 * mm, len(cell.label) * LABEL_SIZE + 5)
    label_w = min(label_w, width * 0.6)
    c.setFillColor(GREY)
    c.rect(x, y, label_w, ROW, stroke=0, fill=1)
    c.setFillColor(black)
    c.setLineWidth(0.4)
    c.rect(x, y, width, ROW, stroke=1, fill=0)
    c.line(x + label_w, y, x + label_w, y + ROW)
    pen.fitted(x + 2, y + ROW / 2 - LABEL_SIZE / 3, label_w - 4, cell.label, LABEL_SIZE, cell.label)
    size = NAME_SIZE if cell.emphasis else VALUE_SIZE
    pen.fitted(x + label_w + 3, y + ROW / 2 - size / 3, width - label_w - 6, cell.value, size, cell.label)


def _block(pen: _Pen, block: Block, top: float) -> float:
    """Draw a block's rows from `top` down; answer the y under it."""
    y = top
    col = WIDTH / 12
    pen.subject = block.subject
    for row in block.rows:
        y -= ROW
        x = LEFT
        for cell in row:
            _cell(pen, cell, x, y, col * cell.span)
            x += col * cell.span
    pen.c.setLineWidth(1.2)
    pen.c.rect(LEFT, y, WIDTH, top - y, stroke=1, fill=0)
    if block.continued:
        pen.text(LEFT + WIDTH - 14 * mm, top + 1, "（続き）", 7)
    pen.subject = None
    return y


def _qr(c: Canvas, url: str, x: float, y: float, size: float) -> None:
    qr = segno.make(url, error="m", micro=False)
    matrix = [list(row) for row in qr.matrix]
    n = len(matrix) + 8  # a quiet zone of four modules each side
    unit = size / n
    c.setFillColor(white)
    c.rect(x, y, size, size, stroke=0, fill=1)
    c.setFillColor(black)
    path = c.beginPath()
    for r, row in enumerate(matrix):
        for col, dark in enumerate(row):
            if dark:
                path.rect(x + (col + 4) * unit, y + size - (r + 5) * unit, unit, unit)
    c.drawPath(path, stroke=0, fill=1)


def _issuance_line(doc: CertificateDocument, page: Page) -> str:
    # j1040: date, municipality, place, terminal, printer, sequence, page/total (blank parts when unknown).
    day, seq = doc.issuance_number.split("-")
    parts = (day, doc.issuer.short_city, doc.issuer.office, doc.terminal[:24], doc.printer, seq)
    return f"発行番号 {doc.issuance_number}　{' '.join(p for p in parts if p)} {page.number}/{page.total}"


@lru_cache(maxsize=4)
def _seal_image(path: Path) -> ImageReader | None:
    return ImageReader(str(path)) if path.exists() else None


def _page(pen: _Pen, doc: CertificateDocument, page: Page, seals: dict[str, Path]) -> None:
    c = pen.c
    c.setFillColor(black)
    pen.text(LEFT, PAGE_H - 12 * mm, _issuance_line(doc, page), 8)
    pen.right(LEFT + WIDTH, PAGE_H - 12 * mm, f"{page.number} / {page.total} 頁", 8)
    if doc.copies > 1:
        pen.right(LEFT + WIDTH, PAGE_H - 16 * mm, f"{doc.copy_no} 通目（全 {doc.copies} 通）", 7)
    if doc.official:  # 「公用」 (j1060)
        c.setLineWidth(1)
        c.rect(LEFT, PAGE_H - 29 * mm, 16 * mm, 9 * mm, stroke=1, fill=0)
        pen.centred(LEFT + 8 * mm, PAGE_H - 26.5 * mm, "公用", 14)
    pen.centred(PAGE_W / 2, PAGE_H - 28 * mm, doc.title, 18)
    y = BODY_TOP
    for block in page.blocks:
        y = _block(pen, block, y) - GAP
    if page.last:
        _statement(pen, doc, seals)
    _footer(pen, doc, page)


def _statement(pen: _Pen, doc: CertificateDocument, seals: dict[str, Path]) -> None:
    c = pen.c
    top = BODY_BOTTOM + STATEMENT_ROWS * ROW
    pen.text(LEFT + 8 * mm, top - 10 * mm, doc.statement, 11)
    pen.text(LEFT + 8 * mm, top - 19 * mm, doc.issued_on_wareki, 11)
    signer = f"{doc.issuer.title}　　{doc.issuer.name}"
    x_end = LEFT + WIDTH - 30 * mm
    pen.right(x_end, top - 31 * mm, signer, 14)
    path = seals.get(doc.issuer.seal)
    image = _seal_image(path) if path is not None else None
    if path is None:  # j1050: a certificate type set to print no seal says so
        pen.text(x_end + 2 * mm, top - 31 * mm, "公印省略", 9)
    elif image is not None:  # over the end of the name, as a seal is pressed
        c.drawImage(
            image,
            x_end + 0.5 * mm,
            top - 31 * mm - SEAL_SIZE / 2 + 2 * mm,
            SEAL_SIZE,
            SEAL_SIZE,
            mask="auto",
        )


def _footer(pen: _Pen, doc: CertificateDocument, page: Page) -> None:
    c = pen.c
    _qr(c, doc.verify_url, LEFT, 10 * mm, QR_SIZE)
    x = LEFT + QR_SIZE + 3 * mm
    pen.text(x, 24 * mm, _issuance_line(doc, page), 8)
    pen.text(
        x, 19.5 * mm, "この証明書の発行は、次のアドレスで確かめられます（個人の情報は表示されません）。", 7
    )
    pen.text(x, 15.5 * mm, doc.verify_url, 7)
    if doc.issuer.seal in SEALS:
        pen.text(x, 11.5 * mm, "この印は黒色です。", 7)


def render(documents: Sequence[CertificateDocument], seals: dict[str, Path] | None = None) -> Rendered:
    """One PDF holding every copy (each with its own 発行番号, j1040)."""
    f = fonts()
    buf = io.BytesIO()
    first = documents[0]
    with _lock:  # reportlab's embedded-font subsets are shared state
        canvas = Canvas(buf, pagesize=A4, invariant=True, pageCompression=1)
        canvas.setTitle(f"{first.title.replace('　', '')} 発行番号 {first.issuance_number}")
        canvas.setAuthor(first.issuer.city)
        canvas.setCreator("juki")
        pen = _Pen(canvas, f)
        pages = 0
        for doc in documents:
            pen.number, pen.blank = doc.issuance_number, doc.overflow == "blank"
            for page in doc.pages:
                _page(pen, doc, page, seals or SEALS)
                canvas.showPage()
                pages += 1
        canvas.save()
    return Rendered(buf.getvalue(), pages, tuple(dict.fromkeys(pen.warnings)), tuple(pen.overflows))


# --- the placeholder seal ---------------------------------------------------------------------------------------


def placeholder_seal(columns: Sequence[str] = SEAL_TEXT["mayor"], size_px: int = 400) -> bytes:
    """A square black seal reading its columns (right column first, top to bottom), as PNG with transparency.

    The shipped `data/seal*.png` were made with this; a city replaces them with its registered seals' images.
    """
    from PIL import Image, ImageDraw, ImageFont

    path = next(p for _, p in MINCHO_FONTS if p.exists())
    image = Image.new("RGBA", (size_px, size_px), (255, 255, 255, 0))
    draw = ImageDraw.Draw(image)
    ink = (0, 0, 0, 255)
    edge = size_px // 24
    draw.rectangle((edge, edge, size_px - edge, size_px - edge), outline=ink, width=edge)
    n = len(columns)
    rows = max(len(c) for c in columns)
    font = ImageFont.truetype(str(path), int(size_px * 0.27 * 2 / max(n, 2)))
    inner = size_px - 4 * edge
    for col, chars in enumerate(columns):
        cx = size_px - 2 * edge - inner * (col * 2 + 1) / (2 * n)
        for row, ch in enumerate(chars):
            cy = 2 * edge + inner * (row * 2 + 1) / (2 * rows)
            draw.text(
                (cx, cy), ch, font=font, fill=ink, anchor="mm", stroke_width=size_px // 120, stroke_fill=ink
            )
    out = io.BytesIO()
    image.save(out, "PNG", optimize=True)
    return out.getvalue()


def write_placeholder_seals() -> list[Path]:
    for kind, path in SEALS.items():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(placeholder_seal(SEAL_TEXT[kind]))
    return list(SEALS.values())


def info() -> dict[str, Any]:
    """Which fonts are in use (for `juki` diagnostics and the tests)."""
    f = fonts()
    return {"fonts": list(f.names), "glyphs": [len(c) for c in f.cmaps]}


# --- the 文字超過リスト (j1070) ----------------------------------------------------------------------------------

LIST_COLUMNS = (("発行番号", 34), ("種類", 30), ("宛名番号", 20), ("項目", 22), ("区分", 14))


def _wrap(f: Fonts, text: str, width: float, size: float) -> list[str]:
    """Split by characters (Japanese has no spaces to break at) into lines that fit the width."""
    lines, line = [], ""
    for ch in text:
        if line and f.width(line + ch, size) > width:
            lines.append(line)
            line = ""
        line += ch
    return [*lines, line] if line else lines or [""]


def render_overflow_list(title: str, day_wareki: str, city: str, lines: Sequence[Any]) -> bytes:
    """The day's 文字超過リスト as an A4 list for the counter: each line the issuance, the person, the item and the
    whole text, to be written in by hand on the certificate (staff only: it carries personal data)."""
    f = fonts()
    buf = io.BytesIO()
    with _lock:
        c = Canvas(buf, pagesize=A4, invariant=True, pageCompression=1)
        c.setTitle(f"{title} {day_wareki}")
        c.setAuthor(city)
        c.setCreator("juki")
        pen = _Pen(c, f)
        text_x = LEFT + sum(w for _, w in LIST_COLUMNS) * mm
        text_w = LEFT + WIDTH - text_x - 2
        page = 1

        def head() -> float:
            pen.centred(PAGE_W / 2, PAGE_H - 20 * mm, title, 16)
            pen.text(LEFT, PAGE_H - 28 * mm, f"{city}　{day_wareki}発行分", 9)
            pen.right(LEFT + WIDTH, PAGE_H - 28 * mm, f"{page} 頁", 9)
            y = PAGE_H - 36 * mm
            x = LEFT
            for label, w in (*LIST_COLUMNS, ("内容（全文）", 0)):
                pen.text(x + 1, y + 1.5 * mm, label, 8)
                x += w * mm
            c.setLineWidth(0.8)
            c.line(LEFT, y, LEFT + WIDTH, y)
            return y

        y = head()
        if not lines:
            pen.text(LEFT, y - 8 * mm, "該当する証明書はありません。", 10)
        for line in lines:
            wrapped = _wrap(f, line["text"], text_w, 9)
            height = max(1, len(wrapped)) * 4.5 * mm + 1.5 * mm
            if y - height < 20 * mm:
                c.showPage()
                page += 1
                y = head()
            cells = (
                line["issuance_number"],
                line["kind_name"],
                line["addressee_number"] or "",
                line["item"],
                line["problem_name"],
            )
            x = LEFT
            for value, (_, w) in zip(cells, LIST_COLUMNS, strict=True):
                pen.fitted(x + 1, y - 4.5 * mm, w * mm - 2, value, 8, "")
                x += w * mm
            for n, part in enumerate(wrapped):
                pen.text(text_x, y - 4.5 * mm * (n + 1), part, 9)
            y -= height
            c.setLineWidth(0.3)
            c.line(LEFT, y, LEFT + WIDTH, y)
        c.showPage()
        c.save()
    return buf.getvalue()
