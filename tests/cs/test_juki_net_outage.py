"""Outages of the simulated 住基ネット: stopped, the CS's client finds it Unreachable (the notice waits); started
again on the same port over the same folder, what it held survived and delivery resumes in order — and a notice
whose answer was lost (the CS stopped mid-delivery) is sent again and acknowledged, not applied twice."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from juki.cs.adapters.prefecture_client import HttpsPrefectureClient
from juki.cs.wire import Accepted, NoticeKind, Unreachable
from juki.sim.juki_net import Running, restart, start_in_thread
from juki.sim.juki_net.pki import ensure_pki
from tests.cs.juki_net_support import cs_client, free_port, my_number, notice, resident_code

MOVE_IN, MOVE_WITHIN = NoticeKind.MOVE_IN, NoticeKind.MOVE_WITHIN


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    return tmp_path / "juki-net"


@pytest.fixture
def sim(folder: Path) -> Iterator[list[Running]]:
    """The running simulator (the list's one entry, replaced when a test restarts it)."""
    running = [start_in_thread(folder)]
    yield running
    running[0].stop()


def _address(n: int) -> str:
    return f"東京都小平市小川町一丁目{n}番1号"


def test_down_then_up_again_delivery_resumes_and_nothing_was_lost(folder: Path, sim: list[Running]) -> None:
    code, number = resident_code(), my_number()
    first = sim[0]
    url = first.url
    notices = [notice(code, 1, MOVE_IN, number)] + [
        notice(code, n, MOVE_WITHIN, number, 住所=_address(n)) for n in (2, 3)
    ]
    with cs_client(url, folder, timeout=2) as cs:
        assert cs.send(notices[0]) == Accepted(duplicate=False)
        first.stop()
        for waiting in notices[1:]:
            with pytest.raises(Unreachable):
                cs.send(waiting)
        sim[0] = start_in_thread(folder, port=first.port)
        assert sim[0].url == url
        held = cs.identity(code)
        assert held is not None and held["sequence"] == 1  # kept across the restart
        assert [cs.send(n) for n in notices[1:]] == [Accepted(duplicate=False)] * 2
        held = cs.identity(code)
        assert held is not None and held["sequence"] == 3
        assert held["items"]["住所"] == _address(3)  # type: ignore[index]


def test_a_notice_whose_answer_was_lost_is_acknowledged_not_applied_twice(
    folder: Path, sim: list[Running]
) -> None:
    code, number = resident_code(), my_number()
    with cs_client(sim[0].url, folder, timeout=2) as cs:
        assert cs.send(notice(code, 1, MOVE_IN, number)) == Accepted(duplicate=False)
        delivered = notice(code, 2, MOVE_WITHIN, number, 住所=_address(2))
        assert cs.send(delivered) == Accepted(duplicate=False)  # the CS dies before it records this answer …
        sim[0] = restart(sim[0], folder)  # … and the prefecture goes down and up meanwhile
        assert cs.send(delivered) == Accepted(duplicate=True)  # the CS sends it again after its restart
        assert cs.send(notice(code, 3, MOVE_WITHIN, number, 住所=_address(3))) == Accepted(duplicate=False)
        held = cs.identity(code)
        assert held is not None and held["sequence"] == 3


def _serve(folder: Path, port: int) -> subprocess.Popen[bytes]:
    """`serve` in a process of its own (what `juki sim juki-net` runs)."""
    code = f"from pathlib import Path; from juki.sim.juki_net import serve; serve(Path({str(folder)!r}), port={port})"
    return subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, stderr=subprocess.STDOUT)


def _until_up(cs: HttpsPrefectureClient, code: str, process: subprocess.Popen[bytes]) -> object:
    deadline = time.monotonic() + 60
    while True:
        try:
            return cs.identity(code)
        except Unreachable:
            if process.poll() is not None or time.monotonic() > deadline:
                raise
            time.sleep(0.05)


def test_a_killed_simulator_keeps_what_it_had_applied(folder: Path) -> None:
    port, code, number = free_port(), resident_code(), my_number()
    ensure_pki(folder)  # the CS's certificate before the first start (the simulator keeps what it finds)
    process = _serve(folder, port)
    try:
        with cs_client(f"https://127.0.0.1:{port}", folder, timeout=2) as cs:
            assert _until_up(cs, code, process) is None
            assert cs.send(notice(code, 1, MOVE_IN, number)) == Accepted(duplicate=False)
            process.kill()  # no shutdown at all
            process.wait(10)
            with pytest.raises(Unreachable):
                cs.send(notice(code, 2, MOVE_WITHIN, number, 住所=_address(2)))
            process = _serve(folder, port)
            held = _until_up(cs, code, process)
            assert isinstance(held, dict) and held["sequence"] == 1
            assert cs.send(notice(code, 2, MOVE_WITHIN, number, 住所=_address(2))) == Accepted(
                duplicate=False
            )
        process.send_signal(
            signal.SIGINT
        )  # interrupted, it stops cleanly (uvicorn then re-raises the signal)
        assert process.wait(20) in (0, -signal.SIGINT)
        output = process.stdout.read().decode() if process.stdout else ""
        assert "Finished server process" in output
        for value in (code, number, "山田", "小平市"):  # what it printed names nobody
            assert value not in output
    finally:
        if process.poll() is None:
            process.kill()
            process.wait(10)
        if process.stdout:
            process.stdout.close()
