"""Support for the classifier tests: the real FIRMS fixtures as canonical frames, brute-force
geometry written independently of the package."""

from __future__ import annotations

import functools
from pathlib import Path

import numpy as np
import pandas as pd

from firewatch.sources.firms import read_firms

FIRMS = Path(__file__).resolve().parent / "data" / "firms"
SERIES = FIRMS / "viirs_noaa20_hlj_autumn2022"
INBOX = FIRMS / "inbox"
INDUSTRIAL = Path(__file__).resolve().parent.parent / "firewatch" / "data" / "industrial"


def read_all(paths: list[Path]) -> pd.DataFrame:
    frames = [read_firms(p).frame for p in paths]
    return pd.concat(frames, ignore_index=True).drop_duplicates("detection_id", ignore_index=True)


@functools.cache
def load_series() -> pd.DataFrame:
    """The 50-day NOAA-20 series over Heilongjiang, canonical, one row per detection."""
    return read_all(sorted(SERIES.glob("*.csv")))


@functools.cache
def load_inbox() -> pd.DataFrame:
    """The in-box rows of every bundled global MODIS/VIIRS file."""
    return read_all(sorted(p for p in INBOX.iterdir() if p.suffix in (".csv", ".txt")))


def haversine_km(lat1: float, lon1: float, lat2: np.ndarray, lon2: np.ndarray) -> np.ndarray:
    """Great-circle distance on the mean-radius sphere (written out here, independent of the
    package's KD-tree)."""
    r = 6371.0088
    p1, p2 = np.radians(lat1), np.radians(lat2)
    dp = p2 - p1
    dl = np.radians(lon2 - lon1)
    a = np.sin(dp / 2) ** 2 + np.cos(p1) * np.cos(p2) * np.sin(dl / 2) ** 2
    return 2 * r * np.arcsin(np.sqrt(a))


def thermal_sites() -> pd.DataFrame:
    """Bundled coal/gas power plants and flare sites, read straight from the CSVs."""
    g = pd.read_csv(INDUSTRIAL / "gppd_power_plants_hlj.csv")
    g = g.loc[g["primary_fuel"].isin(["Coal", "Gas", "Oil"]), ["name", "latitude", "longitude"]]
    f = pd.read_csv(INDUSTRIAL / "vnf_flares_2017_hlj.csv")
    f = f.assign(name="vnf " + f["id_key_2017"].astype(str))[["name", "latitude", "longitude"]]
    return pd.concat([g.assign(kind="power"), f.assign(kind="flare")], ignore_index=True)
