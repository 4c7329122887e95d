"""自己情報 (やりとり履歴): a resident signs in with the simulated My Number card (the kiosk's card, PIN and checks) and
reads `GET /api/v1/my/usage` — provisions, transfers and staff views of their own data, staff named by department —
with entries withheld by rule absent until their date; refusals (wrong PIN, locked, revoked, someone else's card, a
forged or expired session, another person's history) carry stable codes, are logged, and show nothing.

The world is the kiosk tests' (tests/e2e/kiosk_world.py): a household of four with cards, a neighbour with a card, a
clock fixed on the register's TODAY."""

from __future__ import annotations

import dataclasses
from datetime import UTC, date, datetime, timedelta
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient

from juki.domain import my_usage as my_rules
from juki.domain.dates import JST
from juki.domain.errors import InvalidField, ResidentNotFound
from juki.intermediate.records import ProvisionEntry
from juki.policy.roles import Actor
from juki.services import kiosk_registry, my_usage, protection, register_queries, transfer_feed
from juki.sim.kiosk import session_request
from juki.sim.pki import SimCard
from tests.conftest import STAFF
from tests.e2e import kiosk_world
from tests.e2e.kiosk_world import CLERK, OPEN, SUPER, World, code, protect, wrong

pki, world = kiosk_world.pki, kiosk_world.world  # the kiosk tests' fixtures: their PKI, register and cards

USAGE = "/api/v1/my/usage"
INQUIRY = dataclasses.replace(CLERK, procedure="investigation_inquiry")
SUPERVISOR = Actor(STAFF["supervisor"][0], STAFF["supervisor"][1], "supervisor", "test", procedure="my_usage")


class Provisions:
    """The 中間サーバー's records as the port gives them (juki.intermediate is another component)."""

    def __init__(self, entries: dict[str, list[ProvisionEntry]]) -> None:
        self.entries = entries

    def provisions_for(self, addressee_number: str) -> list[ProvisionEntry]:
        return list(self.entries.get(addressee_number, []))


def client(w: World) -> TestClient:
    return w.client(None)


def sign_in(
    c: TestClient, card: SimCard, pin: str | None = None, cert: SimCard | None = None
) -> httpx.Response:
    """Challenge, the card's answer (signed by `card`, presenting `cert`'s certificate), session."""
    res = c.post("/my/v1/challenges")
    assert res.status_code == 201, res.text
    body = session_request(res.json(), card, pin)
    if cert is not None:
        body["card_certificate"] = cert.certificate_pem
    return c.post("/my/v1/sessions", json=body)


def bearer(c: TestClient, card: SimCard) -> dict[str, str]:
    res = sign_in(c, card)
    assert res.status_code == 201, res.text
    return {"Authorization": f"Bearer {res.json()['session']}"}


def usage(c: TestClient, auth: dict[str, str], **params: str) -> dict[str, Any]:
    res = c.get(USAGE, headers=auth, params=params)
    assert res.status_code == 200, res.text
    answer: dict[str, Any] = res.json()
    return answer


def entries(answer: dict[str, Any], kind: str | None = None) -> list[dict[str, Any]]:
    return [e for e in answer["entries"] if kind is None or e["kind"] == kind]


def last_log(w: World, action: str) -> Any:
    rows = w.log(action=action)
    assert rows, f"no {action} in the log"
    return rows[-1]


# --- what the resident sees ----------------------------------------------------------------------------------------


def test_a_resident_sees_staff_views_by_department_transfers_per_procedure_and_answered_provisions(world):
    householder = world.numbers[0]
    register_queries.get_resident(world.j.uow, CLERK, householder)
    register_queries.get_resident(world.j.uow, CLERK, householder, include_my_number=True)
    register_queries.get_resident(world.j.uow, CLERK, world.other)  # someone else's: not in the history
    page = transfer_feed.changes_for(world.j.uow, "hoken-nenkin", 0, deliver=("hoken-client", "api"))
    assert householder in page.persons
    at = datetime(2025, 6, 20, 3, 0, tzinfo=UTC)
    world.app.state.provision_records = Provisions(
        {
            householder: [
                ProvisionEntry(at, "厚生労働大臣", "番号法第19条第8号別表第2の1の項", "健康保険に関する事務", ("住民票関係情報",), "answered"),
                ProvisionEntry(at, "全国健康保険協会", "番号法第19条第8号別表第2の2の項", "保険給付の支給", ("住民票関係情報",), "refused"),
            ]
        }
    )  # fmt: skip
    c = client(world)

    answer = usage(c, bearer(c, world.cards["householder"]))

    views = entries(answer, "view")
    assert [v["items"] for v in views if v["procedure"] == "住民基本台帳に関する事務"][-2:] == [
        ["住民票の記載事項"],
        ["住民票の記載事項", "個人番号"],
    ]
    assert {v["counterpart"] for v in views} <= {"市民課", "情報システム担当"}
    assert all(v["legal_basis"] for v in views)
    transfers = entries(answer, "transfer")
    assert transfers and {t["counterpart"] for t in transfers} == {"保険年金課"}
    system = transfer_feed.system_of(world.j.uow, "hoken-nenkin")
    assert {t["procedure"] for t in transfers} <= {r.purpose for r in system.procedures}
    assert {t["legal_basis"] for t in transfers} <= {r.legal_basis for r in system.procedures}
    assert len(transfers) >= 2  # one delivery, one entry per 事務 it served
    named = {my_rules.ITEM_NAMES[i] for i in page.items if i in my_rules.ITEM_NAMES}
    assert all(set(t["items"]) <= named and t["items"] for t in transfers)  # what went, in Japanese
    order = list(my_rules.ITEM_NAMES.values())
    assert all(t["items"] == sorted(t["items"], key=order.index) for t in transfers)  # in the record's order
    provisions = entries(answer, "provision")
    assert [(p["counterpart"], p["procedure"]) for p in provisions] == [
        ("厚生労働大臣", "健康保険に関する事務")
    ]
    assert provisions[0]["at"] == at.isoformat() and provisions[0]["items"] == ["住民票関係情報"]
    assert [e["at"] for e in answer["entries"]] == sorted(e["at"] for e in answer["entries"])
    assert set(answer["entries"][0]) == {"at", "kind", "counterpart", "procedure", "legal_basis", "items"}
    text = c.get(USAGE, headers=bearer(c, world.cards["householder"])).text
    for name in (STAFF["clerk"][0], STAFF["clerk"][1], "窓口", world.other, "hoken-client"):
        assert name not in text  # staff only by department; nobody else's number
    logged = last_log(world, "my:usage")
    assert logged.role == "resident" and list(logged.targets) == [householder] and logged.result == "ok"


def test_the_residents_own_sign_ins_and_reads_are_not_uses(world):
    c = client(world)
    auth = bearer(c, world.cards["wife"])
    first = usage(c, auth)
    second = usage(c, auth)
    assert first["entries"] == second["entries"]
    assert not [e for e in second["entries"] if "自己情報" in e["procedure"]]


def test_the_person_comes_from_the_session_and_naming_another_is_refused_and_logged(world):
    c = client(world)
    auth = bearer(c, world.cards["householder"])
    assert usage(c, auth, addressee_number=world.numbers[0])  # one's own number is harmless
    for params in ({"addressee_number": world.other}, {"person": world.numbers[1]}, {"q": world.other}):
        res = c.get(USAGE, headers=auth, params=params)
        assert res.status_code == 403 and code(res) == "forbidden", res.text
        assert "entries" not in res.text
        denied = last_log(world, "my:usage")
        assert denied.result == "denied" and "another_person" in denied.detail
        assert list(denied.targets) == [world.numbers[0]]
    assert c.get(f"{USAGE}/{world.other}", headers=auth).status_code == 404


# --- refusals of the card -------------------------------------------------------------------------------------------


def test_a_wrong_pin_is_refused_and_logged_but_not_counted_and_nothing_is_shown(world):
    """The portal's client is the resident's own computer: its report of a wrong PIN proves nothing, so it cannot
    lock the card (anyone with a copy of the certificate could otherwise lock anyone's)."""
    card = world.cards["wife"]
    c = client(world)
    for _ in range(4):
        res = sign_in(c, card, wrong(card))
        assert res.status_code == 401 and code(res) == "unauthenticated", res.text
        assert res.json()["errors"][0]["field"] == "pin" and "暗証番号が違います" in res.text
        assert "session" not in res.json()
    assert sign_in(c, card).status_code == 201  # still the card's: the right PIN opens it
    logged = world.log(action="my:sign_in")
    assert [r.result for r in logged] == ["wrong_pin"] * 4 + ["ok"]
    assert all(list(r.targets) == [world.numbers[1]] for r in logged)


def test_a_card_the_kiosk_locked_is_refused_by_the_portal(world):
    card = world.cards["wife"]
    kiosk = world.client("kiosk-a")
    for _ in range(3):  # a kiosk is a registered device: its reports count, and three lock the card
        kiosk_world.sign_in(kiosk, card, wrong(card))
    res = sign_in(client(world), card)
    assert code(res) == "card_locked", res.text
    assert "session" not in res.json()
    assert world.log(action="my:sign_in")[-1].result == "locked"


def test_revoked_suspended_unknown_and_someone_elses_card_are_refused(world):
    c = client(world)
    kiosk_registry.set_card_state(world.j.uow, CLERK, world.cards["wife"].serial, "suspended")
    res = sign_in(c, world.cards["wife"])
    assert res.status_code == 401 and code(res) == "unauthenticated" and "一時停止" in res.text
    kiosk_registry.set_card_state(world.j.uow, CLERK, world.cards["other"].serial, "revoked")
    res = sign_in(c, world.cards["other"])
    assert code(res) == "unauthenticated" and "失効" in res.text
    stranger = kiosk_world.issue_card(world.pki.card_ca, now=world.clock())  # never registered by the city
    res = sign_in(c, stranger)
    assert code(res) == "unauthenticated" and "登録されていません" in res.text
    # the householder's certificate with a signature made by another card's key: not the holder's card
    res = sign_in(c, world.cards["wife"], cert=world.cards["householder"])
    assert res.status_code == 401 and code(res) == "unauthenticated", res.text
    reasons = [r.detail.split("reason=")[1] for r in world.log(action="my:sign_in")]
    assert reasons == ["suspended", "revoked", "unknown_card", "bad_signature"]
    assert all(r.result == "denied" for r in world.log(action="my:sign_in"))


def test_a_challenge_is_good_once(world):
    c = client(world)
    challenge = c.post("/my/v1/challenges").json()
    body = session_request(challenge, world.cards["householder"])
    assert c.post("/my/v1/sessions", json=body).status_code == 201
    again = c.post("/my/v1/sessions", json=body)
    assert again.status_code == 401 and code(again) == "unauthenticated"
    assert again.json()["errors"][0]["field"] == "challenge_id"


# --- the session --------------------------------------------------------------------------------------------------


def test_a_forged_an_expired_an_ended_session_and_a_staff_token_are_refused_and_logged(world, headers):
    c = client(world)
    res = c.get(USAGE)
    assert res.status_code == 401 and code(res) == "unauthenticated"
    for forged in ("my.forged-token-value", "my." + "A" * 43):
        res = c.get(USAGE, headers={"Authorization": f"Bearer {forged}"})
        assert res.status_code == 401 and code(res) == "unauthenticated", res.text
        assert "entries" not in res.text
    assert [r.detail for r in world.log(action="my:session")] == ["reason=forged", "reason=forged"]

    auth = bearer(c, world.cards["householder"])
    world.clock.at = OPEN + timedelta(seconds=my_usage.SESSION_SECONDS + 1)
    res = c.get(USAGE, headers=auth)
    assert res.status_code == 401 and code(res) == "unauthenticated"
    assert last_log(world, "my:session").detail == "reason=expired"

    world.clock.at = OPEN
    auth = bearer(c, world.cards["householder"])
    assert c.delete("/my/v1/sessions/current", headers=auth).status_code == 204
    assert c.get(USAGE, headers=auth).status_code == 401
    assert last_log(world, "my:session").detail == "reason=ended"

    auth = bearer(c, world.cards["householder"])  # a card suspended since: the session ends with it
    kiosk_registry.set_card_state(world.j.uow, CLERK, world.cards["householder"].serial, "suspended")
    assert c.get(USAGE, headers=auth).status_code == 401
    assert last_log(world, "my:session").detail == "reason=card"


def test_a_resident_session_opens_no_staff_endpoint(world):
    c = client(world)
    auth = bearer(c, world.cards["householder"])
    res = c.get(f"/api/v1/residents/{world.numbers[0]}", headers=auth)
    assert res.status_code == 401 and code(res) == "unauthenticated"
    res = c.get("/api/v1/usage-withholdings", headers=auth, params={"addressee_number": world.numbers[0]})
    assert res.status_code == 401


# --- withheld by rule ----------------------------------------------------------------------------------------------


def _inspection(at: datetime) -> ProvisionEntry:
    return ProvisionEntry(
        at,
        "厚生労働大臣",
        "番号法第19条第8号別表第2の26の項",
        "生活保護法第29条による資産等の調査に関する事務",
        ("住民票関係情報",),
        "answered",
    )


def test_an_investigation_is_withheld_silently_and_an_inspection_with_a_notice_and_a_date(world):
    householder = world.numbers[0]
    c = client(world)
    auth = bearer(c, world.cards["householder"])
    before = usage(c, auth)
    register_queries.get_resident(world.j.uow, INQUIRY, householder)  # 捜査関係事項照会 (刑事訴訟法197条2項)
    at = datetime.now(UTC) - timedelta(days=1)
    world.app.state.provision_records = Provisions({householder: [_inspection(at)]})

    after = usage(c, auth)

    assert after["entries"] == before["entries"]  # neither is shown
    assert [n["count"] for n in after["withheld"]] == [1]  # only the inspection is told of, with its date
    notice = after["withheld"][0]
    assert notice["until"] == (at.astimezone(JST).date() + timedelta(days=180)).isoformat()
    assert "第78条第1項第7号ハ" in notice["legal_basis"]
    assert "捜査" not in str(after)


def test_a_withheld_entry_is_shown_once_its_date_comes(world):
    householder = world.numbers[0]
    at = datetime(2025, 1, 10, 3, 0, tzinfo=UTC)
    world.app.state.provision_records = Provisions({householder: [_inspection(at)]})
    records = world.app.state.provision_records
    resident = my_usage.resident_actor(householder, "test")
    before = my_usage.usage(world.j.uow, resident, records)
    assert not entries(before, "provision")
    later = dataclasses.replace(world.j, today=date(2025, 7, 9))  # 2025-01-10 + 180 days (JST)
    shown = my_usage.usage(later.uow, resident, records)
    assert [e["procedure"] for e in entries(shown, "provision")] == [_inspection(at).procedure]
    assert shown["withheld"] == []


def test_a_supervisor_releases_early_or_extends_and_both_are_logged_never_shown_to_the_resident(
    world, client, headers
):
    householder = world.numbers[0]
    register_queries.get_resident(world.j.uow, INQUIRY, householder)
    auth = {**headers("supervisor"), "X-Juki-Procedure": "my_usage"}
    api = TestClient(world.app, raise_server_exceptions=False)
    listed = api.get("/api/v1/usage-withholdings", headers=auth, params={"addressee_number": householder})
    assert listed.status_code == 200, listed.text
    [held] = listed.json()["entries"]
    assert held["reason_code"] == "investigation" and held["told"] is False
    assert held["counterpart"] == "市民課" and held["procedure"] == "捜査機関等からの照会への回答に関する事務"

    body = {"addressee_number": householder, "entry": held["entry"], "reason": "捜査終了の連絡"}
    res = api.post("/api/v1/usage-withholdings/extend", headers=auth, json={**body, "until": "2025-06-30"})
    assert res.status_code == 422 and code(res) == "invalid_date"  # not after today
    res = api.post("/api/v1/usage-withholdings/extend", headers=auth, json={**body, "until": "2027-03-31"})
    assert res.status_code == 200 and res.json()["until"] == "2027-03-31" and res.json()["decided"] is True
    assert last_log(world, "my_usage:extend").staff_id == STAFF["supervisor"][0]

    c = TestClient(world.app, raise_server_exceptions=False)
    resident = bearer(c, world.cards["householder"])
    assert not [e for e in usage(c, resident)["entries"] if "捜査" in e["procedure"]]
    res = api.post("/api/v1/usage-withholdings/release", headers=auth, json=body)
    assert res.status_code == 200, res.text
    assert last_log(world, "my_usage:release").result == "ok"
    shown = usage(c, resident)
    assert [e["counterpart"] for e in shown["entries"] if "捜査" in e["procedure"]] == ["市民課"]
    assert not [
        e for e in shown["entries"] if "自己情報" in e["procedure"]
    ]  # the decisions themselves: not shown
    again = api.post("/api/v1/usage-withholdings/release", headers=auth, json=body)
    assert again.status_code == 404 and code(again) == "not_found"


def test_a_clerk_may_not_release(world, headers):
    register_queries.get_resident(world.j.uow, INQUIRY, world.numbers[0])
    api = TestClient(world.app, raise_server_exceptions=False)
    res = api.get(
        "/api/v1/usage-withholdings", headers=headers("clerk"), params={"addressee_number": world.numbers[0]}
    )
    assert res.status_code == 403 and code(res) == "forbidden"


# --- a 支援措置 case: never learnt from /my --------------------------------------------------------------------------


def test_a_protected_person_never_learns_from_my_that_a_case_exists(world):
    householder = world.numbers[0]
    c = client(world)
    auth = bearer(c, world.cards["householder"])
    transfer_feed.changes_for(world.j.uow, "hoken-nenkin", 0, deliver=("hoken-client", "api"))
    register_queries.get_resident(world.j.uow, CLERK, householder)
    before = usage(c, auth)
    before_text = c.get(USAGE, headers=auth).text

    measure = protect(
        world, householder
    )  # the case: set by the protection supervisor (logged, targets the person)
    register_queries.get_resident(world.j.uow, SUPER, householder)  # a view for the case
    transfer_feed.changes_for(world.j.uow, "hoken-nenkin", 0, deliver=("hoken-client", "api"))  # re-read: no
    page = transfer_feed.changes_for(world.j.uow, "hoken-nenkin", 1_000_000, deliver=("hoken-client", "api"))
    assert page.changes == []
    seen = transfer_feed.changes_for(
        world.j.uow, "zeimu", 0, deliver=("zeimu-client", "api")
    )  # its first read
    assert householder in seen.persons

    after = usage(c, auth)
    after_text = c.get(USAGE, headers=auth).text
    case_words = ("支援措置", "protect", "保護", measure["measure_id"], "DV", "alert")
    for word in case_words:
        assert word not in after_text
    assert after["withheld"] == before["withheld"] == []
    new = [e for e in after["entries"] if e not in before["entries"]]
    assert all(e["procedure"] != "支援措置に関する事務" for e in new)
    assert {e["counterpart"] for e in new if e["kind"] == "transfer"} <= {"保険年金課", "税務課", "収納課"}
    assert len(after_text) >= len(before_text)
    # the household's other members see nothing of it either
    wife = usage(c, bearer(c, world.cards["wife"]))
    assert "支援措置" not in str(wife) and wife["withheld"] == []


def test_a_delivery_that_carried_only_the_measure_is_withheld_and_not_told(world):
    householder = world.numbers[0]
    transfer_feed.changes_for(world.j.uow, "hoken-nenkin", 0, deliver=("hoken-client", "api"))
    head = transfer_feed.head(world.j.uow)
    protect(world, householder)
    page = transfer_feed.changes_for(world.j.uow, "hoken-nenkin", head, deliver=("hoken-client", "api"))
    assert householder in page.persons  # the department was told of the measure (j420)
    c = client(world)
    answer = usage(c, bearer(c, world.cards["householder"]))
    deliveries = {e["at"] for e in entries(answer, "transfer")}
    assert len(deliveries) == 1  # the first delivery only
    assert answer["withheld"] == []


def test_a_supervisor_without_the_protection_procedure_finds_no_protected_person(world, headers):
    householder = world.numbers[0]
    protect(world, householder)
    api = TestClient(world.app, raise_server_exceptions=False)
    as_my_usage = {**headers("supervisor"), "X-Juki-Procedure": "my_usage"}
    res = api.get("/api/v1/usage-withholdings", headers=as_my_usage, params={"addressee_number": householder})
    assert res.status_code == 404 and code(res) == "not_found"
    as_protection = {**headers("supervisor"), "X-Juki-Procedure": "protection"}
    res = api.get(
        "/api/v1/usage-withholdings", headers=as_protection, params={"addressee_number": householder}
    )
    assert res.status_code == 200, res.text
    assert {e["reason_code"] for e in res.json()["entries"]} == {"protection"}
    assert all(e["until"] is None and e["told"] is False for e in res.json()["entries"])


def test_nothing_the_protection_staff_do_about_a_case_reaches_the_persons_or_the_households_history(world):
    """Every act of a 支援措置 case that names the person — the measure set for the household, its list and view,
    alerts listed, reads of the record and the household for the case, a clerk refused the record, the withheld
    entries listed and one extended — leaves the history of each member exactly as it was: no entry, no notice."""
    householder, wife = world.numbers[0], world.numbers[1]
    c = client(world)
    before = {
        n: usage(c, bearer(c, world.cards[who])) for n, who in ((householder, "householder"), (wife, "wife"))
    }

    measure = protect(world, world.household, "household")
    protection.list_measures(world.j.uow, SUPER)
    protection.get_measure(world.j.uow, SUPER, measure["measure_id"])
    register_queries.get_resident(world.j.uow, SUPER, householder)
    register_queries.get_household(world.j.uow, SUPER, world.household)
    with pytest.raises(ResidentNotFound):  # a clerk's read: refused (an alert for the case's staff)
        register_queries.get_resident(world.j.uow, CLERK, householder)
    protection.list_alerts(world.j.uow, SUPER)
    listed = my_usage.withheld(world.j.uow, SUPER, householder)
    assert listed["entries"] and {e["reason_code"] for e in listed["entries"]} == {"protection"}
    key = listed["entries"][0]["entry"]
    extension = {"addressee_number": householder, "entry": key, "reason": "継続", "until": "2026-06-30"}
    with pytest.raises(InvalidField):  # held until released: no date that would show it by itself
        my_usage.decide(world.j.uow, SUPER, "extend", extension)

    for number, who in ((householder, "householder"), (wife, "wife")):
        after = usage(c, bearer(c, world.cards[who]))
        assert after == before[number], who
