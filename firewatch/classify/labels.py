"""Labels with provenance: review verdicts, the FIRMS archive ``type``, documented weak rules.

Sources, strongest first (a detection takes the label of the strongest source it has):

``review``
    A grid member's verdict from the field (the review app's latest verdict per point):
    straw_burning → straw, industrial → industrial, other_fire → other_vegetation (a real fire
    that is not crop residue: grass, garbage, a funeral pyre), nothing_found → spurious.
``firms_type``
    FIRMS archive (standard-product) files carry ``type``; 2 (other static land source) and 3
    (offshore) → industrial.  0 (vegetation) cannot tell straw from other vegetation, so it
    gives no label.  None of the bundled FIRMS files has ``type``; only newer archive downloads do.
``weak_rule``
    The rules below, applied to every stored detection (:func:`weak_labels`):

    ``industrial_site``
        within a registered industrial site's radius (1.0 km flares, 1.5 km refineries and
        thermal power plants, the user registry's own radius) plus half the pixel's larger side;
    ``industrial_recurrent``
        detections within 1 km on at least ``recurrent_days`` distinct days of the stored series
        (earlier or later, up to 365 days apart): straw fields burn once or twice a season;
    ``straw_ban_season``
        inside a ban period, at least 3 km from every registered site and seen on at most two
        other days within 1 km (±30 days);
    ``other_vegetation_summer``
        in June–August (crops stand in the fields: there is no residue to burn), same distance
        and recurrence conditions: wild or grassland fire.

    No rule labels ``spurious``: only field verdicts (nothing_found) do.  Honest limits: without
    land cover, ``straw_ban_season`` cannot tell crop residue from grass or forest fires in the
    same season, and ``industrial_site`` also catches a field burning next to a plant.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any, Final

import numpy as np
import pandas as pd
from sqlalchemy import Engine, inspect, select, text

from firewatch.classify import CLASSES
from firewatch.classify.features import FeatureContext, beijing_days, persistence_counts
from firewatch.classify.models import FpLabel
from firewatch.store.models import utcnow

__all__ = [
    "FIRMS_TYPE_CLASS",
    "SOURCES",
    "VERDICT_CLASS",
    "RuleParams",
    "combine_labels",
    "firms_type_labels",
    "load_labels",
    "review_labels",
    "store_labels",
    "weak_labels",
]

log = logging.getLogger(__name__)

#: Label sources, strongest first.
SOURCES: Final = ("review", "firms_type", "weak_rule")

VERDICT_CLASS: Final = {
    "straw_burning": "straw",
    "industrial": "industrial",
    "other_fire": "other_vegetation",
    "nothing_found": "spurious",
}

FIRMS_TYPE_CLASS: Final = {2: "industrial", 3: "industrial"}

LABEL_COLUMNS: Final = ("label", "source", "rule")


@dataclass(frozen=True)
class RuleParams:
    """Thresholds of the weak-label rules (documented in the module docstring)."""

    recurrent_days: int = 5
    recurrence_radius_km: float = 1.0
    min_site_km: float = 3.0
    max_other_days: int = 2
    summer_months: tuple[int, ...] = (6, 7, 8)


def _empty() -> pd.DataFrame:
    return pd.DataFrame({c: pd.Series(dtype=object) for c in LABEL_COLUMNS})


def weak_labels(
    points: pd.DataFrame,
    *,
    context: FeatureContext,
    params: RuleParams | None = None,
) -> pd.DataFrame:
    """Apply the weak-label rules to detections (index kept; unlabelled rows left out).

    ``points`` must hold the whole series the rules should see (recurrence looks both ways).

    Returns
    -------
    DataFrame
        ``label``, ``source`` (= ``weak_rule``), ``rule``, indexed like ``points``.
    """
    p = params or RuleParams()
    if points.empty:
        return _empty()
    lat = points["latitude"].to_numpy(dtype="float64")
    lon = points["longitude"].to_numpy(dtype="float64")
    day = beijing_days(points["acq_time_utc"])
    dist, idx = context.sites.nearest(lat, lon)
    radius = np.where(
        idx >= 0, context.sites.sites["radius_km"].to_numpy()[np.maximum(idx, 0)], 0.0
    )
    half_pixel = 0.5 * np.fmax(
        points["scan"].to_numpy(dtype="float64"), points["track"].to_numpy(dtype="float64")
    )
    at_site = (idx >= 0) & (dist <= radius + np.nan_to_num(half_pixel))
    rec = persistence_counts(
        lat,
        lon,
        day,
        lat,
        lon,
        day,
        radius_km=p.recurrence_radius_km,
        windows=(30, 365),
        future=True,
    )
    recurrent = rec[365] + 1 >= p.recurrent_days
    epoch = np.datetime64("1970-01-01", "D")
    dates = epoch + day.astype("timedelta64[D]")
    months = dates.astype("datetime64[M]").astype(np.int64) % 12 + 1
    uniq, inv = np.unique(day, return_inverse=True)
    ban = np.array(
        [
            context.in_ban_period(pd.Timestamp(epoch + np.timedelta64(int(d), "D")).date())
            is not None
            for d in uniq
        ]
    )[inv]
    quiet = (rec[30] <= p.max_other_days) & (dist >= p.min_site_km) & ~recurrent & ~at_site
    label = np.full(len(points), None, dtype=object)
    rule = np.full(len(points), None, dtype=object)
    for mask, cls, name in (
        (quiet & np.isin(months, p.summer_months), "other_vegetation", "other_vegetation_summer"),
        (quiet & ban, "straw", "straw_ban_season"),
        (recurrent, "industrial", "industrial_recurrent"),
        (at_site, "industrial", "industrial_site"),  # last: the strongest rule wins
    ):
        label[mask] = cls
        rule[mask] = name
    out = pd.DataFrame({"label": label, "source": "weak_rule", "rule": rule}, index=points.index)
    return out.loc[out["label"].notna()]


def firms_type_labels(points: pd.DataFrame) -> pd.DataFrame:
    """Labels from the FIRMS archive ``type`` column (``fire_type``), where it is present."""
    if "fire_type" not in points or points.empty:
        return _empty()
    ft = points["fire_type"].astype("Int8")
    cls = ft.map(FIRMS_TYPE_CLASS)
    keep = cls.notna()
    return pd.DataFrame(
        {
            "label": cls[keep].astype(object),
            "source": "firms_type",
            "rule": "type=" + ft[keep].astype(str),
        },
        index=points.index[keep],
    )


def _verdicts(engine: Engine) -> pd.DataFrame:
    """``detection_id``, ``verdict``: the latest field verdict per point, if the review app is here."""
    tables = set(inspect(engine).get_table_names())
    if "verdicts" in tables:
        try:
            from firewatch.dispatch import store as review_store
        except ImportError:
            review_store = None  # type: ignore[assignment]
        if review_store is not None and hasattr(review_store, "load_verdict_labels"):
            return review_store.load_verdict_labels(engine).loc[:, ["detection_id", "verdict"]]
    if "assignments" in tables:  # an older review store: the latest verdict sits on the assignment
        sql = text("SELECT detection_id, verdict FROM assignments WHERE verdict IS NOT NULL")
        with engine.connect() as conn:
            return pd.DataFrame(conn.execute(sql).all(), columns=["detection_id", "verdict"])
    return pd.DataFrame({"detection_id": [], "verdict": []}, dtype=object)


def review_labels(engine: Engine, ids: pd.Series | None = None) -> pd.DataFrame:
    """Field verdicts from the review app, indexed by ``detection_id``.

    Reads the latest verdict per point through the review app's ``load_verdict_labels`` when its
    tables exist; returns an empty frame otherwise, so training works without the review app.
    """
    frame = _verdicts(engine)
    if ids is not None:
        frame = frame.loc[frame["detection_id"].isin(set(ids))]
    cls = frame["verdict"].map(VERDICT_CLASS)
    unknown = frame.loc[cls.isna(), "verdict"].unique()
    if len(unknown):
        log.warning(
            "review verdicts with no class mapping ignored: %s", ", ".join(map(str, unknown))
        )
    frame = frame.assign(label=cls).loc[cls.notna()]
    return pd.DataFrame(
        {
            "label": frame["label"].to_numpy(dtype=object),
            "source": "review",
            "rule": ("verdict=" + frame["verdict"].astype(str)).to_numpy(dtype=object),
        },
        index=pd.Index(frame["detection_id"], name="detection_id"),
    )


def combine_labels(*frames: pd.DataFrame) -> pd.DataFrame:
    """One label per detection: the strongest source wins (:data:`SOURCES` order)."""
    frames = tuple(f for f in frames if len(f))
    if not frames:
        return _empty().rename_axis("detection_id")
    allf = pd.concat(frames)
    allf = allf.assign(_rank=allf["source"].map({s: i for i, s in enumerate(SOURCES)}))
    allf.index.name = "detection_id"
    allf = allf.reset_index().sort_values(["detection_id", "_rank"], kind="stable")
    out = allf.drop_duplicates("detection_id").set_index("detection_id")
    bad = ~out["label"].isin(CLASSES)
    if bad.any():
        raise ValueError(f"labels outside {CLASSES}: {sorted(out.loc[bad, 'label'].unique())}")
    return out.loc[:, list(LABEL_COLUMNS)]


def store_labels(engine: Engine, labels: pd.DataFrame) -> int:
    """Replace the stored labels with ``labels`` (indexed by detection_id, every source kept).

    The rows of every source are written, so the store shows each point's evidence; training
    uses the strongest per point.
    """
    table: Any = FpLabel.__table__
    now = utcnow()
    rows = [
        {
            "detection_id": det,
            "label": r.label,
            "source": r.source,
            "rule": r.rule,
            "created_at": now,
            "used": True,
        }
        for det, r in zip(labels.index, labels.itertuples(index=False), strict=True)
    ]
    with engine.begin() as conn:
        conn.execute(table.delete())
        for i in range(0, len(rows), 5000):
            conn.execute(table.insert(), rows[i : i + 5000])
    return len(rows)


def load_labels(engine: Engine, ids: list[str] | None = None) -> pd.DataFrame:
    """Stored labels (the strongest per detection), indexed by detection_id."""
    t: Any = FpLabel.__table__
    cols = (t.c.detection_id, t.c.label, t.c.source, t.c.rule)
    rows: list[Any] = []
    with engine.connect() as conn:
        if ids is None:
            rows = list(conn.execute(select(*cols)).all())
        else:
            wanted = list(dict.fromkeys(ids))
            for i in range(0, len(wanted), 2000):
                stmt = select(*cols).where(t.c.detection_id.in_(wanted[i : i + 2000]))
                rows.extend(conn.execute(stmt).all())
    frame = pd.DataFrame(rows, columns=["detection_id", *LABEL_COLUMNS]).set_index("detection_id")
    return combine_labels(frame)
