"""The CS's storage on SQLAlchemy Core: the 本人確認情報ファイル, its history, the queue and the CS log.

The services see items with the 個人番号 in them; here it is taken out of the JSON and kept encrypted in its own
column with the CS's key (vault.MyNumberVault), and put back on reading.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection, exists, func, insert, select, update

from juki.adapters.rows import models
from juki.adapters.vault import MyNumberVault
from juki.cs.adapters import tables as t
from juki.cs.domain.items import MY_NUMBER, Items
from juki.cs.services.ports import (
    BLOCKING,
    FINAL,
    CsStore,
    Current,
    Entry,
    KeptComparison,
    LogLine,
    NoticeLine,
    Restriction,
)


def _aware(value: datetime | None) -> datetime | None:
    """SQLite gives back naive datetimes: they were written in UTC."""
    if value is None or value.tzinfo is not None:
        return value
    return value.replace(tzinfo=UTC)


class SqlCsStore:
    def __init__(self, conn: Connection, vault: MyNumberVault, now: datetime) -> None:
        self.conn, self.vault, self.now = conn, vault, now

    # -- the 個人番号 at rest
    def _split(self, items: Items) -> tuple[dict[str, Any], str | None]:
        number = items.get(MY_NUMBER)
        return dict(items) | {MY_NUMBER: None}, self.vault.encrypt(number) if number else None

    def _join(self, items: Mapping[str, Any], token: str | None) -> Items:
        return dict(items) | {MY_NUMBER: self.vault.decrypt(token) if token else None}

    # -- events taken in
    def seen(self, addressee_number: str, register_version: int) -> bool:
        query = select(exists().where(
            t.seen.c.addressee_number == addressee_number, t.seen.c.register_version == register_version
        ))  # fmt: skip
        return bool(self.conn.scalar(query))

    def mark_seen(self, addressee_number: str, register_version: int, position: int) -> None:
        self.conn.execute(
            insert(t.seen).values(
                addressee_number=addressee_number,
                register_version=register_version,
                position=position,
                seen_at=self.now,
            )
        )

    # -- the restrictions the register's measures pass on (ProtectionChanged)
    def restriction_taken(self, position: int, addressee_number: str) -> bool:
        r = t.restrictions.c
        query = select(exists().where(r.position == position, r.addressee_number == addressee_number))
        return bool(self.conn.scalar(query))

    def add_restriction(self, restriction: Restriction) -> None:
        self.conn.execute(insert(t.restrictions).values(**asdict(restriction), recorded_at=self.now))

    def restrictions(self, addressee_number: str | None = None) -> list[Restriction]:
        """Each person's latest row of each measure (the measure as it stands), by person and measure."""
        r = t.restrictions.c
        latest = select(func.max(r.id)).group_by(r.addressee_number, r.measure_id)
        if addressee_number is not None:
            latest = latest.where(r.addressee_number == addressee_number)
        rows = self.conn.execute(
            select(t.restrictions)
            .where(r.id.in_(latest.scalar_subquery()))
            .order_by(r.addressee_number, r.measure_id)
        )
        return [_restriction(row) for row in rows]

    # -- the file
    def _current(self, row: Any) -> Current:
        return Current(
            row.addressee_number,
            row.sequence,
            row.register_version,
            row.status,
            row.in_scope,
            self._join(row.items, row.my_number),
        )

    def current(self, addressee_number: str) -> Current | None:
        row = self.conn.execute(
            select(t.identity).where(t.identity.c.addressee_number == addressee_number)
        ).first()
        return self._current(row) if row is not None else None

    def in_scope(self) -> list[Current]:
        rows = self.conn.execute(
            select(t.identity).where(t.identity.c.in_scope).order_by(t.identity.c.addressee_number)
        )
        return [self._current(r) for r in rows]

    def put_version(self, current: Current, kind: str) -> None:
        """A new version: into the history and as the person's current one."""
        items, token = self._split(current.items)
        self.conn.execute(
            insert(t.identity_history).values(
                addressee_number=current.addressee_number,
                sequence=current.sequence,
                register_version=current.register_version,
                kind=kind,
                items=items,
                my_number=token,
                recorded_at=self.now,
            )
        )
        values = {
            "resident_code": items.get("住民票コード"),
            "sequence": current.sequence,
            "register_version": current.register_version,
            "status": current.status,
            "in_scope": current.in_scope,
            "items": items,
            "my_number": token,
            "updated_at": self.now,
        }
        done = self.conn.execute(
            update(t.identity).where(t.identity.c.addressee_number == current.addressee_number).values(values)
        )
        if done.rowcount == 0:
            self.conn.execute(insert(t.identity).values(addressee_number=current.addressee_number, **values))

    def history(self, addressee_number: str) -> list[tuple[int, str, Items]]:
        rows = self.conn.execute(
            select(t.identity_history)
            .where(t.identity_history.c.addressee_number == addressee_number)
            .order_by(t.identity_history.c.sequence)
        )
        return [(r.sequence, r.kind, self._join(r.items, r.my_number)) for r in rows]

    def leave_scope(self, addressee_number: str) -> None:
        self.conn.execute(
            update(t.identity)
            .where(t.identity.c.addressee_number == addressee_number)
            .values(in_scope=False, updated_at=self.now)
        )

    # -- the queue
    def _entry(self, row: Any) -> Entry:
        return Entry(
            row.id, row.notice_id, row.addressee_number, row.change_reason, row.kind, row.event_position,
            row.part, row.register_version, row.household_changed, row.sequence,
            self._join(row.items, row.my_number), row.state, row.attempts, _aware(row.next_attempt_at),
            row.error_code, row.error_item, row.error_message, row.send_back_reason,
        )  # fmt: skip

    def _entry_values(self, values: Mapping[str, object]) -> dict[str, object]:
        out = dict(values)
        items = out.pop("items", None)
        if isinstance(items, dict):
            out["items"], out["my_number"] = self._split(items)
            out["resident_code"] = items.get("住民票コード")
        return out | {"updated_at": self.now}

    def add_entry(self, values: dict[str, object]) -> int:
        row = self._entry_values(values) | {"created_at": self.now}
        result = self.conn.execute(insert(t.notices).values(row).returning(t.notices.c.id))
        return int(result.scalar_one())

    def change_entry(self, entry_id: int, values: dict[str, object]) -> None:
        self.conn.execute(
            update(t.notices).where(t.notices.c.id == entry_id).values(self._entry_values(values))
        )

    def entry(self, entry_id: int) -> Entry | None:
        row = self.conn.execute(select(t.notices).where(t.notices.c.id == entry_id)).first()
        return self._entry(row) if row is not None else None

    def entries_of(self, addressee_number: str) -> list[Entry]:
        """A person's queue in order (the order of the register's changes)."""
        rows = self.conn.execute(
            select(t.notices)
            .where(t.notices.c.addressee_number == addressee_number)
            .order_by(t.notices.c.event_position, t.notices.c.part)
        )
        return [self._entry(r) for r in rows]

    def waits(self, addressee_number: str) -> bool:
        """Whether the person has an entry in the error queue or held behind one (BLOCKING)."""
        query = select(exists().where(
            t.notices.c.addressee_number == addressee_number, t.notices.c.state.in_(BLOCKING)
        ))  # fmt: skip
        return bool(self.conn.scalar(query))

    def entries(self, states: tuple[str, ...]) -> list[Entry]:
        rows = self.conn.execute(
            select(t.notices).where(t.notices.c.state.in_(states)).order_by(t.notices.c.id)
        )
        return [self._entry(r) for r in rows]

    def persons_waiting(self) -> list[str]:
        """Persons with a notice not yet acknowledged, the longest waiting first."""
        rows = self.conn.execute(
            select(t.notices.c.addressee_number, t.notices.c.id)
            .where(t.notices.c.state.not_in(FINAL))
            .order_by(t.notices.c.id)
        )
        persons: dict[str, None] = {}
        for row in rows:
            persons.setdefault(row.addressee_number, None)
        return list(persons)

    def state_counts(self) -> dict[str, int]:
        """How many notices are in each state (a state without any is absent)."""
        rows = self.conn.execute(select(t.notices.c.state, func.count()).group_by(t.notices.c.state))
        return {state: int(count) for state, count in rows}

    def latest(self, limit: int) -> list[NoticeLine]:
        """The notices last changed (taken in, queued, sent, answered, dealt with), the latest first."""
        n = t.notices.c
        rows = self.conn.execute(
            select(n.id, n.addressee_number, n.resident_code, n.kind, n.sequence, n.state, n.updated_at)
            .order_by(n.updated_at.desc(), n.id.desc())
            .limit(limit)
        )
        return [self._line(r) for r in rows]

    @staticmethod
    def _line(r: Any) -> NoticeLine:
        at = _aware(r.updated_at) or r.updated_at
        return NoticeLine(r.id, r.addressee_number, r.resident_code, r.kind, r.sequence, r.state, at)

    # -- the CS log
    def log(self, line: LogLine) -> None:
        self.conn.execute(insert(t.log).values(at=self.now, **asdict(line)))

    def log_lines(self) -> list[LogLine]:
        return models(LogLine, self.conn.execute(select(t.log).order_by(t.log.c.id)))

    # -- the comparisons with the register (j1100)
    def keep_comparison(self, kept: KeptComparison) -> None:
        self.conn.execute(
            insert(t.comparisons).values(
                at=kept.at,
                persons=kept.persons,
                differences=kept.differences,
                staff_id=kept.staff_id,
                terminal=kept.terminal,
            )
        )

    def latest_comparison(self) -> KeptComparison | None:
        c = t.comparisons.c
        r = self.conn.execute(select(t.comparisons).order_by(c.at.desc(), c.id.desc()).limit(1)).first()
        if r is None:
            return None
        return KeptComparison(_aware(r.at) or r.at, r.persons, list(r.differences), r.staff_id, r.terminal)


def _restriction(row: Any) -> Restriction:
    return Restriction(
        row.addressee_number,
        row.measure_id,
        row.restriction,
        row.action,
        row.in_force_from,
        row.in_force_until,
        row.ends_on,
        row.provisional,
        row.position,
    )


def _conforms(store: SqlCsStore) -> CsStore:
    """mypy's proof that the adapter is the port the services use."""
    return store
