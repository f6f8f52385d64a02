"""A real headless Chromium for page tests (Debian ``chromium`` driven by Playwright).

Usage::

    from tests.browser import launch_chromium, open_page

    with launch_chromium() as browser:
        page, log = open_page(browser, path_or_url)
        assert log.errors == [] and log.external == []

``launch_chromium`` skips the test when Playwright or the browser is missing (a failure under
``FIREWATCH_STRICT=1``, see ``conftest.py``).  ``open_page`` records every request and every
console error and uncaught exception of the page; with ``block_network=True`` (the default) any
request that is not ``file:``/``data:``/``blob:`` or to 127.0.0.1 is aborted, so no test touches
the internet even when a page tries to.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from firewatch.publish.maps.embed import CHROMIUM_ARGS as EMBED_CHROMIUM_ARGS

#: Debian's chromium; override with FIREWATCH_CHROMIUM.
CHROMIUM = os.environ.get("FIREWATCH_CHROMIUM", "/usr/bin/chromium")

#: The launch flags of the project brief (headless, talking to nobody on its own): the same
#: flags firewatch renders map images with.
CHROMIUM_ARGS = list(EMBED_CHROMIUM_ARGS)

_LOCAL = ("file:", "data:", "blob:", "about:", "http://127.0.0.1", "http://localhost")


@dataclass
class PageLog:
    """What a page did: every request URL, console errors, uncaught exceptions."""

    requests: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)

    @property
    def external(self) -> list[str]:
        """Requests that would have left the machine."""
        return [u for u in self.requests if not u.startswith(_LOCAL)]


@contextmanager
def launch_chromium(**launch_kwargs: Any) -> Iterator[Any]:
    """Start headless Chromium (Playwright ``Browser``); skip the test if it cannot run."""
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:  # pragma: no cover - depends on the installation
        pytest.skip("playwright is not installed (pip install playwright)")
    if not (Path(CHROMIUM).is_file() or shutil.which(CHROMIUM)):
        pytest.skip(f"no Chromium at {CHROMIUM} (apt-get install chromium)")
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, **launch_kwargs)
        try:
            yield browser
        finally:
            browser.close()


def open_page(
    browser: Any,
    target: str | Path,
    *,
    width: int = 1200,
    height: int = 850,
    block_network: bool = True,
    wait_until: str = "load",
) -> tuple[Any, PageLog]:
    """Open ``target`` (a file path or URL) in a new page; return the page and its log."""
    page = browser.new_page(viewport={"width": width, "height": height})
    log = PageLog()
    page.on("request", lambda r: log.requests.append(r.url))
    page.on("console", lambda m: log.errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda exc: log.errors.append(f"uncaught: {exc}"))
    if block_network:
        page.route(
            "**/*",
            lambda route: (
                route.continue_() if route.request.url.startswith(_LOCAL) else route.abort()
            ),
        )
    url = Path(target).resolve().as_uri() if isinstance(target, Path) else str(target)
    page.goto(url, wait_until=wait_until)
    return page, log
