"""Settings of the false-positive classifier (``Settings.classify``; env ``FIREWATCH_CLASSIFY__*``)."""

from __future__ import annotations

from pathlib import Path

from pydantic import BaseModel, Field

__all__ = ["ClassifySettings"]


class ClassifySettings(BaseModel):
    """Where the classifier's inputs are and how it decides."""

    #: The model file to classify with; default: ``<models_dir>/firewatch_fp.skops``.
    model_path: Path | None = None
    #: A user-maintained CSV of industrial heat sources (format: firewatch/data/industrial/README.md).
    industrial_registry_path: Path | None = None
    #: A classified land-cover GeoTIFF; optional (see docs/classifier.md).
    landcover_path: Path | None = None
    #: Raster values meaning cropland / built-up land (defaults: ESA WorldCover 40 and 50).
    landcover_cropland_values: list[int] = Field(default_factory=lambda: [40])
    landcover_builtup_values: list[int] = Field(default_factory=lambda: [50])
    #: Radius (km) within which an earlier detection counts as "the same place".
    persistence_radius_km: float = 1.0
    #: Radius (km) for "other detections in the same overpass nearby".
    same_pass_radius_km: float = 5.0
    #: Points with p_straw below this are flagged as probable false positives in outputs.
    straw_threshold: float = 0.5
    #: OpenMP threads for gradient boosting.  1 by default: on a shared machine more threads than
    #: free cores make OpenMP's busy-waiting threads 10-20× slower, not faster.
    threads: int = 1
    #: Classify in ``firewatch daily`` when a model is available.
    in_daily: bool = True
