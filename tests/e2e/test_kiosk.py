"""証明書コンビニ交付 over HTTP: a kiosk (MFP) with its client certificate, a resident with their
card and PIN, every refusal, and the happy path with the PDF, /verify, the log and no My Number anywhere.

The kiosk's TLS connection is stood for by `WithClientCertificate`, which hands the app the client certificate as
the ASGI TLS extension exactly as `KioskTLSProtocol` does behind a real handshake; tests/e2e/test_kiosk_tls.py runs
the real thing: uvicorn with `CERT_REQUIRED` on a local port, and a TLS terminator in front of the app.
"""

from __future__ import annotations

import base64
import dataclasses
import re
import shutil
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from juki.adapters import tables as t
from juki.adapters.pki import TrustAnchors, kiosk_desk, pem
from juki.bootstrap import build
from juki.domain.dates import JST
from juki.domain.errors import Forbidden, InvalidField
from juki.services import filings, kiosk_registry, protection
from juki.services.kiosk_desk import kiosk_actor
from juki.sim.pki import issue_card, issue_kiosk
from tests import factories as f
from tests.conftest import TODAY
from tests.e2e import kiosk_world
from tests.e2e.kiosk_world import (
    ADMIN,
    CLERK,
    NUMBER,
    OPEN,
    SUPER,
    code,
    needs_poppler,
    pdf_text,
    protect,
    session_of,
    sign_in,
    wrong,
)

pki, world = kiosk_world.pki, kiosk_world.world  # the kiosk tests' fixtures: their PKI, register and kiosks


# --- the happy path ----------------------------------------------------------------------------------------------


@needs_poppler
def test_a_resident_gets_their_own_residence_certificate_at_a_kiosk(world):
    client = world.client("kiosk-a")
    res = sign_in(client, world.cards["householder"])
    assert res.status_code == 201, res.text
    session = res.json()
    assert session["holder"] == {"addressee_number": world.numbers[0], "name": "山田 太郎"}
    assert [m["addressee_number"] for m in session["household"]] == world.numbers
    assert session["offer"]["include"] == ["householder_and_relationship", "honseki"]
    headers = {"X-Kiosk-Session": session["session"]}

    res = client.post(
        "/kiosk/v1/certificates", json={"scope": "self", "include": {"honseki": True}}, headers=headers
    )
    assert res.status_code == 201, res.text
    assert res.content.startswith(b"%PDF")
    number = res.headers["X-Issuance-Number"]
    assert NUMBER.fullmatch(number)
    assert res.headers["X-Verify-URL"] == f"{world.j.settings.public_base_url.rstrip('/')}/verify/{number}"
    text = pdf_text(res.content)
    assert "山田 太郎" in text and "住 民 票" in text and number in text
    assert "花子" not in text  # the holder alone
    for my_number in world.my_numbers:
        assert my_number not in text.replace(" ", "")
    assert "住民票コード" not in text and "個人番号" not in text

    verified = world.client(None).get(f"/verify/{number}", params={"sha256": res.headers["X-Content-SHA256"]})
    assert verified.status_code == 200
    assert verified.json()["matches"] is True and verified.json()["kind"] == "residence_certificate"

    with world.j.engine.connect() as conn:
        record = conn.execute(
            select(t.certificate_issuances).where(t.certificate_issuances.c.issuance_number == number)
        ).one()
    assert (record.channel, record.terminal, record.staff_id) == ("kiosk", "kiosk-a", "kiosk:kiosk-a")
    assert (record.requester_type, record.requester_addressee_number) == ("self", world.numbers[0])
    assert record.my_number_printed is False and record.addressee_numbers == [world.numbers[0]]

    assert client.delete("/kiosk/v1/sessions/current", headers=headers).status_code == 204
    again = client.post("/kiosk/v1/certificates", json={"scope": "self"}, headers=headers)
    assert again.status_code == 401  # the card was taken out


def test_every_kiosk_step_is_logged_with_the_kiosk_as_terminal_and_no_my_number(world):
    client = world.client("kiosk-b")
    headers = session_of(client, world.cards["householder"])
    res = client.post("/kiosk/v1/certificates", json={"scope": "household"}, headers=headers)
    assert res.status_code == 201
    client.delete("/kiosk/v1/sessions/current", headers=headers)
    entries = world.log(terminal="kiosk-b")
    actions = [(e.action, e.result) for e in entries]
    assert actions == [
        ("kiosk:challenge", "ok"),
        ("kiosk:card_auth", "ok"),
        ("certificate:issue", "ok"),
        ("kiosk:issue", "ok"),
        ("kiosk:session_end", "ok"),
    ]
    for e in entries:
        assert (e.staff_id, e.role, e.procedure) == (
            "kiosk:kiosk-b",
            "kiosk",
            "証明書のコンビニ交付に関する事務",
        )
        assert e.staff_name == "コンビニ交付端末 花小金井店"
        assert e.my_number_shown is False
    issued = entries[3]
    assert res.headers["X-Issuance-Number"] in issued.detail
    assert world.cards["householder"].serial in issued.detail
    assert issued.targets == world.numbers  # the whole household
    everything = " ".join(f"{e.detail} {e.targets}" for e in world.log())
    for my_number in world.my_numbers:
        assert my_number not in everything


def test_a_household_member_gets_the_whole_households_certificate(world):
    client = world.client("kiosk-a")
    headers = session_of(client, world.cards["wife"])
    res = client.post(
        "/kiosk/v1/certificates",
        json={"scope": "household", "include": {"householder_and_relationship": True}},
        headers=headers,
    )
    assert res.status_code == 201, res.text
    with world.j.engine.connect() as conn:
        record = conn.execute(
            select(t.certificate_issuances).where(
                t.certificate_issuances.c.issuance_number == res.headers["X-Issuance-Number"]
            )
        ).one()
    assert record.addressee_numbers == world.numbers
    assert record.requester_type == "self"  # the wife is on it
    assert "householder_and_relationship" in record.items and "my_number" not in record.items
    if shutil.which("pdftotext"):
        text = pdf_text(res.content)
        assert all(name in text for name in ("太郎", "花子", "一郎", "桜"))
        assert "世帯全員" in text


def test_a_household_member_may_choose_other_members_of_their_household(world):
    client = world.client("kiosk-a")
    headers = session_of(client, world.cards["wife"])
    res = client.post(
        "/kiosk/v1/certificates",
        json={"scope": "members", "addressee_numbers": [world.numbers[2], world.numbers[3]]},
        headers=headers,
    )
    assert res.status_code == 201, res.text
    with world.j.engine.connect() as conn:
        record = conn.execute(
            select(t.certificate_issuances).where(
                t.certificate_issuances.c.issuance_number == res.headers["X-Issuance-Number"]
            )
        ).one()
    assert record.requester_type == "household_member"
    assert record.addressee_numbers == world.numbers[2:]


# --- what a resident may not get ---------------------------------------------------------------------------------


def test_another_households_person_is_refused(world):
    client = world.client("kiosk-a")
    headers = session_of(client, world.cards["householder"])
    res = client.post(
        "/kiosk/v1/certificates",
        json={"scope": "members", "addressee_numbers": [world.numbers[1], world.other]},
        headers=headers,
    )
    assert res.status_code == 403 and code(res) == "forbidden"
    [entry] = world.log(action="kiosk:issue")
    assert entry.result == "denied" and "other_household" in entry.detail
    with world.j.engine.connect() as conn:
        assert conn.execute(select(t.certificate_issuances)).first() is None


@pytest.mark.parametrize("item", ["my_number", "resident_code", "history"])
def test_numbers_and_history_are_not_offered_at_a_kiosk(world, item):
    client = world.client("kiosk-a")
    headers = session_of(client, world.cards["householder"])
    res = client.post(
        "/kiosk/v1/certificates", json={"scope": "self", "include": {item: True}}, headers=headers
    )
    assert res.status_code == 422 and code(res) == "invalid_field"


def test_another_kind_of_certificate_is_refused(world):
    client = world.client("kiosk-a")
    headers = session_of(client, world.cards["householder"])
    res = client.post("/kiosk/v1/certificates", json={"kind": "removed_record_certificate"}, headers=headers)
    assert res.status_code == 422 and res.json()["errors"][0]["field"] == "kind"


@pytest.mark.parametrize("scope", ["self", "household"])
def test_a_protected_person_is_referred_to_the_counter_without_saying_why(world, scope):
    measure = protect(world, world.numbers[0])
    protection.release(
        world.j.uow, SUPER, measure["measure_id"], {"minutes": 60, "reason": "窓口で本人確認のうえ交付"}
    )
    client = world.client("kiosk-a")
    headers = session_of(client, world.cards["householder"])  # signing in is not refused
    res = client.post("/kiosk/v1/certificates", json={"scope": scope}, headers=headers)
    assert res.status_code == 403 and code(res) == "refer_to_counter"
    assert "窓口でお問い合わせください" in res.text
    assert "支援" not in res.text and "措置" not in res.text and "抑止" not in res.text
    [entry] = world.log(action="kiosk:issue")
    assert (entry.result, entry.terminal) == ("protected", "kiosk-a")
    with world.j.engine.connect() as conn:
        assert conn.execute(select(t.certificate_issuances)).first() is None
        alerts = conn.execute(select(t.alerts)).all()
    assert any(a.subject == world.numbers[0] and a.staff_id == "kiosk:kiosk-a" for a in alerts)


def test_a_protected_member_blocks_the_household_certificate_and_the_members_own(world):
    protect(world, world.numbers[1])
    client = world.client("kiosk-a")
    headers = session_of(client, world.cards["householder"])
    res = client.post("/kiosk/v1/certificates", json={"scope": "household"}, headers=headers)
    assert code(res) == "refer_to_counter"
    wife = session_of(client, world.cards["wife"])
    res = client.post("/kiosk/v1/certificates", json={"scope": "self"}, headers=wife)
    assert code(res) == "refer_to_counter"
    # the householder's own certificate does not show the wife: it is issued
    res = client.post("/kiosk/v1/certificates", json={"scope": "self"}, headers=headers)
    assert res.status_code == 201


def test_a_household_hold_on_certificates_refers_to_the_counter(world):
    protect(world, world.household, "household", kind="hold", operations=["certificate"], level="error")
    client = world.client("kiosk-a")
    headers = session_of(client, world.cards["wife"])
    assert (
        code(client.post("/kiosk/v1/certificates", json={"scope": "self"}, headers=headers))
        == "refer_to_counter"
    )


def test_an_alert_level_hold_does_not_stop_the_kiosk(world):
    protect(world, world.numbers[0], kind="hold", operations=["certificate"], level="alert")
    client = world.client("kiosk-a")
    headers = session_of(client, world.cards["householder"])
    assert client.post("/kiosk/v1/certificates", json={"scope": "self"}, headers=headers).status_code == 201


def test_a_holder_who_moved_out_is_referred_to_the_counter(world):
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
    res = sign_in(world.client("kiosk-a"), world.cards["other"])
    assert res.status_code == 403 and code(res) == "refer_to_counter"


# --- the card ----------------------------------------------------------------------------------------------------


def test_three_wrong_pins_at_two_kiosks_lock_the_card_for_every_kiosk(world):
    card = world.cards["householder"]
    a, b = world.client("kiosk-a"), world.client("kiosk-b")
    first = sign_in(a, card, wrong(card))
    assert first.status_code == 401 and first.json()["errors"][0]["field"] == "pin"
    assert "あと2回" in first.json()["errors"][0]["message"]
    second = sign_in(b, card, wrong(card))
    assert second.status_code == 401 and "あと1回" in second.json()["errors"][0]["message"]
    third = sign_in(a, card, wrong(card))
    assert third.status_code == 403 and code(third) == "card_locked"
    # the right PIN does not help, at either kiosk
    for client in (a, b):
        res = sign_in(client, card)
        assert res.status_code == 403 and code(res) == "card_locked"
    results = [(e.terminal, e.result) for e in world.log(action="kiosk:card_auth")]
    assert results == [
        ("kiosk-a", "wrong_pin"),
        ("kiosk-b", "wrong_pin"),
        ("kiosk-a", "locked"),
        ("kiosk-a", "locked"),
        ("kiosk-b", "locked"),
    ]
    # other cards are not affected; the counter's PIN reset lifts the lock
    assert sign_in(a, world.cards["wife"]).status_code == 201
    kiosk_registry.reset_pin_lock(world.j.uow, CLERK, card.serial)
    assert sign_in(b, card).status_code == 201


def test_a_right_pin_starts_the_count_again(world):
    card = world.cards["householder"]
    client = world.client("kiosk-a")
    assert sign_in(client, card, wrong(card)).status_code == 401
    assert sign_in(client, card, wrong(card)).status_code == 401
    assert sign_in(client, card).status_code == 201
    res = sign_in(client, card, wrong(card))
    assert res.status_code == 401 and "あと2回" in res.json()["errors"][0]["message"]


def test_a_card_revoked_by_jlis_is_refused(world):
    card = world.cards["householder"]
    client = world.client("kiosk-a")
    assert sign_in(client, card).status_code == 201
    crl = world.pki.card_ca.crl([(card.cert.serial_number, world.clock())])
    imported = kiosk_registry.import_revocations(
        world.j.uow, TrustAnchors.from_dir(world.pki.folder), ADMIN, crl
    )
    assert imported == {"listed": 1, "added": 1}
    res = sign_in(client, card)
    assert res.status_code == 401 and code(res) == "unauthenticated"
    assert "失効" in res.json()["errors"][0]["message"]
    assert world.log(action="kiosk:card_auth")[-1].detail.endswith("reason=revoked")


def test_a_revocation_list_from_another_ca_is_refused(world):
    crl = world.pki.rogue.crl([(world.cards["householder"].cert.serial_number, world.clock())])
    with pytest.raises(InvalidField) as refused:
        kiosk_registry.import_revocations(world.j.uow, TrustAnchors.from_dir(world.pki.folder), ADMIN, crl)
    assert refused.value.field == "crl"
    entry = world.log(action="card:revocations")[-1]
    assert (entry.result, entry.detail) == ("refused", "reason=untrusted")
    assert sign_in(world.client("kiosk-a"), world.cards["householder"]).status_code == 201


def test_a_card_the_city_suspended_is_refused_and_an_open_session_ends(world):
    card = world.cards["householder"]
    client = world.client("kiosk-a")
    headers = session_of(client, card)
    kiosk_registry.set_card_state(world.j.uow, CLERK, card.serial, "suspended")
    res = client.post("/kiosk/v1/certificates", json={"scope": "self"}, headers=headers)
    assert res.status_code == 403 and code(res) == "refer_to_counter"
    assert code(sign_in(client, card)) == "unauthenticated"


def test_an_expired_card_certificate_is_refused(world):
    expired = world.card(
        "householder",
        not_before=world.clock() - timedelta(days=5 * 365),
        not_after=world.clock() - timedelta(days=1),
    )
    res = sign_in(world.client("kiosk-a"), expired)
    assert res.status_code == 401 and "有効期限" in res.json()["errors"][0]["message"]
    assert world.log(action="kiosk:card_auth")[-1].detail.endswith("reason=expired")


def test_an_unknown_card_is_refused(world):
    stranger = issue_card(
        world.pki.card_ca, now=world.clock()
    )  # J-LIS issued it; the city never registered it
    res = sign_in(world.client("kiosk-a"), stranger)
    assert res.status_code == 401 and code(res) == "unauthenticated"
    entry = world.log(action="kiosk:card_auth")[-1]
    assert entry.detail.endswith("reason=unknown_card") and entry.targets == []


def test_a_card_certificate_from_another_ca_is_refused(world):
    forged = issue_card(world.pki.rogue, now=world.clock())
    res = sign_in(world.client("kiosk-a"), forged)
    assert res.status_code == 401 and code(res) == "unauthenticated"
    assert world.log(action="kiosk:card_auth")[-1].detail == "reason=untrusted"


def test_a_signature_by_another_key_is_refused(world):
    client = world.client("kiosk-a")
    impostor = dataclasses.replace(world.cards["householder"], key=world.cards["wife"].key)
    res = sign_in(client, impostor)
    assert res.status_code == 401 and world.log(action="kiosk:card_auth")[-1].detail.endswith("bad_signature")


def test_a_challenge_is_used_once_and_only_by_its_kiosk(world):
    card = world.cards["householder"]
    a, b = world.client("kiosk-a"), world.client("kiosk-b")
    challenge = a.post("/kiosk/v1/challenges").json()
    body = {
        "challenge_id": challenge["challenge_id"],
        "card_certificate": card.certificate_pem,
        "pin_result": "ok",
        "signature": base64.b64encode(card.sign(base64.b64decode(challenge["challenge"]), card.pin)).decode(),
    }
    assert b.post("/kiosk/v1/sessions", json=body).status_code == 401  # another kiosk's challenge
    challenge = a.post("/kiosk/v1/challenges").json()
    body |= {
        "challenge_id": challenge["challenge_id"],
        "signature": base64.b64encode(card.sign(base64.b64decode(challenge["challenge"]), card.pin)).decode(),
    }
    assert a.post("/kiosk/v1/sessions", json=body).status_code == 201
    assert a.post("/kiosk/v1/sessions", json=body).status_code == 401  # replayed


def test_a_session_is_bound_to_its_kiosk_and_lapses(world):
    a, b = world.client("kiosk-a"), world.client("kiosk-b")
    headers = session_of(a, world.cards["householder"])
    assert b.post("/kiosk/v1/certificates", json={"scope": "self"}, headers=headers).status_code == 401
    world.clock.at = OPEN + timedelta(minutes=6)
    res = a.post("/kiosk/v1/certificates", json={"scope": "self"}, headers=headers)
    assert res.status_code == 401 and res.json()["errors"][0]["field"] == "X-Kiosk-Session"


# --- the kiosk ---------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "/kiosk/v1/status"),
        ("POST", "/kiosk/v1/challenges"),
        ("POST", "/kiosk/v1/sessions"),
        ("POST", "/kiosk/v1/certificates"),
        ("DELETE", "/kiosk/v1/sessions/current"),
    ],
)
def test_a_request_without_a_kiosk_certificate_is_refused(world, method, path):
    res = world.client(None).request(method, path, json={} if method == "POST" else None)
    assert res.status_code == 401 and code(res) == "unauthenticated"
    [entry] = world.log(action="kiosk:connect")
    assert (entry.result, entry.staff_id) == ("denied", "kiosk:unknown")


def test_a_bearer_token_or_a_header_does_not_make_a_kiosk(world, headers):
    res = world.client(None).post(
        "/kiosk/v1/challenges",
        headers={**headers("clerk"), "X-Client-Cert": world.pki.kiosks["kiosk-a"][2].replace("\n", " ")},
    )
    assert res.status_code == 401


@pytest.mark.parametrize(
    ("kiosk_id", "reason"),
    [("rogue", "untrusted"), ("kiosk-unregistered", "unregistered")],
)
def test_a_kiosk_certificate_the_city_does_not_know_is_refused(world, kiosk_id, reason):
    res = world.client(kiosk_id).post("/kiosk/v1/challenges")
    assert res.status_code == 401 and res.json()["errors"][0]["field"] == "client_certificate"
    assert world.log(action="kiosk:connect")[-1].detail.startswith(f"reason={reason}")


def test_a_retired_kiosk_and_a_replaced_certificate_are_refused(world):
    kiosk_registry.retire_kiosk(world.j.uow, ADMIN, "kiosk-b")
    assert world.client("kiosk-b").post("/kiosk/v1/challenges").status_code == 401
    _, cert = issue_kiosk(world.pki.kiosk_ca, "kiosk-a")  # a new certificate, the old one no longer valid
    kiosk_registry.register_kiosk(
        world.j.uow, TrustAnchors.from_dir(world.pki.folder), ADMIN, "kiosk-a", "新しい証明書", pem(cert)
    )
    assert world.client("kiosk-a").post("/kiosk/v1/challenges").status_code == 401
    assert "certificate_mismatch" in world.log(action="kiosk:connect")[-1].detail


def test_only_an_administrator_registers_kiosks_and_only_the_counter_registers_cards(world):
    trust = TrustAnchors.from_dir(world.pki.folder)
    with pytest.raises(Forbidden):
        kiosk_registry.register_kiosk(
            world.j.uow, trust, CLERK, "kiosk-c", "x", world.pki.kiosks["kiosk-a"][2]
        )
    card = issue_card(world.pki.card_ca, now=world.clock())
    with pytest.raises(Forbidden):
        kiosk_registry.register_card(world.j.uow, trust, ADMIN, world.numbers[0], card.certificate_pem)
    shop = kiosk_actor("kiosk-a", "x")
    with pytest.raises(Forbidden):
        kiosk_registry.register_card(world.j.uow, trust, shop, world.numbers[0], card.certificate_pem)


# --- service hours -----------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "at",
    [
        datetime(2025, 6, 30, 6, 29, tzinfo=JST),
        datetime(2025, 6, 30, 23, 0, tzinfo=JST),
        datetime(2025, 7, 1, 2, 0, tzinfo=JST),
        datetime(2025, 12, 30, 12, 0, tzinfo=JST),
        datetime(2026, 1, 3, 12, 0, tzinfo=JST),
    ],
)
def test_outside_the_service_hours_the_kiosk_is_closed(world, at):
    client = world.client("kiosk-a")
    headers = session_of(client, world.cards["householder"])
    world.clock.at = at
    for res in (
        client.post("/kiosk/v1/challenges"),
        client.post("/kiosk/v1/certificates", json={"scope": "self"}, headers=headers),
    ):
        assert res.status_code == 403 and code(res) == "outside_service_hours"
    assert client.get("/kiosk/v1/status").json()["open"] is False
    assert [e.result for e in world.log(terminal="kiosk-a")][-2:] == ["closed", "closed"]


def test_the_service_hours_are_settings(db_url, pki):
    j = build(
        db_url, run_migrations=False, today=TODAY, kiosk_pki_dir=str(pki.folder), kiosk_hours_end="24:00"
    )
    desk = kiosk_desk(j.settings, j.certificate_office)
    assert desk.hours.is_open(datetime(2025, 6, 30, 23, 30, tzinfo=JST))
    assert not desk.hours.is_open(datetime(2025, 6, 30, 6, 0, tzinfo=JST))
    j.engine.dispose()


# --- the simulator -----------------------------------------------------------------------------------------------


def test_the_simulator_plays_a_kiosk_against_its_own_tls_server(tmp_path: Path) -> None:
    from rich.console import Console
    from typer.testing import CliRunner

    from juki.cli.main import app
    from juki.demo.generator import build_demo

    db = tmp_path / "demo.db"
    j = build(str(db))
    build_demo(
        j, residents=60, seed=5, accounts_path=tmp_path / "demo-accounts.json", console=Console(quiet=True)
    )
    j.engine.dispose()
    listed = (tmp_path / "demo-cards" / "cards.json").read_text(encoding="utf-8")
    assert '"pin"' in listed and (tmp_path / "kiosk-pki" / "kiosks" / "kiosk-demo-01.pem").exists()
    out = tmp_path / "kiosk.pdf"
    runner = CliRunner()
    result = runner.invoke(
        app, ["sim", "kiosk", "--db", str(db), "--always-open", "--scope", "household", "--out", str(out)]
    )
    assert result.exit_code == 0, result.output
    assert out.read_bytes().startswith(b"%PDF")
    number = re.search(r"発行番号: (\d{8}-\d{6})", result.output)
    assert number and f"/verify/{number[1]}" in result.output and "照合: 一致" in result.output
    # a wrong PIN is reported and counted
    result = runner.invoke(app, ["sim", "kiosk", "--db", str(db), "--always-open", "--pin", "99999"])
    assert result.exit_code == 1 and "unauthenticated" in result.output


def test_a_kiosk_prints_what_was_chosen_with_the_kiosk_fee_and_place_whatever_the_counter_defaults(world):
    """The city's settings (certificate settings): the kiosk fee and place are the kiosk's; the counter's default
    items (history, 世帯主・続柄 here) do not reach a kiosk certificate — it prints what the resident chose."""
    from juki.domain.certificate_settings import DEFAULT
    from juki.services import certificates

    settings = DEFAULT.as_dict()
    settings["kinds"]["residence_certificate"]["include"] = ["householder_and_relationship", "history"]
    settings["kiosk"] = {"fee": 200, "office": "コンビニ交付"}
    certificates.change_settings(
        world.j.uow, ADMIN, world.j.certificate_office, {"settings": settings, "reason": "手数料の改定"}
    )
    client = world.client("kiosk-a")
    session = sign_in(client, world.cards["householder"]).json()
    assert session["offer"]["fee_per_copy"] == 200
    res = client.post(
        "/kiosk/v1/certificates",
        json={"scope": "self", "include": {"honseki": True}},
        headers={"X-Kiosk-Session": session["session"]},
    )
    assert res.status_code == 201, res.text
    assert res.headers["X-Issuance-Fee"] == "200"
    text = pdf_text(res.content)
    assert "本籍" in text and "異動履歴" not in text and "続柄" not in text
    assert "コンビニ交付 kiosk-a" in text  # the place and the kiosk in the 発行番号 line (j1040)
    with world.j.engine.connect() as conn:
        record = conn.execute(select(t.certificate_issuances)).one()
    assert (record.office, record.fee) == ("コンビニ交付", 200)
    assert "history" not in record.items and "householder_and_relationship" not in record.items


def test_a_certificate_with_an_overflowing_field_is_referred_to_the_counter(world):
    """j1070: a cut (or blank) field needs the clerk's hand — a kiosk issues nothing and keeps no 発行番号."""
    long = "コーポ" + "小平花小金井" * 16
    moved = filings.file(
        world.j.uow,
        CLERK,
        "move-within",
        {
            "filed_on": "2025-06-20",
            "changed_on": "2025-06-18",
            "household_number": world.household,
            "addressee_numbers": world.numbers,
            "address": {"address": "東京都小平市花小金井南町三丁目5番12号", "katagaki": long},
        },
    )
    assert moved.changes
    client = world.client("kiosk-a")
    session = sign_in(client, world.cards["householder"]).json()
    res = client.post(
        "/kiosk/v1/certificates", json={"scope": "self"}, headers={"X-Kiosk-Session": session["session"]}
    )
    assert res.status_code == 403 and code(res) == "refer_to_counter"
    with world.j.engine.connect() as conn:
        assert conn.execute(select(t.certificate_issuances)).all() == []
    refused = world.log(action="kiosk:issue")[-1]
    assert refused.result == "refused" and "reason=overflow" in refused.detail
