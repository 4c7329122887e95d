"""WebAuthn storage on both engines: migration 0004 ends CS operators' password-only sessions, a challenge opens at
most one session even when two answers race, enrolment codes only for accounts that can use them."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta

import pyotp
import pytest
from sqlalchemy import func, select, update

from juki.adapters import tables as t
from juki.domain.errors import Conflict, DomainError, InvalidField, NotFound, Unauthenticated
from juki.policy.roles import SYSTEM
from juki.services import webauthn
from tests.conftest import PASSWORD, STAFF

CS = STAFF["cs_operator"][0]
CLERK = STAFF["clerk"][0]


def test_migration_0004_revokes_the_sessions_cs_operators_opened_with_password_alone(j, db_url):
    from alembic import command

    from juki.adapters.db import alembic_config

    j.engine.dispose()
    command.downgrade(alembic_config(db_url), "0003")
    now = datetime.now(UTC)
    with j.engine.begin() as conn:
        for staff_id in (CS, CLERK):
            conn.execute(
                t.sessions.insert().values(
                    token_hash=f"{staff_id:0>64}", staff_id=staff_id, created_at=now,
                    expires_at=now + timedelta(hours=8), revoked=False, terminal="test",
                )
            )  # fmt: skip
    j.engine.dispose()
    command.upgrade(alembic_config(db_url), "head")
    with j.engine.connect() as conn:
        revoked = dict(conn.execute(select(t.sessions.c.staff_id, t.sessions.c.revoked)).all())
    assert revoked == {CS: True, CLERK: False}


def test_two_answers_to_one_challenge_at_once_open_one_session(j, template):
    authenticator = template.authenticators[CS]
    rp = webauthn.RelyingParty.from_settings(j.settings)
    s = j.settings
    one_time = pyotp.TOTP(template.secrets[CS]).now()
    ceremony = webauthn.sign_in_options(
        j.uow, rp, CS, PASSWORD, one_time, "test", s.max_failed_logins, s.login_rate_limit
    )
    answers = [authenticator.assertion(ceremony.public_key) for _ in range(2)]  # both valid on their own
    barrier = threading.Barrier(2)
    outcomes: list[object] = []

    def answer(credential: dict[str, object]) -> None:
        barrier.wait()
        try:
            outcomes.append(webauthn.sign_in(j.uow, rp, ceremony.challenge_id, credential, "test", 600, 5))
        except DomainError as exc:
            outcomes.append(exc)

    threads = [threading.Thread(target=answer, args=(a,)) for a in answers]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    refused = [o for o in outcomes if isinstance(o, DomainError)]
    assert len(outcomes) == 2 and len(refused) == 1
    assert isinstance(refused[0], Unauthenticated | Conflict)
    with j.engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(t.webauthn_sessions)).scalar_one() == 1


def test_an_enrolment_code_is_only_for_an_existing_active_account(j):
    with pytest.raises(NotFound):
        webauthn.issue_enrolment_code(j.uow, SYSTEM, "nobody")
    with j.engine.begin() as conn:
        conn.execute(update(t.staff).where(t.staff.c.staff_id == CS).values(active=False))
    with pytest.raises(InvalidField):
        webauthn.issue_enrolment_code(j.uow, SYSTEM, CS)
    with j.engine.connect() as conn:
        codes = conn.execute(select(func.count()).select_from(t.webauthn_enrolment_codes)).scalar_one()
    assert codes == 1  # the template's own, used for its authenticator


def test_old_challenges_are_purged_when_new_ones_are_issued(j, template):
    rp = webauthn.RelyingParty.from_settings(j.settings)
    with j.engine.begin() as conn:
        conn.execute(
            update(t.webauthn_challenges).values(
                created_at=datetime.now(UTC) - timedelta(days=3),
                expires_at=datetime.now(UTC) - timedelta(days=2),
            )
        )
    s = j.settings
    one_time = pyotp.TOTP(template.secrets[CS]).now()
    fresh = webauthn.sign_in_options(j.uow, rp, CS, PASSWORD, one_time, "test", s.max_failed_logins, 10)
    with j.engine.connect() as conn:
        left = conn.execute(select(t.webauthn_challenges.c.challenge_id)).scalars().all()
    assert left == [fresh.challenge_id]
