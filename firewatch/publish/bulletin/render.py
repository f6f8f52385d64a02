"""Write a bulletin or report in several formats at once, and the daily stage's entry point."""

from __future__ import annotations

import datetime as dt
import logging
import os
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy import Engine

from firewatch.publish.bulletin.content import (
    Document,
    Edition,
    build_daily_bulletin,
    build_period_report,
)

if TYPE_CHECKING:
    from firewatch.config import Settings
    from firewatch.publish.bulletin.charts import MapRenderer

__all__ = [
    "FORMATS",
    "render_bytes",
    "write_daily_bulletins",
    "write_document",
    "write_period_reports",
]

log = logging.getLogger(__name__)

FORMATS: tuple[str, ...] = ("html", "docx", "xlsx", "pdf")


def _renderer(fmt: str) -> Callable[[Document], bytes]:
    if fmt == "html":
        from firewatch.publish.bulletin.html import render_html

        return lambda doc: render_html(doc).encode("utf-8")
    if fmt == "docx":
        from firewatch.publish.bulletin.docx import render_docx

        return render_docx
    if fmt == "xlsx":
        from firewatch.publish.bulletin.xlsx import render_xlsx

        return render_xlsx
    if fmt == "pdf":
        from firewatch.publish.bulletin.pdf import render_pdf

        return render_pdf
    raise ValueError(f"unknown format {fmt!r}; use {', '.join(FORMATS)}")


def render_bytes(doc: Document, fmt: str) -> bytes:
    """The document in format ``fmt`` (html, docx, xlsx or pdf)."""
    return _renderer(fmt)(doc)


def _atomic_write(path: Path, data: bytes) -> None:
    # A reader (a web server, a mail job) never sees half a file; a rerun replaces it whole.
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def write_document(
    doc: Document,
    out_dir: str | Path,
    *,
    formats: Sequence[str] = FORMATS,
    timings: dict[str, float] | None = None,
) -> dict[str, Path]:
    """Write ``doc`` as ``<out_dir>/<doc.file_stem>.<fmt>`` for each format.

    Parameters
    ----------
    timings
        When given, filled with the seconds each format took to render and write.

    Returns
    -------
    dict
        Format -> path written.
    """
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    written: dict[str, Path] = {}
    for fmt in formats:
        render = _renderer(fmt)
        t0 = time.perf_counter()
        path = out / f"{doc.file_stem}.{fmt}"
        _atomic_write(path, render(doc))
        if timings is not None:
            timings[fmt] = time.perf_counter() - t0
        written[fmt] = path
        log.info("wrote %s", path)
    return written


def write_daily_bulletins(
    engine: Engine,
    settings: Settings,
    *,
    day: dt.date,
    out_dir: str | Path,
    editions: Sequence[Edition] | None = None,
    formats: Sequence[str] | None = None,
    lang: str | None = None,
    map_renderer: MapRenderer | None = None,
) -> dict[str, Path]:
    """Write the day's bulletin in each edition and format (the bulletin stage of ``daily``).

    The map is drawn once and shared by the editions (it carries no personal data).

    Returns
    -------
    dict
        ``"bulletin_<edition>_<format>"`` -> path.
    """
    editions = list(editions or settings.bulletin.editions)  # type: ignore[arg-type]
    formats = list(formats or settings.bulletin.formats)
    outputs: dict[str, Path] = {}
    map_png: bytes | None = None
    for edition in editions:
        doc = build_daily_bulletin(
            engine,
            settings,
            day,
            edition=edition,
            lang=lang,
            map_png=map_png,
            map_renderer=map_renderer,
        )
        figs = [f for f in doc.figures if f.key == "map"]
        if figs:
            map_png = figs[0].png
        for fmt, path in write_document(doc, out_dir, formats=formats).items():
            outputs[f"bulletin_{edition}_{fmt}"] = path
    return outputs


def write_period_reports(
    engine: Engine,
    settings: Settings,
    *,
    first: dt.date,
    last: dt.date,
    name: str,
    out_dir: str | Path,
    editions: Sequence[Edition] = ("public",),
    formats: Sequence[str] = FORMATS,
    lang: str | None = None,
) -> dict[str, Path]:
    """Write a weekly or period report in each edition and format.

    Returns
    -------
    dict
        ``"report_<edition>_<format>"`` -> path.
    """
    outputs: dict[str, Path] = {}
    for edition in editions:
        doc = build_period_report(
            engine, settings, first, last, name=name, edition=edition, lang=lang
        )
        for fmt, path in write_document(doc, out_dir, formats=formats).items():
            outputs[f"report_{edition}_{fmt}"] = path
    return outputs
