"""The `coopbot` command line: run, console, check, db upgrade|current|backup|restore,
export, --version. A failure is one line plus a hint; --debug shows the traceback."""

from __future__ import annotations

import asyncio
import functools
import os
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any, TypeVar

import typer

from bot import __version__
from bot.config import ConfigError, Settings, load_settings

app = typer.Typer(
    add_completion=False,
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    help="coopbot: run a co-operative from Discord, Matrix or a terminal.",
)
db_app = typer.Typer(help="Database maintenance.", no_args_is_help=True)
app.add_typer(db_app, name="db")

ConfigOption = Annotated[
    Path | None, typer.Option("--config", "-c", help="TOML config file (see config.example.toml)")
]
DbOption = Annotated[str | None, typer.Option("--db", help="database URL (overrides the config)")]
F = TypeVar("F", bound=Callable[..., Any])


@dataclass
class Options:
    debug: bool = False
    database_url: str | None = None


def _options(ctx: typer.Context) -> Options:
    root = ctx.find_root()
    if not isinstance(root.obj, Options):
        root.obj = Options()
    return root.obj


def friendly(command: F) -> F:
    """Turn any failure of `command` into one line (and a hint) on stderr and a non-zero
    exit; with --debug (or log_level DEBUG) the traceback is shown instead."""

    @functools.wraps(command)
    def wrapper(ctx: typer.Context, *args: Any, **kwargs: Any) -> Any:
        try:
            return command(ctx, *args, **kwargs)
        except (typer.Exit, typer.Abort):
            raise
        except KeyboardInterrupt:
            raise typer.Exit(130) from None
        except Exception as exc:
            options = _options(ctx)
            if options.debug:
                raise
            from bot.operator_errors import explain

            explained = explain(exc, options.database_url)
            first, *rest = explained.lines
            typer.echo(f"coopbot: {first}", err=True)
            for line in rest:
                typer.echo(f"  {line}", err=True)
            raise typer.Exit(explained.exit_code) from None

    return wrapper  # type: ignore[return-value]


def _settings(ctx: typer.Context, config: Path | None, db: str | None = None) -> Settings:
    overrides = {"database_url": db} if db else {}
    try:
        settings = load_settings(config, **overrides)
    except ConfigError as exc:
        for problem in exc.problems:
            typer.echo(f"coopbot: {problem}", err=True)
        raise typer.Exit(2) from None
    options = _options(ctx)
    options.database_url = settings.database_url
    options.debug = options.debug or settings.log_level == "DEBUG"
    return settings


def _logging(ctx: typer.Context, settings: Settings, level: str | None = None) -> None:
    from bot.logs import configure_logging

    configure_logging(settings, level="DEBUG" if _options(ctx).debug else level)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"coopbot {__version__}")
        raise typer.Exit()


@app.callback()
def main_options(
    ctx: typer.Context,
    version: Annotated[
        bool, typer.Option("--version", callback=_version, is_eager=True, help="print the version")
    ] = False,
    debug: Annotated[
        bool, typer.Option("--debug", help="log everything and show tracebacks of failures")
    ] = False,
) -> None:
    """coopbot command line."""
    ctx.obj = Options(debug=debug)


@app.command()
@friendly
def run(ctx: typer.Context, config: ConfigOption = None, db: DbOption = None) -> None:
    """Start the bot: Discord and/or Matrix when configured (else the console, at a terminal)."""
    from bot.runner import run_bot

    settings = _settings(ctx, config, db)
    _logging(ctx, settings)
    os.umask(0o077)  # whatever the bot or its libraries create is the bot user's alone
    raise typer.Exit(asyncio.run(run_bot(settings)))


@app.command()
@friendly
def console(
    ctx: typer.Context,
    config: ConfigOption = None,
    db: DbOption = None,
    user: Annotated[str | None, typer.Option("--user", help="who you are in the console")] = None,
) -> None:
    """The bot on stdin/stdout: one message per line; `@bob: !vote 1 yes` speaks as bob."""
    from bot.runner import run_console

    settings = _settings(ctx, config, db)
    if user:
        settings = settings.model_copy(
            update={"console": settings.console.model_copy(update={"user": user})}
        )
    # Log lines share the terminal with the chat: only warnings, unless asked for more.
    _logging(ctx, settings, None if "log_level" in settings.model_fields_set else "WARNING")
    os.umask(0o077)
    raise typer.Exit(asyncio.run(run_console(settings)))


@app.command()
@friendly
def check(ctx: typer.Context, config: ConfigOption = None, db: DbOption = None) -> None:
    """Check the settings, database, state folders and platform credentials; exit 0 only
    when `coopbot run` would start."""
    from bot.preflight import preflight

    settings = _settings(ctx, config, db)
    _logging(ctx, settings, "ERROR")
    typer.echo(f"ok    settings: {config or 'defaults and environment'}")
    report = asyncio.run(preflight(settings, will_create=False))
    for finding in report.findings:
        for line in finding.lines():
            typer.echo(line)
    if report.failed:
        typer.echo(f"coopbot: {len(report.failed)} problem(s); the bot would not run", err=True)
        raise typer.Exit(1)


@db_app.command("upgrade")
@friendly
def db_upgrade(ctx: typer.Context, config: ConfigOption = None, db: DbOption = None) -> None:
    """Apply the schema migrations (keeps existing data; creates a SQLite file if needed)."""
    from bot.db.engine import make_engine
    from bot.db.migrate import upgrade
    from bot.db.prepare import prepare_sqlite
    from bot.operator_errors import safe_url

    settings = _settings(ctx, config, db)
    prepare_sqlite(settings.database_url, create=True)

    async def _go() -> None:
        engine = make_engine(settings.database_url)
        try:
            await upgrade(engine)
        finally:
            await engine.dispose()

    asyncio.run(_go())
    typer.echo(f"database is up to date ({safe_url(settings.database_url)})")


@db_app.command("current")
@friendly
def db_current(ctx: typer.Context, config: ConfigOption = None, db: DbOption = None) -> None:
    """Show the database's schema revision and the one this version needs."""
    from bot.db.engine import make_engine
    from bot.db.prepare import prepare_sqlite
    from bot.db.status import schema_status
    from bot.operator_errors import safe_url

    settings = _settings(ctx, config, db)
    prepare_sqlite(settings.database_url, create=False)

    async def _go() -> str:
        engine = make_engine(settings.database_url)
        try:
            status = await schema_status(engine)
        finally:
            await engine.dispose()
        typer.echo(f"{safe_url(settings.database_url)}: {status.describe()}")
        return "ok" if status.at_head else "behind"

    if asyncio.run(_go()) != "ok":
        raise typer.Exit(1)


def _sqlite_file(settings: Settings, what: str) -> Path:
    from bot.files import sqlite_path
    from bot.operator_errors import OperatorError

    path = sqlite_path(settings.database_url)
    if path is None:
        raise OperatorError(
            f"coopbot {what} works on SQLite files; this database is PostgreSQL",
            "use pg_dump -Fc -f coopbot.dump DBNAME to back up, and "
            "pg_restore --clean -d DBNAME coopbot.dump to restore (see docs/DEPLOY.md)",
            exit_code=2,
        )
    return path


@db_app.command("backup")
@friendly
def db_backup(
    ctx: typer.Context,
    target: Annotated[Path, typer.Argument(help="the backup file to write (must not exist)")],
    config: ConfigOption = None,
    db: DbOption = None,
) -> None:
    """Copy the live SQLite database to TARGET, consistently, while the bot runs."""
    from bot.db.backup import backup

    settings = _settings(ctx, config, db)
    info = backup(_sqlite_file(settings, "db backup"), target)
    typer.echo(f"backed up to {info.path} ({info.size} bytes, schema {info.revision}, checked)")


@db_app.command("restore")
@friendly
def db_restore(
    ctx: typer.Context,
    source: Annotated[Path, typer.Argument(help="a backup made with `coopbot db backup`")],
    config: ConfigOption = None,
    db: DbOption = None,
) -> None:
    """Replace the SQLite database with SOURCE (refused while the bot runs)."""
    from bot.db.backup import restore

    settings = _settings(ctx, config, db)
    database = _sqlite_file(settings, "db restore")
    kept = restore(source, database)
    typer.echo(f"restored {database} from {source}")
    if kept is not None:
        typer.echo(f"the database it replaced is kept as {kept}")


@app.command()
@friendly
def export(
    ctx: typer.Context,
    kind: Annotated[str, typer.Argument(help="decisions, votes, tasks, contributions or audit")],
    period: Annotated[str, typer.Option("--period", help="week, month, 2026-Q4, all, …")] = "all",
    coop: Annotated[
        int | None, typer.Option("--coop", help="co-op id (needed when there are several)")
    ] = None,
    config: ConfigOption = None,
    db: DbOption = None,
) -> None:
    """Write a CSV export to stdout."""
    from bot.errors import UserError
    from bot.runner import export_csv

    settings = _settings(ctx, config, db)
    try:
        asyncio.run(export_csv(settings, kind, period, coop, sys.stdout))
        sys.stdout.flush()
    except UserError as exc:
        typer.echo(f"coopbot: {exc.message}" + (f" ({exc.hint})" if exc.hint else ""), err=True)
        raise typer.Exit(2) from None


def main() -> None:
    app()
