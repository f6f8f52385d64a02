"""Grid commands: ``firewatch grids check|info|attribute`` and ``firewatch chiefs import|list``."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console
from rich.table import Table

from firewatch.cli.app import ExitCode, app, fail, state
from firewatch.cli.app import open_store as _engine
from firewatch.cli.app import parse_date as _date
from firewatch.errors import GridError, RegistryImportError

if TYPE_CHECKING:
    from firewatch.spatial.grid import Grid, GridDaySummary

__all__ = ["print_grid_summary"]

console = Console()
err_console = Console(stderr=True)

grids_app = typer.Typer(
    help="Burning-ban grids (四级禁烧网格): check, info, attribute.", no_args_is_help=True
)
chiefs_app = typer.Typer(
    help="Field-chief registry (田长名册): import and list.", no_args_is_help=True
)
app.add_typer(grids_app, name="grids")
app.add_typer(chiefs_app, name="chiefs")

GridOpt = Annotated[
    Path | None,
    typer.Option("--grid", help="Grid file (default: settings.grids_path)."),
]
DatumOpt = Annotated[
    str | None,
    typer.Option("--datum", help="Datum of the grid file if it declares none: wgs84, gcj02, bd09."),
]


def _grid(path: Path | None, datum: str | None) -> Grid:
    from firewatch.spatial.grid import grid_from_settings, load_grid

    settings = state().settings
    try:
        if path is not None or datum is not None:
            return load_grid(path or settings.grids_path, datum=datum)
        grid = grid_from_settings(settings)
    except GridError as exc:
        fail(f"grid refused: {exc}", ExitCode.REFUSED)
    if grid is None:
        fail(
            f"no grid file at {settings.grids_path}: set FIREWATCH_GRIDS_PATH or pass --grid",
            ExitCode.USAGE,
        )
    return grid


def _store_exists() -> bool:
    from sqlalchemy.engine import make_url

    url = make_url(state().settings.database_url)
    if url.get_backend_name() != "sqlite":
        return True
    return bool(url.database) and Path(str(url.database)).expanduser().is_file()


@grids_app.command("check")
def grids_check(
    grid: GridOpt = None,
    datum: DatumOpt = None,
    on: Annotated[
        str | None, typer.Option("--on", help="Day field chiefs must be on duty (default today).")
    ] = None,
    registry: Annotated[
        Path | None,
        typer.Option("--registry", help="Check chiefs against this registry file, not the store."),
    ] = None,
    no_chiefs: Annotated[
        bool, typer.Option("--no-chiefs", help="Do not check villages' field chiefs.")
    ] = False,
    tolerance_m: Annotated[
        float | None,
        typer.Option("--tolerance-m", help="Default: settings.grid.check_tolerance_m."),
    ] = None,
) -> None:
    """Report what is wrong with a grid; exit 6 when a blocking problem exists.

    Invalid geometries (repaired where safe, and said so), children outside their parent, gaps
    and overlaps inside a level (location and area), codes that do not match their parent,
    villages with no field chief on duty.
    """
    import pandas as pd

    from firewatch.spatial.grid_check import check_grid

    settings = state().settings
    g = _grid(grid, datum)
    duties = None
    if not no_chiefs:
        if registry is not None:
            from firewatch.spatial.registry import parse_registry

            try:
                rows = parse_registry(registry, g)
            except RegistryImportError as exc:
                _print_registry_problems(exc)
                raise typer.Exit(int(ExitCode.REFUSED)) from None
            duties = pd.DataFrame([r.__dict__ for r in rows])
        elif _store_exists():
            from firewatch.spatial.registry import load_duties

            duties = load_duties(_engine(migrate=True))
    report = check_grid(
        g,
        duties=duties,
        on=_date(on),
        tolerance_m=settings.grid.check_tolerance_m if tolerance_m is None else tolerance_m,
        check_chiefs=not no_chiefs,
    )
    console.print(report.to_text(), markup=False, highlight=False)
    if not report.ok:
        raise typer.Exit(int(ExitCode.BLOCKING))


@grids_app.command("info")
def grids_info(grid: GridOpt = None, datum: DatumOpt = None) -> None:
    """Show a grid's layers, metadata and whether its geometry is synthetic."""
    g = _grid(grid, datum)
    console.print(f"grid {g.name!r}: {g.path}", markup=False)
    console.print(f"datum {g.datum}; sha256 {g.sha256[:16]}…", markup=False)
    if g.synthetic:
        console.print(
            "SYNTHETIC: this grid's geometry is invented (示意数据); it is not an official grid.",
            style="bold yellow",
            markup=False,
        )
    t = Table(title="cells")
    t.add_column("level")
    t.add_column("cells", justify="right")
    t.add_column("synthetic", justify="right")
    for level, lay in g.layers.items():
        t.add_row(level, str(len(lay)), str(int(lay["synthetic"].sum())))
    console.print(t)
    if g.metadata:
        m = Table(title="metadata")
        m.add_column("key")
        m.add_column("value")
        for k, v in g.metadata.items():
            m.add_row(k, v)
        console.print(m)
    if g.repairs:
        console.print(
            f"{len(g.repairs)} invalid geometries repaired on loading; see `firewatch grids check`"
        )


@grids_app.command("attribute")
def grids_attribute(
    first: Annotated[str, typer.Option("--from", help="First Beijing-time day (YYYY-MM-DD).")],
    last: Annotated[
        str | None, typer.Option("--to", help="Last Beijing-time day (default: --from).")
    ] = None,
) -> None:
    """(Re)attribute stored detections of a period to the configured grid (idempotent)."""
    from firewatch.spatial.grid import attribute_stored

    d1 = _date(first)
    d2 = _date(last) or d1
    assert d1 is not None and d2 is not None
    if d2 < d1:
        fail(f"--to {d2} is before --from {d1}", ExitCode.USAGE)
    _grid(None, None)
    engine = _engine(migrate=True)
    run = attribute_stored(engine, state().settings, first=d1, last=d2)
    assert run is not None
    console.print(
        f"grid {run.grid_name}: {run.attributed} detections attributed to a village cell, "
        f"{run.outside} near the grid but outside it"
        + (f"; flags: {', '.join(f'{k} {v}' for k, v in run.flags.items())}" if run.flags else ""),
        markup=False,
    )


def _print_registry_problems(exc: RegistryImportError) -> None:
    err_console.print(
        f"registry {exc.origin or ''} refused: {len(exc.problems)} problem(s), nothing written",
        style="red",
        markup=False,
    )
    for line, msg in exc.problems:
        where = f"line {line}" if line else "file"
        err_console.print(
            f"  {exc.origin}:{line}: {msg}" if line else f"  {where}: {msg}",
            markup=False,
            highlight=False,
        )


@chiefs_app.command("import")
def chiefs_import(
    file: Annotated[Path, typer.Argument(help="Registry CSV or XLSX (see grids/README.md).")],
    replace: Annotated[
        bool, typer.Option("--replace", help="The file is the whole registry (drop other rows).")
    ] = False,
    grid: GridOpt = None,
) -> None:
    """Import a field-chief registry: all rows or none (exit 4 with every bad line listed)."""
    from firewatch.spatial.grid import refresh_people
    from firewatch.spatial.registry import import_registry

    if not file.is_file():
        fail(f"no such file: {file}", ExitCode.USAGE)
    g = _grid(grid, None)
    engine = _engine(migrate=True)
    try:
        res = import_registry(engine, file, g, replace=replace)
    except RegistryImportError as exc:
        _print_registry_problems(exc)
        raise typer.Exit(int(ExitCode.REFUSED)) from None
    refreshed = refresh_people(engine)
    t = Table(title=f"registry {res.origin} ({res.mode})")
    for c in ("rows", "added", "updated", "unchanged", "removed"):
        t.add_column(c, justify="right")
    t.add_row(*(str(getattr(res, c)) for c in ("rows", "added", "updated", "unchanged", "removed")))
    console.print(t)
    if refreshed:
        console.print(f"people on duty re-resolved for {refreshed} stored attributions")


@chiefs_app.command("list")
def chiefs_list(
    code: Annotated[
        str | None, typer.Option("--code", help="Only cells under this code (prefix, any level).")
    ] = None,
    on: Annotated[str | None, typer.Option("--on", help="Only people on duty that day.")] = None,
) -> None:
    """List the stored registry (internal: names and phones)."""
    import pandas as pd

    from firewatch.spatial.grid import LEVEL_DIGITS, code_level, normalise_code
    from firewatch.spatial.registry import ROLE_NAMES_ZH, load_duties

    d = load_duties(_engine(migrate=False))
    if code:
        c = normalise_code(code)
        if c is None:
            fail(f"not a division code: {code!r}", ExitCode.USAGE)
        prefix = c[: LEVEL_DIGITS[code_level(c)]]
        d = d[d["grid_code"].str.startswith(prefix)]
    day = _date(on)
    if day is not None:
        start = pd.to_datetime(d["on_duty_from"])
        end = pd.to_datetime(d["on_duty_to"]).fillna(pd.Timestamp.max)
        d = d[(start <= pd.Timestamp(day)) & (pd.Timestamp(day) <= end)]
    t = Table(title=f"field-chief registry ({len(d)} rows)")
    for c in ("code", "level", "role", "name", "phone", "from", "to"):
        t.add_column(c)
    for r in d.sort_values(["grid_code", "role", "on_duty_from"]).itertuples():
        t.add_row(
            r.grid_code,
            r.level,
            ROLE_NAMES_ZH.get(r.role, r.role),
            r.name,
            r.phone,
            str(r.on_duty_from),
            str(r.on_duty_to or "—"),
        )
    console.print(t)


def print_grid_summary(s: GridDaySummary, *, limit: int = 30) -> None:
    """Print points per township, village and field chief (``firewatch daily``)."""
    head = f"grid {s.grid_name}: {s.total} fire points in village cells on {s.day}"
    console.print(head, markup=False)
    if s.synthetic:
        console.print(
            "注意: 乡镇、村网格边界为合成示意数据 — the township and village cells of this "
            "grid are SYNTHETIC (demo), not official boundaries.",
            style="yellow",
            markup=False,
        )
    if s.total == 0:
        return
    t = Table(title=f"fire points per township, {s.day}")
    for c in ("county", "township", "code"):
        t.add_column(c)
    t.add_column("points", justify="right")
    for r in s.per_township.head(limit).itertuples():
        t.add_row(str(r.county_name), str(r.township_name), str(r.township_code), str(r.points))
    console.print(t)
    t = Table(title=f"fire points per village, {s.day}")
    for c in ("township", "village", "code", "field chief 田长"):
        t.add_column(c)
    t.add_column("points", justify="right")
    for r in s.per_village.head(limit).itertuples():
        t.add_row(
            str(r.township_name),
            str(r.village_name),
            str(r.village_code),
            str(r.field_chief),
            str(r.points),
        )
    console.print(t)
    t = Table(title=f"fire points per field chief, {s.day}")
    for c in ("field chief 田长", "phone"):
        t.add_column(c)
    t.add_column("villages", justify="right")
    t.add_column("points", justify="right")
    for r in s.per_chief.head(limit).itertuples():
        t.add_row(str(r.field_chief), str(r.field_chief_phone), str(r.villages), str(r.points))
    console.print(t)
    console.print(f"fire points with their cell and chiefs, {s.day} (Beijing time):")
    for r in s.points.head(limit).itertuples():
        chief = f"田长 {r.field_chief} {r.field_chief_phone}" if r.field_chief else "田长 —"
        member = f"网格员 {r.grid_member}" if r.grid_member else "网格员 —"
        flags = f"  [{r.grid_flags}]" if r.grid_flags else ""
        console.print(
            f"  {r.acq_time_bjt:%H:%M}  {r.latitude:.4f}N {r.longitude:.4f}E  "
            f"{r.grid_county} {r.township_name} {r.village_name}  {chief}  {member}{flags}",
            markup=False,
            highlight=False,
        )
    if len(s.points) > limit:
        console.print(f"… {len(s.points) - limit} more points (firewatch export)")
    if s.flags:
        console.print("flags: " + ", ".join(f"{k} {v}" for k, v in sorted(s.flags.items())))
