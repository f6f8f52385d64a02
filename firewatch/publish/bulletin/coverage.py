"""Which Beijing-time days the store has data for, and why a day shows nothing.

A bulletin must never pass off an empty table as "no fires".  Four cases are told apart:

``points``
    The store has fire points in the province for the day.
``no_points``
    Data covering the day were ingested and none of their detections lies in the province.
``no_data``
    No data cover the day although the store was fed around it: a recorded failure (an API
    request that failed, a refused file) for the day, or a gap between covered days (no pass
    captured, source down).
``not_ingested``
    Nothing was ever ingested for the day: it lies before or after everything the store covers.

"Covered" is recorded per ingestion run in ``ingest_coverage`` (see :func:`record_coverage`):
an API run covers the UTC days it asked for; a file covers the span from its first to its last
acquisition time (all rows read, inside the region or not, so a day whose only detections lie
in Russia still counts as covered); a file with no rows covers the UTC days its name gives.
Runs recorded without coverage (a crash between the two writes, stores filled before this
table existed) fall back to the same rules applied to their origin and their stored detections.
"""

from __future__ import annotations

import datetime as dt
import logging
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import PurePath
from typing import Literal

import pandas as pd
from sqlalchemy import Engine, delete, func, insert, inspect, select

from firewatch.schema import BEIJING_TZ
from firewatch.store.models import Detection, IngestRun

__all__ = [
    "DayKind",
    "DayStatus",
    "coverage_intervals",
    "day_status",
    "day_statuses",
    "load_coverage",
    "record_coverage",
    "record_failed_request",
]

log = logging.getLogger(__name__)

DayKind = Literal["points", "no_points", "no_data", "not_ingested"]

#: Run statuses whose data count as coverage; the others are failures.
_GOOD = ("ok", "partial")
_FAILED = ("failed", "refused")

_API = re.compile(
    r"/api/area/csv/[^/\s]+/(?P<source>[A-Z0-9_]+)/[^/\s]+/(?P<range>\d{1,2})"
    r"(?:/(?P<date>\d{4}-\d{2}-\d{2}))?"
)
_NAME_RANGE = re.compile(r"(\d{4}-\d{2}-\d{2})(?:_to_|_|--|~)(\d{4}-\d{2}-\d{2})")
_NAME_DAY = re.compile(r"(?<!\d)(\d{4}-\d{2}-\d{2})(?!\d)")

_COLUMNS = ["run_id", "product", "start_utc", "end_utc", "basis", "rows"]


def _utc_day(value: str) -> pd.Timestamp:
    return pd.Timestamp(value, tz="UTC")


def intervals_from_origin(origin: str, *, has_rows: bool) -> pd.DataFrame:
    """Coverage claimed by a run's origin: an API request's days, or a file name's days.

    File names are only used for runs without rows (a refused or empty file): a name like
    ``..._2019-04-06_to_2019-04-06.txt`` is what its saver called it, while the rows of a file
    that has rows say exactly which hours it holds.
    """
    rows = []
    for m in _API.finditer(origin):
        if m["date"] is None:  # "the latest N days": unknown without the request time
            continue
        start = _utc_day(m["date"])
        rows.append((m["source"], start, start + pd.Timedelta(days=int(m["range"])), "request"))
    if not rows and not has_rows:
        name = PurePath(origin).name
        rng = _NAME_RANGE.search(name)
        days = (rng[1], rng[2]) if rng else None
        if days is None:
            one = _NAME_DAY.search(name)
            days = (one[1], one[1]) if one else None
        if days is not None:
            first, last = _utc_day(days[0]), _utc_day(days[1])
            if last >= first:
                rows.append((None, first, last + pd.Timedelta(days=1), "filename"))
    return pd.DataFrame(rows, columns=["product", "start_utc", "end_utc", "basis"])


def coverage_intervals(
    frame: pd.DataFrame | None,
    *,
    origin: str,
    requested: tuple[dt.datetime, dt.datetime] | None = None,
) -> pd.DataFrame:
    """The UTC intervals one ingestion covered, per product.

    Parameters
    ----------
    frame
        The canonical rows read (before region filtering), or ``None`` when nothing was read.
    origin
        File name or (masked) API request URL of the run.
    requested
        ``(start, end)`` UTC instants the caller asked the source for, when known; this beats
        anything inferred.

    Returns
    -------
    DataFrame
        ``product``, ``start_utc``, ``end_utc`` (exclusive), ``basis``, ``rows``.
    """
    has_rows = frame is not None and len(frame) > 0
    products = (
        sorted(frame["product"].dropna().unique().tolist())
        if has_rows and frame is not None
        else []
    )
    if requested is not None:
        start, end = (pd.Timestamp(t).tz_convert("UTC") for t in requested)
        out = pd.DataFrame(
            [(p, start, end, "request") for p in (products or [None])],
            columns=["product", "start_utc", "end_utc", "basis"],
        )
    else:
        out = intervals_from_origin(origin, has_rows=has_rows)
    if has_rows and frame is not None and out.empty:
        span = frame.groupby(frame["product"].fillna(""))["acq_time_utc"].agg(
            ["min", "max", "size"]
        )
        out = pd.DataFrame(
            {
                "product": [p or None for p in span.index],
                "start_utc": span["min"].to_numpy(),
                # One minute past the last acquisition: FIRMS times are to the minute.
                "end_utc": (span["max"] + pd.Timedelta(minutes=1)).to_numpy(),
                "basis": "detections",
                "rows": span["size"].to_numpy(),
            }
        )
    if "rows" not in out:
        if has_rows and frame is not None:
            counts = frame["product"].value_counts()
            out["rows"] = [
                int(counts.get(p, len(frame))) if p else len(frame) for p in out["product"]
            ]
        else:
            out["rows"] = 0
    for c in ("start_utc", "end_utc"):
        out[c] = pd.to_datetime(out[c], utc=True)
    return out.reset_index(drop=True)


def _has_table(engine: Engine) -> bool:
    return inspect(engine).has_table("ingest_coverage")


def record_coverage(
    engine: Engine,
    run_id: int,
    frame: pd.DataFrame | None,
    *,
    origin: str,
    requested: tuple[dt.datetime, dt.datetime] | None = None,
) -> pd.DataFrame:
    """Record what one ingestion run covered (call it right after the run is stored).

    Parameters
    ----------
    engine
        The store (migrated, with ``ingest_coverage``).
    run_id
        ``IngestRun.id`` of the run.
    frame
        The canonical rows the run read, *before* dropping those outside the region; ``None``
        for a refused input.
    origin
        The run's origin (file name or masked request URL).
    requested
        The UTC ``(start, end)`` the run asked the source for, when it was an API request.

    Returns
    -------
    DataFrame
        The intervals written (see :func:`coverage_intervals`); re-recording a run replaces them.
    """
    from firewatch.publish.bulletin.models import IngestCoverage

    iv = coverage_intervals(frame, origin=origin, requested=requested)
    records = [
        {
            "run_id": run_id,
            "product": r["product"],
            "start_utc": pd.Timestamp(r["start_utc"]).to_pydatetime(),
            "end_utc": pd.Timestamp(r["end_utc"]).to_pydatetime(),
            "basis": r["basis"],
            "rows": int(r["rows"]),
        }
        for r in iv.to_dict("records")
    ]
    with engine.begin() as conn:
        conn.execute(delete(IngestCoverage).where(IngestCoverage.run_id == run_id))
        if records:
            conn.execute(insert(IngestCoverage), records)
    log.debug("run %d covers %d interval(s)", run_id, len(iv))
    return iv


def record_failed_request(
    engine: Engine,
    *,
    origin: str,
    message: str,
    product: str | None = None,
    requested: tuple[dt.datetime, dt.datetime] | None = None,
) -> int:
    """Record a request that failed (source down, key refused) as a ``failed`` run.

    The days it was meant to cover then read "no data: the source failed" in bulletins instead
    of "not ingested yet".  ``origin`` is the masked request URL; the covered days come from
    ``requested`` or, failing that, from the URL.

    Returns
    -------
    int
        The run id.
    """
    from firewatch.store.repo import record_empty_run

    run_id = record_empty_run(
        engine, kind="api", origin=origin, status="failed", message=message, product=product
    )
    record_coverage(engine, run_id, None, origin=origin, requested=requested)
    return run_id


def load_coverage(engine: Engine) -> pd.DataFrame:
    """Every run's coverage with the run's status, origin and message.

    Runs with no recorded coverage get it from their origin (API request, file name) or, failing
    that, from the first and last acquisition time of the detections they stored.
    """
    runs_t = IngestRun.__table__
    with engine.connect() as conn:
        runs = pd.DataFrame(
            conn.execute(
                select(
                    runs_t.c.id, runs_t.c.status, runs_t.c.origin, runs_t.c.message, runs_t.c.kind
                )
            )
            .mappings()
            .all(),
            columns=["id", "status", "origin", "message", "kind"],
        )
        recorded = pd.DataFrame(columns=_COLUMNS)
        if _has_table(engine):
            from firewatch.publish.bulletin.models import IngestCoverage

            cov_t = IngestCoverage.__table__
            recorded = pd.DataFrame(
                conn.execute(select(*(cov_t.c[c] for c in _COLUMNS))).mappings().all(),
                columns=_COLUMNS,
            )
        missing = runs.loc[~runs["id"].isin(recorded["run_id"]), "id"].tolist()
        spans = pd.DataFrame(columns=["run_id", "product", "start_utc", "end_utc", "rows"])
        if missing:
            det = Detection.__table__
            spans = pd.DataFrame(
                conn.execute(
                    select(
                        det.c.run_id,
                        det.c.product,
                        func.min(det.c.acq_time_utc),
                        func.max(det.c.acq_time_utc),
                        func.count(),
                    )
                    .where(det.c.run_id.in_(missing))
                    .group_by(det.c.run_id, det.c.product)
                ).all(),
                columns=["run_id", "product", "start_utc", "end_utc", "rows"],
            )
    parts = [recorded]
    by_run = runs.set_index("id")
    for run_id in missing:
        run = by_run.loc[run_id]
        mine = spans[spans["run_id"] == run_id]
        iv = intervals_from_origin(str(run["origin"]), has_rows=len(mine) > 0)
        if iv.empty and len(mine):
            # Aggregates come back naive (UTC) from SQLite; make them aware.
            iv = mine.assign(
                start_utc=pd.to_datetime(mine["start_utc"], utc=True),
                end_utc=pd.to_datetime(mine["end_utc"], utc=True) + pd.Timedelta(minutes=1),
                basis="detections",
            )
        else:
            iv = iv.assign(rows=int(mine["rows"].sum()) if len(mine) else 0)
        parts.append(iv.assign(run_id=run_id)[_COLUMNS])
    parts = [p for p in parts if len(p)]
    cov = pd.concat(parts, ignore_index=True) if parts else pd.DataFrame(columns=_COLUMNS)
    for c in ("start_utc", "end_utc"):
        cov[c] = pd.to_datetime(cov[c], utc=True)
    return cov.merge(
        runs.rename(columns={"id": "run_id"}), on="run_id", how="left", validate="many_to_one"
    )


@dataclass(frozen=True)
class DayStatus:
    """Why a Beijing-time day shows what it shows.

    Attributes
    ----------
    day
        The Beijing-time day.
    kind
        ``points``, ``no_points``, ``no_data`` or ``not_ingested`` (see the module docstring).
    points
        Fire points in the province that day (0 unless ``kind == "points"``).
    covered
        Beijing-time ``(start, end)`` intervals of the day that ingested data cover, merged.
    products
        FIRMS products whose data cover the day.
    failures
        Messages of failed or refused runs that were meant to cover the day.
    data_first, data_last
        First and last instant (Beijing time) the store has data for at all, or ``None``.
    """

    day: dt.date
    kind: DayKind
    points: int = 0
    covered: tuple[tuple[pd.Timestamp, pd.Timestamp], ...] = ()
    products: tuple[str, ...] = ()
    failures: tuple[str, ...] = ()
    data_first: pd.Timestamp | None = None
    data_last: pd.Timestamp | None = None
    notes: tuple[str, ...] = field(default=())

    @property
    def has_data(self) -> bool:
        """True when the day's numbers can be compared with other days (points or no points)."""
        return self.kind in ("points", "no_points")

    @property
    def covered_hours(self) -> float:
        """Hours of the day that ingested data cover."""
        return sum((e - s).total_seconds() for s, e in self.covered) / 3600.0

    @property
    def full(self) -> bool:
        """True when data cover the whole day (to the minute)."""
        return self.covered_hours >= 24 - 1 / 60


def _day_bounds(day: dt.date) -> tuple[pd.Timestamp, pd.Timestamp]:
    start = pd.Timestamp(day, tz=BEIJING_TZ)
    return start, start + pd.Timedelta(days=1)


def _merge(intervals: Iterable[tuple[pd.Timestamp, pd.Timestamp]]) -> list[list[pd.Timestamp]]:
    merged: list[list[pd.Timestamp]] = []
    for s, e in sorted(intervals):
        if merged and s <= merged[-1][1]:
            merged[-1][1] = max(merged[-1][1], e)
        else:
            merged.append([s, e])
    return merged


def day_statuses(
    engine: Engine,
    days: Iterable[dt.date],
    *,
    points: Mapping[dt.date, int],
    coverage: pd.DataFrame | None = None,
) -> dict[dt.date, DayStatus]:
    """The :class:`DayStatus` of each Beijing-time day.

    Parameters
    ----------
    engine
        The store.
    days
        Beijing-time days.
    points
        Fire points in the province per day (days missing count 0).
    coverage
        :func:`load_coverage` output, when the caller already has it.
    """
    cov = load_coverage(engine) if coverage is None else coverage
    good = cov[cov["status"].isin(_GOOD)]
    bad = cov[cov["status"].isin(_FAILED)]
    data_first = pd.Timestamp(good["start_utc"].min()).tz_convert(BEIJING_TZ) if len(good) else None
    data_last = pd.Timestamp(good["end_utc"].max()).tz_convert(BEIJING_TZ) if len(good) else None
    out: dict[dt.date, DayStatus] = {}
    for day in days:
        lo, hi = _day_bounds(day)
        n = int(points.get(day, 0))
        covered: list[list[pd.Timestamp]] = []
        products: tuple[str, ...] = ()
        if len(good):
            hit = good[(good["start_utc"] < hi) & (good["end_utc"] > lo)]
            covered = _merge(
                (max(s.tz_convert(BEIJING_TZ), lo), min(e.tz_convert(BEIJING_TZ), hi))
                for s, e in zip(hit["start_utc"], hit["end_utc"], strict=True)
            )
            products = tuple(sorted({p for p in hit["product"].dropna()}))
        failed = bad[(bad["start_utc"] < hi) & (bad["end_utc"] > lo)]
        failures = tuple(
            dict.fromkeys(
                (m if m and str(o) in m else f"{o}: {m or st}")
                for o, m, st in zip(
                    failed["origin"], failed["message"], failed["status"], strict=True
                )
            )
        )
        spans = tuple((s, e) for s, e in covered)
        kind: DayKind
        if n > 0:
            kind = "points"
        elif covered:
            kind = "no_points"
        elif failures or (
            data_first is not None and data_last is not None and data_first < hi and data_last > lo
        ):
            kind = "no_data"
        else:
            kind = "not_ingested"
        out[day] = DayStatus(
            day=day,
            kind=kind,
            points=n,
            covered=spans,
            products=products,
            failures=failures,
            data_first=data_first,
            data_last=data_last,
        )
    return out


def day_status(engine: Engine, day: dt.date, *, points: int) -> DayStatus:
    """The :class:`DayStatus` of one Beijing-time day with ``points`` fire points in the province."""
    return day_statuses(engine, [day], points={day: points})[day]
