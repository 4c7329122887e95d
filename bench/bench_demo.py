"""How fast `juki demo` builds its synthetic city: residents per second into a fresh SQLite file.

    .venv/bin/python bench/bench_demo.py 200000 [--seed 1] [--db URL]

Prints one JSON line: {"residents", "seconds", "residents_per_s", "cpu_seconds"}. The time covers generating and
writing the register (one transaction) and creating the demo accounts, but not creating the schema. `cpu_seconds`
is the CPU time of this process and of the generator's worker process: on a machine that other work keeps busy,
it tells how much of the wall time was waiting for a core. `--db` takes a database URL instead (an empty
PostgreSQL database, say); without it a temporary SQLite file is used and removed.
"""

from __future__ import annotations

import argparse
import io
import json
import resource
import tempfile
import time
from pathlib import Path

from rich.console import Console

from juki.bootstrap import build
from juki.demo.generator import build_demo


def _cpu() -> tuple[float, float]:
    me, children = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return me.ru_utime + me.ru_stime, children.ru_utime + children.ru_stime


def measure(residents: int, seed: int, db: str, workdir: Path) -> dict[str, object]:
    j = build(db)
    quiet = Console(file=io.StringIO())
    cpu_before = _cpu()
    start = time.perf_counter()
    build_demo(j, residents=residents, seed=seed, accounts_path=workdir / "demo-accounts.json", console=quiet)
    seconds = time.perf_counter() - start
    cpu = [round(after - before, 1) for after, before in zip(_cpu(), cpu_before, strict=True)]
    j.engine.dispose()
    return {
        "residents": residents,
        "seconds": round(seconds, 2),
        "residents_per_s": round(residents / seconds),
        "cpu_seconds": {"main": cpu[0], "worker": cpu[1]},
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("residents", type=int)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--db", help="an empty database (URL); default: a temporary SQLite file")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="juki-bench-") as tmp:
        workdir = Path(tmp)
        result = measure(args.residents, args.seed, args.db or str(workdir / "demo.db"), workdir)
    print(json.dumps(result))


if __name__ == "__main__":
    main()
