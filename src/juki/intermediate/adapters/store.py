"""The 中間サーバー's store over one connection (one transaction): plain SQL Core, both engines.

Counters take a row lock until commit (UPDATE first), which orders the writers of the unified numbers and of the
情報提供等記録's chain on PostgreSQL; SQLite has one writer at a time anyway.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import Connection, func, insert, select, update

from juki.adapters.vault import MyNumberVault
from juki.intermediate.adapters import tables as t
from juki.intermediate.domain import provision_log as plog
from juki.intermediate.ports import (
    Flag,
    Link,
    LogLine,
    PersonState,
    Protection,
    ProvisionFilter,
    QueryRow,
    ReplicaRecord,
    SerialRow,
    Unified,
)


def _utc(at: datetime) -> datetime:
    return at.replace(tzinfo=UTC) if at.tzinfo is None else at.astimezone(UTC)


def _opt_utc(at: datetime | None) -> datetime | None:
    return None if at is None else _utc(at)


class SqlImsStore:
    def __init__(self, conn: Connection, vault: MyNumberVault, now: datetime) -> None:
        self.conn, self.vault, self.now = conn, vault, now

    # -- the register's events ------------------------------------------------------------------------------------
    def seen(self, addressee_number: str, register_version: int) -> bool:
        c = t.seen_events.c
        query = select(c.position).where(
            c.addressee_number == addressee_number, c.register_version == register_version
        )
        return self.conn.execute(query).first() is not None

    def mark_seen(self, addressee_number: str, register_version: int, position: int) -> None:
        self.conn.execute(
            insert(t.seen_events).values(
                addressee_number=addressee_number, register_version=register_version, position=position,
                seen_at=self.now,
            )
        )  # fmt: skip

    def protection_taken(self, position: int, addressee_number: str) -> bool:
        c = t.protections.c
        query = select(c.id).where(c.position == position, c.addressee_number == addressee_number)
        return self.conn.execute(query).first() is not None

    def add_protection(self, protection: Protection) -> None:
        self.conn.execute(
            insert(t.protections).values(
                position=protection.position, addressee_number=protection.addressee_number,
                measure_id=protection.measure_id, restriction=protection.restriction, action=protection.action,
                in_force_from=protection.in_force_from, in_force_until=protection.in_force_until,
                recorded_at=self.now,
            )
        )  # fmt: skip

    def protections(self, addressee_number: str) -> list[Protection]:
        """The person's latest row of each measure (the measure as it stands)."""
        c = t.protections.c
        latest = select(func.max(c.id)).where(c.addressee_number == addressee_number).group_by(c.measure_id)
        rows = self.conn.execute(
            select(t.protections).where(c.id.in_(latest.scalar_subquery())).order_by(c.id)
        )
        return [
            Protection(
                r.addressee_number,
                r.measure_id,
                r.restriction,
                r.action,
                r.in_force_from,
                r.in_force_until,
                r.position,
            )
            for r in rows
        ]

    def person(self, addressee_number: str) -> PersonState | None:
        row = self.conn.execute(
            select(t.persons).where(t.persons.c.addressee_number == addressee_number)
        ).first()
        return None if row is None else _person(row)

    def put_person(self, person: PersonState) -> None:
        values = {
            "register_version": person.register_version, "household_number": person.household_number,
            "relationship": person.relationship, "name": person.name, "removed": person.removed,
            "updated_at": self.now,
        }  # fmt: skip
        c = t.persons.c
        done = self.conn.execute(
            update(t.persons).where(c.addressee_number == person.addressee_number).values(values)
        )
        if done.rowcount == 0:
            self.conn.execute(insert(t.persons).values(addressee_number=person.addressee_number, **values))

    def members(self, household_number: str) -> list[PersonState]:
        c = t.persons.c
        rows = self.conn.execute(
            select(t.persons).where(c.household_number == household_number).order_by(c.addressee_number)
        )
        return [_person(r) for r in rows]

    def householder(self, household_number: str) -> str | None:
        c = t.households.c
        return self.conn.execute(select(c.householder).where(c.household_number == household_number)).scalar()

    def put_household(self, household_number: str, householder: str | None) -> None:
        c = t.households.c
        values = {"householder": householder, "updated_at": self.now}
        done = self.conn.execute(
            update(t.households).where(c.household_number == household_number).values(values)
        )
        if done.rowcount == 0:
            self.conn.execute(insert(t.households).values(household_number=household_number, **values))

    def person_count(self) -> int:
        return int(self.conn.execute(select(func.count()).select_from(t.persons)).scalar_one())

    def persons_without_unified(self, system_id: str) -> int:
        linked = select(t.links.c.addressee_number).where(t.links.c.system_id == system_id)
        query = select(func.count()).select_from(t.persons).where(t.persons.c.addressee_number.not_in(linked))
        return int(self.conn.execute(query).scalar_one())

    # -- 団体内統合宛名 --------------------------------------------------------------------------------------------
    def seal_my_number(self, my_number: str) -> tuple[str, str]:
        """(ciphertext, blind index) under the 中間サーバー's own key file."""
        return self.vault.encrypt(my_number), self.vault.index(my_number)

    def next_sequence(self, name: str) -> int:
        c = t.counters.c
        self.conn.execute(update(t.counters).where(c.name == name).values(value=c.value + 1))
        return int(self.conn.execute(select(c.value).where(c.name == name)).scalar_one())

    def _unified(self, *where: Any) -> Unified | None:
        row = self.conn.execute(select(t.unified).where(*where)).first()
        return None if row is None else _unified(row)

    def unified_by_index(self, index: str) -> Unified | None:
        return self._unified(t.unified.c.my_number_index == index)

    def unified(self, unified_number: str) -> Unified | None:
        return self._unified(t.unified.c.unified_number == unified_number)

    def unified_by_link_code(self, link_code: str) -> Unified | None:
        return self._unified(t.unified.c.link_code == link_code)

    def add_unified(self, unified_number: str, sealed: str, index: str) -> None:
        self.conn.execute(
            insert(t.unified).values(
                unified_number=unified_number, my_number=sealed, my_number_index=index, link_code_state="waiting",
                link_code=None, created_at=self.now, updated_at=self.now,
            )
        )  # fmt: skip

    def change_my_number(self, unified_number: str, sealed: str, index: str) -> None:
        c = t.unified.c
        self.conn.execute(
            update(t.unified).where(c.unified_number == unified_number)
            .values(my_number=sealed, my_number_index=index, updated_at=self.now)
        )  # fmt: skip

    def my_number(self, unified_number: str) -> str:
        c = t.unified.c
        token = self.conn.execute(select(c.my_number).where(c.unified_number == unified_number)).scalar_one()
        return self.vault.decrypt(token)

    def set_link_code(
        self, unified_number: str, state: str, link_code: str | None = None, *, expected: str | None = None
    ) -> bool:
        """`expected`: a compare-and-set — the row lock orders two relays, and only one sees the state it expects."""
        c = t.unified.c
        change = update(t.unified).where(c.unified_number == unified_number)
        if expected is not None:
            change = change.where(c.link_code_state == expected)
        done = self.conn.execute(
            change.values(link_code_state=state, link_code=link_code, updated_at=self.now)
        )
        return done.rowcount > 0

    def link_codes_waiting_since(self, before: datetime) -> int:
        c = t.unified.c
        query = (
            select(func.count())
            .select_from(t.unified)
            .where(c.link_code_state != "issued", c.created_at < before)
        )
        return int(self.conn.execute(query).scalar_one())

    def link_code_counts(self) -> dict[str, int]:
        c = t.unified.c
        rows = self.conn.execute(select(c.link_code_state, func.count()).group_by(c.link_code_state))
        return {state: int(n) for state, n in rows}

    def waiting_for_serials(self, limit: int) -> list[Unified]:
        c = t.unified.c
        rows = self.conn.execute(
            select(t.unified).where(c.link_code_state == "waiting").order_by(c.unified_number).limit(limit)
        )
        return [_unified(r) for r in rows]

    def link(self, system_id: str, addressee_number: str) -> Link | None:
        c = t.links.c
        row = self.conn.execute(
            select(t.links).where(c.system_id == system_id, c.addressee_number == addressee_number)
        ).first()
        return (
            None
            if row is None
            else Link(row.system_id, row.addressee_number, row.unified_number, row.four_info)
        )

    def put_link(
        self, system_id: str, addressee_number: str, unified_number: str, four_info: Mapping[str, Any]
    ) -> None:
        c = t.links.c
        values = {"unified_number": unified_number, "four_info": dict(four_info), "updated_at": self.now}
        done = self.conn.execute(
            update(t.links)
            .where(c.system_id == system_id, c.addressee_number == addressee_number)
            .values(values)
        )
        if done.rowcount == 0:
            self.conn.execute(
                insert(t.links).values(
                    system_id=system_id, addressee_number=addressee_number, linked_at=self.now, **values
                )
            )

    def links_of(self, unified_number: str) -> list[Link]:
        c = t.links.c
        rows = self.conn.execute(
            select(t.links)
            .where(c.unified_number == unified_number)
            .order_by(c.system_id, c.addressee_number)
        )
        return [Link(r.system_id, r.addressee_number, r.unified_number, r.four_info) for r in rows]

    # -- 処理通番 -------------------------------------------------------------------------------------------------
    def add_serial(self, serial: str, unified_number: str) -> None:
        self.conn.execute(
            insert(t.serials).values(
                serial=serial,
                unified_number=unified_number,
                state="taken",
                attempts=0,
                taken_at=self.now,
                updated_at=self.now,
            )
        )

    def serial(self, serial: str) -> SerialRow | None:
        row = self.conn.execute(select(t.serials).where(t.serials.c.serial == serial)).first()
        return None if row is None else _serial(row)

    def set_serial(self, serial: str, state: str, attempted: bool = False) -> None:
        c = t.serials.c
        values: dict[str, Any] = {"state": state, "updated_at": self.now}
        if attempted:
            values["attempts"] = c.attempts + 1
        self.conn.execute(update(t.serials).where(c.serial == serial).values(values))

    def serials(self, unified_number: str | None = None, states: Sequence[str] = ()) -> list[SerialRow]:
        c = t.serials.c
        query = select(t.serials).order_by(c.taken_at, c.serial)
        if unified_number is not None:
            query = query.where(c.unified_number == unified_number)
        if states:
            query = query.where(c.state.in_(list(states)))
        return [_serial(r) for r in self.conn.execute(query)]

    # -- the 副本 -----------------------------------------------------------------------------------------------
    def current_replica(self, unified_number: str, info_code: str) -> ReplicaRecord | None:
        c = t.replicas.c
        row = self.conn.execute(
            select(t.replicas).where(c.unified_number == unified_number, c.info_code == info_code)
            .order_by(c.record_version.desc()).limit(1)
        ).first()  # fmt: skip
        return None if row is None else _replica(row)

    def replica(self, replica_id: int) -> ReplicaRecord | None:
        row = self.conn.execute(select(t.replicas).where(t.replicas.c.id == replica_id)).first()
        return None if row is None else _replica(row)

    def add_replica(self, unified_number: str, info_code: str, version: int, operation: str,
                    items: Mapping[str, Any], message_id: str) -> None:  # fmt: skip
        self.conn.execute(
            insert(t.replicas).values(
                unified_number=unified_number, info_code=info_code, record_version=version, operation=operation,
                items=dict(items), message_id=message_id, registered_at=self.now,
            )
        )  # fmt: skip

    def record_message(self, message_id: str, result: str, reason: str, segments: int) -> None:
        self.conn.execute(
            insert(t.replica_messages).values(
                message_id=message_id[:80], result=result, reason=reason, segments=segments, at=self.now
            )
        )

    # -- flags ----------------------------------------------------------------------------------------------------
    def add_flag(self, flag: Flag) -> None:
        self.conn.execute(
            insert(t.flags).values(
                addressee_number=flag.addressee_number,
                no_auto_reply=flag.no_auto_reply,
                reason=flag.reason,
                staff_id=flag.staff_id,
                at=flag.at,
            )
        )

    def flag(self, addressee_number: str) -> Flag | None:
        c = t.flags.c
        row = self.conn.execute(
            select(t.flags).where(c.addressee_number == addressee_number).order_by(c.id.desc()).limit(1)
        ).first()
        if row is None:
            return None
        return Flag(row.addressee_number, row.no_auto_reply, row.reason, row.staff_id, _utc(row.at))

    # -- 照会 -----------------------------------------------------------------------------------------------------
    def queries_by_id(self, query_id: str) -> list[QueryRow]:
        c = t.queries.c
        return [
            _query(r)
            for r in self.conn.execute(select(t.queries).where(c.query_id == query_id).order_by(c.id))
        ]

    def query(self, row_id: int) -> QueryRow | None:
        row = self.conn.execute(select(t.queries).where(t.queries.c.id == row_id)).first()
        return None if row is None else _query(row)

    def add_query(self, values: Mapping[str, Any]) -> int:
        done = self.conn.execute(insert(t.queries).values(dict(values)).returning(t.queries.c.id))
        return int(done.scalar_one())

    def change_query(self, row_id: int, values: Mapping[str, Any]) -> None:
        self.conn.execute(update(t.queries).where(t.queries.c.id == row_id).values(dict(values)))

    def _queries(self, where: Any, received_before: datetime | None) -> list[QueryRow]:
        c = t.queries.c
        query = select(t.queries).where(where).order_by(c.id)
        if received_before is not None:
            query = query.where(c.received_at < received_before)
        return [_query(r) for r in self.conn.execute(query)]

    def due_answers(self, received_before: datetime | None = None) -> list[QueryRow]:
        return self._queries(t.queries.c.due.is_(True), received_before)

    def review_queue(self, received_before: datetime | None = None) -> list[QueryRow]:
        return self._queries(t.queries.c.state == "pending", received_before)

    # -- 情報提供等記録 -------------------------------------------------------------------------------------------
    def append_provision(self, make: Callable[[int], plog.Fields]) -> plog.Stored:
        seq = self.next_sequence("provision_log")
        c = t.provision_log.c
        prev = self.conn.execute(select(c.hash).where(c.seq == seq - 1)).scalar() or plog.GENESIS
        fields = make(seq)
        digest = plog.chain_hash(prev, fields)
        values = {k: getattr(fields, k) for k in fields.__dataclass_fields__}
        self.conn.execute(
            insert(t.provision_log).values(
                {**values, "items": list(fields.items), "prev_hash": prev, "hash": digest}
            )
        )
        return plog.Stored(fields, prev, digest)

    def provision_entries(self, where: ProvisionFilter) -> list[plog.Stored]:
        c = t.provision_log.c
        query = select(t.provision_log).order_by(c.seq).limit(where.limit)
        if where.start is not None:
            query = query.where(c.at >= where.start)
        if where.end is not None:
            query = query.where(c.at < where.end)
        if where.requester:
            query = query.where(c.requester == where.requester)
        if where.unified_numbers is not None:
            query = query.where(c.unified_number.in_(list(where.unified_numbers)))
        if where.actions is not None:
            query = query.where(c.action.in_(list(where.actions)))
        return [_stored(r) for r in self.conn.execute(query)]

    def provision_chain(self) -> tuple[list[plog.Stored], int]:
        c = t.provision_log.c
        rows = [_stored(r) for r in self.conn.execute(select(t.provision_log).order_by(c.seq))]
        last = self.conn.execute(
            select(t.counters.c.value).where(t.counters.c.name == "provision_log")
        ).scalar_one()
        return rows, int(last)

    # -- cursor and log -------------------------------------------------------------------------------------------
    def cursor(self, name: str) -> int:
        value = self.conn.execute(select(t.cursors.c.position).where(t.cursors.c.name == name)).scalar()
        return int(value or 0)

    def set_cursor(self, name: str, position: int) -> None:
        c = t.cursors.c
        done = self.conn.execute(update(t.cursors).where(c.name == name).values(position=position))
        if done.rowcount == 0:
            self.conn.execute(insert(t.cursors).values(name=name, position=position))

    def log(self, line: LogLine) -> None:
        self.conn.execute(
            insert(t.log).values(
                at=line.at or self.now, action=line.action, result=line.result, message=line.message,
                staff_id=line.staff_id, terminal=line.terminal, addressee_number=line.addressee_number,
            )
        )  # fmt: skip

    def log_lines(self, limit: int = 200) -> list[LogLine]:
        c = t.log.c
        rows = self.conn.execute(select(t.log).order_by(c.id.desc()).limit(limit))
        return [
            LogLine(r.action, r.result, r.message, r.staff_id, r.terminal, r.addressee_number, _utc(r.at))
            for r in rows
        ][::-1]


def _person(row: Any) -> PersonState:
    return PersonState(row.addressee_number, row.register_version, row.household_number, row.relationship, row.name,
                       bool(row.removed))  # fmt: skip


def _serial(row: Any) -> SerialRow:
    return SerialRow(
        row.serial, row.unified_number, row.state, row.attempts, _utc(row.taken_at), _utc(row.updated_at)
    )


def _unified(row: Any) -> Unified:
    return Unified(row.unified_number, row.link_code_state, row.link_code, _utc(row.created_at))


def _replica(row: Any) -> ReplicaRecord:
    return ReplicaRecord(row.id, row.unified_number, row.info_code, row.record_version, row.operation, row.items,
                         row.message_id, _utc(row.registered_at))  # fmt: skip


def _query(row: Any) -> QueryRow:
    return QueryRow(
        row.id, row.query_id, row.seq, row.requester, row.legal_basis, row.procedure, row.information,
        None if row.items_asked is None else tuple(row.items_asked), row.link_code, row.unified_number, row.state,
        row.status, row.message, tuple(row.answer_items or ()), row.replica_id, bool(row.due), row.attempts,
        _utc(row.received_at), row.decided_by, _opt_utc(row.decided_at), row.review_reason,
    )  # fmt: skip


def _stored(row: Any) -> plog.Stored:
    day: date = row.retain_until
    fields = plog.Fields(
        row.seq, _utc(row.at), row.action, row.query_id, row.requester, row.legal_basis, row.procedure,
        row.information, row.link_code, row.unified_number, tuple(row.items or ()), row.status, row.message,
        row.staff_id, day,
    )  # fmt: skip
    return plog.Stored(fields, row.prev_hash, row.hash)
