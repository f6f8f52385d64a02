"""Self-contained HTML bulletins (Jinja2): one file, styles and images inlined.

The same template makes the PDF (:mod:`firewatch.publish.bulletin.pdf`) with ``print=True``:
A4 pages, page numbers, wide tables on landscape pages, Chinese in Noto CJK.
"""

from __future__ import annotations

import base64
import functools
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

from firewatch.publish.bulletin.content import Column, DailyBulletin, Document, Table, cell_text

__all__ = ["render_html", "write_html"]

#: Tables with more columns than this go on landscape pages in print.
_WIDE = 8
_NUMERIC = {"int", "float", "prob", "deg"}


@functools.cache
def _env() -> Any:
    try:
        import jinja2
    except ImportError as exc:  # pragma: no cover - part of the publish extra
        raise ImportError("bulletins need jinja2: pip install 'firewatch[publish]'") from exc
    return jinja2.Environment(
        loader=jinja2.PackageLoader("firewatch.publish.bulletin", "templates"),
        autoescape=jinja2.select_autoescape(["html", "j2"], default=True),
        trim_blocks=True,
        lstrip_blocks=True,
        undefined=jinja2.StrictUndefined,
    )


@functools.cache
def _css() -> str:
    return (
        resources.files("firewatch.publish.bulletin")
        .joinpath("templates", "bulletin.css")
        .read_text("utf-8")
    )


@dataclass
class _TableView:
    key: str
    caption: str
    columns: list[Column]
    rows: list[list[tuple[str, str]]]
    total: list[tuple[str, str]] | None


def _cls(col: Column) -> str:
    if col.kind in _NUMERIC:
        return "num"
    return "dms" if col.kind == "dms" else ""


def table_view(table: Table, fmt: str) -> _TableView:
    """A table's cells as printed text with their CSS class (shared with the Word renderer)."""
    cols = table.columns_for(fmt)
    classes = [_cls(c) for c in cols]
    data = [
        [cell_text(v, c.kind) for v in table.frame[c.key].tolist()]
        if c.key in table.frame
        else [""] * len(table.frame)
        for c in cols
    ]
    rows = [list(zip(cells, classes, strict=True)) for cells in zip(*data, strict=True)]
    total = None
    if table.total is not None:
        total = [
            (cell_text(table.total.get(c.key), c.kind) if c.key in table.total else "", k)
            for c, k in zip(cols, classes, strict=True)
        ]
    return _TableView(table.key, table.caption, cols, rows, total)


def _status_kind(doc: Document) -> str:
    if isinstance(doc, DailyBulletin) and doc.status is not None:
        return doc.status.kind
    return "no_data"


def render_html(doc: Document, *, print_: bool = False) -> str:
    """The document as one HTML page (``print_`` selects the print layout used for PDF)."""
    fmt = "pdf" if print_ else "html"
    sections = []
    for sec in doc.sections:
        table = table_view(sec.table, fmt) if sec.table is not None else None
        figure = None
        if sec.figure is not None:
            figure = {
                "key": sec.figure.key,
                "caption": sec.figure.caption,
                "b64": base64.b64encode(sec.figure.png).decode("ascii"),
            }
        sections.append(
            {
                "key": sec.key,
                "heading": sec.heading,
                "paragraphs": sec.paragraphs,
                "figure": figure,
                "table": table,
                "wide": table is not None and len(table.columns) > _WIDE,
            }
        )
    return str(
        _env()
        .get_template("document.html.j2")
        .render(doc=doc, sections=sections, css=_css(), print=print_, status_kind=_status_kind(doc))
    )


def write_html(doc: Document, path: str | Path) -> Path:
    """Write the self-contained HTML file; returns its path."""
    path = Path(path)
    path.write_text(render_html(doc), encoding="utf-8")
    return path
