"""The review workflow behind the web app: my points, a point, a verdict, "handled".

Every function takes the acting :class:`~firewatch.dispatch.users.User` and filters by their scope
in the query itself (``assignments.grid_code`` starts with the user's code prefix), so a point
outside the scope is indistinguishable from one that does not exist: both raise
:class:`PointNotFound`.
"""

from __future__ import annotations

import datetime as dt
import logging
import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import pandas as pd
from sqlalchemy import Engine, case, select, update
from sqlalchemy.engine import Connection

from firewatch.dispatch import audit
from firewatch.dispatch.assign import _optional_loader
from firewatch.dispatch.models import (
    VERDICTS,
    Assignment,
    AuditEntry,
    ReviewUser,
    Verdict,
    VerdictPhoto,
    table,
)
from firewatch.dispatch.store import review_status
from firewatch.dispatch.users import User
from firewatch.errors import FirewatchError
from firewatch.schema import BEIJING_TZ
from firewatch.store.models import Detection, utcnow

__all__ = [
    "BadVerdict",
    "CheckedPhoto",
    "NotAllowed",
    "PointNotFound",
    "get_photo",
    "get_point",
    "list_points",
    "mark_handled",
    "submit_verdict",
]

log = logging.getLogger(__name__)

MAX_NOTE = 2000


class PointNotFound(FirewatchError, LookupError):
    """No such point in the user's scope (whether it exists elsewhere is not said)."""


class NotAllowed(FirewatchError, PermissionError):
    """The user's role may not do this (e.g. an analyst giving a verdict)."""


class BadVerdict(FirewatchError, ValueError):
    """A verdict form was invalid (unknown verdict, note too long)."""


@dataclass(frozen=True)
class CheckedPhoto:
    """A photo whose content was checked (see :func:`firewatch.web.photos.check_photo`)."""

    filename: str
    content_type: str
    data: bytes
    sha256: str
    width: int
    height: int
    gps_lat: float | None = None
    gps_lon: float | None = None
    taken_at: str | None = None


def haversine_m(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Great-circle distance in metres."""
    r = 6_371_008.8
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lon2 - lon1)
    h = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * r * math.asin(math.sqrt(h))


def _in_scope(user: User) -> Any:
    return table(Assignment).c.grid_code.startswith(user.scope, autoescape=True)


def _bjt(t: dt.datetime | None) -> str | None:
    if t is None:
        return None
    return pd.Timestamp(t).tz_convert(BEIJING_TZ).strftime("%Y-%m-%d %H:%M")


def _status(rows: list[dict[str, Any]], now: dt.datetime) -> None:
    if not rows:
        return
    df = pd.DataFrame(rows)
    st = review_status(
        status=df["status"],
        deadline=df["deadline"],
        escalation_level=df["escalation_level"],
        now=now,
    )
    for r, s in zip(rows, st, strict=True):
        r["review_status"] = s


LIST_STATUSES = ("open", "answered", "all")


def list_points(
    engine: Engine,
    user: User,
    *,
    status: str = "all",
    limit: int = 500,
    now: dt.datetime | None = None,
) -> list[dict[str, Any]]:
    """The user's points, open ones first by deadline (most urgent), then the newest answered."""
    if status not in LIST_STATUSES:
        raise BadVerdict(f"status must be one of {', '.join(LIST_STATUSES)}")
    now = now or utcnow()
    a, d = table(Assignment), table(Detection)
    is_open = case((a.c.status == "open", 0), else_=1)
    stmt = (
        select(
            a.c.detection_id,
            a.c.grid_code,
            a.c.grid_name,
            a.c.responsible_level,
            a.c.escalation_level,
            a.c.deadline,
            a.c.status,
            a.c.verdict,
            a.c.answered_at,
            a.c.handled_at,
            a.c.acq_time_utc,
            d.c.latitude,
            d.c.longitude,
            d.c.satellite,
            d.c.frp,
            d.c.county_name,
            d.c.city_name,
        )
        .join(d, d.c.detection_id == a.c.detection_id)
        .where(_in_scope(user))
        .order_by(
            is_open,
            case((a.c.status == "open", a.c.deadline), else_=None),
            a.c.acq_time_utc.desc(),
            a.c.detection_id,
        )
        .limit(max(1, min(limit, 5000)))
    )
    if status != "all":
        stmt = stmt.where(a.c.status == status)
    with engine.connect() as conn:
        rows = [dict(r) for r in conn.execute(stmt).mappings()]
    _status(rows, now)
    for r in rows:
        r["acq_time_bjt"] = _bjt(r["acq_time_utc"])
        r["deadline_bjt"] = _bjt(r["deadline"])
        r["verdict_label"] = VERDICTS.get(r["verdict"] or "", "")
    return rows


def _point_row(conn: Connection, user: User, detection_id: str) -> dict[str, Any]:
    a, d = table(Assignment), table(Detection)
    stmt = (
        select(
            a,
            d.c.latitude,
            d.c.longitude,
            d.c.satellite,
            d.c.instrument,
            d.c.product,
            d.c.frp,
            d.c.scan,
            d.c.track,
            d.c.confidence_level,
            d.c.confidence_score,
            d.c.daynight,
            d.c.county_name,
            d.c.county_code,
            d.c.city_name,
        )
        .join(d, d.c.detection_id == a.c.detection_id)
        .where(a.c.detection_id == detection_id)
        .where(_in_scope(user))
    )
    row = conn.execute(stmt).mappings().first()
    if row is None:
        raise PointNotFound(detection_id)
    return dict(row)


def get_point(
    engine: Engine, user: User, detection_id: str, *, now: dt.datetime | None = None
) -> dict[str, Any]:
    """One point in the user's scope with its verdicts, photos, class and history.

    Raises
    ------
    PointNotFound
        If the point is not assigned or not in the user's scope.
    """
    now = now or utcnow()
    v, u, p, au = table(Verdict), table(ReviewUser), table(VerdictPhoto), table(AuditEntry)
    with engine.connect() as conn:
        point = _point_row(conn, user, detection_id)
        verdicts = [
            dict(r)
            for r in conn.execute(
                select(
                    v.c.id,
                    v.c.verdict,
                    v.c.note,
                    v.c.decided_at,
                    v.c.user_role,
                    u.c.display_name,
                )
                .join(u, u.c.id == v.c.user_id)
                .where(v.c.detection_id == detection_id)
                .order_by(v.c.decided_at.desc(), v.c.id.desc())
            ).mappings()
        ]
        photos = [
            dict(r)
            for r in conn.execute(
                select(
                    p.c.id,
                    p.c.verdict_id,
                    p.c.filename,
                    p.c.width,
                    p.c.height,
                    p.c.gps_lat,
                    p.c.gps_lon,
                    p.c.gps_distance_m,
                    p.c.taken_at,
                )
                .where(p.c.detection_id == detection_id)
                .order_by(p.c.id)
            ).mappings()
        ]
        history = [
            dict(r)
            for r in conn.execute(
                select(au.c.at, au.c.username, au.c.action, au.c.detail)
                .where(au.c.detection_id == detection_id)
                .order_by(au.c.id)
            ).mappings()
        ]
    _status([point], now)
    for vd in verdicts:
        vd["label"] = VERDICTS.get(vd["verdict"], vd["verdict"])
        vd["decided_bjt"] = _bjt(vd["decided_at"])
        vd["photos"] = [ph for ph in photos if ph["verdict_id"] == vd["id"]]
    for h in history:
        h["at_bjt"] = _bjt(h["at"])
    point.update(
        verdicts=verdicts,
        photos=photos,
        history=history,
        acq_time_bjt=_bjt(point["acq_time_utc"]),
        deadline_bjt=_bjt(point["deadline"]),
        answered_bjt=_bjt(point["answered_at"]),
        handled_bjt=_bjt(point["handled_at"]),
        verdict_label=VERDICTS.get(point["verdict"] or "", ""),
    )
    point.update(_point_class(engine, detection_id))
    point["grid_synthetic"] = _grid_synthetic(engine, detection_id)
    return point


def _grid_synthetic(engine: Engine, detection_id: str) -> bool:
    """Whether the point's grid cell comes from a synthetic (demo) grid (issue 3)."""
    loader = _optional_loader(
        "firewatch.spatial.grid", "load_point_grid", "grid_attributions", engine
    )
    if loader is None:
        return False
    grid = loader(engine, [detection_id])
    if detection_id not in grid.index or "grid_synthetic" not in grid:
        return False
    return bool(grid.loc[detection_id, "grid_synthetic"])


def _point_class(engine: Engine, detection_id: str) -> dict[str, Any]:
    """The classifier's class and explanation (issue 4), when that area is installed."""
    loader = _optional_loader(
        "firewatch.classify.store", "load_point_classes", "classifications", engine
    )
    empty = {"fp_class": None, "p_straw": None, "fp_explanation": None}
    if loader is None:
        return empty
    cls = loader(engine, [detection_id])
    if detection_id not in cls.index:
        return empty
    row = cls.loc[detection_id]
    return {k: (None if pd.isna(row.get(k)) else row.get(k)) for k in empty}


def _require_reviewer(user: User) -> None:
    if not user.can_review:
        raise NotAllowed(f"a {user.role} reads points but does not give verdicts")


def submit_verdict(
    engine: Engine,
    user: User,
    detection_id: str,
    *,
    verdict: str,
    note: str | None = None,
    photos: Sequence[CheckedPhoto] = (),
    actor: audit.Actor,
    now: dt.datetime | None = None,
) -> int:
    """Record a verdict (with its photos) on a point in the user's scope; returns its id.

    A later verdict on the same point replaces it as the point's verdict; all are kept.

    Raises
    ------
    PointNotFound
        If the point is not in the user's scope.
    NotAllowed
        If the user's role does not give verdicts.
    BadVerdict
        If ``verdict`` is unknown or the note is too long.
    """
    now = now or utcnow()
    note = (note or "").strip() or None
    with engine.begin() as conn:
        point = _point_row(conn, user, detection_id)
        _require_reviewer(user)
        if verdict not in VERDICTS:
            raise BadVerdict(f"verdict must be one of {', '.join(VERDICTS)}")
        if note and len(note) > MAX_NOTE:
            raise BadVerdict(f"the note is longer than {MAX_NOTE} characters")
        res = conn.execute(
            table(Verdict)
            .insert()
            .values(
                detection_id=detection_id,
                user_id=user.id,
                user_role=user.role,
                verdict=verdict,
                note=note,
                decided_at=now,
                ip=actor.ip,
            )
        )
        vid = int(res.inserted_primary_key[0])  # type: ignore[index]
        photo_rows = []
        for ph in photos:
            dist = (
                haversine_m(point["latitude"], point["longitude"], ph.gps_lat, ph.gps_lon)
                if ph.gps_lat is not None and ph.gps_lon is not None
                else None
            )
            photo_rows.append(
                {
                    "verdict_id": vid,
                    "detection_id": detection_id,
                    "filename": ph.filename[:128],
                    "content_type": ph.content_type,
                    "size_bytes": len(ph.data),
                    "sha256": ph.sha256,
                    "width": ph.width,
                    "height": ph.height,
                    "gps_lat": ph.gps_lat,
                    "gps_lon": ph.gps_lon,
                    "gps_distance_m": dist,
                    "taken_at": ph.taken_at,
                    "uploaded_at": now,
                    "data": ph.data,
                }
            )
        if photo_rows:
            conn.execute(table(VerdictPhoto).insert(), photo_rows)
        conn.execute(
            update(Assignment)
            .where(table(Assignment).c.detection_id == detection_id)
            .values(status="answered", verdict=verdict, verdict_id=vid, answered_at=now)
        )
        audit.record(
            conn,
            actor,
            "verdict",
            detection_id=detection_id,
            detail={
                "verdict": verdict,
                "verdict_id": vid,
                "previous": point["verdict"],
                "photos": [ph.sha256[:16] for ph in photos],
                "note_chars": len(note or ""),
            },
            at=now,
        )
    return vid


def mark_handled(
    engine: Engine,
    user: User,
    detection_id: str,
    *,
    actor: audit.Actor,
    now: dt.datetime | None = None,
) -> bool:
    """Record that the fire at a point is out; ``False`` when it was recorded already.

    Raises
    ------
    PointNotFound, NotAllowed
        As for :func:`submit_verdict`.
    """
    now = now or utcnow()
    a = table(Assignment)
    with engine.begin() as conn:
        point = _point_row(conn, user, detection_id)
        _require_reviewer(user)
        if point["handled_at"] is not None:
            return False
        conn.execute(
            update(Assignment)
            .where(a.c.detection_id == detection_id, a.c.handled_at.is_(None))
            .values(handled_at=now, handled_by=user.id)
        )
        audit.record(conn, actor, "handled", detection_id=detection_id, at=now)
    return True


def get_photo(engine: Engine, user: User, detection_id: str, photo_id: int) -> tuple[bytes, str]:
    """A photo's bytes and content type, for a point in the user's scope.

    Raises
    ------
    PointNotFound
        If the point is out of scope or the photo is not one of that point's.
    """
    p = table(VerdictPhoto)
    with engine.connect() as conn:
        _point_row(conn, user, detection_id)
        row = conn.execute(
            select(p.c.data, p.c.content_type).where(
                p.c.id == photo_id, p.c.detection_id == detection_id
            )
        ).first()
    if row is None:
        raise PointNotFound(f"{detection_id}/{photo_id}")
    return bytes(row[0]), str(row[1])


def load_audit_in_scope(engine: Engine, user: User, *, limit: int = 300) -> list[dict[str, Any]]:
    """Audit entries an administrator may read: everything for a province-level admin, else the
    entries about points in their scope."""
    au, a = table(AuditEntry), table(Assignment)
    stmt = select(au).order_by(au.c.id.desc()).limit(limit)
    if user.level != "province":
        stmt = stmt.join(a, a.c.detection_id == au.c.detection_id).where(_in_scope(user))
    with engine.connect() as conn:
        rows = [dict(r) for r in conn.execute(stmt).mappings()]
    for r in rows:
        r["at_bjt"] = _bjt(r["at"])
    return rows
