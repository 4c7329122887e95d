"""Bulk import of a whole register (the demo city; later, a migration from a previous system).

A filing per person would take minutes for a city of 200,000, so the rows are written here many at a time
(executemany through SQLAlchemy Core, on SQLite and PostgreSQL alike). They are the rows the command path
writes (`repository._write_change`, `_write_outbox`): each version in `resident_versions` with its outbox row
(the event's body, docs/events.md, and its My Number sealed with the event key, so that a consumer such as the CS
takes in an imported person as it takes in one who was filed), each person's newest version as the current row in
`residents`, plus one operation-log entry for the whole import, in one transaction (or a few, if the caller asks:
see `import_register`).

My Numbers are encrypted and indexed (adapters/vault.py), and sealed for the events (adapters/event_key.py), by
`write_batch`, in the writing process: a prepared batch carries the number as `my_number` in memory only, and the
key material never goes to a worker process.

Work is split in two so that a caller may run the first half in another process:
- `prepare` turns an `ImportBatch` of domain objects into plain rows (pure CPU, picklable result);
- `import_register` writes prepared (or raw) batches.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Connection, Dialect, Engine, TypeDecorator, bindparam, insert, update

from juki.adapters import tables as t
from juki.adapters.db import dumps
from juki.adapters.event_key import EventKey
from juki.adapters.repository import next_counter, record_to_json, search_columns
from juki.adapters.uow import SqlUnitOfWork
from juki.adapters.vault import MyNumberVault
from juki.domain.events import SCHEMA_VERSION, HouseholdAfter, RecordedBy, RegisterEvent, body, event_name
from juki.domain.model import ACTIVE, Version
from juki.policy.roles import Actor
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
class PreparedBatch:
    """An `ImportBatch` as table rows; `recorded_at` and the outbox `seq` are added when it is written."""

    households: list[dict[str, Any]]
    versions: list[dict[str, Any]]
    current: list[dict[str, Any]]
    outbox: list[dict[str, Any]]
    active: int  # active residents in the batch
    last_addressee: int  # highest 宛名番号 sequence in the batch
    last_household: int


@dataclass(frozen=True)
class ImportSummary:
    households: int
    persons: int
    versions: int


def import_register(
    engine: Engine,
    batches: Iterable[ImportBatch | PreparedBatch],
    *,
    actor: Actor,
    filing_id: str,
    vault: MyNumberVault,
    settings: dict[str, str] | None = None,
    progress: Callable[[PreparedBatch], None] | None = None,
    transaction_persons: int | None = None,
    event_key: EventKey | None = None,
) -> ImportSummary:
    """Write every batch, move the number counters past the imported numbers, log once.

    `batches` may be lazy: each batch is written before the next is asked for, so a large register never sits in
    memory whole. `progress` is called after each batch is written.

    Everything goes in one transaction, unless `transaction_persons` asks for a commit after about that many
    persons: SQLite then copies its WAL into the database while the caller makes the next batches, instead of all
    at once at the end. The counters, the `settings` rows and the log entry are written in the last transaction,
    so a register that an interrupted import left half-written does not carry them (no `register_kind`, say).

    `event_key` seals each event's My Number as the unit of work does; without it the events carry none, and a
    consumer that needs the number (the CS) logs it as unavailable.
    """
    totals = _Totals()
    rows = iter(batches)
    more = True
    while more:
        with SqlUnitOfWork(engine, vault) as uow, _large_page_cache(uow.conn):
            more = _write_some(uow, rows, totals, transaction_persons, filing_id, actor, progress, event_key)
            if not more:
                _finish(uow, totals, actor, filing_id, settings or {})
            uow.commit()
    return ImportSummary(totals.households, totals.persons, totals.versions)


@dataclass
class _Totals:
    households: int = 0
    persons: int = 0
    versions: int = 0
    last_addressee: int = 0
    last_household: int = 0

    def add(self, batch: PreparedBatch) -> None:
        self.households += len(batch.households)
        self.persons += len(batch.current)
        self.versions += len(batch.versions)
        self.last_addressee = max(self.last_addressee, batch.last_addressee)
        self.last_household = max(self.last_household, batch.last_household)


def _write_some(
    uow: SqlUnitOfWork,
    rows: Iterator[ImportBatch | PreparedBatch],
    totals: _Totals,
    limit: int | None,
    filing_id: str,
    actor: Actor,
    progress: Callable[[PreparedBatch], None] | None,
    event_key: EventKey | None,
) -> bool:
    """Write batches until `limit` persons are in this transaction; True if more batches may follow."""
    persons = 0
    for batch in rows:
        prepared = (
            batch
            if isinstance(batch, PreparedBatch)
            else prepare(batch, filing_id, actor.staff_id, actor.terminal)
        )
        write_batch(uow.conn, prepared, uow.now, uow.vault, event_key)
        totals.add(prepared)
        persons += len(prepared.current)
        if progress is not None:
            progress(prepared)
        if limit is not None and persons >= limit:
            return True
    return False


def _finish(
    uow: SqlUnitOfWork, totals: _Totals, actor: Actor, filing_id: str, settings: dict[str, str]
) -> None:
    raise_counter(uow.conn, "addressee", totals.last_addressee)
    raise_counter(uow.conn, "household", totals.last_household)
    for key, value in settings.items():
        uow.staff.put_setting(key, value)
    detail = (
        f"{filing_id}: {totals.households} households, {totals.persons} persons, {totals.versions} versions"
    )
    uow.log(actor, LogEntry("register:import", detail=detail))


def write_batch(
    conn: Connection,
    batch: PreparedBatch,
    now: datetime,
    vault: MyNumberVault,
    event_key: EventKey | None = None,
) -> None:
    """Insert one batch: households first, then versions, the current rows and the outbox (foreign-key order)."""
    if getattr(conn.dialect, "_json_serializer", None) is not dumps:
        raise RuntimeError("bulk import assumes the engine's JSON serializer is adapters.db.dumps")
    if batch.households:
        conn.execute(insert(t.households), batch.households)
    if not batch.versions:
        return
    _seal_my_numbers(batch, vault)
    serialized = {"record": bindparam("record_json", type_=_SerializedJSON())}
    conn.execute(insert(t.resident_versions).values({**serialized, "recorded_at": now}), batch.versions)
    conn.execute(insert(t.residents).values(serialized), batch.current)
    last = next_counter(conn, "outbox", len(batch.outbox))  # a block of sequence numbers, as _write_outbox
    first = last - len(batch.outbox) + 1
    for i, row in enumerate(batch.outbox):  # numbered and sealed in place: a prepared batch is written once
        row["seq"] = first + i
        number = row.pop("my_number", None)
        row["my_number_sealed"] = (
            event_key.seal_for(number, row["addressee_number"], row["version"])
            if number is not None and event_key is not None
            else None
        )
    conn.execute(insert(t.outbox).values(recorded_at=now), batch.outbox)


def _seal_my_numbers(batch: PreparedBatch, vault: MyNumberVault) -> None:
    """Replace each row's plain `my_number` by its token and index, as repository.my_number_columns does.

    A person's versions and current row share one token (the same number under the same key): one encryption
    per person instead of one per row. The rows are changed in place: a prepared batch is written once.
    """
    sealed: dict[str, tuple[str | None, str | None]] = {}
    for row in (*batch.versions, *batch.current):
        number = row.pop("my_number", None)
        if number is None:
            row["my_number_ciphertext"] = row["my_number_index"] = None
            continue
        pair = sealed.get(number)
        if pair is None:
            pair = sealed[number] = vault.seal(number)
        row["my_number_ciphertext"], row["my_number_index"] = pair


# SQLite's page cache for the importing connection, in KiB. With the default 2 MB, index pages (10 indexes on
# `residents`) are spilled to the WAL and read back over and over; with 256 MB a 200,000-person import spends
# about a fifth less time writing. SQLite takes the memory only as pages are used, and gives it back afterwards.
SQLITE_IMPORT_CACHE_KIB = 256 * 1024


@contextmanager
def _large_page_cache(conn: Connection) -> Iterator[None]:
    if conn.dialect.name != "sqlite":
        yield
        return
    # Through the driver's own connection: the PRAGMAs must run even after a failed statement.
    raw = conn.connection.dbapi_connection
    assert raw is not None
    previous = raw.execute("PRAGMA cache_size").fetchone()[0]
    raw.execute(f"PRAGMA cache_size = -{SQLITE_IMPORT_CACHE_KIB}")
    try:
        yield
    finally:
        raw.execute(f"PRAGMA cache_size = {int(previous)}")


def raise_counter(conn: Connection, name: str, value: int) -> None:
    """Move a counter to at least `value`, so numbers taken by later filings continue after the imported ones."""
    c = t.counters.c
    conn.execute(update(t.counters).where(c.name == name, c.value < value).values(value=value))


# --- preparing rows ---------------------------------------------------------------------------------------------


def prepare(batch: ImportBatch, filing_id: str, staff_id: str, terminal: str = "server") -> PreparedBatch:
    """The rows of one batch, with the same columns and values as repository._write_change writes.

    The snapshot is serialized here (`record_json`), once for the version and the current row, as the engine's
    JSON type would serialize it; `write_batch` binds the text as it is.
    """
    versions: list[dict[str, Any]] = []
    newest: dict[str, dict[str, Any]] = {}
    outbox: list[dict[str, Any]] = []
    households = {h.household_number: h for h in batch.households}
    by = RecordedBy(staff_id, terminal)
    for v in batch.versions:
        r = v.record
        record_json, cols = dumps(record_to_json(r)), search_columns(r)
        versions.append(
            {
                "addressee_number": r.addressee_number,
                "version": v.version,
                "household_number": r.household_number,
                "change_reason": v.change_reason,
                "changed_on": v.changed_on,
                "filed_on": v.filed_on,
                "filing_id": filing_id,
                "staff_id": staff_id,
                "my_number": r.my_number,
                "record_json": record_json,
                **cols,
            }
        )
        if r.addressee_number not in newest or v.version > newest[r.addressee_number]["version"]:
            newest[r.addressee_number] = _current_row(v, record_json, cols)
        outbox.append(_outbox_row(v, households.get(r.household_number), filing_id, by))
    return PreparedBatch(
        households=[dataclasses.asdict(h) | {"version": 1} for h in batch.households],
        versions=versions,
        current=list(newest.values()),
        outbox=outbox,
        active=sum(h.member_count for h in batch.households),
        last_addressee=max((_seq(n) for n in newest), default=0),
        last_household=max((_seq(h.household_number) for h in batch.households), default=0),
    )


def _outbox_row(v: Version, household: HouseholdRow | None, filing_id: str, by: RecordedBy) -> dict[str, Any]:
    """The event of one imported version, as repository._write_outbox writes a filed one (its My Number still
    plain, in memory only: `write_batch` seals it). Each version is an event of its own; its household is the one
    the import writes (its state after the import: the register keeps no earlier one)."""
    r = v.record
    event = RegisterEvent(
        event_name(v.change_reason),
        v.change_reason,
        v.changed_on,
        v.filed_on,
        r,
        v.version,
        _household_after(r.household_number, r.address.address, household),
        r.household_number if v.version > 1 else None,
        (r.addressee_number,),
    )
    return {
        "event": event.name,
        "addressee_number": r.addressee_number,
        "version": v.version,
        "household_number": r.household_number,
        "change_reason": v.change_reason,
        "changed_on": v.changed_on,
        "filing_id": filing_id,
        "schema_version": SCHEMA_VERSION,
        "filed_on": v.filed_on,
        "payload": body(event, filing_id, by),
        "my_number": r.my_number,
    }


def _household_after(number: str, address: str, row: HouseholdRow | None) -> HouseholdAfter:
    if row is None:
        return HouseholdAfter(number, address, None, 0)
    return HouseholdAfter(number, row.address, row.householder, row.member_count)


def _current_row(v: Version, record_json: str, cols: dict[str, Any]) -> dict[str, Any]:
    r = v.record
    return {
        "addressee_number": r.addressee_number,
        "version": v.version,
        "status": r.status,
        "household_number": r.household_number,
        "position": r.position,
        "relationship": r.relationship,
        "birth_date": r.birth_date,
        "sex": r.sex,
        "resident_code": r.resident_code,
        "my_number": r.my_number,
        "residence_card_number": r.foreign.residence_card_number if r.foreign else None,
        "last_changed_on": v.changed_on,
        "record_json": record_json,
        **cols,
    }


def _seq(number: str) -> int:
    """The sequence inside a 宛名番号 or 世帯番号 (the check digit is the last character)."""
    return int(number[:-1])


class _SerializedJSON(TypeDecorator[str]):
    """A JSON column's value already serialized with adapters.db.dumps, as the engine's JSON type does it.

    Binding the text as it is keeps the stored value identical to the command path's and spares serializing the
    same snapshot twice (version and current row) in the writing process. On PostgreSQL the statement still
    casts the parameter (`%(record_json)s::JSON`), as for the JSON type itself.
    """

    impl = JSON
    cache_ok = True

    def bind_processor(self, dialect: Dialect) -> None:
        return None
