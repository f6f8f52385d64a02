"""The review app's tables: the audit log is append-only in the database itself (SQLite and
PostgreSQL), and the loaders maps, bulletins and the classifier read."""

from __future__ import annotations

import datetime as dt

import pytest
from review_support import PASSWORD, api_login, insert_points, make_client, review_store
from sqlalchemy import Engine, func, select, text
from sqlalchemy.exc import DBAPIError

from firewatch.config import Settings
from firewatch.dispatch import audit
from firewatch.dispatch.models import AuditEntry
from firewatch.dispatch.store import load_point_reviews, load_verdict_labels
from firewatch.publish.points import load_points
from firewatch.store import connect, upgrade


def _append_only(engine: Engine) -> None:
    with engine.begin() as conn:
        audit.record(conn, audit.SYSTEM, "test_entry", detail={"n": 1})
    for stmt in (
        "UPDATE audit_log SET username = 'mallory'",
        "DELETE FROM audit_log",
        "UPDATE audit_log SET detail = NULL WHERE action = 'test_entry'",
    ):
        with pytest.raises(DBAPIError, match="append-only"), engine.begin() as conn:
            conn.execute(text(stmt))
    with engine.connect() as conn:
        rows = conn.execute(select(AuditEntry.username, AuditEntry.detail)).all()
    assert [tuple(r) for r in rows] == [("system", '{"n": 1}')]
    # Appending still works.
    with engine.begin() as conn:
        audit.record(conn, audit.SYSTEM, "test_entry")
    with engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(AuditEntry.__table__)).scalar() == 2


def test_audit_log_refuses_update_and_delete_on_sqlite(engine: Engine) -> None:
    _append_only(engine)


@pytest.mark.postgis
def test_audit_log_refuses_update_delete_truncate_on_postgresql(postgis_url: str) -> None:
    engine = connect(postgis_url)
    try:
        upgrade(engine)
        _append_only(engine)
        with pytest.raises(DBAPIError, match="append-only"), engine.begin() as conn:
            conn.execute(text("TRUNCATE audit_log"))
    finally:
        engine.dispose()


@pytest.mark.postgis
def test_the_review_workflow_runs_on_postgresql(postgis_url: str, settings: Settings) -> None:
    settings = settings.model_copy(update={"database_url": postgis_url})
    engine = connect(postgis_url)
    try:
        upgrade(engine)
        store = review_store(engine, settings)
        client = make_client(store)
        csrf = api_login(client, "member_a")
        r = client.post(
            f"/api/v1/points/{store.ids['a1']}/verdict",
            data={"verdict": "other_fire"},
            headers={"X-CSRF-Token": csrf},
        )
        assert r.status_code == 201
        labels = load_verdict_labels(engine)
        assert labels["verdict"].tolist() == ["other_fire"]
        assert len(client.get("/api/v1/points").json()["points"]) == 2
    finally:
        engine.dispose()


def test_loaders_on_an_empty_or_unassigned_store(engine: Engine) -> None:
    ids = insert_points(engine, ["a1"])
    reviews = load_point_reviews(engine, list(ids.values()))
    assert reviews.empty
    assert list(reviews.columns)[:4] == ["review_status", "verdict", "deadline", "answered_at"]
    labels = load_verdict_labels(engine)
    assert labels.empty
    assert list(labels.columns) == ["detection_id", "verdict", "decided_at", "user_role"]


def test_maps_and_bulletins_see_review_status_without_personal_data(
    engine: Engine, settings: Settings
) -> None:
    store = review_store(engine, settings)
    client = make_client(store)
    csrf = api_login(client, "member_b", PASSWORD)
    client.post(
        f"/api/v1/points/{store.ids['b']}/verdict",
        data={"verdict": "nothing_found", "note": "张三家地头，无火"},
        headers={"X-CSRF-Token": csrf},
    )
    day = dt.date(2025, 4, 23)
    internal = load_points(engine, first=day).set_index("detection_id")
    assert internal.loc[store.ids["b"], "review_status"] == "answered"
    assert internal.loc[store.ids["b"], "verdict"] == "nothing_found"
    assert internal.loc[store.ids["a1"], "review_status"] == "pending"
    public = load_points(engine, first=day, edition="public")
    text_dump = public.to_csv()
    assert "张三" not in text_dump and "member_b" not in text_dump
