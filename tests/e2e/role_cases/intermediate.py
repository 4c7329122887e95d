"""The 中間サーバー's staff side (/api/v1/intermediate, docs/intermediate-server.md), acting for the procedure
"intermediate": the clerk and the supervisor read (`intermediate:read`), the supervisor alone reviews
(`intermediate:review`); the 情報提供等記録 is read by the auditor (its own procedure, 監査) and the supervisor.

Each case gives its register a 中間サーバー of its own (`attach`: a copy of a migrated one), takes the world's
changes in through the relay and, for the review queue, has a network in memory ask about a person flagged
自動応答不可 (tests/intermediate/support.py's fake network, as tests/intermediate/test_queries.py does). The
helpers here serve the 中間サーバー's API and page tests too.
"""

from __future__ import annotations

import atexit
import shutil
import tempfile
import uuid
from itertools import count
from pathlib import Path
from typing import Any

from juki.intermediate.adapters.ims_db import migrate_intermediate
from juki.intermediate.services import addressees, staff
from juki.intermediate.services.relay import Relay
from juki.policy.roles import INTERMEDIATE_READ, INTERMEDIATE_REVIEW, PROVISION_LOG_READ, Actor
from tests.conftest import STAFF, _pg_admin_conn, _pg_conn, _pg_url
from tests.e2e.role_cases.common import Call, World, needs
from tests.intermediate.support import FakeNetwork, FakeRequester
from tests.pg_pool import PooledDatabase

PROCEDURE = {"X-Juki-Procedure": "intermediate"}
READERS = frozenset({"clerk", "supervisor"})
REVIEWERS = frozenset({"supervisor"})
AUDITORS = frozenset(
    {"auditor"}
)  # the 監査 procedure, the auditor's own (the supervisor reads it as "intermediate")
REVIEWER = Actor(
    STAFF["supervisor"][0], STAFF["supervisor"][1], "supervisor", "test", procedure="intermediate"
)
BASE = "/api/v1/intermediate"

# --- a 中間サーバー for a test's register -------------------------------------------------------------------------

_made: dict[str, Any] = {}
_copies = count(1)


def _sqlite_template() -> Path:
    if "sqlite" not in _made:
        folder = Path(tempfile.mkdtemp(prefix="juki-ims-tpl-"))
        atexit.register(shutil.rmtree, folder, True)
        path = folder / "template.ims.db"
        migrate_intermediate(f"sqlite:///{path}")
        _made["sqlite"] = path
        _made["keys"] = folder / "juki-ims-keys.json"
    return Path(_made["sqlite"])


def _pg_pool() -> PooledDatabase:
    if "pg" not in _made:
        name = f"juki_ims_rtpl_{uuid.uuid4().hex[:8]}"
        with _pg_admin_conn() as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        migrate_intermediate(_pg_url(name))
        pool = PooledDatabase(_pg_admin_conn, _pg_conn, name, f"juki_ims_r_{uuid.uuid4().hex[:10]}")
        _made["pg"] = pool
        _made["keys"] = Path(tempfile.mkdtemp(prefix="juki-ims-keys-")) / "juki-ims-keys.json"

        def drop() -> None:
            pool.drop()
            with _pg_admin_conn() as conn:
                conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

        atexit.register(drop)
    pool = _made["pg"]
    assert isinstance(pool, PooledDatabase)
    return pool


def attach(j: Any) -> None:
    """Point `j` at an empty, migrated 中間サーバー of its own: a copy of a migrated file (SQLite), or this process's
    database put back to empty (PostgreSQL). A Juki whose 中間サーバー is open already keeps it (a case may build
    its request more than once on one register)."""
    if "intermediate" in vars(j):
        return
    if not str(j.settings.database_url).startswith("postgres"):
        folder = Path(tempfile.mkdtemp(prefix="juki-ims-"))
        atexit.register(shutil.rmtree, folder, True)
        copy = folder / f"case{next(_copies)}.ims.db"
        shutil.copy(_sqlite_template(), copy)
        j.settings.ims_database_url = f"sqlite:///{copy}"
    else:
        pool = _pg_pool()
        pool.reset()
        j.settings.ims_database_url = _pg_url(pool.name)
    j.settings.ims_key_file = str(_made["keys"])


class Ims:
    """The 中間サーバー of a test's register with a network and a CS side in memory."""

    def __init__(self, j: Any) -> None:
        self.j, self.network = j, FakeNetwork()
        self.requester = FakeRequester(self.network)
        self.relay = Relay(
            j.uow, j.intermediate.transaction, j.event_key, j.settings.city_code, self.network, self.requester
        )
        self._queries = count(1)

    def run(self) -> None:
        self.relay.run_once()

    def with_link_codes(self) -> None:
        """The register's changes taken in, the 符号 asked through the CS, and J-LIS's answer taken."""
        self.run()
        self.requester.deliver()
        self.run()

    def link_code(self, addressee_number: str) -> str:
        with self.j.intermediate.transaction() as store:
            number = addressees.unified_of(store, addressees.REGISTER_SYSTEM, addressee_number)
            holder = store.unified(number) if number else None
            assert holder is not None and holder.link_code, "no 符号 for this person"
            return str(holder.link_code)

    def ask(self, addressee_number: str, items: tuple[str, ...] | None = ("世帯主氏名",)) -> str:
        """A permitted 照会 (全国健康保険協会) about the person, taken in and decided: its query id."""
        query_id = f"Q-{uuid.uuid4().hex[:8]}-{next(self._queries)}"
        self.network.ask(query_id, self.link_code(addressee_number), items=items)
        self.run()
        return query_id

    def held(self, addressee_number: str) -> int:
        """A 照会 about the person flagged 自動応答不可 by hand, held for review: its row in the queue."""
        staff.set_no_auto_reply(
            self.j.intermediate.transaction, REVIEWER, addressee_number, True, "本人の申出"
        )
        query_id = self.ask(addressee_number)
        rows = staff.review_queue(self.j.intermediate.transaction, REVIEWER)
        return int(next(r["id"] for r in rows if r["query_id"] == query_id))


def world_ims(w: World, codes: bool = False) -> Ims:
    """The world's register with its 中間サーバー (one per register: a case may build its request again on it)."""
    ims = vars(w.j).get("test_ims")
    if not isinstance(ims, Ims):
        attach(w.j)
        ims = vars(w.j)["test_ims"] = Ims(w.j)
    if codes:
        ims.with_link_codes()
    else:
        ims.run()
    return ims


def _held(w: World) -> int:
    ims = world_ims(w, codes=True)
    return ims.held(w.family[0])


def _person(action: str, body: dict[str, Any] | None = None) -> Any:
    def request(w: World) -> tuple[str, dict[str, Any] | None]:
        world_ims(w)
        return f"{BASE}/persons/{w.family[0]}/{action}", body

    return request


def _get(path: str, codes: bool = False) -> Any:
    def request(w: World) -> tuple[str, None]:
        world_ims(w, codes)
        return BASE + path.format(n=w.family[0]), None

    return request


CALLS: dict[tuple[str, str], Call] = {
    ("GET", f"{BASE}/overview"): Call(READERS, 200, _get("/overview"), PROCEDURE, needs(INTERMEDIATE_READ)),
    ("GET", f"{BASE}/persons/{{addressee_number}}"): Call(
        READERS, 200, _get("/persons/{n}"), PROCEDURE, needs(INTERMEDIATE_READ)
    ),
    ("GET", f"{BASE}/reviews"): Call(
        REVIEWERS, 200, _get("/reviews"), PROCEDURE, needs(INTERMEDIATE_READ, INTERMEDIATE_REVIEW)
    ),
    ("POST", f"{BASE}/reviews/{{review_id}}/release"): Call(
        REVIEWERS,
        200,
        lambda w: (f"{BASE}/reviews/{_held(w)}/release", None),
        PROCEDURE,
        needs(INTERMEDIATE_REVIEW),
    ),
    ("POST", f"{BASE}/reviews/{{review_id}}/refuse"): Call(
        REVIEWERS,
        200,
        lambda w: (f"{BASE}/reviews/{_held(w)}/refuse", {"reason": "DV等支援措置の申出の確認中"}),
        PROCEDURE,
        needs(INTERMEDIATE_REVIEW),
    ),
    ("POST", f"{BASE}/persons/{{addressee_number}}/no-auto-reply"): Call(
        REVIEWERS,
        200,
        _person("no-auto-reply", {"on": True, "reason": "本人からの申出"}),
        PROCEDURE,
        needs(INTERMEDIATE_REVIEW),
    ),
    ("POST", f"{BASE}/persons/{{addressee_number}}/link-code-request"): Call(
        REVIEWERS,
        200,
        _person("link-code-request"),
        PROCEDURE,
        needs(INTERMEDIATE_REVIEW),
    ),
    ("GET", f"{BASE}/records"): Call(
        AUDITORS,
        200,
        _get("/records?from=2025-01-01&to=2099-12-31", codes=True),
        needs=needs(PROVISION_LOG_READ),
    ),
    ("GET", f"{BASE}/records/verify"): Call(
        AUDITORS, 200, _get("/records/verify"), needs=needs(PROVISION_LOG_READ)
    ),
}
