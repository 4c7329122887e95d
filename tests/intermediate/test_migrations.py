"""The 中間サーバー's own migrations: beside the register by default (a file of its own on SQLite; `ims_` tables and
their own version table in the register's PostgreSQL database), down and up again, without touching the
register's tables."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import inspect, text

from juki.bootstrap import Juki
from juki.intermediate.adapters.ims_db import downgrade_intermediate, ims_database_url, open_intermediate


def test_the_default_place_and_a_way_down_and_up(j: Juki, tmp_path: Path):
    register_tables = set(inspect(j.engine).get_table_names())
    db = open_intermediate(j.settings.database_url, key_file=tmp_path / "k" / "juki-ims-keys.json")
    try:
        names = set(inspect(db.engine).get_table_names())
        ims = {n for n in names if n.startswith("ims_")}
        assert {"ims_unified", "ims_replicas", "ims_provision_log", "ims_alembic_version"} <= ims
        with db.engine.connect() as conn:
            assert conn.execute(text("SELECT version_num FROM ims_alembic_version")).scalar() == "ims0001"
        if db.engine.dialect.name == "sqlite":
            assert db.url == ims_database_url(j.settings.database_url) and db.url.endswith(".ims.db")
            assert names == ims
        else:
            assert db.url.split("/")[-1] == j.settings.database_url.split("/")[-1]
        assert (tmp_path / "k" / "juki-ims-keys.json").stat().st_mode & 0o777 == 0o600
        downgrade_intermediate(db.url)
        assert not {
            n
            for n in inspect(db.engine).get_table_names()
            if n.startswith("ims_") and n != "ims_alembic_version"
        }
        assert register_tables <= set(inspect(j.engine).get_table_names())
        db.dispose()
        db = open_intermediate(j.settings.database_url, key_file=tmp_path / "k" / "juki-ims-keys.json")
        assert "ims_queries" in inspect(db.engine).get_table_names()
    finally:
        if db.engine.dialect.name == "postgresql":
            downgrade_intermediate(db.url)  # the register's pooled database gets its schema back
        db.dispose()
