"""Fire radiative energy (FRE) and dry matter burned, from FRP snapshots.

A polar orbiter sees a fire only at its overpasses (VIIRS on NOAA-20 once or twice a day over
Heilongjiang, around 10:30–14:30 local solar time).  FRE is the time integral of FRP, so the
integral has to be filled in by an assumption about *when* fires burn.  The method (written out
in ``docs/season.md``):

1. **Diurnal cycle (daytime detections).**  Fire activity is assumed to follow a modified
   Gaussian in local solar time, ``s(t) = b + exp(-(t - h)^2 / (2 sigma^2))`` (Vermote et al.
   2009; Ellicott et al. 2009).  A detection with FRP ``P`` at solar time ``t`` then stands for a
   day's energy ``E = P * I / s(t)`` with ``I = ∫_0^24 s(t) dt`` (in seconds), capped at
   ``P * max_hours_per_observation``.  This is a statistical (population) estimate: summed over a
   county or a season it is the expected energy of the fires the snapshot sampled; for one fire it
   is an expectation, not a measurement.
2. **Night detections** are not inverted through the cycle's thin night tail; a night detection
   stands for ``P * night_hours``.
3. **Overpass sampling.**  When several overpasses of the same regime see fire around the same
   place on the same day, each one is an estimate of the same day's energy: the estimates are
   averaged, not added.  Per detection this is a division by ``n_overpasses`` (distinct overpasses
   with fire within ``event_distance_km`` on that day; see :mod:`.events`).
4. **Dry matter** burned = FRE × 0.368 kg/MJ (Wooster et al. 2005; ±0.015).
5. **Range.**  The estimate is repeated with the alternative cycles of the settings (narrower and
   baseline-free; wider with more night burning) and the ends of the night duration and of the
   conversion factor; the low and high ends are the smallest and largest results per detection.

Not covered (all make the estimate low): fires never seen (clouds, smoke, fires that start and end
between overpasses, including burning after the afternoon pass), fires below the detection limit,
and days missing from the input.  Industrial heat sources count unless the classifier's
``fp_class`` has removed them.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from firewatch.publish.season.events import EventLinks, find_events
from firewatch.publish.season.settings import DiurnalCycle, SeasonSettings

__all__ = [
    "ENERGY_COLUMNS",
    "FRE_COLUMNS",
    "diurnal_integral_hours",
    "diurnal_shape",
    "estimate_fre",
    "hours_represented",
]

#: The energy and dry-matter columns (central, low, high), which add up over events and cubes.
ENERGY_COLUMNS: tuple[str, ...] = (
    "fre_mj",
    "fre_mj_low",
    "fre_mj_high",
    "dry_matter_t",
    "dry_matter_t_low",
    "dry_matter_t_high",
)

#: Columns :func:`estimate_fre` adds.
FRE_COLUMNS: tuple[str, ...] = (
    "day",
    "overpass_id",
    "event_id",
    "n_overpasses",
    "daytime",
    "solar_hour",
    "hours",
    *ENERGY_COLUMNS,
)


def diurnal_shape(hour: np.ndarray | float, cycle: DiurnalCycle) -> np.ndarray:
    """Relative FRP ``b + exp(-(t - h)^2 / (2 sigma^2))`` at local solar ``hour``.

    The distance to the peak is taken around the clock (at most 12 h).
    """
    dt = np.abs(np.asarray(hour, dtype=float) - cycle.peak_hour)
    dt = np.minimum(dt, 24.0 - dt)
    return cycle.baseline + np.exp(-(dt**2) / (2.0 * cycle.sigma_h**2))


def diurnal_integral_hours(cycle: DiurnalCycle) -> float:
    """``∫ s(t) dt`` over one day (24 h centred on the peak), in hours."""
    half = 12.0 / (cycle.sigma_h * math.sqrt(2.0))
    return 24.0 * cycle.baseline + cycle.sigma_h * math.sqrt(2.0 * math.pi) * math.erf(half)


def hours_represented(
    solar_hour: np.ndarray,
    daytime: np.ndarray,
    cycle: DiurnalCycle,
    *,
    night_hours: float,
    max_hours: float,
) -> np.ndarray:
    """Hours at observed FRP that one observation stands for (before overpass averaging)."""
    day_h = diurnal_integral_hours(cycle) / diurnal_shape(solar_hour, cycle)
    return np.where(daytime, np.minimum(day_h, max_hours), night_hours)


def _straw_mask(frame: pd.DataFrame, settings: SeasonSettings) -> np.ndarray:
    """Which detections count as burned straw (classifier classes, FIRMS static sources)."""
    keep = np.ones(len(frame), dtype=bool)
    if "fp_class" in frame.columns:
        cls = frame["fp_class"].astype("string")
        keep &= cls.isin(settings.straw_classes).fillna(False).to_numpy(dtype=bool)
    if "fire_type" in frame.columns:
        # FIRMS type 2 (static land source) and 3 (offshore) are not field fires.
        ft = pd.to_numeric(frame["fire_type"], errors="coerce").to_numpy(dtype=float)
        keep &= ~np.isin(ft, (1.0, 2.0, 3.0))
    return keep


def estimate_fre(
    frame: pd.DataFrame,
    settings: SeasonSettings | None = None,
    *,
    links: EventLinks | None = None,
    straw_only: bool = False,
) -> pd.DataFrame:
    """Fire radiative energy and dry matter per detection, with the event it belongs to.

    Parameters
    ----------
    frame
        Canonical detections (attribution columns are kept).
    settings
        ``Settings.season``; defaults when omitted.
    links
        Result of :func:`~firewatch.publish.season.events.find_events` on ``frame`` (computed
        when omitted).
    straw_only
        Set FRE and dry matter to zero for detections that are not burned straw (classifier class
        outside ``settings.straw_classes``, or a FIRMS static/volcano/offshore type).  Counts and
        FRP are unaffected.

    Returns
    -------
    pandas.DataFrame
        ``frame`` with :data:`FRE_COLUMNS` added (FRE in MJ, dry matter in tonnes).
    """
    cfg = settings or SeasonSettings()
    if links is None:
        links = find_events(frame, settings=cfg)
    out = frame.copy()
    for name, values in links.frame(frame.index).items():
        out[name] = values

    frp = frame["frp"].to_numpy(dtype=float)
    frp = np.where(np.isfinite(frp) & (frp > 0), frp, 0.0)
    per = frp * 3600.0 / np.maximum(links.n_overpasses, 1)  # MJ per hour represented
    lo_n, mid_n, hi_n = cfg.night_hours
    cap = cfg.max_hours_per_observation
    kw = {"max_hours": cap}
    central_h = hours_represented(
        links.solar_hour, links.daytime, cfg.diurnal, night_hours=mid_n, **kw
    )
    alts = [
        hours_represented(links.solar_hour, links.daytime, c, night_hours=mid_n, **kw)
        for c in cfg.diurnal_alternatives
    ]
    lo_h = np.minimum.reduce([central_h, *alts])
    hi_h = np.maximum.reduce([central_h, *alts])
    lo_h = np.where(links.daytime, lo_h, lo_n)
    hi_h = np.where(links.daytime, hi_h, hi_n)

    mask = _straw_mask(frame, cfg) if straw_only else np.ones(len(frame), dtype=bool)
    k_lo, k_mid, k_hi = cfg.dry_matter_kg_per_mj
    out["hours"] = central_h
    out["fre_mj"] = np.where(mask, per * central_h, 0.0)
    out["fre_mj_low"] = np.where(mask, per * lo_h, 0.0)
    out["fre_mj_high"] = np.where(mask, per * hi_h, 0.0)
    out["dry_matter_t"] = out["fre_mj"] * k_mid / 1000.0
    out["dry_matter_t_low"] = out["fre_mj_low"] * k_lo / 1000.0
    out["dry_matter_t_high"] = out["fre_mj_high"] * k_hi / 1000.0
    return out
