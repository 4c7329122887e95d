"""The register's read side: look-ups, history, searches and lists, as plain rows.

Rows of `residents` and `resident_versions` come wrapped (`SealedRow`): `row.my_number` decrypts the stored token
when a service reads it, so a list that never shows the number never decrypts it.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, and_, func, or_, select

from juki.adapters import tables as t
from juki.adapters.repository import read_outbox
from juki.adapters.vault import MyNumberVault
from juki.policy.search import NameTerm, SearchQuery

r = t.residents.c


def _name_match(term: NameTerm, name_col: Any, key_col: Any) -> Any:
    return key_col == term.text if term.is_kana else name_col == term.text


class SealedRow:
    """A row whose `my_number` is the decrypted `my_number_ciphertext`; every other attribute is the row's."""

    __slots__ = ("_row", "_vault")

    def __init__(self, row: Any, vault: MyNumberVault) -> None:
        self._row = row
        self._vault = vault

    @property
    def my_number(self) -> str | None:
        return self._vault.open(self._row.my_number_ciphertext)

    @property
    def has_my_number(self) -> bool:  # without decrypting
        return self._row.my_number_ciphertext is not None

    def __getattr__(self, name: str) -> Any:
        return getattr(self._row, name)


class FilingRow:
    """A filing whose `secret_payload` (one vault token in storage) reads as the JSON it was made from."""

    __slots__ = ("_row", "_vault")

    def __init__(self, row: Any, vault: MyNumberVault) -> None:
        self._row = row
        self._vault = vault

    @property
    def secret_payload(self) -> Any:
        return open_secrets(self._vault, self._row.secret_payload)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._row, name)


def seal_secrets(vault: MyNumberVault, secrets: Any) -> str | None:
    return None if secrets is None else vault.encrypt_json(secrets)


def open_secrets(vault: MyNumberVault, stored: Any) -> Any:
    return None if stored is None else vault.decrypt_json(stored)


class SqlQueries:
    def __init__(self, conn: Connection, vault: MyNumberVault) -> None:
        self.conn = conn
        self.vault = vault

    def _wrap(self, rows: Any) -> list[Any]:
        return [SealedRow(row, self.vault) for row in rows]

    def resident(self, addressee_number: str) -> Any:
        row = self.conn.execute(select(t.residents).where(r.addressee_number == addressee_number)).first()
        return SealedRow(row, self.vault) if row is not None else None

    def history(self, addressee_number: str) -> list[Any]:
        v = t.resident_versions.c
        return self._wrap(
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
        return self._wrap(self.conn.execute(q.order_by(r.position)).all())

    def search(self, q: SearchQuery) -> list[Any]:
        conditions: list[Any] = []
        if q.resident_code:
            conditions.append(r.resident_code == q.resident_code)
        if q.my_number:
            conditions.append(r.my_number_index == self.vault.index(q.my_number))
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
        return self._wrap(self.conn.execute(stmt.limit(q.limit + 1)).all())

    def filing(self, filing_id: str) -> Any:
        row = self.conn.execute(select(t.filings).where(t.filings.c.filing_id == filing_id)).first()
        return FilingRow(row, self.vault) if row is not None else None

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

    def active_addressee_numbers(self, limit: int = 10_000) -> list[str]:
        q = select(r.addressee_number).where(r.status == "active").order_by(r.addressee_number).limit(limit)
        return list(self.conn.execute(q).scalars())

    def counts(self) -> dict[str, int]:
        total = self.conn.execute(select(r.status, func.count()).group_by(r.status)).all()
        households = self.conn.execute(
            select(func.count()).select_from(t.households).where(t.households.c.status == "active")
        ).scalar_one()
        return {**{row[0]: row[1] for row in total}, "households": households}

    def outbox(self, after: int, limit: int) -> list[Any]:
        return self._wrap(read_outbox(self.conn, after, limit))

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
