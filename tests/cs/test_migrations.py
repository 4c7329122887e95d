"""The CS's own migrations: its tables and its own version table beside (or apart from) the register's."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import inspect

from juki.cs.adapters.cs_db import cs_database_url, downgrade_cs, migrate_cs


def test_the_cs_has_its_tables_and_its_own_version_table(cs):
    names = set(inspect(cs.engine).get_table_names())
    assert {"cs_identity", "cs_identity_history", "cs_seen_events", "cs_notices", "cs_log"} <= names
    assert "cs_alembic_version" in names


def test_the_cs_migrations_go_down_and_up_again(cs):
    cs.dispose()
    downgrade_cs(cs.url)
    assert not {
        n for n in inspect(cs.engine).get_table_names() if n.startswith("cs_") and n != "cs_alembic_version"
    }
    migrate_cs(cs.url)
    assert "cs_notices" in inspect(cs.engine).get_table_names()


def test_on_sqlite_the_cs_has_a_file_of_its_own_beside_the_registers(tmp_path: Path, monkeypatch):
    monkeypatch.delenv("JUKI_CS_DATABASE_URL", raising=False)
    register = tmp_path / "juki.db"
    assert cs_database_url(str(register)) == f"sqlite:///{tmp_path / 'juki.cs.db'}"
    assert cs_database_url("postgresql://u@h/juki").startswith("postgresql+psycopg://u@h/juki")
    assert cs_database_url(str(register), "postgresql://u@h/cs").endswith("/cs")
    monkeypatch.setenv("JUKI_CS_DATABASE_URL", "postgresql://u@h/other")
    assert cs_database_url(str(register)).endswith("/other")
