"""The 庁内連携 pull API (API.md "Transfer feed and the PIA"): a department system reads the register's changes in
commit order with only the items its basis covers, the protected flag with each, catches up after being offline
with nothing lost or twice, and is refused (logged, nothing given) whatever it asks beyond its basis."""

from __future__ import annotations

import threading
from urllib.parse import urlencode

import pytest
from sqlalchemy import update

from juki.adapters import tables as t
from juki.policy.roles import Actor
from juki.services import filings, protection
from juki.services import transfer_feed as feed
from juki.transfer.policy import SCOPE_CHANGES, seed
from tests import factories as f
from tests.conftest import STAFF
from tests.e2e.role_cases.common import CLERK, NEW_ADDRESS
from tests.e2e.test_roles import login_body
from tests.e2e.transfer_support import (
    client_for,
    last_seq,
    log_rows,
    register,
    token,
)

CHANGES = "/api/v1/transfer/changes"
OFFICER = Actor(STAFF["supervisor"][0], STAFF["supervisor"][1], "supervisor", "test", procedure="protection")


@pytest.fixture
def feed_client(j):
    yield from client_for(j)


def _family(j) -> list[str]:
    done = filings.file(j.uow, CLERK, "move-in", f.move_in(f.family_of_four()))
    return [c["addressee_number"] for c in done.changes]


def _get(http, auth, **params):
    """The query in the URL itself (the leak check reads `include=my_number` there)."""
    return http.get(f"{CHANGES}?{urlencode(params)}" if params else CHANGES, headers=auth)


def _assert_refused(j, res, seq, status: int, code: str, field: str | None = None) -> None:
    assert res.status_code == status, res.text
    assert res.headers["content-type"].startswith("application/problem+json")
    assert [(e["code"], e["field"]) for e in res.json()["errors"]][:1] == [(code, field)] or field is None
    assert "changes" not in res.json()
    rows = log_rows(j, seq)
    assert [r.result for r in rows] == ["denied"], [(r.action, r.result) for r in rows]


def test_each_system_receives_its_items_and_never_more(j, feed_client):
    people = f.family_of_four()
    filings.file(j.uow, CLERK, "move-in", f.move_in(people))
    for system_id in ("senkyo", "gakumu", "hoken-nenkin"):
        system = seed().system(system_id)
        assert system is not None
        res = _get(feed_client, token(feed_client, register(j, system_id)))
        assert res.status_code == 200, res.text
        changes = res.json()["changes"]
        assert [c["change_reason"] for c in changes] == ["転入"] * 4
        for change in changes:
            record = change["record"]
            assert set(record) == {"addressee_number", "status", "version"} | (system.items - {"my_number"})
            assert change["protected"] is False and change["event"] == "ResidentMovedIn"
        assert not any(p["my_number"] in res.text for p in people)  # not asked for
    senkyo = _get(feed_client, token(feed_client, register(j, "senkyo"))).json()["changes"][0]["record"]
    assert "honseki" not in senkyo and "resident_code" not in senkyo and senkyo["family_name"] == "山田"


def test_the_my_number_goes_only_when_asked_and_only_where_the_basis_has_it(j, feed_client):
    people = f.family_of_four()
    filings.file(j.uow, CLERK, "move-in", f.move_in(people))
    hoken = token(feed_client, register(j, "hoken-nenkin"))
    res = _get(feed_client, hoken, include="my_number")
    assert res.status_code == 200, res.text
    assert [c["record"]["my_number"] for c in res.json()["changes"]] == [p["my_number"] for p in people]
    [row] = [r for r in log_rows(j) if r.action == "transfer:deliver"]
    assert row.my_number_shown is True and row.facts["items"].count("my_number") == 1
    assert not any(p["my_number"] in row.detail for p in people)
    narrow = token(feed_client, register(j, "hoken-nenkin"), scope=SCOPE_CHANGES)  # least privilege
    seq = last_seq(j)
    _assert_refused(j, _get(feed_client, narrow, include="my_number"), seq, 403, "forbidden")
    senkyo = token(feed_client, register(j, "senkyo"))
    seq = last_seq(j)
    _assert_refused(j, _get(feed_client, senkyo, include="my_number"), seq, 403, "forbidden")


def test_fields_narrow_and_an_item_beyond_the_basis_is_refused_and_logged(j, feed_client):
    _family(j)
    senkyo = token(feed_client, register(j, "senkyo"))
    res = _get(feed_client, senkyo, fields="family_name,address")
    assert res.status_code == 200
    assert set(res.json()["changes"][0]["record"]) == {
        "addressee_number",
        "status",
        "version",
        "family_name",
        "address",
    }
    seq = last_seq(j)
    beyond = _get(feed_client, senkyo, fields="family_name,honseki")
    _assert_refused(j, beyond, seq, 403, "forbidden", "fields")
    assert "山田" not in beyond.text
    assert "honseki" in log_rows(j, seq)[0].detail


def test_a_department_offline_catches_up_in_order_with_nothing_lost_or_twice(j, feed_client):
    family = _family(j)
    auth = token(feed_client, register(j, "zeimu"))
    first = _get(feed_client, auth).json()
    filings.file(j.uow, CLERK, "move-within", {  # while the department is offline
        "filed_on": "2025-06-20", "changed_on": "2025-06-18", "household_number": family[0],
        "addressee_numbers": family, "address": {"address": NEW_ADDRESS},
    })  # fmt: skip
    _family(j)
    seen, cursor = [], first["next"]
    while True:
        page = _get(feed_client, auth, after=cursor, limit=3).json()
        if not page["changes"]:
            assert page["next"] == cursor  # caught up: an empty page keeps the cursor
            break
        seen += page["changes"]
        cursor = page["next"]
    sequences = [c["sequence"] for c in seen]
    assert sequences == sorted(set(sequences)) and len(seen) == 8
    assert [c["change_reason"] for c in seen] == ["転居"] * 4 + ["転入"] * 4
    assert seen[0]["sequence"] == first["changes"][-1]["sequence"] + 1


def test_a_protected_person_goes_flagged_and_a_temporary_release_changes_nothing(j, feed_client):
    family = _family(j)
    auth = token(feed_client, register(j, "hoken-nenkin"))
    start = _get(feed_client, auth).json()["next"]
    measure = protection.set_measure(j.uow, OFFICER, f.support_measure(family[1], reason="DV"))
    page = _get(feed_client, auth, after=start).json()
    [change] = page["changes"]
    assert change["event"] == "ProtectionChanged" and change["change_reason"] == "支援措置等の設定"
    assert change["protected"] is True and change["addressee_number"] == family[1]
    assert "reason" not in change and "DV" not in str(change)
    protection.release(j.uow, OFFICER, measure["measure_id"], {"minutes": 30, "reason": "確認"})
    again = _get(feed_client, auth).json()["changes"]
    assert {c["addressee_number"]: c["protected"] for c in again}[family[1]] is True
    assert _get(feed_client, auth, after=page["next"]).json()["changes"] == []  # a release is not passed on


@pytest.mark.parametrize("which", ["another system's", "from the future", "forged", "garbage"])
def test_a_cursor_not_issued_to_this_system_is_refused(j, feed_client, which):
    _family(j)
    zeimu = token(feed_client, register(j, "zeimu"))
    senkyo = token(feed_client, register(j, "senkyo"))
    theirs = _get(feed_client, senkyo).json()["next"]
    mine = _get(feed_client, zeimu).json()["next"]
    number, mac = mine.split(".")
    cursor = {
        "another system's": theirs,
        "from the future": f"{int(number) + 100}.{mac}",
        "forged": f"{int(number) - 1}.{mac}",
        "garbage": "abc",
    }[which]
    if (
        which == "from the future"
    ):  # a cursor of this system, well signed, beyond the end (a restored register)
        cursor = feed_client.app.state.transfer_desk.cursor("zeimu", int(number) + 100)
    seq = last_seq(j)
    _assert_refused(j, _get(feed_client, zeimu, after=cursor), seq, 400, "invalid_field", "after")


def test_a_staff_token_is_forbidden_and_a_bad_token_unauthenticated(j, feed_client, totp):
    _family(j)
    login = feed_client.post("/api/v1/auth/login", json=login_body(totp, "department"))
    staff = {"Authorization": f"Bearer {login.json()['access_token']}"}
    seq = last_seq(j)
    res = _get(feed_client, staff)
    assert res.status_code == 403 and res.json()["errors"][0]["code"] == "forbidden"
    assert [(r.role, r.result, r.detail) for r in log_rows(j, seq)] == [
        ("department", "denied", "transfer:feed")
    ]
    seq = last_seq(j)
    forged = _get(feed_client, {"Authorization": "Bearer not-a-token"})
    assert forged.status_code == 401 and forged.json()["errors"][0]["code"] == "unauthenticated"
    assert [r.result for r in log_rows(j, seq)] == ["denied"]
    assert _get(feed_client, {}).status_code == 401
    auth = token(feed_client, register(j, "zeimu"))
    with j.engine.begin() as conn:  # its time is up
        conn.execute(update(t.transfer_tokens).values(expires_at=t.transfer_tokens.c.issued_at))
    seq = last_seq(j)
    expired = _get(feed_client, auth)
    assert expired.status_code == 401 and "changes" not in expired.json()
    assert [r.result for r in log_rows(j, seq)] == ["denied"]


def test_a_token_of_one_department_is_refused_on_another_s_feed(j, feed_client):
    _family(j)
    zeimu = token(feed_client, register(j, "zeimu"))
    seq = last_seq(j)
    _assert_refused(j, _get(feed_client, zeimu, system="senkyo"), seq, 403, "forbidden")
    assert _get(feed_client, zeimu, system="zeimu").status_code == 200


def test_a_delivery_is_logged_with_the_system_the_persons_the_items_and_the_basis(j, feed_client):
    family = _family(j)
    client = register(j, "hoken-nenkin")
    auth = token(feed_client, client)
    seq = last_seq(j)
    assert _get(feed_client, auth).status_code == 200
    [row] = [r for r in log_rows(j, seq) if r.action == "transfer:deliver"]
    assert (row.staff_id, row.role, row.terminal) == (client["client_id"], "department_system", "pull")
    assert sorted(row.targets) == sorted(family) and row.facts["system"] == "hoken-nenkin"
    assert row.procedure.startswith("庁内連携（別紙2 8,11,12,29,34,38")
    assert "別表第1の30の項" in row.detail and "my_number" not in row.facts["items"]


def test_the_long_poll_answers_when_a_change_commits(j, feed_client):
    auth = token(feed_client, register(j, "senkyo"))
    start = _get(feed_client, auth).json()["next"]
    answer: dict[str, object] = {}
    waiting = threading.Thread(
        target=lambda: answer.update(res=_get(feed_client, auth, after=start, wait=30))
    )
    waiting.start()
    watches = None
    for _ in range(10_000):  # until the request waits (the watcher counts it), never a fixed sleep
        watches = getattr(feed_client.app.state, "transfer_watches", None)
        if watches and any(w.waiting for w in watches.values()):
            break
        threading.Event().wait(0.01)
    assert watches and any(w.waiting for w in watches.values())
    family = _family(j)
    waiting.join(30)
    res = answer["res"]
    assert res.status_code == 200  # type: ignore[attr-defined]
    assert [c["addressee_number"] for c in res.json()["changes"]] == family  # type: ignore[attr-defined]


def test_the_full_extract_gives_every_record_removed_ones_too_projected(j, feed_client):
    family = _family(j)
    filings.file(j.uow, CLERK, "death", {"filed_on": "2025-06-29", "died_on": "2025-06-28",
                                          "addressee_number": family[3]})  # fmt: skip
    auth = token(feed_client, register(j, "gakumu"))
    res = feed_client.get("/api/v1/transfer/extract", headers=auth)
    assert res.status_code == 200, res.text
    records = {r["addressee_number"]: r for r in res.json()["records"]}
    assert set(family) <= set(records) and records[family[3]]["record"]["status"] == "removed"
    assert set(records[family[0]]["record"]) == {
        "addressee_number", "status", "version", "household_number", "relationship", "position"}  # fmt: skip
    assert res.json()["next_start"] is None
    follow = _get(feed_client, auth, after=res.json()["changes_from"]).json()
    assert follow["changes"] == []  # the extract already holds everything before it
    assert list(feed.full_extract(j.uow, "gakumu")) == res.json()["records"]
