"""``firewatch daily`` classifies the day's points with the shipped model."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import Engine

from firewatch.classify.model import load_model
from firewatch.classify.store import load_point_classes
from firewatch.config import Settings
from firewatch.pipeline import daily
from firewatch.store import connect, repo, upgrade
from tests.conftest import ROOT, SAMPLES

DEMO = SAMPLES / "MODIS_C61_NRT_hlj_2025-04-23_to_2025-04-24.csv"


def _quiet(settings: Settings) -> Settings:
    """Only ingest and classify: the other stages of the day have their own tests."""
    return settings.model_copy(
        update={
            "review": settings.review.model_copy(update={"dispatch_in_daily": False}),
            "map": settings.map.model_copy(update={"in_daily": False}),
            "bulletin": settings.bulletin.model_copy(update={"in_daily": False}),
        }
    )


def test_daily_classifies_every_point_of_the_day(engine: Engine, settings: Settings) -> None:
    settings = _quiet(settings)
    day = dt.date(2025, 4, 23)
    result = daily(engine, settings, day=day, files=[DEMO], fetch_api=False)
    shipped = load_model(ROOT / "models" / "firewatch_fp.skops")
    assert result.classify is not None
    assert result.classify.model_version == shipped.version
    points = repo.load_detections(engine, first=day, last=day)
    assert result.classify.classified == len(points) > 100
    classes = load_point_classes(engine, points["detection_id"].tolist())
    assert len(classes) == len(points)
    assert classes["model_version"].eq(shipped.version).all()
    assert classes["fp_class"].isin(shipped.classes).all()
    assert classes["fp_explanation"].str.startswith("likely").all()
    # a spring-ban day of field fires: nearly all straw, the threshold count is reported
    assert (classes["fp_class"] == "straw").mean() > 0.9
    assert result.classify.below_threshold == int((classes["p_straw"] < 0.5).sum())
    # running the day again changes nothing
    again = daily(engine, settings, day=day, files=[DEMO], fetch_api=False)
    assert again.classify.classified == len(points)
    assert load_point_classes(engine, points["detection_id"].tolist()).equals(classes)


@pytest.mark.postgis
def test_daily_classifies_on_postgis(postgis_url: str, settings: Settings) -> None:
    settings = _quiet(settings.model_copy(update={"database_url": postgis_url}))
    engine = connect(postgis_url)
    upgrade(engine)
    day = dt.date(2025, 4, 23)
    try:
        first = daily(engine, settings, day=day, files=[DEMO], fetch_api=False)
        again = daily(engine, settings, day=day, files=[DEMO], fetch_api=False)
        ids = repo.load_detections(engine, first=day, last=day)["detection_id"].tolist()
        classes = load_point_classes(engine, ids)
    finally:
        engine.dispose()
    assert first.classify.classified == again.classify.classified == len(ids) == len(classes)
    assert classes["fp_class"].notna().all() and classes["p_straw"].between(0, 1).all()
