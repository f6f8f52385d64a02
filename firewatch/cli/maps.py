"""``firewatch map``: interactive maps of a day, a ban period or one county/township."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Literal, cast, get_args

import typer
from rich.console import Console

from firewatch.cli.app import ExitCode, app, fail, state
from firewatch.cli.app import parse_date as _date
from firewatch.errors import ConfigError, FirewatchError, GridError

console = Console()


@app.command("map")
def map_command(
    day: Annotated[
        str | None, typer.Option("--date", help="Beijing-time day (YYYY-MM-DD) of a daily map.")
    ] = None,
    period: Annotated[
        str | None,
        typer.Option(help="Ban period name from settings (e.g. spring, autumn); needs --year."),
    ] = None,
    year: Annotated[int | None, typer.Option(help="Year of --period.")] = None,
    first: Annotated[
        str | None, typer.Option("--from", help="First day of a period map (with --to).")
    ] = None,
    last: Annotated[str | None, typer.Option("--to", help="Last day, inclusive.")] = None,
    grid: Annotated[
        str | None,
        typer.Option(
            help="County (6-digit) or township (9/12-digit) code: that unit with its cells; "
            "days from --date, --from/--to or --period/--year."
        ),
    ] = None,
    public: Annotated[
        bool, typer.Option("--public", help="Public edition: no names or phone numbers.")
    ] = False,
    offline: Annotated[
        bool | None,
        typer.Option(
            "--offline/--online",
            help="Bundle Leaflet into the page and open on no tiles (default: settings.map.offline).",
        ),
    ] = None,
    assets: Annotated[
        str | None,
        typer.Option(
            help="Where Leaflet comes from: inline, alongside or cdn (overrides --offline)."
        ),
    ] = None,
    base: Annotated[
        str | None, typer.Option(help="Base layer shown first: osm, tianditu, imagery, none.")
    ] = None,
    png: Annotated[
        bool, typer.Option("--png", help="Also write a PNG of the map (headless Chromium).")
    ] = False,
    out: Annotated[
        Path | None, typer.Option("--out", help="Output folder (default: settings.output_dir).")
    ] = None,
    output: Annotated[
        Path | None, typer.Option("-o", "--output", help="Output HTML file (overrides --out).")
    ] = None,
) -> None:
    """Write an interactive map (HTML), an iframe snippet and optionally a PNG.

    A daily map (--date), a ban-period map with a day slider (--period NAME --year Y, or
    --from/--to), or a grid map of one county or township (--grid CODE).
    """
    from firewatch.cli.core import _engine
    from firewatch.publish.maps.assets import AssetMode
    from firewatch.publish.maps.store import (
        daily_map_from_store,
        grid_map_from_store,
        period_map_from_store,
        period_window,
    )

    settings = state().settings
    edition: Literal["internal", "public"] = "public" if public else "internal"
    asset_mode: AssetMode | None = None
    if assets is not None:
        if assets not in get_args(AssetMode):
            fail(f"--assets must be inline, alongside or cdn, not {assets!r}", ExitCode.USAGE)
        asset_mode = cast(AssetMode, assets)
    if assets is not None and offline is None:
        offline = assets != "cdn"
    d, f, t = _date(day), _date(first), _date(last)
    if (f is None) != (t is None):
        fail("give both --from and --to", ExitCode.USAGE)
    if (period is None) != (year is None):
        fail("give --period together with --year", ExitCode.USAGE)
    if sum(x is not None for x in (d, f, period)) != 1:
        fail("give exactly one of --date, --from/--to, --period/--year", ExitCode.USAGE)
    try:
        if period is not None and year is not None:
            f, t = period_window(settings, period, year)
        engine = _engine()
        suffix = "_public" if public else ""
        if grid is not None:
            g_first, g_last = (d, d) if d is not None else (f, t)
            assert g_first is not None and g_last is not None
            fmap = grid_map_from_store(
                engine,
                settings,
                code=grid,
                first=g_first,
                last=g_last,
                edition=edition,
                offline=offline,
                base=base,
            )
            span = g_first.isoformat() if g_first == g_last else f"{g_first}_{g_last}"
            name = f"fire_map_grid_{grid}_{span}{suffix}.html"
        elif d is not None:
            fmap = daily_map_from_store(
                engine, settings, day=d, edition=edition, offline=offline, base=base
            )
            name = f"fire_map_{d.isoformat()}{suffix}.html"
        else:
            assert f is not None and t is not None
            fmap = period_map_from_store(
                engine,
                settings,
                name=period,
                first=f,
                last=t,
                edition=edition,
                offline=offline,
                base=base,
            )
            label = f"{period}_{year}" if period else f"{f}_{t}"
            name = f"fire_map_{label}{suffix}.html"
        path = output or (out or settings.output_dir) / name
        files = fmap.save(
            path,
            assets=asset_mode,
            png=png,
            png_size=(settings.map.png_width, settings.map.png_height),
            png_scale=settings.map.png_scale,
            chromium=settings.map.chromium_path,
        )
    except (GridError, ConfigError) as exc:
        fail(str(exc), ExitCode.USAGE)
    except FirewatchError as exc:  # MapRenderError included
        fail(str(exc), ExitCode.ERROR)
    console.print(
        f"{fmap.n_points} fire points, {edition} edition"
        + (", offline" if fmap.offline or assets in ("inline", "alongside") else "")
    )
    for label, p in files.as_outputs("map").items():
        console.print(f"{label}: {p}")
