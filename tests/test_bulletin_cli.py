"""``firewatch daily`` writes the bulletins; ``firewatch bulletin`` and ``firewatch report``."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import openpyxl
import pytest
from typer.testing import CliRunner

from firewatch.cli import app
from tests.conftest import SAMPLES

SAMPLE = SAMPLES / "MODIS_C61_NRT_hlj_2025-04-23_to_2025-04-24.csv"


@pytest.fixture(scope="module")
def cli(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Callable[..., Any], Path]]:
    tmp = tmp_path_factory.mktemp("bulletin_cli")
    url = f"sqlite:///{tmp / 'fw.db'}"
    runner = CliRunner()
    cwd = Path.cwd()
    os.chdir(tmp)  # no firewatch.toml of the developer's leaks in
    try:

        def invoke(*args: str) -> Any:
            return runner.invoke(app, ["--db", url, *args], catch_exceptions=False)

        yield invoke, tmp
    finally:
        os.chdir(cwd)


@pytest.fixture(scope="module")
def daily(cli: tuple[Callable[..., Any], Path]) -> Any:
    invoke, _ = cli
    return invoke("daily", "--date", "2025-04-23", "--file", str(SAMPLE), "--out", "demo")


def test_daily_writes_both_editions_in_four_formats(
    daily: Any, cli: tuple[Callable[..., Any], Path]
) -> None:
    _, tmp = cli
    assert daily.exit_code == 0, daily.output
    for edition in ("public", "internal"):
        for fmt in ("html", "docx", "xlsx", "pdf"):
            path = tmp / "demo" / f"bulletin_2025-04-23_zh_{edition}.{fmt}"
            assert path.is_file() and path.stat().st_size > 1000, path
            assert f"bulletin_{edition}_{fmt}: " in daily.output
    # The two editions agree on every count.
    public = openpyxl.load_workbook(tmp / "demo" / "bulletin_2025-04-23_zh_public.xlsx")
    internal = openpyxl.load_workbook(tmp / "demo" / "bulletin_2025-04-23_zh_internal.xlsx")
    for sheet in ("各市（地）火点统计", "各县（市、区）火点统计"):
        assert list(public[sheet].values) == list(internal[sheet].values)


def test_bulletin_command_formats_editions_and_language(
    daily: Any, cli: tuple[Callable[..., Any], Path]
) -> None:
    invoke, tmp = cli
    res = invoke(
        "bulletin", "--date", "2025-04-23", "--format", "html,xlsx",
        "--edition", "both", "--lang", "en", "--out", "en",
    )  # fmt: skip
    assert res.exit_code == 0, res.output
    assert sorted(p.name for p in (tmp / "en").iterdir()) == [
        "bulletin_2025-04-23_en_internal.html",
        "bulletin_2025-04-23_en_internal.xlsx",
        "bulletin_2025-04-23_en_public.html",
        "bulletin_2025-04-23_en_public.xlsx",
    ]
    assert "daily satellite fire-point bulletin" in res.output
    wb = openpyxl.load_workbook(tmp / "en" / "bulletin_2025-04-23_en_public.xlsx")
    # `daily` ran its grid stage (the bundled Jixi demo grid places the day's Jixi points) and
    # its dispatch stage, which sent every point of the day for a site check.
    assert wb.sheetnames == [
        "Summary",
        "Fire points per city",
        "Fire points per county",
        "Fire points per township",
        "Fire points",
        "Site checks",
    ]
    checks = dict(list(wb["Site checks"].values)[1:])
    total = list(wb["Fire points per city"].values)[-1][1]
    assert checks["sent for a site check"] == total
    assert checks["pending"] + checks["answered"] + checks["overdue"] + checks["escalated"] == total


def test_bulletin_for_a_day_not_ingested_says_so(
    daily: Any, cli: tuple[Callable[..., Any], Path]
) -> None:
    invoke, tmp = cli
    res = invoke("bulletin", "--date", "2025-04-30", "--format", "html", "--out", "late")
    assert res.exit_code == 0, res.output
    assert "尚未入库" in res.output
    html = (tmp / "late" / "bulletin_2025-04-30_zh_public.html").read_text("utf-8")
    assert 'data-kind="not_ingested"' in html and "<table" not in html


def test_bad_options_are_usage_errors(daily: Any, cli: tuple[Callable[..., Any], Path]) -> None:
    invoke, _ = cli
    res = invoke("bulletin", "--date", "2025-04-23", "--format", "odt")
    assert res.exit_code == 2 and "unknown format" in res.output
    res = invoke("bulletin", "--date", "2025-04-23", "--edition", "press")
    assert res.exit_code == 2 and "edition must be" in res.output
    res = invoke("bulletin", "--date", "23/04/2025")
    assert res.exit_code == 2 and "YYYY-MM-DD" in res.output
    res = invoke("report")
    assert res.exit_code == 2 and "exactly one of" in res.output
    res = invoke("report", "--period", "summer", "--year", "2025")
    assert res.exit_code == 2 and "no ban period 'summer'" in res.output


def test_report_commands(daily: Any, cli: tuple[Callable[..., Any], Path]) -> None:
    invoke, tmp = cli
    res = invoke("report", "--week", "2025-04-23", "--format", "xlsx", "--out", "rep")
    assert res.exit_code == 0, res.output
    week = openpyxl.load_workbook(tmp / "rep" / "report_week_2025-04-21_2025-04-27_zh_public.xlsx")
    days = list(week["逐日火点统计"].values)[1:-1]
    assert [r[0].day for r in days] == list(range(21, 28))
    counts = {r[0].day: r[1] for r in days}
    daily_book = openpyxl.load_workbook(tmp / "demo" / "bulletin_2025-04-23_zh_public.xlsx")
    day_total = list(daily_book["各市（地）火点统计"].values)[-1][1]
    assert counts[23] == day_total  # the week's 23rd is the daily bulletin's total
    assert counts[21] is None and counts[27] is None  # before and after the data: not 0

    res = invoke(
        "report", "--period", "spring", "--year", "2025", "--format", "html", "--out", "rep"
    )
    assert res.exit_code == 0, res.output
    assert (tmp / "rep" / "report_spring_2025-03-10_2025-05-15_zh_public.html").is_file()
    assert "春季禁烧期" in res.output
