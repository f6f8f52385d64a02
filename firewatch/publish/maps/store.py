"""Maps from the store: thin wrappers that load points and boundaries, then call the builders."""

from __future__ import annotations

import datetime as dt
import logging
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from firewatch.errors import ConfigError, GridError
from firewatch.publish.maps.boundaries import (
    BoundarySet,
    cells_with_points,
    grid_datum,
    grid_is_synthetic,
    load_boundaries,
    read_layer,
)
from firewatch.publish.maps.build import FireMap, daily_map, grid_map, period_map

if TYPE_CHECKING:
    from sqlalchemy import Engine

    from firewatch.config import Settings

__all__ = [
    "daily_map_from_store",
    "grid_level",
    "grid_map_from_store",
    "period_map_from_store",
    "period_window",
    "write_daily_maps",
]

log = logging.getLogger(__name__)

Edition = Literal["internal", "public"]


def _common(settings: Settings, **overrides: Any) -> dict[str, Any]:
    key = settings.tianditu_key.get_secret_value() if settings.tianditu_key else None
    opts: dict[str, Any] = {"settings": settings.map, "tianditu_key": key}
    opts.update({k: v for k, v in overrides.items() if v is not None})
    return opts


def _points(engine: Engine, first: dt.date, last: dt.date, edition: Edition) -> Any:
    from firewatch.publish.points import load_points

    return load_points(
        engine, first=first, last=last, edition=edition, region=("province", "neighbour")
    )


def _daily_boundaries(settings: Settings, points: Any) -> BoundarySet:
    """Province to township in full; villages only where the day's points are."""
    out = load_boundaries(settings)
    villages = out.get("village")
    if villages is not None:
        out.layers["village"] = cells_with_points(
            villages, points["longitude"].to_numpy(), points["latitude"].to_numpy()
        )
    return out


def daily_map_from_store(
    engine: Engine,
    settings: Settings,
    *,
    day: dt.date,
    edition: Edition = "internal",
    offline: bool | None = None,
    base: str | None = None,
) -> FireMap:
    """The daily map of a Beijing-time day from the store, with county and grid boundaries."""
    points = _points(engine, day, day, edition)
    boundaries = _daily_boundaries(settings, points)
    return daily_map(
        points,
        day=day,
        region_name=settings.region.name,
        edition=edition,
        boundaries=boundaries,
        **_common(settings, offline=offline, base=base),
    )


def period_window(settings: Settings, name: str, year: int) -> tuple[dt.date, dt.date]:
    """First and last day of the configured ban period ``name`` in ``year``.

    Raises
    ------
    ConfigError
        If no period of that name applies in ``year``.
    """
    for pname, first, last in settings.ban_windows(year):
        if pname == name:
            return first, last
    names = ", ".join(p for p, _, _ in settings.ban_windows(year)) or "none"
    raise ConfigError(f"no ban period {name!r} in {year} (configured: {names})")


def period_map_from_store(
    engine: Engine,
    settings: Settings,
    *,
    name: str | None = None,
    year: int | None = None,
    first: dt.date | None = None,
    last: dt.date | None = None,
    edition: Edition = "internal",
    offline: bool | None = None,
    base: str | None = None,
) -> FireMap:
    """The map of a ban period (``name`` + ``year`` from settings, or ``first``..``last``)."""
    if first is None or last is None:
        if name is None or year is None:
            raise ConfigError("give a period name and year, or first and last days")
        first, last = period_window(settings, name, year)
    points = _points(engine, first, last, edition)
    boundaries = load_boundaries(settings, levels=("province", "city", "county", "township"))
    return period_map(
        points,
        first=first,
        last=last,
        name=name,
        region_name=settings.region.name,
        edition=edition,
        boundaries=boundaries,
        **_common(settings, offline=offline, base=base),
    )


def grid_level(code: str) -> tuple[str, str]:
    """``(level, prefix)`` of a county or township code (6, 9 or 12 digits).

    Statistical codes are hierarchical: a 12-digit code whose last 6 digits are zero is a
    county, whose last 3 are zero a township.
    """
    c = code.strip()
    if not c.isdigit() or len(c) not in (6, 9, 12):
        raise GridError(f"not a county or township code (6, 9 or 12 digits): {code!r}")
    full = c.ljust(12, "0")
    if full[6:] == "000000":
        return "county", full[:6]
    if full[9:] == "000":
        return "township", full[:9]
    raise GridError(f"{code} is a village code; give its township or county")


def grid_map_from_store(
    engine: Engine,
    settings: Settings,
    *,
    code: str,
    first: dt.date,
    last: dt.date | None = None,
    edition: Edition = "internal",
    offline: bool | None = None,
    base: str | None = None,
) -> FireMap:
    """One county or township with its cells and points.

    Raises
    ------
    GridError
        If the code is not a county of the boundaries or a township of the grid.
    """
    last = last or first
    level, prefix = grid_level(code)
    grid_path = Path(settings.grids_path)
    if level == "county":
        unit = read_layer(settings.boundaries_path, "county", datum=settings.boundaries_datum)
        if unit is not None:
            unit = unit.loc[unit["code"].fillna("").str.ljust(12, "0").str[:6] == prefix]
        cells = read_layer(grid_path, "township", datum=grid_datum(settings), codes=[prefix])
    else:
        unit = read_layer(grid_path, "township", datum=grid_datum(settings), codes=[prefix])
        cells = read_layer(grid_path, "village", datum=grid_datum(settings), codes=[prefix])
    if unit is None or not len(unit):
        where = settings.boundaries_path if level == "county" else grid_path
        raise GridError(f"no {level} with code {code} in {Path(where).name}")
    points = _points(engine, first, last, edition)
    w, s, e, n = unit.total_bounds
    bset = BoundarySet()
    if level == "township":
        bset = load_boundaries(settings, levels=("county",), bbox=(w, s, e, n))
    grid_layers = [g for g in (cells, unit if level == "township" else None) if g is not None]
    bset.synthetic_grid = bool(grid_layers) and grid_is_synthetic(grid_path, grid_layers)
    return grid_map(
        points,
        unit=unit,
        cells=cells,
        first=first,
        last=last,
        edition=edition,
        boundaries=bset,
        **_common(settings, offline=offline, base=base),
    )


def write_daily_maps(
    engine: Engine,
    settings: Settings,
    *,
    day: dt.date,
    out_dir: str | Path,
) -> dict[str, Path]:
    """The map stage of ``firewatch daily``: the day's maps in each configured edition.

    Writes ``fire_map_<day>.html`` (internal) and ``fire_map_<day>_public.html`` with their
    iframe snippets (and PNGs when ``settings.map.daily_png``); returns them by output name.
    """
    from firewatch.publish.points import public_edition

    out = Path(out_dir)
    outputs: dict[str, Path] = {}
    points = _points(engine, day, day, "internal")  # read once; the public map drops people
    boundaries = _daily_boundaries(settings, points)
    for edition in settings.map.daily_editions:
        fmap = daily_map(
            points if edition == "internal" else public_edition(points),
            day=day,
            region_name=settings.region.name,
            edition=edition,
            boundaries=boundaries,
            **_common(settings),
        )
        suffix = "" if edition == "internal" else "_public"
        files = fmap.save(
            out / f"fire_map_{day.isoformat()}{suffix}.html",
            # The daily map is an attachment people forward and open anywhere, intranets
            # included: Leaflet goes inside the file; tiles still load where they can.
            assets="inline",
            png=settings.map.daily_png,
            png_size=(settings.map.png_width, settings.map.png_height),
            png_scale=settings.map.png_scale,
            chromium=settings.map.chromium_path,
        )
        outputs.update(files.as_outputs(f"map_{edition}"))
    return outputs
