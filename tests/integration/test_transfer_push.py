"""Push over NATS JetStream, on both engines: each system's changes on its own subject, in order, acknowledged;
a publisher that dies before its cursor, or a broker that goes away and comes back, loses nothing and sends
nothing twice. Each test has a stream and subjects of its own (deleted after it).

The broker is the machine's (127.0.0.1:4222, JetStream); the restart test starts a broker of its own (the
nats-server binary) so that it can stop it. Without a broker these tests are skipped, unless JUKI_REQUIRE_NATS is
set (CI sets it): then a missing broker fails them."""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import socket
import subprocess
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from juki.policy.roles import Actor
from juki.services import filings, transfer_feed
from juki.transfer_delivery import push
from juki.transfer_delivery.feed import RegisterFeed, cursor_name
from juki.transfer_delivery.sealed import load_or_create_key
from tests import factories as f
from tests.integration.test_transfer_files import _deliveries

CLERK = Actor("clerk1", "窓口 一郎", "clerk", "test")
NATS_URL = os.environ.get("JUKI_TEST_NATS_URL", "nats://127.0.0.1:4222")


def _unavailable(message: str) -> None:
    if os.environ.get("JUKI_REQUIRE_NATS"):
        pytest.fail(message)
    pytest.skip(message)


def _answers(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=1) as s:
            return s.recv(4).startswith(b"INFO")
    except OSError:
        return False


@pytest.fixture(scope="module")
def broker() -> str:
    host, port = NATS_URL.removeprefix("nats://").rsplit(":", 1)
    if not _answers(host, int(port)):
        _unavailable(f"no NATS server answers at {NATS_URL} (apt-get install nats-server; .ci/run starts it)")
    return NATS_URL


@pytest.fixture
def settings(broker, tmp_path) -> Iterator[push.PushSettings]:
    tag = uuid.uuid4().hex[:10]
    chosen = push.PushSettings(
        broker, tmp_path / "keys", stream=f"JUKI_TRANSFER_T{tag}", subject_prefix=f"juki.test{tag}",
        ack_timeout_seconds=2, retry_seconds=(0.2,), interval_seconds=0.2,
    )  # fmt: skip
    yield chosen
    asyncio.run(_delete_stream(chosen))


async def _delete_stream(settings: push.PushSettings) -> None:
    import nats
    from nats.js.errors import NotFoundError

    nc = await nats.connect(settings.url, connect_timeout=2, max_reconnect_attempts=0)
    try:
        await nc.jetstream().delete_stream(settings.stream)
    except NotFoundError:
        pass
    finally:
        await nc.close()


PLAIN, SEALED = "senkyo", "gakumu"  # 選挙管理委員会 (no 個人番号), 学務課 (with it)


@pytest.fixture
def feed(j):
    return RegisterFeed(j.uow)


@pytest.fixture
def targets(feed):
    return [feed.target(PLAIN), feed.target(SEALED)]


def _move_in(j, family_name: str) -> list[str]:
    persons = [f.person(family_name=family_name), f.person("妻", family_name=family_name, given_name="花子",
                                                          given_name_kana="ハナコ", sex="female")]  # fmt: skip
    done = filings.file(j.uow, CLERK, "move-in", f.move_in(persons))
    return [c["addressee_number"] for c in done.changes]


async def _publish_once(feed, settings, targets) -> int:
    publisher = push.Publisher(feed, settings, targets)
    try:
        return await publisher.publish_once()
    finally:
        await publisher.close()


async def _consume(settings: push.PushSettings, system_id: str, durable: str) -> list[tuple[dict, object]]:
    """What a department's durable consumer receives on its subject, each message acknowledged; (headers, body)."""
    import nats

    nc = await nats.connect(settings.url, connect_timeout=2, max_reconnect_attempts=0)
    try:
        js = nc.jetstream()
        sub = await js.pull_subscribe(push.subject_of(settings, system_id), durable, stream=settings.stream)
        received = []
        while True:
            try:
                batch = await sub.fetch(50, timeout=0.5)
            except TimeoutError:  # nats' own and asyncio's (both): nothing more to fetch
                break
            for msg in batch:
                received.append((dict(msg.headers or {}), msg.data))
                await msg.ack_sync()
        info = await js.consumer_info(settings.stream, durable)
        assert info.num_ack_pending == 0 and info.num_pending == 0  # every message delivered and acknowledged
        return received
    finally:
        await nc.close()


def _changes(j, system_id: str) -> list[dict]:
    return transfer_feed.changes_for(j.uow, system_id, 0, 1000, include_my_number=system_id == SEALED).changes


def _bodies(received, settings, system_id: str, sealed: bool) -> list[dict]:
    bodies = []
    key = load_or_create_key(settings.key_dir, system_id) if sealed else None
    subject = push.subject_of(settings, system_id)
    for headers, data in received:
        assert headers[push.SEALED] == ("1" if sealed else "0")
        if key is not None:
            data = key.open_message(data, subject, headers[push.MSG_ID])
        bodies.append(json.loads(data))
    return bodies


def test_each_system_gets_its_changes_in_order_on_its_own_subject_acknowledged(j, feed, targets, settings):
    families = _move_in(j, "山田") + _move_in(j, "鈴木")
    assert asyncio.run(_publish_once(feed, settings, targets)) == 8  # 4 changes for each of the two systems
    plain = asyncio.run(_consume(settings, PLAIN, "senkyo-system"))
    assert [h[push.MSG_ID] for h, _ in plain] == [f"{PLAIN}:{c['sequence']}" for c in _changes(j, PLAIN)]
    assert _bodies(plain, settings, PLAIN, sealed=False) == _changes(j, PLAIN)  # exactly what the feed gives
    sealed = asyncio.run(_consume(settings, SEALED, "gakumu-system"))
    assert all(
        b"my_number" not in data and "山田".encode() not in data for _, data in sealed
    )  # sealed at rest
    opened = _bodies(sealed, settings, SEALED, sealed=True) == _changes(j, SEALED)
    assert opened  # compared without showing a number
    assert asyncio.run(_publish_once(feed, settings, targets)) == 0  # caught up: nothing again
    assert feed.cursor(cursor_name("push", PLAIN)) == _changes(j, PLAIN)[-1]["sequence"]
    assert _deliveries(j, PLAIN) == _deliveries(j, SEALED) == [("push", sorted(families))]


class Crash(Exception):
    pass


def test_a_publisher_that_dies_before_its_cursor_loses_nothing_and_sends_nothing_twice(
    j, feed, targets, settings
):
    first = _move_in(j, "山田")
    real = feed.delivered

    def dies(*args, **kwargs):
        raise Crash

    feed.delivered = dies  # published, then the process dies before the log and the cursor
    with pytest.raises(Crash):
        asyncio.run(_publish_once(feed, settings, targets))
    assert feed.cursor(cursor_name("push", PLAIN)) == 0
    second = _move_in(j, "鈴木")
    feed.delivered = real
    # the first system: its new changes only (what it had published is recorded, not sent again); the second: all
    assert asyncio.run(_publish_once(feed, settings, targets)) == 2 + 4
    received = asyncio.run(_consume(settings, PLAIN, "senkyo-system"))
    assert [h[push.POSITION] for h, _ in received] == [str(c["sequence"]) for c in _changes(j, PLAIN)]
    assert _deliveries(j, PLAIN) == [("push", sorted(first)), ("push", sorted(second))]  # each logged once


def test_a_message_sent_again_within_the_window_is_dropped_by_the_stream(j, feed, settings):
    _move_in(j, "山田")

    async def twice() -> list[int]:
        publisher = push.Publisher(feed, settings, [])
        try:
            await publisher.connect()
            change = _changes(j, PLAIN)[0]
            target = feed.target(PLAIN)
            return [await publisher._publish(target, change), await publisher._publish(target, change)]
        finally:
            await publisher.close()

    assert asyncio.run(twice()) == [1, 0]
    assert len(asyncio.run(_consume(settings, PLAIN, "senkyo-system"))) == 1


# --- a broker of the test's own, stopped and started again ---------------------------------------------------------


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class OwnBroker:
    def __init__(self, binary: str, store: Path) -> None:
        self.binary, self.store, self.port = binary, store, _free_port()
        self.process: subprocess.Popen[bytes] | None = None
        self.started_once = False

    @property
    def url(self) -> str:
        return f"nats://127.0.0.1:{self.port}"

    def start(self) -> None:
        """Start on the same port (a restart keeps it); the first start tries another free port if one was taken
        meanwhile by something else on the machine."""
        for _ in range(3):
            args = [self.binary, "-a", "127.0.0.1", "-p", str(self.port), "-js", "-sd", str(self.store)]
            self.process = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            deadline = time.monotonic() + 20
            while not _answers("127.0.0.1", self.port):
                if time.monotonic() > deadline or self.process.poll() is not None:
                    break
                time.sleep(0.05)
            else:
                self.started_once = True
                return
            self.stop(kill=True)
            if self.started_once:
                break
            self.port = _free_port()
        pytest.fail(f"the test's nats-server did not start on port {self.port}")

    def stop(self, kill: bool = False) -> None:
        if self.process is not None:
            self.process.kill() if kill else self.process.terminate()
            self.process.wait(timeout=20)
            self.process = None


@pytest.fixture
def own_broker(tmp_path) -> Iterator[OwnBroker]:
    binary = shutil.which("nats-server") or (
        "/usr/sbin/nats-server" if Path("/usr/sbin/nats-server").exists() else None
    )
    if binary is None:
        _unavailable("the nats-server binary is not installed (apt-get install nats-server)")
    server = OwnBroker(str(binary), tmp_path / "jetstream")
    server.start()
    yield server
    server.stop(kill=True)


def test_a_broker_outage_is_waited_out_and_loses_nothing(j, feed, own_broker, tmp_path):
    settings = push.PushSettings(
        own_broker.url, tmp_path / "keys", ack_timeout_seconds=1, retry_seconds=(0.2,), interval_seconds=0.1
    )
    publisher = push.Publisher(feed, settings, [feed.target(PLAIN)])

    async def scenario() -> None:
        stop = asyncio.Event()
        running = asyncio.create_task(publisher.run(stop))
        _move_in(j, "山田")
        await _until(lambda: feed.cursor(cursor_name("push", PLAIN)) == _changes(j, PLAIN)[-1]["sequence"])
        own_broker.stop()
        await asyncio.to_thread(_move_in, j, "鈴木")  # committed while the broker is away
        await asyncio.to_thread(_move_in, j, "佐藤")
        own_broker.start()  # the same store: the stream and its messages come back
        await _until(lambda: feed.cursor(cursor_name("push", PLAIN)) == _changes(j, PLAIN)[-1]["sequence"])
        stop.set()
        await running

    asyncio.run(scenario())
    received = asyncio.run(_consume(settings, PLAIN, "senkyo-system"))
    assert [h[push.POSITION] for h, _ in received] == [str(c["sequence"]) for c in _changes(j, PLAIN)]
    asyncio.run(_delete_stream(settings))


async def _until(condition, seconds: float = 30) -> None:
    deadline = time.monotonic() + seconds
    while not await asyncio.to_thread(condition):
        assert time.monotonic() < deadline, "not reached in time"
        await asyncio.sleep(0.05)


def test_the_push_command_publishes_a_pass_and_says_how_many(j, db_url, settings, monkeypatch):
    from typer.testing import CliRunner

    from juki.cli.main import app

    monkeypatch.setenv("JUKI_NATS_STREAM", settings.stream)
    monkeypatch.setenv("JUKI_NATS_SUBJECT_PREFIX", settings.subject_prefix)
    monkeypatch.setenv("JUKI_TRANSFER_KEY_DIR", str(settings.key_dir))
    _move_in(j, "山田")
    args = ["transfer", "push", "--db", db_url, "--nats", settings.url, "--system", PLAIN, "--once"]
    done = CliRunner().invoke(app, args)
    assert done.exit_code == 0 and "2 件を配信しました" in done.output, done.output
    assert len(asyncio.run(_consume(settings, PLAIN, "senkyo-system"))) == 2
