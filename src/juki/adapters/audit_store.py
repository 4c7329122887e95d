"""The operation log's read side for the auditor (標準仕様書 j1370), and the relations a look-up
is checked against.

Every query filters the period in SQL (`at` is indexed) and hands rows back in log order, as the typed rows of
services/read_models.py; the service classifies them. Long results are streamed (`yield_per`), never loaded
whole. Times are UTC on both engines.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, Connection, Select, String, Text, and_, case, cast, func, or_, select
from sqlalchemy.dialects.postgresql import JSONB

from juki.adapters import tables as t
from juki.adapters.rows import AnyRow
from juki.services.audit import utc
from juki.services.ports import AuditStore
from juki.services.read_models import LogRecord, SignInTally

_LOG = t.operation_log
_ENTRY_COLUMNS = [c for c in _LOG.c if c.name not in ("prev_hash", "hash")]
Condition = ColumnElement[bool]


def names_person(conn: Connection, addressee_number: str) -> ColumnElement[bool]:
    """An operation-log entry whose targets name the person: JSONB containment on PostgreSQL (its GIN index on
    `targets`), the quoted number in the JSON text on SQLite (a 宛名番号 never holds a quote)."""
    targets = t.operation_log.c.targets
    if conn.dialect.name == "postgresql":
        return cast(targets, JSONB).contains([addressee_number])
    return cast(targets, Text).like(f'%"{addressee_number}"%')


def _record(row: AnyRow) -> LogRecord:
    return LogRecord(
        seq=row.seq,
        at=utc(row.at),
        staff_id=row.staff_id,
        staff_name=row.staff_name,
        role=row.role,
        terminal=row.terminal,
        procedure=row.procedure,
        action=row.action,
        targets=tuple(row.targets or ()),
        my_number_shown=bool(row.my_number_shown),
        result=row.result,
        detail=row.detail,
        facts=row.facts or None,
    )


def _utc_or_none(at: datetime | None) -> datetime | None:
    return None if at is None else utc(at)


def _tally(row: AnyRow, by_terminal: bool) -> SignInTally:
    return SignInTally(
        staff_id=row.staff_id,
        terminal=row.terminal if by_terminal else None,
        staff_name=row.staff_name,
        role=row.role,
        ok=int(row.ok),
        failed=int(row.failed),
        rate_limited=int(row.rate_limited),
        attempts=int(row.attempts),
        terminals=int(row.terminals),
        first_ok_at=_utc_or_none(row.first_ok_at),
        last_ok_at=_utc_or_none(row.last_ok_at),
        first_failed_at=_utc_or_none(row.first_failed_at),
        last_failed_at=_utc_or_none(row.last_failed_at),
    )


def _period(start: datetime | None, end: datetime | None) -> list[Condition]:
    conds: list[Condition] = []
    if start is not None:
        conds.append(_LOG.c.at >= start)
    if end is not None:
        conds.append(_LOG.c.at < end)
    return conds


def _actions(actions: Sequence[str] = (), prefixes: Sequence[str] = ()) -> list[Condition]:
    if not actions and not prefixes:
        return []
    either: list[Condition] = [_LOG.c.action.in_(list(actions))] if actions else []
    either += [_LOG.c.action.startswith(p, autoescape=True) for p in prefixes]
    return [or_(*either)]


# --- relations: "this staff member had business with this person at this time" ---------------------------------
# Each relation yields (staff_id, addressee_number, at) for the period; the unrelated-look-up report treats a view
# as related when any relation names the same staff and person near the view's date. Another relation (a data-
# subject request, a certificate issued) is one more function in RELATIONS.

Relation = Callable[[Connection, datetime, datetime], Iterable[tuple[str, str, datetime]]]


def _filing_changes(conn: Connection, start: datetime, end: datetime) -> Iterator[tuple[str, str, datetime]]:
    """A filing that changed the person, entered (staff_id) or approved (approved_by) by the staff member."""
    f, rv = t.filings.c, t.resident_versions.c
    joined = t.filings.join(t.resident_versions, rv.filing_id == f.filing_id)
    entered = select(f.staff_id, rv.addressee_number, f.recorded_at).select_from(joined)
    entered = entered.where(f.recorded_at >= start, f.recorded_at < end)
    approved = select(f.approved_by, rv.addressee_number, f.decided_at).select_from(joined)
    approved = approved.where(f.approved_by.is_not(None), f.decided_at >= start, f.decided_at < end)
    for query in (entered, approved):
        for staff_id, number, at in conn.execute(query.execution_options(yield_per=5000)):
            yield staff_id, number, utc(at)


def _filing_subjects(conn: Connection, start: datetime, end: datetime) -> Iterator[tuple[str, str, datetime]]:
    """A filing whose entry names the person (an ex officio change waiting for, or sent back from, 決裁 has no
    changed versions yet): the staff member who entered it, and the one who decided it."""
    f = t.filings.c
    query = select(f.staff_id, f.recorded_at, f.approved_by, f.decided_at, f.payload).where(
        or_(
            and_(f.recorded_at >= start, f.recorded_at < end),
            and_(f.decided_at >= start, f.decided_at < end),
        )
    )
    for row in conn.execute(query.execution_options(yield_per=2000)):
        payload = row.payload if isinstance(row.payload, dict) else {}
        numbers = list(payload.get("addressee_numbers") or [])
        if payload.get("addressee_number"):
            numbers.append(payload["addressee_number"])
        for number in numbers:
            if not isinstance(number, str):
                continue
            yield row.staff_id, number, utc(row.recorded_at)
            if row.approved_by and row.decided_at is not None:
                yield row.approved_by, number, utc(row.decided_at)


def _subject_requests(
    conn: Connection, start: datetime, end: datetime
) -> Iterator[tuple[str, str, datetime]]:
    """A data-subject request about the person: whoever recorded, extended, decided or answered it."""
    c = t.subject_requests.c
    for who, when in (
        (c.created_by, c.created_at),
        (c.extended_by, c.extended_at),
        (c.decided_by, c.decided_at),
        (c.answered_by, c.answered_at),
    ):
        query = select(who, c.addressee_number, when).where(who.is_not(None), when >= start, when < end)
        for staff_id, number, at in conn.execute(query):
            yield staff_id, number, utc(at)


RELATIONS: tuple[Relation, ...] = (_filing_changes, _filing_subjects, _subject_requests)


class SqlAuditStore(AuditStore):
    def __init__(self, conn: Connection) -> None:
        self.conn = conn

    def entries(
        self,
        *,
        start: datetime | None = None,
        end: datetime | None = None,
        staff_id: str | None = None,
        action: str | None = None,
        action_prefix: str | None = None,
        target: str | None = None,
        result: str | None = None,
        terminal: str | None = None,
        my_number_shown: bool | None = None,
        after: int = 0,
        limit: int = 100,
    ) -> list[LogRecord]:
        """One page of log entries in log order, after seq `after`."""
        conds = [*_period(start, end), _LOG.c.seq > after]
        conds += _actions([action] if action else (), [action_prefix] if action_prefix else ())
        if staff_id is not None:
            conds.append(_LOG.c.staff_id == staff_id)
        if target is not None:  # an addressee number (digits only) as a JSON string in the list
            conds.append(cast(_LOG.c.targets, String).like(f'%"{target}"%'))
        if result is not None:
            conds.append(_LOG.c.result == result)
        if terminal is not None:
            conds.append(_LOG.c.terminal == terminal)
        if my_number_shown is not None:
            conds.append(_LOG.c.my_number_shown.is_(my_number_shown))
        query = select(*_ENTRY_COLUMNS).where(*conds).order_by(_LOG.c.seq).limit(limit)
        return [_record(row) for row in self.conn.execute(query)]

    def stream(
        self,
        start: datetime,
        end: datetime,
        *,
        staff_id: str | None = None,
        actions: Sequence[str] = (),
        prefixes: Sequence[str] = (),
        results: Sequence[str] = (),
        facts_mention: Sequence[str] = (),
        by_staff: bool = False,
    ) -> Iterator[LogRecord]:
        """Entries of the period (optionally of some actions, results), in log order — or grouped by staff member
        and in time order within each (`by_staff`).

        `facts_mention` keeps the entries whose facts hold one of these strings (a key, or a string in a value),
        and those without facts, for the caller to judge (an entry written before facts, or a refusal, has none).
        """
        conds = [*_period(start, end), *_actions(actions, prefixes)]
        if staff_id is not None:
            conds.append(_LOG.c.staff_id == staff_id)
        if results:
            conds.append(_LOG.c.result.in_(list(results)))
        if facts_mention:
            as_text = cast(_LOG.c.facts, String)  # the facts' JSON: a string in it is quoted
            mentions = [as_text.contains(f'"{s}"', autoescape=True) for s in facts_mention]
            # None is SQL NULL as the log writes it, JSON null as a backup's restore (adapters/backup.py) inserts it.
            conds.append(or_(_LOG.c.facts.is_(None), as_text == "null", *mentions))
        order = (_LOG.c.staff_id, _LOG.c.at, _LOG.c.seq) if by_staff else (_LOG.c.seq,)
        query: Select[Any] = select(*_ENTRY_COLUMNS).where(*conds).order_by(*order)
        with self.conn.execute(query.execution_options(yield_per=5000)) as result:
            for row in result:
                yield _record(row)

    def sign_ins(
        self, start: datetime, end: datetime, staff_id: str | None = None, by_terminal: bool = False
    ) -> list[SignInTally]:
        """Sign-in attempts (`auth:login`) of the period per account (and terminal): counts by result, first and
        last time. The account is the staff id logged, or the masked name typed for an unknown account."""
        c = _LOG.c

        def count(*results: str) -> ColumnElement[int]:
            return func.sum(case((c.result.in_(results), 1), else_=0))

        keys = [c.staff_id, c.terminal] if by_terminal else [c.staff_id]
        conds = [*_period(start, end), c.action == "auth:login"]
        if staff_id is not None:
            conds.append(c.staff_id == staff_id)
        query = (
            select(
                *keys,
                func.max(c.staff_name).label("staff_name"),
                func.max(c.role).label("role"),
                count("ok").label("ok"),
                count("failed").label("failed"),
                count("rate_limited").label("rate_limited"),
                func.count().label("attempts"),
                func.count(c.terminal.distinct()).label("terminals"),
                func.min(c.at).label("first_at"),
                func.max(c.at).label("last_at"),
                func.min(case((c.result == "ok", c.at))).label("first_ok_at"),
                func.max(case((c.result == "ok", c.at))).label("last_ok_at"),
                func.min(case((c.result != "ok", c.at))).label("first_failed_at"),
                func.max(case((c.result != "ok", c.at))).label("last_failed_at"),
            )
            .where(*conds)
            .group_by(*keys)
            .order_by(*keys)
        )
        return [_tally(row, by_terminal) for row in self.conn.execute(query)]

    def relations(self, start: datetime, end: datetime) -> Iterator[tuple[str, str, datetime]]:
        """(staff_id, addressee_number, at UTC) from every relation in RELATIONS, within the period."""
        for relation in RELATIONS:
            yield from relation(self.conn, start, end)
