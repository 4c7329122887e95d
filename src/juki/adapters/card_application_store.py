"""個人番号カードの交付申請 in SQL (`uow.card_applications`; migration 0017, docs/cards.md), and its 交付通知書's print.

An application's state is its latest event (the highest id); the card J-LIS reported is on its 市区町村到着 event.
Everything goes through the unit of work's connection, so an event, the card registry's row it may add and the
log entry share one transaction.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date
from typing import Any

from sqlalchemy import Connection, Select, func, insert, select

from juki.adapters import tables as t
from juki.adapters.card_notice_pdf import render_notice
from juki.adapters.repository import next_daily_counter
from juki.domain.card_applications import FINAL
from juki.services.card_application_ports import CardApplication, CardApplicationEvent, CardNotice

a, e = t.card_applications.c, t.card_application_events.c


def _applications() -> Select[Any]:
    """Each application with its latest event's state and time, and the card of its 市区町村到着 (if reported)."""
    last = select(e.application_id, func.max(e.id).label("id")).group_by(e.application_id).subquery("last")
    carded = (
        select(e.application_id, func.max(e.id).label("id"))
        .where(e.serial.is_not(None))
        .group_by(e.application_id)
        .subquery("carded")
    )
    now = t.card_application_events.alias("now_event")
    card = t.card_application_events.alias("card_event")
    return (
        select(
            t.card_applications,
            now.c.state,
            now.c.at.label("state_at"),
            card.c.serial,
            card.c.certificate,
        )
        .join(last, last.c.application_id == a.application_id)
        .join(now, now.c.id == last.c.id)
        .outerjoin(carded, carded.c.application_id == a.application_id)
        .outerjoin(card, card.c.id == carded.c.id)
    )


def _application(row: Any) -> CardApplication:
    return CardApplication(
        application_id=row.application_id,
        addressee_number=row.addressee_number,
        kind=row.kind,
        channel=row.channel,
        applied_on=row.applied_on,
        created_at=row.created_at,
        created_by=row.created_by,
        state=row.state,
        state_at=row.state_at,
        serial=row.serial,
        certificate=row.certificate,
    )


class SqlCardApplicationStore:
    def __init__(self, conn: Connection) -> None:
        self.conn = conn

    def next_id(self, day: date) -> str:
        """`C` + the day + a number, sequential per day."""
        return f"C{day:%Y%m%d}-{next_daily_counter(self.conn, 'card_application', day):06d}"

    def add(self, values: dict[str, Any]) -> None:
        self.conn.execute(insert(t.card_applications).values(**values))

    def add_event(self, values: dict[str, Any]) -> None:
        self.conn.execute(insert(t.card_application_events).values(**values))

    def get(self, application_id: str) -> CardApplication | None:
        row = self.conn.execute(_applications().where(a.application_id == application_id)).first()
        return None if row is None else _application(row)

    def of_person(self, addressee_number: str) -> list[CardApplication]:
        q = _applications().where(a.addressee_number == addressee_number).order_by(a.application_id)
        return [_application(r) for r in self.conn.execute(q).all()]

    def open_of(self, addressee_number: str) -> CardApplication | None:
        return next((x for x in self.of_person(addressee_number) if x.state not in FINAL), None)

    def in_states(self, states: Iterable[str], limit: int) -> list[CardApplication]:
        q = _applications()
        q = q.where(q.selected_columns.state.in_(list(states))).order_by(a.application_id).limit(limit)
        return [_application(r) for r in self.conn.execute(q).all()]

    def events(self, application_id: str) -> list[CardApplicationEvent]:
        q = select(t.card_application_events).where(e.application_id == application_id).order_by(e.id)
        return [
            CardApplicationEvent(r.state, r.at, r.staff_id, r.serial, dict(r.detail or {}))
            for r in self.conn.execute(q).all()
        ]

    def serial_reported(self, serial: str) -> str | None:
        q = select(e.application_id).where(e.serial == serial).limit(1)
        found: str | None = self.conn.execute(q).scalar()
        return found

    def addressee_of(self, resident_code: str) -> str | None:
        r = t.residents.c
        q = select(r.addressee_number).where(r.resident_code == resident_code, r.status == "active")
        found: str | None = self.conn.execute(q.limit(1)).scalar()
        return found

    def render_notice(self, notice: CardNotice) -> bytes:
        return render_notice(notice)
