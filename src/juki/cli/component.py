"""What `juki cs` and `juki intermediate` share: the register as a component's own process sees it, and where that
process finds the config JSON of its link (the 住基ネット's `juki-net.json`, the 情報提供ネットワークシステム's
`info-network.json`), and how that process runs until interrupted."""

from __future__ import annotations

import logging
import signal
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from juki.bootstrap import Juki


def register_url(db: str | None) -> str:
    """`--db`, else JUKI_DATABASE_URL."""
    from juki.config import load_settings

    return db or load_settings().database_url


def _link_config(explicit: Path | None, configured: str | None, beside: Path) -> str | None:
    """The link's config JSON: the option, else the setting, else the file beside a SQLite register (as
    `juki demo` writes it) when it is there; None: no link."""
    if explicit is not None:
        return str(explicit)
    if configured:
        return configured
    return str(beside) if beside.exists() else None


def juki_net_config(db: str, explicit: Path | None) -> str | None:
    """`--juki-net`, else JUKI_NET_CONFIG, else `juki-net.json` beside a SQLite register."""
    from juki.config import load_settings
    from juki.demo.juki_net import config_file

    return _link_config(explicit, load_settings().juki_net_config, config_file(db))


def info_network_config(db: str, explicit: Path | None) -> str | None:
    """`--info-network`, else JUKI_INFO_NETWORK_CONFIG, else `info-network.json` beside a SQLite register."""
    from juki.config import load_settings
    from juki.demo.info_network import config_file

    return _link_config(explicit, load_settings().info_network_config, config_file(db))


def build_component(url: str, **settings: object) -> Juki:
    """The register as a component's process (the CS's, the 中間サーバー's) sees it: the register's schema is not
    its to migrate, the component's own is (and the CS's, through which the 中間サーバー asks for its 符号)."""
    from juki.bootstrap import build

    j = build(url, run_migrations=False, today=None, **settings)
    j.migrate_cs = True
    return j


def log_to_console() -> None:
    """INFO lines, with their time and logger, on stderr; Alembic's only when they warn."""
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    logging.getLogger("alembic").setLevel(logging.WARNING)


@contextmanager
def stop_signals(stop: Callable[[], None]) -> Iterator[None]:
    """Ctrl-C, or SIGTERM from a service manager, calls `stop` while the block runs; the handlers before are put
    back afterwards."""
    stopping = (signal.SIGINT, signal.SIGTERM)
    before = [signal.signal(signum, lambda *_: stop()) for signum in stopping]
    try:
        yield
    finally:
        for signum, handler in zip(stopping, before, strict=True):
            signal.signal(signum, handler)
