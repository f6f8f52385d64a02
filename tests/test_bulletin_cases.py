"""A day with no fire, a day with no data and a day not yet ingested read differently.

The store is fed the way ``firewatch daily`` feeds it: FIRMS area-API requests, answered by the
local replay server (tests/firms_replay.py) with the real NOAA-20 rows of autumn 2022, including
a request that fails (HTTP 503).  Over 2022-11-18 … 11-26 the series has detections on 11-18,
11-21, 11-23, 11-24 and 11-26 (UTC acquisition dates, counted in its README) and none on 11-19,
11-20, 11-22 and 11-25.
"""

from __future__ import annotations

import datetime as dt
import re
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from pydantic import SecretStr
from sqlalchemy import Engine

from firewatch.config import Settings
from firewatch.errors import FirmsApiError
from firewatch.pipeline import fetch
from firewatch.publish.bulletin.content import DailyBulletin, build_daily_bulletin
from firewatch.publish.bulletin.render import write_document
from firewatch.sources.firms import FirmsClient
from firewatch.store import connect, repo, upgrade
from tests.firms_replay import GOOD_KEY, FirmsReplay

PRODUCT = ["VIIRS_NOAA20_NRT"]


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Settings, Engine]]:
    tmp = tmp_path_factory.mktemp("cases")
    settings = Settings(database_url=f"sqlite:///{tmp / 'fw.db'}", output_dir=tmp / "out")
    engine = connect(settings.database_url)
    upgrade(engine)
    with (
        FirmsReplay() as replay,
        FirmsClient(SecretStr(GOOD_KEY), base_url=replay.url, retries=0, timeout=10) as client,
    ):
        # UTC days 11-18, 11-19, 11-20 asked for and answered (rows only on 11-18).
        fetch(
            engine, settings, start=dt.date(2022, 11, 18), days=3, products=PRODUCT, client=client
        )
        # The source is down for 11-24.
        replay.fail_next(1)
        with pytest.raises(FirmsApiError):
            fetch(engine, settings, start=dt.date(2022, 11, 24), products=PRODUCT, client=client)
        # 11-26 answered.
        fetch(engine, settings, start=dt.date(2022, 11, 26), products=PRODUCT, client=client)
        # The same UTC day a year before, answered with no rows (the replay holds none for it):
        # a covered day with zero points, which the bulletin can compare with.
        fetch(engine, settings, start=dt.date(2021, 11, 18), products=PRODUCT, client=client)
    yield settings, engine
    engine.dispose()


def _render(doc: DailyBulletin, out: Path) -> dict[str, str]:
    """The text a reader sees in each format."""
    import docx
    import openpyxl

    paths = write_document(doc, out)
    word = docx.Document(str(paths["docx"]))
    wb = openpyxl.load_workbook(paths["xlsx"])
    pdf = subprocess.run(
        ["pdftotext", str(paths["pdf"]), "-"], capture_output=True, text=True, check=True
    ).stdout
    html = paths["html"].read_text("utf-8")
    return {
        "html": re.sub(r"<[^>]+>", "", html),
        "docx": "\n".join(p.text for p in word.paragraphs),
        "xlsx": "\n".join(str(r[0]) for ws in wb for r in ws.iter_rows(values_only=True) if r[0]),
        "pdf": re.sub(r"\s+", "", pdf),
        "_tables": f"{len(word.tables)} {len(wb.sheetnames)} {html.count('<table')}",
    }


def _squash(text: str) -> str:
    return re.sub(r"\s+", "", text)


def test_a_day_with_fires_compares_with_the_day_before(store: tuple[Settings, Engine]) -> None:
    settings, engine = store
    n = len(repo.load_detections(engine, first=dt.date(2022, 11, 18), region=("province",)))
    assert n > 0
    doc = build_daily_bulletin(engine, settings, dt.date(2022, 11, 18), lang="zh")
    assert doc.status is not None and doc.status.kind == "points"
    assert doc.total == n
    # 11-17 was never asked for: no comparison, and the bulletin says why.
    assert "前一日无数据，不作比较" in doc.lead[0]
    assert doc.change_previous is None
    # 2021-11-18 was answered with no detections: the year-on-year change is the whole count.
    assert doc.change_last_year == n
    assert f"较去年同日增加{n}个" in doc.lead[0]


def test_a_day_after_a_day_without_fire_compares_with_zero(
    store: tuple[Settings, Engine],
) -> None:
    settings, engine = store
    # Beijing 11-19 and 11-20 were both fully covered and had no fire: a change of zero, which
    # is a comparison (not "no data for the previous day").
    doc = build_daily_bulletin(engine, settings, dt.date(2022, 11, 20), lang="zh")
    assert doc.status is not None and doc.status.kind == "no_points"
    assert doc.change_previous == 0  # 11-19: no fire either, and covered


def test_no_fire_day_says_the_data_arrived(store: tuple[Settings, Engine], tmp_path: Path) -> None:
    settings, engine = store
    doc = build_daily_bulletin(engine, settings, dt.date(2022, 11, 19), lang="zh")
    assert doc.status is not None and doc.status.kind == "no_points"
    assert doc.status.full  # the API answered for the whole Beijing day
    texts = _render(doc, tmp_path)
    for fmt in ("html", "docx", "xlsx", "pdf"):
        assert "全省未监测到火点" in _squash(texts[fmt]), fmt
        assert "VIIRS_NOAA20_NRT" in texts[fmt], fmt
    assert texts["_tables"] == "0 1 0"  # no empty tables passed off as a result


def test_source_down_day_says_no_data_not_no_fire(
    store: tuple[Settings, Engine], tmp_path: Path
) -> None:
    settings, engine = store
    doc = build_daily_bulletin(engine, settings, dt.date(2022, 11, 24), lang="zh")
    assert doc.status is not None and doc.status.kind == "no_data"
    assert doc.status.failures and "503" in doc.status.failures[0]
    texts = _render(doc, tmp_path)
    for fmt in ("html", "docx", "xlsx", "pdf"):
        flat = _squash(texts[fmt])
        assert "无可用卫星数据" in flat and "数据获取失败" in flat, fmt
        assert "不代表全省无火点" in flat, fmt
        assert "全省未监测到火点" not in flat, fmt
    assert texts["_tables"] == "0 1 0"


def test_gap_between_ingested_days_says_no_data(
    store: tuple[Settings, Engine], tmp_path: Path
) -> None:
    settings, engine = store
    doc = build_daily_bulletin(engine, settings, dt.date(2022, 11, 22), lang="zh")
    assert doc.status is not None and doc.status.kind == "no_data"
    assert not doc.status.failures
    flat = _squash(_render(doc, tmp_path)["docx"])
    assert "前后日期均有数据入库，但没有覆盖该日的数据" in flat
    assert "全省未监测到火点" not in flat


def test_day_not_ingested_says_run_daily_first(
    store: tuple[Settings, Engine], tmp_path: Path
) -> None:
    settings, engine = store
    doc = build_daily_bulletin(engine, settings, dt.date(2022, 11, 28), lang="zh")
    assert doc.status is not None and doc.status.kind == "not_ingested"
    texts = _render(doc, tmp_path)
    for fmt in ("html", "docx", "xlsx", "pdf"):
        flat = _squash(texts[fmt])
        assert "尚未入库" in flat and "firewatchdaily--date2022-11-28" in flat, fmt
        assert "全省未监测到火点" not in flat, fmt
    assert texts["_tables"] == "0 1 0"


def test_empty_store_and_english_wording(engine: Engine, settings: Settings) -> None:
    doc = build_daily_bulletin(engine, settings, dt.date(2025, 4, 23), lang="en")
    assert doc.status is not None and doc.status.kind == "not_ingested"
    assert doc.status_message is not None
    assert "have not been ingested yet" in doc.status_message
    assert "the store holds no data at all" in doc.status_message
    assert "not a report of zero fires" in doc.status_message


def test_the_three_messages_differ(store: tuple[Settings, Engine]) -> None:
    settings, engine = store
    messages = {}
    for lang in ("zh", "en"):
        for day in (19, 24, 28):
            doc = build_daily_bulletin(engine, settings, dt.date(2022, 11, day), lang=lang)
            assert doc.status is not None and doc.status_message
            messages[(lang, doc.status.kind)] = doc.status_message
    assert {k for _, k in messages} == {"no_points", "no_data", "not_ingested"}
    assert len(set(messages.values())) == 6
