"""The scheduled daily run and the review-app commands, through the real CLI.

``firewatch watch --once`` ingests the bundled real FIRMS day, assigns its points, and notifies
a real SMTP server and a real chat-robot server on loopback; run again on the same data it
changes nothing and notifies no one twice.
"""

from __future__ import annotations

import datetime as dt
import os
import re
import stat
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from review_support import RobotServer, SmtpServer, free_port, run_cli
from sqlalchemy import func, select

from firewatch.config import Settings
from firewatch.dispatch.models import Assignment, ReviewUser
from firewatch.dispatch.watch import next_run, watch
from firewatch.store import connect

ROOT = Path(__file__).parent.parent
SAMPLE = ROOT / "firewatch" / "data" / "samples" / "MODIS_C61_NRT_hlj_2025-04-23_to_2025-04-24.csv"
PASSWORD = "tangyuan-chief-2025"


@pytest.fixture
def env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[dict[str, Any]]:
    smtp = SmtpServer(free_port()).start()
    robot = RobotServer().start()
    values = {
        "FIREWATCH_CONFIG": str(tmp_path / "none.toml"),
        "FIREWATCH_DATABASE_URL": f"sqlite:///{tmp_path / 'fw.db'}",
        "FIREWATCH_OUTPUT_DIR": str(tmp_path / "out"),
        # User codes are checked against the configured grid; these tests use fixture codes.
        "FIREWATCH_GRIDS_PATH": str(tmp_path / "no-grid.gpkg"),
        "FIREWATCH_NOTIFY__SMTP_HOST": "127.0.0.1",
        "FIREWATCH_NOTIFY__SMTP_PORT": str(smtp.port),
        "FIREWATCH_NOTIFY__WEBHOOK_URL": f"{robot.url}/robot/send?access_token=TOKEN",
        "FIREWATCH_NOTIFY__BACKOFF_S": "0.01",
        "FIREWATCH_REVIEW__BASE_URL": "https://fire.example.org",
        "FIREWATCH_REVIEW__ARGON2_TIME_COST": "1",
        "FIREWATCH_REVIEW__ARGON2_MEMORY_KIB": "8192",
        "FIREWATCH_REVIEW__ARGON2_PARALLELISM": "1",
        # The map and bulletin stages of `daily` are not under test here.
        "FIREWATCH_MAP__IN_DAILY": "false",
        "FIREWATCH_BULLETIN__IN_DAILY": "false",
    }
    for k, v in values.items():
        monkeypatch.setenv(k, v)
    yield {"smtp": smtp, "robot": robot.state, "db": values["FIREWATCH_DATABASE_URL"]}
    smtp.stop()
    robot.stop()


def test_watch_once_assigns_and_notifies_and_a_second_run_changes_nothing(
    env: dict[str, Any],
) -> None:
    assert run_cli("db", "upgrade").exit_code == 0
    r = run_cli(
        "users", "add", "chief_tangyuan", "--role", "field_chief", "--grid", "230828",
        "--email", "tangyuan@example.org", "--password-stdin", input=PASSWORD + "\n",
    )  # fmt: skip
    assert r.exit_code == 0, r.output
    first = run_cli("watch", "--once", "--date", "2025-04-23", "--file", str(SAMPLE))
    assert first.exit_code == 0, first.output
    assigned = int(re.search(r"(\d+) point\(s\) assigned", first.output).group(1))
    engine = connect(env["db"])
    with engine.connect() as conn:
        stored = conn.execute(select(func.count()).select_from(Assignment.__table__)).scalar()
        tangyuan = conn.execute(
            select(func.count())
            .select_from(Assignment.__table__)
            .where(Assignment.grid_code == "230828000000")
        ).scalar()
    assert assigned == stored and stored > 100
    # 汤原县's field chief got one e-mail listing each of the county's points.
    mails = env["smtp"].inbox.to("tangyuan@example.org")
    assert len(mails) == 1
    assert len(re.findall(r"https://fire\.example\.org/points/[0-9a-f]{16}", mails[0].body)) == (
        tangyuan
    )
    assert tangyuan > 0
    assert env["smtp"].inbox.mails == mails  # nobody else has an account
    # The robot got every point once, split into messages that fit its size limit.
    posts = env["robot"].received
    assert all(p["path"] == "/robot/send?access_token=TOKEN" for p in posts)
    assert all(len(p["json"]["text"]["content"].encode()) <= 2000 for p in posts)
    ids = [
        i
        for p in posts
        for i in re.findall(r"/points/([0-9a-f]{16})", p["json"]["text"]["content"])
    ]
    assert len(ids) == len(set(ids)) == stored
    assert len(posts) > 1

    second = run_cli("watch", "--once", "--date", "2025-04-23", "--file", str(SAMPLE))
    assert second.exit_code == 0, second.output
    assert "0 point(s) assigned" in second.output
    assert len(env["smtp"].inbox.mails) == 1
    assert len(env["robot"].received) == len(posts)
    with engine.connect() as conn:
        again = conn.execute(select(func.count()).select_from(Assignment.__table__)).scalar()
    assert again == stored
    engine.dispose()


def test_users_import_is_all_or_nothing_with_line_numbers(
    env: dict[str, Any], tmp_path: Path
) -> None:
    run_cli("db", "upgrade")
    bad = tmp_path / "users.csv"
    bad.write_text(
        "username,display_name,role,grid_code,email,phone\n"
        "li_member,李网格,village_member,230321100201,li@example.org,13800000000\n"
        "wang,王田长,field_chief,230321100000,not-an-email,\n"
        "zhao,赵,village_member,230321100000,,\n"  # a township code for a village member
        "sun,孙,analyst,110000000000,,\n"  # another province
        "li_member,重复,village_member,230321100201,,\n",
        encoding="utf-8",
    )
    r = run_cli("users", "import", str(bad))
    assert r.exit_code == 4
    out = r.output
    assert "users.csv:3:" in out and "not an address" in out
    assert "users.csv:4:" in out and "township code" in out
    assert "users.csv:5:" in out and "outside province" in out
    assert "users.csv:6:" in out and "repeats line 2" in out
    engine = connect(env["db"])
    with engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(ReviewUser.__table__)).scalar() == 0
    good = tmp_path / "good.csv"
    good.write_text(
        "username,display_name,role,grid_code,email,phone\n"
        "li_member,李网格,village_member,230321100201,li@example.org,13800000000\n"
        "wang,王田长,field_chief,230321100,wang@example.org,\n",
        encoding="utf-8",
    )
    out_file = tmp_path / "passwords.csv"
    r = run_cli("users", "import", str(good), "--passwords-out", str(out_file))
    assert r.exit_code == 0, r.output
    lines = out_file.read_text(encoding="utf-8").splitlines()
    assert lines[0] == "username,password" and len(lines) == 3
    assert stat.S_IMODE(os.stat(out_file).st_mode) == 0o600
    # The generated password works.
    from firewatch.dispatch import audit
    from firewatch.dispatch.users import authenticate

    name, pw = lines[1].split(",")
    settings = Settings(
        database_url=env["db"],
        review={"argon2_time_cost": 1, "argon2_memory_kib": 8192, "argon2_parallelism": 1},
    )
    assert authenticate(engine, settings, name, pw, actor=audit.SYSTEM).outcome == "ok"
    with engine.connect() as conn:
        codes = dict(conn.execute(select(ReviewUser.username, ReviewUser.grid_code)).all())
    assert codes == {"li_member": "230321100201", "wang": "230321100000"}
    r = run_cli("users", "import", str(good))
    assert r.exit_code == 4 and "exists already" in r.output
    r = run_cli("users", "list")
    assert "li_member" in r.output and "$argon2" not in r.output
    engine.dispose()


def test_users_add_refuses_a_weak_password_and_a_taken_name(env: dict[str, Any]) -> None:
    run_cli("db", "upgrade")
    args = ["users", "add", "zhou", "--role", "analyst", "--grid", "2303", "--password-stdin"]
    assert run_cli(*args, input="short\n").exit_code == 4
    assert run_cli(*args, input="long-enough-pass\n").exit_code == 0
    r = run_cli(*args, input="long-enough-pass\n")
    assert r.exit_code == 4 and "taken" in r.output


def test_next_run_follows_the_overpass_schedule() -> None:
    times = ["16:30", "04:30"]
    bjt = dt.timezone(dt.timedelta(hours=8))
    at = lambda *a: dt.datetime(*a, tzinfo=bjt)  # noqa: E731
    assert next_run(at(2025, 4, 23, 10, 0), times) == at(2025, 4, 23, 16, 30)
    assert next_run(at(2025, 4, 23, 16, 30), times) == at(2025, 4, 24, 4, 30)
    assert next_run(at(2025, 4, 23, 23, 59), times) == at(2025, 4, 24, 4, 30)
    assert next_run(at(2025, 4, 24, 4, 31), times) == at(2025, 4, 24, 16, 30)


def test_the_watch_loop_runs_when_due_and_stops_on_request(
    tmp_path: Path, settings: Settings, engine: Any
) -> None:
    # A clock that starts ten minutes before the afternoon run and moves 5 minutes per look.
    t = [dt.datetime(2025, 4, 23, 8, 20, tzinfo=dt.UTC)]  # 16:20 Beijing

    def clock() -> dt.datetime:
        t[0] += dt.timedelta(minutes=5)
        return t[0]

    settings.review.tick_minutes = 0.0001
    settings.map.in_daily = False
    settings.bulletin.in_daily = False
    runs: list[Any] = []
    stop = threading.Event()

    def on_run(run: Any) -> None:
        runs.append(run)
        stop.set()

    watch(
        engine,
        settings,
        stop=stop,
        clock=clock,
        on_run=on_run,
        files=[SAMPLE],
        fetch_api=False,
    )
    assert len(runs) == 1
    assert runs[0].day == dt.date(2025, 4, 23)
    assert runs[0].daily.summary.total > 100
    assert len(runs[0].dispatch.assigned) > 100


def test_dispatch_command_queues_without_sending_then_sends(env: dict[str, Any]) -> None:
    run_cli("db", "upgrade")
    r = run_cli(
        "users", "add", "chief_tangyuan", "--role", "field_chief", "--grid", "230828",
        "--email", "tangyuan@example.org", "--password-stdin", input=PASSWORD + "\n",
    )  # fmt: skip
    assert r.exit_code == 0
    from firewatch.pipeline import ingest_file

    settings = Settings(database_url=env["db"])
    engine = connect(env["db"])
    ingest_file(engine, settings, SAMPLE)
    engine.dispose()
    # Assignment is part of `daily`; here the stage runs on its own, for one day.
    r = run_cli("dispatch", "--date", "2025-04-23", "--no-send")
    assert r.exit_code == 0, r.output
    assert re.search(r"[1-9]\d* point\(s\) assigned", r.output)
    assert "queued, not sent" in r.output
    assert env["smtp"].inbox.mails == [] and env["robot"].received == []
    r = run_cli("dispatch", "--date", "2025-04-23")
    assert r.exit_code == 0, r.output
    assert "0 point(s) assigned" in r.output
    assert len(env["smtp"].inbox.to("tangyuan@example.org")) == 1
    assert env["robot"].received
