"""The CS operator's page (/ui/cs) shows J-LIS's part (docs/cs-jlis.md): the 住民票コード stock as the CS last saw it
and j870's warning when it is low, and the J-LIS error queue by what each entry is about, its id, the 住民票コード,
its code and item — never a 個人番号."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from juki.bootstrap import Juki
from juki.cs.adapters import jlis_tables
from juki.cs.adapters.cs_db import CsDatabase
from juki.cs.services import jlis
from juki.cs.wire import Refused
from juki.policy.roles import CS_SYSTEM
from juki.services import numbers
from juki.web.app import create_app
from tests.cs.jlis_support import mailing_items
from tests.cs.page_support import with_cs
from tests.cs.test_jlis import NOW, FakeJlis, FakeMailing, Out, _setup
from tests.e2e.test_cs_pages import BASE, sign_in


@pytest.fixture
def cs(j: Juki, tmp_path: Path) -> Iterator[CsDatabase]:
    db = with_cs(j, tmp_path)
    yield db
    db.dispose()


@pytest.fixture
def client(j: Juki, cs: CsDatabase) -> Iterator[TestClient]:
    with TestClient(create_app(j), base_url=BASE, follow_redirects=False) as c:
        yield c


def test_the_operator_sees_the_stock_its_warning_and_the_j_lis_errors(j, cs, client, template):
    sign_in(client, j, template, "cs_operator")
    assert "まだ住民票コードの在庫を確認していません" in client.get("/ui/cs").text
    available = numbers.stock(j.uow, CS_SYSTEM, 1).available
    port = FakeMailing([Out("M-1", "12345678903", mailing_items("M-1"))])
    fake = FakeJlis(refuse_block=Refused("format_error", None, "…"),
                    refuse_mailing=Refused("mismatch", "送付先住所 漢字", "…"))  # fmt: skip
    jlis.run(_setup(j, cs, threshold=available + 1, mailing=port, backoff=NOW), fake)
    page = client.get("/ui/cs")
    assert page.status_code == 200
    text = page.text
    assert f"{available}件" in text and "下限を下回っています" in text and "j870" in text
    assert "J-LISとの連携のエラー（2件）" in text
    assert "住民票コードの払出し" in text and "送付先情報" in text and "M-1" in text
    assert "本人確認情報との不一致（突合）" in text and "送付先住所 漢字" in text
    with j.cs.transaction() as store:
        store_errors, _ = jlis_tables.of(store).errors(10)
    assert {e.code for e in store_errors} == {"format_error", "mismatch"}


def test_a_stock_above_its_threshold_is_shown_without_a_warning(j, cs, client, template):
    jlis.run(_setup(j, cs, threshold=1), FakeJlis())
    sign_in(client, j, template, "cs_operator")
    text = client.get("/ui/cs").text
    assert "住民票コードの在庫（未使用）" in text and "下限を下回っています" not in text
    assert "J-LISとの連携のエラーはありません" in text


def test_only_the_cs_operator_sees_it(j, cs, client, template):
    sign_in(client, j, template, "clerk")
    page = client.get("/ui/cs")
    assert page.status_code == 403 and "住民票コードの在庫（未使用）" not in page.text
