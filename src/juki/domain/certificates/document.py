"""The page layout as data (j1000, j1040, j1070): cells in a 12-column grid, a person's block of rows, pages, the
issuer, and the document adapters/pdf.py draws."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date

from juki.domain.certificate_settings import CertificateSettings
from juki.domain.dates import to_wareki


@dataclass(frozen=True)
class Cell:
    label: str
    value: str
    span: int = 12  # of a 12-column grid
    emphasis: bool = False  # the name: printed larger


Row = tuple[Cell, ...]


@dataclass(frozen=True)
class Block:
    """One person's items (or the household's header), as rows of cells; `continued` marks a split block."""

    rows: tuple[Row, ...]
    continued: bool = False
    subject: str | None = (
        None  # the person's 宛名番号 (for the 文字超過リスト), None for the household header
    )


@dataclass(frozen=True)
class Overflow:
    """One line of the 文字超過リスト (j1070): a field that did not fit once shrunk to the minimum size, or that has
    characters no installed font has (外字). `text` is the whole value, for the clerk to write in by hand."""

    issuance_number: str
    subject: str | None  # 宛名番号
    item: str  # the printed label (氏名, 住所 …)
    problem: str  # "overflow" / "gaiji"
    text: str


PROBLEMS = {"overflow": "文字溢れ", "gaiji": "外字"}


@dataclass(frozen=True)
class Page:
    number: int
    total: int
    blocks: tuple[Block, ...]
    last: bool


@dataclass(frozen=True)
class Issuer:
    """Who certifies (j310, j1050): the prefecture before the title, the mayor's name, the seal."""

    city: str = "東京都小平市"
    short_city: str = "小平市"
    title: str = "東京都小平市長"
    name: str = "小平　一郎"  # a placeholder: the city sets its mayor's name (never blank, j310)
    office: str = "本庁"
    seal: str = "mayor"  # which seal image (j1050): mayor (市長印), certificate (証明専用印), none (公印省略)

    def signed(self, settings: CertificateSettings, kind: str, office: str | None = None) -> Issuer:
        """This issuer as the settings say for a kind: the mayor or the acting official, seal or not (j1050)."""
        official = settings.signer(kind)
        return replace(
            self,
            title=official.title,
            name=official.name,
            seal=settings.kind(kind).seal,
            office=office or self.office,
        )


@dataclass(frozen=True)
class CertificateDocument:
    kind: str
    title: str
    issuance_number: str
    issued_on: date
    terminal: str
    pages: tuple[Page, ...]
    statement: str  # 認証文, last page only
    issuer: Issuer
    verify_url: str
    official: bool  # 「公用」 (j1060)
    items: tuple[str, ...]  # what was printed, for the issuance record
    my_number_printed: bool
    copy_no: int = 1
    copies: int = 1
    printer: str = ""  # j1040: blank when unknown
    overflow: str = (
        "truncate"  # j1070: a field too long once shrunk is cut ("truncate") or left blank ("blank")
    )

    @property
    def issued_on_wareki(self) -> str:
        return to_wareki(self.issued_on)


ROWS_PER_PAGE = 38  # body rows of the grid on a page (A4, 5.5 mm each)
STATEMENT_ROWS = 8  # the 認証文, the date, the title and the seal take this much of the last page
PERSONS_PER_PAGE = 4
