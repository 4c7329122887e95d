"""My Number encrypted at rest: ciphertext and blind-index columns instead of the plain number

`residents.my_number` and `resident_versions.my_number` become `my_number_ciphertext` (an AES-GCM token, see
adapters/vault.py) and `my_number_index` (HMAC-SHA256, unique on `residents`). Existing numbers, and the My Numbers
kept in `filings.secret_payload`, are encrypted with the key file (`migrate(url, vault)`, else JUKI_KEY_FILE, else
the default file next to the SQLite database). The downgrade decrypts them back with the same key file.

History is append-only (triggers, 0001): rewriting its number column is the one UPDATE this migration makes, with
the UPDATE trigger set aside for the data step only. `resident_versions` is altered in place (ALTER TABLE … DROP
COLUMN, SQLite ≥ 3.35), never recreated, so its triggers and the outbox's foreign key to it stay as they are.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-27 00:20:00.000000
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import sqlalchemy as sa
from alembic import context, op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

BATCH = 2000


def _vault() -> Any:
    from juki.adapters.vault import load_for_migration

    cfg = context.config
    return load_for_migration(cfg.attributes, cfg.get_main_option("sqlalchemy.url") or "")


def _has_rows(table: str, column: str) -> bool:
    sql = f"SELECT 1 FROM {table} WHERE {column} IS NOT NULL LIMIT 1"
    return op.get_bind().execute(sa.text(sql)).first() is not None


def _history_update_trigger(enable: bool) -> None:
    """Set the history's UPDATE trigger aside for the data step (and put it back)."""
    dialect = op.get_bind().dialect.name
    if dialect == "sqlite":
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


def _convert(
    table: str, keys: tuple[str, ...], source: str, targets: tuple[str, ...], fn: Callable[[Any], Any]
) -> None:
    """For every row with `source` set, write `targets` = fn(source value)."""
    conn = op.get_bind()
    key_sql = ", ".join(keys)
    # JSON as text on both engines (PostgreSQL's driver would decode a json column, SQLite's does not)
    value = f"CAST({source} AS TEXT)" if source == "secret_payload" else source
    rows = conn.execute(
        sa.text(f"SELECT {key_sql}, {value} AS v FROM {table} WHERE {source} IS NOT NULL")
    ).all()
    sets = ", ".join(f"{c} = :{c}" for c in targets)
    where = " AND ".join(f"{k} = :{k}" for k in keys)
    update = sa.text(f"UPDATE {table} SET {sets} WHERE {where}")
    params = []
    for row in rows:
        values = fn(row.v)
        params.append({**{k: getattr(row, k) for k in keys}, **dict(zip(targets, values, strict=True))})
        if len(params) >= BATCH:
            conn.execute(update, params)
            params = []
    if params:
        conn.execute(update, params)


def _secret_payload(value: str) -> Any:
    return json.loads(value)


def upgrade() -> None:
    for table in ("residents", "resident_versions"):
        with op.batch_alter_table(table) as batch_op:
            batch_op.add_column(sa.Column("my_number_ciphertext", sa.Text(), nullable=True))
            batch_op.add_column(sa.Column("my_number_index", sa.String(length=64), nullable=True))

    pending = [t for t in ("residents", "resident_versions") if _has_rows(t, "my_number")]
    has_secrets = _has_rows("filings", "secret_payload")
    if pending or has_secrets:
        vault = _vault()
        if "residents" in pending:
            _convert(
                "residents",
                ("addressee_number",),
                "my_number",
                ("my_number_ciphertext", "my_number_index"),
                lambda n: vault.seal(n),
            )
        if "resident_versions" in pending:
            _history_update_trigger(enable=False)
            _convert(
                "resident_versions",
                ("addressee_number", "version"),
                "my_number",
                ("my_number_ciphertext", "my_number_index"),
                lambda n: vault.seal(n),
            )
            _history_update_trigger(enable=True)
        if has_secrets:
            _convert(
                "filings",
                ("filing_id",),
                "secret_payload",
                ("secret_payload",),
                lambda v: (json.dumps(vault.encrypt_json(_secret_payload(v))),),
            )

    # residents has no triggers and nothing refers to it: a batch recreate on SQLite is safe.
    with op.batch_alter_table("residents") as batch_op:
        batch_op.drop_constraint("uq_residents_my_number", type_="unique")
        batch_op.drop_column("my_number")
        batch_op.create_unique_constraint(op.f("uq_residents_my_number_index"), ["my_number_index"])
    op.execute("ALTER TABLE resident_versions DROP COLUMN my_number")  # in place: triggers and the FK stay


def downgrade() -> None:
    for table in ("residents", "resident_versions"):
        with op.batch_alter_table(table) as batch_op:
            batch_op.add_column(sa.Column("my_number", sa.String(length=12), nullable=True))

    pending = [t for t in ("residents", "resident_versions") if _has_rows(t, "my_number_ciphertext")]
    has_secrets = _has_rows("filings", "secret_payload")
    if pending or has_secrets:
        vault = _vault()
        if "residents" in pending:
            _convert(
                "residents",
                ("addressee_number",),
                "my_number_ciphertext",
                ("my_number",),
                lambda token: (vault.decrypt(token),),
            )
        if "resident_versions" in pending:
            _history_update_trigger(enable=False)
            _convert(
                "resident_versions",
                ("addressee_number", "version"),
                "my_number_ciphertext",
                ("my_number",),
                lambda token: (vault.decrypt(token),),
            )
            _history_update_trigger(enable=True)
        if has_secrets:
            _convert(
                "filings",
                ("filing_id",),
                "secret_payload",
                ("secret_payload",),
                lambda v: (json.dumps(vault.decrypt_json(_secret_payload(v))),),
            )

    with op.batch_alter_table("residents") as batch_op:
        batch_op.drop_constraint("uq_residents_my_number_index", type_="unique")
        batch_op.drop_column("my_number_index")
        batch_op.drop_column("my_number_ciphertext")
        batch_op.create_unique_constraint(op.f("uq_residents_my_number"), ["my_number"])
    op.execute("ALTER TABLE resident_versions DROP COLUMN my_number_index")
    op.execute("ALTER TABLE resident_versions DROP COLUMN my_number_ciphertext")
