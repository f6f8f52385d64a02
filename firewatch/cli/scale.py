"""``firewatch backfill``: multi-year archives on a dask cluster into GeoParquet and the store."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from firewatch.cli.app import ExitCode, app, fail, state

console = Console()


@app.command()
def backfill(
    files: Annotated[list[Path], typer.Argument(help="FIRMS archive files (CSV/TXT, zip, shp).")],
    dataset: Annotated[
        Path, typer.Option("--dataset", help="GeoParquet dataset folder to write.")
    ] = Path("out/backfill"),
    engine: Annotated[
        str, typer.Option("--engine", help="dask (a cluster) or local (this process).")
    ] = "dask",
    scheduler: Annotated[
        str | None,
        typer.Option("--scheduler", help="Address of a dask scheduler (tcp://host:8786)."),
    ] = None,
    workers: Annotated[int | None, typer.Option(help="LocalCluster worker processes.")] = None,
    blocksize_mb: Annotated[int, typer.Option("--blocksize-mb", help="MiB of CSV per task.")] = 64,
    no_store: Annotated[
        bool, typer.Option("--no-store", help="Write the GeoParquet only.")
    ] = False,
) -> None:
    """Ingest and attribute large archives in parallel; the store ends up as with `ingest`."""
    from firewatch.cli.core import _engine
    from firewatch.scale import backfill as run_backfill

    missing = [str(f) for f in files if not f.is_file()]
    if missing:
        fail(f"no such file: {', '.join(missing)}", ExitCode.USAGE)
    if engine not in ("dask", "local"):
        fail(f"--engine must be dask or local, not {engine!r}", ExitCode.USAGE)
    store = None if no_store else _engine(migrate=True)
    progress = None
    if state().show_progress:

        def progress(done: int, total: int) -> None:
            console.print(f"\r{done}/{total} blocks", end="")

    report = run_backfill(
        store,
        state().settings,
        files,
        dataset=dataset,
        engine_name=engine,
        scheduler=scheduler,
        workers=workers,
        blocksize=blocksize_mb * 2**20,
        progress=progress,
    )
    t = Table(title=f"backfill ({engine})")
    for c in (
        "files",
        "blocks",
        "read",
        "in region",
        "new in store",
        "duplicate",
        "outside",
        "quarantined",
    ):
        t.add_column(c, justify="right")
    t.add_row(
        *map(
            str,
            (
                report.files,
                report.blocks,
                report.rows_read,
                report.written,
                report.loaded,
                report.duplicates,
                report.outside,
                report.quarantined,
            ),
        )
    )
    console.print(t)
    console.print(f"GeoParquet dataset: {report.dataset}")
    if report.quarantined:
        console.print(
            "quarantined rows: `firewatch runs` lists the runs; `--quarantine RUN` shows them"
        )
        raise typer.Exit(int(ExitCode.PARTIAL))
