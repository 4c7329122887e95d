"""An in-memory stand-in for the CS's 転出証明書情報 (services.ports.MoveOutCertificates), for the register's tests."""

from __future__ import annotations

from datetime import date
from typing import Any

from juki.domain.identifiers import resident_code_check_digit
from juki.services.read_models import HeldMoveOut

CODE = "1234567890" + resident_code_check_digit("1234567890")
NOBODY = "9876543210" + resident_code_check_digit("9876543210")


class FakeCertificates:
    """The CS's port, in memory: what C2's store answers, and the calls the register makes."""

    def __init__(self, *held: HeldMoveOut) -> None:
        self.held = {h.resident_code: h for h in held}
        self.used: list[tuple[str, str]] = []

    def find(self, resident_code: str) -> HeldMoveOut | None:
        return self.held.get(resident_code)

    def search(self, family_name_kana: str, birth_date: date) -> list[HeldMoveOut]:
        return [
            h
            for h in self.held.values()
            if h.family_name_kana == family_name_kana and h.birth_date == birth_date
        ]

    def mark_used(self, certificate_id: str, addressee_number: str) -> None:
        self.used.append((certificate_id, addressee_number))


def held(**over: Any) -> HeldMoveOut:
    base: dict[str, Any] = dict(
        certificate_id="MC-0001",
        resident_code=CODE,
        my_number="123456789018",
        family_name="特例",
        given_name="花子",
        family_name_kana="トクレイ",
        given_name_kana="ハナコ",
        birth_date=date(1990, 2, 3),
        sex="女",
        relationship="世帯主",
        householder_name=None,
        previous_address="東京都武蔵野市吉祥寺本町一丁目1番1号",
        previous_city_code="132039",
        planned_on=date(2025, 6, 20),
        destination_address="東京都小平市",
        provisional_protection=False,
        received_on=date(2025, 6, 15),
    )
    base.update(over)
    return HeldMoveOut(**base)
