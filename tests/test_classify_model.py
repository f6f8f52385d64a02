"""The shipped model: its card, the real Daqing flares and coal plants, schema refusal."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from firewatch.classify.card import card_paths
from firewatch.classify.features import (
    BASE_FEATURES,
    LANDCOVER_FEATURES,
    FeatureContext,
    beijing_days,
    build_features,
)
from firewatch.classify.model import FpModel, load_model, save_model
from firewatch.classify.store import classify_frame
from firewatch.cli import app
from firewatch.config import Settings
from firewatch.errors import ModelSchemaError
from tests.classify_support import INDUSTRIAL, haversine_km, load_inbox, load_series

ROOT = Path(__file__).resolve().parent.parent
MODEL = ROOT / "models" / "firewatch_fp.skops"


@pytest.fixture(scope="module")
def model() -> FpModel:
    return load_model(MODEL)


@pytest.fixture(scope="module")
def real() -> tuple[pd.DataFrame, pd.DataFrame]:
    """Every real fixture detection and its features (persistence over the whole set)."""
    frame = pd.concat([load_series(), load_inbox()], ignore_index=True)
    frame = frame.drop_duplicates("detection_id", ignore_index=True)
    feats = build_features(frame, context=FeatureContext.from_settings(Settings()))
    return frame, feats


def _classify(model: FpModel, frame: pd.DataFrame, mask: pd.Series) -> pd.DataFrame:
    """Classify the masked points as ``firewatch classify`` does (site names in the reasons),
    with the whole real set as persistence history."""
    history = pd.DataFrame(
        {
            "latitude": frame.latitude,
            "longitude": frame.longitude,
            "day": beijing_days(frame.acq_time_utc),
        }
    )
    ctx = FeatureContext.from_settings(Settings())
    return classify_frame(frame.loc[mask], model, ctx, history=history)


def _min_dist(frame: pd.DataFrame, sites: pd.DataFrame) -> np.ndarray:
    lat, lon = sites.latitude.to_numpy(), sites.longitude.to_numpy()
    return np.array(
        [
            haversine_km(a, b, lat, lon).min()
            for a, b in zip(frame.latitude, frame.longitude, strict=True)
        ]
    )


def test_shipped_model_is_small_and_has_a_card(model: FpModel) -> None:
    assert MODEL.stat().st_size < 5_000_000
    js, md = card_paths(MODEL)
    card = json.loads(js.read_text(encoding="utf-8"))
    assert card["version"] == model.version
    assert card["feature_names"] == list(BASE_FEATURES) == model.feature_names
    ev = card["evaluation"]
    assert {"model", "baseline", "model_rule_blind"} <= set(ev)
    assert "StratifiedGroupKFold" in ev["method"] and "0.25°" in ev["method"]
    # the spatially blocked scores beat the baseline
    assert ev["model"]["macro_f1"] > ev["baseline"]["macro_f1"]
    # no labels for 'spurious': the card says so and the model cannot predict it
    assert "spurious" not in model.classes
    assert any(c.startswith("spurious") for c in card["classes_without_labels"])
    text = md.read_text(encoding="utf-8")
    for needle in ("Confusion matrix", "Baseline", "Limitations", "weak_rule", "scikit-learn"):
        assert needle in text
    # The card names no path of the machine that trained it.
    root = str(Path(__file__).resolve().parent.parent)
    assert root not in text and root not in js.read_text(encoding="utf-8")


def test_daqing_gas_flares_are_industrial(
    model: FpModel, real: tuple[pd.DataFrame, pd.DataFrame]
) -> None:
    frame, _ = real
    flares = pd.read_csv(INDUSTRIAL / "vnf_flares_2017_hlj.csv")
    daqing = flares.loc[
        flares.latitude.between(45.5, 47.0) & flares.longitude.between(124.0, 125.8)
    ]
    near = frame.latitude.between(45.4, 47.1) & frame.longitude.between(123.9, 125.9)
    d = pd.Series(np.inf, index=frame.index)
    d[near] = _min_dist(frame.loc[near], daqing)
    at_flare = d <= 1.0
    assert at_flare.sum() >= 10  # real detections at the Daqing oilfield flares
    out = _classify(model, frame, at_flare)
    assert (out["fp_class"] == "industrial").all(), out.loc[out.fp_class != "industrial"]
    assert (out["p_straw"] < 0.5).all()
    assert out["explanation"].str.contains("km from gas flare").any()
    assert out["model_version"].eq(model.version).all()


def test_coal_power_plants_are_industrial(
    model: FpModel, real: tuple[pd.DataFrame, pd.DataFrame]
) -> None:
    frame, _ = real
    gppd = pd.read_csv(INDUSTRIAL / "gppd_power_plants_hlj.csv")
    coal = gppd.loc[gppd.primary_fuel == "Coal"]
    d = _min_dist(frame, coal)
    at_plant = d <= 1.0
    assert at_plant.sum() >= 8
    out = _classify(model, frame, pd.Series(at_plant, index=frame.index))
    assert (out["fp_class"] == "industrial").all(), out.loc[out.fp_class != "industrial"]
    assert out["explanation"].str.contains("(coal)", regex=False).all()


def test_peak_day_is_mostly_straw_with_probabilities(
    model: FpModel, real: tuple[pd.DataFrame, pd.DataFrame]
) -> None:
    frame, feats = real
    day = frame["acq_time_bjt"].dt.strftime("%Y-%m-%d") == "2022-10-29"
    out = model.classify(feats.loc[day].iloc[:800])
    known = out[[f"p_{c}" for c in model.classes]]
    np.testing.assert_allclose(known.sum(axis=1), 1.0, atol=1e-9)
    assert out["p_spurious"].isna().all()  # a class without labels gets no probability
    assert (out["fp_class"] == "straw").mean() > 0.9
    assert out["explanation"].str.startswith("likely a straw").mean() > 0.9


def _copy(model: FpModel, tmp: Path, **changes: object) -> Path:
    clone = FpModel(
        estimator=model.estimator,
        feature_names=list(model.feature_names),
        classes=list(model.classes),
        version=model.version,
        background=model.background,
        card=dict(model.card),
    )
    for k, v in changes.items():
        setattr(clone, k, v)
    return save_model(clone, tmp / "m.skops")


def test_model_with_other_features_is_refused(model: FpModel, tmp_path: Path) -> None:
    renamed = [*BASE_FEATURES[:-1], "ndvi"]
    path = _copy(model, tmp_path, feature_names=renamed)
    with pytest.raises(
        ModelSchemaError, match="unknown: \\['ndvi'\\]; missing: \\['day_of_year'\\]"
    ):
        load_model(path)
    path = _copy(model, tmp_path, feature_names=list(reversed(BASE_FEATURES)))
    with pytest.raises(ModelSchemaError, match="do not match"):
        load_model(path)


def test_model_of_another_schema_version_is_refused(model: FpModel, tmp_path: Path) -> None:
    path = _copy(model, tmp_path, schema_version=0)
    with pytest.raises(ModelSchemaError, match="schema version 0"):
        load_model(path)


def test_landcover_model_needs_a_raster(model: FpModel, tmp_path: Path) -> None:
    path = _copy(model, tmp_path, feature_names=[*BASE_FEATURES, *LANDCOVER_FEATURES])
    with pytest.raises(ModelSchemaError, match="land-cover"):
        load_model(path)
    assert load_model(path, landcover_available=True).uses_landcover


def test_not_a_model_is_refused(tmp_path: Path) -> None:
    bad = tmp_path / "bad.skops"
    bad.write_text("latitude,longitude\n46,125\n", encoding="utf-8")
    with pytest.raises(ModelSchemaError, match="not a skops model"):
        load_model(bad)
    res = CliRunner().invoke(
        app, ["--db", f"sqlite:///{tmp_path / 'x.db'}", "classify", "--model", str(bad)]
    )
    assert res.exit_code == 4
    assert "not a skops model" in res.output


def test_model_card_command() -> None:
    res = CliRunner().invoke(app, ["model", "card", str(MODEL)])
    assert res.exit_code == 0, res.output
    assert "spatially blocked" in res.output
