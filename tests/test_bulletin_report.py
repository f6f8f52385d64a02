"""Weekly and ban-period reports over the real NOAA-20 autumn 2022 series.

The store is fed by FIRMS area-API requests answered by the local replay server; days the store
has no data for must show as such in the per-day table (an empty count, never 0).
"""

from __future__ import annotations

import datetime as dt
import re
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import pytest
from pydantic import SecretStr
from sqlalchemy import Engine

from firewatch.config import BanPeriod, Settings
from firewatch.pipeline import fetch
from firewatch.publish.bulletin.content import build_period_report, period_window, week_window
from firewatch.publish.bulletin.render import write_document
from firewatch.sources.firms import FirmsClient
from firewatch.store import connect, repo, upgrade
from tests.firms_replay import GOOD_KEY, FirmsReplay

PRODUCT = ["VIIRS_NOAA20_NRT"]


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Settings, Engine]]:
    tmp = tmp_path_factory.mktemp("reports")
    settings = Settings(
        database_url=f"sqlite:///{tmp / 'fw.db'}",
        output_dir=tmp / "out",
        # A short key window so the test stays small; the real one is a setting like this.
        ban_periods=[BanPeriod(name="autumn", start="10-20", end="11-05", years=[2022])],
    )
    engine = connect(settings.database_url)
    upgrade(engine)
    with (
        FirmsReplay() as replay,
        FirmsClient(SecretStr(GOOD_KEY), base_url=replay.url, retries=0, timeout=10) as client,
    ):
        # UTC days 10-19 … 10-30 (Beijing 10-19 08:00 … 10-31 08:00), then 11-02 … 11-03
        # (Beijing 11-02 08:00 … 11-04 08:00).
        fetch(
            engine, settings, start=dt.date(2022, 10, 19), days=12, products=PRODUCT, client=client
        )
        fetch(engine, settings, start=dt.date(2022, 11, 2), days=2, products=PRODUCT, client=client)
    yield settings, engine
    engine.dispose()


def _per_day(engine: Engine, first: dt.date, last: dt.date) -> dict[dt.date, int]:
    det = repo.load_detections(engine, first=first, last=last, region=("province",))
    return det.groupby(det["acq_time_bjt"].dt.date).size().astype(int).to_dict()


def test_weekly_report_counts_each_day_from_the_store(
    store: tuple[Settings, Engine], tmp_path: Path
) -> None:
    import docx
    import openpyxl

    settings, engine = store
    first, last = week_window(dt.date(2022, 10, 29))
    assert (first, last) == (dt.date(2022, 10, 24), dt.date(2022, 10, 30))
    want = _per_day(engine, first, last)
    report = build_period_report(engine, settings, first, last, name="week", lang="zh")
    assert report.title == "黑龙江省秸秆焚烧火点卫星监测周报"
    assert report.total == sum(want.values())
    paths = write_document(report, tmp_path)

    wb = openpyxl.load_workbook(paths["xlsx"])
    rows = list(wb["逐日火点统计"].iter_rows(values_only=True))
    assert rows[0] == ("日期", "火点数（个）", "数据情况")
    body, total = rows[1:-1], rows[-1]
    assert [r[0].date() for r in body] == [first + dt.timedelta(days=i) for i in range(7)]
    assert {r[0].date(): r[1] for r in body} == {
        first + dt.timedelta(days=i): want.get(first + dt.timedelta(days=i), 0) for i in range(7)
    }
    assert all(r[2] == "有数据" for r in body)  # the API answered for every day
    assert total[:2] == ("合计", report.total)

    city = list(wb["各市（地）火点统计"].iter_rows(values_only=True))
    det = repo.load_detections(engine, first=first, last=last, region=("province",))
    assert {r[0]: r[1] for r in city[1:-1]} == det.groupby("city_name").size().to_dict()
    county = list(wb["各县（市、区）火点统计"].iter_rows(values_only=True))
    assert sum(r[2] for r in county[1:-1]) == report.total

    word = docx.Document(str(paths["docx"]))
    assert len(word.inline_shapes) == 1  # the per-day chart
    text = subprocess.run(
        ["pdftotext", str(paths["pdf"]), "-"], capture_output=True, text=True, check=True
    ).stdout
    flat = re.sub(r"\s+", "", text)
    assert "逐日火点统计" in flat and f"共监测到疑似秸秆焚烧火点{report.total}个" in flat
    peak = max(want, key=lambda d: want[d])
    assert f"{peak.month}月{peak.day}日（{want[peak]}个）" in flat


def test_ban_period_report_shows_days_without_data_as_such(
    store: tuple[Settings, Engine], tmp_path: Path
) -> None:
    import openpyxl

    settings, engine = store
    first, last = period_window(settings, "autumn", 2022)
    assert (first, last) == (dt.date(2022, 10, 20), dt.date(2022, 11, 5))
    report = build_period_report(engine, settings, first, last, name="autumn", lang="zh")
    assert report.title == "黑龙江省秋季禁烧期秸秆焚烧火点卫星监测报告"
    kinds = dict(zip(report.per_day["day"], report.per_day["kind"], strict=True))
    # Beijing 11-01 falls between the two requests; 11-05 after the last one.
    assert kinds[dt.date(2022, 11, 1)] == "no_data"
    assert kinds[dt.date(2022, 11, 5)] == "not_ingested"
    assert all(k in ("points", "no_points") for d, k in kinds.items() if d.day not in (1, 5))
    want = _per_day(engine, first, last)
    assert report.total == sum(want.values())

    paths = write_document(report, tmp_path, formats=["xlsx", "html"])
    rows = list(openpyxl.load_workbook(paths["xlsx"])["逐日火点统计"].iter_rows(values_only=True))
    by_day = {r[0].date(): r for r in rows[1:-1]}
    assert by_day[dt.date(2022, 11, 1)][1:] == (None, "无数据")  # empty, not 0
    assert by_day[dt.date(2022, 11, 5)][1:] == (None, "未入库")
    assert by_day[dt.date(2022, 10, 29)][1:] == (want[dt.date(2022, 10, 29)], "有数据")
    # Only 00:00–08:00 of Beijing 10-31 is covered (no daytime pass in it): zero, and marked as
    # covering part of the day.
    assert by_day[dt.date(2022, 10, 31)][1:] == (0, "有数据，无火点（部分时段）")
    html = paths["html"].read_text("utf-8")
    assert "1天无数据、1天尚未入库" in html


def test_report_with_no_data_at_all_says_so(engine: Engine, settings: Settings) -> None:
    report = build_period_report(
        engine, settings, dt.date(2023, 3, 10), dt.date(2023, 3, 16), name="week", lang="en"
    )
    assert report.status_message is not None
    assert "No day from" in report.status_message
    assert report.sections == [] and report.total == 0
    assert pd.isna(report.per_day["points"]).all()
