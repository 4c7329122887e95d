"""Alembic environment of the 中間サーバー: its own migrations and its own version table (`ims_alembic_version`),
so that it may share a PostgreSQL database with the register (and the CS) without touching their migrations."""

from juki.adapters.component_db import run_component_migrations
from juki.intermediate.adapters.tables import metadata

VERSION_TABLE = "ims_alembic_version"

run_component_migrations(metadata, VERSION_TABLE)
