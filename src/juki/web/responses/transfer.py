"""Answers of the 庁内連携 pull API (API.md "Transfer feed and the PIA"). A record holds only the items the system's
basis covers (the others are absent), so it is a free mapping here: its fields are those of `GET /residents/{n}`."""

from __future__ import annotations

from typing import Any

from juki.web.responses import Out


class Change(Out):
    sequence: int  # the outbox position (an idempotent receiver's key for the change)
    event: str
    addressee_number: str
    version: int
    change_reason: str
    changed_on: str
    filed_on: str
    record: dict[str, Any]
    protected: bool  # a 支援措置 or hold other systems keep (j410, j420, j1190)


class Changes(Out):
    changes: list[Change]
    next: str  # opaque: passed back as `after`; equal to `after` on an empty page


class ExtractRecord(Out):
    addressee_number: str
    record: dict[str, Any]
    protected: bool


class Extract(Out):
    records: list[ExtractRecord]
    next_start: str | None  # the 宛名番号 to continue after; null at the end
    changes_from: str  # the cursor the feed continues from (the first page's)
