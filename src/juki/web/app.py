"""The FastAPI application factory."""

from __future__ import annotations

from fastapi import FastAPI
from fastapi.responses import RedirectResponse

from juki.bootstrap import Juki
from juki.web import api, errors


def create_app(j: Juki) -> FastAPI:
    app = FastAPI(
        title="juki 住民基本台帳システム",
        version="1.0",
        openapi_url="/openapi.json",
        docs_url="/docs",
        redoc_url=None,
    )
    app.state.juki = j
    errors.install(app)
    app.include_router(api.router)

    @app.get("/", include_in_schema=False)
    def home() -> RedirectResponse:
        # The clerk UI (issue 4) will live here; until then the API's documentation is the front page.
        return RedirectResponse("/docs")

    @app.get("/healthz", tags=["ops"])
    def healthz() -> dict[str, str]:
        return {"status": "ok"}

    return app
