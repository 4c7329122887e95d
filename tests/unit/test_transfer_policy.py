"""The transfer policy as data: the PIA's rows, the department systems made of them, what each may receive, and the
projection that holds a record to that."""

from __future__ import annotations

import csv
import dataclasses
from datetime import UTC, datetime
from pathlib import Path

import pytest

from juki.domain.errors import Forbidden, InvalidField
from juki.domain.model import ResidentRecord
from juki.transfer import policy as p
from juki.transfer.items import ALL_ITEMS, ARTICLE_7, KEY_FIELDS, MY_NUMBER, NOT_ITEMS, items_worded
from juki.transfer.projection import OutsideBasis, in_population, parse_fields, project, selected_items

SHARED = Path(__file__).resolve().parents[3] / "shared" / "data"


def _csv(name: str) -> list[dict[str, str]]:
    folder = SHARED if SHARED.exists() else Path(__file__).resolve().parents[2] / "src/juki/policy/data"
    with (folder / name).open(encoding="utf-8") as f:
        return list(csv.DictReader(f))


def test_the_seed_holds_every_row_of_both_lists_as_the_pia_words_it():
    policy = p.seed()
    transfers, provisions = _csv("transfer_recipients.csv"), _csv("provision_recipients.csv")
    assert [r.no for r in policy.transfers] == [int(r["no"]) for r in transfers] == list(range(1, 54))
    assert [r.no for r in policy.provisions] == [int(r["no"]) for r in provisions] == list(range(1, 60))
    for row, source in zip(policy.transfers, transfers, strict=True):
        assert (row.legal_basis, row.purpose, row.information) == (
            source["legal_basis"],
            source["purpose"],
            source["information"],
        )
        assert row.items == ALL_ITEMS  # 住民基本台帳 (住基法第7条に規定する事項)


def test_every_field_of_a_record_is_an_item_of_article_7_a_key_or_named_as_no_item():
    fields = {f.name for f in dataclasses.fields(ResidentRecord)} | {"version"}
    classified = ALL_ITEMS | set(KEY_FIELDS) | NOT_ITEMS
    assert fields == classified, sorted(fields ^ classified)
    groups = list(ARTICLE_7.values())
    assert sum(len(g) for g in groups) == len(ALL_ITEMS), "an item in two 号"


def test_an_unknown_wording_of_the_information_is_refused_not_guessed():
    assert items_worded("住民票関係情報(住基法第7条第4号に規定する事項(世帯主についてはその旨))") >= {
        "relationship"
    }
    with pytest.raises(ValueError):
        items_worded("住民基本台帳の全部")


def test_the_systems_are_the_departments_of_the_rows_each_with_all_its_rows():
    policy = p.seed()
    departments = {d for r in policy.rows() for d in r.departments}
    assert {s.department for s in policy.systems} == departments
    assert len(policy.systems) == 12
    hoken = policy.system("hoken-nenkin")
    assert hoken is not None and hoken.department == "保険年金課"
    assert hoken.rows == (8, 11, 12, 29, 34, 38)  # 国保 (30の項) is row 11; 地方税 (16の項) row 8 with 税務課
    assert len({s.system_id for s in policy.systems}) == 12
    assert all(s.system_id.isascii() for s in policy.systems)
    zeimu = policy.by_department("税務課")
    assert zeimu is not None and zeimu.rows == (8,) and zeimu.my_number


def test_the_my_number_only_where_the_basis_is_article_9_or_the_city_ordinance():
    policy = p.seed()
    for row in policy.rows():
        expected = row.legal_basis.replace(" ", "").startswith("番号法第9条") or "条例" in row.legal_basis
        assert row.my_number == (expected and MY_NUMBER in row.items), row.key
    senkyo = policy.system("senkyo")
    assert senkyo is not None and not senkyo.my_number and MY_NUMBER not in senkyo.items
    assert p.SCOPE_MY_NUMBER not in senkyo.scopes and senkyo.rows == ()
    gakumu = policy.system("gakumu")
    assert gakumu is not None and gakumu.rows == (59,) and gakumu.my_number  # the ordinance
    assert gakumu.items == {"household_number", "relationship", "position", MY_NUMBER}  # 住民票関係情報: 4号
    assert all(p.SCOPE_MY_NUMBER in s.scopes for s in policy.systems if s.my_number)


def test_a_projection_holds_the_keys_and_the_items_and_nothing_else():
    senkyo = p.seed().system("senkyo")
    assert senkyo is not None
    record = {
        "addressee_number": "0000000018",
        "status": "active",
        "version": 2,
        "honseki": "X",
        "sex": "male",
    }
    items = selected_items(senkyo, None, False)
    assert project(record, items) == {
        "addressee_number": "0000000018",
        "status": "active",
        "version": 2,
        "sex": "male",
    }
    assert project(record, selected_items(senkyo, frozenset({"sex"}), False)) == {
        "addressee_number": "0000000018",
        "status": "active",
        "version": 2,
        "sex": "male",
    }


@pytest.mark.parametrize(("fields", "number"), [(frozenset({"honseki"}), False), (None, True)])
def test_an_item_beyond_the_basis_is_refused_whole(fields, number):
    senkyo = p.seed().system("senkyo")
    assert senkyo is not None
    with pytest.raises(OutsideBasis) as refused:
        selected_items(senkyo, fields, number)
    assert isinstance(refused.value, Forbidden) and refused.value.code == "forbidden"


def test_the_number_is_given_only_when_asked():
    hoken = p.seed().system("hoken-nenkin")
    assert hoken is not None
    assert MY_NUMBER not in selected_items(hoken, None, False)
    assert MY_NUMBER in selected_items(hoken, None, True)


def test_the_electoral_roll_leaves_foreign_residents_out():
    policy = p.seed()
    senkyo, hoken = policy.system("senkyo"), policy.system("hoken-nenkin")
    assert senkyo is not None and hoken is not None
    foreign = {"foreign": {"nationality": "ベトナム"}}
    assert not in_population(senkyo, foreign) and in_population(hoken, foreign)
    assert in_population(senkyo, {"foreign": None})


@pytest.mark.parametrize("text", ["", ",", "a b", "名前", ",".join(["a"] * 61)])
def test_fields_must_be_item_names(text):
    with pytest.raises(InvalidField):
        parse_fields(text)


def test_an_amendment_is_a_new_version_that_may_narrow_withdraw_and_add():
    base = p.seed()
    at = datetime(2026, 12, 7, tzinfo=UTC)
    document = {
        "rows": {"別紙2-8": {"departments": ["収納課", "税務課"]}, "別紙2-2": {"withdrawn": True}},
        "added": [
            {
                "departments": ["市民協働課"],
                "legal_basis": "住民基本台帳法第15条",
                "purpose": "試験の事務",
                "information": "住民基本台帳 (住基法第7条に規定する事項)",
                "items": ["family_name", "given_name"],
            }
        ],
    }
    changed = p.amended(base, document, 1, "admin1", at, "組織改正")
    assert (changed.version, changed.changed_by, changed.changed_at) == (1, "admin1", at)
    hoken = changed.system("hoken-nenkin")
    assert hoken is not None and 8 not in hoken.rows
    assert [r.no for r in changed.transfers] == [n for n in range(1, 54) if n != 2]
    added = changed.by_department("市民協働課")
    assert added is not None and added.items == {"family_name", "given_name"} and not added.my_number
    with pytest.raises(ValueError):
        p.amended(base, {"rows": {"別紙2-99": {"purpose": "x"}}}, 2, "admin1", at, "x")
    with pytest.raises(ValueError):
        p.amended(base, {"rows": {"別紙2-1": {"items": ["school_district"]}}}, 2, "admin1", at, "x")
