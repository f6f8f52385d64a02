"""Rebuild the bundled industrial-site subsets from the original public files.

Run from the repository top level with the folder that holds the originals::

    python firewatch/data/industrial/build_subsets.py SOURCE_DIR

``SOURCE_DIR`` must contain ``gppd_v1.3_subset_columns.csv`` (WRI Global Power Plant Database,
latin-1) and ``VIIRS_Global_flaring_d.7_slope_0.029353_2017_web_v1.xlsx`` (EOG VIIRS Nightfire
flare sites 2017).  Only sites inside the Heilongjiang box widened by 0.5° are kept, so that sites
just across the border still count for distances.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import pandas as pd

#: lon 121.1–135.2, lat 43.3–53.6 (the monitored box) widened by 0.5°.
BOX = (120.6, 42.8, 135.7, 54.1)
HERE = Path(__file__).resolve().parent


def _inbox(lon: pd.Series, lat: pd.Series) -> pd.Series:
    w, s, e, n = BOX
    return lon.between(w, e) & lat.between(s, n)


def build(source: Path) -> None:
    gppd = pd.read_csv(
        source / "gppd_v1.3_subset_columns.csv", encoding="latin-1", low_memory=False
    )
    gppd = gppd.loc[_inbox(gppd["longitude"], gppd["latitude"])]
    out = pd.DataFrame(
        {
            "name": gppd["name"].str.strip(),
            "country": gppd["country_long"],
            "primary_fuel": gppd["primary_fuel"],
            "latitude": gppd["latitude"].round(5),
            "longitude": gppd["longitude"].round(5),
            "estimated_generation_gwh_2017": gppd["estimated_generation_gwh_2017"],
        }
    ).sort_values(["primary_fuel", "name"])
    out.to_csv(HERE / "gppd_power_plants_hlj.csv", index=False)

    xlsx = pd.ExcelFile(source / "VIIRS_Global_flaring_d.7_slope_0.029353_2017_web_v1.xlsx")
    frames = []
    for sheet in ("flares_upstream", "flares_downstream_oil", "flares_downstream_gas"):
        f = xlsx.parse(sheet)
        f = f.loc[_inbox(f["Longitude"], f["Latitude"])]
        frames.append(
            pd.DataFrame(
                {
                    "id_key_2017": f["id_key_2017"],
                    "sheet": sheet,
                    "type": f["Type"],
                    "country": f["Country"],
                    "latitude": f["Latitude"].round(6),
                    "longitude": f["Longitude"].round(6),
                    "avg_temp_k": f["Avg_Temp_K"],
                    "detection_frequency_2017": f["Detection_frequency_2017"],
                    "clear_obs_2017": f["Clear_obs_2017"],
                    "bcm_2017": f["BCM_2017"],
                }
            )
        )
    flares = pd.concat(frames, ignore_index=True).sort_values("id_key_2017")
    flares.to_csv(HERE / "vnf_flares_2017_hlj.csv", index=False)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("source", type=Path)
    build(ap.parse_args().source)


if __name__ == "__main__":
    main()
