"""The append-only audit log: who did what, when, from where.

Rows are only ever inserted here; migration ``0004_review`` makes the database refuse UPDATE and
DELETE on the table, so not even a bug elsewhere can rewrite history.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import pandas as pd
from sqlalchemy import Engine, select
from sqlalchemy.engine import Connection

from firewatch.dispatch.models import AuditEntry, table
from firewatch.store.models import utcnow

__all__ = ["SYSTEM", "Actor", "load_audit", "record", "record_many"]


@dataclass(frozen=True)
class Actor:
    """Who is acting and from where (``ip``/``user_agent`` are empty for the system)."""

    username: str
    user_id: int | None = None
    ip: str | None = None
    user_agent: str | None = None


#: The scheduled job and the CLI act as this actor.
SYSTEM = Actor(username="system")


def _row(
    actor: Actor,
    action: str,
    *,
    detection_id: str | None,
    detail: Mapping[str, Any] | None,
    at: dt.datetime,
) -> dict[str, Any]:
    return {
        "at": at,
        "user_id": actor.user_id,
        "username": actor.username[:64],
        "action": action,
        "detection_id": detection_id,
        "detail": json.dumps(detail, ensure_ascii=False, default=str) if detail else None,
        "ip": (actor.ip or None) and actor.ip[:64],
        "user_agent": (actor.user_agent or None) and actor.user_agent[:256],
    }


def record(
    conn: Connection,
    actor: Actor,
    action: str,
    *,
    detection_id: str | None = None,
    detail: Mapping[str, Any] | None = None,
    at: dt.datetime | None = None,
) -> None:
    """Append one entry, inside the caller's transaction (so it commits with the change)."""
    conn.execute(
        table(AuditEntry).insert(),
        [_row(actor, action, detection_id=detection_id, detail=detail, at=at or utcnow())],
    )


def record_many(
    conn: Connection,
    actor: Actor,
    action: str,
    entries: Iterable[tuple[str | None, Mapping[str, Any] | None]],
    *,
    at: dt.datetime | None = None,
) -> int:
    """Append one entry per ``(detection_id, detail)``; returns how many."""
    when = at or utcnow()
    rows = [_row(actor, action, detection_id=d, detail=x, at=when) for d, x in entries]
    if rows:
        conn.execute(table(AuditEntry).insert(), rows)
    return len(rows)


def load_audit(
    engine: Engine,
    *,
    detection_ids: Iterable[str] | None = None,
    limit: int = 500,
) -> pd.DataFrame:
    """The newest audit entries (of some points, or all), newest first."""
    t = table(AuditEntry)
    stmt = select(t).order_by(t.c.id.desc()).limit(limit)
    if detection_ids is not None:
        stmt = stmt.where(t.c.detection_id.in_(list(detection_ids)))
    with engine.connect() as conn:
        rows = conn.execute(stmt).mappings().all()
    return pd.DataFrame(rows, columns=[c.name for c in t.columns])
