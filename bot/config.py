"""Settings: a TOML file plus COOPBOT_* environment overrides (nested with `__`)."""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)

from bot.domain.cron import check_cron_line

DEFAULT_DATABASE_URL = "sqlite+aiosqlite:///./coopbot.db"


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid")


def check_timezone(value: str) -> str:
    """Raise ValueError unless `value` names an IANA timezone."""
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise ValueError(
            f"unknown timezone {value!r} (use an IANA name like Europe/Berlin)"
        ) from exc
    return value


def check_cron(value: str) -> str:
    """Raise ValueError unless `value` is a five-field cron line that fires."""
    try:
        return check_cron_line(value)
    except ValueError as exc:
        raise ValueError(f"invalid cron line {value!r}: {exc}") from exc


class Weights(_Section):
    """Weights of the patronage formula hours × w_hours + points × w_points + kudos × w_kudos."""

    hours: float = 1.0
    points: float = 1.0
    kudos: float = 0.0


class CoopDefaults(_Section):
    """Settings a new co-op starts with; stewards change them per co-op with `coop settings`."""

    timezone: str = "UTC"
    quorum: str = "50%"
    summary_cron: str = "0 9 * * mon"
    max_claims: int = Field(default=3, ge=1, le=100)
    claim_days: int = Field(default=7, ge=1, le=365)
    kudos_per_week: int = Field(default=20, ge=0, le=1000)
    reminder_hours: int = Field(default=24, ge=0, le=24 * 30)
    reserve_share: str = "0"
    weights: Weights = Weights()

    _tz = field_validator("timezone")(check_timezone)
    _cron = field_validator("summary_cron")(check_cron)


class RuleClassSettings(_Section):
    """A named rule class (bylaws as data), e.g. bylaw_change."""

    method: Literal["majority", "supermajority", "consent"] = "majority"
    threshold: str | None = None
    quorum: str | None = None


class ConsoleSettings(_Section):
    user: str = "you"
    room: str = "local"


class MatrixSettings(_Section):
    homeserver: str = ""
    user_id: str = ""
    access_token: str = ""
    password: str = ""
    device_id: str = ""
    store_path: str = "./matrix-store"
    command_prefix: str = "!"
    auto_join: bool = True
    allowed_inviters: list[str] = Field(default_factory=list)

    @property
    def configured(self) -> bool:
        return bool(self.homeserver and self.user_id and (self.access_token or self.password))


class DiscordSettings(_Section):
    token: str = ""
    application_id: int | None = None
    guild_ids: list[int] = Field(default_factory=list)
    member_role: str = ""
    steward_role: str = ""
    sharded: bool = False
    shard_count: int | None = Field(default=None, ge=1)

    @property
    def configured(self) -> bool:
        return bool(self.token)


class Settings(BaseSettings):
    """Everything the bot reads at start-up. See config.example.toml for each key."""

    model_config = SettingsConfigDict(
        env_prefix="COOPBOT_", env_nested_delimiter="__", extra="forbid"
    )

    database_url: str = DEFAULT_DATABASE_URL
    command_prefix: str = "!"
    attachments_dir: str = "./coopbot-attachments"
    log_level: str = "WARNING"
    outbox_poll_seconds: float = Field(default=2.0, gt=0, le=3600)
    # Testing and demos only: pretend the time is this many seconds later than it is.
    clock_offset_seconds: float = 0.0
    defaults: CoopDefaults = CoopDefaults()
    rule_classes: dict[str, RuleClassSettings] = Field(default_factory=dict)
    console: ConsoleSettings = ConsoleSettings()
    matrix: MatrixSettings = MatrixSettings()
    discord: DiscordSettings = DiscordSettings()

    def prefix_for(self, platform: str | None) -> str:
        """How a command is written on `platform`: `/` on Discord (slash commands), the
        Matrix prefix on Matrix, the configured prefix elsewhere."""
        if platform == "discord":
            return "/"
        if platform == "matrix":
            return self.matrix.command_prefix
        return self.command_prefix

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        return (init_settings, env_settings, TomlConfigSettingsSource(settings_cls))


class ConfigError(Exception):
    """A configuration problem, explained in one line that names the key."""


def load_settings(path: Path | None = None, **overrides: Any) -> Settings:
    """Read `path` (TOML; optional) and the environment; raise ConfigError on any problem."""
    if path is not None and not path.is_file():
        raise ConfigError(f"{path}: no such config file")

    class FileSettings(Settings):
        model_config = SettingsConfigDict(toml_file=path)

    try:
        return FileSettings(**overrides)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: not valid TOML: {exc}") from exc
    except ValidationError as exc:
        first = exc.errors()[0]
        key = ".".join(str(part) for part in first["loc"]) or "(top level)"
        where = f"{path}: " if path else ""
        message = str(first["msg"]).removeprefix("Value error, ")
        raise ConfigError(f"{where}{key}: {message}") from exc
