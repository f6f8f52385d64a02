"""Burn-scar confirmation end to end through sentinelhub against the local Sentinel Hub replay.

The real-service test is marked ``sh_integration`` and deselected by default (pyproject addopts);
run it with real credentials::

    FIREWATCH_SEASON__SENTINEL__CLIENT_ID=... FIREWATCH_SEASON__SENTINEL__CLIENT_SECRET=... \\
        .venv/bin/pytest -m sh_integration tests/test_season_sentinel.py
"""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import pytest
import shapely
from pyproj import Transformer

from firewatch.config import Settings
from firewatch.errors import ConfigError
from firewatch.publish.season.events import event_table
from firewatch.publish.season.fre import estimate_fre
from firewatch.publish.season.sentinel import (
    SentinelAuthError,
    SentinelError,
    confirm_event,
    confirm_events,
)
from firewatch.publish.season.settings import SentinelSettings
from tests.season_data import BAIQUAN, autumn_2022
from tests.sentinel_replay import Burn, Scene, SentinelReplay

FIRE_DAY = dt.date(2022, 10, 7)


@pytest.fixture(autouse=True)
def _plain_http(monkeypatch: pytest.MonkeyPatch) -> None:
    # the replay speaks plain HTTP on 127.0.0.1; oauthlib refuses http token URLs otherwise
    monkeypatch.setenv("OAUTHLIB_INSECURE_TRANSPORT", "1")


@pytest.fixture(scope="module")
def events() -> pd.DataFrame:
    det = estimate_fre(autumn_2022(), Settings().season)
    return event_table(det)


@pytest.fixture(scope="module")
def event(events: pd.DataFrame) -> pd.Series:
    """The real three-detection fire of 拜泉县 on 2022-10-07 (seen at 03:53 and 05:33 UTC)."""
    ev = events.loc[
        (events["county_code"] == BAIQUAN)
        & (events["first_utc"].dt.date == FIRE_DAY)
        & (events["n_detections"] == 3)
    ]
    assert len(ev) == 1
    return ev.iloc[0]


def _field(event: pd.Series) -> list[tuple[float, float]]:
    """A burned field around the event's detections: about 448 m x 334 m."""
    lon, lat = float(event["longitude"]), float(event["latitude"])
    return [
        (lon - 0.003, lat - 0.0015),
        (lon + 0.003, lat - 0.0015),
        (lon + 0.003, lat + 0.0015),
        (lon - 0.003, lat + 0.0015),
    ]


def _area_ha(ring: list[tuple[float, float]], epsg: int) -> float:
    to_utm = Transformer.from_crs(4326, epsg, always_xy=True)
    xs, ys = to_utm.transform([p[0] for p in ring], [p[1] for p in ring])
    return shapely.Polygon(zip(xs, ys, strict=True)).area / 1e4


def _scenes() -> list[Scene]:
    return [
        Scene(dt.date(2022, 9, 20), 3.0),
        Scene(dt.date(2022, 10, 2), 70.0),  # too cloudy: filtered by the catalog query
        Scene(dt.date(2022, 10, 5), 8.0),  # the closest clear scene before the fire
        Scene(dt.date(2022, 10, 6), 55.0),  # closer, but too cloudy
        Scene(dt.date(2022, 10, 12), 12.0),  # the first clear scene after
        Scene(dt.date(2022, 10, 22), 1.0),
    ]


@pytest.fixture
def replay(event: pd.Series) -> Iterator[SentinelReplay]:
    with SentinelReplay(scenes=_scenes(), burns=[Burn(_field(event), FIRE_DAY)]) as r:
        yield r


def test_a_real_event_is_confirmed_with_the_right_burned_area(
    replay: SentinelReplay, event: pd.Series, tmp_path: Path
) -> None:
    import rasterio

    cfg = replay.settings(tmp_path / "cache")
    scar = confirm_event(event.to_dict(), cfg, event_id=int(event.name))
    assert scar.status == "confirmed"
    assert (scar.pre_date, scar.post_date) == ("2022-10-05", "2022-10-12")
    assert (scar.pre_cloud_pct, scar.post_cloud_pct) == (8.0, 12.0)
    assert scar.epsg == 32652  # UTM zone 52N (126-132 E)
    true_ha = _area_ha(_field(event), scar.epsg)
    assert true_ha == pytest.approx(14.96, abs=0.1)  # 0.006° x 0.003° at 47.86 N: 448 m x 334 m
    assert scar.burned_ha == pytest.approx(true_ha, rel=0.03)
    assert scar.valid_fraction == 1.0
    # dNBR about 0.30 - (-0.15) = 0.45: moderate-low/high classes; background unburned
    burned_classes = scar.class_ha["moderate_low"] + scar.class_ha["moderate_high"]
    assert burned_classes == pytest.approx(scar.burned_ha, rel=0.01)
    assert scar.class_ha["high"] == 0.0
    assert scar.class_ha["unburned"] > 5 * scar.burned_ha  # the 400 m margin around the fire
    assert scar.class_ha["low"] < 0.1  # noise alone hardly reaches 0.10
    # the protocol: one login, two catalog searches, two process requests, all authorised
    assert [c.path for c in replay.calls] == [
        "/oauth/token",
        "/api/v1/catalog/1.0.0/search",
        "/api/v1/catalog/1.0.0/search",
        "/api/v1/process",
        "/api/v1/process",
    ]
    search = replay.calls[1].body
    assert search["collections"] == ["sentinel-2-l2a"]
    assert search["filter"] == "eo:cloud_cover < 40"
    process = replay.calls[3].body
    assert process["input"]["data"][0]["dataFilter"]["timeRange"]["from"].startswith("2022-10-05")
    assert process["output"]["responses"][0]["format"]["type"] == "image/tiff"
    # the dNBR raster is kept beside the cached result, georeferenced over the event
    assert scar.dnbr_path is not None
    with rasterio.open(Path(cfg.cache_dir) / scar.dnbr_path) as src:
        assert src.crs.to_epsg() == 32652
        x, y = Transformer.from_crs(4326, 32652, always_xy=True).transform(
            float(event["longitude"]), float(event["latitude"])
        )
        row, col = src.index(x, y)
        assert src.read(1)[row, col] > 0.27


def test_results_are_cached(replay: SentinelReplay, event: pd.Series, tmp_path: Path) -> None:
    cfg = replay.settings(tmp_path / "cache")
    first = confirm_event(event.to_dict(), cfg, event_id=7)
    n = len(replay.calls)
    again = confirm_event(event.to_dict(), cfg, event_id=7)
    assert again.cached and not first.cached
    assert again.burned_ha == first.burned_ha and again.status == first.status
    assert len(replay.calls) == n  # nothing asked of the service
    # a different threshold is a different question: asked again
    other = confirm_event(
        event.to_dict(), replay.settings(tmp_path / "cache", dnbr_threshold=0.1), event_id=7
    )
    assert not other.cached and len(replay.calls) > n


def test_clouds_make_it_inconclusive(event: pd.Series, tmp_path: Path) -> None:
    lon, lat = float(event["longitude"]), float(event["latitude"])
    cloud = (lon - 0.05, lat - 0.05, lon + 0.05, lat + 0.05)
    scenes = [Scene(dt.date(2022, 10, 1), 5.0), Scene(dt.date(2022, 10, 15), 30.0, [cloud])]
    with SentinelReplay(scenes=scenes, burns=[Burn(_field(event), FIRE_DAY)]) as r:
        scar = confirm_event(event.to_dict(), r.settings(tmp_path), event_id=1)
    assert scar.status == "inconclusive"
    assert scar.valid_fraction == 0.0


def test_no_scene_after_the_fire(event: pd.Series, tmp_path: Path) -> None:
    scenes = [Scene(dt.date(2022, 10, 1), 5.0), Scene(dt.date(2022, 10, 15), 90.0)]
    with SentinelReplay(scenes=scenes, burns=[]) as r:
        scar = confirm_event(event.to_dict(), r.settings(tmp_path), event_id=1)
        assert r.count("/api/v1/process") == 0
        assert scar.status == "no_scene"
        assert "post-fire" in scar.note and "40%" in scar.note
        # A clear scene acquired (or ingested) later is found when asked again: "no scene"
        # is not a cached answer.
        r.scenes.append(Scene(dt.date(2022, 10, 20), 10.0))
        again = confirm_event(event.to_dict(), r.settings(tmp_path), event_id=1)
        assert r.count("/api/v1/catalog/1.0.0/search") == 4
    assert not again.cached and again.status == "not_confirmed"
    assert again.post_date == "2022-10-20"


def test_no_scar_where_nothing_burned(event: pd.Series, tmp_path: Path) -> None:
    far = [(p[0] + 0.2, p[1]) for p in _field(event)]  # a field 15 km away burned instead
    with SentinelReplay(scenes=_scenes(), burns=[Burn(far, FIRE_DAY)]) as r:
        scar = confirm_event(event.to_dict(), r.settings(tmp_path), event_id=1)
    assert scar.status == "not_confirmed"
    assert scar.burned_ha is not None and scar.burned_ha < 0.1


def test_refused_credentials_and_failures_are_clear(event: pd.Series, tmp_path: Path) -> None:
    with SentinelReplay(scenes=_scenes(), burns=[]) as r:
        bad = r.settings(tmp_path / "a", client_secret="wrong")
        with pytest.raises(SentinelAuthError, match="refused the client credentials"):
            confirm_event(event.to_dict(), bad, event_id=1)
        assert "wrong" not in repr(bad)  # secrets stay masked
        r.fail_process = True
        with pytest.raises(SentinelError, match="process request failed") as info:
            confirm_event(event.to_dict(), r.settings(tmp_path / "b"), event_id=1)
        assert info.value.status == 500
    with pytest.raises(ConfigError, match="CLIENT_ID"):
        confirm_event(event.to_dict(), SentinelSettings(cache_dir=tmp_path / "c"), event_id=1)


def test_confirm_the_largest_events(
    replay: SentinelReplay, events: pd.DataFrame, event: pd.Series, tmp_path: Path
) -> None:
    chosen = pd.concat([events.loc[[event.name]], events.nlargest(1, "fre_mj")])
    table = confirm_events(chosen, replay.settings(tmp_path), top=2)
    assert len(table) == 2
    assert table.loc[int(event.name), "status"] == "confirmed"
    assert set(table["status"]) <= {"confirmed", "not_confirmed", "inconclusive", "no_scene"}
    assert replay.count("/oauth/token") == 1  # one login for both


@pytest.mark.sh_integration
def test_real_sentinel_hub(event: pd.Series, tmp_path: Path) -> None:
    cid = os.environ.get("FIREWATCH_SEASON__SENTINEL__CLIENT_ID")
    secret = os.environ.get("FIREWATCH_SEASON__SENTINEL__CLIENT_SECRET")
    if not (cid and secret):
        pytest.skip("needs FIREWATCH_SEASON__SENTINEL__CLIENT_ID and ..._CLIENT_SECRET")
    cfg = Settings().season.sentinel.model_copy(update={"cache_dir": tmp_path})
    scar = confirm_event(event.to_dict(), cfg, event_id=int(event.name))
    assert scar.status in {"confirmed", "not_confirmed", "inconclusive", "no_scene"}
    if scar.pre_date is not None:
        assert dt.date.fromisoformat(scar.pre_date) < FIRE_DAY
        assert dt.date.fromisoformat(scar.post_date or "") > FIRE_DAY
