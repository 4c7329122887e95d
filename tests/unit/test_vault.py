"""The My Number vault: AES-GCM tokens, the blind index, key files and rotation."""

from __future__ import annotations

import json
import random
import stat
from pathlib import Path

import pytest

from juki.adapters.vault import (
    MyNumberVault,
    VaultError,
    create_key_file,
    default_key_file,
    load_or_create,
    rotate,
)
from juki.domain.identifiers import generate_my_number

NUMBER = generate_my_number(random.Random(11))


def test_a_number_round_trips_and_the_token_names_its_key(tmp_path):
    vault = create_key_file(tmp_path / "keys.json")
    token = vault.encrypt(NUMBER)
    assert token.startswith("k1:") and NUMBER not in token
    assert vault.decrypt(token) == NUMBER
    assert vault.encrypt(NUMBER) != token  # a fresh nonce each time


def test_the_index_is_deterministic_and_keyed(tmp_path):
    one = create_key_file(tmp_path / "one.json")
    other = create_key_file(tmp_path / "other.json")
    assert one.index(NUMBER) == one.index(NUMBER) and len(one.index(NUMBER)) == 64
    assert one.index(NUMBER) != other.index(NUMBER)
    assert one.seal(None) == (None, None)


def test_a_wrong_key_file_fails_clearly_without_the_number(tmp_path):
    token = create_key_file(tmp_path / "one.json").encrypt(NUMBER)
    other = create_key_file(tmp_path / "other.json")  # also has a "k1", with another key
    with pytest.raises(VaultError) as exc:
        other.decrypt(token)
    assert NUMBER not in str(exc.value) and "鍵ファイル" in str(exc.value)
    with pytest.raises(VaultError) as unknown:
        other.decrypt("k9:" + token.split(":", 1)[1])
    assert "k9" in str(unknown.value) and NUMBER not in str(unknown.value)


def test_a_tampered_token_is_refused(tmp_path):
    vault = create_key_file(tmp_path / "keys.json")
    key_id, body = vault.encrypt(NUMBER).split(":", 1)
    flipped = body[:-6] + ("A" if body[-6] != "A" else "B") + body[-5:]
    for bad in (f"{key_id}:{flipped}", "no-colon", f"{key_id}:***"):
        with pytest.raises(VaultError):
            vault.decrypt(bad)


def test_a_number_token_never_opens_as_a_filing_secret(tmp_path):
    vault = create_key_file(tmp_path / "keys.json")
    secret = vault.encrypt_json({"persons.0.my_number": NUMBER})
    assert vault.decrypt_json(secret) == {"persons.0.my_number": NUMBER}
    with pytest.raises(VaultError):
        vault.decrypt_json(vault.encrypt(NUMBER))


def test_the_key_file_is_private_and_never_overwritten(tmp_path):
    path = tmp_path / "sub" / "keys.json"
    vault = create_key_file(path)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    with pytest.raises(VaultError):
        create_key_file(path)
    assert load_or_create(path).decrypt(vault.encrypt(NUMBER)) == NUMBER


def test_rotation_adds_an_active_key_keeps_the_old_ones_and_the_index_key(tmp_path):
    path = tmp_path / "keys.json"
    before = create_key_file(path)
    old = before.encrypt(NUMBER)
    after = rotate(path)
    assert after.active == "k2" and after.key_ids == ["k1", "k2"]
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    reloaded = MyNumberVault.load(path)
    assert reloaded.decrypt(old) == NUMBER and reloaded.encrypt(NUMBER).startswith("k2:")
    assert reloaded.index(NUMBER) == before.index(NUMBER)
    assert not reloaded.is_current(old)
    assert json.loads(path.read_text())["active"] == "k2"


@pytest.mark.parametrize(
    "content", ["not json", "[]", '{"active": "k1", "keys": {"k1": "c2hvcnQ="}, "index_key": "c2hvcnQ="}']
)
def test_a_broken_key_file_is_refused(tmp_path, content):
    path = tmp_path / "keys.json"
    path.write_text(content)
    with pytest.raises(VaultError):
        MyNumberVault.load(path)


def test_the_default_key_file_sits_next_to_the_sqlite_file(tmp_path):
    assert default_key_file(str(tmp_path / "r.db")) == tmp_path.resolve() / "juki-keys.json"
    assert default_key_file(f"sqlite:///{tmp_path}/r.db") == Path(f"{tmp_path}/juki-keys.json")
    assert default_key_file("postgresql://u@h/db") == Path("var/juki-keys.json")
