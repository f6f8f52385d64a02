"""Points the classifier excludes or doubts: left out of the count, listed with their reason.

The points are the real 2025-04-23 sample, ingested by the pipeline.  The classifier's loader
(contract: ``firewatch.classify.store.load_point_classes``) is replaced by a fixed rule on FRP so
the expected numbers can be counted here from the store: FRP >= 30 MW "industrial" with
P(straw) 0.05 (below the exclusion threshold 0.1), 20–30 MW "other vegetation" with 0.3 (below
the doubt threshold 0.5), the rest straw with 0.9.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator, Sequence
from typing import Any

import numpy as np
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
WHY = "同一位置连续多日高温，附近有工厂"


def frp_rule_classes(engine: Engine, ids: Sequence[str]) -> pd.DataFrame:
    det = repo.load_detections(engine).set_index("detection_id").loc[list(ids)]
    hot, warm = det["frp"] >= 30, det["frp"].between(20, 30, inclusive="left")
    return pd.DataFrame(
        {
            "fp_class": np.select([hot, warm], ["industrial", "other_vegetation"], "straw"),
            "p_straw": np.select([hot, warm], [0.05, 0.3], 0.9),
            "fp_explanation": np.where(hot, WHY, None),
            "model_version": "frp-rule-test",
            "label_source": "model",
        },
        index=det.index,
    )


@pytest.fixture(scope="module")
def case(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    mp = pytest.MonkeyPatch()
    # In place of the area's own loader (whose table may exist but be empty here).
    loaders = [a for a in points_module.AREA_LOADERS if a[1] != "load_point_classes"]
    mp.setattr(
        points_module, "AREA_LOADERS", (*loaders, (__name__, "frp_rule_classes", "detections"))
    )
    tmp = tmp_path_factory.mktemp("classes")
    settings = Settings(database_url=f"sqlite:///{tmp / 'fw.db'}", output_dir=tmp / "out")
    engine = connect(settings.database_url)
    upgrade(engine)
    ingest_file(engine, settings, SAMPLE)
    try:
        det = repo.load_detections(engine, first=DAY, last=DAY, region=("province",))
        doc = build_daily_bulletin(engine, settings, DAY, edition="public", lang="zh")
        paths = write_document(doc, tmp / "out", formats=["docx", "xlsx"])
    finally:
        mp.undo()
        engine.dispose()
    excluded = int((det["frp"] >= 30).sum())
    flagged = int(det["frp"].between(20, 30, inclusive="left").sum())
    assert excluded > 0 and flagged > 0
    yield {"doc": doc, "paths": paths, "det": det, "excluded": excluded, "flagged": flagged}


def test_excluded_points_leave_the_count(case: dict[str, Any]) -> None:
    import docx

    doc, n, ex = case["doc"], len(case["det"]), case["excluded"]
    assert (doc.detected, doc.total, doc.excluded, doc.flagged) == (n, n - ex, ex, case["flagged"])
    assert f"共监测到疑似秸秆焚烧火点{n - ex}个（另剔除误判火点{ex}个）" in doc.lead[0]
    tables = [
        [[c.text for c in r.cells] for r in t.rows]
        for t in docx.Document(str(case["paths"]["docx"])).tables
    ]
    city = next(t for t in tables if t[0] == ["市（地）", "火点数（个）"])
    assert city[-1] == ["合计", str(n - ex)]
    points = next(t for t in tables if "经度" in t[0] and "处理" not in t[0])
    assert len(points) - 1 == n - ex
    assert "类别" in points[0] and "秸秆焚烧概率" in points[0]


def test_excluded_and_doubtful_points_are_listed_with_reasons(case: dict[str, Any]) -> None:
    import openpyxl

    wb = openpyxl.load_workbook(case["paths"]["xlsx"])
    assert "剔除及存疑火点" in wb.sheetnames
    rows = list(wb["剔除及存疑火点"].values)
    col = {name: i for i, name in enumerate(rows[0])}
    body = rows[1:]
    treatment = pd.Series([r[col["处理"]] for r in body]).value_counts().to_dict()
    assert treatment == {"剔除": case["excluded"], "存疑": case["flagged"]}
    for r in body:
        assert isinstance(r[col["秸秆焚烧概率"]], float)
        if r[col["处理"]] == "剔除":
            assert r[col["原因"]] == WHY and r[col["类别"]] == "工业热源"
        else:
            assert "秸秆焚烧概率0.30" in r[col["原因"]] and r[col["类别"]] == "其他植被火"
    section = next(s for s in case["doc"].sections if s.key == "excluded")
    assert section.paragraphs == [
        f"剔除{case['excluded']}个（模型判为工业热源 {case['excluded']}），存疑{case['flagged']}个。"
    ]
