"""A 500-point day to a bulletin in all four formats, beside ingesting and attributing that day.

In one run, on one real day (NOAA-20 VIIRS over Heilongjiang, 2022-11-06: the saved FIRMS file
holds 1,866 detections in the region box, 663 of them in the province that Beijing-time day):

- ``read``: ``read_firms`` of the day's file (canonical records);
- ``attribute``: county attribution of the file's rows (``pipeline.attribute_frame``);
- ``store``: writing the run (``repo.store_run``) with ``--n`` of the day's province points
  (a fixed random subset when the day has more) and the run's coverage;
- ``build``: the bulletin's content from the store (points, treatment, statuses, tables) and
  its static map (matplotlib, county outlines);
- ``html``, ``docx``, ``xlsx``, ``pdf``: rendering and writing each format;
- ``daily stage``: what ``firewatch daily`` does for bulletins (both editions, four formats,
  one map) — the same work twice, plus the second edition's build.

Ratios are against ``ingest + attribute`` (read + attribute + store) of the same day, measured
in the same run.  The county index is warmed before timing, and the first bulletin of the
process (boundaries, fonts, templates loaded) is timed on its own row, outside the total.  Each step is timed ``--repeat`` times and the best time kept (the machine is
shared).  The internal edition (with the most columns) is timed; the points carry no grid or
class columns unless those areas have data for them.

Usage: ``python bench/bench_bulletin.py [--n 500] [--repeat 1] [--edition internal|public]``.
"""

from __future__ import annotations

import argparse
import datetime as dt
import tempfile
from pathlib import Path

from _common import best  # bench/ is on the path when a script runs

from firewatch.config import Settings
from firewatch.pipeline import attribute_frame, region_bbox
from firewatch.publish.bulletin.content import build_daily_bulletin
from firewatch.publish.bulletin.coverage import record_coverage
from firewatch.publish.bulletin.render import FORMATS, render_bytes, write_daily_bulletins
from firewatch.sources.firms import read_firms
from firewatch.store import connect, repo, upgrade

ROOT = Path(__file__).resolve().parent.parent
FILE = (
    ROOT
    / "tests"
    / "data"
    / "firms"
    / "viirs_noaa20_hlj_autumn2022"
    / "J1_VIIRS_C2_Russia_Asia_24h_saved_2022-11-06.csv"
)
DAY = dt.date(2022, 11, 6)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=500, help="province points on the day (default 500)")
    ap.add_argument("--repeat", type=int, default=1)
    ap.add_argument("--edition", choices=("internal", "public"), default="internal")
    ap.add_argument("--file", type=Path, default=FILE)
    ap.add_argument("--day", type=dt.date.fromisoformat, default=DAY)
    args = ap.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        settings = Settings(database_url=f"sqlite:///{tmp}/bench.db", output_dir=Path(tmp))
        engine = connect(settings.database_url)
        upgrade(engine)
        bbox = region_bbox(settings)
        attribute_frame(read_firms(args.file, bbox=bbox).frame.head(10), settings)  # warm index

        t_read, read = best(lambda: read_firms(args.file, bbox=bbox), args.repeat)
        t_attr, (frame, outside) = best(lambda: attribute_frame(read.frame, settings), args.repeat)
        on_day = (frame["region"] == "province") & (frame["acq_time_bjt"].dt.date == args.day)
        available = int(on_day.sum())
        if available > args.n:
            drop = frame[on_day].sample(available - args.n, random_state=0).index
            frame = frame.drop(index=drop)
        points = int(
            ((frame["region"] == "province") & (frame["acq_time_bjt"].dt.date == args.day)).sum()
        )

        def store() -> None:
            run = repo.store_run(
                engine,
                frame,
                kind="file",
                origin=read.origin,
                input_sha256=read.sha256,
                product=None,
                rows_read=read.rows_read,
                outside=outside,
            )
            record_coverage(engine, run.run_id, read.frame, origin=read.origin)

        t_store, _ = best(store, 1)  # a second store would only find duplicates
        # The first bulletin of a process also loads the boundaries, fonts and templates.
        t_cold, _ = best(
            lambda: build_daily_bulletin(engine, settings, args.day, edition="public"), 1
        )
        t_build, doc = best(
            lambda: build_daily_bulletin(
                engine, settings, args.day, edition=args.edition, lang="zh"
            ),
            args.repeat,
        )
        assert doc.total == points, (doc.total, points)
        t_fmt: dict[str, float] = {}
        sizes: dict[str, int] = {}
        for fmt in FORMATS:
            t_fmt[fmt], data = best(lambda f=fmt: render_bytes(doc, f), args.repeat)
            sizes[fmt] = len(data)
        out = Path(tmp) / "daily"
        t_daily, written = best(
            lambda: write_daily_bulletins(engine, settings, day=args.day, out_dir=out),
            args.repeat,
        )
        engine.dispose()

    ingest = t_read + t_attr + t_store
    rows = [
        ("read (read_firms)", t_read, f"{read.rows_read:,} rows read, {len(read.frame):,} in box"),
        ("attribute (county)", t_attr, f"{len(read.frame):,} points"),
        ("store (+ coverage)", t_store, f"{len(frame):,} detections"),
        ("= ingest + attribute", ingest, "baseline"),
        ("first build in a process", t_cold, "loads boundaries, fonts (not in the total)"),
        ("bulletin build + map", t_build, f"{points} points in the province on {args.day}"),
    ]
    rows += [(f"  {fmt}", t_fmt[fmt], f"{sizes[fmt] / 1024:,.0f} KiB") for fmt in FORMATS]
    total = t_build + sum(t_fmt.values())
    rows.append(("= bulletin, 4 formats", total, f"{args.edition} edition"))
    rows.append(("daily stage (2 eds x 4)", t_daily, f"{len(written)} files"))

    print(f"\nbulletin of {points} points ({args.file.name}, {args.day}), best of {args.repeat}\n")
    print(f"{'step':<26}{'seconds':>10}{'x ingest+attr':>15}  note")
    print("-" * 80)
    for name, t, note in rows:
        print(f"{name:<26}{t:>10.2f}{t / ingest:>15.2f}  {note}")


if __name__ == "__main__":
    main()
