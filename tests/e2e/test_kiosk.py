"""証明書コンビニ交付 over HTTP: a kiosk (MFP) with its client certificate, a resident with their
card and PIN, every refusal, and the happy path with the PDF, /verify, the log and no My Number anywhere.

The kiosk's TLS connection is stood for by `WithClientCertificate`, which hands the app the client certificate as
the ASGI TLS extension exactly as `KioskTLSProtocol` does behind a real handshake; the last tests run the real
thing: uvicorn with `CERT_REQUIRED` on a local port.
"""

from __future__ import annotations

import base64
import dataclasses
import re
import shutil
import subprocess
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import quote

import httpx
import pytest
import uvicorn
from fastapi.testclient import TestClient
from sqlalchemy import select

from juki.adapters import tables as t
from juki.adapters.kiosk_tls import (
    BackgroundServer,
    WithClientCertificate,
    kiosk_client_context,
    server_config,
)
from juki.adapters.pki import TrustAnchors, kiosk_desk, pem
from juki.bootstrap import Juki, build
from juki.domain.dates import JST
from juki.domain.errors import Forbidden, InvalidField
from juki.policy.roles import Actor
from juki.services import filings, kiosk_registry, protection
from juki.services.kiosk_desk import kiosk_actor
from juki.sim.pki import SimCA, SimCard, WrongPin, create_test_pki, issue_card, issue_kiosk, save_pair
from juki.web.app import create_app
from tests import factories as f
from tests.conftest import STAFF, TODAY

CLERK = Actor(STAFF["clerk"][0], STAFF["clerk"][1], "clerk", "test")
ADMIN = Actor(STAFF["admin"][0], STAFF["admin"][1], "admin", "test")
SUPER = Actor(STAFF["supervisor"][0], STAFF["supervisor"][1], "supervisor", "test", procedure="protection")
OPEN = datetime(2025, 6, 30, 10, 0, tzinfo=JST)  # a Monday morning: the register's TODAY
NUMBER = re.compile(r"\d{8}-\d{6}")
needs_poppler = pytest.mark.skipif(shutil.which("pdftotext") is None, reason="poppler-utils is not installed")


@dataclasses.dataclass
class Pki:
    folder: Path
    card_ca: SimCA
    kiosk_ca: SimCA
    rogue: SimCA  # signs what no one trusts
    kiosks: dict[str, tuple[Path, Path, str]]  # id → (certificate, key, PEM)


@pytest.fixture(scope="session")
def pki(tmp_path_factory: pytest.TempPathFactory) -> Pki:
    folder = tmp_path_factory.mktemp("kiosk-pki")
    card_ca, kiosk_ca = create_test_pki(folder)
    kiosks = {}
    for kiosk_id in ("kiosk-a", "kiosk-b", "kiosk-unregistered"):
        key, cert = issue_kiosk(kiosk_ca, kiosk_id, now=OPEN - timedelta(days=30))
        cert_path, key_path = save_pair(folder / "kiosks", kiosk_id, key, cert)
        kiosks[kiosk_id] = (cert_path, key_path, pem(cert))
    rogue = SimCA.create("Rogue CA", "nobody", now=OPEN)
    key, cert = issue_kiosk(rogue, "kiosk-a", now=OPEN)
    kiosks["rogue"] = (*save_pair(folder / "rogue", "kiosk-a", key, cert), pem(cert))
    return Pki(folder, card_ca, kiosk_ca, rogue, kiosks)


class Clock:
    def __init__(self, at: datetime) -> None:
        self.at = at

    def __call__(self) -> datetime:
        return self.at.astimezone(UTC)


@dataclasses.dataclass
class World:
    j: Juki
    app: Any
    clock: Clock
    pki: Pki
    numbers: list[str]  # householder, wife, child, child
    household: str
    my_numbers: list[str]
    other: str  # someone of another household
    cards: dict[str, SimCard]  # "householder", "wife", "other"

    def client(self, kiosk_id: str | None = "kiosk-a") -> TestClient:
        app = (
            self.app
            if kiosk_id is None
            else WithClientCertificate(self.app, self.pki.kiosks[kiosk_id][2], None, None)
        )
        return TestClient(app, raise_server_exceptions=False)

    def log(self, **where: Any) -> list[Any]:
        c = t.operation_log.c
        q = select(t.operation_log).order_by(c.seq)
        for key, value in where.items():
            q = q.where(getattr(c, key) == value)
        with self.j.engine.connect() as conn:
            return list(conn.execute(q).all())

    def card(self, who: str, **kw: Any) -> SimCard:
        card = issue_card(self.pki.card_ca, now=self.clock(), **kw)
        number = {"householder": self.numbers[0], "wife": self.numbers[1], "other": self.other}[who]
        kiosk_registry.register_card(
            self.j.uow, TrustAnchors.from_dir(self.pki.folder), CLERK, number, card.certificate_pem
        )
        return card


@pytest.fixture
def world(db_url: str, pki: Pki) -> Iterator[World]:
    j = build(db_url, run_migrations=False, today=TODAY, kiosk_pki_dir=str(pki.folder))
    clock = Clock(OPEN)
    app = create_app(j)
    app.state.kiosk_desk = dataclasses.replace(kiosk_desk(j.settings, j.certificate_office), clock=clock)
    trust = TrustAnchors.from_dir(pki.folder)
    for kiosk_id, name in (("kiosk-a", "小平駅前店"), ("kiosk-b", "花小金井店")):
        kiosk_registry.register_kiosk(
            j.uow, trust, ADMIN, kiosk_id, f"コンビニ交付端末 {name}", pki.kiosks[kiosk_id][2]
        )
    people = f.family_of_four()
    first = filings.file(j.uow, CLERK, "move-in", f.move_in(people))
    numbers = [c["addressee_number"] for c in first.changes]
    single = filings.file(
        j.uow, CLERK, "move-in", f.move_in([f.person(family_name="鈴木", family_name_kana="スズキ")])
    )
    w = World(
        j,
        app,
        clock,
        pki,
        numbers,
        first.household_number,
        [p["my_number"] for p in people],
        single.changes[0]["addressee_number"],
        {},
    )
    w.cards = {who: w.card(who) for who in ("householder", "wife", "other")}
    yield w
    j.engine.dispose()


def sign_in(client: TestClient, card: SimCard, pin: str | None = None) -> httpx.Response:
    res = client.post("/kiosk/v1/challenges")
    assert res.status_code == 201, res.text
    challenge = res.json()
    body: dict[str, Any] = {
        "challenge_id": challenge["challenge_id"],
        "card_certificate": card.certificate_pem,
    }
    try:
        signature = card.sign(base64.b64decode(challenge["challenge"]), pin or card.pin)
        body |= {"pin_result": "ok", "signature": base64.b64encode(signature).decode()}
    except WrongPin:
        body["pin_result"] = "incorrect"
    return client.post("/kiosk/v1/sessions", json=body)


def session_of(client: TestClient, card: SimCard) -> dict[str, str]:
    res = sign_in(client, card)
    assert res.status_code == 201, res.text
    return {"X-Kiosk-Session": res.json()["session"]}


def code(res: httpx.Response) -> str:
    return res.json()["errors"][0]["code"]


def wrong(card: SimCard) -> str:
    return f"{(int(card.pin) + 1) % 10_000:04d}"


def pdf_text(pdf: bytes) -> str:
    done = subprocess.run(["pdftotext", "-layout", "-", "-"], input=pdf, capture_output=True, check=True)
    return re.sub(r"[ \u3000]+", " ", done.stdout.decode("utf-8"))


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


def _protect(world: World, subject: str, subject_kind: str = "person", **over: Any) -> dict[str, Any]:
    return protection.set_measure(world.j.uow, SUPER, f.support_measure(subject, subject_kind, **over))


@pytest.mark.parametrize("scope", ["self", "household"])
def test_a_protected_person_is_referred_to_the_counter_without_saying_why(world, scope):
    measure = _protect(world, world.numbers[0])
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
    _protect(world, world.numbers[1])
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
    _protect(world, world.household, "household", kind="hold", operations=["certificate"], level="error")
    client = world.client("kiosk-a")
    headers = session_of(client, world.cards["wife"])
    assert (
        code(client.post("/kiosk/v1/certificates", json={"scope": "self"}, headers=headers))
        == "refer_to_counter"
    )


def test_an_alert_level_hold_does_not_stop_the_kiosk(world):
    _protect(world, world.numbers[0], kind="hold", operations=["certificate"], level="alert")
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


# --- over real TLS -----------------------------------------------------------------------------------------------


@pytest.fixture
def tls_server(world: World) -> Iterator[str]:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    config = server_config(world.app, world.pki.folder, port=port, log_level="warning")
    with BackgroundServer(config):
        yield f"https://127.0.0.1:{port}"


def _tls_client(world: World, url: str, kiosk_id: str | None) -> httpx.Client:
    certificate = key = None
    if kiosk_id is not None:
        certificate, key, _ = world.pki.kiosks[kiosk_id]
    return httpx.Client(
        base_url=url, verify=kiosk_client_context(world.pki.folder, certificate, key), timeout=30
    )


def _card_to_certificate(client: httpx.Client, card: SimCard) -> None:
    """The whole kiosk flow over a real TLS client: status, challenge, the card's signature, a 住民票の写し."""
    assert client.get("/kiosk/v1/status").json()["kiosk_id"] == "kiosk-a"
    challenge = client.post("/kiosk/v1/challenges").json()
    signature = card.sign(base64.b64decode(challenge["challenge"]), card.pin)
    res = client.post(
        "/kiosk/v1/sessions",
        json={
            "challenge_id": challenge["challenge_id"],
            "card_certificate": card.certificate_pem,
            "pin_result": "ok",
            "signature": base64.b64encode(signature).decode(),
        },
    )
    assert res.status_code == 201, res.text
    res = client.post(
        "/kiosk/v1/certificates", json={"scope": "self"}, headers={"X-Kiosk-Session": res.json()["session"]}
    )
    assert res.status_code == 201 and res.content.startswith(b"%PDF")


def test_over_mutual_tls_a_kiosk_gets_a_certificate(world, tls_server):
    with _tls_client(world, tls_server, "kiosk-a") as client:
        _card_to_certificate(client, world.cards["wife"])
    assert world.log(action="kiosk:issue")[-1].terminal == "kiosk-a"


@pytest.mark.parametrize("kiosk_id", [None, "rogue"])
def test_over_mutual_tls_a_client_without_a_kiosk_certificate_gets_no_connection(world, tls_server, kiosk_id):
    with _tls_client(world, tls_server, kiosk_id) as client, pytest.raises(httpx.HTTPError):
        client.get("/kiosk/v1/status")
    assert world.log(action="kiosk:connect") == []  # refused by the handshake, before the app


def test_over_mutual_tls_an_unregistered_kiosk_is_refused_by_the_app(world, tls_server):
    with _tls_client(world, tls_server, "kiosk-unregistered") as client:
        res = client.post("/kiosk/v1/challenges")
    assert res.status_code == 401
    assert world.log(action="kiosk:connect")[-1].detail.startswith("reason=unregistered")


# --- behind a TLS terminator (nginx forwarding the client certificate) ------------------------------------------

PROXY = "10.0.0.2"  # the TLS terminator's address, as the app sees the TCP peer


def escaped(certificate: str) -> str:
    """nginx's `$ssl_client_escaped_cert`: the PEM, URL-encoded."""
    return quote(certificate, safe="")


def behind_proxy(world: World, trusted: str, peer: str = PROXY) -> TestClient:
    """A client of an app whose settings trust `trusted` as TLS terminators, connecting from `peer`."""
    j = build(world.j.settings.database_url, run_migrations=False, today=TODAY, trusted_proxies=trusted)
    app = create_app(j)
    app.state.kiosk_desk = world.app.state.kiosk_desk
    return TestClient(app, raise_server_exceptions=False, client=(peer, 50000))


def test_by_default_no_proxy_is_trusted_and_the_header_is_refused_and_logged(world):
    assert world.j.settings.trusted_proxy_networks() == ()
    client = TestClient(world.app, raise_server_exceptions=False, client=(PROXY, 50000))
    res = client.post(
        "/kiosk/v1/challenges", headers={"X-SSL-Client-Cert": escaped(world.pki.kiosks["kiosk-a"][2])}
    )
    assert res.status_code == 401 and res.json()["errors"][0]["field"] == "client_certificate"
    [entry] = world.log(action="kiosk:connect")
    assert (entry.result, entry.detail, entry.terminal) == ("denied", "reason=untrusted_proxy_header", PROXY)
    assert not world.log(action="kiosk:challenge")


def test_the_certificate_a_trusted_proxy_forwards_identifies_the_kiosk(world):
    client = behind_proxy(world, f"192.0.2.7, {PROXY.rsplit('.', 1)[0]}.0/29")
    card = world.cards["wife"]
    header = {"X-SSL-Client-Cert": escaped(world.pki.kiosks["kiosk-b"][2])}
    assert client.get("/kiosk/v1/status", headers=header).json()["kiosk_id"] == "kiosk-b"
    challenge = client.post("/kiosk/v1/challenges", headers=header).json()
    signature = card.sign(base64.b64decode(challenge["challenge"]), card.pin)
    res = client.post(
        "/kiosk/v1/sessions",
        json={
            "challenge_id": challenge["challenge_id"],
            "card_certificate": card.certificate_pem,
            "pin_result": "ok",
            "signature": base64.b64encode(signature).decode(),
        },
        headers=header,
    )
    assert res.status_code == 201, res.text
    assert [e.terminal for e in world.log(action="kiosk:card_auth")] == ["kiosk-b"]


@pytest.mark.parametrize(
    ("peer", "trusted"),
    [
        ("10.0.0.9", "10.0.0.2"),  # a neighbour of the proxy
        ("192.0.2.1", "10.0.0.0/8"),
        ("testclient", "10.0.0.0/8"),  # not an address at all
    ],
)
def test_the_same_header_from_a_peer_that_is_not_a_trusted_proxy_is_refused(world, peer, trusted):
    client = behind_proxy(world, trusted, peer)
    res = client.post(
        "/kiosk/v1/challenges", headers={"X-SSL-Client-Cert": escaped(world.pki.kiosks["kiosk-a"][2])}
    )
    assert res.status_code == 401 and code(res) == "unauthenticated"
    assert world.log(action="kiosk:connect")[-1].detail == "reason=untrusted_proxy_header"
    assert not world.log(action="kiosk:challenge")


def test_from_an_untrusted_peer_the_header_is_ignored_beside_the_connections_own_certificate(world):
    app = WithClientCertificate(world.app, world.pki.kiosks["kiosk-b"][2], None, None)
    client = TestClient(app, raise_server_exceptions=False, client=(PROXY, 50000))
    res = client.get(
        "/kiosk/v1/status", headers={"X-SSL-Client-Cert": escaped(world.pki.kiosks["kiosk-a"][2])}
    )
    assert res.json()["kiosk_id"] == "kiosk-b"


@pytest.mark.parametrize(
    ("value", "reason"),
    [
        ("not a certificate", "malformed_header"),
        (
            "%ZZ%-----BEGIN CERTIFICATE-----",
            "malformed",
        ),  # stray % are kept as they are: then not a certificate
        ("%FF%FE-----BEGIN CERTIFICATE-----", "malformed_header"),  # not UTF-8
        (quote("-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n", safe=""), "malformed"),
        ("-----BEGIN CERTIFICATE-----" + "A" * 30_000, "malformed_header"),  # too long
        ("", "no_client_certificate"),  # nginx with ssl_verify_client optional, and no certificate
        ("rogue", "untrusted"),  # the checks of a direct connection apply unchanged
        ("kiosk-unregistered", "unregistered"),
    ],
)
def test_a_bad_header_from_a_trusted_proxy_is_refused_cleanly(world, value, reason):
    client = behind_proxy(world, PROXY)
    if value in world.pki.kiosks:
        value = escaped(world.pki.kiosks[value][2])
    res = client.post(
        "/kiosk/v1/challenges", headers={"X-SSL-Client-Cert": value, "X-Real-IP": "203.0.113.5"}
    )
    assert res.status_code == 401 and code(res) == "unauthenticated", res.text
    entry = world.log(action="kiosk:connect")[-1]
    assert entry.detail.startswith(f"reason={reason}") and entry.detail.endswith("via=proxy")
    assert entry.terminal == f"203.0.113.5 via {PROXY}"  # the kiosk's address as the proxy saw it
    assert not world.log(action="kiosk:challenge")


def test_two_certificate_headers_are_refused(world):
    client = behind_proxy(world, PROXY)
    pem_a = escaped(world.pki.kiosks["kiosk-a"][2])
    res = client.post(
        "/kiosk/v1/challenges", headers=[("X-SSL-Client-Cert", pem_a), ("X-SSL-Client-Cert", pem_a)]
    )
    assert res.status_code == 401
    assert world.log(action="kiosk:connect")[-1].detail == "reason=malformed_header via=proxy"


def test_trusted_proxies_must_be_addresses_or_networks(db_url):
    with pytest.raises(ValueError, match="JUKI_TRUSTED_PROXIES"):
        build(db_url, run_migrations=False, trusted_proxies="10.0.0.2, nginx.internal")
    j = build(db_url, run_migrations=False, trusted_proxies=" 10.0.0.2 ,fd00::/8,")
    assert [str(n) for n in j.settings.trusted_proxy_networks()] == ["10.0.0.2/32", "fd00::/8"]
    j.engine.dispose()


class Terminator:
    """A TLS terminator as nginx is configured for the kiosk API (docs): it requires the kiosk CA's client
    certificate at the handshake (it is served by `server_config`, CERT_REQUIRED) and forwards each request over
    plain HTTP with `X-SSL-Client-Cert: $ssl_client_escaped_cert` and `X-Real-IP: $remote_addr`, replacing any
    such header the client sent."""

    def __init__(self, upstream: str) -> None:
        self.upstream = upstream

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return
        body, more = b"", True
        while more:
            message = await receive()
            body += message.get("body", b"")
            more = message.get("more_body", False)
        tls = (scope.get("extensions") or {}).get("tls") or {}
        certificate = (tls.get("client_cert_chain") or [""])[0]
        skip = {b"host", b"content-length", b"connection", b"x-ssl-client-cert", b"x-real-ip"}
        headers = [
            (k.decode("latin-1"), v.decode("latin-1")) for k, v in scope["headers"] if k.lower() not in skip
        ]
        headers += [("X-SSL-Client-Cert", escaped(certificate)), ("X-Real-IP", scope["client"][0])]
        url = scope["path"] + (f"?{scope['query_string'].decode()}" if scope["query_string"] else "")
        async with httpx.AsyncClient(base_url=self.upstream) as upstream:
            res = await upstream.request(scope["method"], url, headers=headers, content=body)
        hop = {"content-length", "transfer-encoding", "connection", "content-encoding"}
        out = [(k.encode(), v.encode()) for k, v in res.headers.items() if k.lower() not in hop]
        out.append((b"content-length", str(len(res.content)).encode()))
        await send({"type": "http.response.start", "status": res.status_code, "headers": out})
        await send({"type": "http.response.body", "body": res.content})


def _port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def terminated(world: World) -> Iterator[tuple[str, str]]:
    """The kiosk API behind a TLS terminator: the app over plain HTTP on 127.0.0.1 (trusting 127.0.0.1 as its
    proxy, without uvicorn's proxy headers), and the terminator over mutual TLS in front of it. Yields (the
    terminator's https URL, the app's http URL)."""
    j = build(world.j.settings.database_url, run_migrations=False, today=TODAY, trusted_proxies="127.0.0.1")
    app = create_app(j)
    app.state.kiosk_desk = world.app.state.kiosk_desk
    app_port, tls_port = _port(), _port()
    plain = uvicorn.Config(app, host="127.0.0.1", port=app_port, log_level="warning", proxy_headers=False)
    upstream = f"http://127.0.0.1:{app_port}"
    front = server_config(
        Terminator(upstream), world.pki.folder, port=tls_port, log_level="warning", lifespan="off"
    )
    with BackgroundServer(plain), BackgroundServer(front):
        yield f"https://127.0.0.1:{tls_port}", upstream
    j.engine.dispose()


def test_behind_a_tls_terminator_a_kiosk_gets_a_certificate_end_to_end(world, terminated):
    front, _ = terminated
    with _tls_client(world, front, "kiosk-a") as client:
        _card_to_certificate(client, world.cards["householder"])
    assert [(e.terminal, e.result) for e in world.log(action="kiosk:issue")] == [("kiosk-a", "ok")]


def test_behind_a_tls_terminator_an_unregistered_kiosk_is_refused_by_the_app(world, terminated):
    front, _ = terminated
    with _tls_client(world, front, "kiosk-unregistered") as client:
        assert client.post("/kiosk/v1/challenges").status_code == 401
    entry = world.log(action="kiosk:connect")[-1]
    assert entry.detail == "reason=unregistered kiosk=kiosk-unregistered via=proxy"
    assert entry.terminal == "127.0.0.1 via 127.0.0.1"


def test_the_apps_own_port_does_not_take_the_header_from_anyone_but_the_proxy(world, terminated, tmp_path):
    """The same header sent straight to the app from a peer that is not the trusted proxy is refused: here the app
    trusts 127.0.0.1 only, so a second app trusting another address stands for 'anyone else'."""
    _, upstream = terminated
    header = {"X-SSL-Client-Cert": escaped(world.pki.kiosks["kiosk-a"][2])}
    with httpx.Client(base_url=upstream) as direct:  # from 127.0.0.1: the trusted proxy's address — accepted
        assert direct.get("/kiosk/v1/status", headers=header).json()["kiosk_id"] == "kiosk-a"
    j = build(world.j.settings.database_url, run_migrations=False, today=TODAY, trusted_proxies="192.0.2.10")
    app = create_app(j)
    app.state.kiosk_desk = world.app.state.kiosk_desk
    port = _port()
    config = uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", proxy_headers=False)
    with BackgroundServer(config), httpx.Client(base_url=f"http://127.0.0.1:{port}") as other:
        spoofed = {**header, "X-Forwarded-For": "192.0.2.10", "X-Real-IP": "192.0.2.10"}
        res = other.get("/kiosk/v1/status", headers=spoofed)
    assert res.status_code == 401
    entry = world.log(action="kiosk:connect")[-1]
    assert (entry.detail, entry.terminal) == ("reason=untrusted_proxy_header", "127.0.0.1")
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
