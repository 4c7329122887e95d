"""The clerk UI's certificate hand-over in the database (`ui_certificate_handovers`) and its session key on disk:
two worker processes of one installation — two apps over the same database and key directory — serve one clerk's
confirmation, 発行 and PDF between them; a confirmation issues once; the PDF is kept sealed, given once, and
dropped after ten minutes."""

from __future__ import annotations

import stat
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from juki.adapters import tables as t
from juki.adapters.handover_store import SqlHandovers
from juki.adapters.ui_key import load_or_create_ui_key, ui_key_file
from juki.bootstrap import Juki, build
from juki.services import filings
from juki.services.certificate_office import Issued
from juki.web.app import create_app
from tests import factories as f
from tests.e2e.role_cases.common import CLERK
from tests.ui.test_certificates_pages import _form_values, _issuances, _post
from tests.ui.test_session import sign_in

PDF = b"%PDF-1.7 a certificate"


def _issued(number: str) -> Issued:
    return Issued(
        issuance_number=number,
        issuance_numbers=(number,),
        pdf=PDF,
        sha256="0" * 64,
        kind="residence_certificate",
        pages=1,
        fee=300,
        my_number_printed=False,
        issued_at=datetime(2025, 6, 30, 1, 2, 3, tzinfo=UTC),
        items=("name",),
        warnings=(),
    )


@pytest.fixture
def client(j: Juki) -> Iterator[TestClient]:
    with TestClient(create_app(j), follow_redirects=False) as c:
        yield c


@pytest.fixture
def family(j: Juki) -> list[str]:
    result = filings.file(j.uow, CLERK, "move-in", f.move_in(f.family_of_four()))
    return [c["addressee_number"] for c in result.changes]


@pytest.fixture
def other(j: Juki) -> Iterator[Juki]:
    """A second worker process of the same installation: its own engine and app, the same database and key files."""
    juki = build(j.settings.database_url, run_migrations=False, today=j.today)
    yield juki
    juki.engine.dispose()


def test_two_workers_share_the_session_cookie_and_the_hand_over(client, other, totp, j, family):
    csrf = sign_in(client, totp)
    values = _form_values(client.get(f"/ui/certificates/new?addressee_number={family[0]}").text)
    values.update({"requester.name": "山田 太郎", "purpose": "年金の手続のため"})
    confirm = _post(client, "/ui/certificates/confirm", csrf, values)
    assert confirm.status_code == 200, confirm.text
    confirmed = _form_values(confirm.text)
    with TestClient(create_app(other), follow_redirects=False) as second:
        second.cookies = client.cookies  # the same browser, its requests balanced onto another worker
        issued = _post(client, "/ui/certificates", csrf, confirmed)
        assert issued.status_code == 303, issued.text
        where = issued.headers["location"]
        again = _post(second, "/ui/certificates", csrf, confirmed)  # 発行 pressed again, served by the other
        assert again.status_code == 303 and again.headers["location"] == where
        assert second.get(where).status_code == 200
        pdf = second.get(f"{where}/pdf")
        assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF")
        assert client.get(f"{where}/pdf").status_code == 410  # once, whichever worker gave it
    assert len(_issuances(j)) == 1


def test_the_pdf_waits_sealed_and_goes_with_its_one_fetch(j):
    store = SqlHandovers(j.engine, j.ui_key.handover)
    token = store.begin("clerk1")
    assert store.claim(token, "clerk1") == ("go", None)
    store.issued(token, _issued("20250630-000001"), {"copies": 1})
    with j.engine.connect() as conn:
        sealed = conn.execute(select(t.ui_certificate_handovers.c.pdf_sealed)).scalar_one()
    assert sealed and b"%PDF" not in sealed
    assert store.take("20250630-000001", "clerk2") is None  # not the staff member who issued it
    shown = store.get("20250630-000001", "clerk1")
    assert shown is not None and shown.issued.pdf == PDF and not shown.fetched
    taken = store.take("20250630-000001", "clerk1")
    assert taken is not None and taken.pdf == PDF and taken.fee == 300
    assert store.take("20250630-000001", "clerk1") is None
    with j.engine.connect() as conn:
        assert conn.execute(select(t.ui_certificate_handovers.c.pdf_sealed)).scalar_one() is None
    after = store.get("20250630-000001", "clerk1")
    assert after is not None and after.fetched and after.issued.pdf == b""
    assert (
        SqlHandovers(j.engine, bytes(32)).get("20250630-000001", "clerk1") is not None
    )  # facts are not sealed


def test_a_pdf_sealed_under_another_ui_key_is_not_given(j):
    store = SqlHandovers(j.engine, j.ui_key.handover)
    token = store.begin("clerk1")
    store.claim(token, "clerk1")
    store.issued(token, _issued("20250630-000003"), {"copies": 1})
    other = SqlHandovers(j.engine, bytes(32))  # the key file replaced: the waiting PDF cannot be opened
    shown = other.get("20250630-000003", "clerk1")
    assert shown is not None and shown.issued.pdf == b""
    assert other.take("20250630-000003", "clerk1") is None


def test_the_pdf_goes_after_ten_minutes_and_the_facts_after_half_an_hour(j):
    now = [datetime(2025, 6, 30, 1, 0, tzinfo=UTC)]
    store = SqlHandovers(j.engine, j.ui_key.handover, clock=lambda: now[0])
    token = store.begin("clerk1")
    store.claim(token, "clerk1")
    store.issued(token, _issued("20250630-000002"), {"copies": 1})
    now[0] += timedelta(minutes=11)
    assert store.take("20250630-000002", "clerk1") is None
    shown = store.get("20250630-000002", "clerk1")
    assert shown is not None and shown.issued.pdf == b"" and not shown.fetched
    now[0] += timedelta(minutes=20)
    assert store.get("20250630-000002", "clerk1") is None
    with j.engine.connect() as conn:
        assert conn.execute(select(t.ui_certificate_handovers)).all() == []


def test_a_confirmation_issues_once_even_when_pressed_twice_at_the_same_time(j):
    store = SqlHandovers(j.engine, j.ui_key.handover)
    token = store.begin("clerk1")
    assert store.claim(token, "clerk2") == ("unknown", None)  # another's confirmation
    assert store.claim(token, "clerk1") == ("go", None)
    answers: list[tuple[str, str | None]] = []
    second = threading.Thread(target=lambda: answers.append(store.claim(token, "clerk1")))
    second.start()
    second.join(0.1)
    assert second.is_alive() and answers == []  # waits for the first
    store.issued(token, _issued("20250630-000001"), {"copies": 1})
    second.join(5)
    assert answers == [("done", "20250630-000001")]
    refused = store.begin("clerk1")
    assert store.claim(refused, "clerk1") == ("go", None)
    store.refused(refused)  # refused by the service: a new confirmation is needed
    assert store.claim(refused, "clerk1") == ("unknown", None)


def test_a_second_press_stops_waiting_for_a_first_that_does_not_finish(j):
    store = SqlHandovers(j.engine, j.ui_key.handover, wait_seconds=0.2)
    token = store.begin("clerk1")
    assert store.claim(token, "clerk1") == ("go", None)
    assert store.claim(token, "clerk1") == ("busy", None)


def test_the_ui_key_file_is_made_once_readable_by_its_owner_only(tmp_path: Path):
    path = ui_key_file(tmp_path / "juki-keys.json")
    first = load_or_create_ui_key(path)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert load_or_create_ui_key(path) == first
    assert first.session != first.handover  # one key per purpose
    assert load_or_create_ui_key(tmp_path / "elsewhere" / "juki-ui.key").session != first.session
