"""Compact columnar encoding of fire points for the map's canvas layer (``fw-map.js``).

A page with 100,000 points cannot afford a GeoJSON feature (or a Leaflet marker) per point.  The
points are sent as a handful of typed arrays in base64 (coordinates as 1e-5 degree integers, which
is what FIRMS publishes) and every popup field as either a small number array or a dictionary of
distinct strings plus one small index per point.  The browser builds a popup only when a point is
clicked.

Which columns exist depends on what is installed and migrated (grid, classifier, review app):
every field here is optional except ``latitude``/``longitude``, and the map shows what there is.
"""

from __future__ import annotations

import base64
import datetime as dt
import logging
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Final, Literal

import numpy as np
import pandas as pd

from firewatch.schema import BEIJING_TZ

__all__ = [
    "CLASS_STYLES",
    "PERSONAL_PATTERN",
    "STATUS_STYLES",
    "EncodedPoints",
    "drop_personal",
    "encode_points",
]

log = logging.getLogger(__name__)

Edition = Literal["internal", "public"]

#: Columns that name or reach a person.  The lead's ``load_points`` already drops them in the
#: public edition; the map drops them again so that a frame from elsewhere cannot leak them.
PERSONAL_PATTERN: Final = re.compile(
    r"(phone|chief|member|reviewer|person|contact|mobile|tel$|note|_by$|^chiefs$)", re.IGNORECASE
)


@dataclass(frozen=True)
class _Style:
    key: str | None
    label: str
    fill: str = "#f03b20"
    stroke: str = "#ffffff"
    weight: float = 1.0
    dash: tuple[int, ...] | None = None


#: Fill colour per class, in drawing order (later ones are drawn on top).
CLASS_STYLES: Final[tuple[_Style, ...]] = (
    _Style("spurious", "误报 spurious", fill="#969696"),
    _Style("industrial", "工业热源 industrial heat", fill="#6a51a3"),
    _Style("other_vegetation", "其他植被火 other vegetation fire", fill="#fd8d3c"),
    _Style(None, "火点 fire point (not classified)", fill="#f03b20"),
    _Style("straw", "秸秆焚烧 straw burning", fill="#b10026"),
)

#: Outline per review status, in drawing order.
STATUS_STYLES: Final[tuple[_Style, ...]] = (
    _Style(None, "未派发 not dispatched", stroke="#67000d", weight=0.7),
    _Style("answered", "已反馈 answered", stroke="#1a9850", weight=2.0),
    _Style("pending", "待核查 pending", stroke="#2166ac", weight=2.0),
    _Style("escalated", "已上报 escalated", stroke="#000000", weight=2.5, dash=(3, 2)),
    _Style("overdue", "已超期 overdue", stroke="#e7298a", weight=2.5),
)

_VERDICTS: Final = {
    "straw_burning": "确认秸秆焚烧 straw burning confirmed",
    "industrial": "工业热源 industrial",
    "other_fire": "其他火情 other fire",
    "nothing_found": "现场未发现 nothing found",
}


@dataclass
class EncodedPoints:
    """The payload for ``FW.points`` and what the legend and title need."""

    payload: dict[str, Any]
    n: int
    dropped: int  # rows without usable coordinates (logged, never silent)
    days: list[dt.date]
    bounds: tuple[tuple[float, float], tuple[float, float]] | None
    classes_present: list[str | None] = field(default_factory=list)
    synthetic_grid: bool = False


def drop_personal(points: pd.DataFrame) -> pd.DataFrame:
    """``points`` without any column that may name or reach a person."""
    personal = [c for c in points.columns if PERSONAL_PATTERN.search(str(c))]
    return points.drop(columns=personal)


def _b64(values: np.ndarray, kind: str) -> dict[str, str]:
    dtype = {"u8": "<u1", "u16": "<u2", "u32": "<u4", "i32": "<i4", "f32": "<f4"}[kind]
    return {"t": kind, "b": base64.b64encode(np.ascontiguousarray(values, dtype).data).decode()}


def _index_kind(size: int) -> str:
    return "u8" if size <= 0xFF else "u16" if size <= 0xFFFF else "u32"


class _Factorizer:
    """Factorize columns once each, however many fields use them."""

    def __init__(self, frame: pd.DataFrame) -> None:
        self.frame = frame
        self._cache: dict[str, tuple[np.ndarray, np.ndarray]] = {}

    def __call__(self, col: str) -> tuple[np.ndarray, np.ndarray]:
        if col not in self._cache:
            codes, uniques = pd.factorize(self.frame[col], use_na_sentinel=True)
            self._cache[col] = (codes.astype(np.int64), np.asarray(uniques, dtype=object))
        return self._cache[col]


def _combos(fac: _Factorizer, cols: Sequence[str]) -> tuple[np.ndarray, np.ndarray]:
    """Index of each point's distinct combination of ``cols``, and a row holding each one."""
    n = len(fac.frame)
    key = np.zeros(n, dtype=np.int64)
    for c in cols:
        codes, uniques = fac(c)
        key = key * (len(uniques) + 1) + (codes + 1)
    combo, _ = pd.factorize(key)
    rep = np.empty(int(combo.max()) + 1 if n else 0, dtype=np.int64)
    rep[combo] = np.arange(n)  # the last row of each combination; any would do
    return combo.astype(np.int64), rep


def _labels(
    fac: _Factorizer, cols: Sequence[str], rep: np.ndarray, fmt: Callable[..., str | None]
) -> tuple[np.ndarray, list[str]]:
    """Dictionary slot of ``fmt(*values)`` for each representative row; slot 0 is ``""``.

    A Python call per distinct combination, never per point.
    """
    parts = [fac(c) for c in cols]
    dictionary = [""]
    slot: dict[str, int] = {"": 0}
    out = np.empty(len(rep), dtype=np.int64)
    for i, pos in enumerate(rep):
        vals = [None if codes[pos] < 0 else uniques[codes[pos]] for codes, uniques in parts]
        text = fmt(*vals) if any(v is not None for v in vals) else None
        text = "" if text is None else str(text)
        if text not in slot:
            slot[text] = len(dictionary)
            dictionary.append(text)
        out[i] = slot[text]
    return out, dictionary


def _combine(
    fac: _Factorizer, cols: Sequence[str], fmt: Callable[..., str | None]
) -> tuple[np.ndarray, list[str]]:
    """Dictionary-code the formatted combination of ``cols``: (slot per point, dictionary)."""
    combo, rep = _combos(fac, cols)
    slots, dictionary = _labels(fac, cols, rep, fmt)
    return slots[combo], dictionary


def _style_index(col: pd.Series | None, styles: Sequence[_Style]) -> tuple[np.ndarray, list[dict]]:
    """Index of each point's style; unknown values get their own grey entry at the end."""
    known: list[str | None] = [s.key for s in styles]
    out = [
        {
            "key": s.key,
            "label": s.label,
            "fill": s.fill,
            "stroke": s.stroke,
            "weight": s.weight,
            "dash": list(s.dash) if s.dash else None,
            "present": False,
        }
        for s in styles
    ]
    none_idx = known.index(None)
    if col is None:
        return np.zeros(0, dtype=np.int64), out
    codes, uniques = pd.factorize(col, use_na_sentinel=True)
    for v in sorted((u for u in uniques if u not in known), key=str):
        log.warning("map: unknown value %r, drawn in grey", v)
        out.append(
            {
                "key": v,
                "label": str(v),
                "fill": "#bdbdbd",
                "stroke": "#525252",
                "weight": 1.5,
                "dash": None,
                "present": False,
            }
        )
        known.append(v)
    lookup = np.array([known.index(u) for u in uniques] + [none_idx], dtype=np.int64)
    return lookup[codes], out  # code -1 (missing) picks the last entry: none_idx


def _bjt(frame: pd.DataFrame) -> pd.Series | None:
    if "acq_time_bjt" in frame:
        t = pd.to_datetime(frame["acq_time_bjt"])
    elif "acq_time_utc" in frame:
        t = pd.to_datetime(frame["acq_time_utc"], utc=True)
    else:
        return None
    if t.dt.tz is None:
        t = t.dt.tz_localize("UTC")
    return t.dt.tz_convert(BEIJING_TZ)


def _fmt_time(v: Any) -> str:
    return pd.Timestamp(v).strftime("%Y-%m-%d %H:%M")


def _join(*vals: Any, sep: str = " ") -> str | None:
    parts = [str(v) for v in vals if v is not None and str(v) != "" and str(v) != "nan"]
    return sep.join(parts) if parts else None


def _person(name: Any, phone: Any = None) -> str | None:
    if name is None:
        return None
    return f"{name} ☎ {phone}" if phone is not None else str(name)


def _text(v: Any) -> str | None:
    return None if v is None or v == "" else str(v)


def _grid_path(*vals: Any) -> str | None:
    return _join(*vals, sep=" › ")


def _admin(region: Any, city: Any, county: Any, neighbour: Any) -> str | None:
    if region == "neighbour":
        return _join(neighbour, "(省外 outside the province)")
    return _join(city, county)


def _verdict(v: Any) -> str | None:
    return None if v is None else _VERDICTS.get(str(v), str(v))


def _satellite(sat: Any, instrument: Any = None, product: Any = None) -> str | None:
    text = _join(sat, instrument)
    if text and product:
        text += f" ({product})"
    return text


def encode_points(
    points: pd.DataFrame,
    *,
    edition: Edition = "internal",
    days: Sequence[dt.date] | None = None,
    ids: bool | None = None,
) -> EncodedPoints:
    """Encode a points frame for the map.

    Parameters
    ----------
    points
        At least ``latitude`` and ``longitude`` (WGS-84); the canonical detection columns, the
        county attribution and the grid, class and review columns are shown when present.
    edition
        ``"public"`` drops every column that may name or reach a person before anything is
        encoded, whatever the caller passed in.
    days
        The Beijing-time days of the time slider (default: the days the points span).
    ids
        Put detection ids in the popups (default: for up to 20,000 points; they do not
        compress, and a season map would grow by 1.7 MB per 100,000 points).

    Returns
    -------
    EncodedPoints
    """
    if edition not in ("internal", "public"):
        raise ValueError(f"edition must be 'internal' or 'public', not {edition!r}")
    for c in ("latitude", "longitude"):
        if c not in points.columns:
            raise KeyError(f"points have no {c!r} column; columns are {list(points.columns)}")
    frame = drop_personal(points) if edition == "public" else points
    lat = pd.to_numeric(frame["latitude"], errors="coerce")
    lon = pd.to_numeric(frame["longitude"], errors="coerce")
    ok = (lat.between(-90, 90) & lon.between(-180, 180)).to_numpy()
    dropped = int((~ok).sum())
    if dropped:
        log.warning("map: %d point(s) without usable coordinates are not drawn", dropped)
        frame, lat, lon = frame.loc[ok], lat.loc[ok], lon.loc[ok]
    n = len(frame)
    fac = _Factorizer(frame)

    cls_idx, classes = _style_index(frame.get("fp_class"), CLASS_STYLES)
    st_idx, statuses = _style_index(frame.get("review_status"), STATUS_STYLES)
    if len(cls_idx) != n:
        cls_idx = np.full(n, [c["key"] for c in classes].index(None), dtype=np.int64)
    if len(st_idx) != n:
        st_idx = np.zeros(n, dtype=np.int64)
    for i in np.unique(cls_idx):
        classes[i]["present"] = True
    for i in np.unique(st_idx):
        statuses[i]["present"] = True

    bjt = _bjt(frame)
    # Draw order: style runs (the browser fills and strokes one path per style; later styles
    # are drawn on top), then time.  Every per-point array below is sent in this order.
    order_keys: list[np.ndarray] = []
    if bjt is not None:
        order_keys.append(bjt.to_numpy(dtype="datetime64[ns]").astype(np.int64))
    order_keys += [st_idx, cls_idx]
    order = np.lexsort(order_keys)

    def arr(values: np.ndarray, kind: str) -> dict[str, str]:
        return _b64(values[order], kind)

    lat_i = np.round(lat.to_numpy(dtype="float64") * 1e5).astype(np.int32)
    lon_i = np.round(lon.to_numpy(dtype="float64") * 1e5).astype(np.int32)

    fields: list[dict[str, Any]] = []
    section: list[str | None] = [None]

    def sec(title: str | None) -> None:
        section[0] = title

    def add(key: str, label: str, spec: dict[str, Any]) -> int:
        spec = {"key": key, "label": label, **spec}
        if section[0] and spec["kind"] != "index":
            spec["sec"] = section[0]
            section[0] = None
        fields.append(spec)
        return len(fields) - 1

    def add_dict(
        key: str,
        label: str,
        cols: Sequence[str],
        fmt: Callable[..., str | None],
        fz: _Factorizer = fac,
    ) -> int:
        if not cols or not all(c in fz.frame.columns for c in cols):
            return -1
        idx, dictionary = _combine(fz, cols, fmt)
        if len(dictionary) == 1:  # nothing but empty values
            return -1
        kind = _index_kind(len(dictionary))
        return add(key, label, {"kind": "dict", "dict": dictionary, "v": arr(idx, kind)})

    def add_num(key: str, label: str, col: str, *, scale: float, digits: int, unit: str) -> int:
        if col not in frame.columns:
            return -1
        x = pd.to_numeric(frame[col], errors="coerce").to_numpy(dtype="float64")
        if np.isnan(x).all():
            return -1
        v = np.round(np.nan_to_num(x, nan=0.0) * scale)
        lo, hi = float(v.min()), float(v.max())
        # The smallest integer type that holds the values, its top value standing for "none".
        kind, na = (
            ("u8", 0xFF) if lo >= 0 and hi < 0xFF
            else ("u16", 0xFFFF) if lo >= 0 and hi < 0xFFFF
            else ("i32", -(2**31))
        )  # fmt: skip
        v = np.where(np.isnan(x), na, np.clip(v, -(2**31) + 1, 2**31 - 1)).astype(np.int64)
        spec = {"kind": "num", "scale": scale, "digits": digits, "unit": unit, "na": na}
        return add(key, label, {**spec, "v": arr(v, kind)})

    def add_group(cols: Sequence[str]) -> tuple[int, np.ndarray]:
        """A hidden index over the combinations of ``cols`` that several fields share."""
        combo, rep = _combos(fac, cols)
        idx = add("_group", "", {"kind": "index", "v": arr(combo, _index_kind(len(rep)))})
        return idx, rep

    def add_grouped(
        group: tuple[int, np.ndarray],
        key: str,
        label: str,
        cols: Sequence[str],
        fmt: Callable[..., str | None],
    ) -> int:
        """A field that is a function of a group (e.g. the village): a dictionary per group."""
        if not cols or not all(c in frame.columns for c in cols):
            return -1
        slots, dictionary = _labels(fac, cols, group[1], fmt)
        if len(dictionary) == 1:
            return -1
        spec = {"kind": "dict", "dict": dictionary, "ref": group[0], "map": slots.tolist()}
        return add(key, label, spec)

    # Times in Beijing time, as strings formatted once per distinct value.
    times = pd.DataFrame(index=frame.index)
    if bjt is not None:
        times["acq"] = bjt
    for col in ("deadline", "answered_at"):
        if "review_status" in frame.columns and col in frame.columns:
            times[col] = pd.to_datetime(frame[col], utc=True).dt.tz_convert(BEIJING_TZ)
    tfac = _Factorizer(times)

    sec("火点 Fire point")
    time_field = add_dict("time", "北京时间 Beijing time", ["acq"], _fmt_time, tfac)
    add_dict(
        "satellite",
        "卫星 Satellite",
        [c for c in ("satellite", "instrument", "product") if c in frame.columns],
        _satellite,
    )
    add_num("frp", "辐射功率 FRP", "frp", scale=10, digits=1, unit=" MW")
    add_dict("confidence", "置信度 Confidence", ["confidence_level"], _text)
    add("location", "位置 Location", {"kind": "dms"})
    if "region" in frame.columns and "neighbour_name" in frame.columns:
        add_dict(
            "admin",
            "行政区 City / county",
            ["region", "city_name", "county_name", "neighbour_name"],
            _admin,
        )
    else:
        add_dict("admin", "行政区 City / county", ["city_name", "county_name"], _join)

    if "fp_class" in frame.columns:
        sec("研判 Classification")
        add("class", "类别 Class", {"kind": "class"})
        add_num("p_straw", "秸秆焚烧概率 P(straw)", "p_straw", scale=100, digits=0, unit=" %")
        add_dict("explanation", "依据 Why", ["fp_explanation"], _text)
        add_dict("model", "模型 Model", ["model_version"], _text)

    grid_cols = [c for c in ("township_name", "village_name") if c in frame.columns]
    if grid_cols:
        sec("网格 Grid")
        # Village, code and chiefs go together: one index per point, dictionaries per village.
        people = ("field_chief", "field_chief_phone", "grid_member", "grid_member_phone")
        group_cols = [*grid_cols, *(c for c in ("village_code", *people) if c in frame.columns)]
        group = add_group(group_cols)
        add_grouped(group, "grid", "乡镇 › 村 Township › village", grid_cols, _grid_path)
        add_grouped(group, "grid_code", "网格编码 Grid code", ["village_code"], _text)
        for role, label in (
            ("field_chief", "田长 Field chief"),
            ("grid_member", "网格员 Grid member"),
        ):
            cols = [c for c in (role, f"{role}_phone") if c in frame.columns]
            if role in cols:
                add_grouped(group, role, label, cols, _person)
        add_dict("grid_flags", "提示 Flags", ["grid_flags"], _text)

    if "review_status" in frame.columns:
        sec("核查 Site check")
        add("status", "状态 Status", {"kind": "status"})
        add_dict("verdict", "结论 Verdict", ["verdict"], _verdict)
        add_dict("deadline", "截止 Deadline", ["deadline"], _fmt_time, tfac)
        add_dict("answered_at", "反馈 Answered", ["answered_at"], _fmt_time, tfac)
    sec(None)

    if ids is None:
        ids = n <= 20_000
    if ids:
        add_dict("detection_id", "编号 Detection id", ["detection_id"], _text)

    # The time slider's days.
    if bjt is not None and n and days is None:
        first, last = bjt.min().date(), bjt.max().date()
        days = [first + dt.timedelta(d) for d in range((last - first).days + 1)]
    days = list(days or [])
    payload: dict[str, Any] = {
        "n": n,
        "scale": 1e5,
        "lat": arr(lat_i, "i32"),
        "lon": arr(lon_i, "i32"),
        "cls": arr(cls_idx, "u8"),
        "st": arr(st_idx, "u8"),
        "classes": classes,
        "statuses": statuses,
        "classesTitle": "类别 Class" if "fp_class" in frame.columns else "",
        # Without the review app there is no status to explain.
        "statusesTitle": "核查 Site check" if "review_status" in frame.columns else "",
        "fields": fields,
        "days": [d.isoformat() for d in days],
        "day": None,
    }
    if days and bjt is not None and time_field >= 0:
        # A point's day follows from its (dictionary-coded) time: send a day per dictionary
        # entry rather than a day per point.
        first_day, last_k = days[0], len(days) - 1
        day_map = [
            0 if not t else min(last_k, max(0, (dt.date.fromisoformat(t[:10]) - first_day).days))
            for t in fields[time_field]["dict"]
        ]
        payload["day"] = {"field": time_field, "map": day_map}
        local_day = bjt.dt.date
        outside = int(((local_day < days[0]) | (local_day > days[-1])).sum())
        if outside:
            log.warning("map: %d point(s) fall outside the slider's days", outside)
    bounds = None
    if n:
        bounds = (
            (float(lat_i.min()) / 1e5, float(lon_i.min()) / 1e5),
            (float(lat_i.max()) / 1e5, float(lon_i.max()) / 1e5),
        )
        payload["bounds"] = [list(bounds[0]), list(bounds[1])]
    # eq(True) works for bool, nullable boolean and object columns alike (None, NA, False).
    synthetic = bool("grid_synthetic" in frame.columns and frame["grid_synthetic"].eq(True).any())
    return EncodedPoints(
        payload=payload,
        n=n,
        dropped=dropped,
        days=days,
        bounds=bounds,
        classes_present=[c["key"] for c in classes if c["present"]],
        synthetic_grid=synthetic,
    )
