"""送付先情報 in SQL (`uow.mailing`; migration 0016, docs/mailing.md): the records built and what became of each.

All three tables are append-only (triggers on both engines): a record's state is its latest row of
`mailing_record_events`; a 居所's registration is the latest row of `delivery_residences` (an ended one has no
address).
"""

from __future__ import annotations

from collections.abc import Collection, Iterable
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection, Select, func, insert, select

from juki.adapters import tables as t
from juki.domain.mailing import OPEN, MailingEvent, MailingRecord, Residence, StoredResidence

r, e, d = t.mailing_records.c, t.mailing_record_events.c, t.delivery_residences.c
CHUNK = 500  # record ids per IN (…)


def _utc(at: datetime) -> datetime:
    return at if at.tzinfo else at.replace(tzinfo=UTC)  # SQLite gives naive datetimes back


def _latest() -> Any:
    """Each record's latest event id."""
    return select(e.record_id, func.max(e.id).label("last")).group_by(e.record_id).subquery()


def _in_state(states: Collection[str]) -> Select[Any]:
    latest = _latest()
    return (
        select(t.mailing_records)
        .join(latest, latest.c.record_id == r.record_id)
        .join(t.mailing_record_events, e.id == latest.c.last)
        .where(e.state.in_(sorted(states)))
    )


class SqlMailingStore:
    def __init__(self, conn: Connection) -> None:
        self.conn = conn

    def add_record(self, values: dict[str, Any]) -> None:
        self.conn.execute(insert(t.mailing_records).values(**values))

    def add_event(self, values: dict[str, Any]) -> None:
        self.conn.execute(insert(t.mailing_record_events).values(**values))

    def record(self, record_id: str, lock: bool = False) -> MailingRecord | None:
        query = select(t.mailing_records).where(r.record_id == record_id)
        row = self.conn.execute(query.with_for_update() if lock else query).first()
        return self._with_events([row])[0] if row else None

    def records(self, states: Collection[str], limit: int, offset: int = 0) -> list[MailingRecord]:
        query = _in_state(states).order_by(r.built_at, r.record_id).limit(limit).offset(offset)
        return self._with_events(list(self.conn.execute(query)))

    def open_records_of(self, addressee_number: str) -> list[MailingRecord]:
        query = (
            _in_state(OPEN).where(r.addressee_number == addressee_number).order_by(r.built_at, r.record_id)
        )
        rows = list(self.conn.execute(query))
        if rows:  # held against a concurrent action on them (the record rows: events are only appended)
            ids = [row.record_id for row in rows]
            self.conn.execute(select(r.record_id).where(r.record_id.in_(ids)).with_for_update()).all()
        return self._with_events(rows)

    def _with_events(self, rows: list[Any]) -> list[MailingRecord]:
        events: dict[str, list[MailingEvent]] = {row.record_id: [] for row in rows}
        for chunk in _chunks(list(events)):
            query = select(t.mailing_record_events).where(e.record_id.in_(chunk)).order_by(e.id)
            for ev in self.conn.execute(query):
                events[ev.record_id].append(MailingEvent(ev.state, _utc(ev.at), ev.staff_id, ev.detail or {}))
        return [_record(row, tuple(events[row.record_id])) for row in rows]

    def add_residence(self, values: dict[str, Any]) -> None:
        self.conn.execute(insert(t.delivery_residences).values(**values))

    def residence(self, addressee_number: str) -> StoredResidence | None:
        query = (
            select(t.delivery_residences)
            .where(d.addressee_number == addressee_number)
            .order_by(d.id.desc())
            .limit(1)
        )
        row = self.conn.execute(query).first()
        if row is None:
            return None
        place = Residence(row.postal_code, row.address) if row.address is not None else None
        return StoredResidence(row.addressee_number, place, _utc(row.registered_at), row.staff_id)


def _record(row: Any, events: tuple[MailingEvent, ...]) -> MailingRecord:
    return MailingRecord(
        record_id=row.record_id,
        addressee_number=row.addressee_number,
        resident_code=row.resident_code,
        request_id=row.request_id,
        items=row.items,
        print_category=row.print_category,
        special_circumstance=row.special_circumstance,
        built_state=row.state,
        hold_reason=row.hold_reason,
        built_at=_utc(row.built_at),
        events=events,
    )


def _chunks(values: list[str]) -> Iterable[list[str]]:
    for i in range(0, len(values), CHUNK):
        yield values[i : i + CHUNK]
