"""`transfer_p99_ms`: commit-to-department latency of the 庁内連携 pull API with 20 department systems waiting.

Twenty OAuth clients (the policy's twelve systems, some twice) each long-poll `GET /api/v1/transfer/changes?wait=30`
on a real server process. The clerk then files single-person move-ins over HTTP, one at a time; a change's latency
for a system is the time from the filing's answer (the change has committed by then) to that system's poll
answering with it. The p99 is over every (change, system) pair; the target is ≤ 1 s (API.md).

Run alone (`python bench/bench_transfer.py --residents 2000`) it builds a small demo register and serves it; `bench/run.py`
calls `measure` with its own server.
"""

from __future__ import annotations

import argparse
import json
import sys
import threading
import time
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from juki.policy.roles import Actor  # noqa: E402
from juki.transfer.policy import SYSTEM_IDS  # noqa: E402
from juki.transfer.wiring import desk_for  # noqa: E402
from tests.factories import move_in, person  # noqa: E402

SYSTEMS = 20


def _clients(j: Any) -> list[dict[str, Any]]:
    admin = Actor("bench", "ベンチマーク", "admin", "bench", procedure="administration")
    desk = desk_for(j)
    ids = list(SYSTEM_IDS.values())
    return [desk.register(admin, ids[i % len(ids)]) for i in range(SYSTEMS)]


class Poller(threading.Thread):
    """One department system: a token, then long polls from the feed's end, noting when each person arrives."""

    def __init__(self, base: str, client: dict[str, Any], ready: threading.Barrier) -> None:
        super().__init__(daemon=True)
        self.http = httpx.Client(base_url=base, timeout=60)
        self.client, self.ready = client, ready
        self.seen: dict[str, float] = {}
        self.stop = threading.Event()

    def run(self) -> None:
        auth = (self.client["client_id"], self.client["client_secret"])
        res = self.http.post("/oauth/token", data={"grant_type": "client_credentials"}, auth=auth)
        headers = {"Authorization": f"Bearer {res.raise_for_status().json()['access_token']}"}
        cursor = ""
        while True:  # to the end of the feed first
            page = self.http.get(
                "/api/v1/transfer/changes", params={"after": cursor, "limit": 1000}, headers=headers
            )
            body = page.raise_for_status().json()
            cursor = body["next"]
            if not body["changes"]:
                break
        self.ready.wait()
        while not self.stop.is_set():
            page = self.http.get(
                "/api/v1/transfer/changes", params={"after": cursor, "wait": 5}, headers=headers
            )
            now = time.perf_counter()
            body = page.raise_for_status().json()
            for change in body["changes"]:
                self.seen.setdefault(change["addressee_number"], now)
            cursor = body["next"]


def measure(
    base: str, j: Any, clerk_headers: dict[str, str], filings: int = 50, pace: float = 0.25
) -> dict[str, Any]:
    """Twenty waiting systems, `filings` committed changes one every `pace` seconds (a busy counter: four a
    second): the latency of each to each system."""
    ready = threading.Barrier(SYSTEMS + 1)
    pollers = [Poller(base, c, ready) for c in _clients(j)]
    for p in pollers:
        p.start()
    ready.wait()
    time.sleep(0.5)  # every poll is waiting
    committed: dict[str, float] = {}
    today = time.strftime("%Y-%m-%d")
    with httpx.Client(base_url=base, timeout=30, headers=clerk_headers) as clerk:
        for _ in range(filings):
            body = move_in([person()], filed_on=today, changed_on=today)
            res = clerk.post("/api/v1/filings/move-in", json=body).raise_for_status()
            committed[res.json()["changes"][0]["addressee_number"]] = time.perf_counter()
            time.sleep(pace)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and any(len(p.seen) < len(committed) for p in pollers):
        time.sleep(0.1)
    for p in pollers:
        p.stop.set()
    latencies = sorted(
        max(0.0, p.seen[n] - at) * 1000 for p in pollers for n, at in committed.items() if n in p.seen
    )
    missing = sum(1 for p in pollers for n in committed if n not in p.seen)
    p99 = latencies[min(len(latencies) - 1, int(0.99 * len(latencies)))] if latencies else None
    p50 = latencies[len(latencies) // 2] if latencies else None
    return {
        "transfer_p99_ms": round(p99, 2) if p99 is not None else None,
        "transfer_p50_ms": round(p50, 2) if p50 is not None else None,
        "transfer_systems": SYSTEMS,
        "transfer_changes": len(committed),
        "transfer_pace_s": pace,
        "transfer_missing": missing,
    }


def main() -> None:
    from rich.console import Console
    from run import _free_port, login, start_server

    from juki.bootstrap import build
    from juki.demo.generator import build_demo

    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--residents", type=int, default=2000)
    parser.add_argument("--filings", type=int, default=50)
    parser.add_argument("--pace", type=float, default=0.25)
    args = parser.parse_args()
    workdir = ROOT / "var" / "bench-transfer"
    workdir.mkdir(parents=True, exist_ok=True)
    db = workdir / "transfer.db"
    for suffix in ("", "-wal", "-shm"):
        Path(f"{db}{suffix}").unlink(missing_ok=True)
    j = build(str(db))
    accounts = workdir / "demo-accounts.json"
    build_demo(j, residents=args.residents, seed=1, accounts_path=accounts, console=Console(quiet=True))
    port = _free_port()
    server = start_server(str(db), port)
    try:
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=30) as c:
            login(c, accounts, "clerk")
            headers = {"Authorization": c.headers["Authorization"]}
        print(json.dumps(measure(f"http://127.0.0.1:{port}", j, headers, args.filings, args.pace), indent=2))
    finally:
        server.terminate()
        server.wait(10)


if __name__ == "__main__":
    main()
