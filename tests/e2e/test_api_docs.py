"""The API's reference pages (/docs: Swagger UI, /redoc: ReDoc) load nothing from outside this server: a city's
network need not reach the internet. The browser's side (the pages render offline) is tests/ui/test_api_docs.py."""

from __future__ import annotations

import base64
import hashlib
import re

import pytest

from juki.web.hardening import STRICT_CSP

# What each page must load, with the content type it must come as.
LOADED = {
    "/docs": {
        "/static/vendor/swagger-ui-bundle.js": "text/javascript",
        "/static/vendor/swagger-ui.css": "text/css",
        "/static/favicon.svg": "image/svg+xml",
        "/openapi.json": "application/json",
    },
    "/redoc": {
        "/static/vendor/redoc.standalone.js": "text/javascript",
        "/static/favicon.svg": "image/svg+xml",
        "/openapi.json": "application/json",
    },
}
_URL = re.compile(r"""(?:src|href|spec-url)=["']([^"']+)["']|url:\s*'([^']+)'""")


def _references(html: str) -> set[str]:
    return {a or b for a, b in _URL.findall(html)}


@pytest.mark.parametrize("page", sorted(LOADED))
def test_a_reference_page_loads_only_this_servers_files_and_they_answer(client, page):
    res = client.get(page)
    assert res.status_code == 200 and res.headers["content-type"].startswith("text/html")
    found = _references(res.text)
    assert found == set(LOADED[page]), found  # nothing else: no CDN, no web fonts
    assert all(url.startswith("/") and not url.startswith("//") for url in found)
    for url, kind in LOADED[page].items():
        loaded = client.get(url)
        assert loaded.status_code == 200, url
        assert loaded.headers["content-type"].startswith(kind), (url, loaded.headers["content-type"])
        assert len(loaded.content) > 100, url


def test_swagger_ui_runs_under_a_policy_that_allows_its_one_inline_script_by_hash_only(client):
    res = client.get("/docs")
    policy = res.headers["content-security-policy"]
    scripts = re.findall(r"<script>(.*?)</script>", res.text, re.DOTALL)
    assert len(scripts) == 1 and "SwaggerUIBundle(" in scripts[0]
    digest = base64.b64encode(hashlib.sha256(scripts[0].encode()).digest()).decode()
    assert f"script-src 'self' 'sha256-{digest}';" in policy
    assert "unsafe-inline" not in policy and "http" not in policy
    assert policy.replace(f" 'sha256-{digest}'", "") == STRICT_CSP


def test_redoc_allows_inline_styles_on_its_own_page_and_nowhere_else(client):
    redoc = client.get("/redoc").headers["content-security-policy"]
    assert (
        "script-src 'self';" in redoc and "style-src 'self' 'unsafe-inline'" in redoc and "http" not in redoc
    )
    for other in ("/docs", "/healthz", "/ui/login", "/openapi.json"):
        assert "unsafe-inline" not in client.get(other).headers["content-security-policy"], other


def test_the_vendored_files_are_the_ones_the_vendor_readme_names(client):
    """The README's table says which release each file is (and its sha256), so that an update is deliberate."""
    from importlib.resources import files

    vendor = files("juki.web") / "static" / "vendor"
    readme = (vendor / "README.md").read_text(encoding="utf-8")
    for name in ("swagger-ui-bundle.js", "swagger-ui.css", "redoc.standalone.js"):
        digest = hashlib.sha256((vendor / name).read_bytes()).hexdigest()
        assert f"`{name}`: `{digest}`" in readme, name
