"""Daily bulletins and period reports in the official layout: HTML, Word, Excel and PDF.

The package is split so that importing it stays light (its settings are imported by
:mod:`firewatch.config`, its table by the migrations):

- :mod:`~firewatch.publish.bulletin.settings`: the ``bulletin`` settings model;
- :mod:`~firewatch.publish.bulletin.models`, :mod:`~firewatch.publish.bulletin.coverage`: what
  each ingestion run covered, and why a day shows what it shows (:class:`DayStatus`);
- :mod:`~firewatch.publish.bulletin.content`: the content model (plain dataclasses built from
  the store) of a daily bulletin and of a period report;
- :mod:`~firewatch.publish.bulletin.html`, ``docx``, ``xlsx``, ``pdf``: the four renderers;
- :mod:`~firewatch.publish.bulletin.charts`: the static distribution map and daily charts;
- :mod:`~firewatch.publish.bulletin.render`: write a document in several formats at once.

The names below are imported on first use.
"""

from __future__ import annotations

import importlib
from typing import Any

__all__ = [
    "FORMATS",
    "DailyBulletin",
    "DayStatus",
    "PeriodReport",
    "build_daily_bulletin",
    "build_period_report",
    "day_status",
    "day_statuses",
    "period_window",
    "record_coverage",
    "week_window",
    "write_daily_bulletins",
    "write_document",
]

_WHERE = {
    "DayStatus": "coverage",
    "day_status": "coverage",
    "day_statuses": "coverage",
    "record_coverage": "coverage",
    "DailyBulletin": "content",
    "PeriodReport": "content",
    "build_daily_bulletin": "content",
    "build_period_report": "content",
    "period_window": "content",
    "week_window": "content",
    "FORMATS": "render",
    "write_document": "render",
    "write_daily_bulletins": "render",
}


def __getattr__(name: str) -> Any:
    if name in _WHERE:
        module = importlib.import_module(f"{__name__}.{_WHERE[name]}")
        return getattr(module, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
