"""庁内連携's tables (migration 0018): the department systems' OAuth clients, tokens, assertions' `jti`, and the transfer
policy's versions — in the unit of work's transaction — and the transfer key file.

A client's secret is never stored. It is a keyed hash: HMAC-SHA256 of the client id and a random salt under a key
derived from the transfer key file (`juki-transfer.key`, beside the My Number key file, mode 0600), so the database
alone (a backup, a dump) gives no secret away, and the server can still check an HS256 client assertion
(client_secret_jwt needs the shared secret) and a client_secret_basic in constant time. The same file keys the
feed's cursors (each bound to its system). Replacing the file invalidates every client secret and cursor.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from sqlalchemy import Connection, delete, func, insert, select, update
from sqlalchemy.exc import IntegrityError

from juki.adapters import tables as t
from juki.adapters.ui_key import load_or_create_ui_key
from juki.adapters.vault import key_file_for
from juki.config import Settings

FILE_NAME = "juki-transfer.key"


@dataclass(frozen=True)
class TransferKey:
    """The transfer link's own secret (32 random bytes), with one derived key per purpose."""

    secret: bytes = field(repr=False)

    def _derive(self, purpose: bytes) -> bytes:
        return HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=purpose).derive(self.secret)

    def client_secret(self, client_id: str, salt: str) -> str:
        key = self._derive(b"juki transfer client secret v1")
        mac = hmac.new(key, f"{client_id}\x00{salt}".encode(), hashlib.sha256).digest()
        return base64.urlsafe_b64encode(mac).decode("ascii").rstrip("=")

    def cursor_mac(self, system_id: str, position: int) -> str:
        key = self._derive(b"juki transfer feed cursor v1")
        mac = hmac.new(key, f"{system_id}\x00{position}".encode(), hashlib.sha256).digest()[:12]
        return base64.urlsafe_b64encode(mac).decode("ascii").rstrip("=")


def transfer_key(settings: Settings) -> TransferKey:
    """The key file beside the register's My Number key file, created (0600) on first use."""
    path = Path(key_file_for(settings.database_url, settings.key_file)).with_name(FILE_NAME)
    return TransferKey(load_or_create_ui_key(path).secret)  # the same 32-byte, one-line, 0600 file format


class SqlTransferStore:
    def __init__(self, conn: Connection) -> None:
        self.conn = conn

    # --- clients ---------------------------------------------------------------------------------------------

    def add_client(self, values: dict[str, Any]) -> None:
        self.conn.execute(insert(t.transfer_clients).values(**values))

    def client(self, client_id: str) -> Any:
        c = t.transfer_clients.c
        return self.conn.execute(select(t.transfer_clients).where(c.client_id == client_id)).first()

    def clients(self, system_id: str | None = None) -> list[Any]:
        c = t.transfer_clients.c
        q = select(t.transfer_clients).order_by(c.created_at, c.client_id)
        if system_id is not None:
            q = q.where(c.system_id == system_id)
        return list(self.conn.execute(q).all())

    def revoke_client(self, client_id: str, by: str, at: datetime) -> bool:
        c = t.transfer_clients.c
        done = self.conn.execute(
            update(t.transfer_clients)
            .where(c.client_id == client_id, c.revoked_at.is_(None))
            .values(revoked_at=at, revoked_by=by)
        )
        self.conn.execute(delete(t.transfer_tokens).where(t.transfer_tokens.c.client_id == client_id))
        return done.rowcount == 1

    # --- tokens and assertions ---------------------------------------------------------------------------------

    def add_token(self, values: dict[str, Any]) -> None:
        self.conn.execute(
            delete(t.transfer_tokens).where(t.transfer_tokens.c.expires_at < values["issued_at"])
        )
        self.conn.execute(insert(t.transfer_tokens).values(**values))

    def token(self, token_hash: str) -> Any:
        c = t.transfer_tokens.c
        return self.conn.execute(select(t.transfer_tokens).where(c.token_hash == token_hash)).first()

    def use_assertion(self, client_id: str, jti: str, expires_at: datetime, now: datetime) -> bool:
        """Record a client assertion's `jti`; False when it was used before (a replay). Expired ones are dropped:
        an assertion past its `exp` is refused anyway."""
        a = t.transfer_assertions
        self.conn.execute(delete(a).where(a.c.expires_at < now))
        try:
            with self.conn.begin_nested():
                self.conn.execute(insert(a).values(client_id=client_id, jti=jti, expires_at=expires_at))
        except IntegrityError:
            return False
        return True

    # --- the policy's versions ----------------------------------------------------------------------------------

    def latest_policy(self) -> Any:
        v = t.transfer_policy_versions.c
        return self.conn.execute(
            select(t.transfer_policy_versions).order_by(v.version.desc()).limit(1)
        ).first()

    def policy_versions(self) -> list[Any]:
        v = t.transfer_policy_versions.c
        return list(self.conn.execute(select(t.transfer_policy_versions).order_by(v.version)).all())

    def add_policy_version(self, values: dict[str, Any]) -> int:
        v = t.transfer_policy_versions.c
        last = self.conn.execute(select(func.coalesce(func.max(v.version), 0))).scalar_one()
        version = int(last) + 1
        self.conn.execute(insert(t.transfer_policy_versions).values(version=version, **values))
        return version

    # --- the register, for a first load -----------------------------------------------------------------------------

    def residents_after(self, start: str, limit: int) -> list[str]:
        """The 宛名番号 of every record (除票 too) after `start`, in order: the full extract's pages."""
        c = t.residents.c
        q = (
            select(c.addressee_number)
            .where(c.addressee_number > start)
            .order_by(c.addressee_number)
            .limit(limit)
        )
        return list(self.conn.execute(q).scalars())

    # --- the outbox's head ---------------------------------------------------------------------------------------

    def outbox_head(self) -> int:
        """The last committed outbox position (the register's counter, taken in the writers' transactions)."""
        c = t.counters.c
        value = self.conn.execute(select(c.value).where(c.name == "outbox")).scalar()
        return int(value or 0)


def of(uow: Any) -> SqlTransferStore:
    """The transfer store in the unit of work's transaction (the same connection)."""
    conn = getattr(uow, "conn", None)
    if not isinstance(conn, Connection):
        raise TypeError("the transfer store needs the SQL unit of work")
    return SqlTransferStore(conn)
