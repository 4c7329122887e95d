"""What the transfer link's services need of its tables (adapters/transfer_client_store.SqlTransferStore), in the
unit of work's transaction."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Protocol

from juki.services.unit_of_work import UnitOfWork


class TransferStore(Protocol):
    def add_client(self, values: dict[str, Any]) -> None: ...
    def client(self, client_id: str) -> Any: ...  # a row, or None
    def clients(self, system_id: str | None = None) -> list[Any]: ...
    def revoke_client(self, client_id: str, by: str, at: datetime) -> bool: ...
    def add_token(self, values: dict[str, Any]) -> None: ...
    def token(self, token_hash: str) -> Any: ...  # a row, or None
    def use_assertion(self, client_id: str, jti: str, expires_at: datetime, now: datetime) -> bool: ...
    def latest_policy(self) -> Any: ...  # a row, or None (the seed is in force)
    def policy_versions(self) -> list[Any]: ...
    def add_policy_version(self, values: dict[str, Any]) -> int: ...
    def residents_after(self, start: str, limit: int) -> list[str]: ...
    def outbox_head(self) -> int: ...


def store_of(uow: UnitOfWork) -> TransferStore:
    """The link's store over the unit of work's connection. The register's unit of work does not carry it (the
    link keeps to its own tables), so it is opened here, from the one adapter of this port."""
    from juki.adapters.transfer_client_store import of

    return of(uow)
