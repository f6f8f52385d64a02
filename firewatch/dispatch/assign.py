"""Assignment of fire points to the cells that answer for them; deadlines, reminders, escalation.

A new point goes to the village cell it fell in (from the grid attribution, issue 3), or to its
county when no grid covers it.  It gets a deadline (``review.deadline_hours``); a reminder goes
out ``review.reminder_before_hours`` before it; when it passes with no verdict the point
escalates to the next level up (village → township → county → city [→ province]) with a fresh
deadline (``review.escalation_hours``), until ``review.escalate_up_to``.

Every step is idempotent: a point is assigned once (its key is the detection id), a reminder is
sent once per level, an escalation happens once per level, and their notifications are keyed by
event in the outbox.  Running the job twice on the same data changes nothing the second time.
"""

from __future__ import annotations

import datetime as dt
import importlib
import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import pandas as pd
from sqlalchemy import Engine, and_, inspect, select, update
from sqlalchemy.engine import Connection

from firewatch.config import Settings
from firewatch.dispatch import audit
from firewatch.dispatch.codes import LEVELS, code_level, normalise_code, parent_code
from firewatch.dispatch.models import Assignment, table
from firewatch.dispatch.notify import DeliveryResult, Event, Notifier, deliver, enqueue
from firewatch.schema import BEIJING_TZ
from firewatch.store.models import Detection, utcnow
from firewatch.store.repo import beijing_day_bounds

__all__ = [
    "DispatchResult",
    "assign_new",
    "point_grid",
    "remind_and_escalate",
    "run_dispatch",
]

log = logging.getLogger(__name__)

GRID_COLUMNS = (
    "township_code",
    "township_name",
    "village_code",
    "village_name",
    "grid_flags",
    "field_chief",
    "grid_member",
)


def _optional_loader(module: str, func: str, table: str, engine: Engine) -> Any | None:
    """An area's loader when that area is installed and its table migrated, else ``None``."""
    if table not in inspect(engine).get_table_names():
        return None
    try:
        mod = importlib.import_module(module)
    except ModuleNotFoundError as exc:
        if exc.name is not None and module.startswith(exc.name):
            return None
        raise
    return getattr(mod, func, None)


def point_grid(engine: Engine, ids: Sequence[str]) -> pd.DataFrame:
    """The village cell and chiefs of each point (issue 3's ``load_point_grid``), when available.

    Returns a frame indexed by ``detection_id`` with :data:`GRID_COLUMNS`; empty when the grid
    area is not installed or has no attribution for these points.
    """
    loader = _optional_loader(
        "firewatch.spatial.grid", "load_point_grid", "grid_attributions", engine
    )
    if loader is None or not ids:
        return pd.DataFrame(columns=list(GRID_COLUMNS), index=pd.Index([], name="detection_id"))
    grid = loader(engine, list(ids))
    for c in GRID_COLUMNS:
        if c not in grid:
            grid[c] = None
    return grid.loc[:, list(GRID_COLUMNS)]


def _point_classes(engine: Engine, ids: Sequence[str]) -> pd.DataFrame | None:
    loader = _optional_loader(
        "firewatch.classify.store", "load_point_classes", "classifications", engine
    )
    return None if loader is None or not ids else loader(engine, list(ids))


def _str(v: Any) -> str | None:
    return None if v is None or (isinstance(v, float) and pd.isna(v)) or v is pd.NA else str(v)


def _bjt(t: dt.datetime) -> str:
    return pd.Timestamp(t).tz_convert(BEIJING_TZ).strftime("%m-%d %H:%M")


def _event(
    kind: str,
    key: str,
    r: Mapping[str, Any],
    settings: Settings,
    *,
    responsible_code: str | None = None,
    shown: Mapping[str, Any] | None = None,
) -> Event:
    """A notification event about assignment row ``r`` (``key`` makes it sent at most once)."""
    return Event(
        key=key,
        kind=kind,
        detection_id=r["detection_id"],
        grid_code=r["grid_code"],
        responsible_code=responsible_code or r["responsible_code"],
        line=_line(shown if shown is not None else r, settings),
    )


def _line(a: Mapping[str, Any], settings: Settings) -> str:
    """One line of a notification about one point (no names or phones: it goes to groups)."""
    place = " ".join(x for x in (a.get("county_name"), a.get("grid_name")) if x)
    base = settings.review.base_url.rstrip("/")
    return (
        f"· {_bjt(a['acq_time_utc'])} 北京时间 {place} "
        f"({a['latitude']:.4f}N, {a['longitude']:.4f}E) 截止 {_bjt(a['deadline'])} "
        f"{base}/points/{a['detection_id']}"
    )


def _unassigned(
    conn: Connection, settings: Settings, days: Sequence[dt.date] | None
) -> pd.DataFrame:
    d, a = table(Detection), table(Assignment)
    stmt = (
        select(
            d.c.detection_id,
            d.c.acq_time_utc,
            d.c.latitude,
            d.c.longitude,
            d.c.county_code,
            d.c.county_name,
            d.c.city_name,
        )
        .select_from(d.outerjoin(a, a.c.detection_id == d.c.detection_id))
        .where(a.c.detection_id.is_(None))
        .where(d.c.region.in_(settings.review.assign_regions))
        .order_by(d.c.acq_time_utc, d.c.detection_id)
    )
    if days is not None:
        start, end = beijing_day_bounds(min(days), max(days))
        stmt = stmt.where(d.c.acq_time_utc >= start, d.c.acq_time_utc < end)
    rows = conn.execute(stmt).mappings().all()
    return pd.DataFrame(rows, columns=list(stmt.selected_columns.keys()))


def _default_days(now: dt.datetime) -> list[dt.date]:
    today = pd.Timestamp(now).tz_convert(BEIJING_TZ).date()
    return [today - dt.timedelta(days=1), today]


def assign_new(
    engine: Engine,
    settings: Settings,
    *,
    days: Sequence[dt.date] | None = None,
    now: dt.datetime | None = None,
    grid: pd.DataFrame | None = None,
) -> list[str]:
    """Assign the stored points of ``days`` (Beijing time) that have no assignment yet.

    Parameters
    ----------
    days
        Beijing-time days whose points to assign; yesterday and today relative to ``now`` by
        default.
    now
        The time of the run (deadlines count from it).
    grid
        The points' grid attribution (:data:`GRID_COLUMNS`, indexed by ``detection_id``); read
        with :func:`point_grid` when not given.

    Returns
    -------
    list of str
        The detection ids newly assigned; their notifications are queued in the same
        transaction.
    """
    now = now or utcnow()
    days = list(days) if days is not None else _default_days(now)
    with engine.connect() as conn:
        pts = _unassigned(conn, settings, days)
    if pts.empty:
        return []
    ids = pts["detection_id"].tolist()
    skip = set(settings.review.skip_classes)
    if skip:
        classes = _point_classes(engine, ids)
        if classes is not None and "fp_class" in classes:
            drop = set(classes.index[classes["fp_class"].isin(skip)])
            if drop:
                log.info("%d point(s) of classes %s not sent for a ground check", len(drop), skip)
                pts = pts[~pts["detection_id"].isin(drop)]
    if grid is None:
        grid = point_grid(engine, pts["detection_id"].tolist())
    pts = pts.join(grid.reindex(columns=list(GRID_COLUMNS)), on="detection_id")
    village = pts["village_code"].map(_str)
    has_village = village.notna()
    county = pts["county_code"].map(lambda c: normalise_code(c) if _str(c) else None)
    pts = pts.assign(
        grid_code=village.where(has_village, county),
        grid_level=has_village.map({True: "village", False: "county"}),
        grid_name=pd.Series(
            [
                " ".join(x for x in (_str(t), _str(v)) if x) if hv else _str(cn)
                for t, v, cn, hv in zip(
                    pts["township_name"],
                    pts["village_name"],
                    pts["county_name"],
                    has_village,
                    strict=True,
                )
            ],
            index=pts.index,
            dtype=object,
        ),
        grid_flags=pd.Series(
            [
                # Keep the grid's own flags (e.g. outside_grid) and say why it went to the county.
                _str(f) if hv else ",".join(x for x in (_str(f), "no_grid") if x)
                for f, hv in zip(pts["grid_flags"], has_village, strict=True)
            ],
            index=pts.index,
            dtype=object,
        ),
    )
    nowhere = pts["grid_code"].isna()
    if nowhere.any():
        log.warning("%d point(s) with neither village nor county: not assigned", nowhere.sum())
        pts = pts[~nowhere]
    deadline = now + dt.timedelta(hours=settings.review.deadline_hours)
    rows = [
        {
            "detection_id": r["detection_id"],
            "grid_code": r["grid_code"],
            "grid_level": r["grid_level"],
            "grid_name": r["grid_name"],
            "responsible_code": r["grid_code"],
            "responsible_level": r["grid_level"],
            "escalation_level": 0,
            "field_chief": _str(r["field_chief"]),
            "grid_member": _str(r["grid_member"]),
            "grid_flags": r["grid_flags"],
            "acq_time_utc": r["acq_time_utc"],
            "assigned_at": now,
            "deadline": deadline,
            "status": "open",
        }
        for r in pts.to_dict("records")
    ]
    created: list[str] = []
    with engine.begin() as conn:
        created = _insert_new(conn, rows)
        if not created:
            return []
        new = set(created)
        details: dict[str, dict[str, Any]] = {
            str(r["detection_id"]): {str(k): v for k, v in r.items()}
            for r in pts.to_dict("records")
        }
        audit.record_many(
            conn,
            audit.SYSTEM,
            "assigned",
            [
                (
                    r["detection_id"],
                    {"grid_code": r["grid_code"], "deadline": deadline.isoformat()},
                )
                for r in rows
                if r["detection_id"] in new
            ],
            at=now,
        )
        events = [
            _event(
                "assignment",
                f"assign:{r['detection_id']}",
                r,
                settings,
                responsible_code=r["grid_code"],
                shown=details[r["detection_id"]] | r,
            )
            for r in rows
            if r["detection_id"] in new
        ]
        enqueue(conn, settings, events, now=now)
    log.info("%d point(s) assigned, deadline %s", len(created), deadline.isoformat())
    return created


def _insert_new(conn: Connection, rows: list[dict[str, Any]]) -> list[str]:
    """Insert assignments that do not exist yet; returns the ids that were new."""
    if not rows:
        return []
    a = table(Assignment)
    ids = [r["detection_id"] for r in rows]
    existing: set[str] = set()
    for i in range(0, len(ids), 500):
        existing.update(
            conn.execute(select(a.c.detection_id).where(a.c.detection_id.in_(ids[i : i + 500])))
            .scalars()
            .all()
        )
    fresh = [r for r in rows if r["detection_id"] not in existing]
    if fresh:
        conn.execute(a.insert(), fresh)
    return [r["detection_id"] for r in fresh]


def _next_level(level: str, top: str) -> str | None:
    i = LEVELS.index(level)
    if i >= LEVELS.index(top) or i + 1 >= len(LEVELS):
        return None
    return LEVELS[i + 1]


def _open_with_context(conn: Connection, where: Any) -> list[dict[str, Any]]:
    a, d = table(Assignment), table(Detection)
    stmt = (
        select(a, d.c.latitude, d.c.longitude, d.c.county_name)
        .join(d, d.c.detection_id == a.c.detection_id)
        .where(a.c.status == "open")
        .where(where)
        .order_by(a.c.deadline, a.c.detection_id)
    )
    return [dict(r) for r in conn.execute(stmt).mappings()]


def remind_and_escalate(
    engine: Engine, settings: Settings, *, now: dt.datetime | None = None
) -> tuple[int, int]:
    """Send due reminders and escalate overdue points one level up.

    Returns ``(reminders, escalations)``.  A point overdue at the top level is reported once as
    ``overdue`` and stays with that level.
    """
    now = now or utcnow()
    cfg = settings.review
    a = table(Assignment)
    before = dt.timedelta(hours=cfg.reminder_before_hours)
    reminders = escalations = 0
    with engine.begin() as conn:
        due = _open_with_context(conn, and_(a.c.reminded_at.is_(None), a.c.deadline > now))
        # Deadline arithmetic is done here rather than in SQL, the same way on every backend.
        due = [r for r in due if r["deadline"] - before <= now]
        events = []
        for r in due:
            conn.execute(
                update(Assignment)
                .where(a.c.detection_id == r["detection_id"], a.c.reminded_at.is_(None))
                .values(reminded_at=now)
            )
            events.append(
                _event(
                    "reminder", f"remind:{r['detection_id']}:{r['escalation_level']}", r, settings
                )
            )
        reminders = len(events)
        audit.record_many(
            conn,
            audit.SYSTEM,
            "reminded",
            [(r["detection_id"], {"level": r["responsible_level"]}) for r in due],
            at=now,
        )

        overdue = _open_with_context(conn, a.c.deadline <= now)
        escalated: list[tuple[str, dict[str, Any]]] = []
        top_overdue: list[tuple[str, dict[str, Any]]] = []
        new_deadline = now + dt.timedelta(hours=cfg.escalation_hours)
        for r in overdue:
            level = _next_level(r["responsible_level"], cfg.escalate_up_to)
            if level is None:
                if r["escalated_at"] is None or r["escalated_at"] < r["deadline"]:
                    # Report an overdue point at the top once: mark it like an escalation that
                    # stays in place, so the next run does not report it again.
                    conn.execute(
                        update(Assignment)
                        .where(a.c.detection_id == r["detection_id"])
                        .values(escalated_at=now)
                    )
                    top_overdue.append((r["detection_id"], {"level": r["responsible_level"]}))
                    events.append(
                        _event(
                            "overdue",
                            f"overdue:{r['detection_id']}:{r['escalation_level']}",
                            r,
                            settings,
                        )
                    )
                continue
            code = parent_code(r["responsible_code"])
            while code is not None and code_level(code) != level:
                code = parent_code(code)
            if code is None:  # pragma: no cover - LEVELS and codes agree
                continue
            n = conn.execute(
                update(Assignment)
                .where(
                    a.c.detection_id == r["detection_id"],
                    a.c.escalation_level == r["escalation_level"],
                    a.c.status == "open",
                )
                .values(
                    responsible_code=code,
                    responsible_level=level,
                    escalation_level=r["escalation_level"] + 1,
                    deadline=new_deadline,
                    reminded_at=None,
                    escalated_at=now,
                )
            ).rowcount
            if n != 1:
                continue
            escalated.append(
                (r["detection_id"], {"from": r["responsible_code"], "to": code, "level": level})
            )
            events.append(
                _event(
                    "escalation",
                    f"escalate:{r['detection_id']}:{r['escalation_level'] + 1}",
                    r,
                    settings,
                    responsible_code=code,
                    shown=r | {"deadline": new_deadline},
                )
            )
        escalations = len(escalated)
        audit.record_many(conn, audit.SYSTEM, "escalated", escalated, at=now)
        audit.record_many(conn, audit.SYSTEM, "overdue", top_overdue, at=now)
        enqueue(conn, settings, events, now=now)
    if reminders or escalations or top_overdue:
        log.info(
            "%d reminder(s), %d escalation(s), %d overdue at the top level",
            reminders,
            escalations,
            len(top_overdue),
        )
    return reminders, escalations


@dataclass
class DispatchResult:
    """What one dispatch run did."""

    assigned: list[str] = field(default_factory=list)
    reminders: int = 0
    escalations: int = 0
    delivery: DeliveryResult | None = None


def run_dispatch(
    engine: Engine,
    settings: Settings,
    *,
    days: Sequence[dt.date] | None = None,
    now: dt.datetime | None = None,
    send: bool = True,
    notifier: Notifier | None = None,
    grid: pd.DataFrame | None = None,
) -> DispatchResult:
    """Assign new points, remind, escalate, then send what is queued (when a channel is set up).

    See :func:`assign_new` for ``days``, ``now`` and ``grid``; ``send=False`` only queues.
    """
    now = now or utcnow()
    result = DispatchResult(assigned=assign_new(engine, settings, days=days, now=now, grid=grid))
    result.reminders, result.escalations = remind_and_escalate(engine, settings, now=now)
    if send and settings.notify.configured:
        result.delivery = deliver(engine, settings, notifier=notifier, now=now)
    return result
