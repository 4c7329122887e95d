"""The API's reference pages render in a browser that cannot reach the internet: every request that would leave
this machine is aborted and recorded, and none may be attempted."""

from __future__ import annotations

from urllib.parse import urlsplit

from tests.ui.conftest import csp_violations

LOCAL = {"127.0.0.1", "localhost", "::1"}


def _offline(page) -> list[str]:  # type: ignore[no-untyped-def]
    """Abort every request to another host; return the list they are recorded in."""
    attempted: list[str] = []

    def route(r) -> None:  # type: ignore[no-untyped-def]
        url = r.request.url
        if urlsplit(url).scheme in ("http", "https", "ws", "wss") and urlsplit(url).hostname not in LOCAL:
            attempted.append(url)
            r.abort()
        else:
            r.continue_()

    page.context.route("**/*", route)
    return attempted


def _listed(page) -> set[str]:  # type: ignore[no-untyped-def]
    """Every operation the page lists. Swagger UI renders a long list virtually (only what is near the viewport is
    in the page), so the page is scrolled to its end and what passes by is collected."""
    seen: set[str] = set()
    for _ in range(400):
        seen |= set(page.eval_on_selector_all(".opblock", "els => els.map(e => e.id)"))
        at_end = page.evaluate("window.innerHeight + window.scrollY >= document.body.scrollHeight - 2")
        if at_end:
            break
        page.mouse.wheel(0, 600)
        page.wait_for_timeout(20)
    return seen


def test_swagger_ui_lists_the_operations_offline(new_page, live, shot):
    page = new_page()
    attempted = _offline(page)
    page.goto(live.url + "/docs")
    page.locator(".opblock").first.wait_for()
    assert page.get_by_text("/api/v1/auth/login", exact=True).count() >= 1
    page.wait_for_load_state("networkidle")
    shot(page, "docs")
    spec = page.request.get(live.url + "/openapi.json").json()
    operations = {
        f"operations-{op['tags'][0].replace(' ', '_')}-{op['operationId']}"
        for ops in spec["paths"].values()
        for op in ops.values()
    }
    assert _listed(page) >= operations  # every operation of /openapi.json is listed
    assert attempted == []
    assert csp_violations(page) == []


def test_redoc_lists_the_operations_offline(new_page, live, shot):
    page = new_page()
    attempted = _offline(page)
    page.goto(live.url + "/redoc")
    page.locator("h1").filter(has_text="juki").first.wait_for()
    page.get_by_text("/api/v1/filings/move-in").first.wait_for(state="attached")
    page.wait_for_load_state("networkidle")
    shot(page, "redoc")
    assert attempted == []
    # ReDoc's menu footer shows Redocly's logo from their CDN; the policy refuses it before any request is made,
    # and ReDoc drops the image when it fails to load. Nothing else may be refused.
    refused = csp_violations(page)
    assert all("https://cdn.redoc.ly/redoc/logo-mini.svg" in m and "img-src" in m for m in refused), refused
