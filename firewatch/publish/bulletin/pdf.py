"""PDF bulletins: the print layout of the HTML, typeset by WeasyPrint with a real CJK font.

Chinese text is set in Noto Serif/Sans CJK SC (Debian ``fonts-noto-cjk``, installed by the
Makefile); without the font WeasyPrint would silently draw empty boxes, so its absence is an
error here.
"""

from __future__ import annotations

import logging
from pathlib import Path

from firewatch.publish.bulletin.charts import CJK_SANS, CJK_SERIF, font_path
from firewatch.publish.bulletin.content import Document
from firewatch.publish.bulletin.html import render_html

__all__ = ["render_pdf", "write_pdf"]

log = logging.getLogger(__name__)


def render_pdf(doc: Document) -> bytes:
    """The document as PDF bytes.

    Raises
    ------
    FontMissingError
        If the Noto CJK fonts are not installed.
    ImportError
        If WeasyPrint is not installed.
    """
    for family in (CJK_SERIF, CJK_SANS):
        font_path(family)
    try:
        import weasyprint
    except ImportError as exc:  # pragma: no cover - part of the publish extra
        raise ImportError(
            "PDF bulletins need WeasyPrint: pip install 'firewatch[publish]'"
        ) from exc
    html = weasyprint.HTML(string=render_html(doc, print_=True), base_url=".")
    pdf = html.write_pdf()
    if pdf is None:  # only when a target is given
        raise RuntimeError("WeasyPrint returned no PDF")
    return bytes(pdf)


def write_pdf(doc: Document, path: str | Path) -> Path:
    """Write the PDF; returns its path."""
    path = Path(path)
    path.write_bytes(render_pdf(doc))
    return path
