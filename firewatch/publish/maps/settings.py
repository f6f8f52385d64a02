"""Settings of interactive maps (nested in :class:`firewatch.config.Settings` as ``map``).

Environment variables use the nested delimiter, e.g. ``FIREWATCH_MAP__OFFLINE=true`` or
``FIREWATCH_MAP__BASE=tianditu``.  The Tianditu key itself is ``Settings.tianditu_key``.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field, model_validator

__all__ = ["MapSettings", "TileSource"]

BASES = ("osm", "tianditu", "imagery", "none")
Edition = Literal["internal", "public"]


def _editions() -> list[Edition]:
    return ["internal", "public"]


class TileSource(BaseModel):
    """An extra XYZ tile service, e.g. an intranet mirror of Tianditu.

    Its tiles must be web-mercator tiles in WGS-84/CGCS2000: a GCJ-02 base map (AMap/Gaode,
    Tencent) would sit several hundred metres away from every fire point.
    """

    name: str
    url: str
    attribution: str
    subdomains: str = "abc"
    max_zoom: int = 18
    #: An annotation layer drawn over ``url`` (Tianditu's ``cva``/``cia`` style), if any.
    overlay_url: str | None = None


class MapSettings(BaseModel):
    """What ``firewatch map`` and the map stage of ``firewatch daily`` write."""

    #: Base layer shown when a map opens online (osm, tianditu, imagery, none, or the name of
    #: one of ``extra_tiles``); the others stay in the layer switcher.
    #: Offline maps open on ``none`` (no tiles) so that they make no network request at all.
    base: str = "osm"
    #: Bundle Leaflet and plugins into the HTML (for intranets that block CDNs).
    offline: bool = False
    #: Extra tile services listed in the layer switcher (intranet mirrors).
    extra_tiles: list[TileSource] = Field(default_factory=list)
    #: Screen-grid clustering starts when a map holds more points than this (below it every
    #: point is drawn on its own, which is what a daily distribution map needs) ...
    cluster_above: int = Field(default=5000, ge=0)
    #: ... and then only at zoom levels up to this one, and only for cells of ``cluster_cell_px``
    #: pixels holding at least ``cluster_min_points`` points.
    cluster_max_zoom: int = Field(default=9, ge=0, le=20)
    cluster_cell_px: int = Field(default=48, ge=8, le=256)
    cluster_min_points: int = Field(default=25, ge=2)
    #: Offer a heat layer (off when the map opens).
    heat: bool = True
    #: Simplify boundaries to this many metres before drawing (0: as stored; the bundled file is
    #: already simplified, topology-preserving).  Only the drawing changes, never attribution.
    simplify_m: float = Field(default=0.0, ge=0.0)
    #: Size of static PNG maps (bulletins): CSS pixels, rendered at ``png_scale``× for print.
    png_width: int = Field(default=1200, ge=200)
    png_height: int = Field(default=900, ge=200)
    png_scale: float = Field(default=2.0, ge=1.0, le=4.0)
    #: Write the daily map inside ``firewatch daily`` (internal edition, plus the public one).
    in_daily: bool = True
    daily_editions: list[Edition] = Field(default_factory=_editions)
    #: Write a PNG beside the daily map (needs Playwright and Chromium).
    daily_png: bool = False
    #: Chromium used for PNGs; ``None`` lets Playwright use its own browser.
    chromium_path: str | None = "/usr/bin/chromium"

    @model_validator(mode="after")
    def _known_base(self) -> MapSettings:
        names = [*BASES, *(t.name for t in self.extra_tiles)]
        if self.base not in names:
            raise ValueError(f"map base {self.base!r} is not one of {', '.join(names)}")
        return self
