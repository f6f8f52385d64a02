"""A local stand-in for Sentinel Hub, for tests and the offline notebook demo.

It speaks the three endpoints firewatch uses, on ``http://127.0.0.1:<port>``:

- ``POST /oauth/token`` — OAuth2 client-credentials grant (form-encoded ``grant_type``,
  ``client_id``, ``client_secret``); answers ``{"access_token", "token_type", "expires_in"}`` or
  401 ``{"error": "invalid_client"}`` like the real service;
- ``POST /api/v1/catalog/1.0.0/search`` — STAC item search (``collections``, ``datetime``,
  ``bbox``, a CQL2-text ``eo:cloud_cover < N`` filter, ``limit``/``next`` paging);
- ``POST /api/v1/process`` — the Process API: reads the request's bounds, CRS, time range,
  output size (``width``/``height`` or ``resx``/``resy``) and answers a GeoTIFF of that shape
  written with rasterio (georeferenced, 2 FLOAT32 bands as firewatch's evalscript asks: NBR and a
  clear-sky flag).

Sentinel Hub itself cannot be recorded here (no credentials, no network), so the pixels come from
a small scene model instead of a recording: a stubble background (NBR about 0.30), burned fields
(polygons in WGS-84) whose NBR drops to about -0.15 from their burn date on, and cloud boxes that
clear the flag.  The geometry, dtype, band layout and HTTP behaviour are those of the service.

Plain HTTP needs ``OAUTHLIB_INSECURE_TRANSPORT=1`` in the environment for the token request
(oauthlib otherwise insists on https); the tests set it with ``monkeypatch``.
"""

from __future__ import annotations

import datetime as dt
import json
import re
import secrets
import threading
import urllib.parse
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import numpy as np

__all__ = ["Burn", "Scene", "SentinelReplay"]


@dataclass
class Scene:
    """One Sentinel-2 L2A acquisition over the test area."""

    date: dt.date
    cloud_cover: float
    #: Cloud boxes (lon_min, lat_min, lon_max, lat_max) where the clear flag is 0.
    clouds: list[tuple[float, float, float, float]] = field(default_factory=list)
    tile: str = "52TDT"
    platform: str = "sentinel-2a"

    @property
    def id(self) -> str:
        d = self.date.strftime("%Y%m%d")
        sat = "S2A" if self.platform.endswith("a") else "S2B"
        return f"{sat}_MSIL2A_{d}T024001_N0400_R089_T{self.tile}_{d}T050000"


@dataclass
class Burn:
    """A field that burns on ``date``: polygon ring in (lon, lat)."""

    ring: list[tuple[float, float]]
    date: dt.date
    nbr_before: float = 0.30
    nbr_after: float = -0.15


@dataclass
class Call:
    method: str
    path: str
    body: Any


class _Handler(BaseHTTPRequestHandler):
    server: _Server

    def log_message(self, format: str, *args: Any) -> None:  # keep test output quiet
        pass

    def _send(self, status: int, body: bytes, ctype: str) -> None:
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def _json(self, status: int, obj: Any) -> None:
        self._send(status, json.dumps(obj).encode(), "application/json")

    def do_POST(self) -> None:
        replay = self.server.replay
        raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        path = urllib.parse.urlsplit(self.path).path
        if path == "/oauth/token":
            form = urllib.parse.parse_qs(raw.decode())
            replay.calls.append(Call("POST", path, {k: v[0] for k, v in form.items()}))
            ok = (
                form.get("grant_type") == ["client_credentials"]
                and form.get("client_id") == [replay.client_id]
                and form.get("client_secret") == [replay.client_secret]
            )
            if not ok:
                self._json(
                    401,
                    {
                        "error": "invalid_client",
                        "error_description": "Invalid client or Invalid client credentials",
                    },
                )
                return
            self._json(
                200,
                {
                    "access_token": replay.token,
                    "token_type": "Bearer",
                    "expires_in": 3600,
                    "not-before-policy": 0,
                },
            )
            return
        try:
            body = json.loads(raw or b"{}")
        except json.JSONDecodeError:
            self._json(400, {"error": {"status": 400, "reason": "Bad Request"}})
            return
        replay.calls.append(Call("POST", path, body))
        if self.headers.get("Authorization") != f"Bearer {replay.token}":
            self._json(
                401,
                {"error": {"status": 401, "reason": "Unauthorized", "message": "bad token"}},
            )
            return
        if replay.fail_process and path == "/api/v1/process":
            self._json(500, {"error": {"status": 500, "reason": "Internal Server Error"}})
            return
        if path == "/api/v1/catalog/1.0.0/search":
            self._json(200, replay.search(body))
        elif path == "/api/v1/process":
            try:
                tif = replay.process(body)
            except ValueError as exc:
                self._json(
                    400, {"error": {"status": 400, "reason": "Bad Request", "message": str(exc)}}
                )
                return
            self._send(200, tif, "image/tiff")
        else:
            self._json(404, {"error": {"status": 404, "reason": "Not Found"}})


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    replay: SentinelReplay


def _parse_time(s: str) -> dt.datetime:
    return dt.datetime.fromisoformat(s.replace("Z", "+00:00"))


def _epsg(crs_url: str) -> int:
    if crs_url.endswith("CRS84"):
        return 4326
    m = re.search(r"EPSG/0/(\d+)$", crs_url)
    if not m:
        raise ValueError(f"unsupported CRS {crs_url!r}")
    return int(m.group(1))


class SentinelReplay:
    """Run the stand-in server in a thread (a context manager).

    Parameters
    ----------
    scenes
        Acquisitions the catalog knows and the Process API can render.
    burns
        Burned fields.
    client_id, client_secret
        The OAuth client that is accepted.
    noise
        Standard deviation of the pixel noise of NBR (deterministic per scene).
    """

    def __init__(
        self,
        *,
        scenes: list[Scene],
        burns: list[Burn],
        client_id: str = "firewatch-test-client",
        client_secret: str = "firewatch-test-secret",
        noise: float = 0.02,
    ) -> None:
        self.scenes = scenes
        self.burns = burns
        self.client_id = client_id
        self.client_secret = client_secret
        self.noise = noise
        self.token = secrets.token_urlsafe(24)
        self.calls: list[Call] = []
        self.fail_process = False
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None

    # -- lifecycle ---------------------------------------------------------------------------
    def __enter__(self) -> SentinelReplay:
        self._server = _Server(("127.0.0.1", 0), _Handler)
        self._server.replay = self
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        assert self._server is not None and self._thread is not None
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)

    @property
    def url(self) -> str:
        assert self._server is not None
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    @property
    def token_url(self) -> str:
        return f"{self.url}/oauth/token"

    def settings(self, cache_dir: Path, **overrides: Any) -> Any:
        """``SentinelSettings`` pointing at this server with its accepted credentials."""
        from firewatch.publish.season.settings import SentinelSettings

        values: dict[str, Any] = {
            "client_id": self.client_id,
            "client_secret": self.client_secret,
            "base_url": self.url,
            "token_url": self.token_url,
            "cache_dir": cache_dir,
            "retries": 0,
        }
        values.update(overrides)
        return SentinelSettings(**values)

    def count(self, path: str) -> int:
        return sum(1 for c in self.calls if c.path == path)

    # -- catalog ------------------------------------------------------------------------------
    def search(self, body: dict[str, Any]) -> dict[str, Any]:
        start_s, end_s = body["datetime"].split("/")
        start, end = _parse_time(start_s), _parse_time(end_s)
        limit = int(body.get("limit", 100))
        offset = int(body.get("next") or 0)
        max_cc = 100.0
        flt = body.get("filter")
        if isinstance(flt, str):
            m = re.fullmatch(r"\s*eo:cloud_cover\s*(<=?)\s*([\d.]+)\s*", flt)
            if not m:
                raise ValueError(f"unsupported filter {flt!r}")
            max_cc = float(m.group(2)) - (1e-9 if m.group(1) == "<" else 0.0)
        west, south, east, north = body.get("bbox", [-180, -90, 180, 90])
        found = []
        for sc in sorted(self.scenes, key=lambda s: s.date):
            t = dt.datetime.combine(sc.date, dt.time(2, 46, 1), tzinfo=dt.UTC)
            if start <= t <= end and sc.cloud_cover <= max_cc:
                found.append(self._feature(sc, (west, south, east, north)))
        page = found[offset : offset + limit]
        context: dict[str, Any] = {"limit": limit, "returned": len(page)}
        if offset + limit < len(found):
            context["next"] = offset + limit
        return {"type": "FeatureCollection", "features": page, "links": [], "context": context}

    @staticmethod
    def _feature(sc: Scene, bbox: tuple[float, float, float, float]) -> dict[str, Any]:
        w, s, e, n = bbox
        # A tile footprint comfortably larger than the search box, as real tiles are (110 km).
        w, s, e, n = w - 0.5, s - 0.5, e + 0.5, n + 0.5
        return {
            "stac_version": "1.0.0",
            "stac_extensions": [],
            "type": "Feature",
            "id": sc.id,
            "collection": "sentinel-2-l2a",
            "bbox": [w, s, e, n],
            "geometry": {
                "type": "Polygon",
                "coordinates": [[[w, s], [e, s], [e, n], [w, n], [w, s]]],
            },
            "properties": {
                "datetime": f"{sc.date.isoformat()}T02:46:01Z",
                "platform": sc.platform,
                "instruments": ["msi"],
                "constellation": "sentinel-2",
                "gsd": 10,
                "eo:cloud_cover": sc.cloud_cover,
                "proj:epsg": 32652,
            },
            "assets": {},
            "links": [],
        }

    # -- process ------------------------------------------------------------------------------
    def process(self, body: dict[str, Any]) -> bytes:
        import shapely
        from affine import Affine
        from pyproj import Transformer
        from rasterio.io import MemoryFile

        if "B08" not in body.get("evalscript", "") or "B12" not in body["evalscript"]:
            raise ValueError("evalscript must use B08 and B12")
        bounds = body["input"]["bounds"]
        epsg = _epsg(bounds["properties"]["crs"])
        minx, miny, maxx, maxy = bounds["bbox"]
        out = body["output"]
        if "width" in out:
            width, height = int(out["width"]), int(out["height"])
        else:
            width = round((maxx - minx) / float(out["resx"]))
            height = round((maxy - miny) / float(out["resy"]))
        if not (0 < width <= 2500 and 0 < height <= 2500):
            raise ValueError(f"output size {width}x{height} outside 1..2500")
        if out["responses"][0]["format"]["type"] != "image/tiff":
            raise ValueError("only image/tiff is served")
        data = body["input"]["data"][0]
        tr = data["dataFilter"]["timeRange"]
        t0, t1 = _parse_time(tr["from"]), _parse_time(tr["to"])
        max_cc = float(data["dataFilter"].get("maxCloudCoverage", 100))
        scenes = [
            s
            for s in self.scenes
            if t0 <= dt.datetime.combine(s.date, dt.time(2, 46, 1), tzinfo=dt.UTC) < t1
            and s.cloud_cover <= max_cc
        ]
        img = np.zeros((2, height, width), dtype=np.float32)  # no data: flag 0, like the API
        if scenes:
            sc = min(scenes, key=lambda s: s.cloud_cover)  # leastCC mosaicking
            xs = minx + (np.arange(width) + 0.5) * (maxx - minx) / width
            ys = maxy - (np.arange(height) + 0.5) * (maxy - miny) / height
            gx, gy = np.meshgrid(xs, ys)
            lon, lat = Transformer.from_crs(epsg, 4326, always_xy=True).transform(gx, gy)
            rng = np.random.default_rng(sc.date.toordinal())
            nbr = 0.30 + rng.normal(0.0, self.noise, size=gx.shape)
            for burn in self.burns:
                poly = shapely.Polygon(burn.ring)
                inside = shapely.contains_xy(poly, lon, lat)
                level = burn.nbr_after if sc.date >= burn.date else burn.nbr_before
                nbr = np.where(inside, level + rng.normal(0.0, self.noise, gx.shape), nbr)
            clear = np.ones_like(nbr)
            for w, s, e, n in sc.clouds:
                cloudy = (lon >= w) & (lon <= e) & (lat >= s) & (lat <= n)
                clear[cloudy] = 0.0
                nbr[cloudy] = 0.02  # bright cloud: both bands high, NBR near zero
            img[0], img[1] = nbr, clear
        profile = {
            "driver": "GTiff",
            "width": width,
            "height": height,
            "count": 2,
            "dtype": "float32",
            "crs": f"EPSG:{epsg}",
            # Affine built directly: rasterio's from_bounds multiplies with `*`, which affine deprecates.
            "transform": Affine(
                (maxx - minx) / width, 0.0, minx, 0.0, -(maxy - miny) / height, maxy
            ),
        }
        with MemoryFile() as mem:
            with mem.open(**profile) as dst:
                dst.write(img)
            return bytes(mem.read())

    def __repr__(self) -> str:
        return f"SentinelReplay({self.url if self._server else 'stopped'})"
