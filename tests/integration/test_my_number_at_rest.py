"""My Number at rest (ARCHITECTURE.md): encrypted in every table, found by its blind index, readable only with
the key file, and re-encrypted by `juki keys rotate`."""

from __future__ import annotations

import gzip
import shutil

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import JSON, String, Text, cast, select
from typer.testing import CliRunner

from juki.adapters import tables as t
from juki.adapters.backup import dump
from juki.adapters.vault import VaultError
from juki.bootstrap import build
from juki.cli.main import app
from juki.domain.errors import DuplicateMyNumber
from juki.policy.roles import Actor
from juki.services import filings, register_queries
from juki.web.app import create_app
from tests import factories as f
from tests.conftest import PASSWORD, STAFF, TODAY

CLERK = Actor("clerk1", "窓口 一郎", "clerk", "test")
SUPERVISOR = Actor("super1", "係長 花子", "supervisor", "test")
runner = CliRunner()


def move_in(j) -> tuple[list[str], list[str]]:
    people = f.family_of_four()
    result = filings.file(j.uow, CLERK, "move-in", f.move_in(people))
    return [c["addressee_number"] for c in result.changes], [p["my_number"] for p in people]


def stored_text(j) -> list[str]:
    """Every text-like value in every table, as the database holds it."""
    values: list[str] = []
    with j.engine.connect() as conn:
        for table in t.metadata.sorted_tables:
            columns = [cast(c, Text) for c in table.columns if isinstance(c.type, String | Text | JSON)]
            for row in conn.execute(select(*columns)).all():
                values.extend(str(v) for v in row if v is not None)
    return values


def pending_entry(j, number: str) -> str:
    body = {
        "filed_on": "2025-06-20",
        "changed_on": "2025-06-20",
        "reason": "実態調査により居住を確認",
        "address": {"address": "東京都小平市天神町一丁目1番1号"},
        "persons": [f.person(family_name="佐藤", family_name_kana="サトウ", my_number=number)],
    }
    return filings.file(j.uow, CLERK, "ex-officio-entry", body).filing_id


def test_no_table_holds_a_my_number_in_plain_text(j, tmp_path):
    _, numbers = move_in(j)
    extra = f.person(family_name="佐藤")["my_number"]
    pending_entry(j, extra)  # a filing awaiting approval keeps its number in secret_payload
    text = "\n".join(stored_text(j))
    assert text  # the scan saw the rows
    assert [n for n in [*numbers, extra] if n in text] == []
    out = tmp_path / "backup.jsonl.gz"
    dump(j.engine, out)
    with gzip.open(out, "rt", encoding="utf-8") as fh:
        backup = fh.read()
    assert [n for n in [*numbers, extra] if n in backup] == []  # a backup is ciphertext too


def test_look_up_duplicates_and_reveal_still_work(j):
    addressees, numbers = move_in(j)
    found = register_queries.search(j.uow, CLERK, {"my_number": numbers[1]})
    assert [r["addressee_number"] for r in found["results"]] == [addressees[1]]
    assert "my_number" not in found["results"][0]
    shown = register_queries.get_resident(j.uow, CLERK, addressees[1], include_my_number=True)
    assert shown["my_number"] == numbers[1]
    assert "my_number" not in register_queries.get_resident(j.uow, CLERK, addressees[1])
    history = register_queries.get_history(j.uow, CLERK, addressees[1], include_my_number=True)
    assert history["versions"][0]["record"]["my_number"] == numbers[1]
    again = f.move_in([f.person(family_name="鈴木", my_number=numbers[2])])
    with pytest.raises(DuplicateMyNumber):
        filings.file(j.uow, CLERK, "move-in", again)


def test_include_my_number_over_the_api_for_a_clerk(j, totp):
    addressees, numbers = move_in(j)
    with TestClient(create_app(j), raise_server_exceptions=False) as client:
        username = STAFF["clerk"][0]
        login = client.post(
            "/api/v1/auth/login", json={"username": username, "password": PASSWORD, "otp": totp(username)}
        )
        auth = {"Authorization": f"Bearer {login.json()['access_token']}"}
        res = client.get(f"/api/v1/residents/{addressees[0]}?include=my_number", headers=auth)
        assert res.status_code == 200 and res.json()["my_number"] == numbers[0]
        plain = client.get(f"/api/v1/residents/{addressees[0]}", headers=auth)
        assert "my_number" not in plain.json()


def test_rotation_re_encrypts_the_current_register_and_pending_filings(j, db_url, key_file, tmp_path):
    addressees, numbers = move_in(j)
    extra = f.person(family_name="佐藤")["my_number"]
    filing_id = pending_entry(j, extra)
    own_keys = tmp_path / "keys.json"  # the session's key file stays as it is for the other tests
    shutil.copy(key_file, own_keys)
    done = runner.invoke(app, ["keys", "rotate", "--db", db_url], env={"JUKI_KEY_FILE": str(own_keys)})
    assert done.exit_code == 0, done.output
    rotated = build(db_url, run_migrations=False, today=TODAY, key_file=str(own_keys))
    try:
        active = rotated.vault.active
        assert active != j.vault.active
        with rotated.engine.connect() as conn:
            current = conn.execute(select(t.residents.c.my_number_ciphertext)).scalars().all()
            history = conn.execute(select(t.resident_versions.c.my_number_ciphertext)).scalars().all()
            secret = conn.execute(
                select(t.filings.c.secret_payload).where(t.filings.c.filing_id == filing_id)
            ).scalar_one()
        assert current and all(token.startswith(active + ":") for token in current)
        assert all(not token.startswith(active + ":") for token in history)  # history is not rewritten
        assert secret.startswith(active + ":")
        # old (history) and new (current) tokens both decrypt with the rotated key file
        view = register_queries.get_history(rotated.uow, CLERK, addressees[0], include_my_number=True)
        assert view["versions"][0]["record"]["my_number"] == numbers[0]
        shown = register_queries.get_resident(rotated.uow, CLERK, addressees[0], include_my_number=True)
        assert shown["my_number"] == numbers[0]
        found = register_queries.search(rotated.uow, CLERK, {"my_number": numbers[3]})
        assert [r["addressee_number"] for r in found["results"]] == [addressees[3]]
        # the pending filing is approved after the rotation, with its number intact
        approved = filings.decide(rotated.uow, SUPERVISOR, filing_id, approve=True)
        new = approved.changes[0]["addressee_number"]
        assert (
            register_queries.get_resident(rotated.uow, CLERK, new, include_my_number=True)["my_number"]
            == extra
        )
        # the key file without the new key can no longer read the current register
        with pytest.raises(VaultError) as exc:
            register_queries.get_resident(j.uow, CLERK, addressees[0], include_my_number=True)
        assert all(n not in str(exc.value) for n in numbers)
    finally:
        rotated.engine.dispose()


def test_a_wrong_key_file_cannot_decrypt_and_says_so_without_the_number(j, db_url, tmp_path):
    addressees, numbers = move_in(j)
    wrong = build(db_url, run_migrations=False, today=TODAY, key_file=str(tmp_path / "other-keys.json"))
    try:
        with pytest.raises(VaultError) as exc:
            register_queries.get_resident(wrong.uow, CLERK, addressees[0], include_my_number=True)
        message = str(exc.value)
        assert "鍵ファイル" in message and all(n not in message for n in numbers)
        # nor does its index find anyone
        found = register_queries.search(wrong.uow, CLERK, {"my_number": numbers[0]})
        assert found["results"] == []
    finally:
        wrong.engine.dispose()


def test_migration_0002_encrypts_numbers_stored_in_plain_text_and_keeps_history_append_only(j, db_url):
    from alembic import command
    from sqlalchemy import text
    from sqlalchemy.exc import DBAPIError

    from juki.adapters.db import alembic_config

    addressees, numbers = move_in(j)
    j.engine.dispose()
    command.downgrade(alembic_config(db_url), "0001")  # decrypts back into the plain columns of 0001
    with j.engine.connect() as conn:
        plain = (
            conn.execute(text("SELECT my_number FROM residents ORDER BY addressee_number")).scalars().all()
        )
        history = conn.execute(text("SELECT count(*) FROM resident_versions WHERE my_number IS NOT NULL"))
        assert sorted(plain) == sorted(numbers) and history.scalar_one() == len(numbers)
    j.engine.dispose()
    command.upgrade(alembic_config(db_url), "head")  # encrypts them with the key file (JUKI_KEY_FILE)
    text_now = "\n".join(stored_text(j))
    assert [n for n in numbers if n in text_now] == []
    found = register_queries.search(j.uow, CLERK, {"my_number": numbers[2]})
    assert [r["addressee_number"] for r in found["results"]] == [addressees[2]]
    history_view = register_queries.get_history(j.uow, CLERK, addressees[2], include_my_number=True)
    assert history_view["versions"][0]["record"]["my_number"] == numbers[2]
    for statement in ("UPDATE resident_versions SET filing_id = 'x'", "DELETE FROM resident_versions"):
        with pytest.raises(DBAPIError, match="append-only"), j.engine.begin() as conn:
            conn.execute(text(statement))
