"""Answers about certificates: issuance records, settings, the 文字超過リスト and the public check."""

from __future__ import annotations

from typing import Any

from pydantic import Field

from juki.web.responses import Out


class CopyOf(Out):
    number: int
    of: int


class Disposal(Out):
    """処分情報 (j300)."""

    disposed_at: str
    staff_id: str | None
    reason: str


class Issuance(Out):
    """An issuance record (交付履歴, j360); 宛名番号 hidden from the caller are left out."""

    issuance_number: str
    issued_at: str
    kind: str
    layout: str
    household_number: str | None
    addressee_numbers: list[str]
    items: list[str]
    my_number_printed: bool
    copy_: CopyOf = Field(alias="copy")
    pages: int
    channel: str
    office: str | None
    terminal: str | None
    staff_id: str | None
    requester_type: str | None
    requester_addressee_number: str | None
    identity_document: str | None
    purpose: str | None
    fee: int
    sha256: str
    disposal: Disposal | None


class Issuances(Out):
    addressee_number: str
    issuances: list[Issuance]  # newest first


class Settings(Out):
    """The city's certificate settings, one append-only version (j1000, j1050, j1070)."""

    version: int
    changed_at: str | None
    changed_by: str | None
    settings: dict[str, Any]  # kinds, mayor, acting, overflow, printers, kiosk (docs/api-extensions.md)


class OverflowLine(Out):
    issuance_number: str
    line: int
    kind: str
    kind_name: str
    issued_at: str
    terminal: str | None
    staff_id: str | None
    channel: str
    addressee_number: str | None
    item: str
    problem: str  # overflow / gaiji
    problem_name: str
    text: str


class OverflowList(Out):
    """文字超過リスト (j1070) of one day."""

    date: str
    lines: list[OverflowLine]


class Verification(Out):
    """`/verify/{n}`: no personal data. `matches` only when a digest or the PDF was sent."""

    issuance_number: str
    kind: str
    issued_at: str
    sha256: str
    kind_name: str
    issued_on: str
    issued_at_jst: str
    issuer: str
    copy_: CopyOf = Field(alias="copy")
    pages: int
    disposed: bool
    matches: bool | None = None


class PdfVerification(Verification):
    matches: bool
