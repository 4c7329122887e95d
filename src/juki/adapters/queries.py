"""The register's read side: look-ups, history, searches and lists, as the services' read models.

A person's rows and versions are read models (StoredResident, StoredVersion) whose `my_number` decrypts the stored
token when a service reads it, so a list that never shows the number never decrypts it; the outbox's rows come
wrapped (`SealedRow`) to the same end.
"""

from __future__ import annotations

from collections.abc import Iterable
from functools import partial
from typing import Any

from sqlalchemy import Connection, and_, case, exists, func, literal, or_, select

from juki.adapters import tables as t
from juki.adapters.repository import read_outbox
from juki.adapters.rows import AnyRow, model, model_or_none, models
from juki.adapters.vault import MyNumberVault
from juki.policy.search import EXACT, PARTIAL, PREFIX, NameTerm, SearchQuery
from juki.services.ports import Queries
from juki.services.read_models import (
    FilingChange,
    Household,
    MatchedVersion,
    OutboxEntry,
    StoredFiling,
    StoredResident,
    StoredVersion,
)

r = t.residents.c
v = t.resident_versions.c


def _escape_like(value: str) -> str:
    return value.replace("/", "//").replace("%", "/%").replace("_", "/_")


def _hit(condition: Any | None) -> Any:
    """A condition as a 1/0 column (both engines); no condition is a hit."""
    return literal(1) if condition is None else case((condition, 1), else_=0)


class SealedRow:
    """A row whose `my_number` is the decrypted `my_number_ciphertext`; every other attribute is the row's."""

    __slots__ = ("_row", "_vault")

    def __init__(self, row: AnyRow, vault: MyNumberVault) -> None:
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


def seal_secrets(vault: MyNumberVault, secrets: Any) -> str | None:
    return None if secrets is None else vault.encrypt_json(secrets)


def open_secrets(vault: MyNumberVault, stored: Any) -> Any:
    return None if stored is None else vault.decrypt_json(stored)


class SqlQueries(Queries):
    def __init__(self, conn: Connection, vault: MyNumberVault) -> None:
        self.conn = conn
        self.vault = vault

    def _sealed(self, row: AnyRow) -> dict[str, Any]:
        """The My Number's fields of a model: whether there is one, and how to open it when it is read."""
        token = row.my_number_ciphertext
        return {"has_my_number": token is not None, "open_my_number": partial(self.vault.open, token)}

    def _wrap(self, rows: Iterable[AnyRow]) -> list[SealedRow]:
        return [SealedRow(row, self.vault) for row in rows]

    def _residents(self, rows: Iterable[AnyRow]) -> list[StoredResident]:
        return [model(StoredResident, row, **self._sealed(row)) for row in rows]

    def resident(self, addressee_number: str) -> StoredResident | None:
        row = self.conn.execute(select(t.residents).where(r.addressee_number == addressee_number)).first()
        return None if row is None else model(StoredResident, row, **self._sealed(row))

    def history(self, addressee_number: str) -> list[StoredVersion]:
        v = t.resident_versions.c
        q = select(t.resident_versions).where(v.addressee_number == addressee_number).order_by(v.version)
        return [model(StoredVersion, row, **self._sealed(row)) for row in self.conn.execute(q)]

    def household(self, household_number: str) -> Household | None:
        q = select(t.households).where(t.households.c.household_number == household_number)
        return model_or_none(Household, self.conn.execute(q).first())

    def members(self, household_number: str, active_only: bool = True) -> list[StoredResident]:
        q = select(t.residents).where(r.household_number == household_number)
        if active_only:
            q = q.where(r.status == "active")
        return self._residents(self.conn.execute(q.order_by(r.position)))

    # --- search (標準仕様書 j330/j340; the rules are policy/search.py) -------------------------------------

    def _starts_with(self, col: Any, value: str) -> Any:
        if self.conn.dialect.name == "sqlite":
            # SQLite's LIKE ignores ASCII case and so uses no index; BINARY collation orders by code point,
            # so a range is the same test and the index on the column answers it.
            return and_(col >= value, col < value[:-1] + chr(min(ord(value[-1]) + 1, 0x10FFFF)))
        # PostgreSQL: the name and key indexes are varchar_pattern_ops (migration 0008), which answer
        # LIKE 'x%' whatever the database's collation.
        return col.like(_escape_like(value) + "%", escape="/")

    def _match(self, col: Any, values: tuple[str, ...], mode: str) -> Any:
        if mode == EXACT:
            return col == values[0] if len(values) == 1 else col.in_(values)
        if mode == PREFIX:
            return or_(*(self._starts_with(col, value) for value in values))
        return or_(*(self._contains(col, value) for value in values))

    def _contains(self, col: Any, value: str) -> Any:
        """Whether `value` occurs in `col`, as is (no wildcards, ASCII case counts): a 部分一致."""
        position = func.instr if self.conn.dialect.name == "sqlite" else func.strpos
        return position(col, value) > 0

    def _name_condition(self, q: SearchQuery, c: Any) -> Any | None:
        """The name criterion on the columns `c` of `residents` or `resident_versions` (None: no name given): one
        split of the name into 氏 and 名 matching, or the word alone (j330), or the whole as a 通称 or 併記名 (j340)."""
        mode = q.name_match
        ways = [
            and_(
                self._part(family, c.family_name_key, c.family_kana_key, mode),
                self._part(given, c.given_name_key, c.given_kana_key, mode),
            )
            for family, given in q.splits
        ]
        if q.either is not None:
            ways.append(self._either(q.either, c, mode))
        if not ways:
            return None
        if q.other_name:
            ways += [
                self._match(col, (q.other_name,), mode) for col in (c.alias_name_key, c.parallel_name_key)
            ]
        return or_(*ways)

    def _part(self, term: NameTerm, name_col: Any, key_col: Any, mode: str) -> Any:
        col = key_col if term.is_kana else name_col
        return self._match(col, term.parts if mode == PARTIAL else term.keys, mode)

    def _either(self, term: NameTerm, c: Any, mode: str) -> Any:
        """A name without a space: the family name, the given name, or both joined (j330)."""
        family, given = (
            (c.family_kana_key, c.given_kana_key) if term.is_kana else (c.family_name_key, c.given_name_key)
        )
        if mode == PARTIAL:  # in either name or across both: the joined keys hold them all (no index helps)
            return self._match(family + given, term.joined_parts, mode)
        either = [self._match(family, term.keys, mode), self._match(given, term.keys, mode)]
        # Both joined: the family name is then a proper head of the word. Naming those heads lets the index
        # on the family name find the candidates, where `family || given` alone would read every row.
        heads = sorted({key[:i] for key in term.joined_keys for i in range(1, len(key))})
        if heads:
            either.append(and_(family.in_(heads), self._match(family + given, term.joined_keys, mode)))
        return or_(*either)

    def search(self, q: SearchQuery) -> list[StoredResident]:
        """Matching residents (current and removed), at most `q.limit + 1`.

        With `q.history` the name and the address may match any version of the person (the current one
        included), each criterion on its own; each row then says whether today's name (`name_now`) and address
        (`address_now`) match (1/0), and today's matches come first.
        """
        conditions: list[Any] = []
        if q.resident_code:
            conditions.append(r.resident_code == q.resident_code)
        if q.my_number:
            conditions.append(r.my_number_index == self.vault.index(q.my_number))
        if q.addressee_number:
            conditions.append(r.addressee_number == q.addressee_number)
        if q.household_number:
            conditions.append(r.household_number == q.household_number)
        if q.residence_card_number:
            conditions.append(r.residence_card_number == q.residence_card_number)
        # The address first: where no index answers the name (部分一致) it is the cheaper test to fail.
        address_now = self._contains(r.address, q.address) if q.address else None
        name_now = self._name_condition(q, r)
        columns: list[Any] = [t.residents]
        order: list[Any] = [r.status, r.birth_date, r.addressee_number]
        if q.history:
            name_then = self._name_condition(q, v)
            if name_then is not None:  # a semi-join the name indexes of the history can drive
                in_history = select(v.addressee_number).where(name_then)
                conditions.append(r.addressee_number.in_(in_history))
            if q.address:  # checked per candidate: an address part uses no index
                any_address = self._contains(v.address, q.address)
                conditions.append(exists().where(v.addressee_number == r.addressee_number, any_address))
            name_hit, address_hit = _hit(name_now).label("name_now"), _hit(address_now).label("address_now")
            columns += [name_hit, address_hit]
            order = [(name_hit + address_hit).desc(), *order]
        else:
            conditions += [c for c in (address_now, name_now) if c is not None]
        if q.birth_date:
            conditions.append(r.birth_date == q.birth_date)
        if q.sex:
            conditions.append(r.sex == q.sex)
        stmt = select(*columns).where(and_(*conditions)).order_by(*order)
        return self._residents(self.conn.execute(stmt.limit(q.limit + 1)))

    def matched_versions(self, q: SearchQuery, addressee_numbers: list[str]) -> list[MatchedVersion]:
        """The versions of these persons, oldest first, each saying whether its name (`name_hit`) and address
        (`address_hit`) match `q` (1/0): what a history search found them by."""
        if not addressee_numbers:
            return []
        address = self._contains(v.address, q.address) if q.address else None
        stmt = (
            select(
                v.addressee_number,
                v.version,
                v.changed_on,
                v.change_reason,
                v.family_name,
                v.given_name,
                v.address,
                _hit(self._name_condition(q, v)).label("name_hit"),
                _hit(address).label("address_hit"),
            )
            .where(v.addressee_number.in_(addressee_numbers))
            .order_by(v.addressee_number, v.version)
        )
        return models(MatchedVersion, self.conn.execute(stmt))

    def _filing(self, row: AnyRow) -> StoredFiling:
        return model(
            StoredFiling, row, open_secret_payload=partial(open_secrets, self.vault, row.secret_payload)
        )

    def filing(self, filing_id: str) -> StoredFiling | None:
        row = self.conn.execute(select(t.filings).where(t.filings.c.filing_id == filing_id)).first()
        return None if row is None else self._filing(row)

    def filings(
        self, *, late: bool | None = None, approval_state: str | None = None, limit: int = 200
    ) -> list[StoredFiling]:
        f = t.filings.c
        q = select(t.filings)
        if late is not None:
            q = q.where(f.late == late)
        if approval_state:
            q = q.where(f.approval_state == approval_state)
        return [self._filing(row) for row in self.conn.execute(q.order_by(f.recorded_at.desc()).limit(limit))]

    def filing_changes(self, filing_id: str) -> list[FilingChange]:
        v = t.resident_versions.c
        q = (
            select(v.addressee_number, v.version, v.change_reason)
            .where(v.filing_id == filing_id)
            .order_by(v.recorded_at, v.addressee_number)
        )
        return models(FilingChange, self.conn.execute(q))

    def active_addressee_numbers(self, limit: int = 10_000) -> list[str]:
        q = select(r.addressee_number).where(r.status == "active").order_by(r.addressee_number).limit(limit)
        return list(self.conn.execute(q).scalars())

    def counts(self) -> dict[str, int]:
        total = self.conn.execute(select(r.status, func.count()).group_by(r.status)).all()
        households = self.conn.execute(
            select(func.count()).select_from(t.households).where(t.households.c.status == "active")
        ).scalar_one()
        return {**{row[0]: row[1] for row in total}, "households": households}

    def outbox(self, after: int, limit: int) -> list[OutboxEntry]:
        return [
            model(OutboxEntry, row, has_my_number=row.my_number_ciphertext is not None)
            for row in read_outbox(self.conn, after, limit)
        ]

    def cursor(self, subscriber: str) -> int:
        value = self.conn.execute(
            select(t.subscriber_cursors.c.position).where(t.subscriber_cursors.c.subscriber == subscriber)
        ).scalar()
        return int(value or 0)

    def operation_log(self) -> Iterable[AnyRow]:
        return self.conn.execute(select(t.operation_log).order_by(t.operation_log.c.seq)).yield_per(5000)

    def counter(self, name: str) -> int:
        return int(
            self.conn.execute(select(t.counters.c.value).where(t.counters.c.name == name)).scalar_one()
        )
