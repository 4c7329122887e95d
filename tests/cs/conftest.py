"""The CS's tests use the register fixtures of tests/conftest.py (`j`: a built register on SQLite, and on
PostgreSQL when JUKI_TEST_POSTGRES_URL is set) and add the CS beside it: its own SQLite file, or `cs_` tables in
the register's PostgreSQL database (the pool makes that database again after the test: its schema changed)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from juki.bootstrap import Juki
from juki.cs.adapters.cs_db import CsDatabase, open_cs
from tests.cs.fakes import FakePrefecture


@pytest.fixture
def cs(j: Juki, tmp_path: Path) -> Iterator[CsDatabase]:
    db = open_cs(j.settings.database_url, key_file=tmp_path / "cs-keys" / "juki-cs-keys.json")
    yield db
    db.dispose()


@pytest.fixture
def prefecture() -> FakePrefecture:
    return FakePrefecture()
