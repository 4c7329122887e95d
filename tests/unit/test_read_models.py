"""The stores' read models (services/read_models.py) as the adapters build them from rows (adapters/rows.py)."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from datetime import date

import pytest
from sqlalchemy import Connection, create_engine, text

from juki.adapters.rows import model, model_or_none, models
from juki.services.read_models import FilingChange, Household, StoredResident


@pytest.fixture
def conn() -> Iterator[Connection]:
    engine = create_engine("sqlite://")
    with engine.connect() as connection:
        yield connection
    engine.dispose()


HOUSEHOLD = (
    "SELECT '0000000019' AS household_number, 2 AS version, 'active' AS status, '小平市小川町1-1' AS address,"
    " '0000000027' AS householder, 3 AS member_count, 'ignored' AS not_a_field"
)


def test_a_model_takes_the_columns_of_its_names_and_leaves_the_rest(conn):
    household = model(Household, conn.execute(text(HOUSEHOLD)).one())
    assert household == Household("0000000019", 2, "active", "小平市小川町1-1", "0000000027", 3)
    assert not hasattr(household, "not_a_field")


def test_a_model_never_stands_in_for_a_column_it_did_not_get(conn):
    row = conn.execute(text("SELECT '0000000019' AS addressee_number, 1 AS version")).one()
    with pytest.raises(KeyError, match="change_reason"):
        model(FilingChange, row)


def test_no_row_is_no_model_and_rows_are_models_in_order(conn):
    assert model_or_none(Household, None) is None
    rows = conn.execute(text("SELECT 'a' AS addressee_number, 1 AS version, 'A1' AS change_reason UNION ALL "
                             "SELECT 'b', 2, 'B1'"))  # fmt: skip
    assert models(FilingChange, rows) == [FilingChange("a", 1, "A1"), FilingChange("b", 2, "B1")]


def test_models_are_frozen(conn):
    household = model(Household, conn.execute(text(HOUSEHOLD)).one())
    with pytest.raises(dataclasses.FrozenInstanceError):
        household.status = "removed"


def _resident(opened: list[str]) -> StoredResident:
    def open_my_number() -> str | None:
        opened.append("opened")
        return "123456789018"

    return StoredResident(
        addressee_number="0000000019", version=1, status="active", household_number="0000000019", position=1,
        relationship="世帯主", family_name="佐藤", given_name="恵", birth_date=date(1980, 4, 1), sex="female",
        address="小平市小川町1-1", resident_code=None, residence_card_number=None, last_changed_on=date(2025, 6, 1),
        record={}, has_my_number=True, open_my_number=open_my_number,
    )  # fmt: skip


def test_a_residents_my_number_is_opened_only_when_read_and_never_shown_in_its_repr():
    opened: list[str] = []
    resident = _resident(opened)
    assert resident.has_my_number and opened == []
    assert "123456789018" not in repr(resident) and opened == []
    assert resident.my_number == "123456789018" and opened == ["opened"]


def test_a_resident_not_found_by_a_history_search_matches_today():
    resident = _resident([])
    assert (resident.name_now, resident.address_now) == (1, 1)
