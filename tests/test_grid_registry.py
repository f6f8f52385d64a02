"""Field-chief registry import: CSV and XLSX, history, all-or-nothing with line numbers."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
from sqlalchemy import Engine, func, select
from typer.testing import CliRunner

from firewatch.cli import app
from firewatch.config import Settings
from firewatch.errors import RegistryImportError
from firewatch.spatial.grid import Grid, load_grid
from firewatch.spatial.grid_models import GridDuty, GridRegistryImport
from firewatch.spatial.registry import import_registry, load_duties, normalise_phone
from tests.grid_support import DEMO, HEADER, REGISTRY_CSV, REGISTRY_XLSX, write_registry

V1 = "230302001201"  # 鸡冠区 向阳街道 示例村01
V2 = "230302001202"
T1 = "230302001000"  # 向阳街道


@pytest.fixture(scope="module")
def grid() -> Grid:
    return load_grid(DEMO)


def _count(engine: Engine, table: type) -> int:
    with engine.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(table)).scalar_one())


def _duties(engine: Engine) -> pd.DataFrame:
    cols = ["grid_code", "level", "role", "name", "phone", "on_duty_from", "on_duty_to"]
    return load_duties(engine)[cols].sort_values(
        ["grid_code", "role", "on_duty_from", "name"], ignore_index=True
    )


def test_the_demo_registry_imports_the_same_from_csv_and_xlsx(
    engine: Engine, grid: Grid, tmp_path: Path, settings: Settings
) -> None:
    res = import_registry(engine, REGISTRY_CSV, grid)
    n = len(REGISTRY_CSV.read_text(encoding="utf-8").splitlines()) - 1
    assert (res.rows, res.added, res.updated, res.unchanged) == (n, n, 0, 0)
    from_csv = _duties(engine)
    # The XLSX holds the same people with Chinese headers, roles and levels: nothing changes.
    res = import_registry(engine, REGISTRY_XLSX, grid)
    assert (res.added, res.updated, res.unchanged) == (0, 0, n)
    pd.testing.assert_frame_equal(_duties(engine), from_csv)
    # Phones are stored as 11 digits; open duty periods as NULL.
    chief = from_csv[(from_csv["grid_code"] == "230300000000")].iloc[0]
    assert chief["phone"] == "13800000001" and chief["name"] == "示例田长0001"
    assert pd.isna(chief["on_duty_to"])
    # The XLSX into a second store gives the same registry.
    other = Settings(database_url=f"sqlite:///{tmp_path / 'other.db'}")
    from firewatch.store import connect, upgrade

    e2 = connect(other.database_url)
    upgrade(e2)
    import_registry(e2, REGISTRY_XLSX, grid)
    pd.testing.assert_frame_equal(_duties(e2), from_csv)
    e2.dispose()


def test_chinese_headers_in_a_gbk_csv(engine: Engine, grid: Grid, tmp_path: Path) -> None:
    text = (
        "网格编码,层级,角色,姓名,电话,任职起,任职止\n"
        f"{V1},村,田长,张示例,138-0000-1234,2022年3月1日,\n"
        f"{V1},村,网格员,李示例,+86 139 0000 5678,2022/03/01,2022/12/31\n"
        f"{T1[:9]},乡,包保干部,王示例,0467-2345678,2022-03-01,\n"
    )
    path = tmp_path / "名册.csv"
    path.write_bytes(text.encode("gb18030"))
    res = import_registry(engine, path, grid)
    assert res.added == 3
    d = _duties(engine).set_index("name")
    assert d.loc["张示例", ["role", "phone", "level"]].tolist() == [
        "field_chief",
        "13800001234",
        "village",
    ]
    assert str(d.loc["李示例", "on_duty_to"]) == "2022-12-31"
    assert d.loc["王示例", ["grid_code", "role", "phone"]].tolist() == [T1, "cadre", "0467-2345678"]


def test_bad_rows_are_all_reported_with_line_numbers_and_nothing_is_written(
    engine: Engine, grid: Grid, tmp_path: Path
) -> None:
    rows = [
        [V1, "village", "field_chief", "甲示例", "138-0000-0001", "2022-01-01", ""],  # line 2
        [V2, "village", "grid_member", "多行\n名字", "139-0000-0002", "2022-01-01", ""],  # 3-4
        ["230302001299", "village", "field_chief", "乙示例", "13800000003", "2022-01-01", ""],
        [V2, "village", "field_chief", "丙示例", "1380000", "2022-01-01", ""],  # line 6
        [V1, "village", "field_chief", "丁示例", "13800000004", "2022-06-01", ""],  # line 7
        [V2, "", "田长", "", "13800000005", "", ""],  # line 8
        [V2, "township", "field_chief", "戊示例", "13800000006", "2022-01-01", "2022-12-31"],
        [V2, "village", "村长", "己示例", "13800000007", "2022-01-01", ""],  # line 10
        [V2, "village", "grid_member", "庚示例", "13900000008", "2022-05-01", "2022-04-30"],
        [V2, "village", "grid_member", "辛示例", "13900000009", "someday", ""],  # line 12
        [V1, "village", "field_chief", "甲示例", "13800000001", "2022-01-01", ""],  # line 13
    ]
    path = write_registry(tmp_path / "bad.csv", rows)
    with pytest.raises(RegistryImportError) as err:
        import_registry(engine, path, grid)
    got = err.value.problems
    expect = {
        5: "unknown grid code 230302001299",
        6: "bad phone '1380000'",
        7: "overlaps line 2 (甲示例, 2022-01-01–open)",
        8: "missing name",
        9: "level township does not match grid code 230302001202, a village cell",
        10: "unknown role '村长'",
        11: "on_duty_to 2022-04-30 is before on_duty_from 2022-05-01",
        12: "on_duty_from 'someday' is not a date",
        13: "repeats line 2",
    }
    for line, text in expect.items():
        assert any(ln == line and text in msg for ln, msg in got), (line, text, got)
    assert any(ln == 8 and "missing on_duty_from" in msg for ln, msg in got)
    assert {ln for ln, _ in got} == set(expect)  # lines 2 and 3-4 are fine
    assert "nothing written" in str(err.value) and "bad.csv" in str(err.value)
    assert _count(engine, GridDuty) == 0 and _count(engine, GridRegistryImport) == 0


def test_xlsx_rows_are_reported_by_sheet_row(engine: Engine, grid: Grid, tmp_path: Path) -> None:
    df = pd.DataFrame(
        [
            [V1, "村", "田长", "甲示例", "13800000001", "2022-01-01", None],
            [V2, "村", "田长", "乙示例", 13800000002, "2022-01-01", None],
            [V2, "村", "网格员", "丙示例", "0000", "2022-01-01", None],
        ],
        columns=["网格编码", "层级", "角色", "姓名", "电话", "任职起", "任职止"],
    )
    path = tmp_path / "r.xlsx"
    df.to_excel(path, index=False)
    with pytest.raises(RegistryImportError) as err:
        import_registry(engine, path, grid)
    assert [ln for ln, _ in err.value.problems] == [4]
    assert "bad phone '0000'" in err.value.problems[0][1]


def test_a_chief_change_must_end_the_previous_duty(
    engine: Engine, grid: Grid, tmp_path: Path
) -> None:
    first = write_registry(
        tmp_path / "a.csv",
        [[V1, "village", "field_chief", "甲示例", "13800000001", "2020-01-01", ""]],
    )
    import_registry(engine, first, grid)
    # A new chief from 2022-10-28 while the old one is still open: refused, naming the stored row.
    new_only = write_registry(
        tmp_path / "b.csv",
        [[V1, "village", "field_chief", "乙示例", "13800000002", "2022-10-28", ""]],
    )
    with pytest.raises(RegistryImportError) as err:
        import_registry(engine, new_only, grid)
    ((line, msg),) = err.value.problems
    assert line == 2 and "stored duty imported from a.csv line 2" in msg and "甲示例" in msg
    assert _count(engine, GridDuty) == 1
    # Ending the old duty the day before and adding the new one is accepted.
    both = write_registry(
        tmp_path / "c.csv",
        [
            [V1, "village", "field_chief", "甲示例", "13800000001", "2020-01-01", "2022-10-27"],
            [V1, "village", "field_chief", "乙示例", "13800000002", "2022-10-28", ""],
        ],
    )
    res = import_registry(engine, both, grid)
    assert (res.added, res.updated, res.unchanged) == (1, 1, 0)
    d = _duties(engine)
    assert d["name"].tolist() == ["甲示例", "乙示例"]
    assert str(d["on_duty_to"].iloc[0]) == "2022-10-27"
    # Re-importing the same file changes nothing (idempotent).
    res = import_registry(engine, both, grid)
    assert (res.added, res.updated, res.unchanged) == (0, 0, 2)
    assert _count(engine, GridDuty) == 2


def test_replace_makes_the_file_the_whole_registry(
    engine: Engine, grid: Grid, tmp_path: Path
) -> None:
    two = write_registry(
        tmp_path / "two.csv",
        [
            [V1, "village", "field_chief", "甲示例", "13800000001", "2020-01-01", ""],
            [V2, "village", "field_chief", "乙示例", "13800000002", "2020-01-01", ""],
        ],
    )
    import_registry(engine, two, grid)
    one = write_registry(
        tmp_path / "one.csv",
        [[V2, "village", "field_chief", "乙示例", "13800000002", "2020-01-01", ""]],
    )
    res = import_registry(engine, one, grid, replace=True)
    assert (res.removed, res.unchanged) == (1, 1)
    assert _duties(engine)["grid_code"].tolist() == [V2]


def test_a_file_that_is_not_a_registry_is_refused_whole(
    engine: Engine, grid: Grid, tmp_path: Path
) -> None:
    path = write_registry(tmp_path / "x.csv", [["1", "2"]], header=["latitude", "longitude"])
    with pytest.raises(RegistryImportError) as err:
        import_registry(engine, path, grid)
    ((line, msg),) = err.value.problems
    assert line == 1 and "missing column(s) grid_code, role, name, phone, on_duty_from" in msg
    assert "latitude, longitude" in msg
    binary = tmp_path / "x.xlsx"
    binary.write_bytes(b"PK\x03\x04 this is not a workbook")
    with pytest.raises(RegistryImportError, match="not a readable XLSX"):
        import_registry(engine, binary, grid)
    (tmp_path / "e.csv").write_text("")
    with pytest.raises(RegistryImportError, match="empty"):
        import_registry(engine, tmp_path / "e.csv", grid)
    assert _count(engine, GridDuty) == 0


def test_phone_numbers() -> None:
    assert normalise_phone("+86 138 0000 0001") == "13800000001"
    assert normalise_phone("138-0000-0001") == "13800000001"
    assert normalise_phone(13800000001) == "13800000001"
    assert normalise_phone("13800000001.0") == "13800000001"
    assert normalise_phone("0467-2345678") == "0467-2345678"
    assert normalise_phone("04672345678") == "0467-2345678"
    assert normalise_phone("010-12345678") == "010-12345678"
    assert normalise_phone("(0451) 8765 4321") == "0451-87654321"
    for bad in ("12345", "23800000001", "1280000000", "phone", "138000000012"):
        assert normalise_phone(bad) is None, bad


def test_cli_import_lists_bad_lines_and_exits_4(tmp_path: Path, settings: Settings) -> None:
    db = f"sqlite:///{tmp_path / 'cli.db'}"
    bad = write_registry(
        tmp_path / "bad.csv",
        [
            [V1, "village", "field_chief", "甲示例", "13800000001", "2022-01-01", ""],
            [V2, "village", "field_chief", "乙示例", "12345", "2022-01-01", ""],
        ],
    )
    runner = CliRunner()
    res = runner.invoke(app, ["--db", db, "chiefs", "import", str(bad)])
    assert res.exit_code == 4, res.output
    assert "bad.csv:3: bad phone '12345'" in res.output
    assert "nothing written" in res.output
    good = write_registry(
        tmp_path / "good.csv",
        [[V1, "村", "田长", "甲示例", "13800000001", "2022-01-01", ""]],
        header=HEADER,
    )
    res = runner.invoke(app, ["--db", db, "chiefs", "import", str(good)])
    assert res.exit_code == 0, res.output
    res = runner.invoke(app, ["--db", db, "chiefs", "list", "--code", "230302001"])
    assert res.exit_code == 0 and "甲示例" in res.output and "13800000001" in res.output
