"""Settings: one object, passed explicitly, never a module-level singleton.

Precedence (highest first): keyword arguments > ``FIREWATCH_*`` environment variables > a TOML
settings file (``firewatch.toml`` in the working directory, or the path in ``FIREWATCH_CONFIG``)
> defaults.  Nested values use ``__`` in environment variables, e.g.
``FIREWATCH_REGION__NEIGHBOUR_KM=20``.  Secrets are :class:`pydantic.SecretStr` and are masked in
``repr`` and logs.
"""

from __future__ import annotations

import datetime as dt
import os
from pathlib import Path
from typing import Any

from pydantic import BaseModel, Field, SecretStr, field_validator
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)

from firewatch.classify.settings import ClassifySettings
from firewatch.dispatch.settings import NotifySettings, ReviewSettings
from firewatch.publish.bulletin.settings import BulletinSettings
from firewatch.publish.maps.settings import MapSettings
from firewatch.publish.season.settings import SeasonSettings

__all__ = ["BanPeriod", "GridSettings", "Region", "Settings", "load_settings"]

#: The project's top level (beside the package): where bundled boundaries/grids/models live.
PROJECT_ROOT = Path(__file__).resolve().parent.parent


class Region(BaseModel):
    """The monitored region."""

    name: str = "黑龙江省"
    province_code: str = "23"
    #: west, south, east, north (WGS-84 degrees) used for FIRMS requests and pre-filtering.
    bbox: tuple[float, float, float, float] = (121.1, 43.3, 135.2, 53.6)
    #: Points outside the province but within this distance are kept, marked as the neighbour's.
    neighbour_km: float = 10.0


class BanPeriod(BaseModel):
    """A burning-ban window, given as month-day strings; ``years`` limits it to some years."""

    name: str
    start: str  # "MM-DD"
    end: str  # "MM-DD", inclusive
    key: bool = True  # a key control window (重点管控期)
    years: list[int] | None = None

    @field_validator("start", "end")
    @classmethod
    def _month_day(cls, v: str) -> str:
        dt.datetime.strptime(f"2000-{v}", "%Y-%m-%d")
        return v

    def window(self, year: int) -> tuple[dt.date, dt.date]:
        """The first and last day of this period in ``year`` (autumn never spans a new year)."""
        s = dt.date.fromisoformat(f"{year}-{self.start}")
        e = dt.date.fromisoformat(f"{year}-{self.end}")
        return s, e

    def applies(self, year: int) -> bool:
        return self.years is None or year in self.years


def _default_periods() -> list[BanPeriod]:
    # Provincial reward–penalty rules (shared/DOMAIN.md); a policy setting, so configurable.
    return [
        BanPeriod(name="spring", start="03-10", end="05-15"),
        BanPeriod(name="autumn", start="09-15", end="12-10"),
    ]


class GridSettings(BaseModel):
    """Burning-ban grid attribution (issue 3); the grid file is ``Settings.grids_path``."""

    #: Overlap each detection's pixel footprint (scan × track) with the village cells.
    footprint: bool = True
    #: A point in no cell goes to the nearest cell within this distance (flagged gap_nearest).
    gap_tolerance_m: float = 500.0
    #: `grids check`: children may stick out of their parent, and gaps/overlaps be this thin.
    check_tolerance_m: float = 50.0


class Settings(BaseSettings):
    """All firewatch settings.  Build with :func:`load_settings` or ``Settings(...)``."""

    model_config = SettingsConfigDict(
        env_prefix="FIREWATCH_",
        env_nested_delimiter="__",
        extra="ignore",
    )

    database_url: str = "sqlite:///firewatch.db"
    firms_map_key: SecretStr | None = None
    firms_base_url: str = "https://firms.modaps.eosdis.nasa.gov"
    #: Products fetched by ``firewatch fetch``/``daily`` when none are named.
    firms_products: list[str] = Field(
        default_factory=lambda: ["VIIRS_NOAA20_NRT", "VIIRS_SNPP_NRT", "MODIS_NRT"]
    )
    #: FIRMS allows 5,000 transactions per 10 minutes per MAP_KEY; stay below it.
    firms_transactions_per_10min: int = 4500
    http_timeout_s: float = 60.0
    http_retries: int = 4

    region: Region = Field(default_factory=Region)
    boundaries_path: Path = PROJECT_ROOT / "boundaries" / "heilongjiang_counties.gpkg"
    #: Datum of ``boundaries_path``: wgs84, gcj02 or bd09; firewatch converts to WGS-84.
    boundaries_datum: str = "wgs84"
    grids_path: Path = PROJECT_ROOT / "grids" / "jixi_demo.gpkg"
    grids_datum: str = "wgs84"
    models_dir: Path = PROJECT_ROOT / "models"
    output_dir: Path = Path("out")

    ban_periods: list[BanPeriod] = Field(default_factory=_default_periods)
    tianditu_key: SecretStr | None = None
    #: Review app and dispatch (deadlines, cookies, schedule) and notifications (SMTP, webhooks).
    review: ReviewSettings = Field(default_factory=ReviewSettings)
    notify: NotifySettings = Field(default_factory=NotifySettings)
    #: Daily bulletins and period reports: thresholds for excluded/doubtful points, formats.
    bulletin: BulletinSettings = Field(default_factory=BulletinSettings)
    #: False-positive classifier: model, industrial registry, optional land-cover raster.
    classify: ClassifySettings = Field(default_factory=ClassifySettings)
    #: Seasonal analysis: cubes, FRE and dry matter, straw utilization, Sentinel-2 burn scars.
    season: SeasonSettings = Field(default_factory=SeasonSettings)
    #: Interactive maps: base layer, offline bundling, clustering, PNG size, the daily map stage.
    map: MapSettings = Field(default_factory=MapSettings)
    #: Burning-ban grid attribution: footprints, gap tolerance, check tolerance.
    grid: GridSettings = Field(default_factory=GridSettings)

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        toml_path = Path(os.environ.get("FIREWATCH_CONFIG", "firewatch.toml"))
        sources: list[PydanticBaseSettingsSource] = [init_settings, env_settings]
        if toml_path.is_file():
            sources.append(TomlConfigSettingsSource(settings_cls, toml_file=toml_path))
        return tuple(sources)

    def ban_windows(
        self, year: int, *, key_only: bool = False
    ) -> list[tuple[str, dt.date, dt.date]]:
        """``(name, first_day, last_day)`` of the ban periods that apply in ``year``."""
        return [
            (p.name, *p.window(year))
            for p in self.ban_periods
            if p.applies(year) and (p.key or not key_only)
        ]

    def in_ban_period(self, day: dt.date) -> str | None:
        """The name of the ban period ``day`` falls in, or ``None``."""
        for name, first, last in self.ban_windows(day.year):
            if first <= day <= last:
                return name
        return None


def load_settings(**overrides: Any) -> Settings:
    """Build settings from overrides, the environment and the settings file."""
    return Settings(**overrides)
