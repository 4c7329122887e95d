"""Alembic environment of the 中間サーバー: its own migrations and its own version table (`ims_alembic_version`),
so that it may share a PostgreSQL database with the register (and the CS) without touching their migrations."""

from alembic import context
from sqlalchemy import pool

from juki.adapters.db import make_engine
from juki.intermediate.adapters.tables import metadata

config = context.config
VERSION_TABLE = "ims_alembic_version"


def run_migrations_online() -> None:
    engine = make_engine(config.get_main_option("sqlalchemy.url") or "", poolclass=pool.NullPool)
    with engine.connect() as conn:
        context.configure(
            connection=conn, target_metadata=metadata, render_as_batch=True, version_table=VERSION_TABLE
        )
        with context.begin_transaction():
            context.run_migrations()
    engine.dispose()


run_migrations_online()
