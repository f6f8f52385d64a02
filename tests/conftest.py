"""Shared fixtures.  Under FIREWATCH_STRICT=1 (CI) a skipped test fails the run."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine

from firewatch.config import Settings
from firewatch.store import connect, upgrade

DATA = Path(__file__).parent / "data"
ROOT = Path(__file__).parent.parent
ARTIFACTS = ROOT / "test-artifacts"
SAMPLES = ROOT / "firewatch" / "data" / "samples"

STRICT = os.environ.get("FIREWATCH_STRICT") == "1"


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Any:
    # A skipped test in CI is a defect: under FIREWATCH_STRICT=1 it is reported as failed.
    report = yield
    if STRICT and report.skipped and not hasattr(report, "wasxfail"):
        reason = report.longrepr[2] if isinstance(report.longrepr, tuple) else str(report.longrepr)
        report.outcome = "failed"
        report.longrepr = f"skipped under FIREWATCH_STRICT=1 (a skip is a failure in CI): {reason}"
    return report


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    """Settings for a test: a fresh SQLite store in ``tmp_path``, bundled boundaries."""
    return Settings(
        database_url=f"sqlite:///{tmp_path / 'firewatch.db'}", output_dir=tmp_path / "out"
    )


@pytest.fixture
def engine(settings: Settings) -> Iterator[Engine]:
    """A migrated, empty store."""
    eng = connect(settings.database_url)
    upgrade(eng)
    yield eng
    eng.dispose()


@pytest.fixture
def artifacts() -> Path:
    """Folder for test artifacts (screenshots, rendered pages) kept after the run."""
    ARTIFACTS.mkdir(exist_ok=True)
    return ARTIFACTS


@pytest.fixture
def postgis_url() -> Iterator[str]:
    """A fresh PostGIS database (from the template made by ``.ci/postgis-up``), dropped after.

    ``make test`` starts PostgreSQL and sets FIREWATCH_TEST_POSTGIS_URL; without it the test is
    skipped, which FIREWATCH_STRICT=1 turns into a failure.
    """
    import uuid

    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url

    template = os.environ.get("FIREWATCH_TEST_POSTGIS_URL")
    if not template:
        pytest.skip(
            "no PostGIS: run `make test` or set FIREWATCH_TEST_POSTGIS_URL (.ci/postgis-up)"
        )
    base = make_url(template)
    name = f"fw_test_{uuid.uuid4().hex[:12]}"
    admin = create_engine(base.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}" TEMPLATE "{base.database}"'))
    try:
        yield base.set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()
