"""A real browser (Debian chromium via Playwright) on a phone-sized screen against uvicorn.

A village grid member logs in, opens an assigned point, gives a verdict with a photo carrying
EXIF GPS, and sees it reflected on the point and in the list.
"""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from browser import launch_chromium, open_page
from review_support import PASSWORD, free_port, jpeg_with_gps, review_store
from sqlalchemy import Engine, select

from firewatch.config import Settings
from firewatch.dispatch.models import AuditEntry, VerdictPhoto
from firewatch.web import create_app

pytestmark = pytest.mark.browser

PHONE = {"width": 390, "height": 844}


@pytest.fixture
def served(engine: Engine, settings: Settings) -> Iterator[tuple[Any, str]]:
    import uvicorn

    store = review_store(engine, settings)
    port = free_port()
    server = uvicorn.Server(
        uvicorn.Config(
            create_app(settings, engine),
            host="127.0.0.1",
            port=port,
            log_level="warning",
            lifespan="off",
        )
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        assert thread.is_alive() and time.monotonic() < deadline, "uvicorn did not start"
        time.sleep(0.05)
    try:
        yield store, f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(10)


def test_grid_member_gives_a_verdict_with_a_photo_on_a_phone(
    served: tuple[Any, str], tmp_path: Path, artifacts: Path
) -> None:
    store, base = served
    a1 = store.ids["a1"]
    photo = tmp_path / "IMG_20250423_150211.jpg"
    photo.write_bytes(jpeg_with_gps(45.2921, 130.9831, size=(640, 480)))
    with launch_chromium() as browser:
        page, log = open_page(browser, f"{base}/points", **PHONE)
        # Not logged in: the login page, which sends us back where we were going.
        assert "/login" in page.url
        page.fill("input[name=username]", "member_a")
        page.fill("input[name=password]", PASSWORD)
        page.click("button[type=submit]")
        page.wait_for_url(f"{base}/points")
        items = page.locator("ol.points li")
        assert items.count() == 2  # my village's two points, and nothing else
        assert page.locator(".mapbox svg circle").count() == 2
        # The stylesheet applied (CSP allows our own CSS and nothing else).
        bar = page.eval_on_selector("header.bar", "e => getComputedStyle(e).backgroundColor")
        assert bar == "rgb(59, 47, 47)"

        page.click(f"a[href='/points/{a1}']")
        page.wait_for_url(f"{base}/points/{a1}")
        assert page.inner_text("#status") == "待核查"
        page.check("input[name=verdict][value=straw_burning]")
        page.fill("textarea[name=note]", "玉米秸秆焚烧，约两亩，已扑灭")
        page.set_input_files("input[name=photos]", str(photo))
        page.click("#verdict-form button[type=submit]")
        page.wait_for_url(re.compile(r".*\?saved=verdict$"))

        assert page.inner_text("#status") == "已反馈"
        assert "确认秸秆焚烧" in page.inner_text("#verdict")
        assert "玉米秸秆焚烧，约两亩，已扑灭" in page.inner_text("#verdicts")
        img = page.locator("#verdicts img")
        assert img.evaluate("i => i.complete && i.naturalWidth") == 640
        caption = page.inner_text("#verdicts figcaption")
        assert "45.29210°N, 130.98310°E" in caption
        distance = int(re.search(r"距火点 (\d+) m", caption).group(1))
        assert 150 < distance < 300
        # The photo's position is drawn on the point's map.
        assert page.locator(".mapbox svg rect title", has_text="照片").count() == 1
        page.screenshot(path=str(artifacts / "review_point_phone.png"), full_page=True)

        page.click("text=← 我的火点")
        page.wait_for_url(f"{base}/points")
        badge = page.locator(f"a[href='/points/{a1}'] .badge").inner_text()
        assert "已反馈" in badge and "确认秸秆焚烧" in badge
        page.screenshot(path=str(artifacts / "review_list_phone.png"), full_page=True)

        assert log.errors == []
        assert log.external == []
    with store.engine.connect() as conn:
        assert conn.execute(select(VerdictPhoto.gps_lat)).scalar_one() == pytest.approx(45.2921)
        who = conn.execute(
            select(AuditEntry.username, AuditEntry.ip).where(AuditEntry.action == "verdict")
        ).one()
    assert tuple(who) == ("member_a", "127.0.0.1")
