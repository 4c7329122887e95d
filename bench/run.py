"""`make bench`: build a synthetic register, serve it, and measure the figures API.md names.

Writes bench/results/<date>-<engine>-<residents>.json. Timings come from a real server process on loopback
(uvicorn), driven by one client over HTTP, so they include parsing, auth, the transaction and the log entry.
A metric not measured yet is null.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import socket
import subprocess
import sys
import time
from datetime import date
from pathlib import Path
from typing import Any

import httpx
import pyotp
from rich.console import Console
from sqlalchemy import Column, Integer, MetaData, String, Table, Text, or_, select

from juki.sim.kiosk import session_request

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from juki.adapters import tables as t  # noqa: E402
from juki.bootstrap import build  # noqa: E402
from juki.demo.generator import build_demo  # noqa: E402
from tests.factories import move_in, person  # noqa: E402


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return round(ordered[min(len(ordered) - 1, int(q * len(ordered)))], 2)


def measure_import(url: str, residents: int, seed: int, accounts: Path) -> tuple[float, Any]:
    j = build(url)
    start = time.perf_counter()
    build_demo(j, residents=residents, seed=seed, accounts_path=accounts, console=Console(quiet=True))
    return residents / (time.perf_counter() - start), j


def measure_raw(j: Any, rows: int) -> float:
    """Plain executemany of rows shaped like `residents` into a scratch table: the ceiling for an import."""
    scratch = Table(
        "bench_raw",
        MetaData(),
        Column("id", Integer, primary_key=True),
        Column("a", String(100)),
        Column("b", String(100)),
        Column("c", Text),
    )
    scratch.drop(j.engine, checkfirst=True)
    scratch.create(j.engine)
    payload = json.dumps(
        {"family_name": "山田", "given_name": "太郎", "address": "東京都小平市小川町一丁目1番1号"}
    )
    data = [{"id": i, "a": "山田", "b": "ヤマダ", "c": payload} for i in range(rows)]
    start = time.perf_counter()
    with j.engine.begin() as conn:
        for i in range(0, rows, 5000):
            conn.execute(scratch.insert(), data[i : i + 5000])
    rate = rows / (time.perf_counter() - start)
    scratch.drop(j.engine)
    return rate


def fresh_postgres(admin_url: str, name: str = "juki_bench") -> str:
    """A new, empty database `name` (juki_bench) beside the one named (never the test database itself)."""
    import psycopg
    from sqlalchemy.engine import make_url

    url = make_url(admin_url)
    with psycopg.connect(
        host=url.host,
        port=url.port or 5432,
        user=url.username,
        password=url.password,
        dbname=url.database,
        autocommit=True,
    ) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
        conn.execute(f"CREATE DATABASE {name}")
    return url.set(database=name).render_as_string(hide_password=False)


def start_server(url: str, port: int) -> subprocess.Popen[bytes]:
    env = dict(os.environ, JUKI_DATABASE_URL=url)
    proc = subprocess.Popen(
        [sys.executable, "-m", "juki.cli.main", "serve", "--port", str(port)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    for _ in range(100):
        try:
            if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1).status_code == 200:
                return proc
        except httpx.HTTPError:
            time.sleep(0.1)
    proc.kill()
    raise RuntimeError("server did not start")


def login(client: httpx.Client, accounts: Path, role: str) -> None:
    account = next(a for a in json.loads(accounts.read_text()) if a["role"] == role)
    res = client.post(
        "/api/v1/auth/login",
        json={
            "username": account["username"],
            "password": account["password"],
            "otp": pyotp.TOTP(account["totp_secret"]).now(),
        },
    )
    res.raise_for_status()
    client.headers["Authorization"] = f"Bearer {res.json()['access_token']}"


def timed(fn: Any) -> float:
    start = time.perf_counter()
    fn()
    return (time.perf_counter() - start) * 1000


def measure_certificates(client: httpx.Client, today: str, n: int) -> list[float]:
    """A 4-person household's 住民票の写し (世帯連記式, every optional item but the My Number) over HTTP, PDF and
    all: the issue-5 target is p50 ≤ 150 ms."""
    family = [
        person(family_name="髙橋", family_name_kana="タカハシ"),
        person(
            "妻",
            family_name="髙橋",
            family_name_kana="タカハシ",
            given_name="花子",
            given_name_kana="ハナコ",
            sex="female",
        ),
        person(
            "子", family_name="髙橋", family_name_kana="タカハシ", given_name="一郎", birth_date="2012-01-01"
        ),
        person(
            "子", family_name="髙橋", family_name_kana="タカハシ", given_name="次郎", birth_date="2014-01-01"
        ),
    ]
    res = client.post("/api/v1/filings/move-in", json=move_in(family, filed_on=today, changed_on=today))
    res.raise_for_status()
    household = res.json()["household_number"]
    body = {
        "kind": "residence_certificate",
        "household_number": household,
        "include": {
            "householder_and_relationship": True,
            "honseki": True,
            "resident_code": True,
            "history": True,
        },
        "requester": {
            "type": "self",
            "name": "髙橋 太郎",
            "addressee_number": res.json()["changes"][0]["addressee_number"],
        },
        "purpose": "ベンチマーク",
    }
    client.post("/api/v1/certificates", json=body).raise_for_status()  # fonts load on the first one
    return [
        timed(lambda: client.post("/api/v1/certificates", json=body).raise_for_status()) for _ in range(n)
    ]


def run(args: argparse.Namespace) -> dict[str, Any]:
    workdir = ROOT / "var" / "bench"
    workdir.mkdir(parents=True, exist_ok=True)
    if args.engine == "sqlite":
        db = workdir / f"bench-{args.residents}.db"
        for suffix in ("", "-wal", "-shm"):
            Path(f"{db}{suffix}").unlink(missing_ok=True)
        url = str(db)
    else:
        url = fresh_postgres(args.postgres_url)
    accounts = workdir / "demo-accounts.json"
    import_rate, j = measure_import(url, args.residents, 1, accounts)
    raw_rate = measure_raw(j, 50_000)
    r = t.residents.c
    with j.engine.connect() as conn:
        sample = conn.execute(
            select(r.family_name, r.given_name, r.birth_date).where(r.status == "active").limit(5000)
        ).all()
        # Names as the 在留カード writes them, whose parts hold spaces of their own (名 `DUC MINH`): always in the
        # sample, searched as typed — "氏 名" joined by one space, as the counter writes it (j340).
        sample += conn.execute(
            select(r.family_name, r.given_name, r.birth_date)
            .where(r.status == "active", or_(r.family_name.contains(" "), r.given_name.contains(" ")))
            .limit(500)
        ).all()
    port = _free_port()
    server = start_server(url, port)
    try:
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=30) as client:
            login(client, accounts, "clerk")
            rng = random.Random(3)
            moves = []
            today = date.today().isoformat()
            start = time.perf_counter()
            for _ in range(args.requests):
                body = move_in(
                    [
                        person(),
                        person("妻", given_name="花子", given_name_kana="ハナコ", sex="female"),
                        person("子", given_name="一郎", birth_date="2012-01-01"),
                        person("子", given_name="次郎", birth_date="2014-01-01"),
                    ],
                    filed_on=today,
                    changed_on=today,
                )
                moves.append(
                    timed(lambda b=body: client.post("/api/v1/filings/move-in", json=b).raise_for_status())
                )
            filings_per_s = args.requests / (time.perf_counter() - start)
            searches = []
            for _ in range(args.requests):
                fam, given, born = rng.choice(sample)
                params = {"name": f"{fam} {given}", "birth_date": born.isoformat()}
                searches.append(
                    timed(lambda p=params: client.get("/api/v1/residents", params=p).raise_for_status())
                )
            certs = measure_certificates(client, today, max(20, args.requests // 3))
            transfer = measure_transfer(f"http://127.0.0.1:{port}", j, client.headers["Authorization"])
        rss = _rss_mb(server.pid)
    finally:
        server.terminate()
        server.wait(10)
    return {
        "engine": args.engine,
        "residents": args.residents,
        "date": date.today().isoformat(),
        "metrics": {
            "import_rows_per_s": round(import_rate),
            "raw_rows_per_s": round(raw_rate),
            "import_ratio_to_raw": round(import_rate / raw_rate, 3),
            "move_in_p50_ms": _pct(moves, 0.5),
            "move_in_p99_ms": _pct(moves, 0.99),
            "search_p50_ms": _pct(searches, 0.5),
            "search_p99_ms": _pct(searches, 0.99),
            "filings_per_s": round(filings_per_s, 1),
            "certificate_p50_ms": _pct(certs, 0.5),
            "cs_export_s": measure_cs_export(args),
            **transfer,  # transfer_p99_ms: 庁内連携, 20 department systems long-polling (bench_transfer.py)
            "server_rss_mb": rss,
            **measure_kiosk(url, int(os.environ.get("BENCH_KIOSK", 1000))),
        },
    }


def measure_transfer(base: str, j: Any, authorization: str) -> dict[str, Any]:
    """庁内連携: commit-to-department latency with 20 department systems waiting on the pull API (target p99 ≤ 1 s)."""
    from bench_transfer import measure

    return measure(
        base,
        j,
        {"Authorization": authorization},
        filings=int(os.environ.get("BENCH_TRANSFER", 50)),
    )


def measure_cs_export(args: argparse.Namespace) -> float:
    """The CS's export of its whole 本人確認情報ファイル for the 整合性確認 (bench_cs_export.py): a CS database of its
    own seeded with BENCH_CS_PERSONS (1,000,000) persons, whatever the register's size; the target is ≤ 30 s."""
    from bench_cs_export import run as cs_export

    persons = int(os.environ.get("BENCH_CS_PERSONS", 1_000_000))
    url = None if args.engine == "sqlite" else fresh_postgres(args.postgres_url, "juki_bench_cs")
    return float(cs_export(persons, url)["cs_export_s"])


def measure_kiosk(url: str, n: int) -> dict[str, Any]:
    """コンビニ交付: `n` kiosk issuances in a row over mutual TLS (`juki sim kiosk-server`), each a card
    sign-in (challenge, the card's signature), the whole four-person household's 住民票の写し, and the card taken
    out. `kiosk_p50/p99_ms` time the certificate call (PDF and all: the target is p50 ≤ 150 ms), `kiosk_flow_p50_ms`
    the whole visit; the pace holds when every block of 100 keeps p50 ≤ 150 ms."""

    from juki.adapters.kiosk_tls import kiosk_client_context
    from juki.adapters.pki import kiosk_pki_dir
    from juki.config import load_settings
    from juki.sim.pki import SimCard

    pki = kiosk_pki_dir(load_settings(database_url=url))
    listed = json.loads((pki.parent / "demo-cards" / "cards.json").read_text(encoding="utf-8"))
    entry = next(c for c in listed["cards"] if c["household_size"] == 4)
    card = SimCard.load(Path(entry["certificate"]), Path(entry["key"]), entry["pin"])
    kiosk = pki / "kiosks" / listed["kiosk"]
    port = _free_port()
    command = [sys.executable, "-m", "juki.cli.main", "sim", "kiosk-server", "--db", url]
    server = subprocess.Popen(
        [*command, "--port", str(port), "--always-open"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    context = kiosk_client_context(pki, kiosk.with_suffix(".pem"), kiosk.with_suffix(".key"))
    issue, visit = [], []
    try:
        with httpx.Client(base_url=f"https://127.0.0.1:{port}", verify=context, timeout=30) as client:
            for _ in range(100):
                try:
                    if client.get("/kiosk/v1/status").status_code == 200:
                        break
                except httpx.HTTPError:
                    time.sleep(0.1)
            for i in range(n + 1):  # the first one loads the fonts
                start = time.perf_counter()
                challenge = client.post("/kiosk/v1/challenges").raise_for_status().json()
                session = client.post(
                    "/kiosk/v1/sessions", json=session_request(challenge, card)
                ).raise_for_status()
                headers = {"X-Kiosk-Session": session.json()["session"]}
                body = {
                    "scope": "household",
                    "include": {"householder_and_relationship": True, "honseki": True},
                }
                took = timed(
                    lambda h=headers, b=body: client.post(
                        "/kiosk/v1/certificates", json=b, headers=h
                    ).raise_for_status()
                )
                client.delete("/kiosk/v1/sessions/current", headers=headers).raise_for_status()
                if i:
                    issue.append(took)
                    visit.append((time.perf_counter() - start) * 1000)
    finally:
        server.terminate()
        server.wait(10)
    blocks = [_pct(issue[i : i + 100], 0.5) for i in range(0, len(issue), 100)]
    return {
        "kiosk_issuances": len(issue),
        "kiosk_p50_ms": _pct(issue, 0.5),
        "kiosk_p99_ms": _pct(issue, 0.99),
        "kiosk_flow_p50_ms": _pct(visit, 0.5),
        "kiosk_worst_block_p50_ms": max(blocks),
        "kiosk_pace_held": max(blocks) <= 150,
    }


def _rss_mb(pid: int) -> float | None:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return round(int(line.split()[1]) / 1024, 1)
    except OSError:
        return None
    return None


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--residents", type=int, default=int(os.environ.get("BENCH_RESIDENTS", 200_000)))
    parser.add_argument(
        "--engine", choices=["sqlite", "postgres"], default=os.environ.get("BENCH_ENGINE", "sqlite")
    )
    parser.add_argument("--postgres-url", default=os.environ.get("JUKI_TEST_POSTGRES_URL", ""))
    parser.add_argument("--requests", type=int, default=300)
    args = parser.parse_args()
    result = run(args)
    out = ROOT / "bench" / "results" / f"{result['date']}-{args.engine}-{args.residents}.json"
    out.write_text(json.dumps(result, ensure_ascii=False, indent=2) + "\n")
    print(json.dumps(result, ensure_ascii=False, indent=2))


if __name__ == "__main__":
    main()
