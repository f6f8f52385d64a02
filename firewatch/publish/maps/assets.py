"""Vendored Leaflet assets, and offline bundling of rendered folium pages.

folium links Leaflet and its plugins from public CDNs, which government intranets block.  The
files folium would load are vendored in ``firewatch/publish/assets/`` (versions and licences in
its README).  :func:`bundle_html` rewrites a rendered page so that it loads them

* ``"cdn"``: from the CDNs, as folium does (firewatch's own script is inlined: it has no CDN);
* ``"inline"``: from the page itself (one self-contained file; images as ``data:`` URIs);
* ``"alongside"``: from a folder next to the page (``<page>_files/``), for pages opened many
  times from a shared drive.

It works on any folium page, not only firewatch's: a page that loads a CDN file firewatch has not
vendored is refused in the offline modes (:class:`OfflineAssetError`) rather than written with a
link that will not load.
"""

from __future__ import annotations

import base64
import re
import shutil
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Final, Literal

from firewatch.errors import FirewatchError

__all__ = [
    "ASSETS",
    "ASSET_DIR",
    "AssetMode",
    "OfflineAssetError",
    "VendoredAsset",
    "asset_url",
    "bundle_html",
    "external_links",
    "vendored_file",
]

ASSET_DIR: Final = Path(__file__).resolve().parent.parent / "assets"

AssetMode = Literal["cdn", "inline", "alongside"]

#: Pseudo-URL scheme of firewatch's own files in a rendered page before bundling.
_OWN: Final = "firewatch-asset:"


class OfflineAssetError(FirewatchError, ValueError):
    """A page links a file from the internet that firewatch has not vendored."""

    def __init__(self, urls: list[str]) -> None:
        self.urls = urls
        super().__init__(
            "cannot write an offline map: these files are not vendored in "
            f"firewatch/publish/assets: {', '.join(urls)}"
        )


@dataclass(frozen=True)
class VendoredAsset:
    """One vendored file and the URLs pages load it from."""

    name: str
    path: str  # relative to ASSET_DIR
    #: URLs folium (or firewatch's online mode) uses for this file; the first is canonical.
    urls: tuple[str, ...]

    @property
    def kind(self) -> str:
        return "css" if self.path.endswith(".css") else "js"


_JSD: Final = "https://cdn.jsdelivr.net"
_CDNJS: Final = "https://cdnjs.cloudflare.com/ajax/libs"

ASSETS: Final[tuple[VendoredAsset, ...]] = (
    VendoredAsset(
        "leaflet",
        "leaflet/leaflet.js",
        (f"{_JSD}/npm/leaflet@1.9.3/dist/leaflet.js",),
    ),
    VendoredAsset(
        "leaflet_css",
        "leaflet/leaflet.css",
        (f"{_JSD}/npm/leaflet@1.9.3/dist/leaflet.css",),
    ),
    VendoredAsset(
        "leaflet_heat",
        "leaflet.heat/leaflet_heat.min.js",
        (
            f"{_JSD}/gh/python-visualization/folium@main/folium/templates/leaflet_heat.min.js",
            f"{_JSD}/gh/python-visualization/folium/folium/templates/leaflet_heat.min.js",
        ),
    ),
    VendoredAsset(
        "markercluster",
        "leaflet.markercluster/leaflet.markercluster.js",
        (f"{_CDNJS}/leaflet.markercluster/1.1.0/leaflet.markercluster.js",),
    ),
    VendoredAsset(
        "markercluster_css",
        "leaflet.markercluster/MarkerCluster.css",
        (f"{_CDNJS}/leaflet.markercluster/1.1.0/MarkerCluster.css",),
    ),
    VendoredAsset(
        "markercluster_default_css",
        "leaflet.markercluster/MarkerCluster.Default.css",
        (f"{_CDNJS}/leaflet.markercluster/1.1.0/MarkerCluster.Default.css",),
    ),
    VendoredAsset("fw_map", "firewatch/fw-map.js", (f"{_OWN}firewatch/fw-map.js",)),
    VendoredAsset("fw_map_css", "firewatch/fw-map.css", (f"{_OWN}firewatch/fw-map.css",)),
)

_BY_URL: Final[dict[str, VendoredAsset]] = {u: a for a in ASSETS for u in a.urls}
_BY_NAME: Final[dict[str, VendoredAsset]] = {a.name: a for a in ASSETS}

# branca renders links exactly like this (JavascriptLink / CssLink templates).
_SCRIPT_RE: Final = re.compile(r'<script src="([^"]+)"></script>')
_CSS_RE: Final = re.compile(r'<link rel="stylesheet" href="([^"]+)"\s*/?>')
_CSS_URL_RE: Final = re.compile(r"url\((['\"]?)(?!data:|#|https?:)([^'\")]+)\1\)")
_SOURCEMAP_RE: Final = re.compile(r"^\s*//# sourceMappingURL=.*$", re.MULTILINE)
_MIME: Final = {".png": "image/png", ".svg": "image/svg+xml", ".gif": "image/gif"}


def vendored_file(url: str) -> Path | None:
    """The vendored copy of a CDN URL (or of a file beside one, e.g. Leaflet's images)."""
    asset = _BY_URL.get(url)
    if asset is not None:
        return ASSET_DIR / asset.path
    for known, a in _BY_URL.items():
        base, local = known.rsplit("/", 1)[0] + "/", (ASSET_DIR / a.path).parent
        if url.startswith(base) and not url.startswith(_OWN):
            candidate = (local / url[len(base) :].split("?")[0]).resolve()
            if candidate.is_file() and local.resolve() in candidate.parents:
                return candidate
    return None


def asset_url(name: str) -> str:
    """The URL a page links ``name`` with before bundling (a CDN, or firewatch's pseudo-URL)."""
    return _BY_NAME[name].urls[0]


@cache
def _text(path: str) -> str:
    return (ASSET_DIR / path).read_text(encoding="utf-8")


@cache
def _inline_css(path: str) -> str:
    """CSS with its relative ``url(...)`` images turned into ``data:`` URIs."""
    base = (ASSET_DIR / path).parent

    def data_uri(m: re.Match[str]) -> str:
        target = base / m.group(2)
        mime = _MIME.get(target.suffix.lower(), "application/octet-stream")
        b64 = base64.b64encode(target.read_bytes()).decode("ascii")
        return f'url("data:{mime};base64,{b64}")'

    return _CSS_URL_RE.sub(data_uri, _text(path)).replace("</style", "<\\/style")


@cache
def _inline_js(path: str) -> str:
    # A source-map comment would make devtools fetch a file that is not there.
    return _SOURCEMAP_RE.sub("", _text(path)).replace("</script", "<\\/script")


def external_links(html: str) -> list[str]:
    """URLs of scripts and stylesheets a page loads from the network (http, https, //)."""
    urls = _SCRIPT_RE.findall(html) + _CSS_RE.findall(html)
    return [u for u in urls if u.startswith(("http://", "https://", "//"))]


def bundle_html(
    html: str, *, mode: AssetMode = "inline", html_path: str | Path | None = None
) -> str:
    """Rewrite the script and stylesheet links of a rendered folium page.

    Parameters
    ----------
    html
        The page, as ``folium.Map.get_root().render()`` returns it.
    mode
        ``"cdn"``, ``"inline"`` or ``"alongside"`` (see the module docstring).
    html_path
        Where the page will be written; needed for ``"alongside"``, whose files are copied to
        ``<stem>_files/`` beside it.

    Returns
    -------
    str
        The rewritten page.

    Raises
    ------
    OfflineAssetError
        In the offline modes, when the page links a network file that is not vendored.
    ValueError
        If ``mode`` is unknown, or ``"alongside"`` is asked for without ``html_path``.
    """
    if mode not in ("cdn", "inline", "alongside"):
        raise ValueError(f"asset mode must be cdn, inline or alongside, not {mode!r}")
    if mode == "alongside" and html_path is None:
        raise ValueError("mode='alongside' needs html_path (the files go beside the page)")
    files_dir: Path | None = None
    if mode == "alongside":
        assert html_path is not None
        page = Path(html_path)
        files_dir = page.parent / f"{page.stem}_files"

    def replace(m: re.Match[str], kind: str) -> str:
        url = m.group(1)
        asset = _BY_URL.get(url)
        if asset is None:
            return m.group(0)  # not ours: checked below
        own = url.startswith(_OWN)
        if mode == "cdn" and not own:
            return m.group(0)
        if mode == "alongside":
            assert files_dir is not None
            src = ASSET_DIR / asset.path
            dst = files_dir / asset.path
            dst.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(src, dst)
            if asset.kind == "css":
                # Copy the images the stylesheet refers to, keeping the relative layout.
                for ref in _CSS_URL_RE.findall(_text(asset.path)):
                    img_src = src.parent / ref[1]
                    img_dst = dst.parent / ref[1]
                    img_dst.parent.mkdir(parents=True, exist_ok=True)
                    shutil.copyfile(img_src, img_dst)
            rel = f"{files_dir.name}/{asset.path}"
            if kind == "css":
                return f'<link rel="stylesheet" href="{rel}"/>'
            return f'<script src="{rel}"></script>'
        if kind == "css":
            return f"<style>{_inline_css(asset.path)}</style>"
        return f"<script>{_inline_js(asset.path)}</script>"

    out = _SCRIPT_RE.sub(lambda m: replace(m, "js"), html)
    out = _CSS_RE.sub(lambda m: replace(m, "css"), out)
    if mode != "cdn":
        missing = external_links(out)
        if missing:
            raise OfflineAssetError(missing)
    return out
