"""The register's 支援措置 and 交付制限 as the CS keeps them (標準仕様書 j410, j440; docs/cs.md).

The register passes on a measure that concerns other systems as `ProtectionChanged` events (docs/events.md), one
per person it covers: a household measure restricts every member. The CS keeps each as a row of its own history
(append-only) and answers whether a person is restricted on a day — what 広域交付 and the 転出証明書情報 ask.
A restriction changes no notice to the prefecture: the 住基ネット holds everyone's 本人確認情報.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from juki.cs.services.ports import CsStore, LogLine, Restriction
from juki.domain.dates import JST
from juki.services.outbox import ChangeEvent


def take_in(store: CsStore, event: ChangeEvent) -> bool:
    """One `ProtectionChanged` event; False when the CS had it already (its outbox position names it)."""
    if store.restriction_taken(event.position, event.addressee_number):
        return False
    body = event.body
    store.add_restriction(
        Restriction(
            event.addressee_number,
            str(body["measure_id"]),
            str(body["restriction"]),
            str(body["action"]),
            date.fromisoformat(body["in_force_from"]),
            _day(body.get("in_force_until")),
            date.fromisoformat(body["ends_on"]),
            bool(body["provisional"]),
            event.position,
        )
    )
    by = body.get("recorded_by") or {}
    store.log(
        LogLine(
            "restriction", str(body["action"]), f"{body['restriction']} {body['measure_id']}",
            str(by.get("staff_id") or ""), str(by.get("terminal") or ""), addressee_number=event.addressee_number,
        )
    )  # fmt: skip
    return True


def _day(value: Any) -> date | None:
    return date.fromisoformat(value) if value else None


def today_of(now: datetime) -> date:
    """The CS's day is Japan's, whatever the server's time zone (a measure ends on a Japanese date)."""
    return now.astimezone(JST).date()


def in_force(store: CsStore, addressee_number: str, today: date | None = None) -> list[Restriction]:
    """The person's restrictions in force on `today` (the CS's own day by default)."""
    day = today or today_of(store.now)
    return [r for r in store.restrictions(addressee_number) if r.in_force(day)]


def restricted(store: CsStore, addressee_number: str, today: date | None = None) -> bool:
    """Whether 広域交付 or a 転出証明書情報 must treat the person as restricted (j410, j440)."""
    return bool(in_force(store, addressee_number, today))


def restricted_persons(store: CsStore, today: date | None = None) -> list[str]:
    """Every person restricted on `today`, by 宛名番号."""
    day = today or today_of(store.now)
    return sorted({r.addressee_number for r in store.restrictions() if r.in_force(day)})
