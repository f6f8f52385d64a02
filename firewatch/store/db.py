"""Connecting to the store and migrating it.

``sqlite:///path.db`` is the embedded default (WAL journal, foreign keys on, a busy timeout so the
review app and the daily job can share it); ``postgresql+psycopg://...`` selects PostgreSQL/PostGIS
through the same models and migrations.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event, inspect
from sqlalchemy.engine import make_url

from firewatch.errors import StoreError

__all__ = ["connect", "current_revision", "head_revisions", "upgrade"]

log = logging.getLogger(__name__)

MIGRATIONS = Path(__file__).with_name("migrations")


def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
    cur = dbapi_conn.cursor()
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute("PRAGMA foreign_keys=ON")
    cur.execute("PRAGMA synchronous=NORMAL")
    cur.execute("PRAGMA busy_timeout=30000")
    cur.close()


def connect(url: str, *, echo: bool = False) -> Engine:
    """Create an engine for ``url``; SQLite files get their folder created and pragmas set.

    Raises
    ------
    StoreError
        If the URL cannot be parsed or its driver is not installed.
    """
    try:
        parsed = make_url(url)
    except Exception as exc:  # sqlalchemy raises ArgumentError with a terse message
        raise StoreError(f"not a database URL: {url!r} ({exc})") from exc
    kwargs: dict[str, Any] = {"echo": echo, "future": True}
    if parsed.get_backend_name() == "sqlite":
        db = parsed.database
        if db and db != ":memory:":
            Path(db).expanduser().parent.mkdir(parents=True, exist_ok=True)
        kwargs["connect_args"] = {"timeout": 30, "check_same_thread": False}
    else:
        kwargs["pool_pre_ping"] = True
    try:
        engine = create_engine(parsed, **kwargs)
    except ModuleNotFoundError as exc:
        raise StoreError(
            f"the driver for {parsed.drivername} is not installed ({exc.name}); "
            "for PostGIS: pip install 'firewatch[postgis]'"
        ) from exc
    if parsed.get_backend_name() == "sqlite":
        event.listen(engine, "connect", _sqlite_pragmas)
    return engine


def _alembic_config(engine: Engine) -> Any:
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.set_main_option("sqlalchemy.url", engine.url.render_as_string(hide_password=False))
    return cfg


def upgrade(engine: Engine, revision: str = "heads") -> None:
    """Bring the store's schema up to ``revision`` (all heads by default).  Safe to re-run."""
    from alembic import command

    cfg = _alembic_config(engine)
    with engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, revision)
    log.info("store at %s upgraded to %s", engine.url.render_as_string(), revision)


def head_revisions() -> set[str]:
    """The revisions a fully migrated store is at."""
    from alembic.script import ScriptDirectory

    cfg = _alembic_config(create_engine("sqlite://"))
    return set(ScriptDirectory.from_config(cfg).get_heads())


def current_revision(engine: Engine) -> set[str]:
    """The revisions the store is at now (empty for a new store)."""
    from alembic.runtime.migration import MigrationContext

    with engine.connect() as conn:
        if not inspect(conn).has_table("alembic_version"):
            return set()
        return set(MigrationContext.configure(conn).get_current_heads())


def ensure_current(engine: Engine) -> None:
    """Raise :class:`StoreError` unless the store is fully migrated."""
    cur, heads = current_revision(engine), head_revisions()
    if cur != heads:
        raise StoreError(
            f"the store at {engine.url.render_as_string()} is at {sorted(cur) or 'no revision'}, "
            f"this firewatch needs {sorted(heads)}: run `firewatch db upgrade`"
        )
