"""The classifier: a calibrated gradient-boosting pipeline, its explanations, saving and loading.

The estimator is ``CalibratedClassifierCV(Pipeline([HistGradientBoostingClassifier]))`` with
sigmoid calibration fitted on spatially grouped out-of-fold predictions (``ensemble=False``: one
booster to predict with, so prediction stays cheap).  It is saved with skops (no pickle), next to
the feature schema; :func:`load_model` refuses a file whose schema does not match what this
firewatch builds (:class:`~firewatch.errors.ModelSchemaError`) and any file holding types other
than scikit-learn's and numpy's.

Explanations ("why this class") use a cheap local method: for each feature, the point's value
is replaced by the value of a typical (median) training point of each class in turn and the
drop in the predicted class's probability is averaged.  The features whose replacement lowers it
most are the point's top reasons, written in plain words.  One stacked ``predict_proba`` call
per batch; no loop per point.
"""

from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final

import numpy as np
import pandas as pd
from numpy.typing import NDArray

from firewatch.classify import CLASSES
from firewatch.classify._deps import require
from firewatch.classify.features import BASE_FEATURES, LANDCOVER_FEATURES, SPEC
from firewatch.errors import ModelSchemaError

__all__ = [
    "DEFAULT_MODEL_NAME",
    "SCHEMA_VERSION",
    "FpModel",
    "default_model_path",
    "load_model",
    "make_estimator",
    "save_model",
]

log = logging.getLogger(__name__)

#: Bump when a feature's meaning or computation changes: old model files are then refused.
SCHEMA_VERSION: Final = 1
DEFAULT_MODEL_NAME: Final = "firewatch_fp"

#: Module prefixes a model file may contain (anything else is refused unloaded).
_TRUSTED_PREFIXES: Final = ("sklearn.", "numpy.", "builtins.")

CLASS_WORDS: Final = {
    "straw": "likely a straw / crop-residue fire",
    "other_vegetation": "likely another vegetation fire (not crop residue)",
    "industrial": "likely an industrial or static heat source",
    "spurious": "likely spurious (no fire on the ground)",
}


def default_model_path(settings: Any) -> Path:
    """``settings.classify.model_path`` or ``<models_dir>/firewatch_fp.skops``."""
    return Path(settings.classify.model_path or settings.models_dir / f"{DEFAULT_MODEL_NAME}.skops")


def make_estimator(
    cv_splits: list[tuple[NDArray[np.int64], NDArray[np.int64]]] | int = 3,
    *,
    random_state: int = 0,
) -> Any:
    """The unfitted calibrated pipeline (see the module docstring)."""
    require("sklearn")
    from sklearn.calibration import CalibratedClassifierCV
    from sklearn.ensemble import HistGradientBoostingClassifier
    from sklearn.pipeline import Pipeline

    hgb = HistGradientBoostingClassifier(
        max_iter=200,
        learning_rate=0.08,
        max_leaf_nodes=15,
        min_samples_leaf=10,
        l2_regularization=1.0,
        class_weight="balanced",
        early_stopping=False,
        random_state=random_state,
    )
    return CalibratedClassifierCV(
        Pipeline([("hgb", hgb)]), method="sigmoid", cv=cv_splits, ensemble=False
    )


def _fmt(values: NDArray[np.float64], fmt: str) -> NDArray[Any]:
    return np.array([fmt.format(v) for v in values], dtype=object)


def _phrases(
    name: str, values: NDArray[np.float64], site_names: NDArray[Any] | None
) -> NDArray[Any]:
    """Plain-words description of one feature's value for each point."""
    v = np.asarray(values, dtype="float64")
    iv = np.nan_to_num(v).astype(np.int64)

    def yes_no(yes: str, no: str) -> NDArray[Any]:
        out = np.where(v >= 0.5, yes, no).astype(object)
        out[np.isnan(v)] = f"{SPEC[name].meaning}: unknown"
        return out

    if name == "frp":
        return _fmt(v, "fire radiative power {:.1f} MW")
    if name == "bright_t4":
        return _fmt(v, "fire-channel brightness {:.0f} K")
    if name == "bright_t5":
        return _fmt(v, "background-channel brightness {:.0f} K")
    if name == "bt_diff":
        return _fmt(v, "{:.0f} K hotter than its background")
    if name == "confidence_score":
        return _fmt(v, "FIRMS confidence {:.0f}/100")
    if name == "pixel_area_km2":
        return _fmt(v, "pixel footprint {:.2f} km²")
    if name == "is_night":
        return yes_no("seen at night", "seen by day")
    if name == "is_viirs":
        return yes_no("VIIRS 375 m detection", "MODIS 1 km detection")
    if name == "dist_industry_km":
        where = (
            np.asarray(site_names, dtype=object)
            if site_names is not None
            else np.full(len(v), "a registered industrial heat source", dtype=object)
        )
        near = np.array(
            [f"{d:.1f} km from {w}" for d, w in zip(v, where, strict=True)], dtype=object
        )
        return np.where(v >= 99.99, "no registered industrial site within 100 km", near)
    if name == "persist_days_30":
        return np.array(
            [f"seen within 1 km on {k} earlier day(s) in the last 30 days" for k in iv],
            dtype=object,
        )
    if name == "persist_days_365":
        return np.array(
            [f"seen within 1 km on {k} earlier day(s) in the last 365 days" for k in iv],
            dtype=object,
        )
    if name == "same_pass_5km":
        return np.array(
            [f"{k} other detection(s) within 5 km in the same overpass" for k in iv], dtype=object
        )
    if name == "in_ban_period":
        return yes_no("inside a burning-ban period", "outside the burning-ban periods")
    if name == "day_of_year":
        return _fmt(v, "day {:.0f} of the year")
    if name == "lc_cropland":
        return yes_no("on cropland", "not on cropland")
    if name == "lc_builtup":
        return yes_no("on built-up land", "not on built-up land")
    return _fmt(v, name + " = {:.3g}")


@dataclass
class FpModel:
    """A trained false-positive classifier with its schema and card."""

    estimator: Any
    feature_names: list[str]
    classes: list[str]
    version: str
    background: NDArray[np.float64]
    card: dict[str, Any] = field(default_factory=dict)
    schema_version: int = SCHEMA_VERSION

    @property
    def uses_landcover(self) -> bool:
        return any(f in LANDCOVER_FEATURES for f in self.feature_names)

    def _matrix(self, features: pd.DataFrame) -> NDArray[np.float64]:
        missing = [f for f in self.feature_names if f not in features.columns]
        if missing:
            raise ModelSchemaError(
                f"model {self.version} needs feature(s) {', '.join(missing)} that were not built"
            )
        return features.loc[:, self.feature_names].to_numpy(dtype="float64")

    def predict_proba(self, features: pd.DataFrame) -> pd.DataFrame:
        """``p_<class>`` for every class in :data:`CLASSES`; NaN for classes the model never saw."""
        x = self._matrix(features)
        out = pd.DataFrame(np.nan, index=features.index, columns=[f"p_{c}" for c in CLASSES])
        if len(x):
            proba = self.estimator.predict_proba(x)
            for j, c in enumerate(self.estimator.classes_):
                out[f"p_{c}"] = proba[:, j]
        return out

    def classify(
        self,
        features: pd.DataFrame,
        *,
        explain: bool = True,
        site_names: NDArray[Any] | None = None,
        top: int = 3,
    ) -> pd.DataFrame:
        """Class, probabilities and (optionally) a plain-words explanation for each point.

        Returns
        -------
        DataFrame
            ``fp_class``, ``p_straw``, ``p_other_vegetation``, ``p_industrial``, ``p_spurious``
            (NaN for a class without training labels), ``explanation``, ``model_version``.
        """
        proba = self.predict_proba(features)
        known = proba.loc[:, [f"p_{c}" for c in self.classes]]
        pred_idx = known.to_numpy().argmax(axis=1) if len(known) else np.zeros(0, dtype=int)
        fp_class = np.asarray(self.classes, dtype=object)[pred_idx]
        out = proba.assign(fp_class=fp_class, model_version=self.version)
        if explain:
            out["explanation"] = self.explain(
                features, fp_class, proba, site_names=site_names, top=top
            )
        else:
            out["explanation"] = None
        return out.loc[
            :,
            [
                "fp_class",
                *[f"p_{c}" for c in CLASSES],
                "explanation",
                "model_version",
            ],
        ]

    def explain(
        self,
        features: pd.DataFrame,
        fp_class: NDArray[Any],
        proba: pd.DataFrame,
        *,
        site_names: NDArray[Any] | None = None,
        top: int = 3,
    ) -> NDArray[Any]:
        """Plain-words reasons for each point's class (see the module docstring)."""
        n, nf = len(features), len(self.feature_names)
        if n == 0:
            return np.zeros(0, dtype=object)
        x = self._matrix(features)
        bg = self.background
        k = len(bg)
        cls_col = {c: j for j, c in enumerate(self.estimator.classes_)}
        pj = np.array([cls_col[c] for c in fp_class])
        p_pred = proba.to_numpy()[np.arange(n), [CLASSES.index(c) for c in fp_class]]
        # Stack: for feature f and background row b, the points with column f set to bg[b, f].
        stacked = np.repeat(x[None, :, :], nf * k, axis=0).reshape(nf, k, n, nf)
        for f in range(nf):  # loops over features, not points
            stacked[f, :, :, f] = bg[:, f][:, None]
        p = self.estimator.predict_proba(stacked.reshape(-1, nf)).reshape(nf, k, n, -1)
        p_repl = p[:, :, np.arange(n), pj].mean(axis=1)  # (nf, n)
        contrib = p_pred[None, :] - p_repl  # > 0: the point's own value supports its class
        order = np.argsort(-contrib, axis=0)[:top]  # (top, n)
        phrases = np.stack(
            [_phrases(name, x[:, f], site_names) for f, name in enumerate(self.feature_names)]
        )  # (nf, n)
        cols = np.arange(n)
        parts = []
        for r in range(top):
            f = order[r]
            ok = contrib[f, cols] > 0.01
            parts.append(np.where(ok, phrases[f, cols], ""))
        head = np.array(
            [f"{CLASS_WORDS[c]} (p={pp:.2f})" for c, pp in zip(fp_class, p_pred, strict=True)],
            dtype=object,
        )
        out = []
        for h, *ps in zip(head, *parts, strict=True):
            reasons = "; ".join(q for q in ps if q)
            out.append(f"{h}: {reasons}" if reasons else f"{h}: no single feature stands out")
        return np.array(out, dtype=object)


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def save_model(model: FpModel, path: str | Path) -> Path:
    """Save ``model`` with skops at ``path`` (``.skops``), its card beside it (.card.json/.md)."""
    sio = require("skops.io")
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    payload = {
        "estimator": model.estimator,
        "feature_names": list(model.feature_names),
        "classes": list(model.classes),
        "version": model.version,
        "schema_version": model.schema_version,
        "background": np.asarray(model.background, dtype="float64"),
    }
    tmp = path.with_suffix(".skops.tmp")
    sio.dump(payload, tmp, compression=8)
    tmp.replace(path)  # never leave a half-written model where firewatch looks for one
    from firewatch.classify.card import write_card

    model.card["file_sha256"] = _sha256(path)
    write_card(model.card, path)
    return path


def load_model(path: str | Path, *, landcover_available: bool = False) -> FpModel:
    """Load a model saved by :func:`save_model`, refusing one that does not fit.

    Parameters
    ----------
    path
        The ``.skops`` file.
    landcover_available
        Whether a land-cover raster is configured (a model trained with land cover needs one).

    Raises
    ------
    ModelSchemaError
        If the file is not a firewatch model, holds untrusted types, was built with another
        feature schema, or needs land cover that is not configured.
    FileNotFoundError
        If there is no such file.
    """
    sio = require("skops.io")
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(
            f"no model at {path}: run `firewatch train` or set classify.model_path"
        )
    try:
        untrusted = sio.get_untrusted_types(file=path)
    except Exception as exc:  # skops raises assorted errors on a file that is not its format
        raise ModelSchemaError(f"{path.name}: not a skops model file ({exc})") from exc
    bad = [t for t in untrusted if not t.startswith(_TRUSTED_PREFIXES)]
    if bad:
        raise ModelSchemaError(f"{path.name}: refusing to load untrusted types {bad}")
    payload = sio.load(path, trusted=untrusted)
    if not isinstance(payload, dict) or "estimator" not in payload:
        raise ModelSchemaError(f"{path.name}: not a firewatch classifier")
    names = list(payload.get("feature_names", []))
    schema = payload.get("schema_version")
    if schema != SCHEMA_VERSION:
        raise ModelSchemaError(
            f"{path.name}: feature schema version {schema}, this firewatch builds version "
            f"{SCHEMA_VERSION}; retrain with `firewatch train`"
        )
    allowed = [list(BASE_FEATURES), [*BASE_FEATURES, *LANDCOVER_FEATURES]]
    if names not in allowed:
        extra = sorted(set(names) - set(BASE_FEATURES) - set(LANDCOVER_FEATURES))
        missing = sorted(set(BASE_FEATURES) - set(names))
        raise ModelSchemaError(
            f"{path.name}: its features do not match what firewatch builds "
            f"(unknown: {extra or 'none'}; missing: {missing or 'none'}; or a different order); "
            "retrain with `firewatch train`"
        )
    model = FpModel(
        estimator=payload["estimator"],
        feature_names=names,
        classes=list(payload["classes"]),
        version=str(payload["version"]),
        background=np.asarray(payload["background"], dtype="float64"),
        schema_version=int(schema),
    )
    if model.uses_landcover and not landcover_available:
        raise ModelSchemaError(
            f"{path.name}: model {model.version} was trained with land-cover features; "
            "configure classify.landcover_path (FIREWATCH_CLASSIFY__LANDCOVER_PATH)"
        )
    from firewatch.classify.card import read_card

    model.card = read_card(path)
    return model
