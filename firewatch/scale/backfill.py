"""Backfill of large FIRMS archives: split, read and attribute in parallel, write GeoParquet, load.

A multi-year national archive does not fit the one-file-in-memory path of ``firewatch ingest``.
The backfill splits each CSV into byte blocks at line ends (a first pass counts lines, so every
row keeps its true physical line number for quarantine messages), reads and attributes the blocks
on a ``dask.distributed`` cluster — a :class:`~distributed.LocalCluster` by default, any scheduler
by address — and writes one GeoParquet part per block into a partitioned dataset
(``year=YYYY/part-….parquet``) that ``dask_geopandas.read_parquet`` and QGIS read.  The parts are
then loaded into the store by the calling process, one transaction per part, through the same
idempotent upsert as ``firewatch ingest``: the store ends up row for row the same as with the
single-process path, and a crash or a re-run is safe.

Memory is bounded by the block size times the number of workers (plus the index), not by the
archive's size.  The ``local`` engine runs the same block tasks in this process, one at a time.
"""

from __future__ import annotations

import functools
import logging
import os
import re
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import pandas as pd
from sqlalchemy import Engine

from firewatch.config import Settings
from firewatch.store import repo

__all__ = ["BackfillReport", "Block", "BlockResult", "backfill", "plan_blocks", "run_block"]

log = logging.getLogger(__name__)

#: Default block size: ~64 MiB of CSV is ~600,000 FIRMS rows, ~0.5 GB in pandas at peak.
DEFAULT_BLOCKSIZE = 64 * 2**20
_SCAN = 16 * 2**20


@dataclass(frozen=True)
class Block:
    """A byte range of a FIRMS text file that starts and ends at line ends."""

    path: str
    index: int  # block number within the file
    file_index: int  # file number within the backfill
    start: int  # byte offset of the block's first data line
    end: int  # byte offset just past its last line
    first_line: int  # 1-based physical line number of its first line
    header: bytes  # the file's header line (with its line end)
    whole: bool = False  # not splittable (zip, shapefile, mixed headers): read the whole file
    count: int = 1  # blocks in the file


@dataclass
class BlockResult:
    """What one block task produced."""

    block: Block
    part: str | None  # GeoParquet part written (None when nothing was in the region)
    rows_read: int
    written: int
    outside: int
    duplicates: int
    sha256: str
    quarantine: list[repo.Quarantine] = field(default_factory=list)


@dataclass
class BackfillReport:
    """The outcome of a backfill."""

    files: int
    blocks: int
    rows_read: int
    written: int  # rows written to GeoParquet (in the region)
    loaded: int  # new detections in the store
    duplicates: int
    outside: int
    quarantined: int
    dataset: Path
    runs: list[repo.RunSummary] = field(default_factory=list)


def _is_text_firms(head: bytes) -> bool:
    return not head.startswith(b"PK\x03\x04") and b"\x00" not in head[:4096]


def _header_like(line: bytes) -> bool:
    low = line.strip().lower().lstrip(b'"",').lstrip(b",")
    return low.startswith((b"latitude", b'"latitude'))


def plan_blocks(
    path: str | Path, *, file_index: int = 0, blocksize: int = DEFAULT_BLOCKSIZE
) -> list[Block]:
    """Split a FIRMS file into line-aligned blocks, counting lines so each knows its first line.

    Zip files, shapefiles and files with a second header part-way (the reader resolves those
    across the whole file) are one ``whole`` block.
    """
    p = Path(path)
    size = p.stat().st_size
    with p.open("rb") as f:
        head = f.read(min(size, 65536))
        if p.suffix.lower() in (".zip", ".shp") or not _is_text_firms(head):
            return [Block(str(p), 0, file_index, 0, size, 1, b"", whole=True)]
        nl = head.find(b"\n")
        header = head[: nl + 1] if nl >= 0 else head
        blocks: list[Block] = []
        block_start = len(header)
        block_line = 2
        f.seek(block_start)
        base = block_start  # file offset of window[0]
        window = b""
        while True:
            buf = f.read(_SCAN)
            if not buf:
                break
            window += buf
            if re.search(rb"\n(\"\",|,)?\"?latitude\"?,", window):
                # A second header part-way: the reader resolves it across the whole file.
                return [Block(str(p), 0, file_index, 0, size, 1, b"", whole=True)]
            # Cut at the first line end at or after each block-size mark inside the window.
            while True:
                mark = block_start + blocksize - base
                if mark >= len(window):
                    break
                nl = window.find(b"\n", max(mark - 1, 0))
                if nl < 0:
                    break
                cut = nl + 1
                blocks.append(
                    Block(
                        str(p), len(blocks), file_index, block_start, base + cut, block_line, header
                    )
                )
                block_line += window[block_start - base : cut].count(b"\n")
                block_start = base + cut
            # Keep only the unfinished part of the window.
            keep_from = block_start - base
            window = window[keep_from:]
            base = block_start
        if size > block_start:  # the rest, including a last line without a line end
            blocks.append(
                Block(str(p), len(blocks), file_index, block_start, size, block_line, header)
            )
    return [replace(b, count=len(blocks)) for b in blocks]


@functools.lru_cache(maxsize=2)
def _load_index(path: str) -> Any:
    from firewatch.spatial.attribute import CountyIndex

    return CountyIndex.load(path)


def run_block(
    block: Block, settings: Settings, dataset: str, index_path: str | None = None
) -> BlockResult:
    """Read, attribute and write one block as a GeoParquet part (runs on a worker).

    ``index_path`` is a county index saved by the client (loading it takes a tenth of the time
    of building it from the boundaries on every worker).
    """
    import hashlib

    from firewatch.pipeline import attribute_frame, region_bbox
    from firewatch.sources.firms import as_geodataframe, read_firms, read_firms_bytes

    name = Path(block.path).name
    if block.whole:
        read = read_firms(block.path, bbox=region_bbox(settings))
        shift = 0
    else:
        with open(block.path, "rb") as f:
            f.seek(block.start)
            body = f.read(block.end - block.start)
        read = read_firms_bytes(block.header + body, origin=name, bbox=region_bbox(settings))
        # The reader numbers the body from line 2; put every row back at its physical line.
        shift = block.first_line - 2
        read.frame["origin_line"] += shift
        read.sha256 = hashlib.sha256(body).hexdigest()
    index = _load_index(index_path) if index_path else None
    frame, outside = attribute_frame(read.frame, settings, index=index)
    quarantine = [
        repo.Quarantine(origin=q.origin, line=q.line + shift, reason=q.reason, raw=q.raw)
        for q in read.quarantined
    ]
    part = None
    if len(frame):
        years = frame["acq_time_utc"].dt.year.unique()
        # One part per block; the folder names the year of its first row, the usual layout of
        # a time-partitioned dataset (blocks of an archive rarely straddle a new year).
        folder = Path(dataset) / f"year={int(min(years))}"
        folder.mkdir(parents=True, exist_ok=True)
        part_path = folder / f"part-{block.file_index:05d}-{block.index:05d}.parquet"
        gdf = as_geodataframe(frame.drop(columns=["acq_time_bjt"]).reset_index(drop=True))
        gdf.to_parquet(part_path, index=False)
        part = str(part_path)
    return BlockResult(
        block=block,
        part=part,
        rows_read=read.rows_read,
        written=len(frame),
        outside=outside + read.rows_outside_bbox,
        duplicates=read.duplicates,
        sha256=read.sha256,
        quarantine=quarantine,
    )


def _load_part(engine: Engine, result: BlockResult) -> repo.RunSummary:
    from firewatch.schema import BEIJING_TZ, empty_frame

    if result.part is not None:
        frame = pd.read_parquet(result.part).drop(columns=["geometry"])
        frame["acq_time_bjt"] = frame["acq_time_utc"].dt.tz_convert(BEIJING_TZ)
    else:
        frame = empty_frame()
    b = result.block
    name = Path(b.path).name
    origin = (
        name
        if b.count == 1
        else f"{name} [block {b.index + 1}/{b.count}, from line {b.first_line}]"
    )
    return repo.store_run(
        engine,
        frame,
        kind="backfill",
        origin=origin,
        input_sha256=result.sha256,
        product=",".join(sorted(frame["product"].dropna().unique())) if len(frame) else None,
        rows_read=result.rows_read,
        quarantine=result.quarantine,
        outside=result.outside,
    )


def _saved_index(settings: Settings, dataset: Path) -> Path:
    """The county index saved beside the dataset for the workers; reused while still current."""
    from firewatch.spatial.attribute import CountyIndex, county_index

    path = dataset / f"_county_index_{settings.boundaries_datum}.npz"
    source = Path(settings.boundaries_path)
    stale = not path.exists() or path.stat().st_mtime_ns < source.stat().st_mtime_ns
    if stale or not CountyIndex.can_load(path):
        county_index(source, datum=settings.boundaries_datum).save(path)
    return path


def _results_local(
    blocks: Sequence[Block], settings: Settings, dataset: str
) -> Iterator[BlockResult]:
    for b in blocks:
        yield run_block(b, settings, dataset)


def _results_dask(
    blocks: Sequence[Block],
    settings: Settings,
    dataset: str,
    *,
    scheduler: str | None,
    workers: int,
) -> Iterator[BlockResult]:
    from concurrent.futures import ThreadPoolExecutor

    try:
        from distributed import Client, LocalCluster, as_completed
    except ModuleNotFoundError as exc:  # pragma: no cover - depends on the installation
        raise ModuleNotFoundError(
            "the dask engine needs dask.distributed: pip install 'firewatch[scale]'"
        ) from exc
    # Build (or reuse) the county index while the cluster starts: both take seconds.
    with ThreadPoolExecutor(1) as pool:
        index_job = pool.submit(_saved_index, settings, Path(dataset))
        cluster = None
        if scheduler is None:
            cluster = LocalCluster(
                n_workers=workers, threads_per_worker=1, processes=True, dashboard_address=":0"
            )
            client = Client(cluster)
        else:
            client = Client(scheduler)
        index_path = str(index_job.result())
    try:
        # At most two blocks in flight per worker keeps memory bounded however large the input.
        limit = 2 * max(len(client.scheduler_info()["workers"]), 1)
        pending = iter(blocks)
        futures = as_completed()
        for b in pending:
            futures.add(client.submit(run_block, b, settings, dataset, index_path, pure=False))
            if futures.count() >= limit:
                break
        for fut in futures:
            result = fut.result()
            fut.release()
            nxt = next(pending, None)
            if nxt is not None:
                futures.add(
                    client.submit(run_block, nxt, settings, dataset, index_path, pure=False)
                )
            yield result
    finally:
        client.close()
        if cluster is not None:
            cluster.close()


def backfill(
    engine: Engine | None,
    settings: Settings,
    files: Sequence[str | Path],
    *,
    dataset: str | Path,
    engine_name: str = "dask",
    scheduler: str | None = None,
    workers: int | None = None,
    blocksize: int = DEFAULT_BLOCKSIZE,
    progress: Callable[[int, int], None] | None = None,
) -> BackfillReport:
    """Ingest and attribute FIRMS archives into a GeoParquet dataset and (optionally) the store.

    Parameters
    ----------
    engine
        The store to load; ``None`` writes only the GeoParquet dataset.
    files
        FIRMS CSV/TXT files (or zips and shapefiles, read whole).
    dataset
        Folder of the GeoParquet dataset (created; parts are overwritten by a re-run).
    engine_name
        ``"dask"`` (a LocalCluster, or ``scheduler``) or ``"local"`` (this process).
    scheduler
        Address of a running dask scheduler, e.g. ``tcp://10.0.0.5:8786``.
    workers
        LocalCluster worker processes (default: the CPU count).
    blocksize
        Largest number of bytes of CSV per task; on a LocalCluster smaller inputs are cut finer
        so that every worker gets at least four blocks.
    progress
        Called with (blocks done, blocks total).
    """
    dataset = Path(dataset)
    dataset.mkdir(parents=True, exist_ok=True)
    n_workers = workers or os.cpu_count() or 1
    if engine_name == "dask" and scheduler is None:
        # Enough blocks to keep every worker busy to the end: at least four per worker, but never
        # more than ``blocksize`` each (memory) nor less than 4 MiB (per-task overhead).
        total = sum(Path(f).stat().st_size for f in files)
        blocksize = min(blocksize, max(-(-total // (4 * n_workers)), 4 * 2**20))
    blocks = [
        b for i, f in enumerate(files) for b in plan_blocks(f, file_index=i, blocksize=blocksize)
    ]
    if engine_name == "local":
        results = _results_local(blocks, settings, str(dataset))
    elif engine_name == "dask":
        results = _results_dask(
            blocks,
            settings,
            str(dataset),
            scheduler=scheduler,
            workers=n_workers,
        )
    else:
        raise ValueError(f"engine must be 'dask' or 'local', not {engine_name!r}")
    report = BackfillReport(
        files=len(files),
        blocks=len(blocks),
        rows_read=0,
        written=0,
        loaded=0,
        duplicates=0,
        outside=0,
        quarantined=0,
        dataset=dataset,
    )
    for done, result in enumerate(results, start=1):
        report.rows_read += result.rows_read
        report.written += result.written
        report.outside += result.outside
        report.quarantined += len(result.quarantine)
        if engine is not None:
            summary = _load_part(engine, result)
            report.loaded += summary.loaded
            report.duplicates += summary.duplicates
            report.runs.append(summary)
        else:
            report.duplicates += result.duplicates
        if progress is not None:
            progress(done, len(blocks))
    return report


def read_dataset(dataset: str | Path) -> Any:
    """The backfill's GeoParquet dataset as a ``dask_geopandas`` GeoDataFrame (lazy)."""
    import dask_geopandas

    return dask_geopandas.read_parquet(str(Path(dataset) / "year=*" / "*.parquet"))
