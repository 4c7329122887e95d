"""The 個人番号カード tests' world, one register per module and engine: the test J-LIS CA the register trusts (the
kiosk tests' PKI), the app and its signed-in roles, and the steps each test takes on persons of its own (a family moved
in, an application brought to 市区町村到着 by the simulated J-LIS), so that tests share the register without sharing
a person. tests/e2e/test_card_applications.py and test_card_identify.py use it."""

from __future__ import annotations

import dataclasses
import shutil
import time
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from juki.adapters import tables as t
from juki.adapters.pki import TrustAnchors
from juki.bootstrap import Juki, build
from juki.policy.roles import CS_SYSTEM, Actor
from juki.services import card_applications, filings, protection
from juki.sim.pki import SimCard, issue_card
from juki.web.app import create_app
from tests import factories as f
from tests.conftest import PASSWORD, STAFF, TODAY, Template, _pg_admin_conn, _pg_url
from tests.e2e.kiosk_world import OPEN, Pki
from tests.webauthn_authenticator import sign_in as webauthn_sign_in

CLERK = Actor(STAFF["clerk"][0], STAFF["clerk"][1], "clerk", "test")
SUPER = Actor(STAFF["supervisor"][0], STAFF["supervisor"][1], "supervisor", "test", procedure="protection")
APPLIED_ON = "2025-06-20"  # before the register's TODAY (2025-06-30)


@dataclasses.dataclass
class CardWorld:
    j: Juki
    api: TestClient
    pki: Pki
    trust: TrustAnchors
    template: Template
    _tokens: dict[str, dict[str, str]] = dataclasses.field(default_factory=dict)

    def headers(self, role: str, at: float | None = None) -> dict[str, str]:
        """Bearer headers for a role, signed in once for the module (a one-time code is accepted once) with the
        code of the time `at` (now by default)."""
        if role not in self._tokens:
            import pyotp

            username = STAFF[role][0]
            totp = pyotp.TOTP(self.template.secrets[username])
            otp = totp.now() if at is None else totp.at(at)
            if role == "cs_operator":
                authenticator = self.template.authenticators[username]
                token = webauthn_sign_in(self.api, authenticator, username, PASSWORD, otp)
            else:
                body = {"username": username, "password": PASSWORD, "otp": otp}
                res = self.api.post("/api/v1/auth/login", json=body)
                assert res.status_code == 200, res.text
                token = res.json()["access_token"]
            self._tokens[role] = {"Authorization": f"Bearer {token}"}
        return self._tokens[role]

    def family(self, family_name: str = "山田", kana: str = "ヤマダ") -> list[str]:
        """A family of four moved in (householder, wife, two children): persons of this test's own."""
        people = [dict(p, family_name=family_name, family_name_kana=kana) for p in f.family_of_four()]
        result = filings.file(self.j.uow, CLERK, "move-in", f.move_in(people))
        return [c["addressee_number"] for c in result.changes]

    def new_card(self, **kw: Any) -> SimCard:
        """A card of the test J-LIS CA, made on the register's today (kiosk_world.OPEN)."""
        return issue_card(self.pki.card_ca, **{"now": OPEN, **kw})

    def apply(self, number: str, kind: str = "new") -> str:
        return str(card_applications.apply(self.j.uow, CLERK, number, kind, APPLIED_ON)["application_id"])

    def report(self, application_id: str, state: str, card: SimCard | None = None) -> dict[str, Any]:
        """J-LIS's report, through the CS (as the simulated card center sends it)."""
        pem = card.certificate_pem if card else None
        return card_applications.record_report(self.j.uow, self.trust, CS_SYSTEM, application_id, state, pem)

    def arrived(self, number: str, **card: Any) -> tuple[str, SimCard]:
        """An application of `number` whose card is at the city (申請受付, 作成中, 市区町村到着 with a new card)."""
        application_id = self.apply(number)
        made = self.new_card(**card)
        self.report(application_id, "received")
        self.report(application_id, "in_production")
        self.report(application_id, "arrived", made)
        return application_id, made

    def handed_over(self, number: str) -> tuple[str, SimCard]:
        """An application of `number` handed over at the counter (the card active in the registry)."""
        application_id, card = self.arrived(number)
        card_applications.handover(
            self.j.uow, self.trust, CLERK, application_id, True, ["driver_license"], True
        )
        return application_id, card

    def protect(self, number: str) -> None:
        protection.set_measure(self.j.uow, SUPER, f.support_measure(number))

    def log(self, after: int = 0, **where: Any) -> list[Any]:
        c = t.operation_log.c
        q = select(t.operation_log).where(c.seq > after).order_by(c.seq)
        for key, value in where.items():
            q = q.where(getattr(c, key) == value)
        with self.j.engine.connect() as conn:
            return list(conn.execute(q).all())

    def last_seq(self) -> int:
        with self.j.engine.connect() as conn:
            return int(conn.execute(select(func.coalesce(func.max(t.operation_log.c.seq), 0))).scalar_one())

    def count(self, table: Any) -> int:
        with self.j.engine.connect() as conn:
            return int(conn.execute(select(func.count()).select_from(table)).scalar_one())


def code(res: Any) -> tuple[int, str, str | None]:
    e = res.json()["errors"][0]
    return res.status_code, e["code"], e["field"]


SIGNED_IN = ("clerk", "supervisor")  # the roles the card tests act as


def card_world_fixture() -> Callable[..., Iterator[CardWorld]]:
    """A module-scoped fixture: import it into a test module as `card_world = card_world_fixture()`."""

    @pytest.fixture(scope="module")
    def card_world(
        template: Template, pki: Pki, tmp_path_factory: pytest.TempPathFactory
    ) -> Iterator[CardWorld]:
        if template.kind == "sqlite":
            path = tmp_path_factory.mktemp("cards") / "register.db"
            shutil.copy(template.location, path)
            url, name = str(path), None
        else:
            name = f"juki_cards_{uuid.uuid4().hex[:8]}"
            with _pg_admin_conn() as conn:
                conn.execute(f'CREATE DATABASE "{name}" TEMPLATE "{template.location}"')
            url = _pg_url(name)
        j = build(url, run_migrations=False, today=TODAY, kiosk_pki_dir=str(pki.folder))
        with TestClient(create_app(j), raise_server_exceptions=False) as api:
            world = CardWorld(j, api, pki, TrustAnchors.from_dir(pki.folder), template)
            # Before any test, since a sign-in is a log entry a test's slice of the log would see; with the previous
            # step's code, so that a test's own sign-in (the UI's) with the current code is the newer one.
            for role in SIGNED_IN:
                world.headers(role, at=time.time() - 30)
            yield world
        j.engine.dispose()
        if name is not None:
            with _pg_admin_conn() as conn:
                conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

    return card_world
