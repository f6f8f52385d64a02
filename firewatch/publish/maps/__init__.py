"""Interactive maps of fire points (folium), embeddable in reports and usable offline.

* :func:`daily_map`, :func:`period_map`, :func:`grid_map` build a :class:`FireMap` from frames;
  :func:`fire_map` is the common builder.
* :meth:`FireMap.save` writes a self-contained page (assets ``inline``, ``alongside`` or from the
  ``cdn``), an iframe snippet and optionally a PNG; :func:`render_png` renders any saved map.
* :mod:`firewatch.publish.maps.store` reads points and boundaries from the store and settings.

Points are drawn by a small canvas layer from compact typed arrays (``assets/firewatch/``), so a
season of 100,000 points opens in a fraction of the time folium's marker clusters take.

Submodules are imported on first use: folium (the ``publish`` extra) is only needed when a map
is built, and the settings model can be imported without it.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from firewatch.publish.maps.assets import OfflineAssetError, bundle_html
    from firewatch.publish.maps.boundaries import BoundarySet, load_boundaries
    from firewatch.publish.maps.build import (
        FireMap,
        MapFiles,
        daily_map,
        fire_map,
        grid_map,
        period_map,
    )
    from firewatch.publish.maps.embed import MapRenderError, iframe_snippet, render_png
    from firewatch.publish.maps.encode import encode_points
    from firewatch.publish.maps.settings import MapSettings, TileSource
    from firewatch.publish.maps.store import (
        daily_map_from_store,
        grid_map_from_store,
        period_map_from_store,
        write_daily_maps,
    )

__all__ = [
    "BoundarySet",
    "FireMap",
    "MapFiles",
    "MapRenderError",
    "MapSettings",
    "OfflineAssetError",
    "TileSource",
    "bundle_html",
    "daily_map",
    "daily_map_from_store",
    "encode_points",
    "fire_map",
    "grid_map",
    "grid_map_from_store",
    "iframe_snippet",
    "load_boundaries",
    "period_map",
    "period_map_from_store",
    "render_png",
    "write_daily_maps",
]

_WHERE = {
    "OfflineAssetError": "assets",
    "bundle_html": "assets",
    "BoundarySet": "boundaries",
    "load_boundaries": "boundaries",
    "FireMap": "build",
    "MapFiles": "build",
    "daily_map": "build",
    "fire_map": "build",
    "grid_map": "build",
    "period_map": "build",
    "MapRenderError": "embed",
    "iframe_snippet": "embed",
    "render_png": "embed",
    "encode_points": "encode",
    "MapSettings": "settings",
    "TileSource": "settings",
    "daily_map_from_store": "store",
    "grid_map_from_store": "store",
    "period_map_from_store": "store",
    "write_daily_maps": "store",
}


def __getattr__(name: str) -> Any:
    if name not in _WHERE:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    try:
        module = importlib.import_module(f"{__name__}.{_WHERE[name]}")
    except ModuleNotFoundError as exc:
        if exc.name in ("folium", "branca", "jinja2"):
            raise ImportError(
                f"firewatch maps need {exc.name}: pip install 'firewatch[publish]'"
            ) from exc
        raise
    return getattr(module, name)
