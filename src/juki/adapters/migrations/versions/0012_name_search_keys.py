"""Search keys of names (標準仕様書 j340): names found as people write them, 通称 and 併記名 included

`residents` and `resident_versions` gain `family_name_key` and `given_name_key` (the name folded by
`domain.names.name_search_key`: Latin letters without regard to case or width, variation selectors dropped, one
space between words) and `alias_name_key` / `parallel_name_key` (a foreign resident's 通称 and 併記名, spaces taken
out, `joined_name_key`; NULL for everyone else). The search compares these instead of the names as stored, so
`PHAM DUC MINH`, `Pham Duc Minh` and `ＰＨＡＭ　ＤＵＣ　ＭＩＮＨ` find the same person.

Indexes: the keys replace the names in the search's indexes — `ix_residents_given_name_birth` (0001) and
`ix_resident_versions_family_name` / `_given_name` (0008) served only the search and go; `ix_residents_family_name_birth`
stays (the move-in's same-name warning uses it). The 通称 and 併記名 indexes are partial (only rows that have one).

The keys of existing rows are computed from each row's `record` JSON. History is append-only (triggers, 0001): as
in 0002, the history's UPDATE trigger is set aside for this data step only, and the columns are added in place
(ALTER TABLE … ADD COLUMN), so the table, its triggers and the outbox's foreign key to it stay as they are.

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-05 12:00:00.000000
"""

from __future__ import annotations

import json
from typing import Any

import sqlalchemy as sa
from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None

BATCH = 2000
KEY_LENGTH = 2000  # adapters/tables.NAME_KEY_LENGTH
PATTERN = "varchar_pattern_ops"
TABLES = ("residents", "resident_versions")
GONE = (
    ("ix_residents_given_name_birth", "residents", ["given_name", "birth_date"]),
    ("ix_resident_versions_family_name", "resident_versions", ["family_name"]),
    ("ix_resident_versions_given_name", "resident_versions", ["given_name"]),
)


def _postgresql() -> bool:
    return bool(op.get_bind().dialect.name == "postgresql")


def _history_update_trigger(enable: bool) -> None:
    """Set the history's UPDATE trigger aside for the data step (and put it back), as 0002 does."""
    if not _postgresql():
        if enable:
            op.execute(
                "CREATE TRIGGER resident_versions_no_update BEFORE UPDATE ON resident_versions "
                "BEGIN SELECT RAISE(ABORT, 'resident_versions is append-only'); END"
            )
        else:
            op.execute("DROP TRIGGER resident_versions_no_update")
        return
    verb = "ENABLE" if enable else "DISABLE"
    op.execute(f"ALTER TABLE resident_versions {verb} TRIGGER resident_versions_append_only")


def _keys(record: Any) -> dict[str, Any]:
    from juki.domain.names import joined_name_key, name_search_key

    data = json.loads(record) if isinstance(record, str) else dict(record)
    foreign = data.get("foreign") or {}
    return {
        "family_name_key": name_search_key(data.get("family_name") or ""),
        "given_name_key": name_search_key(data.get("given_name") or ""),
        "alias_name_key": joined_name_key(foreign.get("alias_name")),
        "parallel_name_key": joined_name_key(foreign.get("parallel_name")),
    }


def _fill(table: str, keys: tuple[str, ...]) -> None:
    conn = op.get_bind()
    key_sql = ", ".join(keys)
    rows = conn.execute(sa.text(f"SELECT {key_sql}, CAST(record AS TEXT) AS record FROM {table}"))
    update = sa.text(
        f"UPDATE {table} SET family_name_key = :family_name_key, given_name_key = :given_name_key, "
        "alias_name_key = :alias_name_key, parallel_name_key = :parallel_name_key WHERE "
        + " AND ".join(f"{k} = :{k}" for k in keys)
    )
    params = []
    for row in rows.all():
        params.append({**{k: getattr(row, k) for k in keys}, **_keys(row.record)})
        if len(params) >= BATCH:
            conn.execute(update, params)
            params = []
    if params:
        conn.execute(update, params)


def _has_rows(table: str) -> bool:
    return op.get_bind().execute(sa.text(f"SELECT 1 FROM {table} LIMIT 1")).first() is not None


def _create_indexes(table: str) -> None:
    birth = ["birth_date"] if table == "residents" else []
    for column in ("family_name_key", "given_name_key"):
        op.create_index(f"ix_{table}_{column}", table, [column, *birth], postgresql_ops={column: PATTERN})
    for column in ("alias_name_key", "parallel_name_key"):
        present = sa.text(f"{column} IS NOT NULL")
        op.create_index(
            f"ix_{table}_{column}",
            table,
            [column],
            postgresql_ops={column: PATTERN},
            postgresql_where=present,
            sqlite_where=present,
        )


def upgrade() -> None:
    for table in TABLES:
        # In place (no batch recreate): NOT NULL with a default is what ALTER TABLE ADD COLUMN allows on SQLite.
        for column in ("family_name_key", "given_name_key"):
            op.add_column(
                table, sa.Column(column, sa.String(length=KEY_LENGTH), nullable=False, server_default="")
            )
        for column in ("alias_name_key", "parallel_name_key"):
            op.add_column(table, sa.Column(column, sa.String(length=KEY_LENGTH), nullable=True))
    if _has_rows("residents"):
        _fill("residents", ("addressee_number",))
    if _has_rows("resident_versions"):
        _history_update_trigger(enable=False)
        _fill("resident_versions", ("addressee_number", "version"))
        _history_update_trigger(enable=True)
    for name, table, _ in GONE:
        op.drop_index(name, table_name=table)
    for table in TABLES:
        _create_indexes(table)


def downgrade() -> None:
    for table in TABLES:
        for column in ("family_name_key", "given_name_key", "alias_name_key", "parallel_name_key"):
            op.drop_index(f"ix_{table}_{column}", table_name=table)
    for name, table, columns in GONE:
        op.create_index(name, table, columns, postgresql_ops={columns[0]: PATTERN})
    for table in TABLES:
        for column in ("family_name_key", "given_name_key", "alias_name_key", "parallel_name_key"):
            # In place, as in 0002: the history keeps its triggers and the outbox's foreign key.
            op.execute(f"ALTER TABLE {table} DROP COLUMN {column}")
