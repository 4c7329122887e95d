"""Security headers on every answer: no framing, no sniffing, no caching of personal data, a strict
content security policy for our own pages, HSTS when served over TLS."""

from __future__ import annotations

import base64
import hashlib
import re
from collections.abc import Awaitable, Callable

from fastapi import FastAPI, Request, Response

# Our pages load scripts and styles from this server only (htmx is vendored); nothing inline.
STRICT_CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "font-src 'self'; connect-src 'self'; frame-ancestors 'none'; form-action 'self'; base-uri 'none'"
)
# The API reference pages load their vendored files from this server too (web/app.py). Swagger UI (/docs) is
# started by one inline script, allowed by its hash alone (docs_policy). ReDoc (/redoc) writes its styles into
# <style> elements as it renders (styled-components), which no hash can name: inline styles are allowed there,
# and only there; its search index runs in a worker it makes from a blob.
REDOC_CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; "
    "font-src 'self'; connect-src 'self'; worker-src 'self' blob:; frame-ancestors 'none'; "
    "form-action 'self'; base-uri 'none'"
)
_INLINE_SCRIPT = re.compile(rb"<script>(.*?)</script>", re.DOTALL)
HSTS = "max-age=31536000; includeSubDomains"


def install(app: FastAPI) -> None:
    @app.middleware("http")
    async def security_headers(
        request: Request, call_next: Callable[[Request], Awaitable[Response]]
    ) -> Response:
        return apply(request, await call_next(request))


def apply(request: Request, response: Response) -> Response:
    """Add the headers (also called by the 500 handler, which Starlette runs outside every middleware)."""
    h = response.headers
    h.setdefault("Content-Security-Policy", STRICT_CSP)  # a page with its own policy (/docs, /redoc) keeps it
    h["X-Frame-Options"] = "DENY"
    h["X-Content-Type-Options"] = "nosniff"
    h["Referrer-Policy"] = "no-referrer"
    h["Permissions-Policy"] = "camera=(), microphone=(), geolocation=(), payment=()"
    h["Cross-Origin-Opener-Policy"] = "same-origin"
    if not request.url.path.startswith("/static/"):
        h.setdefault("Cache-Control", "no-store")  # records must not linger in a shared PC's cache
    if request.url.scheme == "https" or request.headers.get("x-forwarded-proto") == "https":
        h["Strict-Transport-Security"] = HSTS
    return response


def docs_policy(page: bytes) -> str:
    """STRICT_CSP, with the page's own inline scripts allowed by their SHA-256 (CSP level 2 hash sources)."""
    hashes = " ".join(
        f"'sha256-{base64.b64encode(hashlib.sha256(script).digest()).decode()}'"
        for script in _INLINE_SCRIPT.findall(page)
    )
    return STRICT_CSP.replace("script-src 'self'", f"script-src 'self' {hashes}".rstrip(), 1)
