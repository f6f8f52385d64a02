"""Settings of bulletins and period reports (nested in :class:`firewatch.config.Settings`).

Environment variables use the nested delimiter, e.g. ``FIREWATCH_BULLETIN__FLAG_BELOW=0.6``.
Which points are excluded from the count is policy (a county loses ¥500,000 per counted point in
a ban period), so every threshold here is a setting, and every excluded point is listed in the
bulletin with its reason.
"""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, Field, field_validator, model_validator

__all__ = ["BulletinSettings"]

_FORMATS = ("html", "docx", "xlsx", "pdf")


class BulletinSettings(BaseModel):
    """What bulletins say, which points they count, and what ``firewatch daily`` writes."""

    #: Printed under the title (the issuing office).
    issuer: str = "黑龙江省秸秆焚烧火点卫星监测"
    issuer_en: str = "Heilongjiang straw-burning satellite monitoring"
    #: The region's name in English titles (``region.name`` is used in Chinese).
    region_en: str = "Heilongjiang Province"
    #: A point the classifier puts below this probability of straw burning (and in a class other
    #: than straw) is excluded from the count and listed with the classifier's explanation.
    exclude_below: Annotated[float, Field(ge=0.0, le=1.0)] = 0.1
    #: A counted point below this probability is listed as doubtful (存疑), pending a site check.
    flag_below: Annotated[float, Field(ge=0.0, le=1.0)] = 0.5
    #: Site-check verdicts that exclude a point from the count.
    exclude_verdicts: list[str] = Field(default_factory=lambda: ["industrial", "nothing_found"])
    #: FIRMS ``type`` values that exclude a point (1 volcano, 2 static land source, 3 offshore).
    exclude_fire_types: list[int] = Field(default_factory=lambda: [1, 2, 3])
    #: Formats, editions and language ``firewatch daily`` writes.
    formats: list[str] = Field(default_factory=lambda: list(_FORMATS))
    editions: list[str] = Field(default_factory=lambda: ["public", "internal"])
    lang: str = "zh"
    #: Write the bulletins inside ``firewatch daily``.
    in_daily: bool = True

    @field_validator("formats")
    @classmethod
    def _formats(cls, v: list[str]) -> list[str]:
        bad = [f for f in v if f not in _FORMATS]
        if bad:
            raise ValueError(f"unknown bulletin format(s) {bad}; use {', '.join(_FORMATS)}")
        return v

    @field_validator("editions")
    @classmethod
    def _editions(cls, v: list[str]) -> list[str]:
        bad = [e for e in v if e not in ("public", "internal")]
        if bad:
            raise ValueError(f"unknown edition(s) {bad}; use public, internal")
        return v

    @field_validator("lang")
    @classmethod
    def _lang(cls, v: str) -> str:
        if v not in ("zh", "en"):
            raise ValueError(f"bulletin language must be zh or en, not {v!r}")
        return v

    @model_validator(mode="after")
    def _thresholds(self) -> BulletinSettings:
        if self.exclude_below > self.flag_below:
            raise ValueError("bulletin.exclude_below must not exceed bulletin.flag_below")
        return self
