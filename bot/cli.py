"""The `coopbot` command line: run, console, db upgrade, export, --version."""

from __future__ import annotations

import asyncio
import logging
import sys
from pathlib import Path
from typing import Annotated

import typer

from bot import __version__
from bot.config import ConfigError, Settings, load_settings

app = typer.Typer(
    add_completion=False,
    no_args_is_help=True,
    help="coopbot: run a co-operative from Discord, Matrix or a terminal.",
)
db_app = typer.Typer(help="Database maintenance.", no_args_is_help=True)
app.add_typer(db_app, name="db")

ConfigOption = Annotated[
    Path | None, typer.Option("--config", "-c", help="TOML config file (see config.example.toml)")
]
DbOption = Annotated[str | None, typer.Option("--db", help="database URL (overrides the config)")]


def _settings(config: Path | None, db: str | None = None) -> Settings:
    overrides = {"database_url": db} if db else {}
    try:
        return load_settings(config, **overrides)
    except ConfigError as exc:
        typer.echo(f"coopbot: {exc}", err=True)
        raise typer.Exit(2) from None


def _logging(settings: Settings) -> None:
    logging.basicConfig(
        level=getattr(logging, settings.log_level.upper(), logging.INFO),
        stream=sys.stderr,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )


def _version(value: bool) -> None:
    if value:
        typer.echo(f"coopbot {__version__}")
        raise typer.Exit()


@app.callback()
def main_options(
    version: Annotated[
        bool, typer.Option("--version", callback=_version, is_eager=True, help="print the version")
    ] = False,
) -> None:
    """coopbot command line."""


@app.command()
def run(config: ConfigOption = None, db: DbOption = None) -> None:
    """Start the bot: Discord and/or Matrix when configured, else the console adapter."""
    from bot.runner import run_bot

    settings = _settings(config, db)
    _logging(settings)
    raise typer.Exit(asyncio.run(run_bot(settings)))


@app.command()
def console(
    config: ConfigOption = None,
    db: DbOption = None,
    user: Annotated[str | None, typer.Option("--user", help="who you are in the console")] = None,
) -> None:
    """The bot on stdin/stdout: one message per line; `@bob: !vote 1 yes` speaks as bob."""
    from bot.runner import run_console

    settings = _settings(config, db)
    if user:
        settings = settings.model_copy(
            update={"console": settings.console.model_copy(update={"user": user})}
        )
    _logging(settings)
    raise typer.Exit(asyncio.run(run_console(settings)))


@db_app.command("upgrade")
def db_upgrade(config: ConfigOption = None, db: DbOption = None) -> None:
    """Apply the schema migrations (keeps existing data)."""
    from bot.db.engine import make_engine
    from bot.db.migrate import upgrade

    settings = _settings(config, db)

    async def _go() -> None:
        engine = make_engine(settings.database_url)
        try:
            await upgrade(engine)
        finally:
            await engine.dispose()

    asyncio.run(_go())
    typer.echo(f"database is up to date ({settings.database_url.split('@')[-1]})")


@app.command()
def export(
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

    settings = _settings(config, db)
    try:
        typer.echo(asyncio.run(export_csv(settings, kind, period, coop)), nl=False)
    except UserError as exc:
        typer.echo(f"coopbot: {exc.message}" + (f" ({exc.hint})" if exc.hint else ""), err=True)
        raise typer.Exit(2) from None


def main() -> None:
    app()
