"""The typer application, global options and exit codes.

This is the only place in firewatch that configures logging.  Commands live in sibling modules
(``ingest.py``, ...) that register themselves on :data:`app`; ``firewatch/cli/__init__.py``
imports them.
"""

from __future__ import annotations

import datetime as dt
import enum
import logging
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, NoReturn, overload

import typer

from firewatch.config import Settings, load_settings

if TYPE_CHECKING:
    from sqlalchemy import Engine

__all__ = ["ExitCode", "State", "app", "fail", "open_store", "parse_date", "state"]


class ExitCode(enum.IntEnum):
    """Documented exit codes of every ``firewatch`` command (see the README)."""

    OK = 0
    ERROR = 1  # unexpected error (a bug, or the environment is broken)
    USAGE = 2  # bad command line (typer/click's own code)
    PARTIAL = 3  # done, but some input rows were quarantined
    REFUSED = 4  # an input file or table was refused whole; nothing was written for it
    UPSTREAM = 5  # an upstream service (FIRMS API, SMTP, webhook) failed or refused the key
    BLOCKING = 6  # a check found blocking problems (e.g. `grids check`)


app = typer.Typer(
    name="firewatch",
    help="Spatial monitor of straw-burning fire points (NASA FIRMS → county/grid → bulletin).",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)


@dataclass
class State:
    settings: Settings
    verbosity: int = 0

    @property
    def show_progress(self) -> bool:
        return sys.stderr.isatty() and self.verbosity >= 0


_state: State | None = None


def state() -> State:
    """The settings and flags of this invocation (set by the top-level callback)."""
    global _state
    if _state is None:  # a command module used without the callback (tests of the module)
        _state = State(settings=load_settings())
    return _state


def fail(message: str, code: ExitCode) -> NoReturn:
    """Print ``message`` to stderr and exit with ``code``."""
    typer.secho(f"firewatch: {message}", fg=typer.colors.RED, err=True)
    raise typer.Exit(int(code))


@app.callback()
def _main(
    db: Annotated[
        str | None,
        typer.Option(
            "--db", help="Store URL (default: FIREWATCH_DATABASE_URL or sqlite:///firewatch.db)."
        ),
    ] = None,
    config: Annotated[
        Path | None,
        typer.Option("--config", help="Settings file (TOML); default firewatch.toml if present."),
    ] = None,
    verbose: Annotated[
        int, typer.Option("--verbose", "-v", count=True, help="More log output.")
    ] = 0,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="Only warnings and errors.")] = False,
) -> None:
    """Global options shared by every command."""
    global _state
    import os

    if config is not None:
        if not config.is_file():
            fail(f"settings file not found: {config}", ExitCode.USAGE)
        os.environ["FIREWATCH_CONFIG"] = str(config)
    overrides = {"database_url": db} if db else {}
    verbosity = -1 if quiet else verbose
    level = {-1: logging.WARNING, 0: logging.INFO, 1: logging.DEBUG}.get(
        min(verbosity, 1), logging.INFO
    )
    logging.basicConfig(
        level=level if verbosity > 0 else logging.WARNING,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
        force=True,
    )
    logging.getLogger("firewatch").setLevel(level if verbosity != 0 else logging.WARNING)
    try:
        settings = load_settings(**overrides)
    except Exception as exc:  # pydantic ValidationError: show which setting is wrong
        fail(f"invalid settings: {exc}", ExitCode.USAGE)
    _state = State(settings=settings, verbosity=verbosity)


def open_store(*, migrate: bool = False) -> Engine:
    """The store of this invocation; ``migrate`` brings its schema up to date first.

    Without ``migrate`` a store that is not at the current schema is refused with the command
    that fixes it (exit 1).
    """
    from firewatch.errors import StoreError
    from firewatch.store import connect, ensure_current, upgrade

    engine = connect(state().settings.database_url)
    try:
        if migrate:
            upgrade(engine)
        else:
            ensure_current(engine)
    except StoreError as exc:
        fail(str(exc), ExitCode.ERROR)
    return engine


@overload
def parse_date(value: str, *, option: str | None = None) -> dt.date: ...
@overload
def parse_date(value: None, *, option: str | None = None) -> None: ...


def parse_date(value: str | None, *, option: str | None = None) -> dt.date | None:
    """A ``YYYY-MM-DD`` option value as a date (``None`` stays ``None``); a usage error if not."""
    if value is None:
        return None
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        raise typer.BadParameter(f"not a date (YYYY-MM-DD): {value!r}", param_hint=option) from None
