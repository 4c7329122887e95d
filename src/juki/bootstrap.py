"""Composition root: wires the adapters into the services. Nothing is built at import time."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from functools import cached_property

from sqlalchemy import Engine

from juki.adapters import pki
from juki.adapters.certificate_store import certificate_office
from juki.adapters.db import make_engine, migrate
from juki.adapters.event_key import EventKey, load_or_create_event_key
from juki.adapters.handover_store import SqlHandovers
from juki.adapters.ui_key import UiKey, load_or_create_ui_key, ui_key_file
from juki.adapters.uow import SqlUnitOfWork
from juki.adapters.vault import MyNumberVault, key_file_for, load_or_create
from juki.config import Settings, load_settings
from juki.services.auth import use_password_hashing
from juki.services.certificates import CertificateOffice
from juki.services.kiosk_desk import KioskDesk
from juki.services.unit_of_work import UnitOfWork


@dataclass
class Juki:
    settings: Settings
    engine: Engine
    vault: MyNumberVault
    event_key: EventKey  # seals the My Number in register events (docs/events.md)
    ui_key: UiKey  # the clerk UI's cookie and hand-over, the same for every worker process
    today: date | None = None  # fixed "today" for tests; None means the real date in Japan

    def uow(self) -> UnitOfWork:
        return SqlUnitOfWork(self.engine, self.vault, today=self.today, event_key=self.event_key)

    @cached_property
    def certificate_office(self) -> CertificateOffice:
        """Rendering and issuance records for the certificate service (fonts load on the first render)."""
        return certificate_office(self.settings.public_base_url)

    @cached_property
    def kiosk_desk(self) -> KioskDesk:
        """コンビニ交付's desk: the trust anchors (read from the kiosk PKI folder on first use), the service hours
        and the certificate office."""
        return pki.kiosk_desk(self.settings, self.certificate_office)

    @cached_property
    def certificate_handovers(self) -> SqlHandovers:
        """The clerk UI's 発行 once per confirmation and its PDF once (web/ui/certificate_pages.py)."""
        return SqlHandovers(self.engine, self.ui_key.handover)


def build(
    database_url: str | None = None,
    *,
    run_migrations: bool = True,
    today: date | None = None,
    **settings: object,
) -> Juki:
    cfg = load_settings(database_url=database_url, **settings)
    use_password_hashing(
        cfg.password_hash_time_cost, cfg.password_hash_memory_kib, cfg.password_hash_parallelism
    )
    key_file = key_file_for(cfg.database_url, cfg.key_file)
    vault = load_or_create(key_file)  # a new installation gets its keys
    event_key = load_or_create_event_key(key_file)
    ui_key = load_or_create_ui_key(ui_key_file(key_file))
    if run_migrations:
        migrate(cfg.database_url, vault)
    engine = make_engine(cfg.database_url, cfg.sqlite_busy_timeout_seconds)
    return Juki(cfg, engine, vault, event_key, ui_key, today)
