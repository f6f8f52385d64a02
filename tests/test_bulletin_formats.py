"""The daily bulletin of the real 2025-04-23 spring day, read back from Word, Excel, PDF and HTML.

The store is filled by the real pipeline (``ingest_file``) from the bundled FIRMS sample; every
expected number comes from the store (``repo.load_detections``) or from arithmetic in this file,
never from the bulletin code.
"""

from __future__ import annotations

import datetime as dt
import re
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from sqlalchemy import Engine

from firewatch.config import Settings
from firewatch.pipeline import ingest_file
from firewatch.publish.bulletin.content import DailyBulletin, build_daily_bulletin
from firewatch.publish.bulletin.render import write_document
from firewatch.store import connect, repo, upgrade
from tests.conftest import SAMPLES

DAY = dt.date(2025, 4, 23)
SAMPLE = SAMPLES / "MODIS_C61_NRT_hlj_2025-04-23_to_2025-04-24.csv"
TITLE = "黑龙江省秸秆焚烧火点卫星监测日报"


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Settings, Engine]]:
    tmp = tmp_path_factory.mktemp("bulletin_store")
    settings = Settings(database_url=f"sqlite:///{tmp / 'fw.db'}", output_dir=tmp / "out")
    engine = connect(settings.database_url)
    upgrade(engine)
    ingest_file(engine, settings, SAMPLE)
    yield settings, engine
    engine.dispose()


@pytest.fixture(scope="module")
def expected(store: tuple[Settings, Engine]) -> pd.DataFrame:
    """The day's province detections straight from the store."""
    _, engine = store
    det = repo.load_detections(engine, first=DAY, last=DAY, region=("province",))
    assert len(det) > 100  # the spring peak day: hundreds of points
    return det


@pytest.fixture(scope="module")
def written(
    store: tuple[Settings, Engine], tmp_path_factory: pytest.TempPathFactory
) -> dict[str, tuple[DailyBulletin, dict[str, Path]]]:
    settings, engine = store
    out = tmp_path_factory.mktemp("bulletins")
    docs = {}
    for edition in ("public", "internal"):
        doc = build_daily_bulletin(engine, settings, DAY, edition=edition, lang="zh")
        docs[edition] = (doc, write_document(doc, out))
    return docs


def _dms(x: float) -> str:
    """Degrees-minutes-seconds by hand (tenths of a second), independent of the code."""
    tenths = round(abs(x) * 36000)
    d, rest = divmod(tenths, 36000)
    m, s = divmod(rest, 600)
    return f"{d}°{m:02d}′{s // 10:02d}.{s % 10}″"


def _per_city(det: pd.DataFrame) -> dict[str, int]:
    return det.groupby("city_name").size().astype(int).to_dict()


# ---------------------------------------------------------------------------------------- Word


def _docx_tables(path: Path) -> list[list[list[str]]]:
    import docx

    document = docx.Document(str(path))
    return [[[c.text for c in row.cells] for row in t.rows] for t in document.tables]


def _table_with_header(tables: list[list[list[str]]], *labels: str) -> list[list[str]]:
    for t in tables:
        if all(label in t[0] for label in labels):
            return t
    raise AssertionError(f"no table with columns {labels}; headers: {[t[0] for t in tables]}")


def test_word_tables_match_the_store(written: Any, expected: pd.DataFrame) -> None:
    _, paths = written["public"]
    tables = _docx_tables(paths["docx"])
    city = _table_with_header(tables, "市（地）", "火点数（个）")
    assert city[0] == ["市（地）", "火点数（个）"]
    assert city[-1] == ["合计", str(len(expected))]
    assert {r[0]: int(r[1]) for r in city[1:-1]} == _per_city(expected)

    county = _table_with_header(tables, "县（市、区）", "火点数（个）")
    want = expected.groupby(["city_name", "county_name"]).size().astype(int).to_dict()
    assert {(r[0], r[1]): int(r[2]) for r in county[1:-1]} == want
    assert county[-1][-1] == str(len(expected))

    points = _table_with_header(tables, "经度", "纬度")
    assert points[0][:3] == ["序号", "市（地）", "县（市、区）"]
    for label in ("经度", "纬度", "过境时间（北京时间）", "卫星", "火辐射功率（MW）"):
        assert label in points[0]
    rows = points[1:]
    assert len(rows) == len(expected)
    lon = points[0].index("经度")
    lat = points[0].index("纬度")
    assert sorted(r[lon] for r in rows) == sorted(_dms(x) for x in expected["longitude"])
    assert sorted(r[lat] for r in rows) == sorted(_dms(x) for x in expected["latitude"])
    when = points[0].index("过境时间（北京时间）")
    assert sorted(r[when] for r in rows) == sorted(expected["acq_time_bjt"].dt.strftime("%H:%M"))


def test_word_has_the_map_and_the_lead_sentence(written: Any, expected: pd.DataFrame) -> None:
    import docx

    _, paths = written["public"]
    document = docx.Document(str(paths["docx"]))
    assert len(document.inline_shapes) == 1  # the distribution map
    text = "\n".join(p.text for p in document.paragraphs)
    assert TITLE in text
    assert "2025年4月23日" in text
    assert f"共监测到疑似秸秆焚烧火点{len(expected)}个" in text
    assert "北京时间" in text and "MODIS（Terra、Aqua）" in text


# ---------------------------------------------------------------------------------------- Excel


def test_excel_has_one_sheet_per_table_with_typed_cells(
    written: Any, expected: pd.DataFrame
) -> None:
    import openpyxl

    _, paths = written["public"]
    wb = openpyxl.load_workbook(paths["xlsx"])
    assert wb.sheetnames == ["概况", "各市（地）火点统计", "各县（市、区）火点统计", "火点明细"]

    city = list(wb["各市（地）火点统计"].iter_rows(values_only=True))
    assert city[0] == ("市（地）", "火点数（个）")
    assert all(isinstance(r[1], int) for r in city[1:])  # numbers, not text
    assert {r[0]: r[1] for r in city[1:-1]} == _per_city(expected)
    assert city[-1] == ("合计", len(expected))

    ws = wb["火点明细"]
    rows = list(ws.iter_rows(values_only=True))
    header, body = rows[0], rows[1:]
    assert len(body) == len(expected)
    col = {name: i for i, name in enumerate(header)}
    for name in (
        "经度",
        "纬度",
        "经度（十进制度）",
        "过境时间（北京时间）",
        "火辐射功率（MW）",
        "火点编号",
    ):
        assert name in col
    assert {r[col["火点编号"]] for r in body} == set(expected["detection_id"])
    by_id = expected.set_index("detection_id")
    for r in body:
        det = by_id.loc[r[col["火点编号"]]]
        assert isinstance(r[col["过境时间（北京时间）"]], dt.datetime)
        assert r[col["过境时间（北京时间）"]] == det["acq_time_bjt"].tz_localize(None)
        assert isinstance(r[col["经度"]], str) and r[col["经度"]] == _dms(det["longitude"])
        assert r[col["经度（十进制度）"]] == pytest.approx(det["longitude"])
        assert r[col["纬度（十进制度）"]] == pytest.approx(det["latitude"])
        assert r[col["火辐射功率（MW）"]] == pytest.approx(det["frp"])
    assert (
        ws.cell(row=2, column=col["过境时间（北京时间）"] + 1).number_format == "yyyy-mm-dd hh:mm"
    )

    summary = [r[0] for r in wb["概况"].iter_rows(values_only=True) if r[0]]
    assert summary[0] == TITLE
    assert any(f"火点{len(expected)}个" in s for s in summary)


# ---------------------------------------------------------------------------------------- PDF


def test_pdf_text_has_chinese_headings_and_totals(written: Any, expected: pd.DataFrame) -> None:
    _, paths = written["public"]
    text = subprocess.run(
        ["pdftotext", "-layout", str(paths["pdf"]), "-"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    for heading in (
        TITLE,
        "火点分布图",
        "各市（地）火点统计",
        "各县（市、区）火点统计",
        "火点明细",
    ):
        assert heading in text
    assert f"共监测到疑似秸秆焚烧火点{len(expected)}个" in re.sub(r"\s+", "", text)
    totals = re.findall(r"合计\s+(\d+)", text)
    assert totals and all(int(t) == len(expected) for t in totals)
    fonts = subprocess.run(
        ["pdffonts", str(paths["pdf"])], capture_output=True, text=True, check=True
    ).stdout
    assert "Noto-Serif-CJK-SC" in fonts and "Noto-Sans-CJK-SC" in fonts


def test_pdf_first_page_renders(written: Any, artifacts: Path, tmp_path: Path) -> None:
    import numpy as np
    from PIL import Image

    _, paths = written["public"]
    subprocess.run(
        [
            "pdftoppm",
            "-png",
            "-r",
            "60",
            "-f",
            "1",
            "-l",
            "1",
            str(paths["pdf"]),
            str(tmp_path / "p"),
        ],
        check=True,
    )
    (png,) = tmp_path.glob("p*.png")
    target = artifacts / "bulletin_2025-04-23_zh_public_page1.png"
    shutil.copy(png, target)
    with Image.open(target) as img:
        assert img.size[0] < img.size[1]  # an A4 portrait page
        # Not a blank page: the red title, the text and the map leave real ink.
        rgb = np.asarray(img.convert("RGB")).astype(int)
        assert rgb.std() > 20
        top = rgb[: rgb.shape[0] // 8]
        red = (top[..., 0] > 150) & (top[..., 1] < 80) & (top[..., 2] < 80)
        assert red.sum() > 50


# ---------------------------------------------------------------------------------------- HTML


def test_html_is_self_contained(written: Any, expected: pd.DataFrame) -> None:
    _, paths = written["public"]
    html = paths["html"].read_text("utf-8")
    assert not re.search(r"""(src|href)\s*=\s*["']?(https?:)?//""", html)
    assert "<link" not in html and "<script" not in html
    assert html.count('src="data:image/png;base64,') == 1
    body = re.search(r'<table id="table-points".*?<tbody>(.*?)</tbody>', html, re.S)
    assert body is not None and body.group(1).count("<tr>") == len(expected)


def test_formats_agree_on_the_total(written: Any, expected: pd.DataFrame) -> None:
    doc, _ = written["public"]
    assert doc.total == doc.detected == len(expected)
    assert doc.status is not None and doc.status.kind == "points"
    # The sample starts at 00:50 UTC (08:50 Beijing time): the bulletin says the day is partial.
    assert any("08:50–24:00" in n for n in doc.notes)


# ---------------------------------------------------------------------------------------- maps


def _with_png_maps(settings: Settings, **kw: Any) -> Settings:
    return settings.model_copy(
        update={"map": settings.map.model_copy(update={"daily_png": True, **kw})}
    )


@pytest.mark.browser
def test_map_module_png_is_the_bulletin_map_when_configured(
    store: tuple[Settings, Engine], artifacts: Path
) -> None:
    import io

    from PIL import Image

    settings, engine = store
    settings = _with_png_maps(settings, png_width=800, png_height=600, png_scale=1.5)
    doc = build_daily_bulletin(engine, settings, DAY, edition="public", lang="zh")
    (fig,) = doc.figures
    with Image.open(io.BytesIO(fig.png)) as img:
        assert img.size == (1200, 900)  # rendered by Chromium at the configured size and scale
    (artifacts / "bulletin_map_chromium.png").write_bytes(fig.png)
    assert not any("示意图" in n for n in doc.notes)


def test_bulletin_falls_back_to_a_plain_map_and_says_so(store: tuple[Settings, Engine]) -> None:
    settings, engine = store
    settings = _with_png_maps(settings, chromium_path="/nonexistent/chromium")
    doc = build_daily_bulletin(engine, settings, DAY, edition="public", lang="zh")
    assert len(doc.figures) == 1 and doc.figures[0].png.startswith(b"\x89PNG")
    assert any("浏览器未能生成分布图" in n for n in doc.notes)
