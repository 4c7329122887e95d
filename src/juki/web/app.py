"""The FastAPI application factory."""

from __future__ import annotations

import logging

from fastapi import FastAPI
from fastapi.responses import RedirectResponse
from fastapi.staticfiles import StaticFiles

from juki.bootstrap import Juki
from juki.domain.errors import redact
from juki.web import (
    api,
    api_audit,
    api_certificates,
    api_controls,
    api_kiosk,
    api_kiosk_admin,
    api_subject_requests,
    api_webauthn,
    errors,
    hardening,
    ui,
)


class RedactMyNumbers(logging.Filter):
    """Access-log lines carry the request path and query (`?my_number=` is a look-up): mask any My Number."""

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.args, tuple):
            record.args = tuple(redact(a) if isinstance(a, str) else a for a in record.args)
        record.msg = redact(str(record.msg))
        return True


def create_app(j: Juki) -> FastAPI:
    for name in ("uvicorn.access", "uvicorn.error", "juki.web"):
        logger = logging.getLogger(name)
        if not any(isinstance(f, RedactMyNumbers) for f in logger.filters):
            logger.addFilter(RedactMyNumbers())
    app = FastAPI(
        title="juki 住民基本台帳システム",
        version="1.0",
        openapi_url="/openapi.json",
        docs_url="/docs",
        redoc_url=None,
    )
    app.state.juki = j
    errors.install(app)
    hardening.install(app)
    app.include_router(api.router)
    for module in (api_webauthn, api_audit, api_subject_requests, api_controls):
        app.include_router(module.router)
    app.include_router(api_certificates.router)  # issue 5: certificates and the public /verify
    app.include_router(api_kiosk.router)  # issue 5 §4: コンビニ交付, /kiosk/v1 (kiosk client certificates)
    app.include_router(api_kiosk_admin.router)  # コンビニ交付's registry (/api/v1)
    app.include_router(ui.router)

    app.mount("/static", StaticFiles(packages=[("juki.web", "static")]), name="static")

    @app.get("/", include_in_schema=False)
    def home() -> RedirectResponse:
        # The clerk UI (issue 4): its sign-in page, or the search page for a clerk already signed in.
        return RedirectResponse("/ui/login", status_code=303)

    @app.get("/healthz", tags=["ops"])
    def healthz() -> dict[str, str]:
        return {"status": "ok"}

    return app
