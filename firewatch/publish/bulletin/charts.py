"""Static images for bulletins: the distribution map and the per-day chart (matplotlib, PNG).

Bulletins are printed and pasted into Word, so their pictures are static PNGs.  The map module
(:mod:`firewatch.publish.maps`) makes the styled map; :func:`render_map` here draws a plain one
(county outlines, city names, the day's points by treatment) that needs nothing but the
boundaries, and :func:`default_map_renderer` picks the map module's Chromium-rendered map when
``settings.map.daily_png`` asks for static maps.  Chinese labels need
a real CJK font: Debian's ``fonts-noto-cjk`` (installed by the Makefile).

Figures are built with :class:`matplotlib.figure.Figure` directly (no pyplot): no global state,
safe to call from a web worker.
"""

from __future__ import annotations

import datetime as dt
import functools
import io
import logging
import math
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from firewatch.errors import FirewatchError
from firewatch.publish.bulletin.i18n import tr

if TYPE_CHECKING:
    from sqlalchemy import Engine

    from firewatch.config import Settings

__all__ = [
    "CJK_SANS",
    "CJK_SERIF",
    "MapRenderer",
    "chromium_map",
    "default_map_renderer",
    "font_path",
    "render_daily_chart",
    "render_map",
]

log = logging.getLogger(__name__)

CJK_SANS = "Noto Sans CJK SC"
CJK_SERIF = "Noto Serif CJK SC"

#: ``(points, settings, day, lang) -> PNG bytes``; ``points`` carries ``treatment``.
MapRenderer = Callable[[pd.DataFrame, "Settings", dt.date, str], bytes]

_COLOURS = {"counted": "#d7191c", "flagged": "#fdae61", "excluded": "#7f7f7f"}


class FontMissingError(FirewatchError, RuntimeError):
    """The CJK font bulletins need is not installed."""


@functools.cache
def font_path(family: str = CJK_SANS) -> Path:
    """The file of ``family``, or :class:`FontMissingError` with the install hint."""
    from matplotlib import font_manager

    try:
        return Path(font_manager.findfont(family, fallback_to_default=False))
    except ValueError as exc:
        raise FontMissingError(
            f"font {family!r} is not installed; Chinese text needs it: "
            "apt-get install fonts-noto-cjk (the Makefile does this)"
        ) from exc


def _rc() -> Any:  # matplotlib types rcParams keys as Literals
    font_path(CJK_SANS)
    return {
        "font.family": "sans-serif",
        "font.sans-serif": [CJK_SANS, "DejaVu Sans"],
        "axes.unicode_minus": False,  # the CJK font lacks U+2212
        "font.size": 9,
    }


def _png(fig: Any, *, dpi: int) -> bytes:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=dpi, bbox_inches="tight", metadata={"Software": None})
    return buf.getvalue()


@functools.lru_cache(maxsize=4)
def _boundaries(path: str, datum: str, mtime: float) -> Any:
    """The boundaries in WGS-84 (cached per file version: bulletins are drawn in a loop)."""
    from firewatch.spatial.boundaries import load_boundaries

    return load_boundaries(path, datum=datum)


def render_map(
    points: pd.DataFrame,
    settings: Settings,
    day: dt.date,
    lang: str = "zh",
    *,
    dpi: int = 150,
) -> bytes:
    """A static map of the day's points over county and city outlines.

    Parameters
    ----------
    points
        The day's points with ``longitude``, ``latitude`` and ``treatment`` (counted, flagged,
        excluded); ``region == "neighbour"`` points are drawn smaller.
    settings
        ``boundaries_path`` and ``boundaries_datum`` give the outlines.
    day, lang
        For the legend.

    Returns
    -------
    bytes
        A PNG.

    Raises
    ------
    FontMissingError
        If the CJK font is not installed.
    OSError
        If the boundaries file cannot be read.
    """
    from matplotlib import rc_context
    from matplotlib.figure import Figure

    path = Path(settings.boundaries_path)
    b = _boundaries(str(path), settings.boundaries_datum, path.stat().st_mtime)
    counties, cities = b.county, b.city
    with rc_context(_rc()):
        fig = Figure(figsize=(7.0, 6.6))
        ax = fig.add_subplot()
        if len(b.neighbours):
            b.neighbours.boundary.plot(ax=ax, color="#d9d9d9", linewidth=0.5)
        counties.boundary.plot(ax=ax, color="#bdbdbd", linewidth=0.35)
        cities.boundary.plot(ax=ax, color="#737373", linewidth=0.7)
        ax.plot(*_outline(b.province), color="#252525", linewidth=1.2)
        w, s, e, n = cities.total_bounds
        ax.set_xlim(w - 0.2, e + 0.2)
        ax.set_ylim(s - 0.2, n + 0.2)
        ax.set_aspect(1 / math.cos(math.radians((s + n) / 2)))
        reps = cities.geometry.representative_point()
        for name, pt in zip(cities["name"], reps, strict=True):
            ax.annotate(str(name), (pt.x, pt.y), ha="center", va="center", fontsize=7, alpha=0.8)
        treat = points.get("treatment", pd.Series("counted", index=points.index))
        neighbour = points.get("region", pd.Series("province", index=points.index)) == "neighbour"
        for kind in ("counted", "flagged", "excluded"):
            sel = (treat == kind) & ~neighbour
            if not sel.any():
                continue
            ax.scatter(
                points.loc[sel, "longitude"],
                points.loc[sel, "latitude"],
                s=14,
                c=_COLOURS[kind],
                marker="o" if kind != "excluded" else "x",
                linewidths=0.6 if kind == "excluded" else 0.3,
                edgecolors="black" if kind != "excluded" else None,
                label=f"{_legend(kind, lang)} ({int(sel.sum())})",
                zorder=3,
            )
        if neighbour.any():
            ax.scatter(
                points.loc[neighbour, "longitude"],
                points.loc[neighbour, "latitude"],
                s=6,
                c="#2c7bb6",
                label=f"{_legend('neighbour', lang)} ({int(neighbour.sum())})",
                zorder=2,
            )
        ax.set_xlabel("°E")
        ax.set_ylabel("°N")
        ax.tick_params(labelsize=7)
        if len(points):
            ax.legend(loc="lower right", fontsize=7, framealpha=0.9)
        ax.set_title(f"{day.isoformat()} (WGS-84)", fontsize=8, loc="left")
        return _png(fig, dpi=dpi)


def _outline(geom: Any) -> tuple[list[float], list[float]]:
    """x and y of every exterior ring, NaN-separated (one line for a MultiPolygon)."""
    import shapely

    xs: list[float] = []
    ys: list[float] = []
    for poly in shapely.get_parts(geom):
        x, y = poly.exterior.xy
        xs += [*x, float("nan")]
        ys += [*y, float("nan")]
    return xs, ys


def _legend(kind: str, lang: str) -> str:
    labels = {
        "counted": ("疑似秸秆焚烧火点", "suspected straw fire"),
        "flagged": ("存疑火点", "doubtful point"),
        "excluded": ("剔除的误判火点", "excluded false positive"),
        "neighbour": ("省界外火点", "across the border"),
    }
    return labels[kind][0 if lang == "zh" else 1]


def chromium_map(
    engine: Engine, points: pd.DataFrame, settings: Settings, day: dt.date, lang: str = "zh"
) -> bytes:
    """The map module's daily map of ``day`` (public edition, no tiles) as a PNG via Chromium.

    ``points`` is not used: the map module reads the day from the store itself, so the picture
    is the same one ``firewatch map`` and the daily map stage show.

    Raises
    ------
    MapRenderError
        If Chromium cannot render the page.
    """
    import tempfile

    from firewatch.publish.maps import daily_map_from_store

    fmap = daily_map_from_store(
        engine, settings, day=day, edition="public", offline=True, base="none"
    )
    with tempfile.TemporaryDirectory() as tmp:
        files = fmap.save(
            Path(tmp) / "map.html",
            assets="inline",
            iframe=False,
            png=True,
            png_size=(settings.map.png_width, settings.map.png_height),
            png_scale=settings.map.png_scale,
            chromium=settings.map.chromium_path,
        )
        if files.png is None:  # save() always writes it when asked; keep mypy and readers sure
            raise FileNotFoundError("the map module wrote no PNG")
        return files.png.read_bytes()


def default_map_renderer(
    engine: Engine | None = None, settings: Settings | None = None
) -> MapRenderer:
    """The map for bulletins: the map module's (Chromium) when ``settings.map.daily_png`` asks
    for static maps, else :func:`render_map` (matplotlib, no browser needed)."""
    if engine is not None and settings is not None and settings.map.daily_png:
        return functools.partial(chromium_map, engine)
    return render_map


def render_daily_chart(
    days: Sequence[dt.date],
    counts: Sequence[int | None],
    kinds: Sequence[str],
    lang: str = "zh",
    *,
    dpi: int = 150,
) -> bytes:
    """Bars of fire points per day; days without data are marked, never drawn as zero.

    Parameters
    ----------
    days
        The days, in order.
    counts
        Counted points per day (``None`` for days without data).
    kinds
        :class:`~firewatch.publish.bulletin.coverage.DayStatus` kinds per day.
    """
    from matplotlib import rc_context
    from matplotlib.dates import AutoDateLocator, ConciseDateFormatter
    from matplotlib.figure import Figure

    x = pd.to_datetime(pd.Series(list(days)))
    y = np.array([np.nan if c is None else c for c in counts], dtype="float64")
    kinds_arr = np.asarray(kinds)
    with rc_context(_rc()):
        fig = Figure(figsize=(7.2, 3.0))
        ax = fig.add_subplot()
        ok = ~np.isnan(y)
        ax.bar(x[ok], y[ok], width=0.8, color="#d7191c", label=tr(lang, "col_points"))
        top = float(np.nanmax(y)) if ok.any() else 1.0
        for kind, marker, colour in (
            ("no_data", "x", "#525252"),
            ("not_ingested", "|", "#969696"),
        ):
            sel = kinds_arr == kind
            if sel.any():
                ax.scatter(
                    x[sel],
                    np.zeros(int(sel.sum())),
                    marker=marker,
                    color=colour,
                    s=30,
                    zorder=3,
                    clip_on=False,
                    label=tr(lang, f"day_{kind}"),
                )
        ax.set_ylim(0, max(top, 1.0) * 1.1)
        loc = AutoDateLocator()
        ax.xaxis.set_major_locator(loc)
        ax.xaxis.set_major_formatter(ConciseDateFormatter(loc))
        ax.set_ylabel(tr(lang, "col_points"))
        ax.grid(axis="y", linewidth=0.3)
        ax.legend(fontsize=7, loc="upper left")
        return _png(fig, dpi=dpi)
