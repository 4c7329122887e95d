"""The 団体内統合宛名 function (unified_addressee): a business system registers a person with its own 宛名番号, the
個人番号 and the 4情報; the function finds the person by the 個人番号 (its blind index), gives a new 団体内統合宛名番号
only when no record holds that number, and links the system's 宛名番号 to it.

Business systems never get the unified number back: `register` answers nothing, and the 中間サーバー translates
(a system's 宛名番号 ↔ the unified number) inside (`unified_of`, `addressees_of`). A returning resident keeps theirs:
the same 個人番号 finds it, and so does the same 宛名番号 of the same system (a 個人番号変更 moves the number to it).
Numbers are never reused: the sequence only grows.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from juki.domain.errors import InvalidMyNumber
from juki.domain.identifiers import validate_my_number
from juki.intermediate.domain import unified
from juki.intermediate.ports import ImsStore, LogLine

REGISTER_SYSTEM = "住民記録"  # the resident register's system id
FOUR_INFO = ("name", "address", "birth_date", "sex")


class InvalidRegistration(ValueError):
    """A registration the function cannot take (a bad 個人番号, no system id); never holds the number."""


def register(
    store: ImsStore,
    city_code: str,
    system_id: str,
    addressee_number: str,
    my_number: str,
    four_info: Mapping[str, Any],
) -> None:
    """Link (system, 宛名番号) to the unified number of `my_number`, made if none holds it."""
    if not system_id or not addressee_number:
        raise InvalidRegistration("業務システムIDと宛名番号が必要です")
    try:
        my_number = validate_my_number(my_number)
    except InvalidMyNumber:
        raise InvalidRegistration("個人番号の形式が正しくありません") from None
    sealed, index = store.seal_my_number(my_number)
    found = store.unified_by_index(index)
    linked = store.link(system_id, addressee_number)
    if found is not None:
        number = found.unified_number
    elif linked is not None:  # the same person with a new 個人番号 (個人番号変更): the number moves with them
        number = linked.unified_number
        store.change_my_number(number, sealed, index)
        store.log(LogLine("unified", "my_number_changed", "個人番号の変更を団体内統合宛名に反映しました",
                          addressee_number=_short(addressee_number)))  # fmt: skip
    else:
        number = unified.make(city_code, store.next_sequence("unified"))
        store.add_unified(number, sealed, index)
        store.log(
            LogLine(
                "unified",
                "assigned",
                "団体内統合宛名番号を付番しました",
                addressee_number=_short(addressee_number),
            )
        )
    info = {k: four_info.get(k) for k in FOUR_INFO}
    store.put_link(system_id, addressee_number, number, info)


def update_four_info(
    store: ImsStore, system_id: str, addressee_number: str, four_info: Mapping[str, Any]
) -> None:
    """A linked person's 4情報 changed (a 転居, a new name): the link keeps them current."""
    linked = store.link(system_id, addressee_number)
    if linked is not None:
        store.put_link(
            system_id, addressee_number, linked.unified_number, {k: four_info.get(k) for k in FOUR_INFO}
        )


def unified_of(store: ImsStore, system_id: str, addressee_number: str) -> str | None:
    """The translation inward: a system's 宛名番号 → the unified number (never handed back to the system)."""
    linked = store.link(system_id, addressee_number)
    return None if linked is None else linked.unified_number


def addressees_of(store: ImsStore, unified_number: str, system_id: str = REGISTER_SYSTEM) -> list[str]:
    """The translation outward: the unified number → the system's own 宛名番号."""
    return [link.addressee_number for link in store.links_of(unified_number) if link.system_id == system_id]


def _short(addressee_number: str) -> str | None:
    return addressee_number if len(addressee_number) <= 10 else None
