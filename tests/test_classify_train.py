"""Training from the store, spatially blocked splits, and the learning loop through review verdicts."""

from __future__ import annotations

import datetime as dt
import shutil
from pathlib import Path

import numpy as np
import pytest
from sqlalchemy import Engine, func, select
from typer.testing import CliRunner

from firewatch.classify.labels import load_labels
from firewatch.classify.model import load_model
from firewatch.classify.models import Classification, ClassifierModel
from firewatch.classify.store import classify_stored, load_point_classes
from firewatch.classify.train import _splits, build_training_set, spatial_blocks, train
from firewatch.cli import app
from firewatch.config import Settings
from firewatch.dispatch.models import Assignment, ReviewUser, Verdict
from firewatch.pipeline import ingest_file
from firewatch.store import connect, repo, upgrade
from firewatch.store.models import utcnow
from tests.classify_support import INBOX, SERIES


@pytest.fixture(scope="module")
def stored_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A store holding every real fixture detection (ingested once for the module)."""
    path = tmp_path_factory.mktemp("store") / "firewatch.db"
    settings = Settings(database_url=f"sqlite:///{path}")
    eng = connect(settings.database_url)
    upgrade(eng)
    for f in [*sorted(SERIES.glob("*.csv")), *sorted(INBOX.iterdir())]:
        ingest_file(eng, settings, f)
    eng.dispose()
    return path


@pytest.fixture
def store(stored_db: Path, tmp_path: Path) -> tuple[Engine, Settings]:
    """A private copy of the stored detections for one test."""
    db = tmp_path / "firewatch.db"
    shutil.copy(stored_db, db)
    settings = Settings(
        database_url=f"sqlite:///{db}",
        models_dir=tmp_path / "models",
        output_dir=tmp_path / "out",
    )
    return connect(settings.database_url), settings


def test_spatial_splits_never_share_a_block(store: tuple[Engine, Settings]) -> None:
    engine, settings = store
    ts = build_training_set(engine, settings)
    _, y, groups = ts.labelled()
    assert set(y) == {"straw", "industrial", "other_vegetation"}
    assert ts.labels["source"].eq("weak_rule").all()  # no review, no FIRMS type in the fixtures
    splits = _splits(y, groups, 5)
    assert len(splits) == 5
    for train_idx, test_idx in splits:
        assert not set(groups[train_idx]) & set(groups[test_idx])
        assert {"straw", "industrial"} <= set(y[test_idx]) | set(y[train_idx])
    # neighbouring pixels: two detections 300 m apart fall in one 0.25° block
    assert (
        spatial_blocks(np.array([46.1001, 46.1028]), np.array([125.2001, 125.2030]))[0]
        == (spatial_blocks(np.array([46.1028]), np.array([125.2030]))[0])
    )


def _add_verdicts(engine: Engine, verdicts: dict[str, str]) -> None:
    """Verdicts as the review app stores them: an assignment and a verdict per point."""
    now = utcnow()
    det = repo.load_detections(engine).set_index("detection_id")
    with engine.begin() as conn:
        uid = conn.execute(
            ReviewUser.__table__.insert().values(
                username="member1",
                display_name="网格员",
                role="village_member",
                grid_code="230000000000",
                password_hash="x",
                created_at=now,
            )
        ).inserted_primary_key[0]
        for did, verdict in verdicts.items():
            conn.execute(
                Assignment.__table__.insert().values(
                    detection_id=did,
                    grid_code="230000000000",
                    grid_level="province",
                    responsible_code="230000000000",
                    responsible_level="province",
                    escalation_level=0,
                    acq_time_utc=det.loc[did, "acq_time_utc"].to_pydatetime(),
                    assigned_at=now,
                    deadline=now + dt.timedelta(hours=48),
                    status="answered",
                    verdict=verdict,
                    answered_at=now,
                )
            )
            conn.execute(
                Verdict.__table__.insert().values(
                    detection_id=did,
                    user_id=uid,
                    user_role="village_member",
                    verdict=verdict,
                    decided_at=now,
                )
            )


def test_learning_loop_retrains_on_review_verdicts(
    store: tuple[Engine, Settings], tmp_path: Path
) -> None:
    engine, settings = store
    model_path = tmp_path / "models" / "fp.skops"
    first = train(engine, settings, out_path=model_path, run_evaluation=False)
    assert "spurious" not in first.model.classes
    res = classify_stored(engine, settings, model=first.model)
    n_stored = len(repo.load_detections(engine))
    assert res.classified == n_stored
    ids = repo.load_detections(engine)["detection_id"].tolist()
    before = load_point_classes(engine, ids)
    assert len(before) == n_stored and before["model_version"].eq(first.model.version).all()
    assert before["p_straw"].between(0, 1).all() and before["fp_explanation"].str.len().gt(20).all()
    assert set(before["label_source"]) == {"weak_rule", "model"}

    # Grid members find nothing at odd low-brightness VIIRS points (one per 0.25° block), and
    # one point the registry rule calls industrial turns out to be a burning field.
    det = repo.load_detections(engine)
    odd = det.loc[(det.instrument == "VIIRS") & (det.bright_t4 < 300)].copy()
    odd["block"] = spatial_blocks(odd.latitude.to_numpy(), odd.longitude.to_numpy())
    nothing = odd.drop_duplicates("block")["detection_id"].tolist()
    assert len(nothing) >= 5
    weak = load_labels(engine)
    site = weak.index[weak["rule"].eq("industrial_site")][0]
    _add_verdicts(engine, {**dict.fromkeys(nothing, "nothing_found"), site: "straw_burning"})

    runner = CliRunner()
    db = ["--db", settings.database_url]
    out = runner.invoke(app, [*db, "train", "--no-eval", "-o", str(model_path)])
    assert out.exit_code == 0, out.output
    second = load_model(model_path)
    assert second.version != first.model.version
    assert "spurious" in second.classes
    assert "review/spurious" in second.card["labels_used"]
    labels = load_labels(engine)
    assert labels.loc[site, "source"] == "review" and labels.loc[site, "label"] == "straw"
    assert labels.loc[nothing, "label"].eq("spurious").all()

    out = runner.invoke(app, [*db, "classify", "--model", str(model_path)])
    assert out.exit_code == 0, out.output
    assert f"with model {second.version}" in out.output
    after = load_point_classes(engine, ids)
    assert after["model_version"].eq(second.version).all()
    assert after.loc[nothing, "label_source"].eq("review").all()
    # the verdicts are learnt: most of the reviewed points are now called spurious
    assert after.loc[nothing, "fp_class"].eq("spurious").mean() >= 0.8
    # every point keeps a row per model version that classified it
    with engine.connect() as conn:
        per_version = dict(
            conn.execute(
                select(Classification.model_version, func.count()).group_by(
                    Classification.model_version
                )
            ).all()
        )
        registered = set(conn.execute(select(ClassifierModel.version)).scalars())
    assert per_version == {first.model.version: n_stored, second.version: n_stored}
    assert registered == {first.model.version, second.version}


def test_train_command_reports_blocked_metrics(
    store: tuple[Engine, Settings], tmp_path: Path
) -> None:
    _, settings = store
    model_path = tmp_path / "m.skops"
    out = CliRunner().invoke(
        app, ["--db", settings.database_url, "train", "--splits", "3", "-o", str(model_path)]
    )
    assert out.exit_code == 0, out.output
    for needle in ("spatially blocked", "baseline", "without the rules' inputs", "not learnt"):
        assert needle in out.output
    card = load_model(model_path).card
    assert card["evaluation"]["model"]["n"] == card["training_data"]["n_labelled"]
    assert card["evaluation"]["method"].startswith("3-fold")


def test_train_refuses_without_labels(engine: Engine, settings: Settings) -> None:
    with pytest.raises(ValueError, match="not enough labels"):
        train(engine, settings, run_evaluation=False)


def test_classified_points_show_in_load_points(store: tuple[Engine, Settings]) -> None:
    from firewatch.publish.points import load_points

    engine, settings = store
    settings = settings.model_copy(
        update={"models_dir": Path(__file__).resolve().parent.parent / "models"}
    )
    classify_stored(engine, settings, first=dt.date(2022, 10, 29), last=dt.date(2022, 10, 29))
    pts = load_points(engine, first=dt.date(2022, 10, 29))
    assert len(pts) > 1000
    assert pts[["fp_class", "p_straw", "fp_explanation", "model_version"]].notna().all().all()
