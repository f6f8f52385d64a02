"""Word bulletins (python-docx): real tables, the map as a picture, A4, Chinese fonts.

Officials edit bulletins in Word before they go out, so everything is native Word: headings,
tables with a repeating header row (wide ones on landscape pages), captions and a page-number
field in the footer.  Chinese runs use SimSun/SimHei (宋体/黑体), the fonts every Chinese Word
installation has; Latin runs use Times New Roman.
"""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

from firewatch.publish.bulletin.content import Document
from firewatch.publish.bulletin.html import table_view

__all__ = ["render_docx", "write_docx"]

_SONG = "宋体"
_HEI = "黑体"
_LATIN = "Times New Roman"
_RED = (0xC0, 0x00, 0x00)
_WIDE = 8


def _docx() -> Any:
    try:
        import docx
    except ImportError as exc:  # pragma: no cover - part of the publish extra
        raise ImportError(
            "Word bulletins need python-docx: pip install 'firewatch[publish]'"
        ) from exc
    return docx


def _fonts(
    target: Any, *, east_asia: str, size: float | None = None, bold: bool | None = None
) -> None:
    """Set Latin and East-Asian fonts of a style or run (Word keeps them apart)."""
    from docx.oxml.ns import qn
    from docx.shared import Pt

    font = target.font
    font.name = _LATIN
    if size is not None:
        font.size = Pt(size)
    if bold is not None:
        font.bold = bold
    rpr = target.element.get_or_add_rPr()
    rfonts = rpr.find(qn("w:rFonts"))
    if rfonts is None:
        rfonts = rpr.makeelement(qn("w:rFonts"), {})
        rpr.append(rfonts)
    rfonts.set(qn("w:eastAsia"), east_asia)


def _styles(document: Any) -> None:
    from docx.enum.style import WD_STYLE_TYPE
    from docx.shared import Pt, RGBColor

    styles = document.styles
    _fonts(styles["Normal"], east_asia=_SONG, size=11)
    styles["Normal"].paragraph_format.space_after = Pt(3)
    for name, size in (("Title", 20), ("Heading 1", 14)):
        st = styles[name]
        _fonts(st, east_asia=_HEI, size=size, bold=True)
        st.font.color.rgb = RGBColor(*_RED) if name == "Title" else RGBColor(0, 0, 0)
    cell = styles.add_style("FW Cell", WD_STYLE_TYPE.PARAGRAPH)
    cell.base_style = styles["Normal"]
    _fonts(cell, east_asia=_SONG, size=8.5)
    cell.paragraph_format.space_after = Pt(0)
    cell.paragraph_format.space_before = Pt(0)
    head = styles.add_style("FW Head", WD_STYLE_TYPE.PARAGRAPH)
    head.base_style = cell
    _fonts(head, east_asia=_HEI, size=8.5, bold=True)
    cap = styles.add_style("FW Caption", WD_STYLE_TYPE.PARAGRAPH)
    cap.base_style = styles["Normal"]
    _fonts(cap, east_asia=_HEI, size=10, bold=True)


def _rule(paragraph: Any) -> None:
    """A red line under a paragraph (the masthead rule of official documents)."""
    from docx.oxml.ns import qn

    ppr = paragraph._p.get_or_add_pPr()
    border = ppr.makeelement(qn("w:pBdr"), {})
    bottom = border.makeelement(
        qn("w:bottom"),
        {qn("w:val"): "single", qn("w:sz"): "18", qn("w:space"): "1", qn("w:color"): "C00000"},
    )
    border.append(bottom)
    ppr.append(border)


def _page_number(section: Any) -> None:
    from docx.enum.text import WD_ALIGN_PARAGRAPH
    from docx.oxml.ns import qn

    p = section.footer.paragraphs[0]
    p.alignment = WD_ALIGN_PARAGRAPH.CENTER
    run = p.add_run()
    for tag, attrs in (
        ("w:fldChar", {qn("w:fldCharType"): "begin"}),
        ("w:instrText", {qn("xml:space"): "preserve"}),
        ("w:fldChar", {qn("w:fldCharType"): "end"}),
    ):
        el = run._r.makeelement(qn(tag), attrs)
        if tag == "w:instrText":
            el.text = " PAGE "
        run._r.append(el)


def _orient(document: Any, *, landscape: bool) -> None:
    from docx.enum.section import WD_ORIENT, WD_SECTION
    from docx.shared import Mm

    sec = document.add_section(WD_SECTION.NEW_PAGE)
    sec.orientation = WD_ORIENT.LANDSCAPE if landscape else WD_ORIENT.PORTRAIT
    long, short = Mm(297), Mm(210)
    sec.page_width, sec.page_height = (long, short) if landscape else (short, long)


def _table(document: Any, view: Any) -> None:
    from docx.enum.table import WD_TABLE_ALIGNMENT
    from docx.enum.text import WD_ALIGN_PARAGRAPH
    from docx.oxml.ns import qn

    cap = document.add_paragraph(view.caption, style="FW Caption")
    cap.alignment = WD_ALIGN_PARAGRAPH.CENTER
    cap.paragraph_format.keep_with_next = True
    n_rows = 1 + len(view.rows) + (1 if view.total else 0)
    table = document.add_table(rows=n_rows, cols=len(view.columns))
    table.style = "Table Grid"
    table.alignment = WD_TABLE_ALIGNMENT.CENTER
    # Repeat the header row on every page.
    tr_pr = table.rows[0]._tr.get_or_add_trPr()
    tr_pr.append(tr_pr.makeelement(qn("w:tblHeader"), {qn("w:val"): "true"}))
    cells = table._cells  # flat, row-major: far faster than table.cell(r, c) on long tables
    width = len(view.columns)
    body = [*view.rows, *([view.total] if view.total else [])]
    # Style ids resolved once: assigning styles by name costs a scan of all styles per cell.
    head_id = document.styles["FW Head"].style_id
    cell_id = document.styles["FW Cell"].style_id
    for j, col in enumerate(view.columns):
        p = cells[j].paragraphs[0]
        p._p.get_or_add_pPr().style = head_id
        p.add_run(col.label)
        p.alignment = WD_ALIGN_PARAGRAPH.CENTER
    for i, row in enumerate(body, start=1):
        bold = view.total is not None and i == len(body)
        for j, (text, cls) in enumerate(row):
            p = cells[i * width + j].paragraphs[0]
            p._p.get_or_add_pPr().style = cell_id
            run = p.add_run(text)
            if bold:
                run.bold = True
            if cls == "num":
                p.alignment = WD_ALIGN_PARAGRAPH.RIGHT


def render_docx(doc: Document) -> bytes:
    """The document as a ``.docx`` file's bytes."""
    docx = _docx()
    from docx.enum.text import WD_ALIGN_PARAGRAPH
    from docx.shared import Cm, Mm, Pt, RGBColor

    document = docx.Document()
    core = document.core_properties
    core.title = f"{doc.title} {doc.subtitle}"
    core.author = doc.issuer_line
    core.comments = doc.edition_label
    _styles(document)
    sec = document.sections[0]
    sec.page_width, sec.page_height = Mm(210), Mm(297)
    for side in ("left_margin", "right_margin"):
        setattr(sec, side, Mm(20))
    _page_number(sec)

    title = document.add_paragraph(doc.title, style="Title")
    title.alignment = WD_ALIGN_PARAGRAPH.CENTER
    sub = document.add_paragraph()
    sub.alignment = WD_ALIGN_PARAGRAPH.CENTER
    _fonts(sub.add_run(doc.subtitle), east_asia=_HEI, size=13)
    meta = document.add_paragraph()
    meta.add_run(doc.issuer_line)
    meta.add_run("\t")
    ed = meta.add_run(doc.edition_label)
    if doc.edition == "internal":
        ed.bold = True
        ed.font.color.rgb = RGBColor(*_RED)
    _rule(meta)

    if doc.status_message:
        p = document.add_paragraph()
        run = p.add_run(doc.status_message)
        _fonts(run, east_asia=_HEI, size=12, bold=True)
        run.font.color.rgb = RGBColor(*_RED)
    for text in doc.lead:
        p = document.add_paragraph(text)
        p.paragraph_format.first_line_indent = Pt(22)
    for text in doc.notes:
        p = document.add_paragraph()
        run = p.add_run(text)
        run.font.size = Pt(9.5)
    landscape = False
    for section in doc.sections:
        wide = section.table is not None and len(section.table.columns_for("docx")) > _WIDE
        if wide != landscape:
            _orient(document, landscape=wide)
            landscape = wide
        h = document.add_paragraph(section.heading, style="Heading 1")
        h.paragraph_format.keep_with_next = True
        for text in section.paragraphs:
            document.add_paragraph(text)
        if section.figure is not None:
            document.add_picture(io.BytesIO(section.figure.png), width=Cm(15))
            document.paragraphs[-1].alignment = WD_ALIGN_PARAGRAPH.CENTER
            cap = document.add_paragraph(section.figure.caption, style="FW Caption")
            cap.alignment = WD_ALIGN_PARAGRAPH.CENTER
        if section.table is not None:
            _table(document, table_view(section.table, "docx"))
    if landscape:
        _orient(document, landscape=False)
    foot = document.add_paragraph()
    run = foot.add_run(doc.footer)
    run.font.size = Pt(8.5)
    buf = io.BytesIO()
    document.save(buf)
    return buf.getvalue()


def write_docx(doc: Document, path: str | Path) -> Path:
    """Write the ``.docx``; returns its path."""
    path = Path(path)
    path.write_bytes(render_docx(doc))
    return path
