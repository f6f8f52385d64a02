"""Photo uploads: type by content (not name or declared type), size and pixel limits, EXIF GPS."""

from __future__ import annotations

import io
import os
from typing import Any

import pytest
from PIL import Image
from review_support import api_login, jpeg_with_gps, make_client, png_bytes, review_store
from sqlalchemy import Engine, func, select

from firewatch.config import Settings
from firewatch.dispatch.models import Verdict, VerdictPhoto
from firewatch.web.photos import PhotoRejected, check_photo

LIMITS = {"max_bytes": 200_000, "max_pixels": 1_000_000}


@pytest.fixture
def store(engine: Engine, settings: Settings) -> Any:
    settings.review.max_photo_bytes = 200_000
    settings.review.max_photo_pixels = 1_000_000
    settings.review.max_photos = 2
    return review_store(engine, settings)


def _post(store: Any, files: list[tuple[str, tuple[str, bytes, str]]]) -> Any:
    client = make_client(store)
    csrf = api_login(client, "member_a")
    return client.post(
        f"/api/v1/points/{store.ids['a1']}/verdict",
        data={"verdict": "straw_burning"},
        files=files,
        headers={"X-CSRF-Token": csrf},
    )


def _stored(store: Any) -> tuple[int, int]:
    with store.engine.connect() as conn:
        return (
            conn.execute(select(func.count()).select_from(Verdict.__table__)).scalar_one(),
            conn.execute(select(func.count()).select_from(VerdictPhoto.__table__)).scalar_one(),
        )


def _noise_jpeg(side: int) -> bytes:
    buf = io.BytesIO()
    Image.frombytes("RGB", (side, side), os.urandom(side * side * 3)).save(buf, "JPEG", quality=95)
    return buf.getvalue()


@pytest.mark.parametrize(
    ("name", "data", "declared", "status"),
    [
        ("fire.jpg", b"<html><script>alert(1)</script></html>", "image/jpeg", 415),
        ("fire.jpg", b"GIF89a\x01\x00\x01\x00\x00\x00\x00;", "image/jpeg", 415),
        ("fire.jpg", b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n", "image/jpeg", 415),
        ("fire.jpg", b"\xff\xd8\xff\xe0<script>alert(1)</script>", "image/jpeg", 400),
        ("fire.jpg", b"", "image/jpeg", 400),
    ],
    ids=["html", "gif", "pdf", "jpeg-magic-then-garbage", "empty"],
)
def test_non_photos_are_refused_by_content_and_nothing_is_stored(
    store: Any, name: str, data: bytes, declared: str, status: int
) -> None:
    r = _post(store, [("photos", (name, data, declared))])
    assert r.status_code == status, r.text
    assert _stored(store) == (0, 0)  # the verdict is not half-saved without its photo


def test_a_truncated_jpeg_is_refused(store: Any) -> None:
    good = jpeg_with_gps(45.29, 130.98, size=(200, 150))
    r = _post(store, [("photos", ("cut.jpg", good[: len(good) // 2], "image/jpeg"))])
    assert r.status_code == 400
    assert "damaged" in r.json()["detail"]


def test_a_png_sent_as_jpeg_is_stored_as_what_it_is(store: Any) -> None:
    r = _post(store, [("photos", ("photo.jpg", png_bytes(), "image/jpeg"))])
    assert r.status_code == 201
    with store.engine.connect() as conn:
        row = conn.execute(select(VerdictPhoto.content_type, VerdictPhoto.filename)).one()
    assert row == ("image/png", "photo.jpg")


def test_size_and_count_limits(store: Any) -> None:
    big = _noise_jpeg(480)
    assert len(big) > 200_000
    r = _post(store, [("photos", ("big.jpg", big, "image/jpeg"))])
    assert r.status_code == 413
    three = [("photos", (f"{i}.jpg", jpeg_with_gps(45.29, 130.98), "image/jpeg")) for i in range(3)]
    assert _post(store, three).status_code == 413
    assert _stored(store) == (0, 0)
    two = three[:2]
    assert _post(store, two).status_code == 201
    assert _stored(store) == (1, 2)


def test_a_request_body_over_the_limit_is_cut_off(store: Any) -> None:
    client = make_client(store)
    csrf = api_login(client, "member_a")
    # The whole request may carry 2 photos of 200 kB plus 1 MiB of form: 1.6 MB is too much.
    blob = b"\xff\xd8\xff" + bytes(1_600_000)
    r = client.post(
        f"/api/v1/points/{store.ids['a1']}/verdict",
        data={"verdict": "straw_burning"},
        files={"photos": ("x.jpg", blob, "image/jpeg")},
        headers={"X-CSRF-Token": csrf},
    )
    assert r.status_code == 413
    assert _stored(store) == (0, 0)


def test_too_many_pixels_are_refused_before_decoding() -> None:
    buf = io.BytesIO()
    Image.new("L", (1200, 1000)).save(buf, "PNG")  # small file, 1.2 Mpx
    with pytest.raises(PhotoRejected) as err:
        check_photo(buf.getvalue(), filename="wide.png", **LIMITS)
    assert err.value.status == 413


def test_exif_gps_is_read_in_degrees_with_hemispheres() -> None:
    ok = check_photo(jpeg_with_gps(45.2921, 130.9831), filename="a.jpg", **LIMITS)
    assert ok.content_type == "image/jpeg" and (ok.width, ok.height) == (64, 48)
    assert abs(ok.gps_lat - 45.2921) < 1e-6 and abs(ok.gps_lon - 130.9831) < 1e-6
    assert ok.taken_at == "2025:04:23 15:02:11"
    south_west = check_photo(jpeg_with_gps(-33.5, -70.25), filename="b.jpg", **LIMITS)
    assert (south_west.gps_lat, south_west.gps_lon) == pytest.approx((-33.5, -70.25))
    plain = check_photo(png_bytes(), filename="c.png", **LIMITS)
    assert (plain.gps_lat, plain.gps_lon) == (None, None)


def test_file_names_are_sanitised(store: Any) -> None:
    r = _post(store, [("photos", ("../../etc/<b>passwd</b>.jpg", png_bytes(), "image/png"))])
    assert r.status_code == 201
    with store.engine.connect() as conn:
        name = conn.execute(select(VerdictPhoto.filename)).scalar_one()
    assert "/" not in name and "<" not in name
