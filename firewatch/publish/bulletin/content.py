"""The content of a daily bulletin and of a period report: plain dataclasses built from the store.

Renderers (HTML, Word, Excel, PDF) only lay out a :class:`Document`; every number, sentence and
table is decided here, once, so the four formats always agree.

A daily bulletin follows the official layout (shared/DOMAIN.md "Bulletins"): a lead sentence
(sensors, overpass times in Beijing time, the total, the change on the previous day and on the
same day last year when the store has them), the distribution map, points per city with a total,
per county, per township when grids exist, the point table (coordinates in degrees-minutes-
seconds), the points excluded or flagged as false positives with their reasons, and the state of
the site checks.  A day with nothing to show says which of the three empty cases it is (see
:mod:`firewatch.publish.bulletin.coverage`).
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal
from zoneinfo import ZoneInfo

import numpy as np
import pandas as pd
from sqlalchemy import Engine

from firewatch.errors import FirewatchError
from firewatch.publish.bulletin.coverage import DayStatus, day_statuses, load_coverage
from firewatch.publish.bulletin.dms import format_dms
from firewatch.publish.bulletin.i18n import fmt_date, fmt_number, join_list, numeral, tr
from firewatch.schema import BEIJING_TZ
from firewatch.spatial.grid import POINT_GRID_COLUMNS

if TYPE_CHECKING:
    from firewatch.config import Settings
    from firewatch.publish.bulletin.charts import MapRenderer
    from firewatch.publish.bulletin.settings import BulletinSettings

__all__ = [
    "Column",
    "DailyBulletin",
    "Document",
    "Figure",
    "PeriodReport",
    "Section",
    "Table",
    "build_daily_bulletin",
    "build_period_report",
    "cell_text",
    "period_window",
    "treat_points",
    "week_window",
]

log = logging.getLogger(__name__)

Edition = Literal["internal", "public"]
ColumnKind = Literal["text", "int", "float", "prob", "time", "datetime", "date", "dms", "deg"]


_INSTRUMENTS = {
    "Terra": "MODIS",
    "Aqua": "MODIS",
    "S-NPP": "VIIRS",
    "NOAA-20": "VIIRS",
    "NOAA-21": "VIIRS",
}
#: Columns each area adds, keyed by the column that says whether the area had anything to add.
_AREA_GROUPS: dict[str, tuple[str, ...]] = {
    "township_code": POINT_GRID_COLUMNS,
    "fp_class": ("fp_class", "p_straw", "fp_explanation", "model_version", "label_source"),
    "review_status": ("review_status", "verdict", "deadline", "answered_at"),
}
#: Order satellites are named in.
_SATELLITE_ORDER = ("Terra", "Aqua", "S-NPP", "NOAA-20", "NOAA-21")
#: A new pass starts when a satellite's detections are more than this far apart.
_PASS_GAP = pd.Timedelta(minutes=30)


@dataclass(frozen=True)
class Column:
    """A table column: ``key`` in the frame, its printed label and how to show its values.

    ``kind``: ``text``; ``int``; ``float`` (1 decimal); ``prob`` (0–1, 2 decimals); ``time``
    (Beijing time, ``HH:MM``); ``datetime`` (``YYYY-MM-DD HH:MM``); ``date``; ``dms`` (already
    text); ``deg`` (decimal degrees, 5 decimals).  ``only`` limits the column to some formats
    (e.g. decimal degrees only in Excel).
    """

    key: str
    label: str
    kind: ColumnKind = "text"
    only: frozenset[str] | None = None


@dataclass
class Table:
    """One table of a document; one Excel sheet."""

    key: str
    caption: str
    sheet: str
    columns: list[Column]
    frame: pd.DataFrame
    total: dict[str, Any] | None = None

    def columns_for(self, fmt: str) -> list[Column]:
        """The columns shown in format ``fmt``."""
        return [c for c in self.columns if c.only is None or fmt in c.only]


@dataclass
class Figure:
    """A picture with its caption."""

    key: str
    png: bytes
    caption: str


@dataclass
class Section:
    """A numbered section: heading, paragraphs, then a figure and/or a table."""

    key: str
    heading: str
    paragraphs: list[str] = field(default_factory=list)
    figure: Figure | None = None
    table: Table | None = None


@dataclass
class Document:
    """What every renderer lays out."""

    kind: Literal["daily", "period"]
    lang: str
    edition: Edition
    title: str
    subtitle: str
    edition_label: str
    issuer_line: str
    status_message: str | None
    lead: list[str]
    notes: list[str]
    sections: list[Section]
    footer: str
    generated_at: dt.datetime
    file_stem: str

    @property
    def tables(self) -> list[Table]:
        """Tables in document order."""
        return [s.table for s in self.sections if s.table is not None]

    @property
    def figures(self) -> list[Figure]:
        """Figures in document order."""
        return [s.figure for s in self.sections if s.figure is not None]


@dataclass
class DailyBulletin(Document):
    """A daily bulletin and the numbers behind it."""

    day: dt.date = dt.date.min
    status: DayStatus | None = None
    #: Counted fire points in the province (detections minus excluded).
    total: int = 0
    #: Detections in the province, before exclusions.
    detected: int = 0
    excluded: int = 0
    flagged: int = 0
    neighbour: int = 0
    change_previous: int | None = None
    change_last_year: int | None = None
    #: The day's points (province and neighbour) with ``treatment`` and ``reason``.
    points: pd.DataFrame = field(default_factory=pd.DataFrame)


@dataclass
class PeriodReport(Document):
    """A weekly or ban-period report and the numbers behind it."""

    name: str = ""
    first: dt.date = dt.date.min
    last: dt.date = dt.date.min
    total: int = 0
    statuses: dict[dt.date, DayStatus] = field(default_factory=dict)
    #: ``day``, ``points`` (None without data), ``kind``.
    per_day: pd.DataFrame = field(default_factory=pd.DataFrame)


# --------------------------------------------------------------------------------------------
# points and their treatment
# --------------------------------------------------------------------------------------------


def _load_points(engine: Engine, first: dt.date, last: dt.date, edition: Edition) -> pd.DataFrame:
    from firewatch.publish.points import load_points, public_edition

    pts = load_points(
        engine, first=first, last=last, edition=edition, region=("province", "neighbour")
    )
    if edition == "public":
        # The loader drops personal columns already; a bulletin must never rely on one line.
        pts = public_edition(pts)
    # An area whose tables exist but that has nothing for these points (no grid here, nothing
    # classified or sent for checking yet) shows nothing rather than empty columns.
    for key, group in _AREA_GROUPS.items():
        if key in pts and not pts[key].notna().any():
            pts = pts.drop(columns=[c for c in group if c in pts])
    return pts


def treat_points(points: pd.DataFrame, rules: BulletinSettings, lang: str = "zh") -> pd.DataFrame:
    """Decide for each point whether it is counted, flagged as doubtful or excluded, and why.

    Order of precedence: a site-check verdict (a person on the ground) beats FIRMS's ``type``,
    which beats the classifier.  A verdict of straw burning keeps a point counted and unflagged.

    Returns
    -------
    DataFrame
        ``points`` with ``treatment`` (``counted`` | ``flagged`` | ``excluded``), ``reason``
        (the verdict, FIRMS's type or the classifier's explanation) and ``reason_kind`` (a short
        label for counting reasons).
    """
    n = len(points)
    idx = points.index

    def col(name: str) -> pd.Series:
        return points[name] if name in points else pd.Series([None] * n, index=idx, dtype=object)

    verdict = col("verdict")
    fire_type = pd.to_numeric(col("fire_type"), errors="coerce")
    p = pd.to_numeric(col("p_straw"), errors="coerce")
    fp_class = col("fp_class")
    has_verdict = verdict.notna()
    by_verdict = verdict.isin(rules.exclude_verdicts)
    confirmed = verdict == "straw_burning"
    by_type = ~has_verdict & fire_type.isin(rules.exclude_fire_types)
    model_ok = ~has_verdict & ~by_type & p.notna()
    by_model = model_ok & (p < rules.exclude_below) & (fp_class != "straw")
    flagged = ~by_verdict & ~confirmed & ~by_type & ~by_model & p.notna() & (p < rules.flag_below)
    treatment = np.select(
        [by_verdict, by_type, by_model, flagged],
        ["excluded", "excluded", "excluded", "flagged"],
        default="counted",
    )
    reason = pd.Series([None] * n, index=idx, dtype=object)
    if by_verdict.any():
        reason[by_verdict] = [
            tr(lang, "reason_verdict", verdict=_label(lang, "verdict", v))
            for v in verdict[by_verdict]
        ]
    if by_type.any():
        reason[by_type] = [
            tr(lang, "reason_fire_type", t=int(t), label=_label(lang, "fire_type", int(t)))
            for t in fire_type[by_type]
        ]
    # A short kind of reason per point, for the counts in the summary sentence.
    reason_kind = reason.copy()
    if by_type.any():
        reason_kind[by_type] = [f"FIRMS type {int(t)}" for t in fire_type[by_type]]
    model_rows = by_model | flagged
    if model_rows.any():
        reason_kind[model_rows] = [
            tr(lang, "reason_model_kind", label=_label(lang, "class", c))
            for c in fp_class[model_rows]
        ]
        expl = col("fp_explanation")
        reason[model_rows] = [
            e
            if isinstance(e, str) and e
            else tr(lang, "reason_model", label=_label(lang, "class", c), p=f"{q:.2f}")
            for e, c, q in zip(expl[model_rows], fp_class[model_rows], p[model_rows], strict=True)
        ]
    return points.assign(treatment=treatment, reason=reason, reason_kind=reason_kind)


def _label(lang: str, family: str, value: Any) -> str:
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return ""
    key = f"{family}_{value}"
    try:
        return tr(lang, key)
    except KeyError:
        return str(value)


def _labels(lang: str, family: str, values: pd.Series) -> pd.Series:
    mapping = {v: _label(lang, family, v) for v in values.dropna().unique()}
    return values.map(mapping).astype(object).where(values.notna(), "")


# --------------------------------------------------------------------------------------------
# lead sentence helpers
# --------------------------------------------------------------------------------------------


def overpasses(points: pd.DataFrame) -> pd.DataFrame:
    """Satellite passes seen in the points: ``satellite``, ``start`` (Beijing time), ``points``.

    Detections of one satellite less than 30 minutes apart belong to one pass (a pass over the
    province takes a few minutes; the next orbit comes about 100 minutes later).
    """
    if points.empty:
        return pd.DataFrame(columns=["satellite", "start", "points"])
    t = points[["satellite", "acq_time_bjt"]].sort_values(["satellite", "acq_time_bjt"])
    new = (t["satellite"] != t["satellite"].shift()) | (t["acq_time_bjt"].diff() > _PASS_GAP)
    passes = t.groupby(new.cumsum()).agg(
        satellite=("satellite", "first"),
        start=("acq_time_bjt", "min"),
        points=("acq_time_bjt", "size"),
    )
    return passes.sort_values("start", ignore_index=True)


def _sensors(satellites: Sequence[str], lang: str) -> str:
    by_inst: dict[str, list[str]] = {}
    order = {s: i for i, s in enumerate(_SATELLITE_ORDER)}
    for sat in sorted(satellites, key=lambda s: (order.get(s, len(order)), s)):
        by_inst.setdefault(_INSTRUMENTS.get(sat, sat), []).append(sat)
    sep, open_, close = ("、", "（", "）") if lang == "zh" else (", ", " (", ")")
    parts = [f"{inst}{open_}{sep.join(sats)}{close}" for inst, sats in by_inst.items()]
    return join_list(parts, lang)


def _passes_text(passes: pd.DataFrame, lang: str) -> str:
    order = {s: i for i, s in enumerate(_SATELLITE_ORDER)}
    sep = "、" if lang == "zh" else ", "
    parts = []
    for sat in sorted(passes["satellite"].unique(), key=lambda s: (order.get(s, len(order)), s)):
        starts = passes.loc[passes["satellite"] == sat, "start"]
        parts.append(f"{sat} " + sep.join(t.strftime("%H:%M") for t in starts))
    return ("，" if lang == "zh" else "; ").join(parts)


def _span_text(status: DayStatus) -> str:
    def hhmm(t: pd.Timestamp, *, end: bool) -> str:
        if end and t.hour == 0 and t.minute == 0 and t.date() > status.day:
            return "24:00"
        return t.strftime("%H:%M")

    return "、".join(f"{hhmm(s, end=False)}–{hhmm(e, end=True)}" for s, e in status.covered)


def _status_message(status: DayStatus, lang: str) -> str | None:
    date = fmt_date(status.day, lang)
    if status.kind == "points":
        return None
    if status.kind == "no_points":
        products = join_list(list(status.products), lang) or "FIRMS"
        return tr(lang, "status_no_points", date=date, products=products, span=_span_text(status))
    if status.kind == "no_data":
        reason = (
            tr(lang, "reason_failed", failures="; ".join(status.failures))
            if status.failures
            else tr(lang, "reason_gap")
        )
        return tr(lang, "status_no_data", date=date, reason=reason)
    if status.data_first is None or status.data_last is None:
        extent = tr(lang, "extent_empty")
    else:
        extent = tr(
            lang,
            "extent",
            first=status.data_first.strftime("%Y-%m-%d %H:%M"),
            last=status.data_last.strftime("%Y-%m-%d %H:%M"),
        )
    return tr(lang, "status_not_ingested", date=date, extent=extent, iso=status.day.isoformat())


def _synthetic_grid(points: pd.DataFrame) -> bool:
    """True when any point was placed by a synthetic (demonstration) grid."""
    if "grid_synthetic" not in points:
        return False
    return bool((points["grid_synthetic"] == True).any())  # noqa: E712  (None/NaN are not True)


def _plural(n: int, lang: str) -> str:
    return "" if lang == "zh" or n == 1 else "s"


def _change(key: str, diff: int | None, lang: str) -> str | None:
    if diff is None:
        return None
    if diff > 0:
        return tr(lang, f"{key}_up", n=diff)
    if diff < 0:
        return tr(lang, f"{key}_down", n=-diff)
    return tr(lang, f"{key}_same")


# --------------------------------------------------------------------------------------------
# tables
# --------------------------------------------------------------------------------------------


def _count_table(
    frame: pd.DataFrame,
    keys: list[str],
    *,
    order: list[str],
    ascending: list[bool],
) -> pd.DataFrame:
    grouped = frame.groupby(keys, dropna=False).size().rename("points").reset_index()
    for k in keys:
        grouped[k] = grouped[k].astype(object).where(grouped[k].notna(), "—")
    return grouped.sort_values(order, ascending=ascending, ignore_index=True)


def _sheet(name: str) -> str:
    bad = str.maketrans({c: "_" for c in "[]:*?/\\"})
    return name.translate(bad)[:31]


def _point_columns(lang: str, points: pd.DataFrame, edition: Edition) -> list[Column]:
    cols = [
        Column("no", tr(lang, "col_no"), "int"),
        Column("city_name", tr(lang, "col_city")),
        Column("county_name", tr(lang, "col_county")),
    ]
    if "township_name" in points:
        cols.append(Column("township_name", tr(lang, "col_township")))
    if "village_name" in points:
        cols.append(Column("village_name", tr(lang, "col_village")))
    cols += [
        Column("lon_dms", tr(lang, "col_lon"), "dms"),
        Column("lat_dms", tr(lang, "col_lat"), "dms"),
        Column("longitude", tr(lang, "col_lon_deg"), "deg", only=frozenset({"xlsx"})),
        Column("latitude", tr(lang, "col_lat_deg"), "deg", only=frozenset({"xlsx"})),
        Column("acq_time_bjt", tr(lang, "col_time"), "time"),
        Column("satellite", tr(lang, "col_satellite")),
        Column("frp", tr(lang, "col_frp"), "float"),
    ]
    if "fp_class" in points:
        cols += [
            Column("class_label", tr(lang, "col_class")),
            Column("p_straw", tr(lang, "col_p_straw"), "prob"),
        ]
    if "review_status" in points:
        cols.append(Column("review_label", tr(lang, "col_review")))
    if edition == "internal":
        cols += [
            Column(c, tr(lang, f"col_{c}"))
            for c in ("field_chief", "field_chief_phone", "grid_member", "grid_member_phone")
            if c in points
        ]
    cols.append(Column("detection_id", tr(lang, "col_detection_id"), only=frozenset({"xlsx"})))
    return cols


def _point_frame(points: pd.DataFrame, lang: str) -> pd.DataFrame:
    out = points.sort_values(
        ["city_code", "county_code", "acq_time_bjt", "detection_id"], na_position="last"
    ).reset_index(drop=True)
    out.insert(0, "no", np.arange(1, len(out) + 1))
    out["lon_dms"] = format_dms(out["longitude"])
    out["lat_dms"] = format_dms(out["latitude"])
    if "fp_class" in out:
        out["class_label"] = _labels(lang, "class", out["fp_class"])
    if "review_status" in out:
        out["review_label"] = _labels(lang, "review", out["review_status"])
    return out


def cell_text(value: Any, kind: ColumnKind) -> str:
    """A cell as printed in HTML, Word and PDF (Excel keeps the typed value)."""
    if value is None or (not isinstance(value, str) and pd.isna(value)):
        return ""
    if kind == "int":
        return fmt_number(int(value))
    if kind == "float":
        return f"{float(value):.1f}"
    if kind == "prob":
        return f"{float(value):.2f}"
    if kind == "deg":
        return f"{float(value):.5f}"
    if kind == "time":
        return pd.Timestamp(value).strftime("%H:%M")
    if kind == "datetime":
        return pd.Timestamp(value).strftime("%Y-%m-%d %H:%M")
    if kind == "date":
        return value.isoformat() if isinstance(value, dt.date) else str(value)
    return str(value)


# --------------------------------------------------------------------------------------------
# the daily bulletin
# --------------------------------------------------------------------------------------------


def _same_day_last_year(day: dt.date) -> dt.date:
    try:
        return day.replace(year=day.year - 1)
    except ValueError:  # 29 February
        return day.replace(year=day.year - 1, day=28)


def _counted(engine: Engine, settings: Settings, day: dt.date) -> tuple[int, int]:
    """``(detected, counted)`` province points of a day, with the bulletin's exclusion rules."""
    pts = _load_points(engine, day, day, "public")
    prov = pts[pts["region"] == "province"]
    treated = treat_points(prov, settings.bulletin)
    return len(prov), int((treated["treatment"] != "excluded").sum())


def _title(settings: Settings, lang: str, key: str, **kw: Any) -> str:
    region = settings.region.name if lang == "zh" else settings.bulletin.region_en
    return tr(lang, key, region=region, **kw)


def _issuer(settings: Settings, lang: str) -> str:
    return settings.bulletin.issuer if lang == "zh" else settings.bulletin.issuer_en


def _common(
    settings: Settings, lang: str, edition: Edition, now: dt.datetime | None
) -> dict[str, Any]:
    if edition not in ("internal", "public"):
        raise ValueError(f"edition must be 'internal' or 'public', not {edition!r}")
    if lang not in ("zh", "en"):
        raise ValueError(f"language must be 'zh' or 'en', not {lang!r}")
    when = (now or dt.datetime.now(dt.UTC)).astimezone(ZoneInfo(BEIJING_TZ))
    return {
        "lang": lang,
        "edition": edition,
        "edition_label": tr(lang, f"edition_{edition}"),
        "issuer_line": _issuer(settings, lang),
        "generated_at": when,
    }


def _footer(lang: str, products: Sequence[str], when: dt.datetime) -> str:
    names = join_list(list(products), lang) or "MODIS / VIIRS"
    return (
        tr(lang, "footer", products=names)
        + " "
        + tr(lang, "generated", when=when.strftime("%Y-%m-%d %H:%M"))
    )


def build_daily_bulletin(
    engine: Engine,
    settings: Settings,
    day: dt.date,
    *,
    edition: Edition = "public",
    lang: str | None = None,
    map_png: bytes | None = None,
    map_renderer: MapRenderer | None = None,
    now: dt.datetime | None = None,
) -> DailyBulletin:
    """Build the daily bulletin of a Beijing-time day from the store.

    Parameters
    ----------
    engine
        The store.
    settings
        Settings; ``settings.bulletin`` holds the exclusion rules and the issuer.
    day
        The Beijing-time day.
    edition
        ``public`` (no names or phone numbers anywhere) or ``internal``.
    lang
        ``zh`` or ``en`` (default ``settings.bulletin.lang``).
    map_png
        The distribution map, when the caller already has it (e.g. shared by both editions).
    map_renderer
        Draws the map when ``map_png`` is not given (default:
        :func:`~firewatch.publish.bulletin.charts.default_map_renderer`).
    now
        The generation time printed in the footer (default: now).

    Returns
    -------
    DailyBulletin
    """
    lang = lang or settings.bulletin.lang
    common = _common(settings, lang, edition, now)
    pts = _load_points(engine, day, day, edition)
    treated = treat_points(pts, settings.bulletin, lang)
    prov = treated[treated["region"] == "province"]
    neigh = treated[treated["region"] == "neighbour"]
    counted = prov[prov["treatment"] != "excluded"]
    previous, last_year = day - dt.timedelta(days=1), _same_day_last_year(day)
    prev_n = _counted(engine, settings, previous)
    year_n = _counted(engine, settings, last_year)
    statuses = day_statuses(
        engine,
        [day, previous, last_year],
        points={day: len(prov), previous: prev_n[0], last_year: year_n[0]},
    )
    status = statuses[day]
    date = fmt_date(day, lang)
    change_prev = len(counted) - prev_n[1] if statuses[previous].has_data else None
    change_year = len(counted) - year_n[1] if statuses[last_year].has_data else None

    lead: list[str] = []
    notes: list[str] = []
    sections: list[Section] = []
    status_message = _status_message(status, lang)
    has_classes = "fp_class" in treated
    n_excluded = int((prov["treatment"] == "excluded").sum())
    n_flagged = int((prov["treatment"] == "flagged").sum())
    if status.kind == "points":
        passes = overpasses(treated)
        changes = [
            c
            for c in (
                _change("lead_change", change_prev, lang)
                if statuses[previous].has_data
                else tr(lang, "lead_change_none"),
                _change("lead_year", change_year, lang),
            )
            if c
        ]
        sep = "，" if lang == "zh" else "; "
        lead.append(
            tr(
                lang,
                "lead_points",
                date=date,
                sensors=_sensors(sorted(treated["satellite"].unique()), lang),
                passes=_passes_text(passes, lang),
                total=len(counted),
                s=_plural(len(counted), lang),
                excluded=tr(lang, "lead_excluded", n=n_excluded) if n_excluded else "",
                changes=(sep + sep.join(changes)) if changes else "",
            )
        )
        by_city = _count_table(
            counted,
            ["city_code", "city_name"],
            order=["points", "city_code"],
            ascending=[False, True],
        )
        if len(by_city):
            lead.append(
                tr(
                    lang,
                    "lead_cities",
                    cities=join_list(
                        [
                            tr(lang, "city_count", name=r.city_name, n=r.points)
                            for r in by_city.itertuples()
                        ],
                        lang,
                    ),
                )
            )
    else:
        by_city = pd.DataFrame(columns=["city_code", "city_name", "points"])
    if len(neigh):
        names = join_list(sorted(str(x) for x in neigh["neighbour_name"].dropna().unique()), lang)
        notes.append(
            tr(
                lang,
                "lead_neighbour",
                n=len(neigh),
                s=_plural(len(neigh), lang),
                km=settings.region.neighbour_km,
                names=names or "—",
            )
        )
    if status.covered and not status.full and status.kind in ("points", "no_points"):
        notes.append(tr(lang, "partial_coverage", span=_span_text(status)))
    if _synthetic_grid(treated):
        notes.append(tr(lang, "synthetic_grid"))

    if status.kind == "points":
        sections = _daily_sections(
            engine=engine,
            settings=settings,
            lang=lang,
            edition=edition,
            day=day,
            treated=treated,
            prov=prov,
            counted=counted,
            by_city=by_city,
            has_classes=has_classes,
            n_excluded=n_excluded,
            n_flagged=n_flagged,
            map_png=map_png,
            map_renderer=map_renderer,
            notes=notes,
        )
    return DailyBulletin(
        kind="daily",
        title=_title(settings, lang, "title_daily"),
        subtitle=date,
        status_message=status_message,
        lead=lead,
        notes=notes,
        sections=sections,
        footer=_footer(lang, status.products, common["generated_at"]),
        file_stem=f"bulletin_{day.isoformat()}_{lang}_{edition}",
        day=day,
        status=status,
        total=len(counted),
        detected=len(prov),
        excluded=n_excluded,
        flagged=n_flagged,
        neighbour=len(neigh),
        change_previous=change_prev,
        change_last_year=change_year,
        points=treated,
        **common,
    )


def _daily_sections(
    *,
    engine: Engine,
    settings: Settings,
    lang: str,
    edition: Edition,
    day: dt.date,
    treated: pd.DataFrame,
    prov: pd.DataFrame,
    counted: pd.DataFrame,
    by_city: pd.DataFrame,
    has_classes: bool,
    n_excluded: int,
    n_flagged: int,
    map_png: bytes | None,
    map_renderer: MapRenderer | None,
    notes: list[str],
) -> list[Section]:
    sections: list[Section] = []
    tables = 0

    def add(key: str, heading_key: str, **kw: Any) -> Section:
        sec = Section(
            key=key,
            heading=f"{numeral(len(sections) + 1, lang)}{'、' if lang == 'zh' else '. '}"
            + tr(lang, heading_key),
            **kw,
        )
        sections.append(sec)
        return sec

    def table(
        key: str, title_key: str, columns: list[Column], frame: pd.DataFrame, **kw: Any
    ) -> Table:
        nonlocal tables
        tables += 1
        title = tr(lang, title_key)
        return Table(
            key=key,
            caption=tr(lang, "table_caption", n=tables, title=title),
            sheet=_sheet(title),
            columns=columns,
            frame=frame.reset_index(drop=True),
            **kw,
        )

    # 1. map
    if map_png is None:
        from firewatch.publish.bulletin.charts import default_map_renderer, render_map

        renderer = map_renderer or default_map_renderer(engine, settings)
        try:
            map_png = renderer(treated, settings, day, lang)
        except (OSError, FirewatchError) as exc:
            # The bulletin still carries every number; say what happened to the map.
            log.warning("map for %s not drawn by %r: %s", day, renderer, exc)
            if renderer is not render_map:
                try:
                    map_png = render_map(treated, settings, day, lang)
                    notes.append(tr(lang, "map_fallback"))
                except (OSError, FirewatchError) as exc2:
                    exc = exc2
            if map_png is None:
                notes.append(tr(lang, "map_missing", reason=str(exc)))
    sec = add("map", "sec_map")
    if map_png is not None:
        sec.figure = Figure(
            key="map", png=map_png, caption=tr(lang, "fig_map", n=1, date=fmt_date(day, lang))
        )
    # 2. per city
    total_label = tr(lang, "total")
    add(
        "per_city",
        "sec_city",
        table=table(
            "per_city",
            "sec_city",
            [
                Column("city_name", tr(lang, "col_city")),
                Column("points", tr(lang, "col_points"), "int"),
            ],
            by_city[["city_code", "city_name", "points"]],
            total={"city_name": total_label, "points": len(counted)},
        ),
    )
    # 3. per county: counties grouped under their city, the city order of the city table
    by_county = _count_table(
        counted,
        ["city_code", "city_name", "county_code", "county_name"],
        order=["city_code", "points", "county_code"],
        ascending=[True, False, True],
    )
    rank = {c: i for i, c in enumerate(by_city["city_code"])}
    by_county = by_county.assign(_r=by_county["city_code"].map(rank)).sort_values(
        ["_r", "points", "county_code"], ascending=[True, False, True], ignore_index=True
    )
    add(
        "per_county",
        "sec_county",
        table=table(
            "per_county",
            "sec_county",
            [
                Column("city_name", tr(lang, "col_city")),
                Column("county_name", tr(lang, "col_county")),
                Column("points", tr(lang, "col_points"), "int"),
            ],
            by_county.drop(columns="_r"),
            total={"city_name": total_label, "points": len(counted)},
        ),
    )
    # 4. per township, when the grid has placed points
    if "township_code" in counted:
        in_grid = counted[counted["township_code"].notna()]
        paragraphs = []
        outside = len(counted) - len(in_grid)
        if outside:
            paragraphs.append(tr(lang, "no_grid_points", n=outside, s=_plural(outside, lang)))
        if len(in_grid):
            by_town = _count_table(
                in_grid,
                ["city_name", "county_code", "county_name", "township_code", "township_name"],
                order=["county_code", "points", "township_code"],
                ascending=[True, False, True],
            )
            add(
                "per_township",
                "sec_township",
                paragraphs=paragraphs,
                table=table(
                    "per_township",
                    "sec_township",
                    [
                        Column("city_name", tr(lang, "col_city")),
                        Column("county_name", tr(lang, "col_county")),
                        Column("township_name", tr(lang, "col_township")),
                        Column("points", tr(lang, "col_points"), "int"),
                    ],
                    by_town,
                    total={"city_name": total_label, "points": len(in_grid)},
                ),
            )
        else:
            notes.extend(paragraphs)
    # 5. the points
    shown = _point_frame(counted, lang)
    add(
        "points",
        "sec_points",
        table=table("points", "sec_points", _point_columns(lang, shown, edition), shown),
    )
    # 6. excluded and doubtful points
    odd = prov[prov["treatment"] != "counted"]
    if has_classes or len(odd):
        reasons = (
            prov.loc[prov["treatment"] == "excluded", "reason_kind"]
            .fillna("—")
            .value_counts()
            .items()
        )
        summary = tr(
            lang,
            "excluded_summary",
            excluded=n_excluded,
            flagged=n_flagged,
            reasons=join_list([f"{r} {n}" for r, n in reasons], lang) or tr(lang, "none"),
        )
        sec = add("excluded", "sec_excluded", paragraphs=[summary])
        if len(odd):
            odd_frame = _point_frame(odd, lang)
            odd_frame["treatment_label"] = _labels(lang, "treat", odd_frame["treatment"])
            base = _point_columns(lang, odd_frame, edition)
            cols = [
                base[0],
                Column("treatment_label", tr(lang, "col_treatment")),
                Column("reason", tr(lang, "col_reason")),
                *base[1:],
            ]
            sec.table = table("excluded", "sec_excluded", cols, odd_frame)
        lead_index = len(sections)
        if n_excluded or n_flagged:
            notes.insert(
                0,
                tr(
                    lang,
                    "lead_flagged",
                    excluded=n_excluded,
                    flagged=n_flagged,
                    s_ex=_plural(n_excluded, lang),
                    section=numeral(lead_index, lang),
                ),
            )
    # 7. site checks
    if "review_status" in prov:
        status = prov["review_status"]
        verdict = (
            prov["verdict"] if "verdict" in prov else pd.Series(index=prov.index, dtype=object)
        )
        rows = [
            ("review_sent", int(status.notna().sum())),
            ("review_answered", int((status == "answered").sum())),
            ("review_confirmed", int((verdict == "straw_burning").sum())),
            ("review_ruled_out", int((verdict.notna() & (verdict != "straw_burning")).sum())),
            ("review_pending", int((status == "pending").sum())),
            ("review_overdue", int((status == "overdue").sum())),
            ("review_escalated", int((status == "escalated").sum())),
        ]
        frame = pd.DataFrame(
            {"item": [tr(lang, k) for k, _ in rows], "count": [v for _, v in rows]}
        )
        add(
            "review",
            "sec_review",
            table=table(
                "review",
                "sec_review",
                [
                    Column("item", tr(lang, "col_item")),
                    Column("count", tr(lang, "col_count"), "int"),
                ],
                frame,
            ),
        )
    return sections


# --------------------------------------------------------------------------------------------
# period reports
# --------------------------------------------------------------------------------------------


def week_window(day: dt.date) -> tuple[dt.date, dt.date]:
    """Monday to Sunday of the week containing ``day``."""
    first = day - dt.timedelta(days=day.weekday())
    return first, first + dt.timedelta(days=6)


def period_window(settings: Settings, name: str, year: int) -> tuple[dt.date, dt.date]:
    """First and last day of the ban period ``name`` (``settings.ban_periods``) in ``year``.

    Raises
    ------
    ValueError
        If no ban period of that name applies in ``year``.
    """
    for pname, first, last in settings.ban_windows(year):
        if pname == name:
            return first, last
    names = sorted({p.name for p in settings.ban_periods})
    raise ValueError(f"no ban period {name!r} in {year}; configured: {', '.join(names)}")


def _per_day(points: pd.DataFrame) -> dict[dt.date, int]:
    counts = points.groupby("day").size()
    return dict(zip(counts.index.tolist(), counts.astype(int).tolist(), strict=True))


def _period_name(name: str, lang: str) -> str:
    try:
        return tr(lang, f"period_{name}")
    except KeyError:
        return tr(lang, "period_other", name=name)


def build_period_report(
    engine: Engine,
    settings: Settings,
    first: dt.date,
    last: dt.date,
    *,
    name: str = "",
    edition: Edition = "public",
    lang: str | None = None,
    now: dt.datetime | None = None,
) -> PeriodReport:
    """Build a report over Beijing-time days ``first``..``last``: per-day counts and a chart,
    per-city and per-county totals.

    Parameters
    ----------
    name
        ``week`` for a weekly report, a ban-period name (``spring``, ``autumn``, …) for a period
        report, or empty for any range.
    edition, lang, now
        As for :func:`build_daily_bulletin` (period tables carry no personal data either way).

    Raises
    ------
    ValueError
        If ``last`` is before ``first``.
    """
    if last < first:
        raise ValueError(f"the period ends ({last}) before it starts ({first})")
    lang = lang or settings.bulletin.lang
    common = _common(settings, lang, edition, now)
    pts = _load_points(engine, first, last, edition)
    prov = treat_points(pts[pts["region"] == "province"], settings.bulletin, lang)
    prov = prov.assign(day=prov["acq_time_bjt"].dt.date)
    counted = prov[prov["treatment"] != "excluded"]
    days = [first + dt.timedelta(days=i) for i in range((last - first).days + 1)]
    detected_per_day = _per_day(prov)
    counted_per_day = _per_day(counted)
    statuses = day_statuses(engine, days, points=detected_per_day, coverage=load_coverage(engine))
    per_day = pd.DataFrame(
        {
            "day": days,
            "points": [
                int(counted_per_day.get(d, 0)) if statuses[d].has_data else None for d in days
            ],
            "kind": [statuses[d].kind for d in days],
        }
    )
    per_day["data"] = [
        tr(lang, f"day_{statuses[d].kind}")
        + (tr(lang, "day_partial") if statuses[d].has_data and not statuses[d].full else "")
        for d in days
    ]
    with_data = per_day[per_day["points"].notna()]
    rng = tr(lang, "range", first=fmt_date(first, lang), last=fmt_date(last, lang))
    if name == "week":
        title = _title(settings, lang, "title_week")
    elif name:
        title = _title(settings, lang, "title_period", period=_period_name(name, lang))
    else:
        title = _title(settings, lang, "title_range")
    lead: list[str] = []
    notes: list[str] = []
    status_message = None
    total = len(counted)
    n_no_data = int((per_day["kind"] == "no_data").sum())
    n_not = int((per_day["kind"] == "not_ingested").sum())
    if with_data.empty:
        status_message = tr(lang, "period_no_data_at_all", range=rng)
    elif total == 0:
        lead.append(tr(lang, "period_lead_none", range=rng))
    else:
        top = with_data.iloc[int(np.argmax(with_data["points"].astype(float).to_numpy()))]
        lead.append(
            tr(
                lang,
                "period_lead",
                range=rng,
                total=total,
                s=_plural(total, lang),
                avg=fmt_number(total / len(with_data), decimals=1),
                max_day=fmt_date(top["day"], lang),
                max=int(top["points"]),
            )
        )
    if n_no_data or n_not:
        notes.append(
            tr(lang, "period_gaps", no_data=n_no_data, not_ingested=n_not, days=len(with_data))
        )
    if _synthetic_grid(prov):
        notes.append(tr(lang, "synthetic_grid"))

    sections: list[Section] = []
    if not with_data.empty:
        from firewatch.publish.bulletin.charts import render_daily_chart

        def heading(key: str) -> str:
            return f"{numeral(len(sections) + 1, lang)}{'、' if lang == 'zh' else '. '}" + tr(
                lang, key
            )

        png = render_daily_chart(
            days,
            [None if pd.isna(p) else int(p) for p in per_day["points"]],
            list(per_day["kind"]),
            lang,
        )
        sections.append(
            Section(
                "chart",
                heading("sec_chart"),
                figure=Figure("chart", png, tr(lang, "fig_chart", n=1, range=rng)),
            )
        )
        total_label = tr(lang, "total")
        tables = [
            (
                "per_day",
                "sec_days",
                [
                    Column("day", tr(lang, "col_date"), "date"),
                    Column("points", tr(lang, "col_points"), "int"),
                    Column("data", tr(lang, "col_data")),
                ],
                per_day,
                {"day": total_label, "points": total},
            ),
        ]
        by_city = _count_table(
            counted,
            ["city_code", "city_name"],
            order=["points", "city_code"],
            ascending=[False, True],
        )
        tables.append(
            (
                "per_city",
                "sec_city",
                [
                    Column("city_name", tr(lang, "col_city")),
                    Column("points", tr(lang, "col_points"), "int"),
                ],
                by_city,
                {"city_name": total_label, "points": total},
            )
        )
        by_county = _count_table(
            counted,
            ["city_code", "city_name", "county_code", "county_name"],
            order=["points", "county_code"],
            ascending=[False, True],
        )
        tables.append(
            (
                "per_county",
                "sec_county",
                [
                    Column("city_name", tr(lang, "col_city")),
                    Column("county_name", tr(lang, "col_county")),
                    Column("points", tr(lang, "col_points"), "int"),
                ],
                by_county,
                {"city_name": total_label, "points": total},
            )
        )
        for i, (key, title_key, cols, frame, tot) in enumerate(tables, start=1):
            t = tr(lang, title_key)
            sections.append(
                Section(
                    key,
                    heading(title_key),
                    table=Table(
                        key=key,
                        caption=tr(lang, "table_caption", n=i, title=t),
                        sheet=_sheet(t),
                        columns=cols,
                        frame=frame.reset_index(drop=True),
                        total=tot,
                    ),
                )
            )
    products = sorted({p for s in statuses.values() for p in s.products})
    stem = f"report_{name or 'range'}_{first.isoformat()}_{last.isoformat()}_{lang}_{edition}"
    return PeriodReport(
        kind="period",
        title=title,
        subtitle=rng,
        status_message=status_message,
        lead=lead,
        notes=notes,
        sections=sections,
        footer=_footer(lang, products, common["generated_at"]),
        file_stem=stem,
        name=name,
        first=first,
        last=last,
        total=total,
        statuses=statuses,
        per_day=per_day,
        **common,
    )
