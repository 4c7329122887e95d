"""The FastAPI application factory."""

from __future__ import annotations

import logging

from fastapi import FastAPI
from fastapi.openapi.docs import get_redoc_html, get_swagger_ui_html
from fastapi.responses import HTMLResponse, RedirectResponse
from fastapi.staticfiles import StaticFiles

from juki.bootstrap import Juki
from juki.domain.errors import redact
from juki.web import (
    api,
    api_audit,
    api_cards,
    api_certificates,
    api_controls,
    api_kiosk,
    api_kiosk_admin,
    api_mailing,
    api_numbers,
    api_subject_requests,
    api_webauthn,
    errors,
    hardening,
    ui,
)
from juki.web.ui import mailing_pages


class RedactMyNumbers(logging.Filter):
    """Access-log lines carry the request path and query as the client wrote them. No endpoint takes a My Number in
    a URL, but a client may still send one, in any spelling: mask it (domain/redaction.py)."""

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
        docs_url=None,  # served below from this server's own copies (static/vendor), not from a CDN
        redoc_url=None,
    )
    app.state.juki = j
    errors.install(app)
    hardening.install(app)
    app.include_router(api.router)
    for module in (api_webauthn, api_audit, api_subject_requests, api_controls, api_numbers):
        app.include_router(module.router)
    app.include_router(api_certificates.router)  # certificates and the public /verify
    app.include_router(api_kiosk.router)  # コンビニ交付, /kiosk/v1 (kiosk client certificates)
    app.include_router(api_kiosk_admin.router)  # コンビニ交付's registry (/api/v1)
    app.include_router(api_cards.router)  # 個人番号カード at the counter: 交付申請, 交付, 本人確認 (/api/v1)
    app.include_router(api_mailing.router)  # 送付先情報 (/api/v1)
    app.include_router(mailing_pages.router)  # 送付先情報's page (/ui/mailing)
    from juki.web import api_intermediate  # the 中間サーバー's staff side (docs/intermediate-server.md)
    from juki.web.ui import intermediate_pages

    for ims_router in (api_intermediate.router, intermediate_pages.router):
        app.include_router(ims_router)
    from juki.web import (  # 庁内連携 (docs/transfer.md), 団体内統合宛名
        api_transfer,
        api_unified_addressees,
        oauth,
    )

    for transfer_router in (oauth.router, api_transfer.router, api_unified_addressees.router):
        app.include_router(transfer_router)
    from juki.web import api_my  # 自己情報 (やりとり履歴, docs/my-usage.md): /my/v1, /api/v1/my, /my
    from juki.web.ui import my_pages

    for my_router in (api_my.my_router, api_my.router, my_pages.router):
        app.include_router(my_router)
    app.include_router(ui.router)

    app.mount("/static", StaticFiles(packages=[("juki.web", "static")]), name="static")

    @app.get("/", include_in_schema=False)
    def home() -> RedirectResponse:
        # The clerk UI: its sign-in page, or the search page for a clerk already signed in.
        return RedirectResponse("/ui/login", status_code=303)

    _install_docs(app)

    @app.get("/healthz", tags=["ops"])
    def healthz() -> dict[str, str]:
        return {"status": "ok"}

    return app


VENDOR = "/static/vendor"


def _install_docs(app: FastAPI) -> None:
    """The API's reference pages, /docs (Swagger UI) and /redoc (ReDoc), with every file they load served from
    this server: a city's network need not reach the internet, and the policy allows nothing else."""
    title = f"{app.title} — API"
    swagger = get_swagger_ui_html(
        openapi_url=str(app.openapi_url),
        title=title,
        swagger_js_url=f"{VENDOR}/swagger-ui-bundle.js",
        swagger_css_url=f"{VENDOR}/swagger-ui.css",
        swagger_favicon_url="/static/favicon.svg",
        oauth2_redirect_url=None,
        swagger_ui_parameters={"validatorUrl": None},  # its default badge asks validator.swagger.io
    )
    redoc = get_redoc_html(
        openapi_url=str(app.openapi_url),
        title=title,
        redoc_js_url=f"{VENDOR}/redoc.standalone.js",
        redoc_favicon_url="/static/favicon.svg",
        with_google_fonts=False,
    )
    pages = {
        "/docs": (swagger.body, hardening.docs_policy(bytes(swagger.body))),
        "/redoc": (redoc.body, hardening.REDOC_CSP),
    }

    def page(path: str) -> HTMLResponse:
        body, policy = pages[path]
        return HTMLResponse(body, headers={"Content-Security-Policy": policy})

    app.get("/docs", include_in_schema=False)(lambda: page("/docs"))
    app.get("/redoc", include_in_schema=False)(lambda: page("/redoc"))
