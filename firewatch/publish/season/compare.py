"""Season against season and year against year, per county: tables and charts.

Comparisons are made on the county cubes of :mod:`~firewatch.publish.season.cubes`.  Counts of
different sensors are not comparable (VIIRS at 375 m sees many small fires MODIS at 1 km misses),
and seasons with different data coverage are compared per day with data, so the comparison
carries plain-language notes on what limits it.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

if TYPE_CHECKING:
    import xarray as xr

__all__ = [
    "SeasonComparison",
    "compare_seasons",
    "daily_counts",
    "plot_county_change",
    "plot_daily",
    "season_totals",
    "write_comparison",
]

log = logging.getLogger(__name__)

_CJK_FONTS = ("Noto Sans CJK SC", "Noto Sans CJK TC", "Noto Sans CJK JP", "WenQuanYi Zen Hei")


def _label(ds: xr.Dataset) -> str:
    return f"{ds.attrs.get('season', '?')} {ds.attrs.get('year', '?')}"


def season_totals(cube: xr.Dataset) -> pd.DataFrame:
    """Season totals per county of a county cube.

    Returns
    -------
    pandas.DataFrame
        Indexed by county_code: county_name, city_name, fire_count, frp_sum, fre, dry_matter,
        dry_matter_low, dry_matter_high, per_day (detections per day with data).
    """
    days = max(int((cube["n_overpasses"] > 0).sum()), 1)
    out = pd.DataFrame(
        {
            "county_name": cube["county_name"].to_numpy(),
            "city_name": cube["city_name"].to_numpy(),
            "fire_count": cube["fire_count"].sum("date").to_numpy().astype(int),
            "frp_sum": cube["frp_sum"].sum("date").to_numpy(),
            "fre": cube["fre"].sum("date").to_numpy(),
            "dry_matter": cube["dry_matter"].sum("date").to_numpy(),
            "dry_matter_low": cube["dry_matter_low"].sum("date").to_numpy(),
            "dry_matter_high": cube["dry_matter_high"].sum("date").to_numpy(),
        },
        index=pd.Index(cube["county"].to_numpy().astype(str), name="county_code"),
    )
    out["per_day"] = out["fire_count"] / days
    return out


def daily_counts(cube: xr.Dataset) -> pd.Series:
    """Detections per day of the season (all counties); ``NaN`` on days without any overpass
    with a detection, which may be a true zero or missing data."""
    counts = cube["fire_count"].sum("county").to_numpy().astype(float)
    counts[cube["n_overpasses"].to_numpy() == 0] = np.nan
    return pd.Series(counts, index=pd.DatetimeIndex(cube["date"].to_numpy()), name=_label(cube))


def _notes(a: xr.Dataset, b: xr.Dataset) -> list[str]:
    notes = []
    ia, ib = a.attrs.get("instruments", ""), b.attrs.get("instruments", "")
    sa, sb = a.attrs.get("satellites", ""), b.attrs.get("satellites", "")
    if ia != ib or sa != sb:
        notes.append(
            f"different sensors ({ia or '?'} on {sa or '?'} vs {ib or '?'} on {sb or '?'}): "
            "counts and FRE are not comparable as they stand"
        )
    da = int((a["n_overpasses"] > 0).sum())
    db = int((b["n_overpasses"] > 0).sum())
    if da != db:
        notes.append(
            f"data on {da} of {a.sizes['date']} days vs {db} of {b.sizes['date']} days: "
            "compare the per-day columns"
        )
    if a.sizes["date"] != b.sizes["date"]:
        notes.append(f"windows differ in length ({a.sizes['date']} vs {b.sizes['date']} days)")
    return notes


@dataclass
class SeasonComparison:
    """Two seasons side by side, per county."""

    label_a: str
    label_b: str
    kind: str  # "year vs year" | "season vs season" | "other"
    table: pd.DataFrame
    notes: list[str] = field(default_factory=list)

    @property
    def comparable(self) -> bool:
        """False when the two seasons were seen by different sensors (see ``notes``)."""
        return not any(n.startswith("different sensors") for n in self.notes)


def compare_seasons(a: xr.Dataset, b: xr.Dataset) -> SeasonComparison:
    """Compare season ``b`` with the earlier/reference season ``a``, county by county.

    Returns
    -------
    SeasonComparison
        ``table`` indexed by county_code (plus a final ``total`` row): count, per-day count and
        dry matter (with ranges) of each season, the change in count and its percentage (``NaN``
        where ``a`` had none).
    """
    ta, tb = season_totals(a), season_totals(b)
    idx = ta.index.union(tb.index)
    ta, tb = ta.reindex(idx), tb.reindex(idx)
    names = ta["county_name"].where(ta["county_name"].notna(), tb["county_name"])
    cities = ta["city_name"].where(ta["city_name"].notna(), tb["city_name"])
    t = pd.DataFrame(
        {
            "county_name": names,
            "city_name": cities,
            "count_a": ta["fire_count"].fillna(0).astype(int),
            "count_b": tb["fire_count"].fillna(0).astype(int),
            "per_day_a": ta["per_day"].fillna(0.0),
            "per_day_b": tb["per_day"].fillna(0.0),
            "dry_matter_a": ta["dry_matter"].fillna(0.0),
            "dry_matter_a_low": ta["dry_matter_low"].fillna(0.0),
            "dry_matter_a_high": ta["dry_matter_high"].fillna(0.0),
            "dry_matter_b": tb["dry_matter"].fillna(0.0),
            "dry_matter_b_low": tb["dry_matter_low"].fillna(0.0),
            "dry_matter_b_high": tb["dry_matter_high"].fillna(0.0),
        }
    )
    total = t.drop(columns=["county_name", "city_name"]).sum()
    total["per_day_a"] = t["count_a"].sum() / max(int((a["n_overpasses"] > 0).sum()), 1)
    total["per_day_b"] = t["count_b"].sum() / max(int((b["n_overpasses"] > 0).sum()), 1)
    t.loc["total"] = {"county_name": "合计 total", "city_name": "", **total.to_dict()}
    t = t.astype({"count_a": int, "count_b": int})
    t["change"] = t["count_b"] - t["count_a"]
    with np.errstate(divide="ignore", invalid="ignore"):
        t["change_pct"] = np.where(t["count_a"] > 0, 100.0 * t["change"] / t["count_a"], np.nan)
    body = t.drop(index="total").sort_values(["count_b", "count_a"], ascending=False)
    t = pd.concat([body, t.loc[["total"]]])
    t.index.name = "county_code"
    same_name = a.attrs.get("season") == b.attrs.get("season")
    same_year = a.attrs.get("year") == b.attrs.get("year")
    kind = "year vs year" if same_name and not same_year else "season vs season"
    if same_name and same_year:
        kind = "other"
    return SeasonComparison(_label(a), _label(b), kind, t, _notes(a, b))


def _figure(width: float, height: float) -> Any:
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(width, height), dpi=120)
    FigureCanvasAgg(fig)
    return fig


def _cjk_font() -> str | None:
    from matplotlib import font_manager

    names = {f.name for f in font_manager.fontManager.ttflist}
    return next((n for n in _CJK_FONTS if n in names), None)


def plot_county_change(cmp: SeasonComparison, path: str | Path, *, top: int = 15) -> Path:
    """Horizontal bars: detections per county in both seasons, the ``top`` counties of either."""
    path = Path(path)
    body = cmp.table.drop(index="total", errors="ignore")
    body = body.assign(_m=body[["count_a", "count_b"]].max(axis=1)).nlargest(top, "_m")
    body = body.iloc[::-1]
    font = _cjk_font()
    # Chinese county names need a CJK font; without one, codes avoid missing-glyph boxes.
    labels = (
        [f"{n} {c}" for c, n in zip(body.index, body["county_name"], strict=True)]
        if font
        else list(body.index)
    )
    fig = _figure(8, 0.35 * len(body) + 1.5)
    ax = fig.add_subplot()
    y = np.arange(len(body))
    ax.barh(y - 0.2, body["count_a"], height=0.4, label=cmp.label_a, color="#9aa5b1")
    ax.barh(y + 0.2, body["count_b"], height=0.4, label=cmp.label_b, color="#d9480f")
    ax.set_yticks(y, labels, fontfamily=font or "DejaVu Sans")
    ax.set_xlabel("fire detections")
    ax.set_title(f"{cmp.label_b} vs {cmp.label_a} ({cmp.kind}): top {len(body)} counties")
    ax.legend(loc="lower right")
    if cmp.notes:
        fig.text(0.01, 0.005, "; ".join(cmp.notes)[:160], fontsize=7, color="#555555")
    fig.tight_layout(rect=(0, 0.03, 1, 1))
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path)
    return path


def plot_daily(cubes: list[xr.Dataset], path: str | Path) -> Path:
    """Daily detections of several seasons, aligned by day of the season window.

    Days without an overpass with a detection are left as gaps, not drawn as zeros.
    """
    path = Path(path)
    fig = _figure(9, 3.8)
    ax = fig.add_subplot()
    for ds in cubes:
        s = daily_counts(ds)
        ax.plot(np.arange(len(s)), s.to_numpy(), marker=".", lw=1.2, label=_label(ds))
    first = cubes[0]["date"].to_numpy()[0] if cubes else None
    ax.set_xlabel(
        f"day of the season window (day 0 = {pd.Timestamp(first):%m-%d})"
        if first is not None
        else "day"
    )
    ax.set_ylabel("fire detections per day")
    ax.legend()
    ax.grid(alpha=0.3)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path)
    return path


def write_comparison(cmp: SeasonComparison, out_dir: str | Path, *, stem: str) -> dict[str, Path]:
    """Write the comparison table (CSV, UTF-8 with BOM for Excel) and its chart.

    Returns
    -------
    dict
        ``{"table": csv path, "chart": png path}``.
    """
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    csv_path = out / f"{stem}.csv"
    # UTF-8 with BOM so that Excel shows the Chinese names; notes go to the caller's summary.
    csv_path.write_text(cmp.table.to_csv(float_format="%.6g"), encoding="utf-8-sig")
    png = plot_county_change(cmp, out / f"{stem}.png")
    return {"table": csv_path, "chart": png}
