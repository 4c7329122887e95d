"""WebAuthn credentials and one-time challenges in SQL, read and written through the unit of work."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Connection, delete, insert, select, update

from juki.adapters import tables as t
from juki.adapters.rows import model_or_none, models
from juki.services.ports import Values, WebAuthnStore
from juki.services.read_models import EnrolmentCodeRecord, StaffAccount, WebAuthnChallenge, WebAuthnCredential


class SqlWebAuthnStore(WebAuthnStore):
    def __init__(self, conn: Connection) -> None:
        self.conn = conn

    # --- accounts (the sign-in steps find the account by id, and note a one-time code's step) ---------------

    def staff(self, staff_id: str) -> StaffAccount | None:
        q = select(t.staff).where(t.staff.c.staff_id == staff_id)
        return model_or_none(StaffAccount, self.conn.execute(q).first())

    def record_otp_step(self, staff_id: str, otp_step: int) -> None:
        """The one-time code is used up; failures are not reset until the authenticator has answered too."""
        self.conn.execute(
            update(t.staff).where(t.staff.c.staff_id == staff_id).values(last_otp_step=otp_step)
        )

    def clear_failures(self, staff_id: str) -> None:
        """All factors answered: the count of failures in a row starts again."""
        self.conn.execute(update(t.staff).where(t.staff.c.staff_id == staff_id).values(failed_logins=0))

    # --- credentials -----------------------------------------------------------------------------------------

    def credential(self, credential_id: str) -> WebAuthnCredential | None:
        c = t.webauthn_credentials.c
        q = select(t.webauthn_credentials).where(c.credential_id == credential_id)
        return model_or_none(WebAuthnCredential, self.conn.execute(q).first())

    def credentials_of(self, staff_id: str, active_only: bool = True) -> list[WebAuthnCredential]:
        c = t.webauthn_credentials.c
        q = select(t.webauthn_credentials).where(c.staff_id == staff_id)
        if active_only:
            q = q.where(c.active.is_(True))
        return models(WebAuthnCredential, self.conn.execute(q.order_by(c.created_at)))

    def add_credential(self, values: Values) -> None:
        self.conn.execute(insert(t.webauthn_credentials).values(**values))

    def used_credential(self, credential_id: str, old_count: int, new_count: int, at: datetime) -> bool:
        """Store the new signature counter if nobody stored another since it was read (False: a race lost)."""
        c = t.webauthn_credentials.c
        done = self.conn.execute(
            update(t.webauthn_credentials)
            .where(c.credential_id == credential_id, c.sign_count == old_count, c.active.is_(True))
            .values(sign_count=new_count, last_used_at=at)
        )
        return done.rowcount == 1

    def deactivate(self, credential_id: str, by: str, at: datetime) -> None:
        c = t.webauthn_credentials.c
        self.conn.execute(
            update(t.webauthn_credentials)
            .where(c.credential_id == credential_id, c.active.is_(True))
            .values(active=False, deactivated_at=at, deactivated_by=by)
        )

    # --- challenges ------------------------------------------------------------------------------------------

    def add_challenge(self, values: Values) -> None:
        self.conn.execute(insert(t.webauthn_challenges).values(**values))

    def challenge(self, challenge_id: str) -> WebAuthnChallenge | None:
        c = t.webauthn_challenges.c
        q = select(t.webauthn_challenges).where(c.challenge_id == challenge_id)
        return model_or_none(WebAuthnChallenge, self.conn.execute(q).first())

    def use_challenge(self, challenge_id: str, at: datetime) -> bool:
        """Mark a challenge used; False when it already was (also by a concurrent request)."""
        c = t.webauthn_challenges.c
        done = self.conn.execute(
            update(t.webauthn_challenges)
            .where(c.challenge_id == challenge_id, c.used_at.is_(None))
            .values(used_at=at)
        )
        return done.rowcount == 1

    def purge_challenges(self, before: datetime) -> None:
        """Challenges that expired long ago are of no use (the operation log keeps what happened)."""
        self.conn.execute(delete(t.webauthn_challenges).where(t.webauthn_challenges.c.expires_at < before))

    # --- enrolment codes -------------------------------------------------------------------------------------

    def add_enrolment_code(self, values: Values) -> None:
        c = t.webauthn_enrolment_codes.c
        self.conn.execute(
            update(t.webauthn_enrolment_codes)
            .where(c.staff_id == values["staff_id"], c.used_at.is_(None), c.revoked_at.is_(None))
            .values(revoked_at=values["issued_at"])
        )
        self.conn.execute(insert(t.webauthn_enrolment_codes).values(**values))

    def enrolment_code(self, code_hash: str) -> EnrolmentCodeRecord | None:
        c = t.webauthn_enrolment_codes.c
        q = select(t.webauthn_enrolment_codes).where(c.code_hash == code_hash)
        return model_or_none(EnrolmentCodeRecord, self.conn.execute(q).first())

    def enrolment_code_by_id(self, code_id: str) -> EnrolmentCodeRecord | None:
        c = t.webauthn_enrolment_codes.c
        q = select(t.webauthn_enrolment_codes).where(c.code_id == code_id)
        return model_or_none(EnrolmentCodeRecord, self.conn.execute(q).first())

    def use_enrolment_code(self, code_id: str, at: datetime) -> bool:
        c = t.webauthn_enrolment_codes.c
        done = self.conn.execute(
            update(t.webauthn_enrolment_codes)
            .where(c.code_id == code_id, c.used_at.is_(None), c.revoked_at.is_(None))
            .values(used_at=at)
        )
        return done.rowcount == 1

    # --- sessions --------------------------------------------------------------------------------------------

    def link_session(self, token_hash: str, credential_id: str) -> None:
        self.conn.execute(
            insert(t.webauthn_sessions).values(token_hash=token_hash, credential_id=credential_id)
        )

    def session_credential_active(self, token_hash: str) -> bool:
        """Whether an authenticator opened this session and is still active."""
        s, c = t.webauthn_sessions.c, t.webauthn_credentials.c
        q = (
            select(c.active)
            .select_from(t.webauthn_sessions.join(t.webauthn_credentials, s.credential_id == c.credential_id))
            .where(s.token_hash == token_hash)
        )
        return bool(self.conn.execute(q).scalar())
