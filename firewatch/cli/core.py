"""Foundation commands: ingest, fetch, attribute, export, daily, runs, db."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import pandas as pd
import typer
from rich.console import Console
from rich.progress import track
from rich.table import Table

from firewatch.cli.app import ExitCode, app, fail, state
from firewatch.cli.app import open_store as _engine
from firewatch.cli.app import parse_date as _date
from firewatch.errors import FirewatchError, FirmsApiError, FirmsFormatError

if TYPE_CHECKING:
    from firewatch.pipeline import DaySummary
    from firewatch.store.repo import RunSummary

console = Console()
err_console = Console(stderr=True)

db_app = typer.Typer(help="Store administration.", no_args_is_help=True)
app.add_typer(db_app, name="db")


def _runs_table(runs: list[RunSummary]) -> Table:
    t = Table(title="ingestion runs")
    for col in ("origin", "status", "read", "new", "duplicate", "outside", "quarantined"):
        t.add_column(col, justify="left" if col in ("origin", "status") else "right")
    for r in runs:
        t.add_row(
            r.origin,
            r.status,
            str(r.rows_read),
            str(r.loaded),
            str(r.duplicates),
            str(r.outside),
            str(r.quarantined),
        )
    return t


def _report_quarantine(runs: list[RunSummary]) -> None:
    for r in runs:
        for q in r.quarantine[:20]:
            err_console.print(f"[yellow]quarantined[/] {q.origin}:{q.line}: {q.reason}")
        if len(r.quarantine) > 20:
            err_console.print(
                f"[yellow]… and {len(r.quarantine) - 20} more quarantined rows of {r.origin}; "
                f"see `firewatch runs --quarantine {r.run_id}`[/]"
            )


@db_app.command("upgrade")
def db_upgrade() -> None:
    """Create or migrate the store to the current schema (safe to re-run)."""
    engine = _engine(migrate=True)
    console.print(f"store ready: {engine.url.render_as_string()}")


@app.command()
def ingest(
    files: Annotated[list[Path], typer.Argument(help="FIRMS CSV/TXT files or shapefile zips.")],
    product: Annotated[
        str | None, typer.Option(help="Force the product (e.g. VIIRS_NOAA20_NRT).")
    ] = None,
) -> None:
    """Load FIRMS files: attribute to city/county, store, report quarantined rows.

    Exit 3 (partial) when rows were quarantined, 4 when a file was refused whole.
    """
    from firewatch.pipeline import ingest_file

    engine = _engine(migrate=True)
    runs, refused = [], []
    # A progress bar on a terminal when there is more than one file; quiet in CI and pipes.
    shown = len(files) > 1 and state().show_progress
    for f in track(files, description="ingesting", console=err_console, disable=not shown):
        if not f.is_file():
            refused.append(f"{f}: no such file")
            continue
        try:
            runs.append(ingest_file(engine, state().settings, f, product=product))
        except FirmsFormatError as exc:
            refused.append(str(exc))
    if runs:
        console.print(_runs_table(runs))
    _report_quarantine(runs)
    for msg in refused:
        err_console.print(f"[red]refused[/] {msg}")
    if refused:
        raise typer.Exit(int(ExitCode.REFUSED))
    if any(r.quarantined for r in runs):
        raise typer.Exit(int(ExitCode.PARTIAL))


@app.command()
def fetch(
    start: Annotated[str, typer.Option("--date", help="First UTC day (YYYY-MM-DD).")],
    days: Annotated[int, typer.Option(help="Number of days (split into API-sized chunks).")] = 1,
    product: Annotated[
        list[str] | None, typer.Option(help="FIRMS source(s); default from settings.")
    ] = None,
) -> None:
    """Fetch the region from the FIRMS area API (needs FIREWATCH_FIRMS_MAP_KEY) and store it."""
    from firewatch.pipeline import fetch as do_fetch

    engine = _engine(migrate=True)
    try:
        runs = do_fetch(engine, state().settings, start=_date(start), days=days, products=product)
    except FirmsApiError as exc:
        fail(str(exc), ExitCode.UPSTREAM)
    except FirewatchError as exc:
        fail(str(exc), ExitCode.USAGE)
    console.print(_runs_table(runs))
    _report_quarantine(runs)
    if any(r.quarantined for r in runs):
        raise typer.Exit(int(ExitCode.PARTIAL))


@app.command()
def attribute(
    infile: Annotated[Path, typer.Argument(help="CSV (or XLSX) table of points.")],
    output: Annotated[Path, typer.Option("-o", "--output", help="Output CSV (or .xlsx).")],
    lat_col: Annotated[str, typer.Option("--lat-col")] = "latitude",
    lon_col: Annotated[str, typer.Option("--lon-col")] = "longitude",
    datum: Annotated[
        str, typer.Option(help="Datum of the points: wgs84, gcj02 or bd09.")
    ] = "wgs84",
) -> None:
    """Add city_code, city_name, county_code, county_name (and region) to any table of points."""
    from firewatch.pipeline import attribute_table

    if not infile.is_file():
        fail(f"no such file: {infile}", ExitCode.USAGE)
    try:
        table = (
            pd.read_excel(infile, dtype=str)
            if infile.suffix.lower() in (".xlsx", ".xls")
            else pd.read_csv(infile, dtype=str, encoding="utf-8-sig")
        )
        out = attribute_table(
            table, state().settings, lat_col=lat_col, lon_col=lon_col, datum=datum
        )
    except (FirewatchError, ValueError, KeyError) as exc:
        fail(f"{infile}: {exc}", ExitCode.REFUSED)
    output.parent.mkdir(parents=True, exist_ok=True)
    if output.suffix.lower() == ".xlsx":
        out.to_excel(output, index=False)
    else:
        out.to_csv(output, index=False, encoding="utf-8-sig")
    placed = int(out["county_code"].notna().sum())
    console.print(f"{len(out)} points, {placed} placed in a county → {output}")


@app.command()
def export(
    first: Annotated[str, typer.Option("--from", help="First Beijing-time day (YYYY-MM-DD).")],
    last: Annotated[str, typer.Option("--to", help="Last Beijing-time day, inclusive.")],
    output: Annotated[
        Path, typer.Option("-o", "--output", help="OUT.csv, OUT.geojson or OUT.gpkg")
    ],
    neighbours: Annotated[
        bool, typer.Option(help="Include points attributed to neighbours.")
    ] = True,
) -> None:
    """Export stored detections with their attribution for QGIS and Excel."""
    from firewatch.publish.export import export_detections

    engine = _engine()
    region = ("province", "neighbour") if neighbours else ("province",)
    try:
        n = export_detections(engine, output, first=_date(first), last=_date(last), region=region)
    except ValueError as exc:
        fail(str(exc), ExitCode.USAGE)
    console.print(f"{n} detections → {output}")


@app.command()
def runs(
    limit: Annotated[int, typer.Option(help="How many runs.")] = 20,
    quarantine: Annotated[
        int | None, typer.Option("--quarantine", help="Show a run's quarantined rows.")
    ] = None,
) -> None:
    """List ingestion runs, or one run's quarantined rows."""
    from firewatch.store import repo

    engine = _engine()
    if quarantine is not None:
        q = repo.load_quarantine(engine, quarantine)
        t = Table(title=f"quarantined rows of run {quarantine}")
        for c in ("origin", "line", "reason"):
            t.add_column(c)
        for r in q.itertuples():
            t.add_row(r.origin, str(r.line), r.reason)
        console.print(t)
        return
    df = repo.load_runs(engine, limit=limit)
    t = Table(title="ingestion runs (newest first)")
    cols = (
        "id",
        "started_at",
        "kind",
        "origin",
        "status",
        "rows_read",
        "loaded",
        "duplicates",
        "outside",
        "quarantined",
    )
    for c in cols:
        t.add_column(c)
    for r in df.itertuples():
        t.add_row(*(str(getattr(r, c)) for c in cols))
    console.print(t)


def print_day_summary(summary: DaySummary) -> None:
    """Print counts per city and county for a day (used by `daily` and the demo)."""
    s = summary
    if s.total == 0:
        console.print(f"{s.day}: no fire points stored in the province for this Beijing-time day.")
    else:
        console.print(
            f"{s.day} (Beijing time): {s.total} fire points in the province; "
            f"passes: {', '.join(s.overpasses_bjt)}"
        )
    t = Table(title=f"fire points per city, {s.day}")
    t.add_column("city")
    t.add_column("code")
    t.add_column("points", justify="right")
    for r in s.per_city.itertuples():
        t.add_row(str(r.city_name), str(r.city_code), str(r.points))
    t.add_row("合计 total", "", str(s.total), style="bold")
    console.print(t)
    t = Table(title=f"fire points per county, {s.day}")
    for c in ("city", "county", "code"):
        t.add_column(c)
    t.add_column("points", justify="right")
    for r in s.per_county.itertuples():
        t.add_row(str(r.city_name), str(r.county_name), str(r.county_code), str(r.points))
    console.print(t)
    if len(s.neighbour):
        console.print(
            "points just across the border (cross-border joint prevention): "
            + ", ".join(f"{r.neighbour_name} {r.points}" for r in s.neighbour.itertuples())
        )


@app.command()
def daily(
    day: Annotated[str, typer.Option("--date", help="Beijing-time day (YYYY-MM-DD).")],
    files: Annotated[
        list[Path] | None,
        typer.Option("--file", "-f", help="Ingest these FIRMS files instead of calling the API."),
    ] = None,
    no_fetch: Annotated[
        bool, typer.Option("--no-fetch", help="Do not call the FIRMS API.")
    ] = False,
    out: Annotated[
        Path | None,
        typer.Option("--out", help="Folder for maps and bulletins (default: settings.output_dir)."),
    ] = None,
) -> None:
    """The main job: ingest or fetch the day, attribute to county and grid, classify, dispatch,
    write the day's maps and bulletins, and print the counts."""
    from firewatch.pipeline import daily as run_daily

    settings = state().settings
    engine = _engine(migrate=True)
    fetch_api = not no_fetch and not files
    if fetch_api and settings.firms_map_key is None:
        fail(
            "no FIRMS MAP_KEY: set FIREWATCH_FIRMS_MAP_KEY, or pass --file / --no-fetch",
            ExitCode.USAGE,
        )
    try:
        result = run_daily(
            engine,
            settings,
            day=_date(day),
            files=files or [],
            fetch_api=fetch_api,
            out_dir=out or settings.output_dir,
        )
    except FirmsApiError as exc:
        fail(str(exc), ExitCode.UPSTREAM)
    if result.runs:
        console.print(_runs_table(result.runs))
    _report_quarantine(result.runs)
    for msg in result.refused:
        err_console.print(f"[red]refused[/] {msg}")
    print_day_summary(result.summary)
    if result.grid is not None:  # issue 3: points per township, village and field chief
        from firewatch.cli.grids import print_grid_summary

        print_grid_summary(result.grid)
    if result.classify is not None:  # issue 4
        c = result.classify
        classes = ", ".join(f"{k} {v}" for k, v in sorted(c.per_class.items()))
        console.print(
            f"classified {c.classified} points with model {c.model_version}: {classes}; "
            f"{c.below_threshold} below the straw-probability threshold"
        )
    elif state().settings.classify.in_daily:
        err_console.print("[yellow]no classifier model: points are not classified[/]")
    if result.dispatch is not None:  # issue 7
        d = result.dispatch
        line = (
            f"dispatch: {len(d.assigned)} points assigned, {d.reminders} reminders, "
            f"{d.escalations} escalations"
        )
        if d.delivery is not None:
            line += (
                f"; notifications sent {d.delivery.messages_sent}, "
                f"failed {d.delivery.messages_failed}"
            )
        console.print(line)
        for msg in d.delivery.errors if d.delivery is not None else []:
            err_console.print(f"[yellow]notification failed[/] {msg}")
    for name, path in result.outputs.items():
        console.print(f"{name}: {path}")
    console.print(f"store: {engine.url.render_as_string()}")
    if result.refused:
        raise typer.Exit(int(ExitCode.REFUSED))
    if any(r.quarantined for r in result.runs):
        raise typer.Exit(int(ExitCode.PARTIAL))
