"""Helpers for the simulated 情報提供ネットワークシステム's tests (test_sim_info_network_*.py, test_network_*.py): the
network in a thread with its `info-network.json`, the callers' TLS clients, and a fake city that reads its inbox
with the real client and answers as it is told."""

from __future__ import annotations

import json
import random
import ssl
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from juki.domain.identifiers import generate_resident_code
from juki.intermediate.adapters.network_client import HttpNetworkClient
from juki.intermediate.wire import LinkCodeIssued, MalformedMessage, NetworkUnreachable, Query, QueryAnswer
from juki.sim.info_network import Running, start_in_thread

CITY = "132110"
REQUESTER = "全国健康保険協会"
BASIS = "番号法別表第2 第3項"


def resident_code(seed: int = 1) -> str:
    return generate_resident_code(random.Random(seed))


def write_config(folder: Path, running: Running, pki: str = "info-network") -> Path:
    path = folder / "info-network.json"
    path.write_text(json.dumps({"url": running.url, "pki": pki}), encoding="utf-8")
    return path


def start(folder: Path, *, answer_timeout: float = 3.0) -> Running:
    return start_in_thread(folder / "info-network", answer_timeout=answer_timeout)


def tls(folder: Path, stem: str | None, *, ca: Path | None = None) -> ssl.SSLContext:
    """Trust `ca` (the network's by default), present `<stem>.pem` from `folder` (None: no certificate)."""
    context = ssl.create_default_context(cafile=str(ca or folder / "ca.pem"))
    if stem is not None:
        context.load_cert_chain(str(folder / f"{stem}.pem"), str(folder / f"{stem}.key"))
    return context


def caller(running: Running, folder: Path, stem: str | None) -> httpx.Client:
    return httpx.Client(base_url=running.url, verify=tls(folder, stem), timeout=10.0)


@dataclass
class FakeCity:
    """The city's 中間サーバー reduced to its loop: reads the inbox (long poll) with `HttpNetworkClient`, keeps the
    符号 it receives by serial, and answers each 照会 with `respond(query)` (None: does not answer)."""

    config: Path
    respond: Callable[[Query], QueryAnswer | None]
    city_code: str = CITY
    link_codes: dict[str, str] = field(default_factory=dict)
    queries: list[Query] = field(default_factory=list)
    malformed: list[MalformedMessage] = field(default_factory=list)
    _stop: threading.Event = field(default_factory=threading.Event)
    _thread: threading.Thread | None = None

    def __enter__(self) -> FakeCity:
        self._thread = threading.Thread(target=self._run, name="fake-city", daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(10)

    def _run(self) -> None:
        cursor = 0
        with HttpNetworkClient.from_config(self.config) as client:
            while not self._stop.is_set():
                try:
                    messages = client.inbox(self.city_code, cursor, wait=0.5)
                except NetworkUnreachable:
                    self._stop.wait(0.1)
                    continue
                for message in messages:
                    self._handle(client, message)
                    cursor = message.seq

    def _handle(self, client: HttpNetworkClient, message: LinkCodeIssued | Query | MalformedMessage) -> None:
        if isinstance(message, LinkCodeIssued):
            self.link_codes[message.serial] = message.link_code
        elif isinstance(message, Query):
            self.queries.append(message)
            answer = self.respond(message)
            if answer is not None:
                client.answer(answer)
        else:
            self.malformed.append(message)
