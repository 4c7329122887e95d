"""Search (標準仕様書 j330/j340): indexes for earlier names, and names found by their start on PostgreSQL

- `resident_versions` gains indexes on `given_kana_key`, `family_name` and `given_name` (it had one on
  `family_kana_key`): a search with `history=true` finds a person by any earlier name through them.
- On PostgreSQL the name and kana-key indexes of `residents` and `resident_versions` become
  `varchar_pattern_ops`, so a 前方一致 search (`LIKE 'ヤマ%'`) uses them whatever the database's collation
  (with a collation other than "C" a plain index answers only `=`). They still answer `=` and `IN`. On SQLite
  the search asks for a range of the plain index instead (adapters/queries.py), and nothing changes here.

The kana keys themselves (`domain.names.seion_kana`) keep their form: stored rows need no re-keying.

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-27 02:30:00.000000
"""

from __future__ import annotations

from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None

PATTERN = "varchar_pattern_ops"
# (index, table, columns; the first is the name or key) that exist since 0001 and change operator class.
EXISTING = (
    ("ix_residents_family_name_birth", "residents", ["family_name", "birth_date"]),
    ("ix_residents_given_name_birth", "residents", ["given_name", "birth_date"]),
    ("ix_residents_family_kana_key", "residents", ["family_kana_key"]),
    ("ix_residents_given_kana_key", "residents", ["given_kana_key"]),
    ("ix_resident_versions_family_kana_key", "resident_versions", ["family_kana_key"]),
)
NEW = (
    ("ix_resident_versions_given_kana_key", "resident_versions", ["given_kana_key"]),
    ("ix_resident_versions_family_name", "resident_versions", ["family_name"]),
    ("ix_resident_versions_given_name", "resident_versions", ["given_name"]),
)


def _postgresql() -> bool:
    return bool(op.get_bind().dialect.name == "postgresql")


def upgrade() -> None:
    if _postgresql():
        for name, table, columns in EXISTING:
            op.drop_index(name, table_name=table)
            op.create_index(name, table, columns, postgresql_ops={columns[0]: PATTERN})
    for name, table, columns in NEW:
        op.create_index(name, table, columns, postgresql_ops={columns[0]: PATTERN})


def downgrade() -> None:
    for name, table, _ in reversed(NEW):
        op.drop_index(name, table_name=table)
    if _postgresql():
        for name, table, columns in EXISTING:
            op.drop_index(name, table_name=table)
            op.create_index(name, table, columns)
