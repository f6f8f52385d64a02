"""Notifications against a real SMTP server and a real HTTP "chat robot" on 127.0.0.1.

The tests read what the servers actually received: who got which message, the webhook JSON
body, and that a second run sends nothing again.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterator
from typing import Any

import pytest
from review_support import DAY, Robot, RobotServer, SmtpServer, free_port, review_store
from sqlalchemy import Engine, select, text

from firewatch.config import Settings
from firewatch.dispatch.assign import remind_and_escalate, run_dispatch
from firewatch.dispatch.models import Notification
from firewatch.dispatch.notify import Notifier, deliver

T0 = dt.datetime(2025, 4, 23, 8, 0, tzinfo=dt.UTC)
H = dt.timedelta(hours=1)


@pytest.fixture
def smtp() -> Iterator[SmtpServer]:
    server = SmtpServer(free_port()).start()
    yield server
    server.stop()


@pytest.fixture
def robot() -> Iterator[tuple[Robot, str]]:
    server = RobotServer().start()
    yield server.state, server.url
    server.stop()


def configure(settings: Settings, *, smtp_port: int | None, robot_url: str | None) -> None:
    n = settings.notify
    if smtp_port is not None:
        n.smtp_host = "127.0.0.1"
        n.smtp_port = smtp_port
        n.smtp_from = "firewatch@jixi.example.org"
    if robot_url is not None:
        from pydantic import SecretStr

        n.webhook_url = SecretStr(f"{robot_url}/cgi-bin/webhook/send?key=SECRET-ALL")
        n.grid_webhooks = {"230381": SecretStr(f"{robot_url}/hulin?key=SECRET-HULIN")}
    n.retries = 3
    n.backoff_s = 0.5
    n.timeout_s = 5
    settings.review.base_url = "https://firewatch.example.org"


class Sleeps(list[float]):
    def __call__(self, seconds: float) -> None:
        self.append(seconds)


def _outbox(engine: Engine) -> list[dict[str, Any]]:
    with engine.connect() as conn:
        return [dict(r) for r in conn.execute(select(Notification.__table__)).mappings()]


def test_new_points_are_mailed_and_posted_once(
    engine: Engine, settings: Settings, smtp: SmtpServer, robot: tuple[Robot, str]
) -> None:
    bot, url = robot
    configure(settings, smtp_port=smtp.port, robot_url=url)
    st = review_store(engine, settings, now=T0)
    result = run_dispatch(engine, settings, days=[DAY], now=T0)
    ids = st.ids
    # One e-mail per person, listing all their new points, with links to them.
    a_mail = smtp.inbox.to("member_a@example.org")
    assert len(a_mail) == 1
    assert "新的火点核查任务（2 个）" in a_mail[0].subject
    assert a_mail[0].sender == "firewatch@jixi.example.org"
    for name in ("a1", "a2"):
        assert f"https://firewatch.example.org/points/{ids[name]}" in a_mail[0].body
    assert ids["b"] not in a_mail[0].body
    assert len(smtp.inbox.to("member_b@example.org")) == 1
    assert ids["h"] in smtp.inbox.to("member_h@example.org")[0].body
    # The point with no grid cell went to its county's field chief.
    county = smtp.inbox.to("chief_county@example.org")
    assert len(county) == 1 and ids["c"] in county[0].body
    assert smtp.inbox.to("chief_town_a@example.org") == []
    # The robots got the chat-robot JSON form; the Hulin robot only Hulin's point.
    all_posts = bot.on("/cgi-bin/webhook/send?key=SECRET-ALL")
    assert len(all_posts) == 1
    body = all_posts[0]["json"]
    assert body["msgtype"] == "text"
    assert set(body) == {"msgtype", "text"}
    assert all(ids[n] in body["text"]["content"] for n in ids)
    assert all_posts[0]["content_type"].startswith("application/json")
    hulin = bot.on("/hulin?key=SECRET-HULIN")
    assert len(hulin) == 1
    assert ids["h"] in hulin[0]["json"]["text"]["content"]
    assert ids["a1"] not in hulin[0]["json"]["text"]["content"]
    assert result.delivery is not None and result.delivery.messages_failed == 0
    # The record of what was sent: every row sent, and no webhook key in it.
    rows = _outbox(engine)
    assert rows and all(r["status"] == "sent" and r["sent_at"] == T0 for r in rows)
    assert not any("SECRET" in json.dumps(r, default=str) for r in rows)

    # The same job again, later: nobody is told twice.
    mails, posts = len(smtp.inbox.mails), len(bot.received)
    again = run_dispatch(engine, settings, days=[DAY], now=T0 + H)
    assert again.assigned == []
    assert (len(smtp.inbox.mails), len(bot.received)) == (mails, posts)


def test_reminders_and_escalations_reach_the_next_level_once(
    engine: Engine, settings: Settings, smtp: SmtpServer
) -> None:
    configure(settings, smtp_port=smtp.port, robot_url=None)
    st = review_store(engine, settings, now=T0)
    run_dispatch(engine, settings, days=[DAY], now=T0)
    run_dispatch(engine, settings, days=[DAY], now=T0 + 36 * H)
    reminders = [m for m in smtp.inbox.to("member_a@example.org") if "即将到期" in m.subject]
    assert len(reminders) == 1 and st.ids["a1"] in reminders[0].body
    run_dispatch(engine, settings, days=[DAY], now=T0 + 48 * H)
    town = smtp.inbox.to("chief_town_a@example.org")
    assert len(town) == 1
    assert "逾期" in town[0].subject
    assert st.ids["a1"] in town[0].body and st.ids["a2"] in town[0].body
    assert st.ids["b"] not in town[0].body  # another township's point
    city = smtp.inbox.to("chief_city@example.org")
    assert len(city) == 1 and st.ids["c"] in city[0].body  # county -> city
    n = len(smtp.inbox.mails)
    run_dispatch(engine, settings, days=[DAY], now=T0 + 49 * H)
    remind_and_escalate(engine, settings, now=T0 + 50 * H)
    deliver(engine, settings, now=T0 + 50 * H)
    assert len(smtp.inbox.mails) == n


def test_webhook_retries_with_backoff_then_succeeds(
    engine: Engine, settings: Settings, robot: tuple[Robot, str]
) -> None:
    bot, url = robot
    configure(settings, smtp_port=None, robot_url=url)
    settings.notify.grid_webhooks = {}
    bot.script = [(500, {"error": "busy"}), (502, {"error": "busy"})]
    review_store(engine, settings, now=T0)
    sleeps = Sleeps()
    result = run_dispatch(
        engine, settings, days=[DAY], now=T0, notifier=Notifier(settings.notify, sleep=sleeps)
    )
    assert result.delivery is not None and result.delivery.messages_sent == 1
    assert len(bot.received) == 3
    assert bot.received[0]["json"] == bot.received[2]["json"]
    assert sleeps == [0.5, 1.0]  # exponential backoff
    rows = _outbox(engine)
    assert {r["attempts"] for r in rows} == {3}
    assert {r["status"] for r in rows} == {"sent"}


def test_a_robot_refusal_is_a_failure_recorded_and_retried_later(
    engine: Engine, settings: Settings, robot: tuple[Robot, str]
) -> None:
    bot, url = robot
    configure(settings, smtp_port=None, robot_url=url)
    settings.notify.grid_webhooks = {}
    # WeCom answers HTTP 200 with a non-zero errcode when it refuses a message.
    bot.script = [(200, {"errcode": 93000, "errmsg": "invalid webhook url"})] * 3
    review_store(engine, settings, now=T0)
    notifier = Notifier(settings.notify, sleep=Sleeps())
    first = run_dispatch(engine, settings, days=[DAY], now=T0, notifier=notifier)
    assert first.delivery is not None and first.delivery.messages_failed == 1
    rows = _outbox(engine)
    assert {r["status"] for r in rows} == {"failed"}
    assert all("93000" in (r["last_error"] or "") for r in rows)
    assert all("SECRET" not in (r["last_error"] or "") for r in rows)
    second = run_dispatch(engine, settings, days=[DAY], now=T0 + H, notifier=notifier)
    assert second.delivery is not None and second.delivery.messages_sent == 1
    assert {r["status"] for r in _outbox(engine)} == {"sent"}
    assert len(bot.received) == 4
    run_dispatch(engine, settings, days=[DAY], now=T0 + 2 * H, notifier=notifier)
    assert len(bot.received) == 4


def test_smtp_down_is_recorded_and_mail_goes_out_once_it_is_back(
    engine: Engine, settings: Settings
) -> None:
    port = free_port()  # nothing listens here yet
    configure(settings, smtp_port=port, robot_url=None)
    review_store(engine, settings, now=T0)
    notifier = Notifier(settings.notify, sleep=Sleeps())
    down = run_dispatch(engine, settings, days=[DAY], now=T0, notifier=notifier)
    assert down.delivery is not None and down.delivery.messages_sent == 0
    assert down.delivery.messages_failed == 4  # member_a, member_b, member_h, chief_county
    assert all(r["status"] == "failed" and r["last_error"] for r in _outbox(engine))
    server = SmtpServer(port).start()
    try:
        up = deliver(engine, settings, notifier=notifier, now=T0 + H)
        assert up.messages_sent == 4
        assert len(server.inbox.mails) == 4
        deliver(engine, settings, notifier=notifier, now=T0 + 2 * H)
        assert len(server.inbox.mails) == 4
    finally:
        server.stop()


def test_a_send_cut_short_by_a_crash_is_not_repeated(
    engine: Engine, settings: Settings, smtp: SmtpServer
) -> None:
    configure(settings, smtp_port=smtp.port, robot_url=None)
    st = review_store(engine, settings, now=T0)
    # As if a run died between sending member_b's mail and recording it.
    with engine.begin() as conn:
        conn.execute(
            text("UPDATE notifications SET status = 'sending' WHERE target = :t"),
            {"t": "member_b@example.org"},
        )
    deliver(engine, settings, now=T0)
    assert smtp.inbox.to("member_b@example.org") == []
    assert len(smtp.inbox.to("member_a@example.org")) == 1
    rows = {r["target"]: r["status"] for r in _outbox(engine)}
    assert rows["member_b@example.org"] == "unknown"
    assert st.ids["b"] not in "".join(m.body for m in smtp.inbox.mails)
    deliver(engine, settings, now=T0 + H)
    assert smtp.inbox.to("member_b@example.org") == []
