"""Embedding maps in reports: an iframe snippet, and a static PNG rendered by headless Chromium."""

from __future__ import annotations

import html
import logging
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from firewatch.errors import FirewatchError

__all__ = ["CHROMIUM_ARGS", "MapRenderError", "chromium", "iframe_snippet", "render_png"]

log = logging.getLogger(__name__)

#: Flags for a headless Chromium that talks to nobody but the page it is given.
CHROMIUM_ARGS: tuple[str, ...] = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
)

#: Hidden in static images: controls that only make sense on a screen.
_PRINT_CSS = """
.leaflet-control-layers, .leaflet-control-zoom, .fw-play, .fw-range,
.fw-slider-row, .fw-legend input { display: none !important; }
"""


class MapRenderError(FirewatchError, RuntimeError):
    """The browser could not render a map (missing browser, page error, timeout)."""


def iframe_snippet(src: str, *, title: str, height: int = 600, width: str = "100%") -> str:
    """An ``<iframe>`` element that embeds the map page ``src`` (a relative or absolute URL)."""
    return (
        f'<iframe src="{html.escape(src, quote=True)}" title="{html.escape(title, quote=True)}" '
        f'width="{html.escape(width, quote=True)}" height="{int(height)}" '
        'style="border:0" loading="lazy" allowfullscreen></iframe>\n'
    )


@contextmanager
def chromium(executable: str | None = "/usr/bin/chromium") -> Iterator[Any]:
    """A headless Chromium driven by Playwright (``executable=None``: Playwright's own)."""
    try:
        from playwright.sync_api import sync_playwright
    except ImportError as exc:  # pragma: no cover - depends on the installation
        raise ImportError(
            "static map images need Playwright: pip install playwright "
            "(and Debian's chromium, or `playwright install chromium`)"
        ) from exc
    with sync_playwright() as pw:
        try:
            browser = pw.chromium.launch(executable_path=executable, args=list(CHROMIUM_ARGS))
        except Exception as exc:
            raise MapRenderError(f"could not start Chromium ({executable}): {exc}") from exc
        try:
            yield browser
        finally:
            browser.close()


def render_png(
    html_path: str | Path,
    png_path: str | Path,
    *,
    width: int = 1200,
    height: int = 900,
    scale: float = 2.0,
    tiles: bool = False,
    chromium_path: str | None = "/usr/bin/chromium",
    browser: Any | None = None,
    timeout_s: float = 60.0,
) -> Path:
    """Render a saved map page to a PNG (for Word and PDF bulletins).

    Parameters
    ----------
    html_path
        A page written by :meth:`~firewatch.publish.maps.build.FireMap.save`.
    png_path
        Where to write the image.
    width, height
        Size in CSS pixels; the image is ``scale`` times larger (print resolution).
    tiles
        Load base-map tiles.  Off by default: the image is made without the internet, on the
        "no tiles" base (boundaries and points only), which is also what prints best.  Leaflet
        and plugins linked from CDNs are served from the vendored copies either way, so pages
        saved with ``assets="cdn"`` render too.
    chromium_path
        The browser; ``None`` uses Playwright's own.
    browser
        An already started Playwright browser to reuse (many images in one run).

    Returns
    -------
    Path
        ``png_path``.

    Raises
    ------
    MapRenderError
        If the page has a script error, or the points are not drawn within ``timeout_s``.
    """
    html_path = Path(html_path).resolve()
    png_path = Path(png_path)
    png_path.parent.mkdir(parents=True, exist_ok=True)
    from playwright.sync_api import Error as PlaywrightError

    try:
        if browser is None:
            with chromium(chromium_path) as b:
                return _render(b, html_path, png_path, width, height, scale, tiles, timeout_s)
        return _render(browser, html_path, png_path, width, height, scale, tiles, timeout_s)
    except PlaywrightError as exc:  # includes timeouts
        raise MapRenderError(f"{html_path.name}: could not render: {exc}") from exc


def _offline_route(route: Any, *, tiles: bool) -> None:
    """Serve CDN files from the vendored copies; without ``tiles`` nothing leaves the machine."""
    from firewatch.publish.maps.assets import vendored_file

    url = route.request.url
    local = vendored_file(url)
    if local is not None:
        ctype = "text/css" if local.suffix == ".css" else "application/javascript"
        route.fulfill(body=local.read_bytes(), content_type=ctype)
    elif tiles or url.startswith(("file:", "data:", "blob:")):
        route.continue_()
    else:
        route.abort()


def _render(
    browser: Any,
    html_path: Path,
    png_path: Path,
    width: int,
    height: int,
    scale: float,
    tiles: bool,
    timeout_s: float,
) -> Path:
    context = browser.new_context(
        viewport={"width": width, "height": height}, device_scale_factor=scale
    )
    errors: list[str] = []
    try:
        page = context.new_page()
        page.on("pageerror", lambda exc: errors.append(str(exc)))
        page.route("**/*", lambda route: _offline_route(route, tiles=tiles))
        page.goto(html_path.as_uri(), wait_until="load", timeout=timeout_s * 1000)
        if not tiles:
            # Switch to the "no tiles" base layer so no grey empty tiles are drawn.
            page.evaluate(
                """() => {
                  for (const label of document.querySelectorAll('.leaflet-control-layers-base label')) {
                    const input = label.querySelector('input');
                    if (label.textContent.includes('No tiles') && input && !input.checked) input.click();
                  }
                }"""
            )
        page.add_style_tag(content=_PRINT_CSS)
        page.wait_for_function(
            "() => !window.FW || !FW.layers.length || "
            "document.querySelector('.folium-map').hasAttribute('data-fw-drawn')",
            timeout=timeout_s * 1000,
        )
        if tiles:
            page.wait_for_load_state("networkidle", timeout=timeout_s * 1000)
        if errors:
            raise MapRenderError(f"{html_path.name}: script error: {errors[0]}")
        page.locator(".folium-map").screenshot(path=str(png_path))
    finally:
        context.close()
    log.info("map image written: %s", png_path)
    return png_path
