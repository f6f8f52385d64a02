"""``firewatch season``: the seasonal analysis of one burning season from the store."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import pandas as pd
import typer
from rich.console import Console
from rich.table import Table

from firewatch.cli.app import ExitCode, app, fail, state
from firewatch.errors import ConfigError, FirewatchError, StoreError

if TYPE_CHECKING:
    from firewatch.config import Settings
    from firewatch.publish.season.cubes import Season

console = Console()
err_console = Console(stderr=True)
log = logging.getLogger(__name__)


def _county_list(settings: Settings) -> pd.DataFrame | None:
    """Every county of the configured boundaries, so counties without fires appear as zeros."""
    try:
        from firewatch.spatial.boundaries import boundaries_from_settings

        b = boundaries_from_settings(settings)
    except (FirewatchError, ImportError, OSError) as exc:
        log.warning("county list not available (%s): only counties with detections", exc)
        return None
    county = pd.DataFrame(b.county.drop(columns="geometry"))
    city = pd.DataFrame(b.city.drop(columns="geometry")).set_index("code")["name"]
    return pd.DataFrame(
        {
            "county_code": county["code"].astype(str),
            "county_name": county["name"],
            "city_code": county["parent_code"].astype(str),
            "city_name": county["parent_code"].astype(str).map(city),
        }
    ).sort_values("county_code")


def _load(engine: Any, season: Season, *, with_classes: bool = False) -> pd.DataFrame:
    from firewatch.publish.season.cubes import season_detections

    return season_detections(engine, season, with_classes=with_classes)


@app.command("season")
def season_cmd(
    year: Annotated[int, typer.Option("--year", help="Year of the season (e.g. 2022).")],
    season: Annotated[
        str, typer.Option("--season", help="Ban period name from the settings (autumn, spring).")
    ] = "autumn",
    out: Annotated[
        Path | None,
        typer.Option("--out", help="Output folder (default: <output_dir>/season/<year>_<season>)."),
    ] = None,
    crops: Annotated[
        Path | None,
        typer.Option("--crops", help="Crop statistics CSV (sown area, yield per crop and county)."),
    ] = None,
    reported: Annotated[
        Path | None,
        typer.Option("--reported", help="Reported straw utilization rates CSV (per county)."),
    ] = None,
    compare_year: Annotated[
        int | None,
        typer.Option("--compare-year", help="Compare with this year's same season (default Y-1)."),
    ] = None,
    compare_season: Annotated[
        str | None,
        typer.Option("--compare-season", help="Also compare with another season of year Y."),
    ] = None,
    resolution: Annotated[
        float | None, typer.Option("--resolution", help="Grid cube cell size, degrees.")
    ] = None,
    straw_only: Annotated[
        bool,
        typer.Option("--straw-only", help="Count burned straw only for points classed as straw."),
    ] = False,
    confirm_top: Annotated[
        int,
        typer.Option("--confirm-top", help="Check the N largest events for Sentinel-2 burn scars."),
    ] = 0,
) -> None:
    """Seasonal analysis: cubes (NetCDF), fire events, burned straw, utilization, comparison."""
    from firewatch.publish.season.compare import (
        compare_seasons,
        plot_daily,
        season_totals,
        write_comparison,
    )
    from firewatch.publish.season.cubes import build_cubes, county_cube, save_cube, season_window
    from firewatch.store import connect, ensure_current

    settings = state().settings
    if resolution is not None:
        settings = settings.model_copy(
            update={
                "season": settings.season.model_copy(update={"grid_resolution_deg": resolution})
            }
        )
    try:
        window = season_window(settings, year=year, season=season)
    except ConfigError as exc:
        fail(str(exc), ExitCode.USAGE)
    engine = connect(settings.database_url)
    try:
        ensure_current(engine)
    except StoreError as exc:
        fail(str(exc), ExitCode.ERROR)

    out_dir = out or Path(settings.output_dir) / "season" / f"{year}_{season}"
    out_dir.mkdir(parents=True, exist_ok=True)
    stem = f"{year}_{season}"
    outputs: dict[str, Path] = {}
    exit_code = ExitCode.OK

    counties = _county_list(settings)
    frame = _load(engine, window, with_classes=straw_only)
    cubes = build_cubes(frame, window, settings, counties=counties, straw_only=straw_only)
    outputs["county cube"] = save_cube(cubes.county, out_dir / f"{stem}_county.nc")
    outputs["grid cube"] = save_cube(cubes.grid, out_dir / f"{stem}_grid.nc")
    totals = season_totals(cubes.county)
    totals_path = out_dir / f"{stem}_counties.csv"
    totals.to_csv(totals_path, encoding="utf-8-sig", float_format="%.6g")
    outputs["county totals"] = totals_path
    events_path = out_dir / f"{stem}_events.csv"
    cubes.events.to_csv(events_path, encoding="utf-8-sig", float_format="%.6g")
    outputs["events"] = events_path

    series = [cubes.county]
    notes: list[str] = []
    if frame.empty:
        notes.append(f"no detections stored for {window.label}: ingest its FIRMS files first")
    if straw_only and len(frame):
        unclassified = int(frame["fp_class"].isna().sum())
        if unclassified:
            notes.append(
                f"--straw-only: {unclassified} of {len(frame)} detections were never classified"
                " and are not counted as burned straw (run the classifier first)"
            )
    others: list[tuple[str, Season]] = []
    try:
        others.append(
            ("year", season_window(settings, year=compare_year or year - 1, season=season))
        )
    except ConfigError as exc:
        notes.append(f"no year-on-year comparison: {exc}")
    if compare_season:
        try:
            others.append(("season", season_window(settings, year=year, season=compare_season)))
        except ConfigError as exc:
            fail(str(exc), ExitCode.USAGE)
    for kind, other in others:
        other_frame = _load(engine, other)
        if other_frame.empty:
            notes.append(f"no detections stored for {other.label}: no {kind} comparison")
            continue
        cube_o = county_cube(other_frame, other, settings=settings.season, counties=counties)
        cmp = compare_seasons(cube_o, cubes.county)
        written = write_comparison(cmp, out_dir, stem=f"{stem}_vs_{other.year}_{other.name}")
        outputs[f"comparison with {other.label}"] = written["table"]
        outputs[f"comparison chart ({other.label})"] = written["chart"]
        notes.extend(f"{other.label}: {n}" for n in cmp.notes)
        series.append(cube_o)
    outputs["daily chart"] = plot_daily(series, out_dir / f"{stem}_daily.png")

    if crops is not None:
        exit_code = _utilization(cubes.county, crops, reported, year, settings, out_dir, outputs)

    if confirm_top > 0:
        _confirm(cubes.events, confirm_top, settings, out_dir / f"{stem}_burn_scars.csv", outputs)

    _print_summary(cubes, totals, notes, outputs)
    if exit_code != ExitCode.OK:
        raise typer.Exit(int(exit_code))


def _utilization(
    cube: Any,
    crops: Path,
    reported: Path | None,
    year: int,
    settings: Settings,
    out_dir: Path,
    outputs: dict[str, Path],
) -> ExitCode:
    from firewatch.publish.season.utilization import (
        CropStatsError,
        burned_by_county,
        read_crop_statistics,
        read_reported_rates,
        straw_resources,
        utilization_report,
    )

    try:
        crop_read = read_crop_statistics(crops, settings=settings.season)
        rep_read = read_reported_rates(reported) if reported is not None else None
    except CropStatsError as exc:
        fail(f"refused: {exc}", ExitCode.REFUSED)
    quarantined = crop_read.quarantined + (rep_read.quarantined if rep_read else [])
    for q in quarantined:
        err_console.print(f"[yellow]quarantined[/] {q.origin}:{q.line}: {q.reason}")
    report = utilization_report(
        straw_resources(crop_read.frame, settings.season),
        burned_by_county(cube),
        rep_read.frame if rep_read else None,
        year=year,
        settings=settings.season,
    )
    path = out_dir / f"{year}_utilization.csv"
    report.to_csv(path, encoding="utf-8-sig", float_format="%.6g")
    outputs["utilization report"] = path
    return ExitCode.PARTIAL if quarantined else ExitCode.OK


def _confirm(
    events: pd.DataFrame, top: int, settings: Settings, path: Path, outputs: dict[str, Path]
) -> None:
    from firewatch.publish.season.sentinel import SentinelError, confirm_events

    try:
        scars = confirm_events(events, settings.season.sentinel, top=top)
    except ConfigError as exc:
        fail(str(exc), ExitCode.USAGE)
    except SentinelError as exc:
        fail(str(exc), ExitCode.UPSTREAM)
    scars.to_csv(path, encoding="utf-8-sig", float_format="%.6g")
    outputs["burn scars"] = path


def _print_summary(
    cubes: Any, totals: pd.DataFrame, notes: list[str], outputs: dict[str, Path]
) -> None:
    ds = cubes.county
    days = int((ds["n_overpasses"] > 0).sum())
    dm = float(ds["dry_matter"].sum())
    lo, hi = float(ds["dry_matter_low"].sum()), float(ds["dry_matter_high"].sum())
    console.print(
        f"{cubes.season.label} ({cubes.season.first} – {cubes.season.last}): "
        f"{int(ds['fire_count'].sum())} detections in counties on {days} days with data, "
        f"{len(cubes.events)} fire events; dry matter burned ≈ {dm:,.0f} t ({lo:,.0f}–{hi:,.0f})"
    )
    top = totals[totals["fire_count"] > 0].nlargest(10, "fire_count")
    if len(top):
        t = Table(title="counties with the most detections")
        for c in ("city", "county", "code", "detections", "dry matter t (range)"):
            t.add_column(c, justify="right" if c in ("detections",) else "left")
        for code, r in top.iterrows():
            t.add_row(
                str(r["city_name"]),
                str(r["county_name"]),
                str(code),
                str(int(r["fire_count"])),
                f"{r['dry_matter']:,.0f} ({r['dry_matter_low']:,.0f}–{r['dry_matter_high']:,.0f})",
            )
        console.print(t)
    for n in notes:
        console.print(f"note: {n}")
    for name, p in outputs.items():
        console.print(f"{name}: {p}")
