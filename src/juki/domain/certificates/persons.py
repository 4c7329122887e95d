"""The persons on a certificate: their records and history as the register holds them, and whether they fit the
request — the kind (現存者 or 除票, j50), one household, the requester's own household (第12条) — and the fee."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import date

from juki.domain.certificates.request import HIDDEN_HISTORY, OWN_HOUSEHOLD, CertificateRequest
from juki.domain.errors import CardMoveOutNoCertificate, Forbidden, InvalidField, NotResident
from juki.domain.model import ResidentRecord


@dataclass(frozen=True)
class HistoryEntry:
    change_reason: str
    changed_on: date
    filed_on: date
    address: str


@dataclass(frozen=True)
class AliasEntry:
    """One line of 通称の記載及び削除に関する事項 (施行令第30条の27): the 通称, when and where it was entered, and
    when and where it was deleted (None while it stands)."""

    alias: str
    entered_on: date
    entered_by: str
    deleted_on: date | None = None
    deleted_by: str | None = None


@dataclass(frozen=True)
class Subject:
    record: ResidentRecord
    history: tuple[HistoryEntry, ...] = ()
    aliases: tuple[AliasEntry, ...] = ()


def alias_entries(versions: Sequence[tuple[date, str | None]], city: str) -> tuple[AliasEntry, ...]:
    """The 通称 history from the record's versions (each: the day it took effect, its 通称 or None), oldest first:
    a 通称 that appears is entered, one that changes or goes is deleted. Entries before this city's register are
    not known here, so every entry names this city."""
    out: list[AliasEntry] = []
    current: AliasEntry | None = None
    for changed_on, alias in versions:
        if current is not None and alias != current.alias:
            out.append(replace(current, deleted_on=changed_on, deleted_by=city))
            current = None
        if alias and current is None:
            current = AliasEntry(alias, changed_on, city)
    if current is not None:
        out.append(current)
    return tuple(out)


def is_present(record: ResidentRecord, today: date) -> bool:
    """Active, or moved out with a planned date still to come (j50: 現存者 until the 消除)."""
    if record.is_active:
        return True
    removal = record.removal
    return bool(removal and record.move_out and removal.removed_on > today)


def check_subjects(req: CertificateRequest, records: Sequence[ResidentRecord], today: date) -> None:
    """The records fit the kind: current ones for a 写し or 記載事項証明書, removed ones for a 除票, a 転出届 for a
    転出証明書; all of one household (a certificate is of one household's register)."""
    kind = req.kind_info
    for r in records:
        present = is_present(r, today)
        if req.kind == "move_out_certificate":
            if r.move_out is None:
                raise InvalidField(f"{r.addressee_number}: 転出の届出がありません", "addressee_numbers")
            if r.move_out.card:  # 標準仕様書 j670: the next city reads the 転出証明書情報 through the CS
                raise CardMoveOutNoCertificate(
                    f"{r.addressee_number}: " + CardMoveOutNoCertificate.default_message
                )
        elif kind.of_removed and present:
            raise InvalidField(f"{r.addressee_number}: 除票ではありません", "addressee_numbers")
        elif not kind.of_removed and not present:
            raise NotResident(f"{r.addressee_number}: 消除された住民です（除票の写しを請求してください）")
    if len({r.household_number for r in records}) > 1:
        raise InvalidField("一つの証明書には一つの世帯の住民だけを記載できます", "addressee_numbers")


def check_requester(
    req: CertificateRequest, requester: ResidentRecord | None, records: Sequence[ResidentRecord]
) -> None:
    """第12条: the person, or someone of the person's household (as the records stand), or an agent for them."""
    r = req.requester
    if r.type not in (*OWN_HOUSEHOLD, "agent"):
        return
    if requester is None:
        raise Forbidden("請求者（本人）が住民基本台帳に見つかりません", "requester.addressee_number")
    households = {x.household_number for x in records}
    same = requester.household_number in households
    if r.type == "self" and requester.addressee_number not in {x.addressee_number for x in records}:
        raise Forbidden(
            "本人の請求には本人を含めてください（同一世帯の者として請求できます）", "requester.type"
        )
    if not same:
        raise Forbidden(
            "請求者と同一の世帯に属さない住民の証明書です（第12条の3の請求をしてください）", "requester"
        )
    if r.type != "agent" and _plain(r.name) != _plain(requester.family_name + requester.given_name):
        raise Forbidden("請求者の氏名が住民票の記載と一致しません", "requester.name")


def _plain(name: str) -> str:
    return re.sub(r"[\s\u3000]", "", name)


def fee(req: CertificateRequest, per_copy: int | None = None) -> int:
    """手数料 of all copies: the kind's fee, or the one given (the city's コンビニ交付 fee); 公用 is free."""
    each = req.kind_info.fee if per_copy is None else per_copy
    return 0 if req.requester.type == "official" else each * req.copies


def visible_history(entries: Sequence[HistoryEntry]) -> list[HistoryEntry]:
    return [e for e in entries if not any(word in e.change_reason for word in HIDDEN_HISTORY)]
