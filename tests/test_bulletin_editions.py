"""Editions: the internal bulletin names the responsible people, the public one never does.

Real chain: the bundled 2025-04-23 sample is ingested, the demo Jixi grid's fictional chiefs
registry (grids/jixi_demo_chiefs.csv) is imported and the day's points are attributed to the
grid (as ``make demo`` does), so the Jixi points carry their village's field chief and grid
member.  The public edition is searched for every name and phone number of the registry.
"""

from __future__ import annotations

import csv
import datetime as dt
import re
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from firewatch.config import PROJECT_ROOT, Settings
from firewatch.pipeline import ingest_file
from firewatch.publish.bulletin.content import build_daily_bulletin
from firewatch.publish.bulletin.render import write_document
from firewatch.publish.points import load_points
from firewatch.spatial.grid import attribute_stored, grid_from_settings
from firewatch.spatial.registry import import_registry
from firewatch.store import connect, upgrade
from tests.conftest import SAMPLES

DAY = dt.date(2025, 4, 23)
SAMPLE = SAMPLES / "MODIS_C61_NRT_hlj_2025-04-23_to_2025-04-24.csv"
REGISTRY = PROJECT_ROOT / "grids" / "jixi_demo_chiefs.csv"


def _registry_people() -> tuple[set[str], set[str]]:
    """Every name and phone number of the registry (phones also with the dashes removed)."""
    with REGISTRY.open(encoding="utf-8-sig", newline="") as fh:
        rows = list(csv.DictReader(fh))
    names = {r["name"] for r in rows if r["name"]}
    phones = {r["phone"] for r in rows if r["phone"]}
    phones |= {re.sub(r"\D", "", p) for p in phones}
    return names, phones


@pytest.fixture(scope="module")
def outputs(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, dict[str, str]]]:
    tmp = tmp_path_factory.mktemp("editions")
    settings = Settings(database_url=f"sqlite:///{tmp / 'fw.db'}", output_dir=tmp / "out")
    engine = connect(settings.database_url)
    upgrade(engine)
    grid = grid_from_settings(settings)
    assert grid is not None
    import_registry(engine, REGISTRY, grid)
    ingest_file(engine, settings, SAMPLE)
    attribute_stored(engine, settings, first=DAY, last=DAY)
    texts: dict[str, dict[str, str]] = {}
    try:
        people = load_points(engine, first=DAY, edition="internal").dropna(subset=["field_chief"])
        assert len(people) > 0  # the day has points in the Jixi demo grid
        texts["_on_duty"] = {
            "names": "\n".join(sorted({*people["field_chief"], *people["grid_member"]})),
            "phones": "\n".join(
                sorted({*people["field_chief_phone"], *people["grid_member_phone"]})
            ),
        }
        for edition in ("internal", "public"):
            doc = build_daily_bulletin(engine, settings, DAY, edition=edition, lang="zh")
            texts[edition] = _texts(write_document(doc, tmp / edition))
            township = [t for t in doc.tables if t.key == "per_township"]
            texts[edition]["_townships"] = str(int(township[0].frame["points"].sum()))
            texts[edition]["_grid_points"] = str(len(people))
    finally:
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
def test_internal_edition_names_the_people_on_duty(
    outputs: dict[str, dict[str, str]], fmt: str
) -> None:
    text = outputs["internal"][fmt]
    on_duty = outputs["_on_duty"]
    for who in [*on_duty["names"].split("\n"), *on_duty["phones"].split("\n")]:
        # grid members of a village are joined with 、 — each one must be there
        for one in who.split("、"):
            assert one in text, f"{one} missing from the internal {fmt}"
    assert "田长电话" in text and "网格员" in text


@pytest.mark.parametrize("fmt", ["html", "docx", "xlsx", "pdf"])
def test_public_edition_has_no_personal_data(outputs: dict[str, dict[str, str]], fmt: str) -> None:
    text = outputs["public"][fmt]
    names, phones = _registry_people()
    leaked = [who for who in names | phones if who in text]
    assert not leaked, f"personal data in the public {fmt}: {leaked[:5]}"
    assert "田长" not in text.replace("田长制", "")  # not even the column headings
    assert not re.search(r"1[3-9]\d-?\d{4}-?\d{4}", text)  # no mobile number of any kind


def test_both_editions_show_townships_and_the_synthetic_grid_notice(
    outputs: dict[str, dict[str, str]],
) -> None:
    for edition in ("internal", "public"):
        html = outputs[edition]["html"]
        assert "各乡（镇）火点统计" in html
        assert "合成的演示网格" in html  # every bulletin made from a synthetic grid says so
        assert outputs[edition]["_townships"] == outputs[edition]["_grid_points"]
