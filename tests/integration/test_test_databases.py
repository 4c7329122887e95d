"""The suite's PostgreSQL copy (tests/pg_pool.py): after a test, the next one sees exactly the template's state."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text

from juki.bootstrap import Juki
from juki.policy.roles import Actor
from juki.services import filings
from juki.web.app import create_app
from tests import factories as f
from tests.conftest import PASSWORD
from tests.pg_pool import PooledDatabase, Snapshot, schema_fingerprint, snapshot

pytestmark = pytest.mark.postgres


def same(a: Snapshot, b: Snapshot) -> bool:
    """The same rows (in any physical order) and the same sequence values."""
    rows = [{name: sorted(data.splitlines()) for name, data in s.tables.items()} for s in (a, b)]
    return rows[0] == rows[1] and a.sequences == b.sequences


CLERK = Actor("clerk1", "窓口 一郎", "clerk", "test")


def _write_everywhere(j: Juki, totp) -> None:  # type: ignore[no-untyped-def]
    """A filing (history, log, outbox, sequences), a session and a failed sign-in (a template row updated)."""
    filings.file(j.uow, CLERK, "move-in", f.move_in())
    with TestClient(create_app(j)) as client:
        ok = client.post(
            "/api/v1/auth/login", json={"username": "clerk1", "password": PASSWORD, "otp": totp("clerk1")}
        )
        assert ok.status_code == 200, ok.text
        bad = client.post(
            "/api/v1/auth/login", json={"username": "super1", "password": "wrong", "otp": "000000"}
        )
        assert bad.status_code == 401


def test_a_reset_puts_back_every_row_and_sequence(j: Juki, pg_pool: PooledDatabase, totp) -> None:  # type: ignore[no-untyped-def]
    _write_everywhere(j, totp)
    with j.engine.begin() as conn:  # a sequence moved by hand too (a rolled-back insert would do the same)
        for name in pg_pool.state.sequences:
            conn.execute(text("select nextval(:s)"), {"s": f'"{name}"'})
    assert not same(snapshot(pg_pool.conn), pg_pool.state)
    pg_pool.reset()
    assert same(snapshot(pg_pool.conn), pg_pool.state)


def test_a_connection_left_open_by_a_test_does_not_stop_the_reset(j: Juki, pg_pool: PooledDatabase) -> None:
    filings.file(j.uow, CLERK, "move-in", f.move_in())
    conn = j.engine.connect()
    conn.execute(text("LOCK TABLE residents IN ACCESS EXCLUSIVE MODE"))  # a transaction holding a lock
    pg_pool.reset()
    conn.invalidate()  # ended by the reset
    assert same(snapshot(pg_pool.conn), pg_pool.state)


def test_a_changed_schema_gets_a_new_copy_of_the_template(j: Juki, pg_pool: PooledDatabase) -> None:
    with j.engine.begin() as conn:
        conn.execute(text("ALTER TABLE residents ADD COLUMN extra text"))
    j.engine.dispose()
    assert schema_fingerprint(pg_pool.conn) != pg_pool.schema
    pg_pool.reset()
    assert schema_fingerprint(pg_pool.conn) == pg_pool.schema
    assert same(snapshot(pg_pool.conn), pg_pool.state)


def test_a_reset_to_a_saved_state_puts_back_that_state_even_after_a_schema_change(  # type: ignore[no-untyped-def]
    j: Juki, pg_pool: PooledDatabase, totp
) -> None:
    """What the role matrix does (tests/e2e/test_roles.py): a world saved once, put back before each case."""
    filings.file(j.uow, CLERK, "move-in", f.move_in())
    j.engine.dispose()
    saved = snapshot(pg_pool.conn)
    assert not same(saved, pg_pool.state)
    _write_everywhere(j, totp)
    j.engine.dispose()
    pg_pool.reset(to=saved)
    assert same(snapshot(pg_pool.conn), saved)
    with j.engine.begin() as conn:  # a case that opened the CS beside the register changed the schema
        conn.execute(text("CREATE TABLE cs_extra (x int)"))
    j.engine.dispose()
    pg_pool.reset(to=saved)
    assert schema_fingerprint(pg_pool.conn) == pg_pool.schema
    assert same(snapshot(pg_pool.conn), saved)
