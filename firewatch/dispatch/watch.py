"""The scheduled daily run: ``firewatch watch``.

After each overpass window (``review.run_times_bjt``, Beijing time; by default 16:30 after the
afternoon passes and 04:30 after the night ones, allowing FIRMS's near-real-time latency) it runs
``firewatch daily`` for the current Beijing day, which ingests, attributes and dispatches (assigns
new points and notifies).  Between runs it ticks every ``review.tick_minutes``: reminders,
escalations and unsent notifications.  Every step is idempotent, so a run repeated on the same
data changes nothing and notifies no one twice.

Instead of the long-running loop, cron or a systemd timer can call ``firewatch watch --once``
at the same times (see docs/review-app.md).
"""

from __future__ import annotations

import datetime as dt
import logging
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd
from sqlalchemy import Engine

from firewatch.config import Settings
from firewatch.dispatch.assign import DispatchResult, run_dispatch
from firewatch.dispatch.notify import Notifier
from firewatch.schema import BEIJING_TZ
from firewatch.store.models import utcnow

__all__ = ["WatchRun", "beijing_day", "next_run", "run_once", "tick", "watch"]

log = logging.getLogger(__name__)


def beijing_day(now: dt.datetime) -> dt.date:
    """The Beijing-time calendar day of an instant."""
    return pd.Timestamp(now).tz_convert(BEIJING_TZ).date()


def next_run(now: dt.datetime, times_bjt: Sequence[str]) -> dt.datetime:
    """The first scheduled instant (UTC) strictly after ``now``."""
    local = pd.Timestamp(now).tz_convert(BEIJING_TZ)
    candidates = []
    for offset in (0, 1):
        day = local.normalize() + pd.Timedelta(days=offset)
        for t in times_bjt:
            hh, mm = (int(x) for x in t.split(":"))
            at = day + pd.Timedelta(hours=hh, minutes=mm)
            if at > local:
                candidates.append(at)
    return min(candidates).tz_convert("UTC").to_pydatetime()


@dataclass
class WatchRun:
    """One scheduled run: the day it covered, the daily result and the dispatch result."""

    day: dt.date
    daily: Any
    dispatch: DispatchResult | None


def run_once(
    engine: Engine,
    settings: Settings,
    *,
    day: dt.date | None = None,
    files: Sequence[str | Path] = (),
    fetch_api: bool = True,
    client: Any | None = None,
    notifier: Notifier | None = None,
    now: dt.datetime | None = None,
) -> WatchRun:
    """Run the daily job for a Beijing day (today by default) and dispatch its points.

    ``daily`` dispatches the day's points itself (``review.dispatch_in_daily``); a second
    dispatch here also covers the day before (a night run just after midnight sees the points
    of the evening before) and sends with ``notifier``.  Both are idempotent.
    """
    from firewatch.pipeline import daily

    now = now or utcnow()
    day = day or beijing_day(now)
    result = daily(
        engine,
        settings,
        day=day,
        files=files,
        fetch_api=fetch_api,
        client=client,
        out_dir=settings.output_dir,
    )
    days = [day - dt.timedelta(days=1), day]
    dispatched = run_dispatch(engine, settings, days=days, now=now, notifier=notifier)
    if result.dispatch is not None:
        dispatched.assigned = [*result.dispatch.assigned, *dispatched.assigned]
        dispatched.reminders += result.dispatch.reminders
        dispatched.escalations += result.dispatch.escalations
        first = result.dispatch.delivery
        if first is not None and dispatched.delivery is not None:
            dispatched.delivery.messages_sent += first.messages_sent
            dispatched.delivery.messages_failed += first.messages_failed
            dispatched.delivery.rows_sent += first.rows_sent
            dispatched.delivery.rows_failed += first.rows_failed
            dispatched.delivery.errors = [*first.errors, *dispatched.delivery.errors]
        elif first is not None:
            dispatched.delivery = first
    return WatchRun(day=day, daily=result, dispatch=dispatched)


def tick(
    engine: Engine,
    settings: Settings,
    *,
    now: dt.datetime | None = None,
    notifier: Notifier | None = None,
) -> DispatchResult:
    """Between runs: reminders, escalations and unsent notifications (no ingestion)."""
    now = now or utcnow()
    return run_dispatch(engine, settings, days=[beijing_day(now)], now=now, notifier=notifier)


def watch(
    engine: Engine,
    settings: Settings,
    *,
    stop: threading.Event | None = None,
    clock: Callable[[], dt.datetime] = utcnow,
    on_run: Callable[[WatchRun], None] | None = None,
    **run_kwargs: Any,
) -> None:
    """Loop until ``stop`` is set: daily runs at the scheduled times, ticks in between.

    A failed run is logged and retried at the next tick rather than ending the loop, so one
    FIRMS outage does not stop the dispatch of reminders.
    """
    stop = stop or threading.Event()
    cfg = settings.review
    due = next_run(clock(), cfg.run_times_bjt)
    log.info("watching: next run at %s (UTC)", due.isoformat())
    while not stop.is_set():
        now = clock()
        if now >= due:
            try:
                run = run_once(engine, settings, now=now, **run_kwargs)
            except Exception:  # keep watching: the next tick retries
                log.exception("the scheduled run failed; retrying at the next tick")
            else:
                due = next_run(now, cfg.run_times_bjt)
                log.info("run for %s done; next at %s (UTC)", run.day, due.isoformat())
                if on_run is not None:
                    on_run(run)
        else:
            try:
                tick(engine, settings, now=now)
            except Exception:
                log.exception("tick failed")
        wait = min((due - clock()).total_seconds(), cfg.tick_minutes * 60)
        stop.wait(max(wait, 1.0))
