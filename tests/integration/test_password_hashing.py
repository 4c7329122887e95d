"""Password hashing parameters: production keeps argon2id as the library recommends; the settings can change them
(the test suite makes them minimal), and a stored hash is always checked with the parameters it was made with."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace

import pytest
from argon2 import PasswordHasher
from sqlalchemy import select

from juki.adapters import tables as t
from juki.bootstrap import build
from juki.config import Settings, load_settings
from juki.services import auth
from tests.conftest import CHEAP_PASSWORD_HASHING, PASSWORD


@pytest.fixture
def restore_hashing() -> Iterator[None]:
    """These tests change the process's hashing parameters: the next test gets the session's again."""
    yield
    cfg = load_settings()
    auth.use_password_hashing(
        cfg.password_hash_time_cost, cfg.password_hash_memory_kib, cfg.password_hash_parallelism
    )


def test_production_defaults_are_argon2id_as_the_library_recommends(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in CHEAP_PASSWORD_HASHING:
        monkeypatch.delenv(name)
    cfg = Settings()
    recommended = PasswordHasher()
    assert (cfg.password_hash_time_cost, cfg.password_hash_memory_kib, cfg.password_hash_parallelism) == (
        recommended.time_cost,
        recommended.memory_cost,
        recommended.parallelism,
    )
    # RFC 9106's second recommended option; never weaker.
    assert cfg.password_hash_time_cost >= 3
    assert cfg.password_hash_memory_kib >= 64 * 1024
    assert cfg.password_hash_parallelism >= 1


def test_the_suite_hashes_cheaply() -> None:
    cfg = load_settings()
    assert (cfg.password_hash_time_cost, cfg.password_hash_memory_kib, cfg.password_hash_parallelism) == (
        1,
        8,
        1,
    )


def test_build_applies_the_settings_to_new_hashes(tmp_path: Path, restore_hashing: None) -> None:
    j = build(
        str(tmp_path / "r.db"),
        password_hash_time_cost=2,
        password_hash_memory_kib=16,
        password_hash_parallelism=1,
    )
    auth.create_staff(j.uow, "clerk9", "窓口 九郎", "clerk", PASSWORD)
    with j.engine.connect() as conn:
        stored = conn.execute(
            select(t.staff.c.password_hash).where(t.staff.c.username == "clerk9")
        ).scalar_one()
    j.engine.dispose()
    assert stored.startswith("$argon2id$v=19$m=16,t=2,p=1$")


def test_a_stored_hash_is_checked_with_its_own_parameters(restore_hashing: None) -> None:
    auth.use_password_hashing(1, 8, 1)
    cheap = SimpleNamespace(password_hash=auth._hasher.hash(PASSWORD))
    auth.use_password_hashing(2, 16, 2)
    assert auth.password_ok(cheap, PASSWORD)
    assert not auth.password_ok(cheap, PASSWORD + "x")


def test_memory_below_argon2s_bound_is_refused_at_start_up() -> None:
    with pytest.raises(ValueError, match="JUKI_PASSWORD_HASH_MEMORY_KIB"):
        Settings(password_hash_memory_kib=8, password_hash_parallelism=2)
