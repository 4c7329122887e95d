"""The コンビニ交付 tests' world: a test PKI (card CA, kiosk CA, kiosks), a register with a household of four and a
neighbour, two registered kiosks and three cards, a clock fixed inside the service hours, and the steps every
kiosk test takes (a card's sign-in, a session, the error code). tests/e2e/test_kiosk*.py use its fixtures."""

from __future__ import annotations

import dataclasses
import re
import shutil
import subprocess
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from juki.adapters import tables as t
from juki.adapters.kiosk_tls import (
    WithClientCertificate,
)
from juki.adapters.pki import TrustAnchors, kiosk_desk, pem
from juki.bootstrap import Juki, build
from juki.domain.dates import JST
from juki.policy.roles import Actor
from juki.services import filings, kiosk_registry, protection
from juki.sim.kiosk import session_request
from juki.sim.pki import SimCA, SimCard, create_test_pki, issue_card, issue_kiosk, save_pair
from tests import factories as f
from tests.conftest import STAFF, TODAY
from tests.e2e.conftest import served

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
    with served(j) as app:  # an app of the process's, its state new (tests/e2e/conftest.py)
        clock = Clock(OPEN)
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
    return client.post("/kiosk/v1/sessions", json=session_request(res.json(), card, pin))


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


def protect(world: World, subject: str, subject_kind: str = "person", **over: Any) -> dict[str, Any]:
    return protection.set_measure(world.j.uow, SUPER, f.support_measure(subject, subject_kind, **over))
