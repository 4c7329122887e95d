"""Settings: the only reader of the environment (`JUKI_*`)."""

from __future__ import annotations

from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="JUKI_")

    database_url: str = "var/juki.db"
    # The My Number key file (adapters/vault.py). Unset: next to the SQLite file, or var/juki-keys.json.
    key_file: str | None = None
    token_ttl_seconds: int = 8 * 3600
    max_failed_logins: int = 5  # lock-out after this many failures in a row (an administrator unlocks)
    login_rate_limit: int = 10  # failed sign-ins per terminal per minute before further attempts are refused
    bulk_output_threshold: int = 100  # outputs of more persons than this need a data controller's approval
    idle_lock_seconds: int = 300


def load_settings(**overrides: object) -> Settings:
    return Settings(**{k: v for k, v in overrides.items() if v is not None})  # type: ignore[arg-type]
