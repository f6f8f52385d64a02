"""Seasonal analysis: burning-season cubes, burned straw from FRP, utilization rate, burn scars.

Importing this package is light (settings are imported by :mod:`firewatch.config`); the public
names below load their module on first use.

- :mod:`~firewatch.publish.season.cubes`: (date × county) and (date × y × x) cubes, NetCDF;
- :mod:`~firewatch.publish.season.events`: fire events (detections close in space and time);
- :mod:`~firewatch.publish.season.fre`: fire radiative energy and dry matter burned;
- :mod:`~firewatch.publish.season.utilization`: straw produced, collectable, burned share;
- :mod:`~firewatch.publish.season.sentinel`: Sentinel-2 dNBR burn-scar confirmation;
- :mod:`~firewatch.publish.season.compare`: season against season, year against year.
"""

from __future__ import annotations

import importlib
from typing import Any

__all__ = [
    "Season",
    "SeasonCubes",
    "build_cubes",
    "compare_seasons",
    "confirm_events",
    "county_cube",
    "estimate_fre",
    "event_table",
    "find_events",
    "grid_cube",
    "open_cube",
    "read_crop_statistics",
    "read_reported_rates",
    "save_cube",
    "season_detections",
    "season_window",
    "straw_resources",
    "utilization_report",
]

_WHERE = {
    "Season": "cubes",
    "SeasonCubes": "cubes",
    "build_cubes": "cubes",
    "county_cube": "cubes",
    "grid_cube": "cubes",
    "open_cube": "cubes",
    "save_cube": "cubes",
    "season_window": "cubes",
    "season_detections": "cubes",
    "find_events": "events",
    "event_table": "events",
    "estimate_fre": "fre",
    "read_crop_statistics": "utilization",
    "read_reported_rates": "utilization",
    "straw_resources": "utilization",
    "utilization_report": "utilization",
    "confirm_events": "sentinel",
    "compare_seasons": "compare",
}


def __getattr__(name: str) -> Any:
    if name in _WHERE:
        module = importlib.import_module(f"{__name__}.{_WHERE[name]}")
        return getattr(module, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted([*globals(), *__all__])
