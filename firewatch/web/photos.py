"""Checks on uploaded photos: type by content, size, pixel count; GPS from EXIF.

A photo is accepted only when its first bytes are a JPEG or PNG signature *and* Pillow reads the
same format and verifies the file; the name and the declared content type are not trusted.
Large pixel counts are refused before decoding (decompression bombs).  EXIF GPS is taken as
WGS-84, which is what phone cameras record.
"""

from __future__ import annotations

import hashlib
import io
import re
import warnings
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, BinaryIO, Final

from firewatch.dispatch.review import CheckedPhoto
from firewatch.errors import FirewatchError

if TYPE_CHECKING:
    from starlette.datastructures import UploadFile

    from firewatch.config import Settings

__all__ = ["PhotoRejected", "check_photo", "checked_uploads", "exif_gps", "read_limited"]

#: Accepted formats: magic bytes -> (Pillow format, content type).
SIGNATURES: Final[dict[bytes, tuple[str, str]]] = {
    b"\xff\xd8\xff": ("JPEG", "image/jpeg"),
    b"\x89PNG\r\n\x1a\n": ("PNG", "image/png"),
}
GPS_IFD: Final = 0x8825
EXIF_IFD: Final = 0x8769
DATETIME_ORIGINAL: Final = 0x9003


class PhotoRejected(FirewatchError, ValueError):
    """An upload is not an acceptable photo; ``status`` is the HTTP status to answer with."""

    def __init__(self, message: str, *, status: int = 415) -> None:
        self.status = status
        super().__init__(message)


def read_limited(stream: BinaryIO, limit: int, *, name: str = "photo") -> bytes:
    """Read at most ``limit`` bytes; refuse (413) anything longer without reading it all."""
    data = stream.read(limit + 1)
    if len(data) > limit:
        raise PhotoRejected(
            f"{name}: larger than {limit // (1024 * 1024)} MiB ({limit} bytes)", status=413
        )
    return data


def _ratio(v: Any) -> float:
    if isinstance(v, tuple) and len(v) == 2:
        return float(v[0]) / float(v[1])
    return float(v)


def _dms(values: Any, ref: Any, negative: str) -> float | None:
    try:
        d, m, s = (_ratio(x) for x in values)
    except (TypeError, ValueError, ZeroDivisionError):
        return None
    deg = d + m / 60.0 + s / 3600.0
    if isinstance(ref, bytes):
        ref = ref.decode("ascii", "replace")
    if str(ref).strip().upper() == negative:
        deg = -deg
    return deg


def exif_gps(image: Any) -> tuple[float | None, float | None, str | None]:
    """``(latitude, longitude, taken_at)`` from a Pillow image's EXIF, each ``None`` if absent."""
    try:
        exif = image.getexif()
    except Exception:  # a broken EXIF block is not a reason to refuse the photo
        return None, None, None
    taken = None
    try:
        raw = exif.get_ifd(EXIF_IFD).get(DATETIME_ORIGINAL) or exif.get(0x0132)
        if raw:
            taken = str(raw).strip("\x00 ")[:32] or None
    except Exception:
        taken = None
    try:
        gps = exif.get_ifd(GPS_IFD)
    except Exception:
        return None, None, taken
    if not gps or 2 not in gps or 4 not in gps:
        return None, None, taken
    lat = _dms(gps.get(2), gps.get(1, "N"), "S")
    lon = _dms(gps.get(4), gps.get(3, "E"), "W")
    if lat is None or lon is None or not (-90 <= lat <= 90 and -180 <= lon <= 180):
        return None, None, taken
    if lat == 0 and lon == 0:  # cameras write zeros when they had no fix
        return None, None, taken
    return lat, lon, taken


_SAFE_NAME = re.compile(r"[^A-Za-z0-9._-]+")


def check_photo(
    data: bytes, *, filename: str = "photo", max_bytes: int, max_pixels: int
) -> CheckedPhoto:
    """Check an uploaded photo by its content and read its size and EXIF GPS.

    Raises
    ------
    PhotoRejected
        415 if it is not a JPEG or PNG (by content), 413 if too large in bytes or pixels,
        400 if it is empty or truncated/corrupt.
    """
    from PIL import Image, UnidentifiedImageError

    name = _SAFE_NAME.sub("_", filename.rsplit("/", 1)[-1].rsplit("\\", 1)[-1])[:100] or "photo"
    if not data:
        raise PhotoRejected(f"{name}: empty file", status=400)
    if len(data) > max_bytes:
        raise PhotoRejected(f"{name}: larger than {max_bytes} bytes", status=413)
    kind = next(((f, ct) for sig, (f, ct) in SIGNATURES.items() if data.startswith(sig)), None)
    if kind is None:
        raise PhotoRejected(f"{name}: not a JPEG or PNG photo (checked by content)")
    fmt, content_type = kind
    try:
        with warnings.catch_warnings():
            # Pillow warns, then raises, on huge images; the explicit check below decides.
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(data)) as img:
                if img.format != fmt:
                    raise PhotoRejected(f"{name}: content is {img.format}, not {fmt}")
                width, height = img.size
                if width * height > max_pixels:
                    raise PhotoRejected(
                        f"{name}: {width}×{height} pixels is more than {max_pixels}", status=413
                    )
                img.verify()
            with Image.open(io.BytesIO(data)) as img:
                img.load()  # verify() does not decode JPEG data; a truncated one fails here
                lat, lon, taken = exif_gps(img)
    except PhotoRejected:
        raise
    except (
        UnidentifiedImageError,
        OSError,
        SyntaxError,
        ValueError,
        Image.DecompressionBombError,
    ) as exc:
        raise PhotoRejected(f"{name}: unreadable or damaged image ({exc})", status=400) from exc
    return CheckedPhoto(
        filename=name,
        content_type=content_type,
        data=data,
        sha256=hashlib.sha256(data).hexdigest(),
        width=int(width),
        height=int(height),
        gps_lat=lat,
        gps_lon=lon,
        taken_at=taken,
    )


def checked_uploads(settings: Settings, files: Sequence[UploadFile]) -> list[CheckedPhoto]:
    """Check the photos of one form; empty file inputs (nothing chosen) are skipped.

    Raises
    ------
    PhotoRejected
        413 for too many photos or too large a one, 415/400 as :func:`check_photo`.
    """
    cfg = settings.review
    chosen = [f for f in files if f.filename or (f.size or 0) > 0]
    if len(chosen) > cfg.max_photos:
        raise PhotoRejected(f"at most {cfg.max_photos} photos per verdict", status=413)
    out = []
    for f in chosen:
        name = f.filename or "photo"
        f.file.seek(0)
        data = read_limited(f.file, cfg.max_photo_bytes, name=name)
        out.append(
            check_photo(
                data,
                filename=name,
                max_bytes=cfg.max_photo_bytes,
                max_pixels=cfg.max_photo_pixels,
            )
        )
    return out
