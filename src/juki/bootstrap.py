"""Composition root: wires the adapters into the services. Nothing is built at import time."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import date
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy import Engine

from juki.adapters import notice_pdf, pki
from juki.adapters.certificate_store import certificate_office
from juki.adapters.db import make_engine, migrate
from juki.adapters.event_key import EventKey, load_or_create_event_key
from juki.adapters.handover_store import SqlHandovers
from juki.adapters.ui_key import UiKey, load_or_create_ui_key, ui_key_file
from juki.adapters.uow import SqlUnitOfWork
from juki.adapters.vault import MyNumberVault, key_file_for, load_or_create
from juki.config import Settings, load_settings
from juki.domain.number_notices import CodeNotice
from juki.services.auth import use_password_hashing
from juki.services.certificates import CertificateOffice
from juki.services.kiosk_desk import KioskDesk
from juki.services.unit_of_work import UnitOfWork

if TYPE_CHECKING:
    from juki.cs.adapters.cities_client import HttpsCitiesClient
    from juki.cs.adapters.cs_db import CsDatabase
    from juki.cs.adapters.jlis_client import HttpsJlisClient
    from juki.cs.adapters.prefecture_client import HttpsPrefectureClient
    from juki.cs.adapters.transfer_store import CsMoveOutCertificates
    from juki.cs.services.delivery import Backoff
    from juki.cs.services.jlis import MailingPort, Setup
    from juki.cs.services.link_codes import CsLinkCodeRequester
    from juki.cs.services.relay import Relay
    from juki.cs.services.transfers import MoveIn
    from juki.intermediate.adapters.ims_db import ImsDatabase
    from juki.intermediate.services.relay import Relay as IntermediateRelay
    from juki.services.my_usage import ProvisionRecords
    from juki.services.numbers import OnAssigned


@dataclass
class Juki:
    settings: Settings
    engine: Engine
    vault: MyNumberVault
    event_key: EventKey  # seals the My Number in register events (docs/events.md)
    ui_key: UiKey  # the clerk UI's cookie and hand-over, the same for every worker process
    today: date | None = None  # fixed "today" for tests; None means the real date in Japan
    migrate_cs: bool = (
        True  # the CS's schema is brought up to date when it is opened, as build did the register's
    )

    def uow(self) -> UnitOfWork:
        return SqlUnitOfWork(self.engine, self.vault, today=self.today, event_key=self.event_key)

    @cached_property
    def certificate_office(self) -> CertificateOffice:
        """Rendering and issuance records for the certificate service (fonts load on the first render)."""
        return certificate_office(self.settings.public_base_url)

    def render_code_notice(self, notice: CodeNotice) -> bytes:
        """The 住民票コード通知票 as PDF, in the certificates' fonts (adapters/notice_pdf.py)."""
        return notice_pdf.render_code_notice(notice)

    @cached_property
    def kiosk_desk(self) -> KioskDesk:
        """コンビニ交付's desk: the trust anchors (read from the kiosk PKI folder on first use), the service hours
        and the certificate office."""
        return pki.kiosk_desk(self.settings, self.certificate_office)

    @cached_property
    def certificate_handovers(self) -> SqlHandovers:
        """The clerk UI's 発行 once per confirmation and its PDF once (web/ui/certificate_pages.py)."""
        return SqlHandovers(self.engine, self.ui_key.handover)

    @cached_property
    def cs(self) -> CsDatabase:
        """The city's CS (市町村CS, docs/cs.md): its own database (JUKI_CS_DATABASE_URL, else beside the
        register's) and key file (JUKI_CS_KEY_FILE), opened on first use."""
        from juki.cs.adapters.cs_db import open_cs

        s = self.settings
        return open_cs(s.database_url, s.cs_database_url, s.cs_key_file, migrate=self.migrate_cs)

    @cached_property
    def intermediate(self) -> ImsDatabase:
        """The city's 中間サーバー and 団体内統合宛名 function (docs/intermediate-server.md): its own database
        (JUKI_IMS_DATABASE_URL, else beside the register's) and key file (JUKI_IMS_KEY_FILE), opened on first use."""
        from juki.intermediate.adapters.ims_db import open_intermediate

        s = self.settings
        return open_intermediate(s.database_url, s.ims_database_url, s.ims_key_file, migrate=self.migrate_cs)

    @cached_property
    def provision_records(self) -> ProvisionRecords:
        """The 中間サーバー's 情報提供等記録 as a resident's own history reads it (docs/my-usage.md)."""
        from juki.intermediate.services.provision_log import Records

        return Records(self.intermediate)

    @cached_property
    def link_code_requester(self) -> CsLinkCodeRequester:
        """符号取得 through the 住基ネット: the 団体内統合宛名 function hands the CS a serial and the 個人番号; the CS's
        relay sends them to J-LIS (cs/services/link_codes.py)."""
        from juki.cs.adapters import link_code_tables
        from juki.cs.services.link_codes import CsLinkCodeRequester

        return CsLinkCodeRequester(self.cs.transaction, self.settings.city_code, link_code_tables.of)

    def intermediate_relay(self) -> IntermediateRelay:
        """The 中間サーバー's passes (intermediate/services/relay.py): the register's changes in, 符号 asked through the
        CS, the network's inbox read and answered. Without JUKI_INFO_NETWORK_CONFIG only the intake runs."""
        from juki.intermediate.adapters.network_client import network_client
        from juki.intermediate.services.relay import Relay

        config = self.settings.info_network_config
        network = network_client(Path(config)) if config else None
        requester = self.link_code_requester if config else None
        return Relay(self.uow, self.intermediate.transaction, self.event_key, self.settings.city_code, network,
                     requester)  # fmt: skip

    def prefecture_client(self) -> HttpsPrefectureClient | None:
        """The CS's mutual-TLS client of the prefecture server named by JUKI_NET_CONFIG (a juki-net.json);
        None when no link is configured. httpx's own INFO lines are silenced: their URLs name a 住民票コード."""
        from juki.cs.adapters.prefecture_client import client_from_config

        if not self.settings.juki_net_config:
            return None
        logging.getLogger("httpx").setLevel(logging.WARNING)
        return client_from_config(Path(self.settings.juki_net_config))

    @cached_property
    def moveout_certificates(self) -> CsMoveOutCertificates:
        """The 転出証明書情報 other cities sent the CS, for the register's 特例転入 (住基法24条の2; the port
        services.ports.MoveOutCertificates, docs/cs-transfers.md)."""
        from juki.cs.adapters.transfer_store import CsMoveOutCertificates

        return CsMoveOutCertificates(self.cs)

    def cs_relay(self, backoff: Backoff | None = None) -> Relay:
        """The CS's intake and delivery to the prefecture server of `prefecture_client` (none configured: the
        notices stay queued), and its telegrams with the other cities over the same link (docs/cs-transfers.md).
        J-LIS too, over the same link: the 住民票コード stock, the 個人番号 requests and answers, the 送付先情報
        (docs/cs-jlis.md). The register's own work never calls it: the counter does not wait for the 住基ネット."""
        from juki.cs.adapters import media_tables, transfer_store
        from juki.cs.services.relay import Relay

        linked = bool(self.settings.juki_net_config)
        connect = self._connect_prefecture if linked else None
        cities = self._connect_cities if linked else None
        jlis = self._connect_jlis if linked else None
        return Relay(self.uow, self.cs.transaction, self.event_key, self.settings.city_code, connect,
                     backoff=backoff, compare_hour=self.settings.cs_compare_hour, transfers_of=transfer_store.of,
                     connect_cities=cities, confirm=self._confirm_move_out, media_of=media_tables.of,
                     numbers=self._numbers(backoff), connect_jlis=jlis)  # fmt: skip

    def _numbers(self, backoff: Backoff | None) -> Setup:
        """The CS's part of the numbers from J-LIS (cs/services/jlis.py), with the register's 送付先情報 hook."""
        from juki.cs.adapters import jlis_tables, link_code_tables
        from juki.cs.services.delivery import Backoff
        from juki.cs.services.jlis import Setup

        s = self.settings
        mailing, on_assigned = self._mailing()
        return Setup(self.uow, self.cs.transaction, jlis_tables.of, s.city_code, s.resident_code_stock_threshold,
                     s.resident_code_block_size, mailing, on_assigned, backoff or Backoff(),
                     link_codes_of=link_code_tables.of)  # fmt: skip

    def _mailing(self) -> tuple[MailingPort, OnAssigned]:
        """The register's 送付先情報 (services/mailing.py: `ready`, `delivered`, `refused`) and the hook
        `numbers.assign` runs in its transaction to build the record (`on_assigned`)."""
        from juki.services import mailing

        return mailing, mailing.on_assigned(self.settings)

    def _connect_jlis(self) -> HttpsJlisClient:
        from juki.cs.adapters.jlis_client import HttpsJlisClient

        return HttpsJlisClient(self._connect_prefecture())

    def _connect_cities(self) -> HttpsCitiesClient:
        from juki.cs.adapters.cities_client import HttpsCitiesClient

        return HttpsCitiesClient(self._connect_prefecture())

    def _confirm_move_out(self, move_in: MoveIn) -> str:
        """A 転入通知 from another city into the register, as the CS itself (標準仕様書 j690)."""
        from juki.policy.roles import CS_SYSTEM
        from juki.services import card_moves

        notice = card_moves.MoveInNotice(move_in.resident_code, move_in.moved_in_on, move_in.destination_address,
                                         move_in.destination_city_code, move_in.notified_on)  # fmt: skip
        return card_moves.confirm_move_out(self.uow, CS_SYSTEM, notice)

    def _connect_prefecture(self) -> HttpsPrefectureClient:
        client = self.prefecture_client()
        if client is None:
            raise RuntimeError("JUKI_NET_CONFIG is not set")
        return client


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
    return Juki(cfg, engine, vault, event_key, ui_key, today, migrate_cs=run_migrations)
