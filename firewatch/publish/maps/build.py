"""Daily, period and grid maps of fire points (folium + firewatch's canvas layer).

Every builder takes frames (points from :func:`firewatch.publish.points.load_points`, boundaries
from :func:`~firewatch.publish.maps.boundaries.load_boundaries`), so it can be used and tested
without a store; :mod:`firewatch.publish.maps.store` wraps them for the store.
"""

from __future__ import annotations

import datetime as dt
import html
import logging
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import folium
import pandas as pd

from firewatch.errors import ConfigError
from firewatch.publish.maps.assets import AssetMode, asset_url, bundle_html
from firewatch.publish.maps.boundaries import (
    LEVEL_NAMES,
    LEVEL_STYLES,
    BoundarySet,
    encode_boundaries,
)
from firewatch.publish.maps.elements import (
    BaseTiles,
    BoundaryLayer,
    DataFigure,
    FireHeat,
    FireLegend,
    FirePoints,
    FitToPoints,
    MapTitle,
    TimeSlider,
)
from firewatch.publish.maps.encode import EncodedPoints, encode_points
from firewatch.publish.maps.settings import MapSettings, TileSource

if TYPE_CHECKING:
    import geopandas as gpd

__all__ = [
    "FireMap",
    "MapFiles",
    "base_layers",
    "daily_map",
    "fire_map",
    "grid_map",
    "period_map",
]

log = logging.getLogger(__name__)

Edition = Literal["internal", "public"]

#: Used when there are no points to fit the view to (the Heilongjiang box).
DEFAULT_BOUNDS: tuple[tuple[float, float], tuple[float, float]] = ((43.3, 121.1), (53.6, 135.2))

#: Hosts of GCJ-02 / BD-09 tile services: their tiles sit hundreds of metres off WGS-84 points.
_SHIFTED_TILE_HOSTS = re.compile(
    r"(autonavi\.com|amap\.com|gaode|map\.qq\.com|gtimg\.com|map\.baidu\.com|bdimg\.com|bdstatic)",
    re.IGNORECASE,
)

_OSM = (
    "https://tile.openstreetmap.org/{z}/{x}/{y}.png",
    {"attribution": "&copy; OpenStreetMap contributors", "maxZoom": 19},
)
_ESRI_IMAGERY = (
    "https://server.arcgisonline.com/ArcGIS/rest/services/World_Imagery/MapServer/tile/{z}/{y}/{x}",
    {
        "attribution": "Imagery &copy; Esri, Maxar, Earthstar Geographics, GIS User Community",
        "maxZoom": 18,
    },
)
_TDT_ATTR = "&copy; 天地图 Tianditu (国家地理信息公共服务平台)"


def _tianditu(layer: str, key: str) -> tuple[str, dict[str, Any]]:
    # The "_w" services are web-mercator tiles (what Leaflet's default CRS draws); "_c" ones are
    # geographic (EPSG:4490) and would need a different map CRS.  Both are CGCS2000, which
    # equals WGS-84 within centimetres: fire points sit where they are, with no GCJ-02 offset.
    url = (
        f"https://t{{s}}.tianditu.gov.cn/{layer}_w/wmts?SERVICE=WMTS&REQUEST=GetTile"
        f"&VERSION=1.0.0&LAYER={layer}&STYLE=default&TILEMATRIXSET=w&FORMAT=tiles"
        f"&TILEMATRIX={{z}}&TILEROW={{y}}&TILECOL={{x}}&tk={key}"
    )
    return url, {"subdomains": "01234567", "maxZoom": 18, "attribution": _TDT_ATTR}


def base_layers(
    *,
    settings: MapSettings,
    tianditu_key: str | None = None,
    base: str | None = None,
    offline: bool = False,
) -> list[BaseTiles]:
    """The base layers of a map; exactly one is shown when the map opens.

    OpenStreetMap; Tianditu vector + annotation and imagery + annotation when a key is set
    (otherwise Esri World Imagery); the configured extra services; and "no tiles".  An offline
    map opens on "no tiles", so that it makes no network request unless the user picks a tile
    layer.

    Raises
    ------
    ConfigError
        If an extra tile service is a GCJ-02/BD-09 one (AMap/Gaode, Tencent, Baidu), or
        ``base`` names a layer that is not available.
    """
    layers: list[tuple[str, str, list[tuple[str, dict[str, Any]]]]] = [
        ("osm", "OpenStreetMap", [_OSM])
    ]
    if tianditu_key:
        layers.append(
            (
                "tianditu",
                "天地图 矢量 Tianditu map",
                [_tianditu("vec", tianditu_key), _tianditu("cva", tianditu_key)],
            )
        )
        layers.append(
            (
                "imagery",
                "天地图 影像 Tianditu imagery",
                [_tianditu("img", tianditu_key), _tianditu("cia", tianditu_key)],
            )
        )
    else:
        layers.append(("imagery", "影像 Imagery (Esri)", [_ESRI_IMAGERY]))
    for extra in settings.extra_tiles:
        layers.append((extra.name, extra.name, _extra_tiles(extra)))
    layers.append(("none", "无底图 No tiles", []))
    chosen = "none" if offline else (base or settings.base)
    keys = [k for k, _, _ in layers]
    if chosen not in keys:
        if chosen == "tianditu":
            raise ConfigError("base map 'tianditu' needs a Tianditu key (FIREWATCH_TIANDITU_KEY)")
        raise ConfigError(f"unknown base map {chosen!r}; available: {', '.join(keys)}")
    return [BaseTiles(name, tiles, show=(k == chosen)) for k, name, tiles in layers]


def _extra_tiles(src: TileSource) -> list[tuple[str, dict[str, Any]]]:
    for url in (src.url, src.overlay_url or ""):
        if _SHIFTED_TILE_HOSTS.search(url):
            raise ConfigError(
                f"tile service {src.name!r} ({url}) serves GCJ-02/BD-09 tiles; fire points are "
                "WGS-84 and would be drawn hundreds of metres off. Use Tianditu or OSM."
            )
    opts = {"attribution": src.attribution, "subdomains": src.subdomains, "maxZoom": src.max_zoom}
    tiles = [(src.url, opts)]
    if src.overlay_url:
        tiles.append((src.overlay_url, opts))
    return tiles


@dataclass
class MapFiles:
    """What :meth:`FireMap.save` wrote."""

    html: Path
    iframe: Path | None = None
    png: Path | None = None
    assets_dir: Path | None = None

    def as_outputs(self, prefix: str) -> dict[str, Path]:
        """The files by output name: ``prefix``, ``prefix_iframe``, ``prefix_png``."""
        out = {prefix: self.html}
        if self.iframe is not None:
            out[f"{prefix}_iframe"] = self.iframe
        if self.png is not None:
            out[f"{prefix}_png"] = self.png
        return out


@dataclass
class FireMap:
    """A built map: the folium map and what it shows."""

    map: folium.Map
    title: str
    edition: Edition
    offline: bool
    points: EncodedPoints | None
    days: list[dt.date] = field(default_factory=list)

    @property
    def n_points(self) -> int:
        """Points drawn (rows without usable coordinates are not)."""
        return 0 if self.points is None else self.points.n

    def html(self, *, assets: AssetMode | None = None, html_path: Path | None = None) -> str:
        """The page; ``assets`` defaults to ``"inline"`` for offline maps, else ``"cdn"``."""
        mode: AssetMode = assets or ("inline" if self.offline else "cdn")
        return bundle_html(self.map.get_root().render(), mode=mode, html_path=html_path)

    def save(
        self,
        path: str | Path,
        *,
        assets: AssetMode | None = None,
        iframe: bool = True,
        png: bool = False,
        png_size: tuple[int, int] = (1200, 900),
        png_scale: float = 2.0,
        chromium: str | None = "/usr/bin/chromium",
    ) -> MapFiles:
        """Write the page, an iframe snippet (``<stem>.iframe.html``) and optionally a PNG.

        Parameters
        ----------
        path
            The HTML file to write.
        assets
            ``"inline"`` (one self-contained file), ``"alongside"`` (``<stem>_files/``) or
            ``"cdn"``; default ``"inline"`` for offline maps, ``"cdn"`` otherwise.
        png
            Also write ``<stem>.png`` (see :func:`~firewatch.publish.maps.embed.render_png`).
        """
        from firewatch.publish.maps.embed import iframe_snippet, render_png

        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        mode: AssetMode = assets or ("inline" if self.offline else "cdn")
        page = self.html(assets=mode, html_path=path)
        tmp = path.with_name(path.name + ".tmp")
        tmp.write_text(page, encoding="utf-8")
        tmp.replace(path)  # a reader never sees half a page
        files = MapFiles(html=path)
        if mode == "alongside":
            files.assets_dir = path.parent / f"{path.stem}_files"
        if iframe:
            files.iframe = path.with_name(f"{path.stem}.iframe.html")
            files.iframe.write_text(iframe_snippet(path.name, title=self.title), encoding="utf-8")
        if png:
            files.png = render_png(
                path,
                path.with_suffix(".png"),
                width=png_size[0],
                height=png_size[1],
                scale=png_scale,
                chromium_path=chromium,
            )
        return files


def _title_html(title: str, lines: Sequence[str], *, edition: Edition, synthetic: bool) -> str:
    parts = [f"<h1>{html.escape(title)}</h1>"]
    parts += [f"<p>{html.escape(line)}</p>" for line in lines if line]
    if synthetic:
        parts.append(
            '<p class="fw-warn">网格与责任人为合成演示数据 Synthetic demo grid and chiefs</p>'
        )
    parts.append(
        "<p><small>"
        + ("公开版 Public edition" if edition == "public" else "内部版 Internal edition")
        + "</small></p>"
    )
    return "".join(parts)


def fire_map(
    points: pd.DataFrame,
    *,
    title: str,
    lines: Sequence[str] = (),
    edition: Edition = "internal",
    boundaries: BoundarySet | None = None,
    boundary_show: Sequence[str] = ("province", "city", "county", "cell"),
    days: Sequence[dt.date] | None = None,
    slider: bool = False,
    settings: MapSettings | None = None,
    tianditu_key: str | None = None,
    base: str | None = None,
    offline: bool | None = None,
    heat: bool | None = None,
    cluster: bool | None = None,
    fit_bounds: tuple[tuple[float, float], tuple[float, float]] | None = None,
    notes: Sequence[str] = (),
) -> FireMap:
    """A map of fire points: the common builder behind the daily, period and grid maps.

    Parameters
    ----------
    points
        Points frame (see :func:`~firewatch.publish.maps.encode.encode_points`).
    title, lines
        The title box.
    edition
        ``"public"`` drops names and phones (whatever the frame holds).
    boundaries
        Layers by level; those in ``boundary_show`` are on when the map opens, the others are
        listed in the layer switcher.
    days, slider
        Days of the time slider, and whether to show it.
    settings
        Map settings (defaults when ``None``).
    tianditu_key
        Key for Tianditu tiles; without it Tianditu is not offered.
    base
        Base layer shown first (default ``settings.base``; ``"none"`` when offline).
    offline
        Bundle assets when saved, and open on "no tiles" (default ``settings.offline``).
    heat, cluster
        Offer a heat layer; cluster where points overlap (default: from settings, clustering
        only above ``settings.cluster_above`` points).
    fit_bounds
        ``((s, w), (n, e))`` to open on instead of the points' extent.
    notes
        Extra lines under the legend (credits, caveats).
    """
    cfg = settings or MapSettings()
    offline = cfg.offline if offline is None else offline
    enc = encode_points(points, edition=edition, days=days)
    synthetic = enc.synthetic_grid or bool(boundaries and boundaries.synthetic_grid)
    center = (
        ((enc.bounds[0][0] + enc.bounds[1][0]) / 2, (enc.bounds[0][1] + enc.bounds[1][1]) / 2)
        if enc.bounds
        else (47.5, 128.0)
    )
    m = folium.Map(
        location=center,
        zoom_start=6,
        tiles=None,
        prefer_canvas=True,
        control_scale=True,
        width="100%",
        height="100%",
    )
    figure = DataFigure(title=html.escape(title))
    figure.add_child(m)  # splices the point data in after rendering (see DataFigure)
    # Only Leaflet itself: folium's default jQuery, Bootstrap, Font Awesome and awesome-markers
    # are not used by these maps, and each is one more CDN request an intranet would block.
    m.default_js = [("leaflet", asset_url("leaflet"))]
    m.default_css = [("leaflet_css", asset_url("leaflet_css"))]
    figure.header.add_child(
        folium.Element('<meta http-equiv="content-type" content="text/html; charset=UTF-8" />'),
        name="meta_charset",
    )
    for layer in base_layers(settings=cfg, tianditu_key=tianditu_key, base=base, offline=offline):
        layer.add_to(m)
    if boundaries is not None:
        for level in ("province", "city", "county", "township", "village", "cell"):
            gdf = boundaries.get(level)
            if gdf is None or not len(gdf):
                continue
            BoundaryLayer(
                encode_boundaries(gdf, simplify_m=cfg.simplify_m),
                name=LEVEL_NAMES[level],
                style=LEVEL_STYLES[level],
                show=level in boundary_show,
                labels=level == "cell" and len(gdf) <= 300,
            ).add_to(m)
    pts = None
    if enc.n:
        use_cluster = (enc.n > cfg.cluster_above) if cluster is None else cluster
        cluster_opts = (
            {
                "maxZoom": cfg.cluster_max_zoom,
                "cellPx": cfg.cluster_cell_px,
                "minCount": cfg.cluster_min_points,
            }
            if use_cluster
            else None
        )
        pts = FirePoints(enc.payload, cluster=cluster_opts)
        pts.add_to(m)
        if cfg.heat if heat is None else heat:
            FireHeat(pts).add_to(m)
    folium.LayerControl(position="topleft", collapsed=True).add_to(m)
    count_line = f"{enc.n} 个火点 fire points"
    if "region" in points.columns:
        # Bulletins count the province; points across the border are shown for joint prevention.
        outside = int((points["region"] == "neighbour").sum())
        if outside:
            count_line += (
                f"（省内 {enc.n - outside} in the province, 省外 {outside} across the border）"
            )
    if enc.dropped:
        count_line += f"（{enc.dropped} 个无坐标未绘 without coordinates）"
    MapTitle(_title_html(title, [*lines, count_line], edition=edition, synthetic=synthetic)).add_to(
        m
    )
    legend_notes = [
        *notes,
        "火点 Fire data: NASA FIRMS (LANCE)",
        "时间为北京时间 Times are Beijing time (UTC+8); WGS-84",
    ]
    if pts is not None:
        FireLegend(pts, title="图例 Legend", notes=legend_notes).add_to(m)
        if slider and len(enc.days) > 1:
            TimeSlider(
                pts,
                labels={
                    "cum": "累计 cumulative",
                    "day": "当日 per day",
                    "all": "全部 all",
                    "points": "个火点 points",
                    "play": "播放 play",
                },
            ).add_to(m)
    # An explicit extent (a grid unit) wins over the points' extent.
    FitToPoints(None if fit_bounds else pts, fit_bounds or enc.bounds or DEFAULT_BOUNDS).add_to(m)
    return FireMap(
        map=m, title=title, edition=edition, offline=offline, points=enc, days=list(enc.days)
    )


def daily_map(
    points: pd.DataFrame,
    *,
    day: dt.date,
    region_name: str = "黑龙江省",
    edition: Edition = "internal",
    boundaries: BoundarySet | None = None,
    **kwargs: Any,
) -> FireMap:
    """The map of one Beijing-time day: every point on its own, styled by class and review.

    ``kwargs`` go to :func:`fire_map` (settings, tianditu_key, base, offline, ...).
    """
    kwargs.setdefault("boundary_show", ("province", "city", "county", "village", "cell"))
    return fire_map(
        points,
        title=f"{region_name} 卫星火点 Satellite fire points {day.isoformat()}",
        lines=["北京时间 Beijing time"],
        edition=edition,
        boundaries=boundaries,
        days=[day],
        slider=False,
        **kwargs,
    )


def period_map(
    points: pd.DataFrame,
    *,
    first: dt.date,
    last: dt.date,
    name: str | None = None,
    region_name: str = "黑龙江省",
    edition: Edition = "internal",
    boundaries: BoundarySet | None = None,
    **kwargs: Any,
) -> FireMap:
    """The map of a burning period with a day slider (cumulative and per-day views)."""
    if last < first:
        raise ValueError(f"the period ends ({last}) before it starts ({first})")
    days = [first + dt.timedelta(d) for d in range((last - first).days + 1)]
    label = {"spring": "春季 spring", "autumn": "秋季 autumn"}.get(name or "", name or "")
    title = f"{region_name} {label} 禁烧期火点 ban-period fire points".replace("  ", " ")
    return fire_map(
        points,
        title=title,
        lines=[f"{first.isoformat()} … {last.isoformat()}（北京时间 Beijing time）"],
        edition=edition,
        boundaries=boundaries,
        days=days,
        slider=True,
        **kwargs,
    )


def _with_counts(cells: gpd.GeoDataFrame, points: pd.DataFrame) -> gpd.GeoDataFrame:
    """Cells named with how many of the points fall in each: "试验村1-2 (3)"."""
    import numpy as np
    import shapely

    tree = shapely.STRtree(cells.geometry.values)
    pts = shapely.points(points["longitude"].to_numpy(), points["latitude"].to_numpy())
    _, hit = tree.query(pts, predicate="within")
    counts = np.bincount(hit, minlength=len(cells))
    out = cells.copy()
    out["name"] = [
        f"{name} ({k})" if isinstance(name, str) else f"({k})"
        for name, k in zip(cells["name"], counts, strict=True)
    ]
    return out


def grid_map(
    points: pd.DataFrame,
    *,
    unit: gpd.GeoDataFrame,
    cells: gpd.GeoDataFrame | None = None,
    first: dt.date,
    last: dt.date,
    edition: Edition = "internal",
    boundaries: BoundarySet | None = None,
    **kwargs: Any,
) -> FireMap:
    """One county or township with its grid cells and their points, for those responsible.

    Parameters
    ----------
    points
        Points of the period; only those inside ``unit`` are drawn.
    unit
        The county or township polygon(s) (``code``, ``name``, geometry; WGS-84).
    cells
        Its grid cells (villages, or townships of a county); drawn with their names.
    """
    import shapely

    geom = shapely.union_all(unit.geometry.values)
    inside = shapely.contains_xy(
        geom,
        pd.to_numeric(points["longitude"], errors="coerce").to_numpy(),
        pd.to_numeric(points["latitude"], errors="coerce").to_numpy(),
    )
    pts = points.loc[inside]
    layers = BoundarySet(synthetic_grid=bool(boundaries and boundaries.synthetic_grid))
    if boundaries is not None:
        layers.layers.update(boundaries.layers)
    code = str(unit["code"].iloc[0]) if "code" in unit and len(unit) else ""
    level = "county" if len(code) == 6 else "township"
    layers.layers[level] = unit
    if cells is not None and len(cells):
        layers.layers["cell"] = _with_counts(cells, pts)
    w, s, e, n = geom.bounds
    days = [first + dt.timedelta(d) for d in range((last - first).days + 1)]
    names = " ".join(str(x) for x in unit["name"].dropna().unique()) if "name" in unit else code
    span = first.isoformat() if first == last else f"{first.isoformat()} … {last.isoformat()}"
    return fire_map(
        pts,
        title=f"{names} 网格火点 Fire points by grid cell",
        lines=[f"{code} · {span}（北京时间 Beijing time）"],
        edition=edition,
        boundaries=layers,
        boundary_show=("county", "township", "cell"),
        days=days,
        slider=len(days) > 1,
        cluster=False,
        fit_bounds=((s, w), (n, e)),
        **kwargs,
    )
