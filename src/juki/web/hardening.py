"""Security headers on every answer (issue 3 §8): no framing, no sniffing, no caching of personal data, a strict
content security policy for our own pages, HSTS when served over TLS."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from fastapi import FastAPI, Request, Response

# Our pages load scripts and styles from this server only (htmx is vendored); nothing inline.
STRICT_CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "font-src 'self'; connect-src 'self'; frame-ancestors 'none'; form-action 'self'; base-uri 'none'"
)
# FastAPI's /docs page loads Swagger UI from its CDN and starts it with an inline script.
DOCS_CSP = (
    "default-src 'self'; script-src 'self' 'unsafe-inline' https://cdn.jsdelivr.net; "
    "style-src 'self' https://cdn.jsdelivr.net; img-src 'self' data: https://fastapi.tiangolo.com; "
    "frame-ancestors 'none'"
)
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
    h.setdefault("Content-Security-Policy", DOCS_CSP if request.url.path == "/docs" else STRICT_CSP)
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
