"""Settings of the seasonal analysis (nested in :class:`firewatch.config.Settings` as ``season``).

Everything here is an assumption or a policy figure, so it is configuration, not a constant in
code.  Environment variables use the nested delimiter, e.g.
``FIREWATCH_SEASON__GRID_RESOLUTION_DEG=0.1``,
``FIREWATCH_SEASON__SENTINEL__CLIENT_ID=...``; in ``firewatch.toml`` write a ``[season]`` table
(``[season.crops.corn]``, ``[season.sentinel]``, ...).

This module imports only pydantic: :mod:`firewatch.config` imports it.
"""

from __future__ import annotations

from pathlib import Path

from pydantic import BaseModel, Field, SecretStr, field_validator

__all__ = [
    "CROP_ALIASES",
    "CropCoefficients",
    "DiurnalCycle",
    "SeasonSettings",
    "SentinelSettings",
]

#: Straw-to-grain ratio caps of the provincial straw ledger (shared DOMAIN primer): corn and
#: soybean at most 3, rice at most 2.5.  A configuration above a cap is refused.
SGR_CAPS: dict[str, float] = {"corn": 3.0, "soybean": 3.0, "rice": 2.5}

#: Names accepted in the crop-statistics CSV for the canonical crop keys.
CROP_ALIASES: dict[str, str] = {
    "corn": "corn",
    "maize": "corn",
    "玉米": "corn",
    "rice": "rice",
    "paddy": "rice",
    "水稻": "rice",
    "稻谷": "rice",
    "soybean": "soybean",
    "soy": "soybean",
    "soybeans": "soybean",
    "大豆": "soybean",
    "wheat": "wheat",
    "小麦": "wheat",
}


def _ordered(v: tuple[float, float, float], what: str) -> tuple[float, float, float]:
    low, central, high = v
    if not (0 <= low <= central <= high):
        raise ValueError(f"{what} must be (low, central, high) with 0 <= low <= central <= high")
    return v


class DiurnalCycle(BaseModel):
    """A modified-Gaussian diurnal cycle of fire radiative power.

    ``FRP(t) = FRP_peak * (baseline + exp(-(t - peak_hour)**2 / (2 * sigma_h**2)))`` with ``t``
    in local solar hours: the form used for polar-orbiter FRP by Vermote et al. (2009) and
    Ellicott et al. (2009).  The values are assumptions (see ``docs/season.md``).
    """

    peak_hour: float = Field(default=13.5, ge=0, le=24)
    sigma_h: float = Field(default=2.0, gt=0, le=12)
    baseline: float = Field(default=0.05, ge=0, le=1)


class CropCoefficients(BaseModel):
    """Straw-to-grain ratio (草谷比) and collectable coefficient (可收集系数) of one crop.

    Each is ``(low, central, high)``: the ends give the honest range of the straw estimate.
    """

    straw_to_grain: tuple[float, float, float]
    collectable: tuple[float, float, float] = (0.77, 0.79, 0.81)
    #: Where the figures come from (shown in reports).
    source: str = ""

    @field_validator("straw_to_grain")
    @classmethod
    def _sgr(cls, v: tuple[float, float, float]) -> tuple[float, float, float]:
        return _ordered(v, "straw_to_grain")

    @field_validator("collectable")
    @classmethod
    def _coll(cls, v: tuple[float, float, float]) -> tuple[float, float, float]:
        _ordered(v, "collectable")
        if v[2] > 1:
            raise ValueError("a collectable coefficient is a fraction (at most 1)")
        return v


def _default_crops() -> dict[str, CropCoefficients]:
    # Literature-typical values for Northeast China, inside the ledger's caps.  Replace them with
    # the ratios your province's straw ledger (秸秆资源台账) sets for the year.
    lit = "literature range; set the ledger's value for the year"
    return {
        # Huo et al. 2020 (农业工程学报 36(21)): measured corn SGR 0.84 ± 0.23 (2018), down from
        # the 1.2 long used; so a wide range around 1.0.
        "corn": CropCoefficients(straw_to_grain=(0.84, 1.0, 1.2), source=lit),
        "rice": CropCoefficients(straw_to_grain=(0.9, 1.0, 1.1), source=lit),
        "soybean": CropCoefficients(straw_to_grain=(1.2, 1.5, 1.7), source=lit),
        "wheat": CropCoefficients(straw_to_grain=(1.1, 1.2, 1.4), source=lit),
    }


class SentinelSettings(BaseModel):
    """Sentinel Hub access and the burn-scar test (Sentinel-2 L2A, NBR / dNBR)."""

    client_id: SecretStr | None = None
    client_secret: SecretStr | None = None
    #: Sentinel Hub deployment; for the Copernicus Data Space use
    #: ``https://sh.dataspace.copernicus.eu`` and its token URL.
    base_url: str = "https://services.sentinel-hub.com"
    token_url: str = (
        "https://services.sentinel-hub.com/auth/realms/main/protocol/openid-connect/token"
    )
    #: Burn-scar results (and the rasters they came from) are kept here, keyed by request.
    cache_dir: Path = Path("out/sentinel-cache")
    resolution_m: float = Field(default=10.0, gt=0)
    #: Margin around an event's detections: a 375 m VIIRS pixel is larger than many fields.
    buffer_m: float = Field(default=400.0, ge=0)
    #: Search windows for the pre-fire and post-fire scenes (days before the first / after the
    #: last detection).
    pre_days: int = Field(default=30, ge=1)
    post_days: int = Field(default=20, ge=1)
    max_cloud_pct: float = Field(default=40.0, ge=0, le=100)
    #: dNBR above which a pixel counts as burned.  Key & Benson class breaks: 0.10 low, 0.27
    #: moderate-low, 0.44 moderate-high, 0.66 high severity.  In cropland the low class overlaps
    #: with harvest and tillage changes, so the default counts moderate-low and above.
    dnbr_threshold: float = 0.27
    #: Below this share of clear pixels in the window the result is "inconclusive".
    min_valid_fraction: float = Field(default=0.5, ge=0, le=1)
    #: A scar must be at least this large to confirm an event.
    min_burned_ha: float = Field(default=1.0, ge=0)
    timeout_s: float = Field(default=60.0, gt=0)
    retries: int = Field(default=2, ge=0)


class SeasonSettings(BaseModel):
    """Seasonal cubes, fire events, FRE and dry matter, straw utilization, burn scars."""

    #: Cell size of the (date × y × x) cube, degrees.
    grid_resolution_deg: float = Field(default=0.05, gt=0, le=5)
    #: Detections closer than this (and no more than ``event_gap_days`` apart) form one event.
    event_distance_km: float = Field(default=1.0, gt=0)
    event_gap_days: int = Field(default=1, ge=0)
    #: Detections of one satellite less than this apart in time belong to the same overpass.
    overpass_gap_minutes: float = Field(default=20.0, gt=0)
    #: Diurnal FRP cycle for daytime detections: central assumption and the two ends of the
    #: range (the low end has the narrowest, baseline-free cycle).
    diurnal: DiurnalCycle = Field(default_factory=DiurnalCycle)
    #: Two more cycles that bracket the central one; the range of an estimate is the smallest and
    #: the largest of the three (which cycle gives which depends on the time of day).
    diurnal_alternatives: list[DiurnalCycle] = Field(
        default_factory=lambda: [
            DiurnalCycle(peak_hour=13.5, sigma_h=1.5, baseline=0.0),
            DiurnalCycle(peak_hour=13.5, sigma_h=3.0, baseline=0.10),
        ]
    )
    #: One observation never stands for more than this many hours at its observed FRP: it guards
    #: against inverting the cycle's thin tails far from the peak (early or late detections).
    max_hours_per_observation: float = Field(default=24.0, gt=0)
    #: Night detections are not scaled by the diurnal cycle (its night tail is too thin to invert);
    #: they are taken to burn for this many hours at the observed FRP: (low, central, high).
    night_hours: tuple[float, float, float] = (0.5, 1.0, 2.0)
    #: Dry matter burned per unit of fire radiative energy, kg/MJ: Wooster et al. (2005)
    #: 0.368 ± 0.015.
    dry_matter_kg_per_mj: tuple[float, float, float] = (0.353, 0.368, 0.383)
    #: Moisture of straw as counted by the ledger (air-dry weight); FRE gives dry matter.
    straw_moisture: float = Field(default=0.15, ge=0, lt=1)
    #: The province's straw utilization target (air-quality plan: at least 95% by 2025).
    utilization_target: float = Field(default=0.95, gt=0, le=1)
    #: Only detections of these classifier classes count as burned straw when the frame has an
    #: ``fp_class`` column (otherwise every detection counts, and the report says so).
    straw_classes: list[str] = Field(default_factory=lambda: ["straw"])
    crops: dict[str, CropCoefficients] = Field(default_factory=_default_crops)
    sentinel: SentinelSettings = Field(default_factory=SentinelSettings)

    @field_validator("night_hours", "dry_matter_kg_per_mj")
    @classmethod
    def _range(cls, v: tuple[float, float, float]) -> tuple[float, float, float]:
        return _ordered(v, "range")

    @field_validator("crops")
    @classmethod
    def _caps(cls, v: dict[str, CropCoefficients]) -> dict[str, CropCoefficients]:
        out: dict[str, CropCoefficients] = {}
        for name, coef in v.items():
            key = CROP_ALIASES.get(name.strip().lower(), name.strip().lower())
            cap = SGR_CAPS.get(key)
            if cap is not None and coef.straw_to_grain[2] > cap:
                raise ValueError(
                    f"straw-to-grain ratio for {key} is capped at {cap} by the straw ledger rules;"
                    f" got {coef.straw_to_grain[2]}"
                )
            out[key] = coef
        return out
