"""File feeds (差分・全件) on both engines, over the register's own 庁内連携 core: the 差分 files of a system together
are its changes in order, each once, across a crash at any step; the manifest verifies; only the policy's items;
the 個人番号 only sealed; owner-only; kept for the retention; every delivery in the operation log."""

from __future__ import annotations

import hashlib
import os
import stat
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from juki.adapters import tables as t
from juki.policy.roles import SYSTEM, Actor
from juki.services import filings, transfer_feed
from juki.services.audit import LogEntry
from juki.transfer_delivery import files
from juki.transfer_delivery import folder as fs
from juki.transfer_delivery.csv_format import CsvRows
from juki.transfer_delivery.feed import Page, RegisterCore, RegisterFeed, cursor_name
from juki.transfer_delivery.sealed import SealError, SystemKey, load_or_create_key, open_file
from tests import factories as f

CLERK = Actor("clerk1", "窓口 一郎", "clerk", "test")
NOW = datetime(2025, 6, 30, 3, 0, tzinfo=UTC)
PLAIN, SEALED = "senkyo", "gakumu"  # 選挙管理委員会 (no 個人番号), 学務課 (with it)


@pytest.fixture
def feed(j):
    return RegisterFeed(j.uow)


@pytest.fixture
def settings(tmp_path):
    return files.FileSettings(tmp_path / "out", tmp_path / "keys", retention_days=30, now=lambda: NOW)


KIDS = [("一郎", "イチロウ"), ("二郎", "ジロウ"), ("三郎", "サブロウ")]


def _move_in(j, family_name: str, count: int = 2) -> list[str]:
    persons = [f.person(family_name=family_name)] + [
        f.person("子", family_name=family_name, given_name=name, given_name_kana=kana)
        for name, kana in KIDS[: count - 1]
    ]
    done = filings.file(j.uow, CLERK, "move-in", f.move_in(persons))
    return [c["addressee_number"] for c in done.changes]


def _changes(j, system_id: str) -> list[dict]:
    return transfer_feed.changes_for(j.uow, system_id, 0, 1000, include_my_number=system_id == SEALED).changes


def _sequences(j, system_id: str) -> list[str]:
    return [str(c["sequence"]) for c in _changes(j, system_id)]


def _diff_rows(settings, system_id: str) -> list[list[str]]:
    """The records of every finished 差分 of a system, in the order of their names (their cursor ranges)."""
    folder = settings.out / system_id
    rows: list[list[str]] = []
    for path, manifest in fs.manifests(folder):
        if manifest["kind"] != files.DIFF:
            continue
        data = folder / fs.data_name(path.name)
        sealed = manifest["encryption"] is not None
        lines = files.read_csv(data, settings.key_dir, system_id) if sealed else iter([data.read_bytes()])
        found = files.rows_of(lines)
        assert found[0] == manifest["columns"] and len(found) - 1 == manifest["row_count"]
        rows += found[1:]
    return rows


def _deliveries(j, system_id: str) -> list[tuple[str, list[str]]]:
    """The operation log's delivery entries of a system: (channel, persons)."""
    log = t.operation_log.c
    query = select(log.terminal, log.targets).where(
        log.action == "transfer:deliver", log.staff_id == system_id
    )
    with j.engine.connect() as conn:
        return [(row.terminal, list(row.targets)) for row in conn.execute(query.order_by(log.seq))]


def test_the_diff_files_together_are_the_changes_in_order_each_once(j, feed, settings):
    first_family = _move_in(j, "山田")
    first = files.write_changes(feed, feed.target(PLAIN), settings)
    second_family = _move_in(j, "鈴木", 3)
    second = files.write_changes(feed, feed.target(PLAIN), settings)
    again = files.write_changes(feed, feed.target(PLAIN), settings)  # nothing new: no file
    assert [len(r.written) for r in (first, second, again)] == [1, 1, 0]
    assert [r[0] for r in _diff_rows(settings, PLAIN)] == _sequences(j, PLAIN)
    ranges = [w.manifest["cursor"] for w in first.written + second.written]
    assert ranges[0]["to"] == ranges[1]["from"] and feed.cursor(cursor_name("file", PLAIN)) == ranges[1]["to"]
    assert _deliveries(j, PLAIN) == [("file", sorted(first_family)), ("file", sorted(second_family))]


def test_a_long_backlog_is_split_into_files_of_at_most_max_rows(j, feed, settings):
    _move_in(j, "山田", 3)
    _move_in(j, "鈴木", 2)
    small = files.FileSettings(settings.out, settings.key_dir, max_rows=2, now=lambda: NOW)
    report = files.write_changes(feed, feed.target(PLAIN), small)
    assert [w.manifest["row_count"] for w in report.written] == [2, 2, 1]
    assert [r[0] for r in _diff_rows(settings, PLAIN)] == _sequences(j, PLAIN)


class Crash(Exception):
    pass


def test_a_crash_after_the_file_before_the_cursor_neither_loses_nor_repeats_a_change(j, feed, settings):
    first_family = _move_in(j, "山田")
    real = feed.delivered

    def dies(*args, **kwargs):
        raise Crash

    feed.delivered = dies  # the process dies after the file is in place, before the log and the cursor
    with pytest.raises(Crash):
        files.write_changes(feed, feed.target(SEALED), settings)
    assert feed.cursor(cursor_name("file", SEALED)) == 0 and not _deliveries(j, SEALED)
    second_family = _move_in(j, "鈴木")  # more changes meanwhile
    feed.delivered = real
    report = files.write_changes(feed, feed.target(SEALED), settings)
    assert len(report.recovered) == 1 and len(report.written) == 1
    assert [r[0] for r in _diff_rows(settings, SEALED)] == _sequences(j, SEALED)
    # the recovered file logged once, with the persons it names (read back from the sealed file itself)
    assert _deliveries(j, SEALED) == [("file", sorted(first_family)), ("file", sorted(second_family))]


class LogThenCrash(RegisterCore):
    """A delivery log that dies after writing its entry, before its commit."""

    def log_delivery(self, uow_factory, system_id, persons, items, channel):  # type: ignore[no-untyped-def]
        with uow_factory() as uow:
            uow.log(SYSTEM, LogEntry("transfer:deliver", persons))
            raise Crash


def test_the_cursor_moves_in_the_transaction_of_the_delivery_log_and_not_without_it(j, settings):
    _move_in(j, "山田")
    feed = RegisterFeed(j.uow, LogThenCrash(j.uow))
    with pytest.raises(Crash):
        files.write_changes(feed, feed.target(PLAIN), settings)
    log = t.operation_log.c
    with j.engine.connect() as conn:
        logged = conn.execute(select(log.seq).where(log.action == "transfer:deliver")).all()
    assert feed.cursor(cursor_name("file", PLAIN)) == 0 and not logged
    report = files.write_changes(RegisterFeed(j.uow), feed.target(PLAIN), settings)  # the next run records it
    assert len(report.recovered) == 1 and not report.written and len(_deliveries(j, PLAIN)) == 1


def test_a_crash_while_writing_leaves_no_file_a_reader_takes_and_no_moved_cursor(j, settings):
    _move_in(j, "山田")
    core = RegisterCore(j.uow)
    real = core.changes_for

    def rows_then_crash(*args, **kwargs):
        page = real(*args, **kwargs)
        return Page([*page.changes[:1], "not a change"], page.next)  # type: ignore[list-item]

    core.changes_for = rows_then_crash  # type: ignore[method-assign]
    feed = RegisterFeed(j.uow, core)
    with pytest.raises(AttributeError):
        files.write_changes(feed, feed.target(PLAIN), settings)
    folder = settings.out / PLAIN
    assert not fs.manifests(folder) and feed.cursor(cursor_name("file", PLAIN)) == 0
    assert any(
        p.name.endswith(fs.TMP_SUFFIX) for p in folder.iterdir()
    )  # the half file, under its temporary name
    core.changes_for = real  # type: ignore[method-assign]
    report = files.write_changes(feed, feed.target(PLAIN), settings)
    assert report.removed and len(report.written) == 1
    assert not any(p.name.endswith(fs.TMP_SUFFIX) for p in folder.iterdir())
    assert [r[0] for r in _diff_rows(settings, PLAIN)] == _sequences(j, PLAIN)


def test_a_data_file_renamed_without_its_manifest_is_removed_and_written_again(j, feed, settings):
    _move_in(j, "山田")
    report = files.write_changes(feed, feed.target(PLAIN), settings)
    written = report.written[0].path
    Path(f"{written}{fs.MANIFEST_SUFFIX}").unlink()  # as if the run died between the two renames,
    with j.uow() as uow:  # when the cursor had not moved either
        uow.set_cursor(cursor_name("file", PLAIN), 0)
        uow.commit()
    again = files.write_changes(feed, feed.target(PLAIN), settings)
    assert again.removed == [written.name] and again.written[0].path.name == written.name


class LeakyCore(RegisterCore):
    """A core that (wrongly) hands out an item beyond the system's basis: the file still never carries it."""

    def changes_for(self, uow_factory, system_id, after, limit):  # type: ignore[no-untyped-def]
        page = super().changes_for(uow_factory, system_id, after, limit)
        for change in page.changes:
            change["record"]["honseki"] = "東京都千代田区千代田1番"
        return page


def test_the_manifest_verifies_and_the_file_holds_only_the_policys_items(j, feed, settings):
    _move_in(j, "山田")
    leaky = RegisterFeed(j.uow, LeakyCore(j.uow))
    [done] = files.write_changes(leaky, feed.target(PLAIN), settings).written
    manifest = files.verify(done.path)
    assert manifest["kind"] == "diff" and manifest["system_id"] == PLAIN and manifest["row_count"] == 2
    policy = transfer_feed.system_of(j.uow, PLAIN).items
    assert set(manifest["columns"]) - set(files.DIFF_COLUMNS) == set(policy) - set(files.DIFF_COLUMNS)
    assert manifest["encryption"] is None and manifest["characters"]["newline"] == "CRLF"
    content = done.path.read_bytes()
    assert content.count(b"\r\n") == 3 and "山田".encode() in content
    assert "千代田".encode() not in content and b"honseki" not in content
    with done.path.open("ab") as fh:
        fh.write(b"x")
    with pytest.raises(ValueError, match="SHA-256"):
        files.verify(done.path)


def test_a_system_with_the_my_number_gets_a_sealed_file_that_opens_with_its_key_only(j, feed, settings):
    body = f.move_in([f.person()])
    numbers = {p["my_number"] for p in body["persons"]}
    filings.file(j.uow, CLERK, "move-in", body)
    [done] = files.write_changes(feed, feed.target(SEALED), settings).written
    assert done.path.name.endswith(".csv.enc") and done.manifest["my_number"]
    rows = files.rows_of(files.read_csv(done.path, settings.key_dir, SEALED))
    opened = {r[rows[0].index("my_number")] for r in rows[1:]} == numbers
    assert opened  # compared without showing a number
    plain = b"".join(files.read_csv(done.path, settings.key_dir, SEALED))
    assert hashlib.sha256(plain).hexdigest() == done.manifest["encryption"]["plaintext_sha256"]
    truncated = done.path.with_name("cut.enc")
    truncated.write_bytes(done.path.read_bytes()[:-5])
    with pytest.raises(SealError), truncated.open("rb") as fh:
        b"".join(open_file(load_or_create_key(settings.key_dir, SEALED), fh))
    stranger = SystemKey(SEALED, {"k1": os.urandom(32)}, "k1")  # the same system's name, not its key
    with pytest.raises(SealError), done.path.open("rb") as fh:
        b"".join(open_file(stranger, fh))
    with pytest.raises(SealError), done.path.open("rb") as fh:  # another system's key
        b"".join(open_file(load_or_create_key(settings.key_dir, PLAIN), fh))


def test_files_are_owner_only_and_expire_after_the_retention(j, feed, settings):
    _move_in(j, "山田")
    [done] = files.write_changes(feed, feed.target(SEALED), settings).written
    for path in (done.path, Path(f"{done.path}{fs.MANIFEST_SUFFIX}"), settings.key_dir / f"{SEALED}.json"):
        assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    for folder in (settings.out, settings.out / SEALED):
        assert stat.S_IMODE(os.stat(folder).st_mode) == 0o700
    later = files.FileSettings(
        settings.out, settings.key_dir, 30, now=lambda: NOW + timedelta(days=30, seconds=1)
    )
    report = files.write_changes(feed, feed.target(SEALED), later)
    assert report.removed == [done.path.name] and not done.path.exists()
    assert not fs.manifests(settings.out / SEALED)


def test_a_full_extract_holds_each_person_once_with_the_policys_items(j, feed, settings):
    family = _move_in(j, "山田", 3)
    [done] = files.write_full(feed, feed.target(PLAIN), settings).written
    rows = files.rows_of(iter([done.path.read_bytes()]))
    assert rows[0][: len(files.FULL_COLUMNS)] == list(files.FULL_COLUMNS)
    assert sorted(r[0] for r in rows[1:]) == sorted(family)
    assert done.manifest["kind"] == "full" and done.manifest["cursor"] == {
        "from": None,
        "to": transfer_feed.head(j.uow),
    }
    assert files.verify(done.path)["row_count"] == 3
    assert _deliveries(j, PLAIN) == [("file", sorted(family))]


def test_one_run_at_a_time_per_system(feed, settings):
    folder = fs.owner_only_dir(fs.owner_only_dir(settings.out) / PLAIN)
    with fs.locked(folder), pytest.raises(fs.FolderBusy):
        files.write_changes(feed, feed.target(PLAIN), settings)


def test_characters_outside_jis_x_0213_are_kept_and_reported_and_controls_replaced():
    rows = CsvRows(["name", "note"])
    line = rows.row({"name": "𠮷田", "note": "a\r\nb\x00"}).decode()
    assert line == '"𠮷田","a  b "\r\n'
    kinds = [(i.column, i.kind, i.codepoints) for i in rows.issues]
    assert ("name", "outside_jis_x_0213", "U+20BB7") in kinds
    assert ("note", "control_replaced", "U+000D") in kinds and rows.issue_count == 4
    assert rows.row({"name": "髙橋", "note": True}).decode() == '"髙橋","1"\r\n'
    assert rows.issues[-1].codepoints == "U+9AD9"
