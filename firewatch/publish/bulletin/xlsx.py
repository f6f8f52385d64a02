"""Excel bulletins (openpyxl): a summary sheet, then one sheet per table, with typed cells.

Numbers are numbers (counts, FRP, probabilities, decimal degrees), times are Excel datetimes in
Beijing time (Excel has no time zones; the header says so), coordinates in degrees-minutes-
seconds are text.  Officials sort, filter and sum these sheets, so nothing numeric is stored as
text and nothing is merged.
"""

from __future__ import annotations

import datetime as dt
import io
import math
from pathlib import Path
from typing import Any

import pandas as pd

from firewatch.publish.bulletin.content import Column, Document, Table

__all__ = ["render_xlsx", "write_xlsx"]

_FORMATS = {
    "int": "0",
    "float": "0.0",
    "prob": "0.00",
    "deg": "0.00000",
    "time": "yyyy-mm-dd hh:mm",
    "datetime": "yyyy-mm-dd hh:mm",
    "date": "yyyy-mm-dd",
}


def _value(value: Any, kind: str) -> Any:
    """A cell value with its Excel type (``None`` for missing)."""
    if value is None or (not isinstance(value, str) and pd.isna(value)):
        return None
    if kind == "int":
        return int(value)
    if kind in ("float", "prob", "deg"):
        return float(value)
    if kind in ("time", "datetime"):
        # Beijing wall-clock time, naive: Excel stores no zone.
        return pd.Timestamp(value).tz_localize(None).to_pydatetime()
    if kind == "date":
        return value if isinstance(value, dt.date) else pd.Timestamp(value).date()
    return str(value)


def _width(text: str) -> float:
    # CJK characters take two columns of Excel's default width unit.
    return sum(2 if ord(ch) > 0x2E80 else 1 for ch in text)


def _sheet_table(wb: Any, table: Table, used: set[str]) -> None:
    from openpyxl.styles import Alignment, Font, PatternFill

    name = table.sheet
    k = 2
    while name in used:
        name = f"{table.sheet[:28]}({k})"
        k += 1
    used.add(name)
    ws = wb.create_sheet(name)
    cols: list[Column] = table.columns_for("xlsx")
    bold = Font(bold=True)
    fill = PatternFill("solid", fgColor="DDDDDD")
    ws.append([c.label for c in cols])
    for cell in ws[1]:
        cell.font = bold
        cell.fill = fill
        cell.alignment = Alignment(horizontal="center", vertical="center", wrap_text=True)
    data = [
        [_value(v, c.kind) for v in table.frame[c.key].tolist()]
        if c.key in table.frame
        else [None] * len(table.frame)
        for c in cols
    ]
    for row in zip(*data, strict=True):
        ws.append(list(row))
    if table.total is not None:
        # The total row's first cell is a label ("合计") even in a date or number column.
        total = [table.total.get(c.key) for c in cols]
        ws.append(
            [
                v if isinstance(v, str) else _value(v, c.kind)
                for v, c in zip(total, cols, strict=True)
            ]
        )
        for cell in ws[ws.max_row]:
            cell.font = bold
    for j, c in enumerate(cols, start=1):
        fmt = _FORMATS.get(c.kind)
        letter = ws.cell(row=1, column=j).column_letter
        if fmt is not None:
            for (cell,) in ws.iter_rows(min_row=2, min_col=j, max_col=j):
                cell.number_format = fmt
        longest = max(
            [_width(c.label)]
            + [_width(str(v)) for v in data[j - 1][:200] if v is not None]
            + ([16.0] if c.kind in ("time", "datetime") else [])
        )
        ws.column_dimensions[letter].width = min(max(6.0, longest + 2), 60.0)
    ws.freeze_panes = "A2"
    ws.auto_filter.ref = ws.dimensions if table.frame.shape[0] else None


def render_xlsx(doc: Document) -> bytes:
    """The document as an ``.xlsx`` file's bytes."""
    try:
        from openpyxl import Workbook
        from openpyxl.styles import Alignment, Font
    except ImportError as exc:  # pragma: no cover - a core dependency
        raise ImportError("Excel bulletins need openpyxl: pip install openpyxl") from exc
    wb = Workbook()
    ws = wb.active
    assert ws is not None  # a new workbook always has one sheet
    ws.title = "概况" if doc.lang == "zh" else "Summary"
    lines: list[tuple[str, Font | None]] = [
        (doc.title, Font(bold=True, size=14, color="C00000")),
        (doc.subtitle, Font(bold=True)),
        (doc.issuer_line, None),
        (doc.edition_label, Font(bold=True, color="C00000") if doc.edition == "internal" else None),
        ("", None),
    ]
    if doc.status_message:
        lines.append((doc.status_message, Font(bold=True, color="C00000")))
    lines += [(t, None) for t in doc.lead]
    lines += [(t, Font(italic=True)) for t in doc.notes]
    lines += [("", None)]
    lines += [(t.caption, None) for t in doc.tables]
    lines += [("", None), (doc.footer, Font(size=9))]
    for text, font in lines:
        ws.append([text])
        if font is not None:
            ws.cell(row=ws.max_row, column=1).font = font
        ws.cell(row=ws.max_row, column=1).alignment = Alignment(wrap_text=True, vertical="top")
    ws.column_dimensions["A"].width = 110
    for r in range(1, ws.max_row + 1):
        value = ws.cell(row=r, column=1).value
        if isinstance(value, str) and _width(value) > 110:
            ws.row_dimensions[r].height = 15 * math.ceil(_width(value) / 110)
    wb.properties.title = f"{doc.title} {doc.subtitle}"
    wb.properties.creator = "firewatch"
    used = {ws.title}
    for table in doc.tables:
        _sheet_table(wb, table, used)
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


def write_xlsx(doc: Document, path: str | Path) -> Path:
    """Write the ``.xlsx``; returns its path."""
    path = Path(path)
    path.write_bytes(render_xlsx(doc))
    return path
