"""Key rotation: a new active key in the key file, and the current data re-encrypted with it.

What is re-encrypted: `residents.my_number_ciphertext` and the `secret_payload` of filings still waiting for a
decision. What is not: the history (`resident_versions`) is append-only, so its tokens stay as written and remain
readable because the key file keeps every older key; decided filings' secret payloads likewise. The blind index
does not change (its key never rotates), so look-ups and the uniqueness constraint are untouched.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import Engine, select, update

from juki.adapters import tables as t
from juki.adapters.queries import open_secrets, seal_secrets
from juki.adapters.vault import MyNumberVault, rotate

BATCH = 2000


@dataclass(frozen=True)
class Rotation:
    key_id: str
    residents: int
    filings: int


def rotate_keys(engine: Engine, key_file: str | Path) -> Rotation:
    """Add a key, then re-encrypt in one transaction. Should it fail, the old key is still in the file."""
    vault = rotate(key_file)
    residents, filings = reencrypt_current(engine, vault)
    return Rotation(vault.active, residents, filings)


def reencrypt_current(engine: Engine, vault: MyNumberVault) -> tuple[int, int]:
    r, f = t.residents.c, t.filings.c
    done_residents = done_filings = 0
    with engine.begin() as conn:
        rows = conn.execute(
            select(r.addressee_number, r.my_number_ciphertext).where(r.my_number_ciphertext.is_not(None))
        ).all()
        for row in rows:
            if vault.is_current(row.my_number_ciphertext):
                continue
            token = vault.encrypt(vault.decrypt(row.my_number_ciphertext))
            # compared with the token read, so that a filing committed meanwhile is never overwritten
            done_residents += conn.execute(
                update(t.residents)
                .where(
                    r.addressee_number == row.addressee_number,
                    r.my_number_ciphertext == row.my_number_ciphertext,
                )
                .values(my_number_ciphertext=token)
            ).rowcount
        pending = conn.execute(
            select(f.filing_id, f.secret_payload).where(
                f.approval_state == "pending", f.secret_payload.is_not(None)
            )
        ).all()
        for row in pending:
            if vault.is_current(row.secret_payload):
                continue
            secrets = open_secrets(vault, row.secret_payload)
            done_filings += conn.execute(
                update(t.filings)
                .where(f.filing_id == row.filing_id, f.approval_state == "pending")
                .values(secret_payload=seal_secrets(vault, secrets))
            ).rowcount
    return done_residents, done_filings
