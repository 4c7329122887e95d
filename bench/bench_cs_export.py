"""`cs_export_s`: how long the CS takes to export its whole 本人確認情報ファイル for the 整合性確認 (j1100).

    .venv/bin/python bench/bench_cs_export.py [--persons 1000000] [--db URL]

Prints one JSON line: {"persons", "seed_s", "cs_export_s", "bytes", "cpu_s"}. The target is ≤ 30 s at 1,000,000
persons on the 2-core machine.

The CS's database is seeded directly — a bulk insert of `persons` rows into `cs_identity` (36 items each, the
個人番号 encrypted with the CS's key as intake keeps it), not through the register and the intake, which would
take hours at this size and is not what is measured. Without `--db` a fresh SQLite file under var/bench is used;
with a PostgreSQL URL, that database must be empty of `cs_` tables (bench/run.py makes a fresh one). The time is
`services.consistency.export` as the CLI runs it: the streamed read (server-side cursor on PostgreSQL), the
decryption of every 個人番号 (AES-GCM, one by one), the CSV, its SHA-256 and the manifest, written owner-only, and
the two log lines.
"""

from __future__ import annotations

import argparse
import json
import random
import resource
import shutil
import sys
import time
from datetime import UTC, datetime
from functools import partial
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from sqlalchemy import insert  # noqa: E402

from juki.cs.adapters import consistency_tables  # noqa: E402
from juki.cs.adapters import tables as t  # noqa: E402
from juki.cs.adapters.consistency_file import ConsistencyFiles  # noqa: E402
from juki.cs.adapters.cs_db import CsDatabase, open_cs  # noqa: E402
from juki.cs.services import consistency  # noqa: E402
from juki.domain.identifiers import my_number_check_digit, resident_code_check_digit  # noqa: E402
from juki.policy.roles import CS_SYSTEM  # noqa: E402

CITY = "132110"
BATCH = 10_000
FAMILY = ("山田", "佐藤", "鈴木", "髙橋", "田中", "渡邉", "伊藤", "中村")
GIVEN = ("太郎", "花子", "一郎", "次郎", "美咲", "翔太", "陽菜", "蓮")
TOWNS = ("小川町一丁目", "学園東町二丁目", "花小金井南町三丁目", "上水本町四丁目", "喜平町一丁目")


def _items(i: int, rng: random.Random, now: str) -> tuple[str, dict[str, Any], str]:
    code = f"{i + 1:010d}"
    code += resident_code_check_digit(code)
    number = f"{rng.randrange(10**11):011d}"
    number += my_number_check_digit(number)
    family, given = rng.choice(FAMILY), rng.choice(GIVEN)
    address = f"東京都小平市{rng.choice(TOWNS)}{rng.randrange(1, 40)}番{rng.randrange(1, 30)}号"
    born = f"{rng.randrange(1930, 2024)}-{rng.randrange(1, 13):02d}-{rng.randrange(1, 29):02d}"
    items: dict[str, Any] = {
        "住民票コード": code, "漢字氏名": f"{family}\u3000{given}", "外字数(氏名)": "0",
        "ふりがな氏名": "ヤマダ\u3000タロウ", "清音化かな氏名": "ヤマタ\u3000タロウ", "生年月日": born,
        "性別": rng.choice(("男", "女")), "市町村コード": CITY, "大字・字コード": None, "郵便番号": "1870032",
        "住所": address, "外字数(住所)": "0", "個人番号": None, "住民となった日": "2010-04-01",
        "住所を定めた日": "2010-04-01", "届出の年月日": "2010-04-02", "市町村コード(転入前)": "132039",
        "転入前住所": "東京都武蔵野市吉祥寺本町一丁目1番1号", "外字数(転入前住所)": "0", "続柄": "世帯主",
        "異動事由": "転入", "異動年月日": "2010-04-01", "異動事由詳細": None, "旧住民票コード": None,
        "住民票コード使用年月日": "2010-04-01", "依頼管理番号": f"F{i:09d}", "操作者ID": "clerk1",
        "操作端末ID": "counter-3", "更新順番号": "1", "異常時更新順番号": None, "更新禁止フラグ": "0",
        "予定者フラグ": "0", "排他フラグ": "0", "外字フラグ": "0", "レコード状況フラグ": "0",
        "タイムスタンプ": now,
    }  # fmt: skip
    return code, items, number


def seed(cs: CsDatabase, persons: int, seed_value: int = 1) -> float:
    """`persons` rows straight into cs_identity (see the module's docstring); seconds taken."""
    rng = random.Random(seed_value)
    now = datetime.now(UTC)
    stamp = now.isoformat()
    start = time.perf_counter()
    with cs.engine.begin() as conn:
        for first in range(0, persons, BATCH):
            rows = []
            for i in range(first, min(first + BATCH, persons)):
                code, items, number = _items(i, rng, stamp)
                rows.append({
                    "addressee_number": f"B{i:09d}", "resident_code": code, "sequence": 1,
                    "register_version": 1, "status": "0", "in_scope": True, "items": items,
                    "my_number": cs.vault.encrypt(number), "updated_at": now,
                })  # fmt: skip
            conn.execute(insert(t.identity), rows)
    return time.perf_counter() - start


def _cpu() -> float:
    me = resource.getrusage(resource.RUSAGE_SELF)
    return me.ru_utime + me.ru_stime


def measure(cs: CsDatabase, register_uow: Any, out: Path) -> tuple[float, int, float]:
    """One export into `out` (removed afterwards): wall seconds, bytes written, CPU seconds."""
    tx = partial(consistency_tables.transaction, cs)
    cpu, start = _cpu(), time.perf_counter()
    written = consistency.export(register_uow, tx, ConsistencyFiles(), CS_SYSTEM, CITY, out)
    took, cpu_took = time.perf_counter() - start, _cpu() - cpu
    size = written.csv_path.stat().st_size
    shutil.rmtree(out)  # 特定個人情報: not left on the bench machine
    return took, size, cpu_took


def run(persons: int, url: str | None = None) -> dict[str, Any]:
    """A fresh register and CS (SQLite under var/bench unless `url`), seeded, exported once."""
    from juki.bootstrap import build

    work = ROOT / "var" / "bench" / "cs-export"
    if work.exists():
        shutil.rmtree(work)
    work.mkdir(parents=True)
    register = url or str(work / "register.db")
    j = build(register)
    cs = open_cs(j.settings.database_url, url=url, key_file=work / "juki-cs-keys.json")
    try:
        seed_s = seed(cs, persons)
        took, size, cpu = measure(cs, j.uow, work / "out")
    finally:
        cs.dispose()
        j.engine.dispose()
    return {"persons": persons, "seed_s": round(seed_s, 1), "cs_export_s": round(took, 2), "bytes": size,
            "cpu_s": round(cpu, 1)}  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--persons", type=int, default=1_000_000)
    parser.add_argument("--db", default=None, help="an empty database URL (default: SQLite under var/bench)")
    args = parser.parse_args()
    print(json.dumps(run(args.persons, args.db), ensure_ascii=False))


if __name__ == "__main__":
    main()
