"""Burn-scar confirmation of fire events with Sentinel-2 L2A through Sentinel Hub.

For one fire event (see :mod:`~firewatch.publish.season.events`):

1. the event's detections, buffered by ``buffer_m``, give a window in the event's UTM zone;
2. the **Catalog API** lists Sentinel-2 L2A scenes under ``max_cloud_pct`` in the pre-fire window
   (``pre_days`` before the first detection, the fire day excluded) and the post-fire window
   (``post_days`` after the last one); the latest pre and the earliest post scene are taken;
3. the **Process API** returns, for each of the two days, a two-band FLOAT32 GeoTIFF: the
   Normalized Burn Ratio ``NBR = (B08 - B12) / (B08 + B12)`` and a clear-sky flag (scene
   classification not cloud, cloud shadow, cirrus or snow);
4. ``dNBR = NBR_pre - NBR_post`` on pixels clear in both; the area with ``dNBR >=
   dnbr_threshold`` is the burned area, and the areas of the Key & Benson classes (0.10 low,
   0.27 moderate-low, 0.44 moderate-high, 0.66 high severity) are reported too;
5. the event is ``confirmed`` when the burned area reaches ``min_burned_ha``, ``not_confirmed``
   otherwise, ``inconclusive`` when fewer than ``min_valid_fraction`` of the pixels are clear,
   and ``no_scene`` when a window holds no usable scene.

Results are cached in ``cache_dir`` (a JSON file per request, plus the dNBR GeoTIFF), keyed by
everything that determines them, so asking again costs no processing units.  A ``no_scene``
answer is not cached: it cost no processing units, and the scene it lacked may be acquired or
ingested later (asking a few days after a fire is the usual case).  Credentials come
from ``Settings.season.sentinel`` (``client_id``, ``client_secret``: secrets, never logged).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import json
import logging
import math
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from firewatch.errors import ConfigError, FirewatchError
from firewatch.publish.season.settings import SentinelSettings

if TYPE_CHECKING:
    from sentinelhub import SHConfig

__all__ = [
    "DNBR_CLASSES",
    "EVALSCRIPT",
    "BurnScar",
    "SentinelAuthError",
    "SentinelError",
    "SentinelSession",
    "confirm_event",
    "confirm_events",
    "dnbr_class_areas",
    "sh_config",
]

log = logging.getLogger(__name__)

#: Evalscript: NBR and a clear-sky flag (SCL 3 cloud shadow, 8/9 cloud, 10 cirrus, 11 snow).
EVALSCRIPT = """//VERSION=3
function setup() {
  return {
    input: [{bands: ["B08", "B12", "SCL", "dataMask"]}],
    output: {bands: 2, sampleType: "FLOAT32"}
  };
}
function evaluatePixel(s) {
  var clear = s.dataMask == 1 && [3, 8, 9, 10, 11].indexOf(s.SCL) < 0;
  var sum = s.B08 + s.B12;
  var nbr = sum > 0 ? (s.B08 - s.B12) / sum : 0;
  return [nbr, clear ? 1 : 0];
}
"""

#: Key & Benson (2006) dNBR classes: (name, lower bound inclusive).
DNBR_CLASSES: tuple[tuple[str, float], ...] = (
    ("unburned", -math.inf),
    ("low", 0.10),
    ("moderate_low", 0.27),
    ("moderate_high", 0.44),
    ("high", 0.66),
)

#: The Process API refuses outputs larger than this many pixels a side.
_MAX_PIXELS = 2500
_CACHE_VERSION = 1


class SentinelError(FirewatchError, OSError):
    """Sentinel Hub failed or refused a request; ``status`` keeps the HTTP status if any."""

    def __init__(self, message: str, *, status: int | None = None) -> None:
        self.status = status
        super().__init__(message)


class SentinelAuthError(SentinelError, PermissionError):
    """Sentinel Hub refused the OAuth client credentials."""


def _require() -> Any:
    try:
        import sentinelhub
    except ImportError as exc:  # pragma: no cover - depends on the install
        raise ImportError(
            "burn-scar confirmation needs sentinelhub: pip install 'firewatch[season]'"
        ) from exc
    return sentinelhub


def sh_config(settings: SentinelSettings) -> SHConfig:
    """A :class:`sentinelhub.SHConfig` built from firewatch settings only.

    sentinelhub's own config file and ``SH_*`` environment variables are ignored on purpose: the
    settings are the one source (and nothing is written to the user's home).

    Raises
    ------
    ConfigError
        When the client id or secret is not set.
    """
    sh = _require()
    if settings.client_id is None or settings.client_secret is None:
        raise ConfigError(
            "Sentinel Hub credentials are not set: FIREWATCH_SEASON__SENTINEL__CLIENT_ID and "
            "FIREWATCH_SEASON__SENTINEL__CLIENT_SECRET (or [season.sentinel] in firewatch.toml)"
        )
    return sh.SHConfig(
        use_defaults=True,
        sh_client_id=settings.client_id.get_secret_value(),
        sh_client_secret=settings.client_secret.get_secret_value(),
        sh_base_url=settings.base_url.rstrip("/"),
        sh_token_url=settings.token_url,
        download_timeout_seconds=settings.timeout_s,
        max_download_attempts=settings.retries + 1,
        download_sleep_time=2.0,
    )


def _wrap(exc: Exception, what: str) -> SentinelError:
    """Turn sentinelhub / oauthlib / requests errors into firewatch errors, keeping the cause."""
    from oauthlib.oauth2.rfc6749.errors import InsecureTransportError, OAuth2Error

    if isinstance(exc, InsecureTransportError):
        return SentinelError(f"{what}: the token URL must use https")
    if isinstance(exc, OAuth2Error):
        return SentinelAuthError(
            f"{what}: Sentinel Hub refused the client credentials ({exc.error})",
            status=exc.status_code,
        )
    status = None
    req_exc = getattr(exc, "request_exception", None) or exc
    response = getattr(req_exc, "response", None)
    if response is not None:
        status = response.status_code
    if status in (401, 403):
        return SentinelAuthError(f"{what}: access refused (HTTP {status})", status=status)
    first_line = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    return SentinelError(f"{what} failed: {first_line}", status=status)


class SentinelSession:
    """One authenticated connection to Sentinel Hub, opened on first use and then reused.

    Parameters
    ----------
    settings
        ``Settings.season.sentinel``.
    """

    def __init__(self, settings: SentinelSettings) -> None:
        self.settings = settings
        self._client: Any = None
        self._catalog: Any = None
        self._collection: Any = None
        self.config: SHConfig | None = None

    def _open(self) -> None:
        if self._client is not None:
            return
        sh = _require()
        import requests
        from oauthlib.oauth2.rfc6749.errors import OAuth2Error

        self.config = sh_config(self.settings)
        try:
            session = sh.SentinelHubSession(config=self.config)
        except (requests.RequestException, sh.exceptions.DownloadFailedException) as exc:
            raise _wrap(exc, "Sentinel Hub login") from exc
        except OAuth2Error as exc:
            raise _wrap(exc, "Sentinel Hub login") from exc
        self._client = sh.SentinelHubDownloadClient(config=self.config, session=session)
        self._catalog = sh.SentinelHubCatalog(config=self.config)
        self._catalog.client = self._client
        # The stock collection is pinned to the main deployment; this one follows sh_base_url.
        self._collection = sh.DataCollection.SENTINEL2_L2A.define_from(
            "FIREWATCH_SENTINEL2_L2A", service_url=None
        )

    def search(
        self, bbox_wgs84: tuple[float, float, float, float], first: dt.date, last: dt.date
    ) -> pd.DataFrame:
        """Scenes (id, date, cloud cover %) under the cloud limit over a window and period."""
        sh = _require()
        import requests

        self._open()
        bbox = sh.BBox(bbox_wgs84, crs=sh.CRS.WGS84)
        try:
            items = list(
                self._catalog.search(
                    self._collection,
                    bbox=bbox,
                    time=(first.isoformat(), last.isoformat()),
                    filter=f"eo:cloud_cover < {self.settings.max_cloud_pct:g}",
                    fields={
                        "include": ["id", "properties.datetime", "properties.eo:cloud_cover"],
                        "exclude": [],
                    },
                )
            )
        except (requests.RequestException, sh.exceptions.DownloadFailedException) as exc:
            raise _wrap(exc, "Sentinel Hub catalog search") from exc
        rows = [
            {
                "id": it["id"],
                "datetime": pd.Timestamp(it["properties"]["datetime"]),
                "cloud_cover": float(it["properties"].get("eo:cloud_cover", np.nan)),
            }
            for it in items
        ]
        frame = pd.DataFrame(rows, columns=["id", "datetime", "cloud_cover"])
        frame["date"] = pd.to_datetime(frame["datetime"], utc=True).dt.date
        # The service applies the filter; apply it again so a lax server cannot slip one in.
        return frame.loc[frame["cloud_cover"] < self.settings.max_cloud_pct]

    def nbr(
        self, bbox_utm: tuple[float, float, float, float], epsg: int, day: dt.date, size: tuple
    ) -> np.ndarray:
        """NBR and clear flag for one day: array (height, width, 2) float32."""
        sh = _require()
        import requests

        self._open()
        bbox = sh.BBox(bbox_utm, crs=sh.CRS(epsg))
        request = sh.SentinelHubRequest(
            evalscript=EVALSCRIPT,
            input_data=[
                sh.SentinelHubRequest.input_data(
                    data_collection=self._collection,
                    time_interval=(day.isoformat(), (day + dt.timedelta(days=1)).isoformat()),
                    mosaicking_order=sh.MosaickingOrder.LEAST_CC,
                    maxcc=self.settings.max_cloud_pct / 100.0,
                )
            ],
            responses=[sh.SentinelHubRequest.output_response("default", sh.MimeType.TIFF)],
            bbox=bbox,
            size=size,
            config=self.config,
        )
        try:
            (data,) = self._client.download(request.download_list, decode_data=True)
        except (requests.RequestException, sh.exceptions.DownloadFailedException) as exc:
            raise _wrap(exc, "Sentinel Hub process request") from exc
        arr = np.asarray(data, dtype=np.float32)
        if arr.ndim != 3 or arr.shape[2] != 2 or arr.shape[:2] != (size[1], size[0]):
            raise SentinelError(
                f"Sentinel Hub returned an image of shape {arr.shape}, expected "
                f"({size[1]}, {size[0]}, 2)"
            )
        return arr


@dataclasses.dataclass
class BurnScar:
    """The burn-scar test of one fire event."""

    event_id: int
    status: str  # confirmed | not_confirmed | inconclusive | no_scene
    burned_ha: float | None
    threshold: float
    valid_fraction: float | None
    dnbr_mean: float | None
    class_ha: dict[str, float]
    pre_date: str | None
    post_date: str | None
    pre_cloud_pct: float | None
    post_cloud_pct: float | None
    bbox_wgs84: tuple[float, float, float, float]
    epsg: int
    resolution_m: float
    note: str = ""
    dnbr_path: str | None = None
    cached: bool = False

    def as_row(self) -> dict[str, Any]:
        """A flat table row: class areas as ``<class>_ha`` columns, the bbox as text."""
        row = dataclasses.asdict(self)
        classes = row.pop("class_ha")
        row.update({f"{k}_ha": v for k, v in classes.items()})
        row["bbox_wgs84"] = ",".join(f"{v:.5f}" for v in self.bbox_wgs84)
        return row


def dnbr_class_areas(dnbr: np.ndarray, valid: np.ndarray, pixel_ha: float) -> dict[str, float]:
    """Area (ha) of each Key & Benson dNBR class among ``valid`` pixels."""
    bounds = [b for _, b in DNBR_CLASSES[1:]]
    idx = np.digitize(dnbr[valid], bounds)  # 0 unburned ... 4 high
    counts = np.bincount(idx, minlength=len(DNBR_CLASSES))
    return {name: float(c * pixel_ha) for (name, _), c in zip(DNBR_CLASSES, counts, strict=True)}


def _utm_epsg(lon: float, lat: float) -> int:
    zone = int((lon + 180) // 6) + 1
    return (32600 if lat >= 0 else 32700) + zone


def _window(
    event: Mapping[str, Any], cfg: SentinelSettings
) -> tuple[tuple[float, float, float, float], tuple[float, float, float, float], int, float]:
    """WGS-84 bbox, UTM bbox (snapped to the pixel grid), EPSG and resolution for an event."""
    from pyproj import Transformer

    lon0, lat0 = float(event["longitude"]), float(event["latitude"])
    epsg = _utm_epsg(lon0, lat0)
    to_utm = Transformer.from_crs(4326, epsg, always_xy=True)
    lons = np.array([event["lon_min"], event["lon_max"]], dtype=float)
    lats = np.array([event["lat_min"], event["lat_max"]], dtype=float)
    xs, ys = to_utm.transform(np.repeat(lons, 2), np.tile(lats, 2))
    b = cfg.buffer_m
    res = cfg.resolution_m
    span = max(xs.max() - xs.min(), ys.max() - ys.min()) + 2 * b
    if span / res > _MAX_PIXELS:
        res = math.ceil(span / _MAX_PIXELS)  # coarser, to stay inside the API limit
    minx = math.floor((xs.min() - b) / res) * res
    miny = math.floor((ys.min() - b) / res) * res
    maxx = math.ceil((xs.max() + b) / res) * res
    maxy = math.ceil((ys.max() + b) / res) * res
    to_wgs = Transformer.from_crs(epsg, 4326, always_xy=True)
    cx, cy = to_wgs.transform([minx, maxx, minx, maxx], [miny, miny, maxy, maxy])
    wgs = (min(cx), min(cy), max(cx), max(cy))
    return wgs, (minx, miny, maxx, maxy), epsg, float(res)


def _day(value: Any) -> dt.date:
    ts = pd.Timestamp(value)
    if ts.tzinfo is not None:
        ts = ts.tz_convert("UTC")
    return ts.date()


def _cache_key(event: Mapping[str, Any], cfg: SentinelSettings, utm: tuple, res: float) -> str:
    parts = {
        "v": _CACHE_VERSION,
        "base_url": cfg.base_url,
        "utm": [round(v, 3) for v in utm],
        "res": res,
        "first": _day(event["first_utc"]).isoformat(),
        "last": _day(event["last_utc"]).isoformat(),
        "pre_days": cfg.pre_days,
        "post_days": cfg.post_days,
        "max_cloud": cfg.max_cloud_pct,
        "threshold": cfg.dnbr_threshold,
        "min_valid": cfg.min_valid_fraction,
        "min_ha": cfg.min_burned_ha,
        "evalscript": hashlib.sha256(EVALSCRIPT.encode()).hexdigest()[:16],
    }
    return hashlib.sha256(json.dumps(parts, sort_keys=True).encode()).hexdigest()[:24]


def _write_dnbr(path: Path, dnbr: np.ndarray, utm: tuple, epsg: int, res: float) -> str | None:
    try:
        import rasterio
        from affine import Affine
    except ImportError:
        log.info("rasterio not installed: dNBR raster not kept")
        return None
    minx, _, _, maxy = utm
    tmp = path.with_suffix(".tmp")
    with rasterio.open(
        tmp,
        "w",
        driver="GTiff",
        width=dnbr.shape[1],
        height=dnbr.shape[0],
        count=1,
        dtype="float32",
        crs=f"EPSG:{epsg}",
        transform=Affine(res, 0.0, minx, 0.0, -res, maxy),  # not from_origin: it warns
        nodata=np.nan,
        compress="deflate",
    ) as dst:
        dst.write(dnbr.astype(np.float32), 1)
        dst.set_band_description(1, "dNBR (NBR pre - NBR post); NaN where not clear")
    tmp.replace(path)
    return path.name


def confirm_event(
    event: Mapping[str, Any],
    settings: SentinelSettings,
    *,
    session: SentinelSession | None = None,
    event_id: int | None = None,
) -> BurnScar:
    """Look for a Sentinel-2 burn scar at one fire event.

    Parameters
    ----------
    event
        A row of :func:`~firewatch.publish.season.events.event_table` (``first_utc``,
        ``last_utc``, ``latitude``, ``longitude``, ``lat_min``, ``lat_max``, ``lon_min``,
        ``lon_max``).
    settings
        ``Settings.season.sentinel``.
    session
        An open :class:`SentinelSession` (one is opened when needed).
    event_id
        Id reported in the result (default: ``event["event_id"]`` or the row name).

    Returns
    -------
    BurnScar
        With ``cached=True`` when it came from the cache.

    Raises
    ------
    SentinelAuthError, SentinelError
        When Sentinel Hub refuses the credentials or fails.
    ConfigError
        When credentials are missing (and the result is not cached).
    """
    eid = int(
        event_id if event_id is not None else event.get("event_id", getattr(event, "name", 0))
    )
    wgs, utm, epsg, res = _window(event, settings)
    key = _cache_key(event, settings, utm, res)
    cache_dir = Path(settings.cache_dir)
    cached = cache_dir / f"{key}.json"
    if cached.is_file():
        data = json.loads(cached.read_text(encoding="utf-8"))
        data.update(event_id=eid, cached=True, bbox_wgs84=tuple(data["bbox_wgs84"]))
        return BurnScar(**data)

    sess = session or SentinelSession(settings)
    first, last = _day(event["first_utc"]), _day(event["last_utc"])
    pre = sess.search(wgs, first - dt.timedelta(days=settings.pre_days), first)
    pre = pre.loc[pre["date"] < first]
    post = sess.search(
        wgs, last + dt.timedelta(days=1), last + dt.timedelta(days=settings.post_days + 1)
    )
    post = post.loc[post["date"] > last]
    width = round((utm[2] - utm[0]) / res)
    height = round((utm[3] - utm[1]) / res)
    base: dict[str, Any] = {
        "event_id": eid,
        "threshold": settings.dnbr_threshold,
        "bbox_wgs84": wgs,
        "epsg": epsg,
        "resolution_m": res,
    }
    if pre.empty or post.empty:
        which = " and ".join(w for w, f in (("pre-fire", pre), ("post-fire", post)) if f.empty)
        result = BurnScar(
            status="no_scene",
            burned_ha=None,
            valid_fraction=None,
            dnbr_mean=None,
            class_ha={},
            pre_date=None,
            post_date=None,
            pre_cloud_pct=None,
            post_cloud_pct=None,
            note=f"no {which} Sentinel-2 scene under {settings.max_cloud_pct:g}% cloud",
            **base,
        )
    else:
        # closest to the fire on each side; among scenes of that day the clearest
        pre_pick = pre.sort_values(["date", "cloud_cover"], ascending=[False, True]).iloc[0]
        post_pick = post.sort_values(["date", "cloud_cover"], ascending=[True, True]).iloc[0]
        a = sess.nbr(utm, epsg, pre_pick["date"], (width, height))
        b = sess.nbr(utm, epsg, post_pick["date"], (width, height))
        valid = (a[..., 1] > 0.5) & (b[..., 1] > 0.5) & np.isfinite(a[..., 0] + b[..., 0])
        dnbr = np.where(valid, a[..., 0] - b[..., 0], np.nan).astype(np.float32)
        pixel_ha = res * res / 1e4
        valid_fraction = float(valid.mean()) if valid.size else 0.0
        burned_ha = float((valid & (dnbr >= settings.dnbr_threshold)).sum() * pixel_ha)
        if valid_fraction < settings.min_valid_fraction:
            status = "inconclusive"
        elif burned_ha >= settings.min_burned_ha:
            status = "confirmed"
        else:
            status = "not_confirmed"
        note = "" if res == settings.resolution_m else f"resolution coarsened to {res:g} m"
        cache_dir.mkdir(parents=True, exist_ok=True)
        tif = _write_dnbr(cache_dir / f"{key}_dnbr.tif", dnbr, utm, epsg, res)
        result = BurnScar(
            status=status,
            burned_ha=burned_ha,
            valid_fraction=valid_fraction,
            dnbr_mean=float(np.nanmean(dnbr)) if valid.any() else None,
            class_ha=dnbr_class_areas(dnbr, valid, pixel_ha),
            pre_date=pre_pick["date"].isoformat(),
            post_date=post_pick["date"].isoformat(),
            pre_cloud_pct=float(pre_pick["cloud_cover"]),
            post_cloud_pct=float(post_pick["cloud_cover"]),
            note=note,
            dnbr_path=tif,
            **base,
        )
    if result.status != "no_scene":
        cache_dir.mkdir(parents=True, exist_ok=True)
        tmp = cached.with_suffix(".tmp")
        tmp.write_text(json.dumps(dataclasses.asdict(result), indent=1), encoding="utf-8")
        tmp.replace(cached)
    log.info("event %d: %s (%s ha)", eid, result.status, result.burned_ha)
    return result


def confirm_events(
    events: pd.DataFrame,
    settings: SentinelSettings,
    *,
    top: int | None = None,
    by: str = "fre_mj",
    session: SentinelSession | None = None,
) -> pd.DataFrame:
    """Burn-scar test for several events (the ``top`` largest by ``by``), one row each.

    Cached results are reused; Sentinel Hub is contacted only for the others.
    """
    chosen = events
    if top is not None:
        key = by if by in events.columns else "n_detections"
        chosen = events.sort_values(key, ascending=False).head(top)
    sess = session or SentinelSession(settings)  # logs in only if something is not cached
    rows = [
        confirm_event(
            {str(k): v for k, v in ev.items()}, settings, session=sess, event_id=int(str(eid))
        ).as_row()
        for eid, ev in chosen.iterrows()  # one remote request per event, not per point
    ]
    out = pd.DataFrame(rows)
    return out.set_index("event_id") if len(out) else out
