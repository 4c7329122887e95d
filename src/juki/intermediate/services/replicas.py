"""The 副本 (replica) of 住民票関係情報: built by the 団体内統合宛名 side as 副本登録 messages, registered by the
中間サーバー side.

`register_message` is the 中間サーバー's door: it parses and checks the message whole (domain/replica.parse) and
writes nothing of a malformed one — it records the refusal and its reason; an accepted message writes a new version
of each record whose items changed (append-only; the current record is the latest version). Removed residents keep
their last record (別紙1: 市内の住民 ※消除者を含む); a 削除 segment takes a record out (a 転入 cancelled as if it never
happened: 取消（増）).
"""

from __future__ import annotations

import secrets
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from juki.intermediate.domain import replica as layout
from juki.intermediate.domain.replica import LayoutError, ReplicaMessage
from juki.intermediate.ports import ImsStore, LogLine, PersonState

ACCEPTED, REFUSED = "accepted", "refused"


@dataclass(frozen=True)
class Registration:
    accepted: bool
    reason: str  # why it was refused ("" when accepted)
    written: int  # record versions written


def register_message(store: ImsStore, raw: Any) -> Registration:
    """One 副本登録 message, in its JSON form."""
    message_id = str(raw.get("message_id", ""))[:64] if isinstance(raw, dict) else ""
    try:
        message = layout.parse(raw)
    except LayoutError as refused:
        store.record_message(message_id or "-", REFUSED, refused.reason, 0)
        store.log(LogLine("replica", REFUSED, f"副本登録を受け付けませんでした: {refused.reason}"))
        return Registration(False, refused.reason, 0)
    written = sum(_apply(store, message, segment) for segment in message.segments)
    store.record_message(message.message_id, ACCEPTED, "", len(message.segments))
    return Registration(True, "", written)


def _apply(store: ImsStore, message: ReplicaMessage, segment: layout.Segment) -> bool:
    current = store.current_replica(segment.unified_number, segment.info_code)
    version = current.record_version + 1 if current else 1
    if segment.operation == layout.DELETE:
        if current is None or current.operation == layout.DELETE:
            return False
        store.add_replica(
            segment.unified_number, segment.info_code, version, layout.DELETE, {}, message.message_id
        )
        return True
    before = current.items if current and current.operation == layout.REGISTER else None
    if layout.unchanged(segment.items, before):
        return False
    spec = layout.LAYOUTS[segment.info_code]
    items = layout.versioned(segment.items, before, spec)
    store.add_replica(
        segment.unified_number, segment.info_code, version, layout.REGISTER, items, message.message_id
    )
    return True


# --- the 団体内統合宛名 side: building the messages from its per-person state -------------------------------------


def new_message_id() -> str:
    return "RM-" + secrets.token_hex(10)


def segment_for(store: ImsStore, person: PersonState, unified_number: str) -> layout.Segment:
    """The record of 住民票関係情報 for `person` (住基法7条4号), from the household as the 中間サーバー knows it."""
    householder_number = store.householder(person.household_number) if person.household_number else None
    is_householder = householder_number == person.addressee_number
    head = None
    if householder_number and not is_householder:
        found = store.person(householder_number)
        head = layout.Member(found.name, found.relationship, True) if found else None
    me = layout.Member(person.name, person.relationship, is_householder)
    return layout.register_segment(unified_number, layout.resident_items(me, head))


def rebuild(
    store: ImsStore, persons: Iterable[PersonState], unified_of: dict[str, str]
) -> Registration | None:
    """One 副本登録 message for `persons` that have a unified number; sent through the 中間サーバー's door like any
    other (so it is checked like any other)."""
    chosen: dict[str, PersonState] = {}
    for person in persons:  # one record per unified number: a returning resident's active record wins
        number = unified_of.get(person.addressee_number)
        if number is not None and (number not in chosen or chosen[number].removed):
            chosen[number] = person
    segments = [segment_for(store, p, number) for number, p in sorted(chosen.items())]
    if not segments:
        return None
    return register_message(store, ReplicaMessage(new_message_id(), tuple(segments)).to_json())


def delete(store: ImsStore, unified_number: str) -> Registration:
    segment = layout.Segment(layout.DELETE, unified_number, layout.INFO_CODE)
    return register_message(store, ReplicaMessage(new_message_id(), (segment,)).to_json())
