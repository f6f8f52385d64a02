"""folium elements of firewatch maps (their JavaScript is in ``assets/firewatch/fw-map.js``)."""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from typing import Any

from branca.element import Figure
from folium.elements import JSCSSMixin
from folium.map import Layer
from folium.template import Template

from firewatch.publish.maps.assets import asset_url

__all__ = [
    "BaseTiles",
    "BoundaryLayer",
    "DataFigure",
    "FireHeat",
    "FireLegend",
    "FirePoints",
    "FitToPoints",
    "MapTitle",
    "TimeSlider",
]


# JSON never has "{{", "{%" or "{#" outside strings, so any such "{" is in a string, where the
# escape is valid.  It matters because branca compiles every rendered script as a Jinja template.
_JINJA_OPEN = re.compile(r"\{(?=[{%#])")


def to_js(obj: Any) -> str:
    """JSON that is safe inside a ``<script>`` element and through branca's Jinja pass."""
    text = (
        json.dumps(obj, ensure_ascii=False, separators=(",", ":"))
        .replace("<", "\\u003c")
        .replace(">", "\\u003e")
        .replace("&", "\\u0026")
        .replace("\u2028", "\\u2028")
        .replace("\u2029", "\\u2029")
    )
    return _JINJA_OPEN.sub(r"\\u007b", text)


class DataFigure(Figure):
    """A page that splices large data (points, boundaries) in after rendering.

    branca compiles every rendered script as a Jinja template again; lexing megabytes of point
    data that way costs more than building the map.  Elements in a ``DataFigure`` render a short
    placeholder instead, replaced here by the data.  In a plain ``Figure`` they inline the data.
    """

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.fw_data: dict[str, str] = {}

    def render(self, **kwargs: Any) -> str:
        self.fw_data = {}
        page: str = super().render(**kwargs)
        for key, data in self.fw_data.items():
            page = page.replace(key, data, 1)
        return page


def _data_ref(element: Any, data_js: str) -> str:
    root = element.get_root()
    if isinstance(root, DataFigure):
        key = f"__fw_data_{element.get_name()}__"
        root.fw_data[key] = data_js
        return key
    return data_js


_FW_JS = [("fw_map", asset_url("fw_map"))]
_FW_CSS = [("fw_map_css", asset_url("fw_map_css"))]
_HEAT_JS = [("leaflet_heat", asset_url("leaflet_heat")), *_FW_JS]


class FirePoints(JSCSSMixin, Layer):
    """All fire points as one canvas layer with lazy popups (``FW.Points``)."""

    _template = Template(
        """
        {% macro script(this, kwargs) %}
            var {{ this.get_name() }} = FW.points({{ this.payload_ref }}, {{ this.options_js }});
        {% endmacro %}
        """
    )
    default_js = _FW_JS
    default_css = _FW_CSS

    def __init__(
        self,
        payload: dict[str, Any],
        *,
        name: str = "火点 Fire points",
        cluster: dict[str, int] | None = None,
        radius: float | None = None,
        show: bool = True,
    ) -> None:
        super().__init__(name=name, overlay=True, control=True, show=show)
        self._name = "FirePoints"
        self.payload_js = to_js(payload)
        self.payload_ref = self.payload_js
        self.options_js = to_js({"cluster": cluster, "radius": radius})

    def render(self, **kwargs: Any) -> Any:
        self.payload_ref = _data_ref(self, self.payload_js)
        return super().render(**kwargs)


class FireHeat(JSCSSMixin, Layer):
    """A heat overlay of the points the slider and legend currently show."""

    _template = Template(
        """
        {% macro script(this, kwargs) %}
            var {{ this.get_name() }} = new FW.Heat({{ this.points.get_name() }},
                {{ this.options_js }});
        {% endmacro %}
        """
    )
    default_js = _HEAT_JS

    def __init__(
        self, points: FirePoints, *, name: str = "热力图 Heat", show: bool = False, **options: Any
    ) -> None:
        super().__init__(name=name, overlay=True, control=True, show=show)
        self._name = "FireHeat"
        self.points = points
        self.options_js = to_js({"radius": 14, "blur": 16, "minOpacity": 0.35, **options})


class _Control(JSCSSMixin):
    """A control built by ``new FW.<js_class>(points, options).addTo(map)``."""

    js_class = ""
    _template = Template(
        """
        {% macro script(this, kwargs) %}
            var {{ this.get_name() }} = new FW.{{ this.js_class }}(
                {{ this.points.get_name() }}, {{ this.options_js }}
            ).addTo({{ this._parent.get_name() }});
        {% endmacro %}
        """
    )
    default_js = _FW_JS
    default_css = _FW_CSS

    def __init__(self, points: FirePoints, **options: Any) -> None:
        super().__init__()
        self._name = self.js_class
        self.points = points
        self.options_js = to_js(options)


class FireLegend(_Control):
    """Legend of classes and review statuses; ticking an entry hides or shows its points."""

    js_class = "Legend"


class TimeSlider(_Control):
    """A day slider with cumulative and per-day views."""

    js_class = "TimeSlider"


class MapTitle(JSCSSMixin):
    """A title box: what the map shows, for which days, how many points."""

    _template = Template(
        """
        {% macro script(this, kwargs) %}
            new FW.Title({{ this.options_js }}).addTo({{ this._parent.get_name() }});
        {% endmacro %}
        """
    )
    default_js = _FW_JS
    default_css = _FW_CSS

    def __init__(self, html: str, *, position: str = "topright") -> None:
        super().__init__()
        self._name = "MapTitle"
        self.options_js = to_js({"html": html, "position": position})


class FitToPoints(JSCSSMixin):
    """Fit the view to the points, or to ``fallback`` (``[[s, w], [n, e]]``) without points."""

    _template = Template(
        """
        {% macro script(this, kwargs) %}
            FW.fit({{ this._parent.get_name() }},
                {{ this.points.get_name() if this.points else 'null' }}, {{ this.fallback_js }});
        {% endmacro %}
        """
    )
    default_js = _FW_JS

    def __init__(self, points: FirePoints | None, fallback: Sequence[Sequence[float]]) -> None:
        super().__init__()
        self._name = "FitToPoints"
        self.points = points
        self.fallback_js = to_js([list(p) for p in fallback])


class BaseTiles(Layer):
    """A base layer: tile layers drawn together (e.g. Tianditu vector + annotation), or none."""

    _template = Template(
        """
        {% macro script(this, kwargs) %}
            var {{ this.get_name() }} = L.layerGroup([
            {%- for t in this.tiles %}
                L.tileLayer({{ t.url_js }}, {{ t.options_js }}),
            {%- endfor %}
            ]);
        {% endmacro %}
        """
    )

    def __init__(
        self, name: str, tiles: Sequence[tuple[str, dict[str, Any]]], *, show: bool = False
    ) -> None:
        super().__init__(name=name, overlay=False, control=True, show=show)
        self._name = "BaseTiles"
        self.tiles = [
            {"url_js": to_js(url), "options_js": to_js(options)} for url, options in tiles
        ]


class BoundaryLayer(JSCSSMixin, Layer):
    """Boundary polygons (encoded polylines, see ``encode_boundaries``) with a name tooltip."""

    _template = Template(
        """
        {% macro script(this, kwargs) %}
            var {{ this.get_name() }} = FW.boundary(
                {{ this.data_ref }}, {{ this.style_js }}, {{ this.labels_js }});
        {% endmacro %}
        """
    )
    default_js = _FW_JS
    default_css = _FW_CSS

    def __init__(
        self,
        data: dict[str, Any],
        *,
        name: str,
        style: dict[str, Any],
        show: bool = True,
        labels: bool = False,
    ) -> None:
        super().__init__(name=name, overlay=True, control=True, show=show)
        self._name = "BoundaryLayer"
        self.labels_js = "true" if labels else "false"
        self.data_js = to_js(data)
        self.data_ref = self.data_js
        self.style_js = to_js(style)

    def render(self, **kwargs: Any) -> Any:
        self.data_ref = _data_ref(self, self.data_js)
        return super().render(**kwargs)
