"""The manual fallback of the notices (標準仕様書 j1090), on SQLite and PostgreSQL: the CS operator's switch between
the link and media (the relay sends nothing over the link while on media, and resumes where it stood), the export of
exactly what may go in each person's order (never behind an error), handed over so that the link never sends it
too, owner-only and logged as a media output in both logs; the simulated prefecture's import with the link's
checks; the answers back into the queue; a tampered file refused whole either way — and never a My Number or an
item's value in a log or a message."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from juki.adapters import tables as rt
from juki.cs.adapters import media_tables
from juki.cs.adapters import tables as t
from juki.cs.adapters.media_file import MediaFiles
from juki.cs.domain import media as d
from juki.cs.services import delivery, media
from juki.cs.services.relay import Relay
from juki.cs.wire import Refused
from juki.domain.errors import Forbidden
from juki.policy.roles import CS_SYSTEM
from juki.services import filings
from juki.sim.juki_net.media import import_file
from juki.sim.juki_net.store import JukiNetStore
from tests import factories as f
from tests.cs.support import CITY, CLERK, CS_OPERATOR, deliver, notices, rows, take_in
from tests.leakcheck import spellings


@pytest.fixture
def out(tmp_path: Path) -> Iterator[Path]:
    """Where a test writes notices files: emptied before the leak check scans tmp_path (they hold numbers)."""
    folder = tmp_path / "media"
    yield folder
    for path in sorted(folder.rglob("*"), reverse=True):
        path.unlink() if path.is_file() else path.rmdir()


@pytest.fixture
def pref_data(tmp_path: Path) -> Path:
    return tmp_path / "juki-net"


def _switch(j, cs, to: str, actor=CS_OPERATOR) -> None:
    media.switch(j.uow, cs.transaction, media_tables.of, actor, to)


def _export(j, cs, out: Path, actor=CS_OPERATOR) -> d.Written:
    return media.export(j.uow, cs.transaction, media_tables.of, MediaFiles(), actor, CITY, out)


def _answers(j, cs, manifest: Path, actor=CS_OPERATOR) -> media.AnswersReport:
    return media.apply_answers(j.uow, cs.transaction, media_tables.of, MediaFiles(), actor, CITY, manifest)


def _family(j, n: int = 3) -> tuple[list[str], list[str], str]:
    body = f.move_in(f.family_of_four()[:n])
    done = filings.file(j.uow, CLERK, "move-in", body)
    return (
        [p["resident_code"] for p in body["persons"]],
        [c["addressee_number"] for c in done.changes],
        done.household_number,
    )


def _move_within(j, household: str, people: list[str], day: int, address: str) -> None:
    filings.file(j.uow, CLERK, "move-within", {
        "filed_on": f"2025-06-{day:02d}", "changed_on": f"2025-06-{day - 1:02d}", "household_number": household,
        "addressee_numbers": people, "address": {"address": address},
    })  # fmt: skip


def _register_log(j, action: str) -> list[Any]:
    with j.engine.connect() as conn:
        log = conn.execute(select(rt.operation_log).order_by(rt.operation_log.c.seq)).all()
    return [r for r in log if r.action == action]


def _lines(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def _state_of(cs) -> dict[tuple[str | None, int | None], str]:
    return {(n.resident_code, n.sequence): n.state for n in notices(cs)}


@contextmanager
def _sim(data: Path) -> Iterator[JukiNetStore]:
    store = JukiNetStore(data)
    try:
        yield store
    finally:
        store.close()


# --- the switch -------------------------------------------------------------------------------------------------


def test_only_the_cs_operator_switches_and_each_switch_is_in_both_logs(j, cs):
    for other in (CLERK, CS_SYSTEM):
        with pytest.raises(Forbidden):
            _switch(j, cs, d.MEDIA, other)
    assert [r.result for r in _register_log(j, "cs:media_mode")] == ["denied", "denied"]
    assert media.status(cs.transaction, media_tables.of).mode.mode == d.LINK  # never switched: the link
    _switch(j, cs, d.MEDIA)
    with pytest.raises(media.ModeUnchanged):
        _switch(j, cs, d.MEDIA)
    with pytest.raises(media.UnknownMode):
        _switch(j, cs, "fax")
    now = media.status(cs.transaction, media_tables.of)
    assert (now.mode.mode, now.mode.staff_id, now.mode.terminal, now.on_media) == (
        d.MEDIA,
        "cs1",
        "cs-terminal-1",
        0,
    )
    _switch(j, cs, d.LINK)
    assert media.status(cs.transaction, media_tables.of).mode.mode == d.LINK
    lines = [
        (r.action, r.result, r.staff_id) for r in rows(cs, t.log, t.log.c.id) if r.action == "media_mode"
    ]
    assert lines == [("media_mode", "media", "cs1"), ("media_mode", "link", "cs1")]
    kept = [(r.result, r.staff_id, r.facts) for r in _register_log(j, "cs:media_mode") if r.result == "ok"]
    assert kept == [
        ("ok", "cs1", {"mode": "media", "on_media": 0}),
        ("ok", "cs1", {"mode": "link", "on_media": 0}),
    ]


def test_on_media_the_relay_takes_in_but_sends_nothing_and_back_on_the_link_it_resumes(j, cs, prefecture):
    @contextmanager
    def connect():
        yield prefecture

    relay = Relay(j.uow, cs.transaction, j.event_key, CITY, connect, media_of=media_tables.of)
    _switch(j, cs, d.MEDIA)
    codes, _, _ = _family(j, 2)
    done = relay.run_once()
    assert (done.taken, done.acknowledged, prefecture.received) == (2, 0, [])
    assert set(_state_of(cs).values()) == {"queued"}
    _switch(j, cs, d.LINK)
    assert relay.run_once().acknowledged == 2
    assert sorted(prefecture.sequences.items()) == sorted((c, 1) for c in codes)


def test_a_switch_during_a_pass_stops_the_link_before_the_next_notice(j, cs, prefecture):
    _family(j, 2)
    take_in(j, cs)

    def switched_once_sent(store) -> bool:  # the operator switches right after the first notice went
        return bool(prefecture.received)

    report = delivery.deliver(cs.transaction, prefecture, "cs-server", paused=switched_once_sent)
    assert len(report.acknowledged) == 1 and len(prefecture.received) == 1


# --- the export -------------------------------------------------------------------------------------------------


def test_the_export_holds_what_may_go_in_each_persons_order_never_behind_an_error(j, cs, prefecture, out):
    codes, people, household = _family(j, 3)
    take_in(j, cs)
    prefecture.refuse[(codes[0], 1)] = Refused("logic_error", "続柄", "refused")
    deliver(cs, prefecture)  # the first person's 転入 in the error queue; the others' acknowledged
    _move_within(j, household, people, 20, "東京都小平市学園東町一丁目1番1号")
    _move_within(j, household, people, 25, "東京都小平市学園東町二丁目2番2号")
    take_in(j, cs)
    _switch(j, cs, d.MEDIA)
    written = _export(j, cs, out)
    lines = _lines(written.path)
    in_file = [(n["resident_code"], n["sequence"]) for n in lines]
    assert sorted(in_file) == sorted([(codes[1], 2), (codes[1], 3), (codes[2], 2), (codes[2], 3)])
    assert [s for c, s in in_file if c == codes[1]] == [2, 3] and [
        s for c, s in in_file if c == codes[2]
    ] == [2, 3]
    by_id = {n.notice_id: n for n in notices(cs)}
    for line in lines:  # the wire's JSON, item for item, the 個人番号 with it (the prefecture holds it)
        entry = by_id[line["notice_id"]]
        assert line["kind"] == entry.kind and line["items"]["更新順番号"] == str(entry.sequence)
        assert line["items"]["個人番号"] not in (None, "")
    states = _state_of(cs)
    assert [states[k] for k in in_file] == ["on_media"] * 4
    assert states[(codes[0], 1)] == "error" and states[(codes[0], None)] == "held"
    manifest = json.loads(written.manifest_path.read_text(encoding="utf-8"))
    assert manifest == {
        "format": d.NOTICES_FORMAT, "format_version": 1, "city_code": CITY, "created_at": manifest["created_at"],
        "file": written.path.name, "count": 4, "sha256": hashlib.sha256(written.path.read_bytes()).hexdigest(),
    }  # fmt: skip
    for path in (written.path, written.manifest_path):
        assert path.stat().st_mode & 0o777 == 0o600


def test_the_export_is_a_media_output_in_both_logs_with_operator_terminal_count_and_digest(j, cs, out):
    codes, _, _ = _family(j, 2)
    take_in(j, cs)
    _switch(j, cs, d.MEDIA)
    written = _export(j, cs, out)
    cs_log = [r for r in rows(cs, t.log, t.log.c.id) if r.action == "media_export"]
    assert [(r.result, r.staff_id, r.terminal) for r in cs_log] == [
        ("on_media", "cs1", "cs-terminal-1"), ("on_media", "cs1", "cs-terminal-1"), ("ok", "cs1", "cs-terminal-1")
    ]  # fmt: skip
    assert "2件" in cs_log[-1].message and written.manifest.sha256 in cs_log[-1].message
    (entry,) = _register_log(j, "cs:media_export")
    assert (entry.staff_id, entry.terminal, entry.my_number_shown, entry.result) == (
        "cs1",
        "cs-terminal-1",
        True,
        "ok",
    )
    assert entry.facts == {"count": 2, "sha256": written.manifest.sha256, "file": written.path.name}
    numbers = [line["items"]["個人番号"] for line in _lines(written.path)]
    texts = [f"{r.message}" for r in rows(cs, t.log, t.log.c.id)] + [f"{entry.detail} {entry.facts}"]
    assert not any(n in spellings("\n".join(texts)) for n in numbers)
    (kept,) = rows(cs, media_tables.exports)
    assert kept.count == 2 and sorted(n["resident_code"] for n in kept.notices) == sorted(codes)


def test_only_the_cs_operator_exports_and_only_while_on_media(j, cs, out):
    _family(j, 1)
    take_in(j, cs)
    with pytest.raises(media.SendingByLink):
        _export(j, cs, out)
    _switch(j, cs, d.MEDIA)
    for other in (CLERK, CS_SYSTEM):
        with pytest.raises(Forbidden):
            _export(j, cs, out, other)
    assert [r.result for r in _register_log(j, "cs:media_export")] == ["denied", "denied"]
    assert not out.exists() or not any(out.iterdir())
    assert set(_state_of(cs).values()) == {"queued"}


def test_nothing_goes_twice_what_is_on_media_is_never_sent_over_the_link(j, cs, prefecture, out):
    codes, people, household = _family(j, 2)
    take_in(j, cs)
    _switch(j, cs, d.MEDIA)
    _export(j, cs, out)
    with pytest.raises(media.NothingToExport):  # a second export: nothing new may go
        _export(j, cs, out)
    _move_within(j, household, people, 20, "東京都小平市学園東町一丁目1番1号")
    take_in(j, cs)
    with pytest.raises(media.NothingToExport):  # the later notices wait behind those on media
        _export(j, cs, out)
    _switch(j, cs, d.LINK)
    report = deliver(cs, prefecture)
    assert (report.acknowledged, prefecture.received) == ([], [])
    states = _state_of(cs)
    assert [states[(c, 1)] for c in codes] == ["on_media"] * 2 and [states[(c, 2)] for c in codes] == [
        "queued"
    ] * 2


# --- the prefecture's side and the answers ----------------------------------------------------------------------


def test_the_prefecture_applies_the_file_in_order_and_the_answers_acknowledge_each_notice(
    j, cs, out, pref_data
):
    codes, people, household = _family(j, 2)
    _move_within(j, household, people, 20, "東京都小平市学園東町一丁目1番1号")
    take_in(j, cs)
    _switch(j, cs, d.MEDIA)
    written = _export(j, cs, out)
    imported = import_file(pref_data, written.manifest_path)
    assert imported.counts == {"accepted": 4, "duplicate": 0, "refused": 0}
    assert imported.answers_path.stat().st_mode & 0o777 == 0o600
    with _sim(pref_data) as sim:
        assert [getattr(sim.held(c), "sequence", None) for c in codes] == [2, 2]
    report = _answers(j, cs, imported.manifest_path)
    assert (len(report.acknowledged), report.refused, report.requeued) == (4, [], [])
    assert set(_state_of(cs).values()) == {"acknowledged"}
    again = _answers(j, cs, imported.manifest_path)  # the same file again: nothing changes
    assert (again.acknowledged, len(again.skipped)) == ([], 4)
    (first, second) = _register_log(j, "cs:media_answers")
    assert (first.staff_id, first.result, first.facts["acknowledged"], second.facts["skipped"]) == (
        "cs1",
        "ok",
        4,
        4,
    )
    answered = [r for r in rows(cs, t.log, t.log.c.id) if r.action == "answer"]
    assert [(r.result, r.staff_id) for r in answered] == [("accepted", "cs1")] * 4


def test_a_repeat_at_the_prefecture_is_acknowledged_as_a_duplicate(j, cs, out, pref_data):
    _family(j, 1)
    take_in(j, cs)
    _switch(j, cs, d.MEDIA)
    written = _export(j, cs, out)
    copy = out / "again"
    copy.mkdir()
    for path in (written.path, written.manifest_path):
        (copy / path.name).write_bytes(path.read_bytes())
    assert import_file(pref_data, written.manifest_path).counts["accepted"] == 1
    assert import_file(pref_data, copy / written.manifest_path.name).counts == {
        "accepted": 0, "duplicate": 1, "refused": 0
    }  # fmt: skip
    with pytest.raises(d.MediaFileError) as twice:  # the same file twice: its answers are there already
        import_file(pref_data, written.manifest_path)
    assert twice.value.code == "media_answers_exist"


def test_a_refusal_goes_to_the_error_queue_and_the_persons_later_notice_back_to_queued(
    j, cs, prefecture, out, pref_data
):
    _, people, household = _family(j, 1)
    take_in(j, cs)
    deliver(cs, prefecture)  # the 転入 went over the link to another prefecture server: ours does not hold it
    _move_within(j, household, people, 20, "東京都小平市学園東町一丁目1番1号")
    _move_within(j, household, people, 25, "東京都小平市学園東町二丁目2番2号")
    take_in(j, cs)
    _switch(j, cs, d.MEDIA)
    imported = import_file(pref_data, _export(j, cs, out).manifest_path)
    assert imported.counts["refused"] == 2
    report = _answers(j, cs, imported.manifest_path)
    assert (len(report.refused), len(report.requeued)) == (1, 1)
    (second, third) = [n for n in notices(cs) if n.sequence in (2, 3)]
    assert (second.state, second.error_code, second.error_item) == (
        "error",
        "unknown_resident_code",
        "住民票コード",
    )
    assert (
        second.error_message == "都道府県サーバが受け付けませんでした: unknown_resident_code（住民票コード）"
    )
    assert (third.state, third.error_code) == ("queued", None)


def test_a_notice_the_answers_leave_out_stays_on_media(j, cs, out, pref_data):
    codes, _, _ = _family(j, 2)
    take_in(j, cs)
    _switch(j, cs, d.MEDIA)
    imported = import_file(pref_data, _export(j, cs, out).manifest_path)
    kept = imported.answers_path.read_text(encoding="utf-8").splitlines()[:1]  # the prefecture answered one
    _rewrite(imported.answers_path, imported.manifest_path, kept)
    report = _answers(j, cs, imported.manifest_path)
    assert len(report.acknowledged) == 1
    answered = json.loads(kept[0])["resident_code"]
    states = _state_of(cs)
    assert states[(answered, 1)] == "acknowledged"
    assert [states[(c, 1)] for c in codes if c != answered] == ["on_media"]
    assert media.status(cs.transaction, media_tables.of).on_media == 1


def _rewrite(path: Path, manifest_path: Path, lines: list[str], **manifest_changes: Any) -> None:
    """An answers file rewritten with a manifest that matches it (as one who knows the format would)."""
    data = "".join(line + "\n" for line in lines).encode("utf-8")
    path.write_bytes(data)
    manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
    manifest |= {"count": len(lines), "sha256": hashlib.sha256(data).hexdigest()} | manifest_changes
    manifest_path.write_text(json.dumps(manifest), encoding="utf-8")


# --- tampering, both ways ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("spoil", "code"),
    [
        (lambda b: b.replace(b'"sequence":1', b'"sequence":2', 1), "media_file_tampered"),
        (lambda b: b[: b.index(b"\n") + 1], "media_count_mismatch"),
        (lambda b: b[:-1], "media_count_mismatch"),
    ],
)
def test_a_tampered_notices_file_is_refused_whole_at_the_prefecture(j, cs, out, pref_data, spoil, code):
    _family(j, 2)
    take_in(j, cs)
    _switch(j, cs, d.MEDIA)
    written = _export(j, cs, out)
    written.path.write_bytes(spoil(written.path.read_bytes()))
    with pytest.raises(d.MediaFileError) as refused:
        import_file(pref_data, written.path)
    assert refused.value.code == code
    with _sim(pref_data) as sim:
        assert sim.notice_count() == 0
    assert not list(out.glob("*.answers*"))


def _exported_and_answered(j, cs, out, pref_data) -> Any:
    _family(j, 2)
    take_in(j, cs)
    _switch(j, cs, d.MEDIA)
    return import_file(pref_data, _export(j, cs, out).manifest_path)


@pytest.mark.parametrize(
    ("spoil", "code"),
    [
        ("a byte", "media_file_tampered"),
        ("a line gone", "media_count_mismatch"),
        ("another export", "media_answers_unknown_export"),
        ("another sequence", "media_answers_mismatch"),
        ("not an answer", "media_file_malformed"),
    ],
)
def test_a_tampered_answers_file_is_refused_whole_kept_and_logged(j, cs, out, pref_data, spoil, code):
    imported = _exported_and_answered(j, cs, out, pref_data)
    path, manifest = imported.answers_path, imported.manifest_path
    lines = path.read_text(encoding="utf-8").splitlines()
    if spoil == "a byte":
        path.write_bytes(path.read_bytes().replace(b"accepted", b"accepteD", 1))
    elif spoil == "a line gone":
        path.write_text(lines[0] + "\n", encoding="utf-8")
    elif spoil == "another export":
        _rewrite(path, manifest, lines, notices_sha256="0" * 64)
    elif spoil == "another sequence":
        _rewrite(path, manifest, [json.dumps(json.loads(lines[0]) | {"sequence": 9}), lines[1]])
    else:
        _rewrite(path, manifest, [json.dumps({"notice_id": 1}), lines[1]])
    with pytest.raises(d.MediaFileError) as refused:
        _answers(j, cs, manifest)
    assert refused.value.code == code
    assert set(_state_of(cs).values()) == {"on_media"}  # nothing applied
    (kept,) = rows(cs, media_tables.answers)
    assert (kept.result, kept.staff_id) == (code, "cs1")
    assert [r.result for r in rows(cs, t.log, t.log.c.id) if r.action == "media_answers"] == [code]
    assert [r.result for r in _register_log(j, "cs:media_answers")] == [code]


def test_only_the_cs_operator_applies_answers(j, cs, out, pref_data):
    imported = _exported_and_answered(j, cs, out, pref_data)
    with pytest.raises(Forbidden):
        _answers(j, cs, imported.manifest_path, CLERK)
    assert set(_state_of(cs).values()) == {"on_media"}


def test_a_manifest_of_another_city_or_format_is_refused():
    good = d.Manifest(d.NOTICES_FORMAT, CITY, "2026-12-07T00:00:00+00:00", "a.jsonl", 0, "0" * 64).to_json()
    assert d.manifest_from_json(good, d.NOTICES_FORMAT, CITY).count == 0
    for change in ({"city_code": "132039"}, {"format": d.ANSWERS_FORMAT}, {"count": -1}, {"file": "../x"}):
        with pytest.raises(d.MediaFileError) as refused:
            d.manifest_from_json(good | change, d.NOTICES_FORMAT, CITY)
        assert refused.value.code == "media_manifest_invalid"


def test_an_answer_carries_a_code_and_an_item_name_never_a_value():
    line = {"notice_id": "n", "resident_code": "12345678903", "sequence": 1, "result": "refused"}
    assert d.answer_from_json(line | {"code": "logic_error", "item": "住所"}, 1).item == "住所"
    for bad in ({"code": "東京都小平市", "item": None}, {"code": "logic_error", "item": "東京都小平市"}, {}):
        with pytest.raises(d.MediaFileError):
            d.answer_from_json(line | bad, 1)
