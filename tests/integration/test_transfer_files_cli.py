"""`juki transfer files` and `juki transfer decrypt` on both engines: the 差分 run and its rerun, a 全件 to a
removable medium recorded as a media export (witness checked before anything is written), and the department's
decryption checked against the manifest (a damaged file leaves no part of a CSV behind)."""

from __future__ import annotations

import json
import time

import pyotp
import pytest
from sqlalchemy import select
from typer.testing import CliRunner

from juki.adapters import tables as t
from juki.cli.main import app
from juki.policy.roles import Actor
from juki.services import filings
from juki.transfer_delivery import files
from juki.transfer_delivery import folder as fs
from tests import factories as f
from tests.conftest import PASSWORD, STAFF

runner = CliRunner()
CLERK = Actor("clerk1", "窓口 一郎", "clerk", "test")


@pytest.fixture
def key_dir(tmp_path, monkeypatch):
    monkeypatch.setenv("JUKI_TRANSFER_KEY_DIR", str(tmp_path / "keys"))
    return tmp_path / "keys"


def _files(out, system_id: str, kind: str) -> list:
    return [fs.data_name(p.name) for p, m in fs.manifests(out / system_id) if m["kind"] == kind]


def test_the_files_command_writes_each_new_difference_once(j, db_url, tmp_path, key_dir):
    filings.file(j.uow, CLERK, "move-in", f.move_in())
    out = tmp_path / "out"
    first = runner.invoke(app, ["transfer", "files", "--db", db_url, "--out", str(out), "--system", "senkyo"])
    assert first.exit_code == 0, first.output
    assert "senkyo_diff_" in first.output and "(4 件)" in first.output
    again = runner.invoke(app, ["transfer", "files", "--db", db_url, "--out", str(out), "--system", "senkyo"])
    assert again.exit_code == 0 and "新しい異動はありません" in again.output
    assert len(_files(out, "senkyo", "diff")) == 1
    unknown = runner.invoke(
        app, ["transfer", "files", "--db", db_url, "--out", str(out), "--system", "nobody"]
    )
    assert unknown.exit_code == 2 and not (out / "nobody").exists()


def test_a_full_extract_to_a_medium_is_a_media_export_with_its_witness(
    j, db_url, template, tmp_path, key_dir
):
    filings.file(j.uow, CLERK, "move-in", f.move_in())
    out = tmp_path / "usb"
    supervisor, clerk = STAFF["supervisor"][0], STAFF["clerk"][0]
    base = [
        "transfer",
        "files",
        "--db",
        db_url,
        "--out",
        str(out),
        "--system",
        "senkyo",
        "--full",
        "--medium",
        "USB",
    ]
    sign_in = ["--user", supervisor, "--password", PASSWORD]
    own = runner.invoke(app, [*base, *sign_in, "--otp", pyotp.TOTP(template.secrets[supervisor]).now(),
                              "--witness", supervisor])  # fmt: skip
    assert own.exit_code == 2 and "立会者" in own.output and not out.exists()  # refused before writing
    done = runner.invoke(app, [*base, *sign_in, "--otp", pyotp.TOTP(template.secrets[supervisor]).at(time.time() + 30),
                               "--witness", clerk])  # fmt: skip
    assert done.exit_code == 0, done.output
    [name] = _files(out, "senkyo", "full")
    manifest = files.verify(out / "senkyo" / name)
    with j.engine.connect() as conn:
        [record] = conn.execute(select(t.media_exports)).all()
        [entry] = conn.execute(
            select(t.operation_log).where(t.operation_log.c.action == "transfer:deliver")
        ).all()
    assert (record.staff_id, record.witness_id, record.medium) == (supervisor, clerk, "USB")
    assert (
        (record.sha256, record.item_count)
        == (manifest["sha256"], manifest["row_count"])
        == (record.sha256, 4)
    )
    assert entry.terminal == "media" and len(entry.targets) == 4  # the delivery itself, in the system's name
    no_medium_rule = runner.invoke(
        app, ["transfer", "files", "--db", db_url, "--out", str(out), "--medium", "USB"]
    )
    assert no_medium_rule.exit_code == 2 and "全件" in no_medium_rule.output


def test_the_department_decrypts_a_sealed_file_checked_against_its_manifest(j, db_url, tmp_path, key_dir):
    person = f.person()
    person.pop("my_number")  # the file is sealed all the same; no number is written in plain by this test
    filings.file(j.uow, CLERK, "move-in", f.move_in([person]))
    out = tmp_path / "out"
    done = runner.invoke(app, ["transfer", "files", "--db", db_url, "--out", str(out), "--system", "gakumu"])
    assert done.exit_code == 0, done.output
    [name] = _files(out, "gakumu", "diff")
    sealed = out / "gakumu" / name
    assert name.endswith(".csv.enc") and "世帯主".encode() not in sealed.read_bytes()
    csv_out = tmp_path / "opened.csv"
    opened = runner.invoke(app, ["transfer", "decrypt", str(sealed), "--key", str(key_dir / "gakumu.json"),
                                 "--out", str(csv_out)])  # fmt: skip
    assert opened.exit_code == 0, opened.output
    assert json.loads(opened.output)["verified"] and "世帯主".encode() in csv_out.read_bytes()
    rows = files.rows_of(iter([csv_out.read_bytes()]))
    assert rows[0][-1] == "my_number" and len(rows) == 2
    damaged = tmp_path / "damaged.csv.enc"
    damaged.write_bytes(sealed.read_bytes()[:-1])
    broken = runner.invoke(app, ["transfer", "decrypt", str(damaged), "--key", str(key_dir / "gakumu.json"),
                                 "--out", str(tmp_path / "broken.csv")])  # fmt: skip
    assert broken.exit_code == 2 and not (tmp_path / "broken.csv").exists()


def test_the_push_command_without_a_broker_configured_says_the_pull_api_needs_none(db_url, monkeypatch):
    monkeypatch.delenv("JUKI_NATS_URL", raising=False)
    done = runner.invoke(app, ["transfer", "push", "--db", db_url, "--once"])
    assert done.exit_code == 2 and "JUKI_NATS_URL" in done.output
