"""Small inline SVG maps for phone pages: no tiles, no scripts, no CDN.

The list map places my points (coloured by status, each a link to its page) in an
equirectangular frame; the point map draws the fire point, its pixel footprint (scan × track km)
and the positions of photos taken on the ground, with their distance, a scale bar and north up.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from html import escape
from typing import Any, Final

from markupsafe import Markup

__all__ = ["point_map", "points_map"]

STATUS_COLOURS: Final[dict[str, str]] = {
    "pending": "#d9480f",
    "overdue": "#c92a2a",
    "escalated": "#862e9c",
    "answered": "#2b8a3e",
}
M_PER_DEG: Final = 111_320.0


def _nice(length_m: float) -> float:
    """A round scale-bar length not longer than ``length_m``."""
    if length_m <= 0:
        return 1.0
    p = 10 ** math.floor(math.log10(length_m))
    for f in (5, 2, 1):
        if f * p <= length_m:
            return f * p
    return p


def _fmt_m(m: float) -> str:
    return f"{m / 1000:g} km" if m >= 1000 else f"{m:g} m"


def _scale_bar(x0: float, y0: float, px_per_m: float, width_px: float) -> str:
    length = _nice(width_px / px_per_m)
    w = length * px_per_m
    return (
        f'<g class="scale"><path d="M{x0:.1f},{y0:.1f} v-6 h{w:.1f} v6" fill="none" '
        f'stroke="#222" stroke-width="2"/><text x="{x0 + w / 2:.1f}" y="{y0 - 9:.1f}" '
        f'text-anchor="middle">{_fmt_m(length)}</text></g>'
    )


def _north(x: float, y: float) -> str:
    return (
        f'<g class="north"><path d="M{x},{y} l6,16 l-6,-4 l-6,4 z" fill="#222"/>'
        f'<text x="{x}" y="{y + 30}" text-anchor="middle">N</text></g>'
    )


def points_map(points: Sequence[dict[str, Any]], *, width: int = 360, height: int = 260) -> Markup:
    """An SVG of the listed points, each a link to its page."""
    pts = [p for p in points if p.get("latitude") is not None and p.get("longitude") is not None]
    if not pts:
        return Markup("")
    lats = [float(p["latitude"]) for p in pts]
    lons = [float(p["longitude"]) for p in pts]
    lat0 = (min(lats) + max(lats)) / 2
    kx = math.cos(math.radians(lat0))
    # Extent in metres, padded; at least 2 km so a single point sits in a readable frame.
    span_x = max((max(lons) - min(lons)) * kx * M_PER_DEG, 2000.0) * 1.2
    span_y = max((max(lats) - min(lats)) * M_PER_DEG, 2000.0) * 1.2
    pad = 18
    scale = min((width - 2 * pad) / span_x, (height - 2 * pad) / span_y)
    cx, cy = (min(lons) + max(lons)) / 2, lat0

    def xy(lat: float, lon: float) -> tuple[float, float]:
        return (
            width / 2 + (lon - cx) * kx * M_PER_DEG * scale,
            height / 2 - (lat - cy) * M_PER_DEG * scale,
        )

    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" '
        f'class="map" role="img" aria-label="我的火点分布图 map of my points">',
        f'<rect width="{width}" height="{height}" fill="#f4f1e8"/>',
    ]
    for i, p in enumerate(pts, start=1):
        x, y = xy(float(p["latitude"]), float(p["longitude"]))
        colour = STATUS_COLOURS.get(p.get("review_status", ""), "#555")
        did = escape(str(p["detection_id"]))
        parts.append(
            f'<a href="/points/{did}"><circle cx="{x:.1f}" cy="{y:.1f}" r="7" fill="{colour}" '
            f'stroke="#fff" stroke-width="1.5"><title>{did}</title></circle>'
            f'<text x="{x:.1f}" y="{y + 3.5:.1f}" text-anchor="middle" class="num">{i}</text></a>'
        )
    parts.append(_scale_bar(10, height - 8, scale, width / 3))
    parts.append(_north(width - 16, 8))
    parts.append("</svg>")
    return Markup("".join(parts))


def point_map(point: dict[str, Any], *, width: int = 360, height: int = 300) -> Markup:
    """An SVG of one point: footprint, photo positions with distances, scale and north."""
    lat, lon = float(point["latitude"]), float(point["longitude"])
    kx = math.cos(math.radians(lat))
    scan_m = float(point.get("scan") or 1.0) * 1000
    track_m = float(point.get("track") or 1.0) * 1000
    photos = [
        ph
        for ph in point.get("photos", [])
        if ph.get("gps_lat") is not None and ph.get("gps_lon") is not None
    ]
    offsets = [
        (
            (float(ph["gps_lon"]) - lon) * kx * M_PER_DEG,
            (float(ph["gps_lat"]) - lat) * M_PER_DEG,
        )
        for ph in photos
    ]
    half = max(scan_m, track_m) * 0.8
    for dx, dy in offsets:
        half = max(half, abs(dx) * 1.25, abs(dy) * 1.25)
    half = max(half, 500.0)
    pad = 16
    scale = min((width - 2 * pad) / (2 * half), (height - 2 * pad) / (2 * half))
    cx, cy = width / 2, height / 2
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" '
        f'class="map" role="img" aria-label="火点位置图 map of the fire point">',
        f'<rect width="{width}" height="{height}" fill="#f4f1e8"/>',
        # The pixel footprint: the ground the satellite saw as one hot pixel.
        f'<rect x="{cx - scan_m / 2 * scale:.1f}" y="{cy - track_m / 2 * scale:.1f}" '
        f'width="{scan_m * scale:.1f}" height="{track_m * scale:.1f}" fill="#ffa94d" '
        f'fill-opacity="0.35" stroke="#e8590c" stroke-dasharray="4 3">'
        f"<title>像元范围 footprint {scan_m / 1000:.2f}×{track_m / 1000:.2f} km</title></rect>",
        f'<circle cx="{cx}" cy="{cy}" r="6" fill="#c92a2a" stroke="#fff" stroke-width="2">'
        f"<title>火点 fire point {lat:.5f}, {lon:.5f}</title></circle>",
    ]
    for ph, (dx, dy) in zip(photos, offsets, strict=True):
        x, y = cx + dx * scale, cy - dy * scale
        dist = ph.get("gps_distance_m")
        label = f"{dist:.0f} m" if dist is not None and dist < 10_000 else _fmt_m(dist or 0)
        parts.append(
            f'<line x1="{cx}" y1="{cy}" x2="{x:.1f}" y2="{y:.1f}" stroke="#1c7ed6" '
            f'stroke-dasharray="3 3"/><rect x="{x - 5:.1f}" y="{y - 5:.1f}" width="10" '
            f'height="10" fill="#1c7ed6" stroke="#fff"><title>照片 photo {ph["id"]}</title>'
            f'</rect><text x="{x + 8:.1f}" y="{y - 6:.1f}" class="photo-dist">{escape(label)}'
            f"</text>"
        )
    parts.append(_scale_bar(10, height - 8, scale, width / 3))
    parts.append(_north(width - 16, 8))
    parts.append("</svg>")
    return Markup("".join(parts))
