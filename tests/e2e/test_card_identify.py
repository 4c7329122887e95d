"""本人確認 with the card at the counter (seed ⑩) over `POST /api/v1/cards/identify`: the card's user certificate finds
its holder without a name being typed; a card J-LIS's CA did not issue, one the city does not know, one revoked (by
the city or on J-LIS's CRL), suspended or out of its validity, and one of someone else than the record the clerk is
working on are each refused with a stable code, logged, and change nothing; a protected holder is hidden like the
person."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from juki.adapters import tables as t
from juki.services import kiosk_registry
from juki.sim.pki import SimCard, issue_card
from tests.e2e import kiosk_world
from tests.e2e.card_world import CLERK, CardWorld, card_world_fixture, code
from tests.e2e.kiosk_world import ADMIN, OPEN

pki = kiosk_world.pki
card_world = card_world_fixture()
URL = "/api/v1/cards/identify"


def registered(w: CardWorld, number: str, **kw) -> SimCard:
    """A card the counter registered for `number` (the registry, as コンビニ交付 knows it)."""
    card = w.new_card(**kw)
    kiosk_registry.register_card(w.j.uow, w.trust, CLERK, number, card.certificate_pem)
    return card


def cards_table(w: CardWorld) -> list[tuple]:
    with w.j.engine.connect() as conn:
        return sorted(tuple(r) for r in conn.execute(select(t.kiosk_cards)).all())


def test_the_card_finds_its_holder_and_the_check_is_logged(card_world: CardWorld):
    w = card_world
    householder, wife, *_ = w.family()
    _, card = w.handed_over(wife)  # a card handed over at the counter
    seq = w.last_seq()
    res = w.api.post(URL, json={"certificate": card.certificate_pem}, headers=w.headers("clerk"))
    assert res.status_code == 200, res.text
    assert res.json() == {
        "addressee_number": wife,
        "serial": card.serial,
        "expires_on": res.json()["expires_on"],
        "locked": False,
        "status": "active",
    }
    # the clerk working on the wife's record: the same card agrees
    res = w.api.post(
        URL,
        json={"certificate": card.certificate_pem, "addressee_number": wife},
        headers=w.headers("supervisor"),
    )
    assert res.status_code == 200 and res.json()["addressee_number"] == wife
    entries = [(e.staff_id, e.result, e.targets, e.detail) for e in w.log(seq, action="card:identify")]
    assert entries == [
        ("clerk1", "ok", [wife], f"card={card.serial}"),
        ("super1", "ok", [wife], f"card={card.serial}"),
    ]
    # a card registered for コンビニ交付 is as good
    other = registered(w, householder).certificate_pem
    res = w.api.post(URL, json={"certificate": other}, headers=w.headers("clerk"))
    assert res.json()["addressee_number"] == householder


def test_a_locked_card_still_identifies_its_holder(card_world: CardWorld):
    """The PIN lock is the kiosks'; at the counter the certificate is read and the chip signs nothing."""
    w = card_world
    number = w.family()[0]
    card = registered(w, number)
    with w.j.uow() as uow:  # three wrong PINs at kiosks
        uow.cards.change_card(card.serial, {"pin_failures": 3, "locked_at": uow.now})
        uow.commit()
    res = w.api.post(URL, json={"certificate": card.certificate_pem}, headers=w.headers("clerk"))
    assert res.status_code == 200 and res.json()["locked"] is True


@pytest.mark.parametrize(
    ("case", "expected", "reason"),
    [
        ("rogue", (422, "card_untrusted", "certificate"), "reason=untrusted"),
        ("garbage", (422, "invalid_field", "certificate"), "reason=malformed"),
        ("unknown", (404, "card_not_found", "certificate"), "reason=card_not_found"),
        ("revoked", (409, "card_revoked", "certificate"), "reason=card_revoked"),
        ("on_the_crl", (409, "card_revoked", "certificate"), "reason=card_revoked"),
        ("suspended", (409, "card_suspended", "certificate"), "reason=card_suspended"),
        ("expired", (409, "card_expired", "certificate"), "reason=card_expired"),
        ("someone_else", (409, "card_holder_mismatch", "certificate"), "reason=card_holder_mismatch"),
    ],
)
def test_a_card_that_proves_nothing_is_refused_logged_and_changes_nothing(
    card_world: CardWorld, case, expected, reason
):
    w = card_world
    householder, wife, *_ = w.family()
    body = {"certificate": ""}
    if case == "rogue":
        body["certificate"] = issue_card(w.pki.rogue, now=OPEN).certificate_pem
    elif case == "garbage":
        body["certificate"] = "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n"
    elif case == "unknown":
        body["certificate"] = w.new_card().certificate_pem  # J-LIS's, but the city never handed it over
    elif case in ("revoked", "suspended"):
        _, card = w.handed_over(householder)
        res = w.api.post(
            f"/api/v1/cards/{card.serial}/state", json={"state": case}, headers=w.headers("clerk")
        )
        assert res.status_code == 200
        body["certificate"] = card.certificate_pem
    elif case == "on_the_crl":
        _, card = w.handed_over(householder)
        crl = w.pki.card_ca.crl([(card.cert.serial_number, OPEN)])
        kiosk_registry.import_revocations(w.j.uow, w.trust, ADMIN, crl)
        body["certificate"] = card.certificate_pem
    elif case == "expired":
        past = {"not_before": OPEN - timedelta(days=400), "not_after": OPEN - timedelta(days=1)}
        body["certificate"] = registered(w, householder, **past).certificate_pem
    elif case == "someone_else":
        body = {"certificate": registered(w, householder).certificate_pem, "addressee_number": wife}
    before, seq = cards_table(w), w.last_seq()
    res = w.api.post(URL, json=body, headers=w.headers("clerk"))
    assert code(res) == expected, res.text
    assert householder not in res.text  # a refusal never says whose card it is
    assert cards_table(w) == before
    [entry] = w.log(seq, action="card:identify")
    assert entry.result == "refused" and entry.detail.endswith(reason), entry.detail
    if case == "someone_else":  # the record worked on, and whose card it was
        assert entry.targets == [wife, householder]


def test_a_protected_holder_is_hidden_like_the_person(card_world: CardWorld):
    w = card_world
    _, wife, *_ = w.family("東雲", "シノノメ")
    _, card = w.handed_over(wife)
    w.protect(wife)
    seq = w.last_seq()
    res = w.api.post(URL, json={"certificate": card.certificate_pem}, headers=w.headers("clerk"))
    assert code(res) == (404, "not_found", "addressee_number") and wife not in res.text
    [entry] = w.log(seq, action="card:identify")
    assert (entry.result, entry.targets) == ("hidden", [wife])
    with w.j.engine.connect() as conn:
        alerts = conn.execute(select(t.alerts).where(t.alerts.c.subject == wife)).all()
    assert [a.kind for a in alerts if "card:identify" in a.detail] == ["protected_hidden"]
    boss = {**w.headers("supervisor"), "X-Juki-Procedure": "protection"}
    res = w.api.post(URL, json={"certificate": card.certificate_pem}, headers=boss)
    assert res.status_code == 200 and res.json()["addressee_number"] == wife


@pytest.mark.parametrize(
    ("body", "field"),
    [({}, "certificate"), ({"certificate": 1}, "certificate"), ({"certificate": "   "}, "certificate"),
     ({"certificate": "x", "addressee_number": "12"}, "addressee_number"), ({"certificate": "x", "pin": "1234"}, "pin")],
)  # fmt: skip
def test_a_malformed_request_is_refused_before_any_check(card_world: CardWorld, body, field):
    w = card_world
    seq = w.last_seq()
    res = w.api.post(URL, json=body, headers=w.headers("clerk"))
    assert code(res) == (422, "invalid_field", field)
    assert not w.log(seq, action="card:identify")


def test_only_those_who_read_the_register_check_a_card(card_world: CardWorld):
    w = card_world
    _, card = w.handed_over(w.family()[0])
    for role in ("admin", "auditor", "cs_operator", "department"):
        res = w.api.post(URL, json={"certificate": card.certificate_pem}, headers=w.headers(role))
        assert code(res)[:2] == (403, "forbidden")
