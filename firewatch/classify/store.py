"""Classifications in the store: classify stored detections, read them back per point."""

from __future__ import annotations

import datetime as dt
import json
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from sqlalchemy import Engine, select

from firewatch.classify.features import FeatureContext, beijing_days, build_features, load_history
from firewatch.classify.labels import load_labels
from firewatch.classify.model import FpModel, default_model_path, load_model
from firewatch.classify.models import Classification, ClassifierModel
from firewatch.store import repo
from firewatch.store.models import utcnow

__all__ = [
    "ClassifyResult",
    "classify_daily",
    "classify_frame",
    "classify_stored",
    "load_model_for",
    "load_point_classes",
    "register_model",
    "save_classifications",
]

log = logging.getLogger(__name__)

_CHUNK = 2_000
POINT_COLUMNS = ("fp_class", "p_straw", "fp_explanation", "model_version", "label_source")


def register_model(engine: Engine, model: FpModel, path: str | Path) -> None:
    """Record a trained model in ``classifier_models`` (replacing a record of the same version)."""
    from firewatch.classify.model import _sha256

    t: Any = ClassifierModel.__table__
    card = model.card
    row = {
        "version": model.version,
        "created_at": utcnow(),
        "file_name": Path(path).name,
        "sha256": _sha256(Path(path)),
        "feature_names": json.dumps(model.feature_names),
        "classes": json.dumps(model.classes),
        "n_train": int(card.get("training_data", {}).get("n_labelled", 0)),
        "label_counts": json.dumps(card.get("labels_used", {})),
        "metrics": json.dumps(card.get("evaluation", {}).get("model", {}).get("per_class", {})),
    }
    insert = repo.dialect_insert(engine)
    stmt = insert(t).values(row)
    stmt = stmt.on_conflict_do_update(
        index_elements=["version"], set_={k: stmt.excluded[k] for k in row if k != "version"}
    )
    with engine.begin() as conn:
        conn.execute(stmt)


def load_model_for(settings: Any) -> FpModel:
    """The model named by the settings, checked against the configured land cover."""
    return load_model(
        default_model_path(settings),
        landcover_available=settings.classify.landcover_path is not None,
    )


def classify_frame(
    points: pd.DataFrame,
    model: FpModel,
    context: FeatureContext,
    *,
    history: pd.DataFrame | None = None,
    explain: bool = True,
) -> pd.DataFrame:
    """Classify canonical detections; returns :meth:`FpModel.classify`'s columns, same index."""
    feats = build_features(points, context=context, history=history, landcover=model.uses_landcover)
    names = None
    if explain and len(points):
        _, idx = context.sites.nearest(points["latitude"], points["longitude"])
        site_names = context.sites.sites["name"].to_numpy(dtype=object)
        names = np.where(idx >= 0, site_names[np.maximum(idx, 0)], "no site").astype(object)
    parts = []
    for i in range(0, max(len(points), 1), _CHUNK):
        sl = slice(i, i + _CHUNK)
        parts.append(
            model.classify(
                feats.iloc[sl], explain=explain, site_names=None if names is None else names[sl]
            )
        )
    return pd.concat(parts) if parts else model.classify(feats)


def save_classifications(engine: Engine, detection_ids: Sequence[str], result: pd.DataFrame) -> int:
    """Upsert classifications (one row per detection and model version)."""
    t: Any = Classification.__table__
    now = utcnow()
    frame = result.reset_index(drop=True).assign(
        detection_id=list(detection_ids), classified_at=now
    )
    cols = [
        "detection_id",
        "model_version",
        "fp_class",
        "p_straw",
        "p_other_vegetation",
        "p_industrial",
        "p_spurious",
        "explanation",
        "classified_at",
    ]
    frame = frame.loc[:, cols].astype(object)
    frame = frame.where(pd.notna(frame), None)
    rows = frame.to_dict("records")
    insert = repo.dialect_insert(engine)
    with engine.begin() as conn:
        for i in range(0, len(rows), _CHUNK):
            stmt = insert(t).values(rows[i : i + _CHUNK])
            stmt = stmt.on_conflict_do_update(
                index_elements=["detection_id", "model_version"],
                set_={c: stmt.excluded[c] for c in cols[2:]},
            )
            conn.execute(stmt)
    return len(rows)


@dataclass
class ClassifyResult:
    """What :func:`classify_stored` did."""

    classified: int
    model_version: str
    per_class: dict[str, int]
    below_threshold: int


def classify_stored(
    engine: Engine,
    settings: Any,
    *,
    first: dt.date | None = None,
    last: dt.date | None = None,
    model: FpModel | None = None,
    context: FeatureContext | None = None,
    explain: bool = True,
) -> ClassifyResult:
    """Classify stored detections of Beijing days ``first``..``last`` (all when not given).

    Persistence features read the store's detections of the 365 days before.  Re-running is safe
    (a detection's row for the same model version is replaced).
    """
    model = model or load_model_for(settings)
    ctx = context or FeatureContext.from_settings(settings)
    det = (
        repo.load_detections(engine, first=first, last=last or first)
        if first
        else (repo.load_detections(engine))
    )
    if det.empty:
        return ClassifyResult(0, model.version, {}, 0)
    days = beijing_days(det["acq_time_utc"])
    history = load_history(engine, first_day=int(days.min()) - 365, last_day=int(days.max()))
    from threadpoolctl import threadpool_limits

    with threadpool_limits(limits=settings.classify.threads):
        result = classify_frame(det, model, ctx, history=history, explain=explain)
    n = save_classifications(engine, det["detection_id"].tolist(), result)
    counts = result["fp_class"].value_counts().to_dict()
    below = int((result["p_straw"] < settings.classify.straw_threshold).sum())
    log.info("classified %d detections with %s: %s", n, model.version, counts)
    return ClassifyResult(n, model.version, {str(k): int(v) for k, v in counts.items()}, below)


def classify_daily(engine: Engine, settings: Any, *, day: dt.date) -> ClassifyResult | None:
    """The classify stage of ``firewatch daily``: classify the day's stored detections.

    Returns ``None`` (with a warning in the log) when no model file exists; a model that does not
    fit this firewatch (:class:`~firewatch.errors.ModelSchemaError`) is logged as an error and
    the day goes on unclassified rather than with wrong classes.
    """
    from firewatch.errors import ModelSchemaError

    try:
        model = load_model_for(settings)
    except FileNotFoundError as exc:
        log.warning("classify stage skipped: %s", exc)
        return None
    except ModelSchemaError as exc:
        log.error("classify stage skipped, model refused: %s", exc)
        return None
    return classify_stored(engine, settings, first=day, last=day, model=model)


def load_point_classes(engine: Engine, ids: Sequence[str]) -> pd.DataFrame:
    """Latest classification of each detection, indexed by ``detection_id``.

    Columns: ``fp_class`` (straw | other_vegetation | industrial | spurious), ``p_straw``,
    ``fp_explanation`` (plain words), ``model_version``, ``label_source`` (``review``,
    ``firms_type`` or ``weak_rule`` when the point carries a label, else ``model``).  Detections
    never classified are absent.
    """
    t: Any = Classification.__table__
    cols = (t.c.detection_id, t.c.fp_class, t.c.p_straw, t.c.explanation, t.c.model_version)
    wanted = list(dict.fromkeys(ids))
    rows: list[Any] = []
    with engine.connect() as conn:
        for i in range(0, len(wanted), _CHUNK):
            chunk = wanted[i : i + _CHUNK]
            stmt = select(*cols, t.c.classified_at).where(t.c.detection_id.in_(chunk))
            rows.extend(conn.execute(stmt).all())
    frame = pd.DataFrame(
        rows,
        columns=[
            "detection_id",
            "fp_class",
            "p_straw",
            "fp_explanation",
            "model_version",
            "classified_at",
        ],
    )
    # the latest classification of each point (a point keeps one row per model version)
    frame = frame.sort_values(["detection_id", "classified_at", "model_version"])
    frame = frame.drop_duplicates("detection_id", keep="last").drop(columns="classified_at")
    frame = frame.set_index("detection_id")
    labels = load_labels(engine, list(frame.index))
    frame["label_source"] = labels["source"].reindex(frame.index).fillna("model")
    frame["p_straw"] = frame["p_straw"].astype("float64")
    return frame.loc[:, list(POINT_COLUMNS)]
