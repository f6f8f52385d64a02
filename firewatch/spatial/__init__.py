"""Spatial stage: boundaries, datum conversion (WGS-84 / GCJ-02 / BD-09) and attribution.

The main entry points::

    from firewatch.spatial import county_index, attribute_points
    index = county_index(settings.boundaries_path, datum=settings.boundaries_datum)
    attributed = attribute_points(points, index, neighbour_km=settings.region.neighbour_km)
"""

from __future__ import annotations

from firewatch.spatial.attribute import (
    ATTRIBUTION_COLUMNS,
    AttributionError,
    CountyIndex,
    attribute_points,
    county_index,
)
from firewatch.spatial.boundaries import (
    ABROAD,
    Boundaries,
    boundaries_from_settings,
    load_boundaries,
)
from firewatch.spatial.datum import DATUMS, convert, normalise_datum, to_wgs84

__all__ = [
    "ABROAD",
    "ATTRIBUTION_COLUMNS",
    "DATUMS",
    "AttributionError",
    "Boundaries",
    "CountyIndex",
    "attribute_points",
    "boundaries_from_settings",
    "convert",
    "county_index",
    "load_boundaries",
    "normalise_datum",
    "to_wgs84",
]
