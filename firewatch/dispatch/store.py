"""What the review app gives back to the rest of firewatch.

- :func:`load_point_reviews` for maps and bulletins (``firewatch.publish.points.load_points``);
- :func:`load_verdict_labels` for the classifier: ground-truth labels from verdicts.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any, Final

import numpy as np
import pandas as pd
from sqlalchemy import Engine, select

from firewatch.dispatch.models import Assignment, Verdict, table
from firewatch.store.models import utcnow

__all__ = ["REVIEW_STATUSES", "load_point_reviews", "load_verdict_labels", "review_status"]

REVIEW_STATUSES: Final[tuple[str, ...]] = ("pending", "answered", "overdue", "escalated")

_CHUNK = 500


def review_status(
    *,
    status: pd.Series,
    deadline: pd.Series,
    escalation_level: pd.Series,
    now: dt.datetime,
) -> pd.Series:
    """``answered`` when a verdict is in; else ``overdue`` past the deadline; else ``escalated``
    when it has moved up a level; else ``pending``."""
    ts = pd.Timestamp(now)
    dl = pd.to_datetime(deadline, utc=True)
    out = np.select(
        [status.eq("answered"), dl <= ts, escalation_level.gt(0)],
        ["answered", "overdue", "escalated"],
        default="pending",
    )
    return pd.Series(out, index=status.index, dtype=object)


def load_point_reviews(
    engine: Engine, ids: Sequence[str], *, now: dt.datetime | None = None
) -> pd.DataFrame:
    """The review state of points, indexed by ``detection_id`` (only points that were assigned).

    Columns: ``review_status`` (pending | answered | overdue | escalated), ``verdict``
    (straw_burning | industrial | other_fire | nothing_found | None), ``deadline`` (UTC),
    ``answered_at`` (UTC), ``handled_at`` (UTC, when the fire was reported out),
    ``escalation_level`` (0 at the village), ``responsible_level``.
    """
    a = table(Assignment)
    cols = [
        a.c.detection_id,
        a.c.status,
        a.c.verdict,
        a.c.deadline,
        a.c.answered_at,
        a.c.handled_at,
        a.c.escalation_level,
        a.c.responsible_level,
    ]
    ids = list(ids)
    rows: list[Any] = []
    with engine.connect() as conn:
        for i in range(0, len(ids), _CHUNK):
            stmt = select(*cols).where(a.c.detection_id.in_(ids[i : i + _CHUNK]))
            rows.extend(conn.execute(stmt).mappings().all())
    df = pd.DataFrame(rows, columns=[c.name for c in cols])
    for c in ("deadline", "answered_at", "handled_at"):
        df[c] = pd.to_datetime(df[c], utc=True)
    df["escalation_level"] = df["escalation_level"].astype("int64")
    df.insert(
        1,
        "review_status",
        review_status(
            status=df["status"],
            deadline=df["deadline"],
            escalation_level=df["escalation_level"],
            now=now or utcnow(),
        ),
    )
    df["verdict"] = df["verdict"].astype(object).where(df["verdict"].notna(), None)
    return df.drop(columns="status").set_index("detection_id")


def load_verdict_labels(engine: Engine) -> pd.DataFrame:
    """Ground-truth labels for the classifier: the latest verdict on each point.

    Returns a frame with ``detection_id``, ``verdict`` (straw_burning | industrial | other_fire |
    nothing_found), ``decided_at`` (UTC) and ``user_role`` (who gave it: village_member or
    field_chief), one row per point, ordered by ``decided_at``.
    """
    v = table(Verdict)
    stmt = select(v.c.id, v.c.detection_id, v.c.verdict, v.c.decided_at, v.c.user_role).order_by(
        v.c.detection_id, v.c.decided_at, v.c.id
    )
    with engine.connect() as conn:
        rows = conn.execute(stmt).mappings().all()
    df = pd.DataFrame(rows, columns=["id", "detection_id", "verdict", "decided_at", "user_role"])
    df = df.drop_duplicates("detection_id", keep="last").drop(columns="id")
    df["decided_at"] = pd.to_datetime(df["decided_at"], utc=True)
    return df.sort_values(["decided_at", "detection_id"], ignore_index=True)
