"""The register's read side: look-ups, history, searches and lists, as plain rows."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, and_, func, or_, select

from juki.adapters import tables as t
from juki.adapters.repository import read_outbox
from juki.policy.search import NameTerm, SearchQuery

r = t.residents.c


def _name_match(term: NameTerm, name_col: Any, key_col: Any) -> Any:
    return key_col == term.text if term.is_kana else name_col == term.text


class SqlQueries:
    def __init__(self, conn: Connection) -> None:
        self.conn = conn

    def resident(self, addressee_number: str) -> Any:
        return self.conn.execute(select(t.residents).where(r.addressee_number == addressee_number)).first()

    def history(self, addressee_number: str) -> list[Any]:
        v = t.resident_versions.c
        return list(
            self.conn.execute(
                select(t.resident_versions).where(v.addressee_number == addressee_number).order_by(v.version)
            ).all()
        )

    def household(self, household_number: str) -> Any:
        return self.conn.execute(
            select(t.households).where(t.households.c.household_number == household_number)
        ).first()

    def members(self, household_number: str, active_only: bool = True) -> list[Any]:
        q = select(t.residents).where(r.household_number == household_number)
        if active_only:
            q = q.where(r.status == "active")
        return list(self.conn.execute(q.order_by(r.position)).all())

    def search(self, q: SearchQuery) -> list[Any]:
        conditions: list[Any] = []
        if q.resident_code:
            conditions.append(r.resident_code == q.resident_code)
        if q.my_number:
            conditions.append(r.my_number == q.my_number)
        if q.family:
            conditions.append(_name_match(q.family, r.family_name, r.family_kana_key))
        if q.given:
            conditions.append(_name_match(q.given, r.given_name, r.given_kana_key))
        if q.either:
            term = q.either
            name, key = (
                (r.family_kana_key, r.given_kana_key) if term.is_kana else (r.family_name, r.given_name)
            )
            conditions.append(or_(name == term.text, key == term.text, (name + key) == term.text))
        if q.birth_date:
            conditions.append(r.birth_date == q.birth_date)
        if q.address:
            conditions.append(r.address.contains(q.address, autoescape=True))
        if q.sex:
            conditions.append(r.sex == q.sex)
        stmt = (
            select(t.residents).where(and_(*conditions)).order_by(r.status, r.birth_date, r.addressee_number)
        )
        return list(self.conn.execute(stmt.limit(q.limit + 1)).all())

    def filing(self, filing_id: str) -> Any:
        return self.conn.execute(select(t.filings).where(t.filings.c.filing_id == filing_id)).first()

    def filings(
        self, *, late: bool | None = None, approval_state: str | None = None, limit: int = 200
    ) -> list[Any]:
        f = t.filings.c
        q = select(t.filings)
        if late is not None:
            q = q.where(f.late == late)
        if approval_state:
            q = q.where(f.approval_state == approval_state)
        return list(self.conn.execute(q.order_by(f.recorded_at.desc()).limit(limit)).all())

    def filing_changes(self, filing_id: str) -> list[Any]:
        v = t.resident_versions.c
        return list(
            self.conn.execute(
                select(v.addressee_number, v.version, v.change_reason)
                .where(v.filing_id == filing_id)
                .order_by(v.recorded_at, v.addressee_number)
            ).all()
        )

    def counts(self) -> dict[str, int]:
        total = self.conn.execute(select(r.status, func.count()).group_by(r.status)).all()
        households = self.conn.execute(
            select(func.count()).select_from(t.households).where(t.households.c.status == "active")
        ).scalar_one()
        return {**{row[0]: row[1] for row in total}, "households": households}

    def outbox(self, after: int, limit: int) -> list[Any]:
        return read_outbox(self.conn, after, limit)

    def cursor(self, subscriber: str) -> int:
        value = self.conn.execute(
            select(t.subscriber_cursors.c.position).where(t.subscriber_cursors.c.subscriber == subscriber)
        ).scalar()
        return int(value or 0)

    def operation_log(self) -> Any:
        return self.conn.execute(select(t.operation_log).order_by(t.operation_log.c.seq)).yield_per(5000)

    def counter(self, name: str) -> int:
        return int(
            self.conn.execute(select(t.counters.c.value).where(t.counters.c.name == name)).scalar_one()
        )
