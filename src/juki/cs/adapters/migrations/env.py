"""Alembic environment of the CS: its own migrations and its own version table (`cs_alembic_version`), so that
it may share a PostgreSQL database with the register without touching the register's migrations."""

from alembic import context
from sqlalchemy import pool

from juki.adapters.db import make_engine
from juki.cs.adapters.tables import metadata

config = context.config
VERSION_TABLE = "cs_alembic_version"


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
