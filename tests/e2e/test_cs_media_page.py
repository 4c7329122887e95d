"""The manual fallback on the CS operator's page over HTTP (標準仕様書 j1090): the page says whether the CS sends by
link or by media and how many notices wait on media for their answers; the switch is a POST with the page's CSRF
token, through cs/services/media.py (both logs); without the token, or by another role, nothing changes."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from juki.bootstrap import Juki
from juki.cs.adapters import media_tables
from juki.cs.adapters.cs_db import CsDatabase
from juki.cs.adapters.media_file import MediaFiles
from juki.cs.services import media
from juki.services import filings
from tests import factories as f
from tests.conftest import Template
from tests.cs.page_support import with_cs
from tests.cs.support import CITY, CLERK, CS_OPERATOR, take_in
from tests.e2e.conftest import served
from tests.e2e.test_cs_pages import BASE, sign_in
from tests.ui.test_webauthn_pages import _csrf


@pytest.fixture
def cs(j: Juki, tmp_path: Path) -> Iterator[CsDatabase]:
    db = with_cs(j, tmp_path)
    yield db
    db.dispose()


@pytest.fixture
def client(j: Juki, cs: CsDatabase) -> Iterator[TestClient]:
    with served(j) as app, TestClient(app, base_url=BASE, follow_redirects=False) as c:
        yield c


def _mode(cs: CsDatabase) -> str:
    return media.status(cs.transaction, media_tables.of).mode.mode


def _sending(text: str) -> str:
    return text.split('id="sending"', 1)[1].split("</section>", 1)[0]


@pytest.fixture
def medium(tmp_path: Path) -> Iterator[Path]:
    folder = tmp_path / "medium"
    yield folder
    for path in sorted(folder.rglob("*"), reverse=True):
        path.unlink() if path.is_file() else path.rmdir()


def test_the_operator_switches_to_media_and_back_and_sees_what_waits_on_media(
    j: Juki, cs: CsDatabase, client: TestClient, template: Template, medium: Path
) -> None:
    sign_in(client, j, template, "cs_operator")
    page = client.get("/ui/cs")
    assert page.status_code == 200 and "回線による送信" in _sending(page.text)
    assert "0件" in _sending(page.text) and "媒体による送信に切り替える" in page.text
    token = _csrf(page.text)
    assert client.post("/ui/cs/media-mode", data={"mode": "media"}).status_code == 403  # no CSRF token
    assert _mode(cs) == "link"
    switched = client.post("/ui/cs/media-mode", data={"mode": "media", "csrf_token": token})
    assert switched.status_code == 303 and _mode(cs) == "media"
    filings.file(j.uow, CLERK, "move-in", f.move_in(f.family_of_four()[:2]))
    take_in(j, cs)
    media.export(j.uow, cs.transaction, media_tables.of, MediaFiles(), CS_OPERATOR, CITY, medium)
    page = client.get(switched.headers["location"])
    shown = _sending(page.text)
    assert "媒体による送信に切り替えました" in page.text and "媒体による送信" in shown and "2件" in shown
    assert "回線による送信に戻す" in shown and "cs1" in shown
    again = client.post("/ui/cs/media-mode", data={"mode": "media", "csrf_token": token})
    assert again.status_code == 422 and "すでに媒体による送信です" in again.text
    back = client.post("/ui/cs/media-mode", data={"mode": "link", "csrf_token": token})
    assert back.status_code == 303 and _mode(cs) == "link"


def test_no_other_role_switches(j: Juki, cs: CsDatabase, client: TestClient, template: Template) -> None:
    sign_in(client, j, template, "clerk")
    token = _csrf(client.get("/ui/cs").text)
    res = client.post("/ui/cs/media-mode", data={"mode": "media", "csrf_token": token})
    assert res.status_code == 403 and _mode(cs) == "link"
