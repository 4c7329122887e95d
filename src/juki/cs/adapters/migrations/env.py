"""Alembic environment of the CS: its own migrations and its own version table (`cs_alembic_version`), so that
it may share a PostgreSQL database with the register without touching the register's migrations."""

from juki.adapters.component_db import run_component_migrations
from juki.cs.adapters.tables import metadata

VERSION_TABLE = "cs_alembic_version"

run_component_migrations(metadata, VERSION_TABLE)
