"""Security headers and no stack traces to clients."""

from __future__ import annotations

from juki.web.hardening import HSTS, STRICT_CSP
from tests import factories as f
from tests.e2e.role_cases.common import CLERK


def test_every_answer_carries_the_security_headers(client):
    for path in ("/healthz", "/api/v1/residents/0000000000", "/openapi.json"):
        res = client.get(path)
        assert res.headers["x-frame-options"] == "DENY", path
        assert res.headers["x-content-type-options"] == "nosniff", path
        assert res.headers["referrer-policy"] == "no-referrer", path
        assert res.headers["content-security-policy"] == STRICT_CSP, path
        assert res.headers["cache-control"] == "no-store", path
        assert "strict-transport-security" not in res.headers, path  # plain HTTP: HSTS would be ignored


def test_hsts_is_sent_under_tls(client):
    res = client.get("https://testserver/healthz")
    assert res.headers["strict-transport-security"] == HSTS
    behind_proxy = client.get("/healthz", headers={"X-Forwarded-Proto": "https"})
    assert behind_proxy.headers["strict-transport-security"] == HSTS


def test_an_unexpected_error_shows_no_stack_trace(client, headers, j, monkeypatch):
    from juki.services import filings, register_queries

    household = filings.file(j.uow, CLERK, "move-in", f.move_in([f.person()])).household_number

    def broken(*args, **kwargs):
        raise RuntimeError("secret internals at /srv/juki/src/juki/adapters/queries.py line 42")

    monkeypatch.setattr(register_queries, "get_household", broken)
    res = client.get(f"/api/v1/households/{household}", headers=headers("clerk"))
    assert res.status_code == 500
    assert res.headers["content-type"].startswith("application/problem+json")
    assert "Traceback" not in res.text and "secret internals" not in res.text and "queries.py" not in res.text
    assert res.headers["x-frame-options"] == "DENY"


def test_a_control_character_in_a_url_is_refused_before_any_route_sees_it(client, headers):
    """NUL cannot be stored as text by PostgreSQL: a path or query holding it (or any C0 control) is 422, not 500."""
    for url in (
        "/api/v1/filings/%00",
        "/api/v1/residents?name=%00&birth_date=1980-04-01",
        "/api/v1/work-orders?x=%0a",
    ):
        res = client.get(url, headers=headers("clerk"))
        assert res.status_code == 422, (url, res.text)
        assert res.json()["errors"][0]["code"] == "invalid_field"
        assert res.headers["x-frame-options"]  # still a hardened answer
    page = client.get("/ui/residents/%00")
    assert page.status_code == 404 and "<html" in page.text
