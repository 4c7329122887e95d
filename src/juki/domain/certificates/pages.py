"""The pages of one copy of a certificate: persons packed onto pages, the header, the 別紙 and the 認証文 on the
last page only (j1000, j1040)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date

from juki.domain.certificates.document import (
    PERSONS_PER_PAGE,
    ROWS_PER_PAGE,
    STATEMENT_ROWS,
    Block,
    Cell,
    CertificateDocument,
    Issuer,
    Page,
    Row,
)
from juki.domain.certificates.persons import Subject
from juki.domain.certificates.request import ALIAS_HISTORY, CertificateRequest
from juki.domain.certificates.rows import address_text, alias_attachments, entry_rows, person_rows


def statement(req: CertificateRequest, whole_household: bool) -> str:
    kind = req.kind
    if kind == "entry_certificate":
        return "上記の事項は、住民票に記載されていることを証明する。"
    if kind == "move_out_certificate":
        return "上記の者は、転出の届出をしたことを証明する。"
    what = "除票" if kind == "removed_record_certificate" else "住民票"
    if req.layout == "household" and whole_household and kind == "residence_certificate":
        return "この写しは、世帯全員の住民票の原本と相違ないことを証明する。"
    return f"この写しは、{what}の原本と相違ないことを証明する。"


def paginate(
    header: Block | None,
    persons: Sequence[list[Row]],
    per_page: int,
    reserve_statement: bool = True,
    subjects: Sequence[str | None] = (),
) -> list[tuple[Block, ...]]:
    """Pack persons onto pages: at most `per_page` a page, the header on each page, and room for the statement
    kept at the bottom of the last page. A person who does not fit on what is left of a page starts a new one;
    one too long for a whole page continues on the next (the continuation is marked 続き)."""
    capacity = ROWS_PER_PAGE - (len(header.rows) if header else 0)
    pages: list[list[Block]] = [[]]
    used = 0
    for index, rows in enumerate(persons):
        subject = subjects[index] if index < len(subjects) else None
        rest, continued = list(rows), False
        while rest:
            page, room = pages[-1], capacity - used
            starts = sum(1 for b in page if not b.continued)
            if (
                page
                and not continued
                and (starts >= per_page or (len(rest) > room and len(rest) <= capacity))
            ):
                pages.append([])
                used = 0
                continue
            if page and room < 3:
                pages.append([])
                used = 0
                continue
            take, rest = rest[:room], rest[room:]
            page.append(Block(tuple(take), continued, subject))
            used += len(take)
            continued = True
            if rest:
                pages.append([])
                used = 0
    if reserve_statement and used > capacity - STATEMENT_ROWS:
        pages.append([])
    return [((header,) if header else ()) + tuple(p) for p in pages]


def layout(
    req: CertificateRequest,
    subjects: Sequence[Subject],
    *,
    whole_household: bool,
    householder: str | None,
    today: date,
    issuance_number: str,
    terminal: str,
    issuer: Issuer,
    verify_url: str,
    copy_no: int = 1,
    printer: str = "",
    overflow: str = "truncate",
) -> CertificateDocument:
    """The pages of one copy of the certificate."""
    kind = req.kind_info
    individual = req.layout == "individual" or req.kind in ("entry_certificate", "move_out_certificate")
    printed: set[str] = set()
    persons: list[list[Row]] = []
    numbers = [s.record.addressee_number for s in subjects]
    for s in subjects:
        items = (
            entry_rows(req, s)
            if req.kind == "entry_certificate"
            else person_rows(req, s, householder, individual, today)
        )
        printed |= items.printed
        persons.append(items.rows)
    header = None
    if not individual:
        first = subjects[0].record
        rows: list[Row] = [(Cell("住所", address_text(first.address), 12),)]
        if "householder_and_relationship" in req.include:
            rows.append((Cell("世帯主", householder or "", 12),))
        header = Block(tuple(rows))
        printed.add("address")
    attachments = alias_attachments(req, subjects)
    if individual and req.kind != "entry_certificate":
        # 個人票: one person a certificate page (the address is in the person's own rows).
        last = len(persons) - 1
        page_blocks = [
            blocks
            for i, p in enumerate(persons)
            for blocks in paginate(
                None, [p], 1, reserve_statement=i == last and not attachments, subjects=[numbers[i]]
            )
        ]
    else:
        page_blocks = paginate(
            header, persons, PERSONS_PER_PAGE, reserve_statement=not attachments, subjects=numbers
        )
    if attachments:  # 別紙: after the persons, before the 認証文 (which stays on the last page only)
        page_blocks += paginate(
            None, [rows for _, rows in attachments], PERSONS_PER_PAGE, subjects=[n for n, _ in attachments]
        )
        printed.add(ALIAS_HISTORY)
    total = len(page_blocks)
    pages = tuple(Page(i + 1, total, blocks, last=i + 1 == total) for i, blocks in enumerate(page_blocks))
    return CertificateDocument(
        kind=req.kind,
        title=kind.title,
        issuance_number=issuance_number,
        issued_on=today,
        terminal=terminal,
        pages=pages,
        statement=statement(req, whole_household),
        issuer=issuer,
        verify_url=verify_url,
        official=req.requester.type == "official",
        items=tuple(sorted(printed)),
        my_number_printed=req.shows_my_number and any(s.record.my_number for s in subjects),
        copy_no=copy_no,
        copies=req.copies,
        printer=printer,
        overflow=overflow,
    )


def printed_items(items: Sequence[str]) -> list[str]:
    """Item codes as stored: combined codes ("resident_code+my_number") split apart."""
    return sorted({part for code in items for part in code.split("+")})
