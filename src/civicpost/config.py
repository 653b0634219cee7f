"""One Settings class: every knob is a CIVICPOST_* environment variable."""

import logging
import secrets
from functools import lru_cache
from pathlib import Path
from typing import Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from civicpost import PROJECT_ROOT

log = logging.getLogger(__name__)

# Values people paste from examples; a key like this protects nothing.
PLACEHOLDER_KEYS = {"", "changeme", "change-me", "secret", "dev", "development", "test"}


class ConfigError(RuntimeError):
    """A setting stops the service from starting; the message says how to fix it."""


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="CIVICPOST_", extra="ignore")

    env: Literal["development", "test", "production"] = "development"
    database_url: str = "sqlite:///./civicpost.db"
    secret_key: SecretStr | None = None
    timezone: str = "UTC"
    base_url: str = "http://127.0.0.1:8000"
    city_name: str = "Our City"
    templates_dir: Path = PROJECT_ROOT / "templates"
    media_dir: Path = Path("./media")

    # A staff session not used for this long ends (signed out on the server).
    session_idle_minutes: int = Field(default=480, ge=5, le=60 * 24 * 30)

    max_body_bytes: int = Field(default=1024 * 1024, ge=1024)
    max_upload_bytes: int = Field(default=10 * 1024 * 1024, ge=1024)

    lease_seconds: int = Field(default=120, ge=1)
    publish_timeout_seconds: float = Field(default=30, gt=0)
    retry_base_seconds: float = Field(default=30, ge=0)
    retry_max_seconds: float = Field(default=1800, ge=0)
    max_attempts: int = Field(default=8, ge=1)
    worker_concurrency: int = Field(default=32, ge=1)

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(
                f"unknown time zone {value!r}; use an IANA name such as 'America/New_York'"
            ) from None
        return value

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")

    def fernet_key(self) -> str:
        """The key that encrypts channel credentials.

        In production a real key is required. In development and tests a key is
        made once and kept beside the database, so stored credentials survive a
        restart without anyone having to choose a key for a first look.
        """
        key = self.secret_key.get_secret_value() if self.secret_key else ""
        if key.strip().lower() not in PLACEHOLDER_KEYS:
            if len(key) < 32:
                raise ConfigError(
                    "CIVICPOST_SECRET_KEY is too short: use at least 32 random characters, "
                    "e.g. the output of: python -c 'import secrets; print(secrets.token_urlsafe(32))'"
                )
            return key
        if self.env == "production":
            raise ConfigError(
                "CIVICPOST_SECRET_KEY is not set. It encrypts channel credentials; set it to at "
                "least 32 random characters, e.g. export CIVICPOST_SECRET_KEY=\"$(python -c "
                "'import secrets; print(secrets.token_urlsafe(32))')\", and keep it safe: "
                "credentials stored under one key cannot be read with another."
            )
        return _development_key(Path(".civicpost-secret"))


def _development_key(path: Path) -> str:
    if path.exists():
        return path.read_text().strip()
    key = secrets.token_urlsafe(32)
    path.write_text(key + "\n")
    path.chmod(0o600)
    log.warning("no CIVICPOST_SECRET_KEY set: made a development key in %s", path.resolve())
    return key


@lru_cache
def get_settings() -> Settings:
    return Settings()
