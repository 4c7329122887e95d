"""The コンビニ交付 registry over /api/v1: the administrator's kiosks and J-LIS's revocation list, the counter's cards
(register, list, suspend / restore / revoke, PIN-lock reset) — each change seen by a kiosk at /kiosk/v1, each bad
input answered with its stable code and changing nothing, a protected person's cards hidden like the person, and
every call in the operation log."""

from __future__ import annotations

import base64
from collections.abc import Callable
from typing import Any

import pytest
from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from juki.adapters import tables as t
from juki.adapters.pki import pem
from juki.domain.identifiers import make_addressee_number
from juki.services import filings
from juki.sim.pki import issue_card, issue_kiosk
from tests import factories as f
from tests.e2e import kiosk_world
from tests.e2e.kiosk_world import CLERK, World, code, protect, session_of, sign_in, wrong

pki, world = kiosk_world.pki, kiosk_world.world  # the kiosk tests' fixtures: their PKI, register and kiosks

Headers = Callable[[str], dict[str, str]]


@pytest.fixture
def api(world: World) -> TestClient:
    return TestClient(world.app, raise_server_exceptions=False)


def err(res: Any) -> tuple[int, str, str | None]:
    e = res.json()["errors"][0]
    return res.status_code, e["code"], e["field"]


def count(world: World, table: Any) -> int:
    with world.j.engine.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(table)).scalar_one())


def card_of(api: TestClient, headers: Headers, number: str, serial: str) -> dict[str, Any]:
    res = api.get(f"/api/v1/residents/{number}/cards", headers=headers("clerk"))
    assert res.status_code == 200, res.text
    return next(c for c in res.json()["cards"] if c["serial"] == serial)


# --- kiosks ------------------------------------------------------------------------------------------------------


def test_the_administrator_lists_registers_and_retires_kiosks_and_the_kiosk_feels_it(world, api, headers):
    admin = headers("admin")
    listed = api.get("/api/v1/kiosks", headers=admin)
    assert listed.status_code == 200, listed.text
    assert [(k["kiosk_id"], k["state"]) for k in listed.json()["kiosks"]] == [
        ("kiosk-a", "active"),
        ("kiosk-b", "active"),
    ]
    assert listed.json()["revocations"] == {"count": 0, "last_imported_at": None}
    assert world.client("kiosk-unregistered").post("/kiosk/v1/challenges").status_code == 401

    res = api.post(
        "/api/v1/kiosks",
        json={
            "kiosk_id": "kiosk-unregistered",
            "name": "コンビニ交付端末 一橋学園店",
            "certificate": world.pki.kiosks["kiosk-unregistered"][2],
        },
        headers=admin,
    )
    assert res.status_code == 201, res.text
    assert res.json()["state"] == "active" and len(res.json()["cert_sha256"]) == 64
    assert res.json()["registered_by"] == "admin1"
    assert world.client("kiosk-unregistered").post("/kiosk/v1/challenges").status_code == 201

    res = api.post("/api/v1/kiosks/kiosk-unregistered/retire", headers=admin)
    assert res.status_code == 200 and res.json()["state"] == "retired"
    assert world.client("kiosk-unregistered").post("/kiosk/v1/challenges").status_code == 401
    assert world.log(action="kiosk:connect")[-1].detail.startswith("reason=retired")
    states = {k["kiosk_id"]: k["state"] for k in api.get("/api/v1/kiosks", headers=admin).json()["kiosks"]}
    assert states == {"kiosk-a": "active", "kiosk-b": "active", "kiosk-unregistered": "retired"}

    actions = [(e.action, e.result, e.staff_id) for e in world.log() if e.action.startswith("kiosk:")]
    assert ("kiosk:list", "ok", "admin1") in actions
    assert ("kiosk:register", "ok", "admin1") in actions and ("kiosk:retire", "ok", "admin1") in actions


def test_a_new_certificate_for_a_kiosk_replaces_the_old_one(world, api, headers):
    _, cert = issue_kiosk(world.pki.kiosk_ca, "kiosk-a")
    res = api.post(
        "/api/v1/kiosks",
        json={"kiosk_id": "kiosk-a", "name": "小平駅前店（証明書更新）", "certificate": pem(cert)},
        headers=headers("admin"),
    )
    assert res.status_code == 201, res.text
    assert world.client("kiosk-a").post("/kiosk/v1/challenges").status_code == 401  # the old one is no good
    assert "certificate_mismatch" in world.log(action="kiosk:connect")[-1].detail


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"certificate": "rogue"}, "certificate"),  # another CA's
        ({"certificate": "kiosk-b"}, "certificate"),  # the kiosk CA's, but for another kiosk id
        ({"certificate": "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n"}, "certificate"),
        ({"certificate": ""}, "certificate"),
        ({"kiosk_id": "kiosk a/../b"}, "kiosk_id"),
        ({"name": "   "}, "name"),
        ({"name": "x" * 101}, "name"),
        ({"certificate": None}, "certificate"),
        ({"extra": "x"}, "extra"),
    ],
)
def test_a_bad_kiosk_registration_is_refused_and_changes_nothing(world, api, headers, change, field):
    body: dict[str, Any] = {
        "kiosk_id": "kiosk-unregistered",
        "name": "一橋学園店",
        "certificate": world.pki.kiosks["kiosk-unregistered"][2],
    }
    for key, value in change.items():
        if key == "certificate" and value in world.pki.kiosks:
            value = world.pki.kiosks[value][2]
        if value is None:
            body.pop(key)
        else:
            body[key] = value
    before = count(world, t.kiosks)
    res = api.post("/api/v1/kiosks", json=body, headers=headers("admin"))
    assert err(res) == (422, "invalid_field", field), res.text
    assert count(world, t.kiosks) == before
    assert world.client("kiosk-unregistered").post("/kiosk/v1/challenges").status_code == 401


def test_a_certificate_the_kiosk_ca_did_not_sign_is_logged_as_refused(world, api, headers):
    body = {"kiosk_id": "kiosk-a", "name": "偽の端末", "certificate": world.pki.kiosks["rogue"][2]}
    assert api.post("/api/v1/kiosks", json=body, headers=headers("admin")).status_code == 422
    entry = world.log(action="kiosk:register")[-1]
    assert (entry.result, entry.detail, entry.staff_id) == ("refused", "reason=untrusted", "admin1")
    assert world.client("kiosk-a").post("/kiosk/v1/challenges").status_code == 201  # still the registered one


def test_retiring_an_unknown_kiosk_is_not_found(world, api, headers):
    for kiosk_id in ("kiosk-z", "not a kiosk"):
        res = api.post(f"/api/v1/kiosks/{kiosk_id}/retire", headers=headers("admin"))
        assert err(res) == (404, "not_found", "kiosk_id")
    assert api.post(f"/api/v1/kiosks/{'k' * 33}/retire", headers=headers("admin")).status_code == 422


def test_only_the_administrator_manages_kiosks(world, api, headers):
    for role in ("clerk", "supervisor", "auditor"):
        assert err(api.get("/api/v1/kiosks", headers=headers(role)))[:2] == (403, "forbidden")
        res = api.post("/api/v1/kiosks/kiosk-a/retire", headers=headers(role))
        assert res.status_code == 403
    assert world.client("kiosk-a").post("/kiosk/v1/challenges").status_code == 201
    denied = [e for e in world.log() if e.result == "denied" and e.action.startswith("kiosk:")]
    assert {e.action for e in denied} == {"kiosk:list", "kiosk:retire"}


# --- cards -------------------------------------------------------------------------------------------------------


def test_the_counter_registers_a_card_and_lists_the_persons_cards(world, api, headers):
    card = issue_card(world.pki.card_ca, now=world.clock())
    res = api.post(
        "/api/v1/cards",
        json={"addressee_number": world.numbers[2], "certificate": card.certificate_pem},
        headers=headers("clerk"),
    )
    assert res.status_code == 201, res.text
    view = res.json()
    assert view["serial"] == card.serial and view["addressee_number"] == world.numbers[2]
    assert (view["state"], view["locked"], view["pin_failures"], view["usable"]) == ("active", False, 0, True)
    assert view["expires_on"] > view["issued_on"] and view["registered_by"] == "clerk1"

    listed = api.get(f"/api/v1/residents/{world.numbers[2]}/cards", headers=headers("supervisor"))
    assert listed.status_code == 200
    assert [c["serial"] for c in listed.json()["cards"]] == [card.serial]
    assert api.get(f"/api/v1/residents/{world.numbers[3]}/cards", headers=headers("clerk")).json() == {
        "addressee_number": world.numbers[3],
        "cards": [],
    }
    assert sign_in(world.client("kiosk-a"), card).status_code == 201  # the kiosk knows the card now

    [registered] = world.log(action="card:register")[-1:]
    assert registered.targets == [world.numbers[2]] and card.serial in registered.detail
    lists = world.log(action="card:list")
    assert [(e.staff_id, e.targets, e.detail) for e in lists] == [
        ("super1", [world.numbers[2]], "results=1"),
        ("clerk1", [world.numbers[3]], "results=0"),
    ]


@pytest.mark.parametrize(
    ("case", "expected"),
    [
        ("unknown_person", (404, "not_found", "addressee_number")),
        ("bad_number", (422, "invalid_field", "addressee_number")),
        ("rogue_card", (422, "invalid_field", "certificate")),
        ("garbage", (422, "invalid_field", "certificate")),
        ("already_registered", (422, "invalid_field", "certificate")),
        ("moved_out", (409, "not_resident", "addressee_number")),
    ],
)
def test_a_bad_card_registration_is_refused_and_changes_nothing(world, api, headers, case, expected):
    number, certificate = world.numbers[2], issue_card(world.pki.card_ca, now=world.clock()).certificate_pem
    if case == "unknown_person":
        number = make_addressee_number(999_999)
    elif case == "bad_number":
        number = "12345"
    elif case == "rogue_card":
        certificate = issue_card(world.pki.rogue, now=world.clock()).certificate_pem
    elif case == "garbage":
        certificate = "not a certificate"
    elif case == "already_registered":
        certificate = world.cards["wife"].certificate_pem
    elif case == "moved_out":
        number = world.other
        filings.file(
            world.j.uow,
            CLERK,
            "move-out",
            {
                "filed_on": "2025-06-10",
                "planned_on": "2025-06-12",
                "addressee_numbers": [world.other],
                "destination": f.OTHER,
            },
        )
    before = count(world, t.kiosk_cards)
    res = api.post(
        "/api/v1/cards",
        json={"addressee_number": number, "certificate": certificate},
        headers=headers("clerk"),
    )
    assert err(res) == expected, res.text
    assert count(world, t.kiosk_cards) == before


def test_an_unknown_or_malformed_person_has_no_card_list(world, api, headers):
    res = api.get(f"/api/v1/residents/{make_addressee_number(999_999)}/cards", headers=headers("clerk"))
    assert err(res) == (404, "not_found", "addressee_number")
    res = api.get("/api/v1/residents/12345/cards", headers=headers("clerk"))
    assert err(res)[:2] == (422, "invalid_field")


def test_a_locked_card_is_listed_as_locked_and_the_counter_unlocks_it(world, api, headers):
    card = world.cards["householder"]
    kiosk = world.client("kiosk-a")
    for _ in range(3):
        sign_in(kiosk, card, wrong(card))
    assert code(sign_in(kiosk, card)) == "card_locked"
    listed = card_of(api, headers, world.numbers[0], card.serial)
    assert (listed["locked"], listed["pin_failures"], listed["usable"]) == (True, 3, False)
    assert listed["locked_at"] is not None

    res = api.post(f"/api/v1/cards/{card.serial.upper()}/unlock", headers=headers("clerk"))
    assert res.status_code == 200, res.text
    assert (res.json()["locked"], res.json()["pin_failures"], res.json()["usable"]) == (False, 0, True)
    assert "addressee_number" not in res.json()  # found by the card: the answer does not name its holder
    assert sign_in(kiosk, card).status_code == 201
    [entry] = world.log(action="card:unlock")
    assert entry.targets == [world.numbers[0]] and entry.staff_id == "clerk1"
    assert entry.detail == f"card={card.serial} pin_failures=3->0 locked=True->False"


def test_the_counter_suspends_restores_and_revokes_a_card(world, api, headers):
    card = world.cards["wife"]
    kiosk = world.client("kiosk-b")
    url = f"/api/v1/cards/{card.serial}/state"

    res = api.post(url, json={"state": "suspended"}, headers=headers("clerk"))
    assert res.status_code == 200 and res.json()["state"] == "suspended" and res.json()["usable"] is False
    assert "一時停止" in sign_in(kiosk, card).json()["errors"][0]["message"]

    res = api.post(url, json={"state": "active"}, headers=headers("supervisor"))
    assert res.status_code == 200 and res.json()["state"] == "active"
    assert sign_in(kiosk, card).status_code == 201

    assert api.post(url, json={"state": "revoked"}, headers=headers("clerk")).status_code == 200
    assert "失効" in sign_in(kiosk, card).json()["errors"][0]["message"]
    res = api.post(url, json={"state": "active"}, headers=headers("clerk"))  # 廃止 is final
    assert err(res) == (422, "invalid_field", "state")
    assert card_of(api, headers, world.numbers[1], card.serial)["state"] == "revoked"

    details = [e.detail for e in world.log(action="card:state")]
    assert details == [
        f"card={card.serial} state=active->suspended",
        f"card={card.serial} state=suspended->active",
        f"card={card.serial} state=active->revoked",
    ]


@pytest.mark.parametrize(
    ("path", "body", "expected"),
    [
        ("/api/v1/cards/{serial}/state", {"state": "lost"}, (422, "invalid_field", "state")),
        ("/api/v1/cards/{serial}/state", {}, (422, "invalid_field", "state")),
        ("/api/v1/cards/{serial}/state", {"state": 1}, (422, "invalid_field", "state")),
        ("/api/v1/cards/abcdef0123/state", {"state": "suspended"}, (404, "not_found", "serial")),
        ("/api/v1/cards/not-hex/state", {"state": "suspended"}, (422, "invalid_field", "serial")),
        ("/api/v1/cards/abcdef0123/unlock", None, (404, "not_found", "serial")),
        ("/api/v1/cards/zz/unlock", None, (422, "invalid_field", "serial")),
    ],
)
def test_a_bad_card_change_is_refused_and_changes_nothing(world, api, headers, path, body, expected):
    serial = world.cards["householder"].serial
    before = card_of(api, headers, world.numbers[0], serial)
    res = api.post(path.format(serial=serial), json=body, headers=headers("clerk"))
    assert err(res) == expected, res.text
    assert card_of(api, headers, world.numbers[0], serial) == before
    assert not world.log(action="card:state") and not world.log(action="card:unlock")


def test_cards_are_the_counters_and_not_the_administrators(world, api, headers):
    card = issue_card(world.pki.card_ca, now=world.clock())
    body = {"addressee_number": world.numbers[2], "certificate": card.certificate_pem}
    for role in ("admin", "auditor", "department"):
        assert api.post("/api/v1/cards", json=body, headers=headers(role)).status_code == 403
        serial = world.cards["householder"].serial
        assert api.post(f"/api/v1/cards/{serial}/unlock", headers=headers(role)).status_code == 403
        res = api.get(f"/api/v1/residents/{world.numbers[0]}/cards", headers=headers(role))
        assert err(res)[:2] == (403, "forbidden") and world.numbers[0] not in res.text
    assert count(world, t.kiosk_cards) == 3


def test_a_protected_persons_cards_are_hidden_like_the_person(world, api, headers):
    protect(world, world.numbers[0])
    res = api.get(f"/api/v1/residents/{world.numbers[0]}/cards", headers=headers("clerk"))
    assert err(res) == (404, "not_found", "addressee_number")
    assert world.cards["householder"].serial not in res.text
    hidden = world.log(action="card:list")[-1]
    assert (hidden.result, hidden.targets) == ("hidden", [world.numbers[0]])
    with world.j.engine.connect() as conn:
        alerts = conn.execute(select(t.alerts).where(t.alerts.c.subject == world.numbers[0])).all()
    assert [a.kind for a in alerts] == ["protected_hidden"] and "card:list" in alerts[0].detail

    # the supervisor acting for 支援措置に関する事務 sees them (and is noted too)
    boss = {**headers("supervisor"), "X-Juki-Procedure": "protection"}
    res = api.get(f"/api/v1/residents/{world.numbers[0]}/cards", headers=boss)
    assert res.status_code == 200 and res.json()["cards"][0]["serial"] == world.cards["householder"].serial
    # the wife's cards are not hidden by the householder's measure
    wife = api.get(f"/api/v1/residents/{world.numbers[1]}/cards", headers=headers("clerk"))
    assert wife.status_code == 200 and len(wife.json()["cards"]) == 1


# --- J-LIS's revocation list -------------------------------------------------------------------------------------


def test_the_administrator_imports_jliss_crl_as_der_pem_or_json(world, api, headers):
    admin = headers("admin")
    householder, wife = world.cards["householder"], world.cards["wife"]
    der = world.pki.card_ca.crl([(householder.cert.serial_number, world.clock())])
    res = api.post(
        "/api/v1/card-revocations", content=der, headers={**admin, "Content-Type": "application/pkix-crl"}
    )
    assert res.status_code == 200, res.text
    assert res.json() == {"listed": 1, "added": 1}
    assert "失効" in sign_in(world.client("kiosk-a"), householder).json()["errors"][0]["message"]
    listed = card_of(api, headers, world.numbers[0], householder.serial)
    assert (listed["revoked_by_jlis"], listed["usable"], listed["state"]) == (True, False, "active")

    both = world.pki.card_ca.crl(
        [(householder.cert.serial_number, world.clock()), (wife.cert.serial_number, world.clock())]
    )
    as_pem = x509.load_der_x509_crl(both).public_bytes(Encoding.PEM)
    res = api.post(
        "/api/v1/card-revocations",
        content=as_pem,
        headers={**admin, "Content-Type": "application/x-pem-file"},
    )
    assert res.json() == {"listed": 2, "added": 1}
    res = api.post("/api/v1/card-revocations", json={"crl": base64.b64encode(both).decode()}, headers=admin)
    assert res.json() == {"listed": 2, "added": 0}
    res = api.post("/api/v1/card-revocations", json={"crl": as_pem.decode()}, headers=admin)
    assert res.json() == {"listed": 2, "added": 0}

    summary = api.get("/api/v1/kiosks", headers=admin).json()["revocations"]
    assert summary["count"] == 2 and summary["last_imported_at"] is not None
    details = [e.detail for e in world.log(action="card:revocations")]
    assert details == ["listed=1 added=1", "listed=2 added=1", "listed=2 added=0", "listed=2 added=0"]


@pytest.mark.parametrize(
    ("content", "content_type", "reason"),
    [
        ("rogue", "application/pkix-crl", "untrusted"),
        (b"not a crl", "application/pkix-crl", "malformed"),
        (b"-----BEGIN X509 CRL-----\nAAAA\n-----END X509 CRL-----\n", "application/x-pem-file", "malformed"),
        (b"", "application/pkix-crl", None),
        (b'{"crl": "%%%"}', "application/json", None),
        (b'{"crl": ""}', "application/json", None),
        (b'{"list": "x"}', "application/json", None),
        (b"{not json", "application/json", None),
    ],
)
def test_a_bad_revocation_list_is_refused_and_changes_nothing(
    world, api, headers, content, content_type, reason
):
    if content == "rogue":
        content = world.pki.rogue.crl([(world.cards["householder"].cert.serial_number, world.clock())])
    res = api.post(
        "/api/v1/card-revocations",
        content=content,
        headers={**headers("admin"), "Content-Type": content_type},
    )
    assert err(res) == (422, "invalid_field", "crl"), res.text
    assert count(world, t.card_revocations) == 0
    refused = [(e.result, e.detail) for e in world.log(action="card:revocations")]
    assert refused == ([("refused", f"reason={reason}")] if reason else [])
    assert sign_in(world.client("kiosk-a"), world.cards["householder"]).status_code == 201


def test_only_the_administrator_imports_a_revocation_list(world, api, headers):
    crl = world.pki.card_ca.crl([(world.cards["householder"].cert.serial_number, world.clock())])
    res = api.post(
        "/api/v1/card-revocations",
        content=crl,
        headers={**headers("clerk"), "Content-Type": "application/pkix-crl"},
    )
    assert err(res)[:2] == (403, "forbidden")
    assert count(world, t.card_revocations) == 0
    [entry] = world.log(action="card:revocations")
    assert (entry.result, entry.staff_id) == ("denied", "clerk1")


def test_no_answer_or_log_entry_of_the_registry_holds_a_my_number(world, api, headers):
    texts = [api.get(f"/api/v1/residents/{n}/cards", headers=headers("clerk")).text for n in world.numbers]
    texts.append(api.get("/api/v1/kiosks", headers=headers("admin")).text)
    texts.append(" ".join(f"{e.detail} {e.targets}" for e in world.log()))
    for my_number in world.my_numbers:
        assert all(my_number not in text for text in texts)
    assert session_of(world.client("kiosk-a"), world.cards["householder"])  # and the kiosk still works
