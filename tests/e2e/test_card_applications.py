"""個人番号カード at the counter over /api/v1: a 交付申請 recorded at the counter or received from J-LIS, moved along by
J-LIS's reports (simulated), its 交付通知書 printed, the 交付 with the identity check and the PINs, the card then in
the card registry as active — and its 一時停止, lifting and 廃止 there; each bad request refused with its stable code
and changing nothing, a protected person's applications hidden like the person, every step in the operation log."""

from __future__ import annotations

import re
import shutil
import subprocess
from datetime import datetime, timedelta

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from juki.adapters import tables as t
from juki.domain.dates import JST, to_wareki
from juki.domain.errors import CardApplicationOpen, CardApplicationState, DomainError, NotFound
from juki.domain.identifiers import make_addressee_number
from juki.policy.roles import CS_SYSTEM
from juki.services import card_applications, filings
from juki.sim.pki import issue_card
from tests import factories as f
from tests.e2e import kiosk_world
from tests.e2e.card_world import APPLIED_ON, CLERK, CardWorld, card_world_fixture, code
from tests.e2e.kiosk_world import OPEN

pki = kiosk_world.pki  # the kiosk tests' test PKI: the J-LIS CA the register trusts for cards
card_world = card_world_fixture()
HANDOVER = {"notice_presented": True, "identity_documents": ["driver_license"], "pins_set": True}


def events_count(w: CardWorld) -> int:
    return w.count(t.card_application_events)


def pdf_text(pdf: bytes) -> str:
    done = subprocess.run(["pdftotext", "-layout", "-", "-"], input=pdf, capture_output=True, check=True)
    return re.sub(r"[ \u3000]+", " ", done.stdout.decode("utf-8"))


# --- the whole way ------------------------------------------------------------------------------------------------


def test_an_application_goes_from_the_counter_through_jliss_reports_to_the_handover(card_world: CardWorld):
    w = card_world
    householder, *_ = w.family("佐々木", "ササキ")
    seq = w.last_seq()
    res = w.api.post(
        "/api/v1/card-applications",
        json={"addressee_number": householder, "kind": "new", "applied_on": APPLIED_ON},
        headers=w.headers("clerk"),
    )
    assert res.status_code == 201, res.text
    app = res.json()
    application_id = app["application_id"]
    assert re.fullmatch(r"C20250630-\d{6}", application_id)
    assert (app["state"], app["channel"], app["kind"], app["card"], app["serial"]) == (
        "applied", "counter", "new", None, None,
    )  # fmt: skip
    assert [e["state"] for e in app["events"]] == ["applied"]

    card = w.new_card()
    for state in ("received", "in_production"):
        assert w.report(application_id, state)["changed"] is True
    arrived = w.report(application_id, "arrived", card)
    assert (arrived["state"], arrived["serial"]) == ("arrived", card.serial)

    got = w.api.get(f"/api/v1/card-applications/{application_id}", headers=w.headers("supervisor"))
    assert got.status_code == 200 and got.json()["state_name"] == "市区町村到着"
    assert [e["state"] for e in got.json()["events"]] == ["applied", "received", "in_production", "arrived"]
    assert {e["staff_id"] for e in got.json()["events"][1:]} == {CS_SYSTEM.staff_id}

    printed = w.api.post(f"/api/v1/card-applications/{application_id}/notice", headers=w.headers("clerk"))
    assert printed.status_code == 200 and printed.headers["content-type"] == "application/pdf"
    assert printed.content.startswith(b"%PDF") and application_id in printed.headers["content-disposition"]
    again = w.api.post(f"/api/v1/card-applications/{application_id}/notice", headers=w.headers("clerk"))
    assert again.status_code == 200  # a reprint: no second 交付通知書発送
    got = w.api.get(f"/api/v1/card-applications/{application_id}", headers=w.headers("clerk")).json()
    assert [e["state"] for e in got["events"]][-1:] == ["notice_sent"] and len(got["events"]) == 5

    res = w.api.post(
        f"/api/v1/card-applications/{application_id}/handover", json=HANDOVER, headers=w.headers("clerk")
    )
    assert res.status_code == 200, res.text
    issued = res.json()
    assert issued["state"] == "issued" and issued["card"]["serial"] == card.serial
    assert (issued["card"]["state"], issued["card"]["usable"], issued["card"]["pin_failures"]) == (
        "active",
        True,
        0,
    )
    assert issued["events"][-1]["detail"] == {
        "notice_presented": True, "documents": ["driver_license"], "pins_set": True,
    }  # fmt: skip
    cards = w.api.get(f"/api/v1/residents/{householder}/cards", headers=w.headers("clerk")).json()["cards"]
    assert [(c["serial"], c["state"], c["registered_by"]) for c in cards] == [
        (card.serial, "active", "clerk1")
    ]
    listed = w.api.get(f"/api/v1/residents/{householder}/card-applications", headers=w.headers("clerk"))
    assert [(a["application_id"], a["state"]) for a in listed.json()["applications"]] == [
        (application_id, "issued")
    ]

    actions = [(e.action, e.result, e.staff_id) for e in w.log(seq) if e.action.startswith(("card", "card_"))]
    assert actions == [
        ("card_application:apply", "ok", "clerk1"),
        ("card_application:report", "ok", "cs"),
        ("card_application:report", "ok", "cs"),
        ("card_application:report", "ok", "cs"),
        ("card_application:view", "ok", "super1"),
        ("card_application:notice", "ok", "clerk1"),
        ("card_application:notice", "ok", "clerk1"),
        ("card_application:view", "ok", "clerk1"),
        ("card_application:handover", "ok", "clerk1"),
        ("card:register", "ok", "clerk1"),
        ("card:list", "ok", "clerk1"),
        ("card_application:list", "ok", "clerk1"),
    ]
    [handover] = w.log(seq, action="card_application:handover")
    assert handover.targets == [householder] and handover.detail == f"{application_id} card={card.serial}"
    assert [e.detail for e in w.log(seq, action="card_application:notice")] == [
        f"{application_id} sent",
        f"{application_id} reprint",
    ]


@pytest.mark.skipif(shutil.which("pdftotext") is None, reason="poppler-utils is not installed")
def test_the_notice_is_addressed_to_the_applicant_and_says_what_to_bring(card_world: CardWorld):
    w = card_world
    people = [
        f.person(family_name="髙橋", family_name_kana="タカハシ", given_name="花子", given_name_kana="ハナコ")
    ]
    moved = filings.file(w.j.uow, CLERK, "move-in", f.move_in(people))
    number = moved.changes[0]["addressee_number"]
    application_id, _ = w.arrived(number)
    res = w.api.post(f"/api/v1/card-applications/{application_id}/notice", headers=w.headers("clerk"))
    text = pdf_text(res.content)
    assert "個人番号カード交付通知書" in text and application_id in text
    assert "〒187-0032" in text and "髙橋 花子 様" in text  # IPAmj明朝's 髙, as the certificates print it
    events = w.api.get(f"/api/v1/card-applications/{application_id}", headers=w.headers("clerk")).json()[
        "events"
    ]
    arrived_on = datetime.fromisoformat(events[3]["at"]).astimezone(JST).date()
    assert "令和7年6月20日" in text  # 申請日
    assert to_wareki(arrived_on + timedelta(days=90)) in text.replace("\n", "")  # 交付期限
    assert "運転免許証" in text and "健康保険の資格確認書等" in text
    assert people[0]["my_number"] not in text.replace(" ", "")


# --- J-LIS's reports ----------------------------------------------------------------------------------------------


def test_a_report_delivered_again_or_overtaken_changes_nothing(card_world: CardWorld):
    w = card_world
    number = w.family()[0]
    application_id, card = w.arrived(number)
    before = events_count(w)
    assert w.report(application_id, "arrived", card)["changed"] is False  # the same report again
    assert w.report(application_id, "received")["changed"] is False  # a late one
    assert events_count(w) == before
    details = [e.detail for e in w.log(action="card_application:report") if application_id in e.detail]
    assert details[-2:] == [
        f"{application_id} state=arrived unchanged",
        f"{application_id} state=received unchanged",
    ]


def test_jlis_may_skip_a_step_but_never_goes_back_nor_reopens_what_is_closed(card_world: CardWorld):
    w = card_world
    number = w.family()[0]
    application_id = w.apply(number)
    assert w.report(application_id, "in_production")["state"] == "in_production"  # 申請受付 never came
    assert w.report(application_id, "revoked")["state"] == "revoked"
    assert w.report(application_id, "revoked")["changed"] is False
    with pytest.raises(CardApplicationState):
        w.report(application_id, "arrived", w.new_card())
    issued_id, _ = w.handed_over(w.family()[0])
    with pytest.raises(CardApplicationState):
        w.report(issued_id, "revoked")  # a card handed over is revoked in the card registry


@pytest.mark.parametrize(
    ("case", "expected_code"),
    [("rogue", "card_untrusted"), ("garbage", "card_untrusted"), ("missing", "invalid_field"),
     ("already_registered", "invalid_field"), ("not_a_state", "invalid_field")],
)  # fmt: skip
def test_a_bad_arrival_report_is_refused_and_changes_nothing(card_world: CardWorld, case, expected_code):
    w = card_world
    application_id = w.apply(w.family()[0])
    w.report(application_id, "received")
    pem, state = w.new_card().certificate_pem, "arrived"
    if case == "rogue":
        pem = issue_card(w.pki.rogue, now=OPEN).certificate_pem
    elif case == "garbage":
        pem = "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n"
    elif case == "missing":
        pem = ""
    elif case == "already_registered":
        _, other = w.handed_over(w.family()[0])
        pem = other.certificate_pem
    elif case == "not_a_state":
        state = "issued"  # the counter's, not J-LIS's
    before = events_count(w)
    with pytest.raises(DomainError) as refused:
        card_applications.record_report(w.j.uow, w.trust, CS_SYSTEM, application_id, state, pem)
    assert refused.value.code == expected_code
    assert events_count(w) == before


def test_an_online_application_arrives_from_jlis_as_received(card_world: CardWorld):
    w = card_world
    number = w.family()[1]
    with w.j.uow() as uow:
        code_of = uow.queries.resident(number).resident_code
    app = card_applications.receive_from_jlis(w.j.uow, CS_SYSTEM, code_of, "new", w.j.today, "online")
    assert (app["addressee_number"], app["state"], app["channel"]) == (number, "received", "online")
    with pytest.raises(NotFound):
        card_applications.receive_from_jlis(w.j.uow, CS_SYSTEM, "99999999999", "new", w.j.today)
    with pytest.raises(CardApplicationOpen):  # one under way at a time, whoever took it in
        card_applications.receive_from_jlis(w.j.uow, CS_SYSTEM, code_of, "new", w.j.today, "mail")
    with pytest.raises(DomainError) as refused:
        card_applications.receive_from_jlis(w.j.uow, CLERK, code_of, "new", w.j.today)
    assert refused.value.code == "forbidden"  # J-LIS's side is the CS's alone


# --- the counter's refusals ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("case", "expected"),
    [
        ("unknown_person", (404, "not_found", "addressee_number")),
        ("bad_number", (422, "invalid_field", "addressee_number")),
        ("moved_out", (409, "not_resident", "addressee_number")),
        ("open", (409, "card_application_open", "addressee_number")),
        ("future", (422, "invalid_date", "applied_on")),
        ("not_a_date", (422, "invalid_field", "applied_on")),
        ("bad_kind", (422, "invalid_field", "kind")),
        ("extra", (422, "invalid_field", "pin")),
    ],
)
def test_a_bad_application_is_refused_and_changes_nothing(card_world: CardWorld, case, expected):
    w = card_world
    numbers = w.family()
    body = {"addressee_number": numbers[0], "kind": "new", "applied_on": APPLIED_ON}
    if case == "unknown_person":
        body["addressee_number"] = make_addressee_number(999_999)
    elif case == "bad_number":
        body["addressee_number"] = "12345"
    elif case == "moved_out":
        filings.file(w.j.uow, CLERK, "move-out", {"filed_on": "2025-06-10", "planned_on": "2025-06-12",
                                                   "addressee_numbers": [numbers[3]], "destination": f.OTHER})  # fmt: skip
        body["addressee_number"] = numbers[3]
    elif case == "open":
        w.apply(numbers[0])
    elif case == "future":
        body["applied_on"] = "2025-07-01"
    elif case == "not_a_date":
        body["applied_on"] = "昨日"
    elif case == "bad_kind":
        body["kind"] = "lost"
    elif case == "extra":
        body["pin"] = "1234"
    before = w.count(t.card_applications)
    res = w.api.post("/api/v1/card-applications", json=body, headers=w.headers("clerk"))
    assert code(res) == expected, res.text
    assert w.count(t.card_applications) == before


@pytest.mark.parametrize(
    ("case", "expected"),
    [
        ("not_arrived", (409, "card_application_state")),
        ("no_documents", (422, "identity_check_insufficient")),
        ("one_b", (422, "identity_check_insufficient")),
        ("no_notice_one_a", (422, "identity_check_insufficient")),
        ("unknown_document", (422, "invalid_field")),
        ("pins_not_set", (422, "pins_not_set")),
        ("a_pin_sent", (422, "invalid_field")),
        ("pins_not_bool", (422, "invalid_field")),
        ("unknown_application", (404, "not_found")),
        ("malformed_application", (422, "invalid_field")),
    ],
)
def test_a_bad_handover_is_refused_and_registers_no_card(card_world: CardWorld, case, expected):
    w = card_world
    number = w.family()[0]
    application_id, _ = w.arrived(number)
    body: dict = dict(HANDOVER)
    path = application_id
    if case == "not_arrived":
        path = w.apply(w.family()[0])
    elif case == "no_documents":
        body["identity_documents"] = []
    elif case == "one_b":
        body["identity_documents"] = ["health_insurance"]
    elif case == "no_notice_one_a":
        body |= {"notice_presented": False, "identity_documents": ["passport"]}
    elif case == "unknown_document":
        body["identity_documents"] = ["library_card"]
    elif case == "pins_not_set":
        body["pins_set"] = False
    elif case == "a_pin_sent":
        body["pin"] = "1234"
    elif case == "pins_not_bool":
        body["pins_set"] = "yes"
    elif case == "unknown_application":
        path = "C20250630-999999"
    elif case == "malformed_application":
        path = "X1"
    cards, events = w.count(t.kiosk_cards), events_count(w)
    res = w.api.post(f"/api/v1/card-applications/{path}/handover", json=body, headers=w.headers("clerk"))
    assert code(res)[:2] == expected, res.text
    assert (w.count(t.kiosk_cards), events_count(w)) == (cards, events)
    assert not [e for e in w.log(action="card_application:handover") if application_id in e.detail]


def test_without_the_notice_two_documents_one_of_list_a_will_do(card_world: CardWorld):
    w = card_world
    application_id, card = w.arrived(w.family()[0])
    body = {
        "notice_presented": False,
        "identity_documents": ["passport", "health_insurance"],
        "pins_set": True,
    }
    res = w.api.post(
        f"/api/v1/card-applications/{application_id}/handover", json=body, headers=w.headers("clerk")
    )
    assert res.status_code == 200, res.text
    assert res.json()["card"]["serial"] == card.serial
    [entry] = [e for e in w.log(action="card_application:handover") if application_id in e.detail]
    assert entry.facts == {"documents": ["passport", "health_insurance"], "notice_presented": False}


def test_the_counter_revokes_an_application_not_handed_over(card_world: CardWorld):
    w = card_world
    application_id, _ = w.arrived(w.family()[0])
    url = f"/api/v1/card-applications/{application_id}/revoke"
    assert code(w.api.post(url, json={"reason": "lost"}, headers=w.headers("clerk"))) == (
        422, "invalid_field", "reason",
    )  # fmt: skip
    res = w.api.post(url, json={"reason": "not_collected"}, headers=w.headers("clerk"))
    assert res.status_code == 200 and res.json()["state"] == "revoked"
    assert res.json()["events"][-1]["detail"] == {"reason": "not_collected"}
    again = w.api.post(url, json={"reason": "withdrawn"}, headers=w.headers("clerk"))
    assert code(again)[:2] == (409, "card_application_state")
    handover = w.api.post(
        f"/api/v1/card-applications/{application_id}/handover", json=HANDOVER, headers=w.headers("clerk")
    )
    assert code(handover)[:2] == (409, "card_application_state")
    issued_id, _ = w.handed_over(w.family()[0])
    res = w.api.post(
        f"/api/v1/card-applications/{issued_id}/revoke",
        json={"reason": "withdrawn"},
        headers=w.headers("clerk"),
    )
    assert code(res)[:2] == (409, "card_application_state")


def test_after_the_handover_the_cards_state_is_the_registrys(card_world: CardWorld):
    """一時停止 (reported lost), its lifting and 廃止 go through the card registry's rules; the application shows the
    card as the registry has it, and a revoked card stays revoked."""
    w = card_world
    application_id, card = w.handed_over(w.family()[0])
    state_url = f"/api/v1/cards/{card.serial}/state"

    def card_state() -> str:
        got = w.api.get(f"/api/v1/card-applications/{application_id}", headers=w.headers("clerk")).json()
        assert got["state"] == "issued"
        return str(got["card"]["state"])

    assert w.api.post(state_url, json={"state": "suspended"}, headers=w.headers("clerk")).status_code == 200
    assert card_state() == "suspended"
    assert w.api.post(state_url, json={"state": "active"}, headers=w.headers("clerk")).status_code == 200
    assert card_state() == "active"
    assert w.api.post(state_url, json={"state": "revoked"}, headers=w.headers("clerk")).status_code == 200
    assert code(w.api.post(state_url, json={"state": "active"}, headers=w.headers("clerk")))[:2] == (
        422, "invalid_field",
    )  # fmt: skip
    assert card_state() == "revoked"


def test_the_notice_needs_the_card_at_the_city(card_world: CardWorld):
    w = card_world
    application_id = w.apply(w.family()[0])
    res = w.api.post(f"/api/v1/card-applications/{application_id}/notice", headers=w.headers("clerk"))
    assert code(res)[:2] == (409, "card_application_state")
    assert not [e for e in w.log(action="card_application:notice") if application_id in e.detail]


# --- lists, protection, roles ---------------------------------------------------------------------------------------


def test_the_worklist_shows_applications_by_state(card_world: CardWorld):
    w = card_world
    waiting, _ = w.arrived(w.family()[0])
    applied = w.apply(w.family()[0])
    res = w.api.get("/api/v1/card-applications?state=arrived&state=notice_sent", headers=w.headers("clerk"))
    assert res.status_code == 200
    found = {a["application_id"]: a["state"] for a in res.json()["applications"]}
    assert found.get(waiting) == "arrived" and applied not in found
    assert set(found.values()) <= {"arrived", "notice_sent"}
    under_way = w.api.get("/api/v1/card-applications", headers=w.headers("clerk")).json()
    assert under_way["states"] == ["applied", "received", "in_production", "arrived", "notice_sent"]
    assert {waiting, applied} <= {a["application_id"] for a in under_way["applications"]}
    bad = w.api.get("/api/v1/card-applications?state=lost", headers=w.headers("clerk"))
    assert code(bad) == (422, "invalid_field", "state")


def test_a_protected_persons_applications_are_hidden_like_the_person(card_world: CardWorld):
    w = card_world
    husband, wife, *_ = w.family("東雲", "シノノメ")
    hidden_id, _ = w.arrived(wife)
    shown_id, _ = w.arrived(husband)
    w.protect(wife)
    seq = w.last_seq()
    clerk = w.headers("clerk")
    assert code(w.api.get(f"/api/v1/residents/{wife}/card-applications", headers=clerk)) == (
        404, "not_found", "addressee_number",
    )  # fmt: skip
    assert code(w.api.get(f"/api/v1/card-applications/{hidden_id}", headers=clerk))[:2] == (404, "not_found")
    notice = w.api.post(f"/api/v1/card-applications/{hidden_id}/notice", headers=clerk)
    assert code(notice)[:2] == (404, "not_found")
    listed = w.api.get("/api/v1/card-applications?state=arrived", headers=clerk).json()["applications"]
    ids = {a["application_id"] for a in listed}
    assert shown_id in ids and hidden_id not in ids and wife not in str(listed)
    assert [(e.action, e.result, e.targets) for e in w.log(seq)][:3] == [
        ("card_application:list", "hidden", [wife]),
        ("card_application:view", "hidden", [wife]),
        ("card_application:notice", "hidden", [wife]),
    ]
    assert wife not in w.log(seq)[3].targets  # the worklist names only whom it showed
    with w.j.engine.connect() as conn:
        alerts = conn.execute(t.alerts.select().where(t.alerts.c.subject == wife)).all()
    assert {a.kind for a in alerts} == {"protected_hidden"} and len(alerts) >= 4

    boss = {
        **w.headers("supervisor"),
        "X-Juki-Procedure": "protection",
    }  # the 支援措置 supervisor sees and prints
    assert (
        w.api.get(f"/api/v1/card-applications/{hidden_id}", headers=boss).json()["addressee_number"] == wife
    )
    assert w.api.post(f"/api/v1/card-applications/{hidden_id}/notice", headers=boss).status_code == 200
    # the 交付 is a write for the person at the counter: not hidden (as a filing is not)
    res = w.api.post(f"/api/v1/card-applications/{hidden_id}/handover", json=HANDOVER, headers=clerk)
    assert res.status_code == 200, res.text


def test_the_administrator_and_the_auditor_have_no_part_in_it(card_world: CardWorld):
    w = card_world
    number = w.family()[0]
    application_id, _ = w.arrived(number)
    for role in ("admin", "auditor"):
        h = w.headers(role)
        assert code(w.api.get(f"/api/v1/card-applications/{application_id}", headers=h))[:2] == (
            403,
            "forbidden",
        )
        res = w.api.post(f"/api/v1/card-applications/{application_id}/handover", json=HANDOVER, headers=h)
        assert code(res)[:2] == (403, "forbidden")
    assert w.api.get(f"/api/v1/card-applications/{application_id}", headers=w.headers("clerk")).json()[
        "state"
    ] == ("arrived")


def test_no_answer_or_log_entry_holds_a_my_number(card_world: CardWorld):
    w = card_world
    people = f.family_of_four()
    moved = filings.file(w.j.uow, CLERK, "move-in", f.move_in(people))
    number = moved.changes[0]["addressee_number"]
    seq = w.last_seq()
    application_id, card = w.handed_over(number)
    texts = [
        w.api.get(f"/api/v1/card-applications/{application_id}", headers=w.headers("clerk")).text,
        w.api.get(f"/api/v1/residents/{number}/card-applications", headers=w.headers("clerk")).text,
        " ".join(f"{e.detail} {e.targets} {e.facts}" for e in w.log(seq)),
    ]
    for my_number in (p["my_number"] for p in people):
        assert all(my_number not in text for text in texts)
    assert card.serial in texts[0]  # the card is named by its certificate's serial, nothing more


@pytest.mark.parametrize("table", t.CARD_APPLICATIONS_APPEND_ONLY)
@pytest.mark.parametrize("verb", ["UPDATE {table} SET created_by = 'x'", "DELETE FROM {table}"])
def test_the_application_tables_refuse_update_and_delete(card_world: CardWorld, table, verb):
    w = card_world
    w.arrived(w.family()[0])
    statement = verb.format(table=table).replace(
        "created_by", "staff_id" if "events" in table else "created_by"
    )
    before = w.count(t.metadata.tables[table])
    with pytest.raises(DBAPIError, match="append-only"), w.j.engine.begin() as conn:
        conn.execute(text(statement))
    assert w.count(t.metadata.tables[table]) == before > 0
