"""A small stand-in for the 庁内連携 core (policy + changes_for/full_extract/log_delivery), over the real outbox.

Used only where a test needs a core that misbehaves on purpose or a policy the real one does not have."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from juki.adapters.event_key import event_key_file, load_event_key
from juki.adapters.vault import key_file_for
from juki.bootstrap import Juki
from juki.policy.roles import SYSTEM
from juki.services import outbox
from juki.services.audit import LogEntry


@dataclass(frozen=True)
class System:
    system_id: str
    department: str
    items: tuple[str, ...]
    my_number: bool
    rows: str = "all"


@dataclass(frozen=True)
class Page:
    changes: list[dict[str, Any]]
    next: int


SYSTEMS = (
    System("tax", "税務課", ("family_name", "given_name", "birth_date"), False),
    System("pension", "保険年金課", ("family_name", "birth_date"), True),
)


class FakeCore:
    def __init__(self, j: Juki, systems: tuple[System, ...] = SYSTEMS) -> None:
        self.j = j
        self._systems = {s.system_id: s for s in systems}
        self.logged: list[tuple[str, list[str], list[str], str]] = []
        key = key_file_for(j.settings.database_url, j.settings.key_file)
        self._event_key = load_event_key(event_key_file(key))

    def systems(self) -> list[System]:
        return list(self._systems.values())

    def system(self, system_id: str) -> System:
        return self._systems[system_id]

    def _project(self, system: System, e: outbox.ChangeEvent) -> dict[str, Any]:
        record = {k: e.record.get(k) for k in system.items}
        record["honseki"] = e.record.get("honseki")  # the fake leaks an item; the file must not carry it
        if system.my_number and e.my_number_sealed:
            record["my_number"] = self._event_key.open_for(e.my_number_sealed, e.addressee_number, e.version)
        return {
            "position": e.position,
            "event": e.event,
            "addressee_number": e.addressee_number,
            "change_reason": e.change_reason,
            "changed_on": e.changed_on,
            "record": record,
            "protected": False,
        }

    def changes_for(self, uow_factory: Any, system_id: str, after: int, limit: int = 500) -> Page:
        events = outbox.read(uow_factory, after, limit)
        system = self._systems[system_id]
        return Page([self._project(system, e) for e in events], events[-1].position if events else after)

    def full_extract(self, uow_factory: Any, system_id: str) -> Iterator[dict[str, Any]]:
        latest: dict[str, dict[str, Any]] = {}
        for change in self.changes_for(uow_factory, system_id, 0, 100_000).changes:
            latest[change["addressee_number"]] = change
        for change in latest.values():
            yield {k: v for k, v in change.items() if k in ("addressee_number", "record", "protected")}

    def log_delivery(
        self, uow_factory: Any, system_id: str, persons: list[str], items: list[str], channel: str
    ) -> None:
        with uow_factory() as uow:
            uow.log(SYSTEM, LogEntry("transfer:delivery", persons, detail=f"{system_id} {channel}"))
            uow.commit()
        self.logged.append((system_id, persons, items, channel))
