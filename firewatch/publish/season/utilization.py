"""Straw produced and collectable, the share burned, and the utilization rate it allows.

The agriculture ministry's straw ledger (shared DOMAIN primer)::

    straw produced   = grain production × straw-to-grain ratio (草谷比)
    collectable      = produced × collectable coefficient (可收集系数)
    utilization rate = straw used / collectable straw

Open burning destroys straw that was, by definition, not used; so with the dry matter burned from
FRE (:mod:`~firewatch.publish.season.fre`)::

    burned share             = burned dry matter / (collectable × (1 − straw moisture))
    utilization rate  ≤  1 − burned share

The satellite gives an **upper bound** on the utilization rate, not the rate: straw left in
the field unburned and unused is invisible to it, and so are fires it never saw (which makes the
burned share a lower bound too).  The report therefore says whether a reported rate and the
target are *possible* given what burned, with ranges from the coefficient ranges and the FRE
range: the low end of the share pairs the smallest burned estimate with the largest collectable
straw, the high end the opposite.

Input: a crop-statistics CSV (one row per year, county and crop; see
``firewatch/data/crops/README.md``) and optionally a CSV of reported utilization rates.
"""

from __future__ import annotations

import csv
import io
import logging
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from firewatch.errors import FirewatchError
from firewatch.publish.season.settings import CROP_ALIASES, SeasonSettings
from firewatch.store.repo import Quarantine

if TYPE_CHECKING:
    import xarray as xr

__all__ = [
    "CROP_COLUMNS",
    "REPORTED_COLUMNS",
    "CropStatsError",
    "TableRead",
    "burned_by_county",
    "read_crop_statistics",
    "read_reported_rates",
    "straw_resources",
    "utilization_report",
]

log = logging.getLogger(__name__)

#: Required columns of the crop-statistics CSV (``county_name`` and ``source`` are optional).
CROP_COLUMNS: tuple[str, ...] = ("year", "county_code", "crop", "sown_area_ha", "yield_t_per_ha")
#: Required columns of the reported-rates CSV (``county_name`` and ``source`` are optional).
REPORTED_COLUMNS: tuple[str, ...] = ("year", "county_code", "reported_utilization_pct")


class CropStatsError(FirewatchError, ValueError):
    """A crop-statistics or reported-rates file was refused whole; nothing was read from it."""

    def __init__(self, message: str, *, origin: str | None = None) -> None:
        self.origin = origin
        super().__init__(f"{origin}: {message}" if origin else message)


@dataclass
class TableRead:
    """Rows read from a user-supplied CSV and the rows quarantined (file, line, reason)."""

    frame: pd.DataFrame
    origin: str
    quarantined: list[Quarantine] = field(default_factory=list)


def _decode(raw: bytes, origin: str) -> str:
    for enc in ("utf-8-sig", "gb18030"):  # Excel in China often saves GB18030
        try:
            return raw.decode(enc)
        except UnicodeDecodeError:
            continue
    raise CropStatsError("not a text file (neither UTF-8 nor GB18030)", origin=origin)


def _read_table(
    path: str | Path, required: Sequence[str], optional: Sequence[str]
) -> tuple[pd.DataFrame, str]:
    """CSV -> string frame with a ``line`` column (physical line) and every ``optional`` column
    (empty when the file has none); ``#`` lines are comments."""
    p = Path(path)
    origin = p.name
    if not p.is_file():
        raise CropStatsError("file not found", origin=str(p))
    text = _decode(p.read_bytes(), origin)
    numbered = [
        (n, line)
        for n, line in enumerate(text.splitlines(), start=1)
        if line.strip() and not line.lstrip().startswith("#")
    ]
    if not numbered:
        raise CropStatsError("no header and no rows", origin=origin)
    rows = list(csv.reader(io.StringIO("\n".join(line for _, line in numbered))))
    header = [h.strip().lower() for h in rows[0]]
    missing = [c for c in required if c not in header]
    if missing:
        raise CropStatsError(
            f"missing column(s) {', '.join(missing)}; expected {', '.join(required)}"
            f" (optional: {', '.join(optional)}); found {', '.join(header)}",
            origin=origin,
        )
    width = len(header)
    body = rows[1:]
    too_many = [len(r) > width for r in body]
    cells = [(r + [""] * width)[:width] for r in body]
    frame = pd.DataFrame(cells, columns=header, dtype=object)
    frame = frame.apply(lambda s: s.astype("string").str.strip())
    for col in optional:
        if col not in frame:
            frame[col] = pd.Series(pd.NA, index=frame.index, dtype="string")
    frame["line"] = [n for n, _ in numbered[1:]]
    frame["_too_many"] = too_many
    return frame, origin


def _number(s: pd.Series) -> pd.Series:
    return pd.to_numeric(s.str.replace(",", "", regex=False), errors="coerce")


def _quarantine(
    frame: pd.DataFrame, bad: pd.Series, reason: str, origin: str, out: list[Quarantine]
) -> pd.DataFrame:
    """Move rows flagged ``bad`` (and not yet quarantined) to ``out``; return the rest."""
    for line in frame.loc[bad.fillna(True), "line"]:
        out.append(Quarantine(origin=origin, line=int(line), reason=reason))
    return frame.loc[~bad.fillna(True)]


def _common_checks(raw: pd.DataFrame, origin: str, q: list[Quarantine]) -> pd.DataFrame:
    """The row checks every table here shares: cell count, year, county code."""
    f = _quarantine(raw, raw["_too_many"].astype(bool), "more cells than columns", origin, q)
    year = pd.to_numeric(f["year"], errors="coerce")
    f = _quarantine(f, year.isna() | (year % 1 != 0), "year is not a whole number", origin, q)
    code_ok = f["county_code"].str.fullmatch(r"\d{6}")
    return _quarantine(f, ~code_ok.astype(bool), "county_code is not a 6-digit code", origin, q)


def _finish(
    f: pd.DataFrame,
    values: dict[str, pd.Series],
    keys: list[str],
    what: str,
    origin: str,
    q: list[Quarantine],
) -> TableRead:
    """The checked rows as a table (year, county, ``values``, source, line) with repeats of
    ``keys`` quarantined; refused when no row is left."""
    out = pd.DataFrame(
        {
            "year": pd.to_numeric(f["year"]).astype(int),
            "county_code": f["county_code"].astype(str),
            "county_name": f["county_name"],
            **{k: v.loc[f.index] for k, v in values.items()},
            "source": f["source"],
            "line": f["line"].astype(int),
        }
    )
    dup = out.duplicated(keys, keep="first")
    out = _quarantine(out, dup, f"repeats an earlier row for this {what}", origin, q)
    if out.empty:
        raise CropStatsError(f"no usable row ({len(q)} quarantined)", origin=origin)
    if q:
        log.warning("%s: %d row(s) quarantined", origin, len(q))
    return TableRead(frame=out.reset_index(drop=True), origin=origin, quarantined=q)


def read_crop_statistics(path: str | Path, *, settings: SeasonSettings | None = None) -> TableRead:
    """Read a crop-statistics CSV: sown area and yield per crop, county and year.

    Columns: ``year``, ``county_code`` (6-digit statistical code), ``crop`` (corn/maize/玉米,
    rice/水稻, soybean/大豆, wheat/小麦, or any crop with coefficients in the settings),
    ``sown_area_ha``, ``yield_t_per_ha``; optional ``county_name``, ``source``.  Lines starting
    with ``#`` are comments.

    Parameters
    ----------
    path
        The CSV (UTF-8 or GB18030).
    settings
        ``Settings.season``: the crops it has coefficients for are the crops accepted.

    Returns
    -------
    TableRead
        ``frame`` with columns year (int), county_code, county_name, crop (canonical key),
        sown_area_ha, yield_t_per_ha, production_t, source, line; ``quarantined`` lists rows
        left out with their line and reason.

    Raises
    ------
    CropStatsError
        The file is missing, not text, lacks a required column, or has no usable row.
    """
    cfg = settings or SeasonSettings()
    raw, origin = _read_table(path, CROP_COLUMNS, ("county_name", "source"))
    q: list[Quarantine] = []
    f = _common_checks(raw, origin, q)
    crop = f["crop"].str.lower().map(lambda c: CROP_ALIASES.get(c, c) if c else c)
    unknown = ~crop.isin(list(cfg.crops))
    f = _quarantine(
        f,
        unknown,
        f"crop has no coefficients in the settings (known: {', '.join(sorted(cfg.crops))})",
        origin,
        q,
    )
    crop = crop.loc[f.index]
    area = _number(f["sown_area_ha"])
    yld = _number(f["yield_t_per_ha"])
    f = _quarantine(f, ~(area >= 0), "sown_area_ha is not a number >= 0", origin, q)
    yld = yld.loc[f.index]
    # 30 t/ha is beyond any grain yield: most likely kg/mu or kg/ha in the wrong column.
    f = _quarantine(f, ~((yld >= 0) & (yld <= 30)), "yield_t_per_ha not in 0–30 t/ha", origin, q)
    return _finish(
        f,
        {
            "crop": crop.astype(str),
            "sown_area_ha": area.astype(float),
            "yield_t_per_ha": yld.astype(float),
            "production_t": (area * yld).astype(float),
        },
        ["year", "county_code", "crop"],
        "year, county and crop",
        origin,
        q,
    )


def read_reported_rates(path: str | Path) -> TableRead:
    """Read reported straw utilization rates: ``year``, ``county_code``,
    ``reported_utilization_pct`` (0–100); optional ``county_name``, ``source``.
    """
    raw, origin = _read_table(path, REPORTED_COLUMNS, ("county_name", "source"))
    q: list[Quarantine] = []
    f = _common_checks(raw, origin, q)
    pct = _number(f["reported_utilization_pct"].str.rstrip("%"))
    f = _quarantine(f, ~((pct >= 0) & (pct <= 100)), "rate not in 0–100 %", origin, q)
    return _finish(
        f,
        {"reported_utilization": pct / 100},
        ["year", "county_code"],
        "year and county",
        origin,
        q,
    )


def straw_resources(crops: pd.DataFrame, settings: SeasonSettings | None = None) -> pd.DataFrame:
    """Straw produced and collectable per year and county, with low/central/high ends.

    Parameters
    ----------
    crops
        The frame of :func:`read_crop_statistics`.
    settings
        ``Settings.season`` (``crops``: straw-to-grain ratios and collectable coefficients).

    Returns
    -------
    pandas.DataFrame
        Indexed by (year, county_code): county_name, grain_t, straw_produced_t (+ ``_low``,
        ``_high``), collectable_t (+ ``_low``, ``_high``), crops, crop_source.
    """
    cfg = settings or SeasonSettings()
    coef = pd.DataFrame(
        {
            name: [*c.straw_to_grain, *c.collectable]
            for name, c in cfg.crops.items()
            if name in set(crops["crop"])
        },
        index=["sgr_low", "sgr", "sgr_high", "coll_low", "coll", "coll_high"],
    ).T
    f = crops.join(coef, on="crop")
    for end in ("_low", "", "_high"):
        f[f"straw_produced_t{end}"] = f["production_t"] * f[f"sgr{end}"]
        f[f"collectable_t{end}"] = f[f"straw_produced_t{end}"] * f[f"coll{end}"]
    g = f.groupby(["year", "county_code"], sort=True)
    sums = g[
        [
            "production_t",
            "straw_produced_t_low",
            "straw_produced_t",
            "straw_produced_t_high",
            "collectable_t_low",
            "collectable_t",
            "collectable_t_high",
        ]
    ].sum()
    sums = sums.rename(columns={"production_t": "grain_t"})
    sums.insert(0, "county_name", g["county_name"].first())
    sums["crops"] = g["crop"].agg(lambda s: ", ".join(sorted(set(s))))
    sums["crop_source"] = g["source"].agg(
        lambda s: "; ".join(sorted({str(v) for v in s.dropna() if str(v)}))
    )
    return sums


def burned_by_county(cubes: xr.Dataset | Iterable[xr.Dataset]) -> pd.DataFrame:
    """Season totals per county from one or more county cubes (e.g. autumn Y and spring Y+1).

    Returns
    -------
    pandas.DataFrame
        Indexed by county_code: county_name, fire_count, frp_sum, burned_dm_t (+ ``_low``,
        ``_high``), seasons (the cubes' labels), days_with_data.
    """
    import xarray as xr

    items = [cubes] if isinstance(cubes, xr.Dataset) else list(cubes)
    parts = []
    labels = []
    days = 0
    for ds in items:
        t = pd.DataFrame(
            {
                "county_name": ds["county_name"].to_numpy(),
                "fire_count": ds["fire_count"].sum("date").to_numpy(),
                "frp_sum": ds["frp_sum"].sum("date").to_numpy(),
                "burned_dm_t_low": ds["dry_matter_low"].sum("date").to_numpy(),
                "burned_dm_t": ds["dry_matter"].sum("date").to_numpy(),
                "burned_dm_t_high": ds["dry_matter_high"].sum("date").to_numpy(),
            },
            index=pd.Index(ds["county"].to_numpy().astype(str), name="county_code"),
        )
        parts.append(t)
        labels.append(f"{ds.attrs.get('season', '?')} {ds.attrs.get('year', '?')}")
        days += int((ds["n_overpasses"] > 0).sum())
    if not parts:
        raise ValueError("no county cube given")
    both = pd.concat(parts)
    names = both["county_name"].groupby(level=0).first()
    out = both.drop(columns="county_name").groupby(level=0).sum()
    out.insert(0, "county_name", names)
    out["seasons"] = " + ".join(labels)
    out["days_with_data"] = days
    return out


def utilization_report(
    resources: pd.DataFrame,
    burned: pd.DataFrame,
    reported: pd.DataFrame | None = None,
    *,
    year: int,
    settings: SeasonSettings | None = None,
) -> pd.DataFrame:
    """Burned share of the collectable straw and the utilization rate it allows, per county.

    Parameters
    ----------
    resources
        :func:`straw_resources` (all years; ``year`` is selected).
    burned
        :func:`burned_by_county` of the seasons that burn the ``year`` harvest (autumn ``year``
        and, when available, spring ``year + 1``).
    reported
        :func:`read_reported_rates` frame (optional).
    year
        The harvest year.
    settings
        ``Settings.season`` (``straw_moisture``, ``utilization_target``).

    Returns
    -------
    pandas.DataFrame
        One row per county with crop statistics or detections: straw and collectable tonnes,
        burned dry matter, ``burned_share`` and ``max_utilization`` (each with ``_low`` and
        ``_high``), ``reported_utilization``, ``target``, ``verdict``, and the sources.
    """
    cfg = settings or SeasonSettings()
    res = resources.xs(year, level="year") if year in resources.index.get_level_values(0) else None
    if res is None:
        res = resources.iloc[0:0].droplevel("year")
    table = res.join(burned.drop(columns="county_name"), how="outer", rsuffix="_burned")
    name_res = res["county_name"].reindex(table.index)
    name_burned = burned["county_name"].reindex(table.index)
    table["county_name"] = name_res.where(name_res.notna(), name_burned)
    for c in ("fire_count", "frp_sum", "burned_dm_t_low", "burned_dm_t", "burned_dm_t_high"):
        table[c] = table[c].fillna(0.0)
    table["fire_count"] = table["fire_count"].astype(int)
    has_stats = table["collectable_t"].notna() & (table["collectable_t"] > 0)
    dry = 1.0 - cfg.straw_moisture
    with np.errstate(divide="ignore", invalid="ignore"):
        share = table["burned_dm_t"] / (table["collectable_t"] * dry)
        share_low = table["burned_dm_t_low"] / (table["collectable_t_high"] * dry)
        share_high = table["burned_dm_t_high"] / (table["collectable_t_low"] * dry)
    table["burned_share"] = share.where(has_stats)
    table["burned_share_low"] = share_low.where(has_stats)
    table["burned_share_high"] = share_high.where(has_stats)
    table["max_utilization"] = (1 - table["burned_share"]).clip(lower=0)
    table["max_utilization_low"] = (1 - table["burned_share_high"]).clip(lower=0)
    table["max_utilization_high"] = (1 - table["burned_share_low"]).clip(lower=0)
    if reported is not None and len(reported):
        rep = reported.loc[reported["year"] == year].set_index("county_code")
        table["reported_utilization"] = rep["reported_utilization"].reindex(table.index)
        table["reported_source"] = rep["source"].reindex(table.index)
    else:
        table["reported_utilization"] = np.nan
        table["reported_source"] = pd.NA
    table["target"] = cfg.utilization_target
    rep_v = table["reported_utilization"].astype(float)
    low_v = table["max_utilization_low"].astype(float)
    high_v = table["max_utilization_high"].astype(float)
    target = cfg.utilization_target
    table["verdict"] = np.select(
        [
            ~has_stats,
            rep_v.notna() & (rep_v > high_v + 1e-9),
            high_v < target,
            low_v < target,
        ],
        [
            "no crop statistics",
            "reported rate above what the burned straw allows",
            "target out of reach even at the low burned estimate",
            "target at risk within the range",
        ],
        default="no contradiction with the target",
    )
    table.insert(0, "year", year)
    table.index.name = "county_code"
    cols = [
        "year",
        "county_name",
        "fire_count",
        "grain_t",
        "straw_produced_t_low",
        "straw_produced_t",
        "straw_produced_t_high",
        "collectable_t_low",
        "collectable_t",
        "collectable_t_high",
        "burned_dm_t_low",
        "burned_dm_t",
        "burned_dm_t_high",
        "burned_share_low",
        "burned_share",
        "burned_share_high",
        "max_utilization_low",
        "max_utilization",
        "max_utilization_high",
        "reported_utilization",
        "target",
        "verdict",
        "seasons",
        "crops",
        "crop_source",
        "reported_source",
    ]
    return table.reindex(columns=cols).sort_values(
        ["burned_share", "fire_count"], ascending=False, na_position="last"
    )
