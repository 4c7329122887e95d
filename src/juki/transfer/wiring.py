"""The transfer link's composition (as bootstrap.py is the register's): its desk over the register's unit of work,
with the transfer key file beside the register's key file."""

from __future__ import annotations

from urllib.parse import urljoin

from juki.adapters.transfer_client_store import transfer_key
from juki.bootstrap import Juki
from juki.services.transfer_clients import Desk


def desk_for(j: Juki) -> Desk:
    s = j.settings
    audience = urljoin(s.public_base_url, "oauth/token")  # the URL a client posts to behind the city's proxy
    return Desk(
        j.uow, transfer_key(s), s.transfer_token_ttl_seconds, s.transfer_assertion_max_seconds, (audience,)
    )
