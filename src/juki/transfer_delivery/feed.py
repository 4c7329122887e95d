"""What the file feed and the push read and record, as one port over the 庁内連携 core.

The core (`juki.transfer.policy`, `juki.services.transfer_feed`) decides which items of which changes a department
system may receive; the delivery methods here never decide that themselves. They also keep their own cursor per
system and channel in the register's `subscriber_cursors` (through the unit of work), and log every delivery with
the core's `log_delivery` — in the transaction that moves the cursor, so a delivery is logged exactly when its
cursor moved.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from juki.services.unit_of_work import UnitOfWork, UnitOfWorkFactory


@dataclass(frozen=True)
class Target:
    """A department system, as its policy says: its items (in order) and whether the 個人番号 is among them."""

    system_id: str
    department: str
    items: tuple[str, ...]
    my_number: bool


@dataclass(frozen=True)
class Page:
    changes: list[dict[str, Any]]
    next: int


class Feed(Protocol):
    def targets(self) -> list[Target]: ...

    def target(self, system_id: str) -> Target: ...

    def changes(self, system_id: str, after: int, limit: int) -> Page: ...

    def full(self, system_id: str) -> Iterator[dict[str, Any]]: ...

    def cursor(self, name: str) -> int: ...

    def set_cursor(self, name: str, position: int) -> None: ...

    def head(self) -> int:
        """The outbox's last committed position."""

    def delivered(
        self,
        system_id: str,
        persons: Sequence[str],
        items: Sequence[str],
        channel: str,
        cursor: tuple[str, int] | None,
    ) -> None:
        """Log the delivery (`log_delivery`) and, when given, move the cursor (name, position) with it."""


def cursor_name(channel: str, system_id: str) -> str:
    """The subscriber name of one system's cursor on one channel (`transfer-file:…`, `transfer-push:…`)."""
    return f"transfer-{channel}:{system_id}"


def target_of(system: Any) -> Target:
    """A policy's DepartmentSystem (juki.transfer.policy) as a Target, its items in 住基法7条's order."""
    from juki.transfer.items import ARTICLE_7, MY_NUMBER

    allowed = set(system.items) - {MY_NUMBER}
    ordered = [i for fields in ARTICLE_7.values() for i in sorted(fields) if i in allowed]
    ordered += sorted(allowed - set(ordered))
    return Target(str(system.system_id), str(system.department), tuple(ordered), bool(system.my_number))


class _CursorWithCommit:
    """The unit of work `log_delivery` opens, which moves the cursor in the same transaction when it commits."""

    def __init__(self, uow: UnitOfWork, name: str, position: int) -> None:
        self._uow, self._name, self._position = uow, name, position
        self.committed = False

    def __getattr__(self, attr: str) -> Any:
        return getattr(self._uow, attr)

    def __enter__(self) -> Any:
        self._uow.__enter__()
        return self

    def __exit__(self, *exc: object) -> None:
        self._uow.__exit__(*exc)  # type: ignore[arg-type]

    def commit(self) -> None:
        if self._uow.queries.cursor(self._name) < self._position:
            self._uow.set_cursor(self._name, self._position)
        self._uow.commit()
        self.committed = True


class Core(Protocol):
    """The 庁内連携 core's entry points (juki.transfer.policy, juki.services.transfer_feed)."""

    def systems(self) -> Sequence[Any]: ...

    def system(self, system_id: str) -> Any: ...

    def changes_for(self, uow_factory: UnitOfWorkFactory, system_id: str, after: int, limit: int) -> Any: ...

    def full_extract(self, uow_factory: UnitOfWorkFactory, system_id: str) -> Iterator[dict[str, Any]]: ...

    def head(self, uow_factory: UnitOfWorkFactory) -> int: ...

    def log_delivery(
        self, uow_factory: Any, system_id: str, persons: list[str], items: list[str], channel: str
    ) -> None: ...


class RegisterCore:
    """The register's own core (the policy in force, amendments included), imported when first used."""

    def __init__(self, uow_factory: UnitOfWorkFactory) -> None:
        self._uow = uow_factory

    def systems(self) -> Sequence[Any]:
        from juki.services.transfer_feed import stored_policy

        return list(stored_policy(self._uow).systems)

    def system(self, system_id: str) -> Any:
        from juki.services.transfer_feed import system_of

        return system_of(self._uow, system_id)

    def changes_for(self, uow_factory: UnitOfWorkFactory, system_id: str, after: int, limit: int) -> Any:
        from juki.services.transfer_feed import changes_for

        # The 個人番号 goes wherever the system's basis includes it: a file or a push is the whole delivery.
        with_number = bool(self.system(system_id).my_number)
        return changes_for(uow_factory, system_id, after, limit, include_my_number=with_number)

    def full_extract(self, uow_factory: UnitOfWorkFactory, system_id: str) -> Iterator[dict[str, Any]]:
        from juki.services.transfer_feed import full_extract

        with_number = bool(self.system(system_id).my_number)
        return iter(full_extract(uow_factory, system_id, include_my_number=with_number))

    def head(self, uow_factory: UnitOfWorkFactory) -> int:
        from juki.services.transfer_feed import head

        return head(uow_factory)

    def log_delivery(
        self, uow_factory: Any, system_id: str, persons: list[str], items: list[str], channel: str
    ) -> None:
        from juki.services.transfer_feed import log_delivery

        log_delivery(uow_factory, system_id, persons, items, channel)


class RegisterFeed:
    """The port over the 庁内連携 core, with the cursors kept in the register's unit of work."""

    def __init__(self, uow_factory: UnitOfWorkFactory, core: Core | None = None) -> None:
        self._uow = uow_factory
        self._core: Core = core if core is not None else RegisterCore(uow_factory)

    def targets(self) -> list[Target]:
        return [target_of(s) for s in self._core.systems()]

    def target(self, system_id: str) -> Target:
        return target_of(self._core.system(system_id))

    def changes(self, system_id: str, after: int, limit: int) -> Page:
        page = self._core.changes_for(self._uow, system_id, after, limit)
        return Page(list(page.changes), int(page.next))

    def full(self, system_id: str) -> Iterator[dict[str, Any]]:
        return self._core.full_extract(self._uow, system_id)

    def head(self) -> int:
        return self._core.head(self._uow)

    def cursor(self, name: str) -> int:
        with self._uow() as uow:
            return uow.queries.cursor(name)

    def set_cursor(self, name: str, position: int) -> None:
        with self._uow() as uow:
            if uow.queries.cursor(name) < position:
                uow.set_cursor(name, position)
                uow.commit()

    def delivered(
        self,
        system_id: str,
        persons: Sequence[str],
        items: Sequence[str],
        channel: str,
        cursor: tuple[str, int] | None,
    ) -> None:
        if cursor is None:
            self._core.log_delivery(self._uow, system_id, list(persons), list(items), channel)
            return
        opened: list[_CursorWithCommit] = []

        def factory() -> Any:
            opened.append(_CursorWithCommit(self._uow(), *cursor))
            return opened[-1]

        self._core.log_delivery(factory, system_id, list(persons), list(items), channel)
        if not any(u.committed for u in opened):  # log_delivery wrote nothing: the cursor moves on its own
            self.set_cursor(*cursor)


def position_of(change: Mapping[str, Any]) -> int:
    """A change's outbox position (`sequence`: its place in commit order, a cursor the feed reads after)."""
    return int(change["sequence"])
