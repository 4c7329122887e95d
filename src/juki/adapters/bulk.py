"""Bulk import of a whole register (the demo city; later, a migration from a previous system).

A filing per person would take minutes for a city of 200,000, so the rows are written here many at a time
(executemany through SQLAlchemy Core, on SQLite and PostgreSQL alike). They are the same rows the command path
writes: each version in `resident_versions` with its outbox row, each person's last version as the current row in
`residents` (built with `repository.record_to_json` and `repository.search_columns`), one operation-log entry
for the whole import, all in one transaction, so an import is either all there or not there at all.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Engine, func, insert, select, update

from juki.adapters import tables as t
from juki.adapters.repository import next_counter, record_to_json, search_columns
from juki.adapters.uow import SqlUnitOfWork
from juki.domain.model import ACTIVE, REMOVED, Version
from juki.policy.roles import PROCEDURE_REGISTER, Actor
from juki.services.audit import LogEntry


@dataclass(frozen=True)
class HouseholdRow:
    household_number: str
    address: str  # the address without 方書, as the command path stores it
    householder: str | None  # addressee number of the 世帯主; None once nobody lives in the household
    member_count: int  # active members
    status: str = ACTIVE


@dataclass(frozen=True)
class ImportBatch:
    """Households and versions written together. All versions of a person must be in the same batch."""

    households: Sequence[HouseholdRow]
    versions: Sequence[Version]


@dataclass(frozen=True)
class ImportSummary:
    households: int
    persons: int
    versions: int


@dataclass(frozen=True)
class RegisterFacts:
    """What an importer checks before it writes: is the register empty, what kind is it, which usernames exist."""

    residents: int
    kind: str | None  # settings.register_kind: "demo", "production" or not set
    usernames: frozenset[str]


REGISTER_KIND = "register_kind"


def register_facts(engine: Engine) -> RegisterFacts:
    with engine.connect() as conn:
        residents = conn.execute(select(func.count()).select_from(t.residents)).scalar_one()
        kind = conn.execute(select(t.settings.c.value).where(t.settings.c.key == REGISTER_KIND)).scalar()
        usernames = frozenset(conn.execute(select(t.staff.c.username)).scalars())
    return RegisterFacts(int(residents), kind, usernames)


def import_register(engine: Engine, batches: Iterable[ImportBatch], *, actor: Actor, filing_id: str,
                    settings: dict[str, str] | None = None,
                    progress: Callable[[ImportBatch], None] | None = None) -> ImportSummary:
    """Write every batch, move the number counters past the imported numbers, log once, commit once."""
    households = persons = versions = 0
    top = {"addressee": 0, "household": 0}
    with SqlUnitOfWork(engine) as uow:
        for batch in batches:
            import_records(uow.conn, batch, filing_id=filing_id, staff_id=actor.staff_id, now=uow.now)
            households += len(batch.households)
            persons += len({v.record.addressee_number for v in batch.versions})
            versions += len(batch.versions)
            top["household"] = max([top["household"], *(_seq(h.household_number) for h in batch.households)])
            top["addressee"] = max([top["addressee"], *(_seq(v.record.addressee_number) for v in batch.versions)])
            if progress is not None:
                progress(batch)
        for name, value in top.items():
            raise_counter(uow.conn, name, value)
        for key, value in (settings or {}).items():
            put_setting(uow.conn, key, value)
        detail = f"{filing_id}: {households} households, {persons} persons, {versions} versions"
        uow.log(actor, LogEntry("register:import", PROCEDURE_REGISTER, detail=detail))
        uow.commit()
    return ImportSummary(households, persons, versions)


def import_records(conn: Connection, batch: ImportBatch, *, filing_id: str, staff_id: str, now: datetime) -> None:
    """Insert one batch: households first, then versions, the current rows and the outbox (foreign-key order)."""
    if batch.households:
        conn.execute(insert(t.households), [_household_row(h) for h in batch.households])
    if not batch.versions:
        return
    snapshots = [record_to_json(v.record) for v in batch.versions]
    columns = [search_columns(v.record) for v in batch.versions]
    conn.execute(insert(t.resident_versions), [
        _version_row(v, snap, cols, filing_id, staff_id, now)
        for v, snap, cols in zip(batch.versions, snapshots, columns, strict=True)])
    conn.execute(insert(t.residents), _current_rows(batch.versions, snapshots, columns))
    conn.execute(insert(t.outbox), _outbox_rows(conn, batch.versions, filing_id, now))


def _household_row(h: HouseholdRow) -> dict[str, Any]:
    return {"household_number": h.household_number, "version": 1, "status": h.status, "address": h.address,
            "householder": h.householder, "member_count": h.member_count}


def _version_row(v: Version, snapshot: dict[str, Any], cols: dict[str, Any], filing_id: str, staff_id: str,
                 now: datetime) -> dict[str, Any]:
    r = v.record
    return {"addressee_number": r.addressee_number, "version": v.version, "household_number": r.household_number,
            "change_reason": v.change_reason, "changed_on": v.changed_on, "filed_on": v.filed_on,
            "recorded_at": now, "filing_id": filing_id, "staff_id": staff_id, "my_number": r.my_number,
            "record": snapshot, **cols}


def _current_rows(versions: Sequence[Version], snapshots: list[dict[str, Any]],
                  columns: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Each person's newest version becomes the current row (the same columns as repository._write_change)."""
    latest: dict[str, int] = {}
    for i, v in enumerate(versions):
        key = v.record.addressee_number
        if key not in latest or v.version > versions[latest[key]].version:
            latest[key] = i
    rows = []
    for i in latest.values():
        v, r = versions[i], versions[i].record
        rows.append({
            "addressee_number": r.addressee_number, "version": v.version, "status": r.status,
            "household_number": r.household_number, "position": r.position, "relationship": r.relationship,
            "birth_date": r.birth_date, "sex": r.sex, "resident_code": r.resident_code, "my_number": r.my_number,
            "residence_card_number": r.foreign.residence_card_number if r.foreign else None,
            "last_changed_on": v.changed_on, "record": snapshots[i], **columns[i]})
    return rows


def _outbox_rows(conn: Connection, versions: Sequence[Version], filing_id: str, now: datetime) -> list[dict[str, Any]]:
    """One outbox row per version, numbered from a block of the outbox counter (as repository._write_outbox)."""
    last = next_counter(conn, "outbox", len(versions))
    first = last - len(versions) + 1
    return [{"seq": first + i, "event": "ResidentRemoved" if v.record.status == REMOVED else "ResidentChanged",
             "addressee_number": v.record.addressee_number, "version": v.version,
             "household_number": v.record.household_number, "change_reason": v.change_reason,
             "changed_on": v.changed_on, "filing_id": filing_id, "recorded_at": now}
            for i, v in enumerate(versions)]


def _seq(number: str) -> int:
    """The sequence inside a 宛名番号 or 世帯番号 (the check digit is the last character)."""
    return int(number[:-1])


def raise_counter(conn: Connection, name: str, value: int) -> None:
    """Move a counter to at least `value`, so numbers taken by later filings continue after the imported ones."""
    c = t.counters.c
    conn.execute(update(t.counters).where(c.name == name, c.value < value).values(value=value))


def put_setting(conn: Connection, key: str, value: str) -> None:
    done = conn.execute(update(t.settings).where(t.settings.c.key == key).values(value=value))
    if done.rowcount == 0:
        conn.execute(insert(t.settings).values(key=key, value=value))
