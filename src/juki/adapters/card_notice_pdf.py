"""個人番号カード交付通知書 as PDF (reportlab, A4 portrait), drawn with the certificates' fonts (adapters/pdf.py:
IPAmj明朝 with IPAex明朝 for what it lacks) and under the same lock (reportlab's embedded-font subsets are shared).

The notice tells the applicant that their card is at the city and what to bring to collect it; it names the
application, never a 個人番号, and never a PIN (the holder sets the PINs at the counter).
"""

from __future__ import annotations

import io

from reportlab.lib.pagesizes import A4
from reportlab.lib.units import mm
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfgen.canvas import Canvas

from juki.adapters import pdf
from juki.domain.card_applications import LIST_A, LIST_B
from juki.domain.dates import to_wareki
from juki.services.card_application_ports import CardNotice

PAGE_W, PAGE_H = A4
LEFT = 20 * mm
RIGHT = PAGE_W - 20 * mm
TITLE = "個人番号カード交付通知書"


class _Writer:
    """Text in runs of one font each (pdf.Fonts.runs): a character IPAmj明朝 lacks is drawn in IPAex明朝."""

    def __init__(self, canvas: Canvas, fonts: pdf.Fonts) -> None:
        self.c = canvas
        self.f = fonts

    def text(self, x: float, y: float, text: str, size: float) -> None:
        runs, _ = self.f.runs(text)
        for font, part in runs:
            self.c.setFont(font, size)
            self.c.drawString(x, y, part)
            x += pdfmetrics.stringWidth(part, font, size)

    def right(self, x: float, y: float, text: str, size: float) -> None:
        self.text(x - self.f.width(text, size), y, text, size)

    def centred(self, y: float, text: str, size: float) -> None:
        self.text((PAGE_W - self.f.width(text, size)) / 2, y, text, size)

    def lines(self, x: float, y: float, texts: list[str], size: float, step: float) -> float:
        """Each text from `y` down, wrapped by characters at the right margin (Japanese has no spaces to break at);
        the height below the last line."""
        for text in texts:
            for line in self._wrapped(text, RIGHT - x, size):
                self.text(x, y, line, size)
                y -= step
        return y

    def _wrapped(self, text: str, width: float, size: float) -> list[str]:
        lines, line = [], ""
        for ch in text:
            if line and self.f.width(line + ch, size) > width:
                lines.append(line)
                line = "　" if text.startswith(("・", "1.", "2.", "3.")) else ""
            line += ch
        return [*lines, line]


def _postal(code: str | None) -> str:
    digits = (code or "").replace("-", "")
    return f"〒{digits[:3]}-{digits[3:]}" if len(digits) == 7 else ""


def _documents(names: dict[str, str]) -> list[str]:
    """The kinds of a list, a few to a line."""
    items = list(names.values())
    return ["・" + "、".join(items[i : i + 4]) for i in range(0, len(items), 4)]


def render_notice(notice: CardNotice) -> bytes:
    fonts = pdf.fonts()
    buf = io.BytesIO()
    with pdf._lock:  # the certificates' renderer's lock: the fonts' subsets are shared state
        c = Canvas(buf, pagesize=A4, invariant=True, pageCompression=1)
        c.setTitle(f"{TITLE} {notice.application_id}")
        c.setAuthor(notice.city)
        c.setCreator("juki")
        w = _Writer(c, fonts)
        _draw(w, notice)
        c.showPage()
        c.save()
    return buf.getvalue()


def _draw(w: _Writer, n: CardNotice) -> None:
    top = PAGE_H - 25 * mm
    w.right(RIGHT, top, f"{to_wareki(n.printed_on)}", 10)
    w.right(RIGHT, top - 6 * mm, f"申請番号 {n.application_id}", 10)
    y = w.lines(LEFT, top, [_postal(n.postal_code), n.address], 11, 6 * mm)
    w.text(LEFT, y - 4 * mm, f"{n.name}　様", 14)
    w.right(RIGHT, y - 16 * mm, n.mayor, 11)
    w.centred(y - 32 * mm, TITLE, 18)
    y = w.lines(
        LEFT,
        y - 46 * mm,
        [
            f"{to_wareki(n.applied_on)}に申請された個人番号カード（{n.kind}）の準備ができました。",
            f"{to_wareki(n.collect_by)}までに、ご本人が次のものをお持ちのうえ、{n.office}の窓口でお受け取りください。",
            "カードの交付の際に、暗証番号（署名用・利用者証明用・住民基本台帳用・券面事項入力補助用）を",
            "ご本人に設定していただきます。暗証番号を職員に伝える必要はありません。",
        ],
        10.5,
        7 * mm,
    )
    y = w.lines(
        LEFT, y - 4 * mm, ["■ お持ちいただくもの", "1. この交付通知書", "2. 本人確認書類"], 11, 7 * mm
    )
    y = w.lines(LEFT + 8 * mm, y, ["A欄から1点、またはB欄から2点"], 10, 6 * mm)
    y = w.lines(LEFT + 8 * mm, y, ["A欄（写真付き）", *_documents(LIST_A)], 9, 5.5 * mm)
    y = w.lines(LEFT + 8 * mm, y - 1 * mm, ["B欄", *_documents(LIST_B)], 9, 5.5 * mm)
    y = w.lines(
        LEFT,
        y - 3 * mm,
        [
            "3. 通知カード・住民基本台帳カード・お持ちの個人番号カード（お持ちの方のみ。交付の際にお返しいただきます）",
            "",
            "この通知書をなくされた場合は、A欄の書類1点を含む2点の本人確認書類をお持ちください。",
            f"期限を過ぎてもお受け取りがない場合、申請を廃止することがあります（市区町村到着日 {to_wareki(n.arrived_on)}）。",
        ],
        10,
        7 * mm,
    )
    w.text(LEFT, 20 * mm, f"{n.city}　{n.office}", 9)
