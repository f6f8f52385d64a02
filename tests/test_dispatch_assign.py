"""Assignment, deadlines, reminders and escalation up the grid levels; idempotent re-runs."""

from __future__ import annotations

import datetime as dt

import pytest
from review_support import DAY, grid_frame, insert_points, review_store
from sqlalchemy import Engine, func, select, text

from firewatch.config import Settings
from firewatch.dispatch.assign import assign_new, remind_and_escalate, run_dispatch
from firewatch.dispatch.models import Assignment, AuditEntry, Notification
from firewatch.dispatch.store import load_point_reviews

T0 = dt.datetime(2025, 4, 23, 8, 0, tzinfo=dt.UTC)  # 16:00 Beijing, after the afternoon pass
H = dt.timedelta(hours=1)


def _assignments(engine: Engine) -> dict[str, dict]:
    with engine.connect() as conn:
        rows = conn.execute(select(Assignment.__table__)).mappings().all()
    return {r["detection_id"]: dict(r) for r in rows}


def _count(engine: Engine, model) -> int:  # type: ignore[no-untyped-def]
    with engine.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(model.__table__)).scalar_one())


def test_points_go_to_their_village_or_county_with_a_deadline(
    engine: Engine, settings: Settings
) -> None:
    st = review_store(engine, settings, now=T0)
    a = _assignments(engine)
    assert sorted(st.assigned) == sorted(st.ids.values())
    ids = st.ids
    assert a[ids["a1"]]["grid_code"] == "230321100201"
    assert a[ids["a1"]]["grid_level"] == "village"
    assert a[ids["a1"]]["grid_name"] == "鸡东镇 甲村"
    assert a[ids["a1"]]["field_chief"] == "田长A1"
    assert a[ids["b"]]["responsible_code"] == "230321102203"
    # No grid cell: the county answers for it, and the point says so.
    assert a[ids["c"]]["grid_code"] == "230321000000"
    assert a[ids["c"]]["grid_level"] == "county"
    assert a[ids["c"]]["grid_flags"] == "no_grid"
    # 48 h by default, counted from the assignment.
    assert {r["deadline"] for r in a.values()} == {T0 + 48 * H}
    assert all(r["status"] == "open" and r["escalation_level"] == 0 for r in a.values())


def test_a_second_run_on_the_same_data_changes_nothing(engine: Engine, settings: Settings) -> None:
    st = review_store(engine, settings, now=T0)
    before = _assignments(engine)
    audit_before = _count(engine, AuditEntry)
    again = assign_new(engine, settings, days=[DAY], now=T0 + 2 * H, grid=grid_frame(st.ids))
    assert again == []
    assert _assignments(engine) == before
    assert _count(engine, AuditEntry) == audit_before


def test_neighbour_points_and_other_days_are_not_assigned(
    engine: Engine, settings: Settings
) -> None:
    ids = insert_points(engine)
    with engine.begin() as conn:
        conn.execute(
            text("UPDATE detections SET region = 'neighbour' WHERE detection_id = :d"),
            {"d": ids["h"]},
        )
    assert assign_new(engine, settings, days=[DAY + dt.timedelta(days=1)], now=T0) == []
    got = assign_new(engine, settings, days=[DAY], now=T0, grid=grid_frame(ids))
    assert ids["h"] not in got
    assert len(got) == 4


def test_reminder_once_before_the_deadline(engine: Engine, settings: Settings) -> None:
    review_store(engine, settings, now=T0)
    # 12 h before a 48 h deadline: not yet at 35 h, due at 36 h.
    assert remind_and_escalate(engine, settings, now=T0 + 35 * H) == (0, 0)
    assert remind_and_escalate(engine, settings, now=T0 + 36 * H) == (5, 0)
    assert remind_and_escalate(engine, settings, now=T0 + 40 * H) == (0, 0)
    assert all(r["reminded_at"] == T0 + 36 * H for r in _assignments(engine).values())


def test_overdue_points_escalate_one_level_at_a_time_up_to_the_city(
    engine: Engine, settings: Settings
) -> None:
    st = review_store(engine, settings, now=T0)
    a1, c = st.ids["a1"], st.ids["c"]
    t = T0 + 48 * H  # the deadline itself: overdue
    _, esc = remind_and_escalate(engine, settings, now=t)
    assert esc == 5
    rows = _assignments(engine)
    assert rows[a1]["responsible_code"] == "230321100000"  # village -> township
    assert rows[a1]["responsible_level"] == "township"
    assert rows[a1]["deadline"] == t + 24 * H
    assert rows[a1]["reminded_at"] is None  # the new level gets its own reminder
    assert rows[c]["responsible_code"] == "230300000000"  # county -> city
    # Nothing more until the new deadline.
    assert remind_and_escalate(engine, settings, now=t + H)[1] == 0
    t2 = t + 24 * H
    remind_and_escalate(engine, settings, now=t2)
    rows = _assignments(engine)
    assert rows[a1]["responsible_code"] == "230321000000"  # township -> county
    assert rows[c]["responsible_code"] == "230300000000"  # at the top: stays
    t3 = t2 + 24 * H
    remind_and_escalate(engine, settings, now=t3)
    rows = _assignments(engine)
    assert rows[a1]["responsible_code"] == "230300000000"
    assert rows[a1]["escalation_level"] == 3
    for t4 in (t3 + 24 * H, t3 + 48 * H):
        remind_and_escalate(engine, settings, now=t4)
    assert _assignments(engine)[a1]["responsible_code"] == "230300000000"
    with engine.connect() as conn:
        actions = (
            conn.execute(
                select(AuditEntry.action)
                .where(AuditEntry.detection_id == a1)
                .order_by(AuditEntry.id)
            )
            .scalars()
            .all()
        )
    # Reported overdue at the top exactly once.
    assert actions.count("escalated") == 3
    assert actions.count("overdue") == 1
    reviews = load_point_reviews(engine, [a1, c], now=t3 + 49 * H)
    assert list(reviews["review_status"]) == ["overdue", "overdue"]


def test_answered_points_do_not_escalate(engine: Engine, settings: Settings) -> None:
    st = review_store(engine, settings, now=T0)
    with engine.begin() as conn:
        conn.execute(
            text(
                "UPDATE assignments SET status='answered', verdict='nothing_found' "
                "WHERE detection_id = :d"
            ),
            {"d": st.ids["b"]},
        )
    remind_and_escalate(engine, settings, now=T0 + 50 * H)
    rows = _assignments(engine)
    assert rows[st.ids["b"]]["escalation_level"] == 0
    assert rows[st.ids["a1"]]["escalation_level"] == 1
    reviews = load_point_reviews(engine, list(st.ids.values()), now=T0 + 50 * H)
    assert reviews.loc[st.ids["b"], "review_status"] == "answered"
    assert reviews.loc[st.ids["b"], "verdict"] == "nothing_found"
    assert reviews.loc[st.ids["a1"], "review_status"] == "escalated"


def test_escalation_stops_where_configured(engine: Engine, settings: Settings) -> None:
    settings.review.escalate_up_to = "township"
    st = review_store(engine, settings, now=T0)
    for k in range(1, 5):
        remind_and_escalate(engine, settings, now=T0 + (48 + 24 * k) * H)
    rows = _assignments(engine)
    assert rows[st.ids["a1"]]["responsible_level"] == "township"
    # A county-level point is already above the limit: it only gets reported overdue.
    assert rows[st.ids["c"]]["responsible_level"] == "county"


def test_nothing_is_queued_without_a_configured_channel(engine: Engine, settings: Settings) -> None:
    review_store(engine, settings, now=T0)
    result = run_dispatch(engine, settings, days=[DAY], now=T0 + 49 * H)
    assert result.delivery is None
    assert _count(engine, Notification) == 0


@pytest.mark.parametrize("hours", [-1.0, 0.0])
def test_deadline_hours_come_from_configuration(
    engine: Engine, settings: Settings, hours: float
) -> None:
    settings.review.deadline_hours = 6.0 + hours
    review_store(engine, settings, now=T0)
    assert {r["deadline"] for r in _assignments(engine).values()} == {T0 + (6 + hours) * H}
