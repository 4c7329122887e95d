"""支援措置 on every read (標準仕様書 j440): every GET endpoint of the app, the API and the clerk UI's pages, walked as
every role and every procedure it can act for, with protected persons in the register: a protected wife in a
family, and a protected 世帯主 of a household with other members; both named by filings (one late, one waiting for
決裁), warnings, certificates' records, a disclosure request of a family member, a bulk output, and the operation
log.

A body shown to an actor who may not see protected persons (anyone without `protection:view`: every role but a
supervisor acting for the protection procedure) must not hold a protected person's given name (kanji or kana), birth
date (ISO or 和暦) or 宛名番号. The one exception is the auditor's log views, whose target column holds 宛名番号
(auditing who touched a protected record is their purpose; the auditor reads no register): names are still not shown.
What the caller sent in the URL itself (a 宛名番号 typed into a form) may be repeated.

The routes come from the application (`app.routes`): a new GET route without an entry in `WALK` fails
`test_every_get_route_is_walked`, so a new read path cannot skip the screening unnoticed.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from html import unescape
from typing import Any
from urllib.parse import unquote

import pytest
from fastapi.testclient import TestClient

from juki.adapters.certificate_store import certificate_office
from juki.bootstrap import Juki, build
from juki.cs.adapters import tables as cs_tables
from juki.cs.adapters.cs_db import CsDatabase
from juki.cs.services import intake
from juki.domain.dates import JST, to_wareki
from juki.policy.roles import PROCEDURES, PROTECTION_VIEW, Actor, allows
from juki.services import bulk_output, certificates, filings, protection, staff_admin, subject_requests
from juki.web.app import create_app
from tests import factories as f
from tests.conftest import PASSWORD, STAFF, TODAY, Template, _pg_admin_conn, _pg_url
from tests.cs.page_support import with_cs
from tests.cs.support import CITY
from tests.cs.support import notices as cs_notices
from tests.e2e.role_cases.common import CLERK
from tests.e2e.role_cases.intermediate import attach
from tests.e2e.test_roles import _walk
from tests.ui.test_webauthn_pages import _code, _csrf  # a one-time code usable again; a page's CSRF token
from tests.webauthn_authenticator import sign_in as api_sign_in

BASE = "http://localhost:8000"  # WebAuthn's relying party is `localhost`
SUPERVISOR = Actor(STAFF["supervisor"][0], STAFF["supervisor"][1], "supervisor", "test")


def _as(procedure: str) -> Actor:
    return Actor(SUPERVISOR.staff_id, SUPERVISOR.name, "supervisor", "test", procedure=procedure)


def _person(
    family: str, family_kana: str, given: str, kana: str, born: str, sex: str, rel: str
) -> dict[str, Any]:
    return f.person(
        rel,
        family_name=family,
        family_name_kana=family_kana,
        given_name=given,
        given_name_kana=kana,
        birth_date=born,
        sex=sex,
    )


@dataclass
class World:
    filler: str  # a household moved in first, so that 宛名番号 and 世帯番号 do not share digits here
    family: str  # household with a protected wife
    husband: str
    wife: str  # protected
    child: str
    house: str  # household with a protected 世帯主
    head: str  # protected
    spouse: str
    son: str
    filings: dict[str, str] = field(default_factory=dict)  # family / house (late) / pending (the wife)
    issuance: str = ""
    request: str = ""
    request_of_house: str = ""
    request_of_wife: str = ""  # her own disclosure request
    output: str = ""
    measure: str = ""

    def markers(self) -> dict[str, list[str]]:
        """What would name each protected person: given name (kanji, kana), birth date, 宛名番号."""
        return {
            self.wife: ["雅美", "マサミ", "1978-09-23", to_wareki(date(1978, 9, 23)), self.wife],
            self.head: ["凛之介", "リンノスケ", "1969-11-11", to_wareki(date(1969, 11, 11)), self.head],
        }


def _numbers(result: filings.FilingResult) -> list[str]:
    return [c["addressee_number"] for c in result.changes]


def build_world(j: Juki) -> World:
    children = [f.person("子", given_name=name) for name in ("一", "二", "三", "四")]
    filler = filings.file(j.uow, CLERK, "move-in", f.move_in([f.person(), *children]))
    family = filings.file(
        j.uow,
        CLERK,
        "move-in",
        f.move_in(
            [
                _person("東雲", "シノノメ", "誠", "マコト", "1975-01-15", "male", "世帯主"),
                _person("東雲", "シノノメ", "雅美", "マサミ", "1978-09-23", "female", "妻"),
                _person("東雲", "シノノメ", "大和", "ヤマト", "2008-04-04", "male", "子"),
            ],
            address={"address": "東京都小平市花小金井南町三丁目5番12号"},
        ),
    )
    house = filings.file(  # filed late (住基法第52条): on the late-filing list
        j.uow,
        CLERK,
        "move-in",
        f.move_in(
            [
                _person("西園寺", "サイオンジ", "凛之介", "リンノスケ", "1969-11-11", "male", "世帯主"),
                _person("西園寺", "サイオンジ", "千鶴", "チヅル", "1971-02-02", "female", "妻"),
                _person("西園寺", "サイオンジ", "蓮", "レン", "2005-06-06", "male", "子"),
            ],
            filed_on="2025-06-25",
            changed_on="2025-06-01",
        ),
    )
    husband, wife, child = _numbers(family)
    head, spouse, son = _numbers(house)
    w = World(filler.household_number, family.household_number, husband, wife, child,
              house.household_number, head, spouse, son)  # fmt: skip
    w.filings = {"family": family.filing_id, "house": house.filing_id}
    pending = filings.file(
        j.uow,
        CLERK,
        "ex-officio-correction",
        {"filed_on": "2025-06-20", "changed_on": "2025-06-20", "reason": "戸籍照合により誤記を修正",
         "addressee_number": wife, "corrections": {"given_name_kana": "マサミ"}},
    )  # fmt: skip
    w.filings["pending"] = pending.filing_id
    body = {
        "kind": "residence_certificate",
        "household_number": w.family,
        "include": {"householder_and_relationship": True},
        "requester": {"type": "self", "name": "東雲 誠", "addressee_number": husband},
        "purpose": "年金の手続のため",
    }
    w.issuance = certificates.issue(j.uow, CLERK, body, certificate_office()).issuance_number
    disclosure = {
        "kind": "disclosure",
        "requester": {"type": "self", "name": "本人"},
        "identity_check": {"document": "driver_license"},
        "received_on": "2025-06-20",
        "text": "私の記録の開示を求めます。",
    }
    asker = _as("subject_request")
    w.request = subject_requests.create(j.uow, asker, {**disclosure, "addressee_number": husband})[
        "request_id"
    ]
    w.request_of_house = subject_requests.create(j.uow, asker, {**disclosure, "addressee_number": son})[
        "request_id"
    ]
    own = {**disclosure, "addressee_number": wife, "requester": {"type": "self", "name": "東雲 雅美"}}
    w.request_of_wife = subject_requests.create(j.uow, asker, own)["request_id"]
    for rid in (w.request, w.request_of_house, w.request_of_wife):
        subject_requests.decide(j.uow, asker, rid, {"decision": "disclose"})
    w.output = bulk_output.request(
        j.uow, _as("bulk_output"), {"purpose": "統計資料の作成", "criteria": {"town": "花小金井南町"}}, 1000
    )["output_id"]
    now = datetime.now(JST)
    staff_admin.give_work_order(
        j.uow,
        _as("administration"),
        {
            "contractor_id": STAFF["contractor"][0],
            "procedure": "resident_record",
            "permissions": ["register:read"],
            "purpose": "住民票データ移行作業",
            "valid_from": (now - timedelta(days=1)).isoformat(),
            "valid_until": (now + timedelta(days=20)).isoformat(),
        },
    )
    for subject in (wife, head):
        made = protection.set_measure(j.uow, _as("protection"), f.support_measure(subject))
    w.measure = made["measure_id"]
    return w


def errors_in_the_cs(j: Juki, cs: CsDatabase, world: World) -> None:
    """The CS takes in the world's changes, and the protected persons' first notices wait in its error queue
    (as a prefecture's refusal would leave them), so that the CS operator's page has them to list."""
    intake.run_all(j.uow, cs.transaction, j.event_key, CITY)
    for person in (world.wife, world.head):
        first = min(n.id for n in cs_notices(cs) if n.addressee_number == person)
        with cs.engine.begin() as conn:
            conn.execute(
                cs_tables.notices.update()
                .where(cs_tables.notices.c.id == first)
                .values(
                    state="error",
                    error_code="format_error",
                    error_item="郵便番号",
                    error_message="郵便番号は7桁の数字です",
                )
            )


# --- what each GET route is called with ------------------------------------------------------------------------


Urls = Callable[[World], list[str]]


def _each(template: str, values: Callable[[World], list[str]]) -> Urls:
    return lambda w: [template.format(v) for v in values(w)]


def _persons(w: World) -> list[str]:
    return [w.husband, w.wife, w.child, w.head, w.spouse, w.son]


def _households(w: World) -> list[str]:
    return [w.family, w.house]


def _filing_ids(w: World) -> list[str]:
    return list(w.filings.values())


def _requests(w: World) -> list[str]:
    return [w.request, w.request_of_house, w.request_of_wife]


KINDS = ("move-in", "move-within", "move-out", "birth", "death", "household-change", "ex-officio-correction")
REPORTS = ("after_hours", "failed_logins", "logins", "mass_searches", "number_lookups", "unrelated_lookups")
DAY = TODAY.isoformat()


def _filing_forms(w: World) -> list[str]:
    return [
        f"/ui/filings/{kind}/new?{key}={value}"
        for kind in KINDS
        for key, value in [("household_number", h) for h in _households(w)]
        + [("addressee_number", p) for p in _persons(w)]
    ]


def _searches(w: World) -> list[str]:
    return [
        "/api/v1/residents?name=東雲&address=花小金井南町",
        "/api/v1/residents?name=西園寺&birth_date=1969-11-11",
        "/api/v1/residents?name=雅美&birth_date=1978-09-23",
        f"/api/v1/residents?household_number={w.house}",
        f"/api/v1/residents?addressee_number={w.wife}",
    ]


WALK: dict[str, Urls] = {
    "/": lambda w: ["/"],
    "/healthz": lambda w: ["/healthz"],
    "/docs": lambda w: ["/docs"],
    "/redoc": lambda w: ["/redoc"],
    "/verify/{issuance_number}": lambda w: [f"/verify/{w.issuance}"],
    "/kiosk/v1/status": lambda w: ["/kiosk/v1/status"],  # a kiosk's client certificate: none here
    "/api/v1/alerts": lambda w: ["/api/v1/alerts?all=true"],
    "/api/v1/approvals": lambda w: ["/api/v1/approvals"],
    "/api/v1/audit/log": lambda w: ["/api/v1/audit/log", f"/api/v1/audit/log?target={w.wife}"],
    "/api/v1/audit/reports/{kind}": _each(
        f"/api/v1/audit/reports/{{}}?from={DAY}&to={DAY}", lambda w: [*REPORTS]
    ),
    "/api/v1/audit/verify": lambda w: ["/api/v1/audit/verify"],
    "/api/v1/bulk-outputs": lambda w: ["/api/v1/bulk-outputs"],
    "/api/v1/bulk-outputs/{output_id}/file": lambda w: [f"/api/v1/bulk-outputs/{w.output}/file"],
    "/api/v1/card-applications": lambda w: [
        "/api/v1/card-applications",
        "/api/v1/card-applications?state=issued",
    ],
    "/api/v1/card-applications/{application_id}": lambda w: ["/api/v1/card-applications/C20250630-000001"],
    "/api/v1/certificates": _each("/api/v1/certificates?addressee_number={}", _persons),
    "/api/v1/certificates/overflow-list": lambda w: [f"/api/v1/certificates/overflow-list?date={DAY}"],
    "/api/v1/certificates/settings": lambda w: ["/api/v1/certificates/settings"],
    "/api/v1/filings": lambda w: ["/api/v1/filings", "/api/v1/filings?late=true"],
    "/api/v1/filings/{filing_id}": _each("/api/v1/filings/{}", _filing_ids),
    "/api/v1/households/{household_number}": _each("/api/v1/households/{}", _households),
    "/api/v1/kiosks": lambda w: ["/api/v1/kiosks"],
    "/api/v1/mailing-records": _each(
        "/api/v1/mailing-records?state={}", lambda w: ["held", "refused", "ready"]
    ),
    "/api/v1/media-exports": lambda w: ["/api/v1/media-exports"],
    "/api/v1/my-number-requests": lambda w: ["/api/v1/my-number-requests"],
    "/api/v1/resident-code-stock": lambda w: ["/api/v1/resident-code-stock"],
    "/api/v1/protection-measures": lambda w: ["/api/v1/protection-measures"],
    "/api/v1/protection-measures/{measure_id}": lambda w: [f"/api/v1/protection-measures/{w.measure}"],
    "/api/v1/residents": _searches,
    "/api/v1/transfer/changes": lambda w: ["/api/v1/transfer/changes"],  # staff: 403 (a system's token only)
    "/api/v1/transfer/extract": lambda w: ["/api/v1/transfer/extract"],
    "/api/v1/residents/{addressee_number}": _each("/api/v1/residents/{}", _persons),
    "/api/v1/residents/{addressee_number}/cards": _each("/api/v1/residents/{}/cards", _persons),
    "/api/v1/residents/{addressee_number}/delivery-residence": _each(
        "/api/v1/residents/{}/delivery-residence", _persons
    ),
    "/api/v1/residents/{addressee_number}/card-applications": _each(
        "/api/v1/residents/{}/card-applications", _persons
    ),
    "/api/v1/residents/{addressee_number}/history": _each("/api/v1/residents/{}/history", _persons),
    "/api/v1/residents/{addressee_number}/resident-code-notice": _each(
        "/api/v1/residents/{}/resident-code-notice", _persons
    ),
    "/api/v1/residents/{addressee_number}/move-out-certificate": _each(
        "/api/v1/residents/{}/move-out-certificate", _persons
    ),
    "/api/v1/staff": lambda w: ["/api/v1/staff"],
    "/api/v1/subject-requests": lambda w: ["/api/v1/subject-requests"],
    "/api/v1/subject-requests/{request_id}": _each("/api/v1/subject-requests/{}", _requests),
    "/api/v1/subject-requests/{request_id}/disclosure": _each(
        "/api/v1/subject-requests/{}/disclosure", _requests
    ),
    "/api/v1/webauthn/credentials": lambda w: ["/api/v1/webauthn/credentials"],
    "/api/v1/work-orders": lambda w: ["/api/v1/work-orders"],
    "/ui/": lambda w: ["/ui/"],
    "/ui/approvals": lambda w: ["/ui/approvals"],
    "/ui/approvals/{filing_id}": lambda w: [f"/ui/approvals/{w.filings['pending']}"],
    "/ui/card-applications": lambda w: ["/ui/card-applications", "/ui/card-applications?show=issued"],
    "/ui/card-applications/{application_id}": lambda w: ["/ui/card-applications/C20250630-000001"],
    "/ui/cards/identify": lambda w: ["/ui/cards/identify", f"/ui/cards/identify?addressee_number={w.wife}"],
    "/ui/audit": lambda w: ["/ui/audit", f"/ui/audit?target={w.wife}"],
    "/ui/audit/reports": _each(f"/ui/audit/reports?kind={{}}&from={DAY}&to={DAY}", lambda w: [*REPORTS]),
    "/ui/certificates/issued/{issuance_number}": lambda w: [f"/ui/certificates/issued/{w.issuance}"],
    "/ui/certificates/issued/{issuance_number}/pdf": lambda w: [f"/ui/certificates/issued/{w.issuance}/pdf"],
    "/ui/certificates/new": lambda w: [
        *(f"/ui/certificates/new?household_number={h}" for h in _households(w)),
        *(f"/ui/certificates/new?addressee_number={p}" for p in _persons(w)),
    ],
    "/ui/certificates/overflow": lambda w: [f"/ui/certificates/overflow?date={DAY}"],
    "/ui/certificates/overflow.pdf": lambda w: [f"/ui/certificates/overflow.pdf?date={DAY}"],
    "/ui/certificates/settings": lambda w: ["/ui/certificates/settings"],
    "/ui/cs": lambda w: ["/ui/cs"],
    "/ui/cs/query": lambda w: ["/ui/cs/query"],
    "/ui/cs/search": lambda w: ["/ui/cs/search"],
    "/ui/cs/transfers": lambda w: ["/ui/cs/transfers"],
    "/ui/filings": lambda w: ["/ui/filings", "/ui/filings?late=0"],
    "/ui/filings/{filing_id}": _each("/ui/filings/{}", _filing_ids),
    "/ui/filings/{kind}/new": _filing_forms,
    "/ui/households/{household_number}": _each("/ui/households/{}", _households),
    "/ui/kiosks": lambda w: ["/ui/kiosks"],
    "/ui/lock": lambda w: ["/ui/lock"],
    "/ui/login": lambda w: ["/ui/login"],
    "/ui/mailing": lambda w: ["/ui/mailing", "/ui/mailing?state=ready", "/ui/mailing?state=delivered"],
    "/ui/numbers": lambda w: ["/ui/numbers"],
    "/ui/residents/{addressee_number}/resident-code-notice": _each(
        "/ui/residents/{}/resident-code-notice", _persons
    ),
    "/ui/protection": lambda w: ["/ui/protection"],
    "/ui/requests": lambda w: ["/ui/requests"],
    "/ui/requests/new": lambda w: [f"/ui/requests/new?addressee_number={p}" for p in _persons(w)],
    "/ui/requests/{request_id}": _each("/ui/requests/{}", _requests),
    "/ui/requests/{request_id}/disclosure": _each("/ui/requests/{}/disclosure", _requests),
    "/ui/residents/{addressee_number}": _each("/ui/residents/{}", _persons),
    "/ui/residents/{addressee_number}/cards": _each("/ui/residents/{}/cards", _persons),
    "/ui/residents/{addressee_number}/card-applications": _each(
        "/ui/residents/{}/card-applications", _persons
    ),
    "/ui/residents/{addressee_number}/certificates": _each("/ui/residents/{}/certificates", _persons),
    "/ui/webauthn/enrol": lambda w: ["/ui/webauthn/enrol"],
    # 自己情報 (やりとり履歴): the resident's own (a staff token is refused) and a supervisor's withheld entries
    "/api/v1/my/usage": lambda w: ["/api/v1/my/usage"],
    "/my": lambda w: ["/my"],
    "/api/v1/usage-withholdings": _each("/api/v1/usage-withholdings?addressee_number={}", _persons),
    "/ui/usage-withholdings": _each("/ui/usage-withholdings?addressee_number={}", _persons),
    # The 中間サーバー: its copy of every person of the world (taken in from the outbox), each looked up
    "/api/v1/intermediate/overview": lambda w: ["/api/v1/intermediate/overview"],
    "/api/v1/intermediate/persons/{addressee_number}": _each("/api/v1/intermediate/persons/{}", _persons),
    "/api/v1/intermediate/records": lambda w: ["/api/v1/intermediate/records"],
    "/api/v1/intermediate/records/verify": lambda w: ["/api/v1/intermediate/records/verify"],
    "/api/v1/intermediate/reviews": lambda w: ["/api/v1/intermediate/reviews"],
    "/ui/intermediate": _each("/ui/intermediate?addressee_number={}", _persons),
    "/ui/intermediate/records": lambda w: ["/ui/intermediate/records"],
    "/ui/intermediate/reviews": lambda w: ["/ui/intermediate/reviews"],
}

SESSION_PAGES = ("/ui/lock", "/ui/login")

# The auditor's views of the operation log: the target column names 宛名番号 (never a name).
LOG_VIEWS = ("/api/v1/audit/", "/ui/audit")


def get_routes(app: Any) -> set[str]:
    return {path for method, path in _walk(app.routes) if method == "GET"}


def test_every_get_route_is_walked(j: Juki) -> None:
    routes = get_routes(create_app(j))
    assert routes, "no GET routes found"
    assert not sorted(routes - set(WALK)), (
        f"GET routes the protection walk does not call: {sorted(routes - set(WALK))}"
    )
    assert not sorted(set(WALK) - routes), (
        f"walk entries for routes the app no longer has: {sorted(set(WALK) - routes)}"
    )


# --- who walks ---------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Walker:
    role: str
    procedure: str

    @property
    def may_see(self) -> bool:
        return self.role != "contractor" and allows(self.role, PROTECTION_VIEW, self.procedure)

    def __str__(self) -> str:
        return f"{self.role}@{self.procedure}"


ROLES = ("clerk", "supervisor", "auditor", "admin", "cs_operator", "contractor", "department")
WALKERS = [
    Walker(role, code)
    for role in ROLES
    for code in [c for c, p in PROCEDURES.items() if role in p.grants] or ["resident_record"]
]


def _api_headers(j: Juki, template: Template, client: TestClient, walker: Walker) -> dict[str, str]:
    username = STAFF[walker.role][0]
    code = _code(j, template, username)
    if walker.role == "cs_operator":
        token = api_sign_in(client, template.authenticators[username], username, PASSWORD, code)
    else:
        res = client.post(
            "/api/v1/auth/login", json={"username": username, "password": PASSWORD, "otp": code}
        )
        assert res.status_code == 200, res.text
        token = res.json()["access_token"]
    return {"Authorization": f"Bearer {token}", "X-Juki-Procedure": walker.procedure}


def _ui_sign_in(j: Juki, template: Template, client: TestClient, walker: Walker) -> None:
    """Through the sign-in form (and the authenticator, for the CS operator), then the procedure switch."""
    username = STAFF[walker.role][0]
    page = client.get("/ui/login")
    form = {"csrf_token": _csrf(page.text), "username": username, "password": PASSWORD}
    res = client.post("/ui/login", data={**form, "otp": _code(j, template, username)})
    if walker.role == "cs_operator":
        m = re.search(r"data-public-key='([^']+)'", res.text)
        assert m, res.text
        answer = template.authenticators[username].assertion(json.loads(unescape(m.group(1))))
        res = client.post(
            "/ui/login/webauthn",
            data={
                "csrf_token": _csrf(res.text),
                "credential": json.dumps(answer),
                "next": "/ui/",
                "username": username,
            },
        )
    assert res.status_code == 303, res.text
    home = client.get("/ui/", follow_redirects=True)
    if re.search(r'name="procedure"', home.text):
        client.post("/ui/procedure", data={"csrf_token": _csrf(home.text), "procedure": walker.procedure})
        home = client.get("/ui/", follow_redirects=True)
        assert f'value="{walker.procedure}" selected' in home.text, f"{walker}: the UI did not switch"


@dataclass
class Walked:
    """The world, its app, and each walker's bodies, walked when a test first asks for them: the walkers' tests
    spread over the workers, each of which makes the world once per engine."""

    j: Juki
    world: World
    app: Any
    template: Template
    urls: list[str]
    _bodies: dict[str, dict[str, str]] = field(default_factory=dict)  # walker → url → the body as text

    def bodies_of(self, walker: Walker) -> dict[str, str]:
        if str(walker) not in self._bodies:
            self._bodies[str(walker)] = self._walk(walker)
        return self._bodies[str(walker)]

    def _walk(self, walker: Walker) -> dict[str, str]:
        bodies = {}
        with TestClient(
            self.app, base_url=BASE, raise_server_exceptions=False, follow_redirects=False
        ) as client:
            headers = _api_headers(self.j, self.template, client, walker)
            _ui_sign_in(self.j, self.template, client, walker)
            for u in self.urls:
                res = client.get(u, headers=headers if not u.startswith("/ui") else {})
                assert res.status_code < 500, f"{walker} GET {u}: {res.status_code} {res.text[:500]}"
                lost = res.headers.get("location", "").startswith(SESSION_PAGES)
                assert not lost or u == "/" or u.startswith(SESSION_PAGES), f"{walker} GET {u}: session lost"
                bodies[u] = f"{res.status_code} {res.headers.get('location', '')}\n{_text(res)}"
        return bodies


def _text(res: Any) -> str:
    if res.headers.get("content-type", "").startswith("application/pdf"):
        return subprocess.run(
            ["pdftotext", "-", "-"], input=res.content, capture_output=True, check=True
        ).stdout.decode()
    return res.text


@pytest.fixture(scope="module")
def walked(template: Template, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Walked]:
    """One register with the protected persons, which every role and procedure walks (the tests below read the
    bodies)."""
    if template.kind == "sqlite":
        path = tmp_path_factory.mktemp("walk") / "register.db"
        shutil.copy(template.location, path)
        url, name = str(path), None
    else:
        name = f"juki_walk_{uuid.uuid4().hex[:8]}"
        with _pg_admin_conn() as conn:
            conn.execute(f'CREATE DATABASE "{name}" TEMPLATE "{template.location}"')
        url = _pg_url(name)
    j = build(url, run_migrations=False, today=TODAY)
    world = build_world(j)
    attach(j)  # a migrated 中間サーバー of its own, which takes the world in
    j.intermediate_relay().run_once()
    cs = with_cs(j, tmp_path_factory.mktemp("walk-cs"))
    errors_in_the_cs(j, cs, world)
    # the lock page locks the session and the sign-in page starts another: walked last
    routes = sorted(WALK, key=lambda r: (r in SESSION_PAGES, r))
    urls = [u for route in routes for u in WALK[route](world)]
    yield Walked(j, world, create_app(j), template, urls)
    cs.dispose()
    j.engine.dispose()
    if name is not None:
        with _pg_admin_conn() as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _leaks(walked: Walked, walker: Walker) -> list[str]:
    found = []
    for url, body in walked.bodies_of(walker).items():
        for person, markers in walked.world.markers().items():
            for marker in markers:
                if marker == person and url.startswith(LOG_VIEWS) and walker.role == "auditor":
                    continue  # the log's target column (see the module docstring)
                if marker in unquote(url):
                    continue  # what the caller sent may be repeated (a form keeps what was typed)
                if marker in body:
                    found.append(f"GET {url} shows {marker!r} of {person}")
    return found


@pytest.mark.parametrize("walker", [w for w in WALKERS if not w.may_see], ids=str)
def test_no_protected_person_is_named_to_whoever_may_not_see_them(walked: Walked, walker: Walker) -> None:
    leaks = _leaks(walked, walker)
    assert not leaks, f"{walker}:\n" + "\n".join(leaks)


def test_the_walk_can_see_what_it_looks_for(walked: Walked) -> None:
    """The supervisor acting for the protection procedure sees both protected persons on the register's pages:
    the markers the walk looks for are really in the data (so the test above can fail)."""
    [seer] = [w for w in WALKERS if w.may_see]
    seen = {
        m
        for body in walked.bodies_of(seer).values()
        for ms in walked.world.markers().values()
        for m in ms
        if m in body
    }
    assert seen == {m for ms in walked.world.markers().values() for m in ms}


def test_the_cs_operator_page_lists_the_protected_persons_errors_unnamed(walked: Walked) -> None:
    """The CS holds everyone (住基法30条の6): the protected persons' entries are on the CS operator's page — by
    住民票コード, their names screened — so the walk above reads a page that has them to leak."""
    [operator] = [w for w in WALKERS if w.role == "cs_operator"]
    body = walked.bodies_of(operator)["/ui/cs"]
    assert body.startswith("200") and body.count("支援措置の対象者のため表示しません") == 2
