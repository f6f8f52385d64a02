"""``firewatch`` command line.  Each area registers its commands in its own module."""

from __future__ import annotations

from firewatch.cli import (
    bulletin,  # noqa: F401  (bulletin, report)
    classify,  # noqa: F401  (train, classify, model card)
    core,  # noqa: F401  (ingest, fetch, attribute, export, daily, db)
    grids,  # noqa: F401  (grids check/info/attribute, chiefs import/list)
    maps,  # noqa: F401  (map)
    scale,  # noqa: F401  (backfill)
    season,  # noqa: F401  (season)
    web,  # noqa: F401  (serve, users, dispatch, watch)
)
from firewatch.cli.app import ExitCode, app

__all__ = ["ExitCode", "app", "main"]


def main() -> None:
    """Console-script entry point."""
    app()
