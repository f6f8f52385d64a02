"""Editions: the internal bulletin names the responsible people, the public one never does.

The points are the real 2025-04-23 sample, ingested by the pipeline.  The grid's loader is
replaced here by one that gives each point a plainly fictional township, village, field chief
and grid member (the contract's columns, ``firewatch.spatial.grid.load_point_grid``), so that the
internal edition has names and phones to show and the public edition has some to leak.
"""

from __future__ import annotations

import datetime as dt
import re
import subprocess
from collections.abc import Iterator, Sequence
from pathlib import Path

import pandas as pd
import pytest
from sqlalchemy import Engine

from firewatch.config import Settings
from firewatch.pipeline import ingest_file
from firewatch.publish import points as points_module
from firewatch.publish.bulletin.content import build_daily_bulletin
from firewatch.publish.bulletin.render import write_document
from firewatch.store import connect, repo, upgrade
from tests.conftest import SAMPLES

DAY = dt.date(2025, 4, 23)
SAMPLE = SAMPLES / "MODIS_C61_NRT_hlj_2025-04-23_to_2025-04-24.csv"
CHIEFS = ["甲田长", "乙田长", "丙田长"]
MEMBERS = ["子网格员", "丑网格员", "寅网格员"]


def fictional_grid(engine: Engine, ids: Sequence[str]) -> pd.DataFrame:
    """Grid columns for points: townships per county, fictional people and phones."""
    det = repo.load_detections(engine).set_index("detection_id").loc[list(ids)]
    i = pd.Series(range(len(det)), index=det.index) % 3
    return pd.DataFrame(
        {
            "township_code": det["county_code"] + "10" + i.astype(str),
            "township_name": det["county_name"] + i.map({0: "东镇", 1: "西镇", 2: "南镇"}),
            "village_code": det["county_code"] + "10" + i.astype(str) + "201",
            "village_name": i.map({0: "一村", 1: "二村", 2: "三村"}),
            "grid_flags": "",
            "field_chief": i.map(dict(enumerate(CHIEFS))),
            "field_chief_phone": i.map(lambda k: f"1390000000{k}"),
            "grid_member": i.map(dict(enumerate(MEMBERS))),
            "grid_member_phone": i.map(lambda k: f"1370000000{k}"),
            "grid_synthetic": True,
        },
        index=det.index,
    )


PERSONAL = [*CHIEFS, *MEMBERS, *(f"1390000000{k}" for k in range(3))]
PERSONAL += [f"1370000000{k}" for k in range(3)]


@pytest.fixture(scope="module")
def outputs(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, dict[str, str]]]:
    mp = pytest.MonkeyPatch()
    # In place of the area's own loader (whose table may exist but be empty here).
    loaders = [a for a in points_module.AREA_LOADERS if a[1] != "load_point_grid"]
    mp.setattr(
        points_module, "AREA_LOADERS", (*loaders, (__name__, "fictional_grid", "detections"))
    )
    tmp = tmp_path_factory.mktemp("editions")
    settings = Settings(database_url=f"sqlite:///{tmp / 'fw.db'}", output_dir=tmp / "out")
    engine = connect(settings.database_url)
    upgrade(engine)
    ingest_file(engine, settings, SAMPLE)
    texts: dict[str, dict[str, str]] = {}
    try:
        for edition in ("internal", "public"):
            doc = build_daily_bulletin(engine, settings, DAY, edition=edition, lang="zh")
            texts[edition] = _texts(write_document(doc, tmp / edition))
            texts[edition]["_townships"] = str(
                sum(len(t.frame) for t in doc.tables if t.key == "per_township")
            )
    finally:
        mp.undo()
        engine.dispose()
    yield texts


def _texts(paths: dict[str, Path]) -> dict[str, str]:
    """Everything a reader of each file could see (document text, cells, metadata)."""
    import docx
    import openpyxl

    word = docx.Document(str(paths["docx"]))
    parts = [p.text for p in word.paragraphs]
    parts += [c.text for t in word.tables for row in t.rows for c in row.cells]
    parts += [word.core_properties.title or "", word.core_properties.comments or ""]
    wb = openpyxl.load_workbook(paths["xlsx"])
    cells = [str(v) for ws in wb for row in ws.iter_rows(values_only=True) for v in row if v]
    pdf = subprocess.run(
        ["pdftotext", str(paths["pdf"]), "-"], capture_output=True, text=True, check=True
    ).stdout
    return {
        "html": paths["html"].read_text("utf-8"),
        "docx": "\n".join(parts),
        "xlsx": "\n".join(cells),
        "pdf": re.sub(r"\s+", "", pdf),
    }


@pytest.mark.parametrize("fmt", ["html", "docx", "xlsx", "pdf"])
def test_internal_edition_names_the_responsible_people(
    outputs: dict[str, dict[str, str]], fmt: str
) -> None:
    text = outputs["internal"][fmt]
    for who in PERSONAL:
        assert who in text, f"{who} missing from the internal {fmt}"
    assert "田长电话" in text and "网格员" in text


@pytest.mark.parametrize("fmt", ["html", "docx", "xlsx", "pdf"])
def test_public_edition_has_no_personal_data(outputs: dict[str, dict[str, str]], fmt: str) -> None:
    text = outputs["public"][fmt]
    leaked = [who for who in PERSONAL if who in text]
    assert not leaked, f"personal data in the public {fmt}: {leaked}"
    assert "田长" not in text.replace("田长制", "")  # not even the column headings
    assert not re.search(r"1[3-9]\d{9}", text)  # no mobile number of any kind


def test_both_editions_show_townships_and_the_synthetic_grid_notice(
    outputs: dict[str, dict[str, str]],
) -> None:
    for edition in ("internal", "public"):
        html = outputs[edition]["html"]
        assert "各乡（镇）火点统计" in html
        assert "合成的演示网格" in html  # every bulletin made from a synthetic grid says so
        assert int(outputs[edition]["_townships"]) > 0
