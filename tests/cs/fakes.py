"""A prefecture server in memory (cs/wire.PrefectureClient): it can be down, refuse, or accept, keeps what it
received in order, and is idempotent as the real one (a repeat of the last sequence is a duplicate)."""

from __future__ import annotations

from dataclasses import dataclass, field

from juki.cs.wire import Accepted, Notice, Refused, Unreachable


@dataclass
class FakePrefecture:
    down: bool = False
    refuse: dict[tuple[str, int], Refused] = field(default_factory=dict)  # (住民票コード, sequence) → answer
    received: list[Notice] = field(default_factory=list)  # every notice handed over, in order, repeats too
    held: dict[str, dict[str, str | None]] = field(default_factory=dict)  # what it holds per 住民票コード
    sequences: dict[str, int] = field(default_factory=dict)
    lose_answer_once: bool = False  # the notice arrives but its answer is lost (a dropped connection)

    def send(self, notice: Notice) -> Accepted | Refused:
        if self.down:
            raise Unreachable("down")
        self.received.append(notice)
        refused = self.refuse.pop((notice.resident_code, notice.sequence), None)
        if refused is not None:
            return refused
        answer = self._apply(notice)
        if self.lose_answer_once:
            self.lose_answer_once = False
            raise Unreachable("answer lost")
        return answer

    def _apply(self, notice: Notice) -> Accepted | Refused:
        last = self.sequences.get(notice.resident_code, 0)
        if notice.sequence == last and last:
            return Accepted(duplicate=True)
        if notice.sequence != last + 1:
            return Refused("out_of_order", None, f"expected {last + 1}")
        self.sequences[notice.resident_code] = notice.sequence
        self.held[notice.resident_code] = dict(notice.items)
        return Accepted(duplicate=False)

    def identity(self, resident_code: str) -> dict[str, object] | None:
        items = self.held.get(resident_code)
        if items is None:
            return None
        return {"resident_code": resident_code, "sequence": self.sequences[resident_code], "items": items}

    def kinds(self) -> list[tuple[str, int, str]]:
        return [(n.resident_code, n.sequence, n.kind.value) for n in self.received]
