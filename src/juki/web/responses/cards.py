"""What the 個人番号カード routes answer (web/api_cards.py; services/card_applications.py)."""

from __future__ import annotations

from typing import Any

from juki.web.kiosk_responses import HeldCard
from juki.web.responses import Out


class CardApplicationEventOut(Out):
    """A step: J-LIS's report or the counter's (`detail`: codes only — documents' kinds, a reason)."""

    state: str
    at: str
    staff_id: str
    serial: str | None
    detail: dict[str, Any]


class CardApplicationOut(Out):
    """A 交付申請 and where it stands; `card` is the card registry's entry once handed over (its state is the
    registry's)."""

    application_id: str
    addressee_number: str
    kind: str
    channel: str
    applied_on: str
    state: str
    state_name: str
    state_at: str
    serial: str | None
    card: HeldCard | None


class CardApplicationDetail(CardApplicationOut):
    """One application, with its events oldest first."""

    events: list[CardApplicationEventOut]


class CardApplicationList(Out):
    states: list[str]
    applications: list[CardApplicationOut]
    truncated: bool


class PersonsCardApplications(Out):
    addressee_number: str
    applications: list[CardApplicationOut]


class IdentifiedCard(Out):
    """本人確認 with the card: whose it is (the clerk's screen opens their page), its serial and validity."""

    addressee_number: str
    serial: str
    expires_on: str
    locked: bool
    status: str
