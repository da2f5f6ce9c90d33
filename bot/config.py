"""Settings: a TOML file plus COOPBOT_* environment overrides (nested with `__`)."""

from __future__ import annotations

import difflib
import json
import tomllib
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any, Literal, get_args, get_origin
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)
from pydantic_settings import (
    BaseSettings,
    NoDecode,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    SettingsError,
    TomlConfigSettingsSource,
)

from bot.domain.cron import check_cron_line
from bot.domain.patronage import parse_reserve_share
from bot.domain.proposals import parse_min_voting_time, parse_quorum, parse_threshold
from bot.errors import UserError

DEFAULT_DATABASE_URL = "sqlite+aiosqlite:///./coopbot.db"
LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")
# Short forms operators paste from elsewhere, and the async driver each one means here.
_URL_SCHEMES = {
    "sqlite": "sqlite+aiosqlite",
    "sqlite+aiosqlite": "sqlite+aiosqlite",
    "postgres": "postgresql+asyncpg",
    "postgresql": "postgresql+asyncpg",
    "postgresql+asyncpg": "postgresql+asyncpg",
}


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


def _checked_by(read: Callable[[str], object]) -> Callable[[str], str]:
    """A field validator from a bounded domain reader: its one-line error becomes the
    config error, the text is kept as the operator wrote it."""

    def check(value: str) -> str:
        try:
            read(value)
        except UserError as exc:
            raise ValueError(exc.message) from None
        return value

    return check


def comma_list(value: Any) -> Any:
    """A list from the environment: `1,2` or JSON `[1, 2]`; anything else unchanged."""
    if not isinstance(value, str):
        return value
    text = value.strip()
    if text.startswith("["):
        try:
            return json.loads(text)
        except ValueError as exc:
            raise ValueError(f"not a list: {exc}") from None
    return [part.strip() for part in text.split(",") if part.strip()]


def check_database_url(value: str) -> str:
    """The URL with its async driver (`postgresql://` means asyncpg, `sqlite://` aiosqlite);
    ValueError for a database coopbot does not run on."""
    scheme, sep, rest = value.strip().partition("://")
    if not sep:
        raise ValueError(
            f"{value!r} is not a database URL "
            "(use sqlite+aiosqlite:///path/coopbot.db or postgresql+asyncpg://user@host/db)"
        )
    driver = _URL_SCHEMES.get(scheme.lower())
    if driver is None:
        raise ValueError(
            f"coopbot runs on SQLite (sqlite+aiosqlite://) or PostgreSQL "
            f"(postgresql+asyncpg://), not {scheme}://"
        )
    return f"{driver}://{rest}"


def check_listen(value: str) -> str:
    """`host:port` (IPv6 in brackets) or empty for off."""
    if not value:
        return value
    host, sep, port = value.rpartition(":")
    if not sep or not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise ValueError(f"{value!r} is not host:port (for example 127.0.0.1:9464)")
    return value


def listen_address(value: str) -> tuple[str, int]:
    """(host, port) of a checked `host:port`."""
    host, _, port = value.rpartition(":")
    return host.strip("[]"), int(port)


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
    min_voting_time: str = "1h"
    # A thread per decision where the platform has threads (`coop settings threads:off`).
    threads: bool = False
    weights: Weights = Weights()

    _tz = field_validator("timezone")(check_timezone)
    _cron = field_validator("summary_cron")(check_cron)
    _quorum = field_validator("quorum")(_checked_by(parse_quorum))
    _reserve = field_validator("reserve_share")(_checked_by(parse_reserve_share))
    _voting = field_validator("min_voting_time")(_checked_by(parse_min_voting_time))


class RuleClassSettings(_Section):
    """A named rule class (bylaws as data), e.g. bylaw_change."""

    method: Literal["majority", "supermajority", "consent"] = "majority"
    threshold: str | None = None
    quorum: str | None = None

    _threshold = field_validator("threshold")(_checked_by(parse_threshold))
    _quorum = field_validator("quorum")(_checked_by(parse_quorum))


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
    allowed_inviters: Annotated[list[str], NoDecode] = Field(default_factory=list)

    _inviters = field_validator("allowed_inviters", mode="before")(comma_list)

    @field_validator("homeserver")
    @classmethod
    def _homeserver(cls, value: str) -> str:
        if value and not value.startswith(("https://", "http://")):
            raise ValueError(f"{value!r} is not a URL (write it like https://matrix.example.org)")
        return value.rstrip("/")

    @property
    def configured(self) -> bool:
        return bool(self.homeserver and self.user_id and (self.access_token or self.password))


class DiscordSettings(_Section):
    token: str = ""
    application_id: int | None = None
    guild_ids: Annotated[list[int], NoDecode] = Field(default_factory=list)
    member_role: str = ""
    steward_role: str = ""
    sharded: bool = False
    shard_count: int | None = Field(default=None, ge=1)
    # The shards this process connects (of shard_count); the other processes on the same
    # database hold the others. Empty: every shard, in this process.
    shard_ids: Annotated[list[int], NoDecode] = Field(default_factory=list)

    _guilds = field_validator("guild_ids", mode="before")(comma_list)
    _shards = field_validator("shard_ids", mode="before")(comma_list)

    @model_validator(mode="after")
    def _shard_set(self) -> DiscordSettings:
        ids = self.shard_ids
        if not ids:
            return self
        if self.shard_count is None:
            raise ValueError("shard_ids needs shard_count (how many shards there are in all)")
        wrong = sorted({i for i in ids if not 0 <= i < self.shard_count})
        if wrong:
            raise ValueError(
                f"shard id(s) {', '.join(map(str, wrong))} out of range: "
                f"with shard_count = {self.shard_count} they go from 0 to {self.shard_count - 1}"
            )
        twice = sorted({i for i in ids if ids.count(i) > 1})
        if twice:
            raise ValueError(f"shard id(s) {', '.join(map(str, twice))} listed twice in shard_ids")
        return self

    @property
    def configured(self) -> bool:
        return bool(self.token)


class HttpSettings(_Section):
    """The optional health and metrics endpoint (off unless `listen` is set)."""

    listen: str = ""

    _listen = field_validator("listen")(check_listen)


class Settings(BaseSettings):
    """Everything the bot reads at start-up. See config.example.toml for each key."""

    model_config = SettingsConfigDict(
        env_prefix="COOPBOT_", env_nested_delimiter="__", extra="forbid"
    )

    database_url: str = DEFAULT_DATABASE_URL
    command_prefix: str = "!"
    attachments_dir: str = "./coopbot-attachments"
    log_level: str = "INFO"
    log_format: Literal["text", "json"] = "text"
    # Where members get the source of the code this bot runs (AGPL-3.0 §13).
    source_url: str = ""
    outbox_poll_seconds: float = Field(default=2.0, gt=0, le=3600)
    # How long a one-time code (`coop code`, `member link`) works.
    code_minutes: int = Field(default=15, ge=1, le=24 * 60)
    # A failed send is retried after 5 s, 10 s, 20 s, … up to this cap, and given up
    # (a dead letter a steward can retry with `coop outbox retry`) after this many sends.
    outbox_retry_cap_seconds: float = Field(default=1800.0, ge=5, le=86400)
    outbox_max_attempts: int = Field(default=12, ge=1, le=100)
    # How long handled platform messages (and links to cards of closed decisions) are kept.
    message_retention_days: int = Field(default=30, ge=1, le=3650)
    # Testing and demos only: pretend the time is this many seconds later than it is.
    clock_offset_seconds: float = 0.0
    # Testing only: the process kills itself (SIGKILL) right after a command whose text
    # starts with this commits, before its answer is sent (proves answers survive a crash).
    crash_after_commit: str = ""
    # Several processes on one PostgreSQL database: how this process is named in
    # `coopbot check` and /healthz (default host:pid), how often a standby asks whether the
    # Matrix session (or its Discord shards) is free, and how often the holder proves to the
    # database that it is alive (it is replaced about 3 keep-alives after it stops).
    process_name: str = Field(default="", max_length=60)
    standby_poll_seconds: float = Field(default=2.0, gt=0, le=60)
    holder_keepalive_seconds: float = Field(default=2.0, ge=0.5, le=60)
    defaults: CoopDefaults = CoopDefaults()
    rule_classes: dict[str, RuleClassSettings] = Field(default_factory=dict)
    console: ConsoleSettings = ConsoleSettings()
    matrix: MatrixSettings = MatrixSettings()
    discord: DiscordSettings = DiscordSettings()
    http: HttpSettings = HttpSettings()

    _database_url = field_validator("database_url")(check_database_url)

    @field_validator("log_level")
    @classmethod
    def _log_level(cls, value: str) -> str:
        level = value.strip().upper()
        if level not in LOG_LEVELS:
            raise ValueError(f"{value!r} is not a log level (use {', '.join(LOG_LEVELS)})")
        return level

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
    """Configuration problems, each explained in one line that names the key."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("; ".join(problems))
        self.problems = problems


def _known_keys(loc: tuple[int | str, ...]) -> list[str]:
    """The keys allowed where `loc` points (for "did you mean")."""
    current: Any = Settings
    for part in loc[:-1]:
        if isinstance(current, type) and issubclass(current, BaseModel):
            field = current.model_fields.get(str(part))
            if field is None:
                return []
            current = field.annotation
        elif get_origin(current) is dict:
            current = get_args(current)[1]  # rule_classes.NAME: step over the name
        else:
            return []
    if isinstance(current, type) and issubclass(current, BaseModel):
        return list(current.model_fields)
    return []


def _describe(error: Any, where: str) -> str:
    loc = tuple(error["loc"])
    key = ".".join(str(part) for part in loc) or "(top level)"
    if error["type"] == "extra_forbidden":
        known = _known_keys(loc)
        close = difflib.get_close_matches(str(loc[-1]), known, n=1)
        hint = f" (did you mean {'.'.join([*map(str, loc[:-1]), close[0]])}?)" if close else ""
        return f"{where}{key}: unknown setting{hint}"
    message = str(error["msg"]).removeprefix("Value error, ")
    return f"{where}{key}: {message}"


def load_settings(path: Path | None = None, **overrides: Any) -> Settings:
    """Read `path` (TOML; optional) and the environment; raise ConfigError listing every
    problem at once."""
    if path is not None and not path.is_file():
        raise ConfigError([f"{path}: no such config file"])

    class FileSettings(Settings):
        model_config = SettingsConfigDict(toml_file=path)

    where = f"{path}: " if path else ""
    try:
        return FileSettings(**overrides)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError([f"{path}: not valid TOML: {exc}"]) from exc
    except SettingsError as exc:
        # An environment value that is not what its setting holds (a list, a number).
        raise ConfigError([f"{exc} (check the COOPBOT_* environment variables)"]) from exc
    except ValidationError as exc:
        raise ConfigError([_describe(error, where) for error in exc.errors()]) from exc
