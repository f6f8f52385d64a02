"""Dispatch on the real grid: the bundled Jixi demo grid and its demo field-chief registry.

The bundled FIRMS day is attributed to village cells by the grid stage (issue 3); the points
that fall in a demo village go to that village's accounts, named with the registry's chiefs on
duty; the others go to their county.  Nothing here hard-codes a cell: the village is read from
the grid attribution.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from review_support import SmtpServer, free_port, login, make_client, run_cli
from sqlalchemy import select

from firewatch.config import Settings
from firewatch.dispatch.models import Assignment
from firewatch.pipeline import ingest_file
from firewatch.store import connect

ROOT = Path(__file__).parent.parent
SAMPLE = ROOT / "firewatch" / "data" / "samples" / "MODIS_C61_NRT_hlj_2025-04-23_to_2025-04-24.csv"
GRID = ROOT / "grids" / "jixi_demo.gpkg"
CHIEFS = ROOT / "grids" / "jixi_demo_chiefs.csv"
PASSWORD = "jixi-member-2025"


@pytest.fixture
def env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[dict[str, Any]]:
    smtp = SmtpServer(free_port()).start()
    values = {
        "FIREWATCH_CONFIG": str(tmp_path / "none.toml"),
        "FIREWATCH_DATABASE_URL": f"sqlite:///{tmp_path / 'fw.db'}",
        "FIREWATCH_OUTPUT_DIR": str(tmp_path / "out"),
        "FIREWATCH_GRIDS_PATH": str(GRID),
        "FIREWATCH_NOTIFY__SMTP_HOST": "127.0.0.1",
        "FIREWATCH_NOTIFY__SMTP_PORT": str(smtp.port),
        "FIREWATCH_REVIEW__ARGON2_TIME_COST": "1",
        "FIREWATCH_REVIEW__ARGON2_MEMORY_KIB": "8192",
        "FIREWATCH_REVIEW__ARGON2_PARALLELISM": "1",
        "FIREWATCH_MAP__IN_DAILY": "false",
        "FIREWATCH_BULLETIN__IN_DAILY": "false",
    }
    for k, v in values.items():
        monkeypatch.setenv(k, v)
    yield {"smtp": smtp, "db": values["FIREWATCH_DATABASE_URL"]}
    smtp.stop()


def test_points_in_the_demo_grid_go_to_their_village_with_the_chiefs_on_duty(
    env: dict[str, Any],
) -> None:
    from firewatch.spatial.grid import attribute_stored, load_point_grid

    assert run_cli("db", "upgrade").exit_code == 0
    assert run_cli("chiefs", "import", str(CHIEFS)).exit_code == 0
    # Which demo village do the day's points fall in?  Ask the grid stage, not a fixture.
    settings = Settings()
    engine = connect(env["db"])
    ingest_file(engine, settings, SAMPLE)
    attribute_stored(engine, settings, first=dt.date(2025, 4, 23), last=dt.date(2025, 4, 23))
    from firewatch.store import repo

    ids = repo.load_detections(engine, first=dt.date(2025, 4, 23))["detection_id"].tolist()
    grid = load_point_grid(engine, ids)
    in_villages = grid[grid["village_code"].notna()]
    assert len(in_villages) >= 1
    village = in_villages["village_code"].value_counts().index[0]
    mine = set(in_villages.index[in_villages["village_code"] == village])
    chief = in_villages.loc[sorted(mine)[0], "field_chief"]
    assert chief and chief.startswith("示例田长")

    r = run_cli(
        "users", "add", "demo_member", "--role", "village_member", "--grid", village,
        "--email", "demo_member@example.org", "--password-stdin", input=PASSWORD + "\n",
    )  # fmt: skip
    assert r.exit_code == 0, r.output
    # A code that is not a cell of the configured grid is refused.
    bad = village[:9] + "999"
    r = run_cli(
        "users", "add", "ghost", "--role", "village_member", "--grid", bad,
        "--password-stdin", input=PASSWORD + "\n",
    )  # fmt: skip
    assert r.exit_code == 4 and "not a cell of the configured grid" in r.output

    run = run_cli("watch", "--once", "--date", "2025-04-23", "--file", str(SAMPLE))
    assert run.exit_code == 0, run.output
    with engine.connect() as conn:
        rows = {
            r["detection_id"]: dict(r)
            for r in conn.execute(select(Assignment.__table__)).mappings()
        }
    for did in mine:
        assert rows[did]["grid_code"] == village
        assert rows[did]["grid_level"] == "village"
        assert rows[did]["field_chief"] == chief
    others = set(rows) - set(in_villages.index)
    assert others and all(rows[d]["grid_level"] == "county" for d in others)
    assert all("no_grid" in (rows[d]["grid_flags"] or "") for d in others)
    mail = env["smtp"].inbox.to("demo_member@example.org")
    assert len(mail) == 1
    assert set(re.findall(r"/points/([0-9a-f]{16})", mail[0].body)) == mine
    # The member sees exactly their village's points, with the chief on duty named.
    store = type("S", (), {"engine": engine, "settings": Settings()})()
    store.settings.review.secure_cookies = False
    client = make_client(store)
    login(client, "demo_member", PASSWORD)
    listed = set(re.findall(r'href="/points/([0-9a-f]{16})"', client.get("/points").text))
    assert listed == mine
    page = client.get(f"/points/{sorted(mine)[0]}").text
    assert chief in page
    assert "synthetic demo grid" in page  # the demo grid says it is synthetic
    engine.dispose()
