"""The clerk UI: server-rendered Jinja2 + htmx pages over the same services as the API.

`/ui/…` pages sign in with password and one-time code (the CS operator with a WebAuthn authenticator as well,
`webauthn_pages.py`) into a sealed cookie session (`session.py`), lock after the idle period on the server, check
a CSRF secret on every POST, and call the services — never SQL.
"""

from fastapi import APIRouter

from juki.web.ui import (
    audit_pages,
    auth_pages,
    card_pages,
    certificate_pages,
    certificate_settings_pages,
    cs_pages,
    cs_search_pages,
    cs_transfer_pages,
    filing_pages,
    kiosk_pages,
    number_pages,
    protection_pages,
    register_pages,
    request_pages,
    webauthn_pages,
)

router = APIRouter(include_in_schema=False)
for _pages in (
    auth_pages,
    webauthn_pages,
    register_pages,
    filing_pages,
    certificate_settings_pages,
    certificate_pages,
    kiosk_pages,
    card_pages,
    number_pages,
    protection_pages,
    request_pages,
    audit_pages,
    cs_pages,
    cs_search_pages,
    cs_transfer_pages,
):
    router.include_router(_pages.router)
