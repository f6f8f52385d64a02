"""The points that maps and bulletins show: detections joined with every area's findings.

Each area owns its tables and exposes one loader returning a frame indexed by ``detection_id``:
the grid (village cell and chiefs on duty), the classifier (class, probability, explanation) and
the review app (status, verdict).  This module joins what is installed and migrated, and makes the
public edition by dropping every column that carries personal data.
"""

from __future__ import annotations

import datetime as dt
import importlib
import logging
from collections.abc import Callable, Sequence
from typing import Literal

import pandas as pd
from sqlalchemy import Engine, inspect

from firewatch.store import repo

__all__ = ["AREA_LOADERS", "PERSONAL_COLUMNS", "load_points", "public_edition"]

log = logging.getLogger(__name__)

#: Columns that name or reach a person; never in a public edition.
PERSONAL_COLUMNS: tuple[str, ...] = (
    "field_chief",
    "field_chief_phone",
    "grid_member",
    "grid_member_phone",
    "chiefs",
    "reviewer",
    "reviewer_phone",
    "review_note",
)

#: (module, function, table that must exist) for each area's loader.
AREA_LOADERS: tuple[tuple[str, str, str], ...] = (
    ("firewatch.spatial.grid", "load_point_grid", "grid_attributions"),
    ("firewatch.classify.store", "load_point_classes", "classifications"),
    ("firewatch.dispatch.store", "load_point_reviews", "assignments"),
)


def public_edition(points: pd.DataFrame) -> pd.DataFrame:
    """Drop every column with personal data (names, phones, notes)."""
    personal = [c for c in points.columns if c in PERSONAL_COLUMNS or c.endswith("_phone")]
    return points.drop(columns=personal)


def _loader(module: str, func: str) -> Callable[[Engine, Sequence[str]], pd.DataFrame] | None:
    try:
        mod = importlib.import_module(module)
    except ModuleNotFoundError as exc:
        if exc.name is not None and module.startswith(exc.name):
            return None  # the area is not part of this installation
        raise
    return getattr(mod, func, None)


def load_points(
    engine: Engine,
    *,
    first: dt.date,
    last: dt.date | None = None,
    edition: Literal["internal", "public"] = "internal",
    region: Sequence[str] = ("province",),
) -> pd.DataFrame:
    """Detections of Beijing-time days ``first``..``last`` with grid, class and review columns.

    Columns of an area appear only when that area's tables exist in the store; the grid's
    personal columns (chiefs' names and phones) are dropped in the public edition.
    """
    points = repo.load_detections(engine, first=first, last=last or first, region=region)
    tables = set(inspect(engine).get_table_names())
    ids = points["detection_id"].tolist()
    for module, func, table in AREA_LOADERS:
        if table not in tables:
            continue
        loader = _loader(module, func)
        if loader is None:
            log.debug("%s.%s not available; its columns are left out", module, func)
            continue
        extra = loader(engine, ids)
        extra = extra.drop(
            columns=[c for c in extra.columns if c in points.columns], errors="ignore"
        )
        points = points.join(extra, on="detection_id")
    if edition == "public":
        points = public_edition(points)
    elif edition != "internal":
        raise ValueError(f"edition must be 'internal' or 'public', not {edition!r}")
    return points
