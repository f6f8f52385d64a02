"""Alembic environment: runs against the connection firewatch hands in (or the URL)."""

from __future__ import annotations

from alembic import context
from sqlalchemy import create_engine

import firewatch.publish.bulletin.models  # noqa: F401  (bulletin: ingest_coverage)
from firewatch.classify import models as _classify_models  # noqa: F401  (classifier)
from firewatch.dispatch import models as _review_models  # noqa: F401  (review app)
from firewatch.spatial import grid_models as _grid_models  # noqa: F401  (grid, issue 3)
from firewatch.store.models import Base

target_metadata = Base.metadata
config = context.config


def run() -> None:
    connection = config.attributes.get("connection")
    if connection is None:
        engine = create_engine(config.get_main_option("sqlalchemy.url") or "sqlite://")
        with engine.begin() as conn:
            _run_with(conn)
    else:
        _run_with(connection)


def _run_with(connection: object) -> None:
    context.configure(
        connection=connection,  # type: ignore[arg-type]
        target_metadata=target_metadata,
        render_as_batch=True,  # SQLite needs batch mode for ALTER
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


if context.is_offline_mode():
    context.configure(url=config.get_main_option("sqlalchemy.url"), target_metadata=target_metadata)
    with context.begin_transaction():
        context.run_migrations()
else:
    run()
