"""Repository functions: the only code that writes detections and ingestion runs.

Writes are idempotent: a detection is keyed by its stable ``detection_id``; storing it again is
counted as a duplicate and changes nothing, except that a standard (``*_SP``) record replaces a
near-real-time (``*_NRT``) one.  A run's detections, its quarantined rows and its run record are
written in one transaction, so a crash leaves either all of it or none of it.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, cast

import numpy as np
import pandas as pd
from sqlalchemy import Engine, Table, and_, func, insert, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection

from firewatch.schema import BEIJING_TZ
from firewatch.store.models import (
    ATTRIBUTION_COLUMNS,
    RECORD_COLUMNS,
    Detection,
    IngestRun,
    QuarantinedRow,
    utcnow,
)

__all__ = [
    "Quarantine",
    "RunSummary",
    "beijing_day_bounds",
    "load_detections",
    "load_quarantine",
    "load_runs",
    "store_run",
]

log = logging.getLogger(__name__)

_CHUNK = 5_000


@dataclass(frozen=True)
class Quarantine:
    """A row that was not loaded: where it was and why."""

    origin: str
    line: int
    reason: str
    raw: str | None = None


@dataclass
class RunSummary:
    """What one ingestion run did; mirrors :class:`~firewatch.store.models.IngestRun`."""

    run_id: int
    origin: str
    status: str
    rows_read: int
    loaded: int
    duplicates: int
    outside: int
    quarantined: int
    quarantine: list[Quarantine] = field(default_factory=list)


def _records(frame: pd.DataFrame, columns: Sequence[str]) -> list[dict[str, Any]]:
    """Frame -> list of plain-Python dicts with ``None`` for missing values."""
    out = frame.loc[:, list(columns)].copy()
    if "acq_time_utc" in out:
        out["acq_time_utc"] = [t.to_pydatetime() for t in out["acq_time_utc"]]
    if "fire_type" in out:
        out["fire_type"] = out["fire_type"].astype(object)
    out = out.astype(object).where(pd.notna(out), None)
    return out.to_dict("records")


def dialect_insert(bind: Engine | Connection) -> Any:
    """The ``insert`` of the store's backend, the one with ``on_conflict_*`` (upserts)."""
    name = bind.dialect.name
    if name == "sqlite":
        return sqlite.insert
    if name == "postgresql":
        return postgresql.insert
    raise NotImplementedError(f"upserts are implemented for sqlite and postgresql, not {name}")


def _upsert_detections(conn: Connection, rows: list[dict[str, Any]], run_id: int) -> None:
    insert = dialect_insert(conn)
    table = cast(Table, Detection.__table__)
    stmt = insert(table)
    excluded = stmt.excluded
    # A standard-product record supersedes the near-real-time one of the same detection.
    stmt = stmt.on_conflict_do_update(
        index_elements=["detection_id"],
        set_={c: excluded[c] for c in (*RECORD_COLUMNS[1:], "run_id")},
        where=and_(
            table.c.product.like("%\\_NRT", escape="\\"),
            excluded.product.like("%\\_SP", escape="\\"),
        ),
    )
    # One statement compiled once, executed over the rows: SQLAlchemy batches the parameters
    # ("insertmanyvalues") instead of compiling a new multi-row VALUES clause per chunk.
    for i in range(0, len(rows), _CHUNK):
        conn.execute(stmt, [{**r, "run_id": run_id} for r in rows[i : i + _CHUNK]])


def store_run(
    engine: Engine,
    frame: pd.DataFrame,
    *,
    kind: str,
    origin: str,
    input_sha256: str | None,
    product: str | None,
    rows_read: int,
    quarantine: Iterable[Quarantine] = (),
    outside: int = 0,
    started_at: dt.datetime | None = None,
) -> RunSummary:
    """Store one run's detections (canonical columns + attribution) and its record, atomically.

    Parameters
    ----------
    frame
        Canonical detections (``firewatch.schema.COLUMNS``) with the attribution columns; rows
        outside the region should already be dropped (count them in ``outside``).
    kind
        ``"file"`` or ``"api"``.
    origin
        File name or masked request URL.
    rows_read
        Data rows read from the input, good and bad.
    quarantine
        Rows that were not loaded, with file, line and reason.
    """
    quarantine = list(quarantine)
    frame = frame.drop_duplicates("detection_id")
    missing = [c for c in ATTRIBUTION_COLUMNS if c not in frame]
    if missing:
        frame = frame.assign(**{c: None for c in missing})
    rows = _records(frame, (*RECORD_COLUMNS, *ATTRIBUTION_COLUMNS))
    with engine.begin() as conn:
        before = conn.execute(select(func.count()).select_from(Detection)).scalar_one()
        res = conn.execute(
            insert(IngestRun).values(
                kind=kind,
                origin=origin,
                input_sha256=input_sha256,
                product=product,
                started_at=started_at or utcnow(),
                status="running",
                rows_read=rows_read,
            )
        )
        run_id = int(res.inserted_primary_key[0])  # type: ignore[index]
        if rows:
            _upsert_detections(conn, rows, run_id)
        after = conn.execute(select(func.count()).select_from(Detection)).scalar_one()
        loaded = after - before
        good = rows_read - len(quarantine)
        duplicates = good - outside - loaded
        status = "partial" if quarantine else "ok"
        if quarantine:
            conn.execute(
                insert(QuarantinedRow),
                [
                    {
                        "run_id": run_id,
                        "origin": q.origin,
                        "line": q.line,
                        "reason": q.reason,
                        "raw": q.raw,
                    }
                    for q in quarantine
                ],
            )
        conn.execute(
            update(IngestRun)
            .where(IngestRun.id == run_id)
            .values(
                finished_at=utcnow(),
                status=status,
                loaded=loaded,
                duplicates=duplicates,
                outside=outside,
                quarantined=len(quarantine),
            )
        )
    log.info(
        "%s: %d read, %d new, %d duplicate, %d outside, %d quarantined",
        origin,
        rows_read,
        loaded,
        duplicates,
        outside,
        len(quarantine),
    )
    return RunSummary(
        run_id=run_id,
        origin=origin,
        status=status,
        rows_read=rows_read,
        loaded=loaded,
        duplicates=duplicates,
        outside=outside,
        quarantined=len(quarantine),
        quarantine=quarantine,
    )


def record_empty_run(
    engine: Engine,
    *,
    kind: str,
    origin: str,
    status: str,
    message: str,
    product: str | None = None,
    input_sha256: str | None = None,
) -> int:
    """Record a run that stored no rows (a refused file, a failed request) and why; its id."""
    now = utcnow()
    with engine.begin() as conn:
        res = conn.execute(
            insert(IngestRun).values(
                kind=kind,
                origin=origin,
                product=product,
                input_sha256=input_sha256,
                started_at=now,
                finished_at=now,
                status=status,
                message=message,
            )
        )
        return int(res.inserted_primary_key[0])  # type: ignore[index]


def beijing_day_bounds(
    first: dt.date, last: dt.date | None = None
) -> tuple[dt.datetime, dt.datetime]:
    """UTC instants ``[start, end)`` covering Beijing-time days ``first`` .. ``last`` inclusive."""
    last = last or first
    start = pd.Timestamp(first, tz=BEIJING_TZ).tz_convert("UTC").to_pydatetime()
    end = pd.Timestamp(last + dt.timedelta(days=1), tz=BEIJING_TZ).tz_convert("UTC").to_pydatetime()
    return start, end


def load_detections(
    engine: Engine,
    *,
    first: dt.date | None = None,
    last: dt.date | None = None,
    region: Sequence[str] | None = ("province", "neighbour"),
    county_codes: Sequence[str] | None = None,
) -> pd.DataFrame:
    """Stored detections with attribution; ``first``/``last`` are Beijing-time days, inclusive.

    Returns a DataFrame with the canonical columns (``acq_time_bjt`` derived) and the attribution
    columns, ordered by acquisition time.
    """
    table = cast(Table, Detection.__table__)
    stmt = select(table)
    if first is not None:
        start, end = beijing_day_bounds(first, last)
        stmt = stmt.where(table.c.acq_time_utc >= start, table.c.acq_time_utc < end)
    if region is not None:
        stmt = stmt.where(table.c.region.in_(list(region)))
    if county_codes is not None:
        stmt = stmt.where(table.c.county_code.in_(list(county_codes)))
    stmt = stmt.order_by(table.c.acq_time_utc, table.c.detection_id)
    with engine.connect() as conn:
        df = pd.DataFrame(
            conn.execute(stmt).mappings().all(), columns=[c.name for c in table.columns]
        )
    df["acq_time_utc"] = pd.to_datetime(df["acq_time_utc"], utc=True)
    df.insert(
        df.columns.get_loc("acq_time_utc") + 1,
        "acq_time_bjt",
        df["acq_time_utc"].dt.tz_convert(BEIJING_TZ),
    )
    df["fire_type"] = df["fire_type"].astype("Int8")
    for c in (
        "latitude",
        "longitude",
        "scan",
        "track",
        "bright_t4",
        "bright_t5",
        "frp",
        "confidence_score",
    ):
        df[c] = df[c].astype("float64")
    df["origin_line"] = df["origin_line"].astype(np.int64)
    return df


def load_runs(engine: Engine, *, limit: int = 50) -> pd.DataFrame:
    """The most recent ingestion runs, newest first."""
    table = cast(Table, IngestRun.__table__)
    with engine.connect() as conn:
        rows = conn.execute(select(table).order_by(table.c.id.desc()).limit(limit)).mappings().all()
    return pd.DataFrame(rows, columns=[c.name for c in table.columns])


def load_quarantine(engine: Engine, run_id: int | None = None) -> pd.DataFrame:
    """Quarantined rows (of one run, or all), with file, line and reason."""
    table = cast(Table, QuarantinedRow.__table__)
    stmt = select(table).order_by(table.c.run_id, table.c.line)
    if run_id is not None:
        stmt = stmt.where(table.c.run_id == run_id)
    with engine.connect() as conn:
        rows = conn.execute(stmt).mappings().all()
    return pd.DataFrame(rows, columns=[c.name for c in table.columns])
