"""Degrees-minutes-seconds, the way bulletins print coordinates.

Bulletins give longitude and latitude as separate columns in DMS (e.g. ``128°31′12.3″``);
officials type them into handheld GPS units, so the rounding must carry correctly (59.96″ is
``1′00.0″`` more, never ``60.0″``).
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
import pandas as pd

__all__ = ["dms", "format_dms"]


def dms(values: npt.ArrayLike, *, decimals: int = 1) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Split decimal degrees into whole degrees, minutes and (rounded) seconds of the magnitude.

    Parameters
    ----------
    values
        Decimal degrees; the sign is dropped (callers add a hemisphere when they need one).
    decimals
        Decimal places of the seconds.

    Returns
    -------
    degrees, minutes, seconds
        Arrays with the same shape as ``values``; NaN stays NaN in all three.
    """
    x = np.abs(np.asarray(values, dtype="float64"))
    unit = 10**decimals
    # Round once, in units of the last printed digit, so carries propagate to minutes/degrees.
    ticks = np.round(x * 3600 * unit)
    deg = np.floor_divide(ticks, 3600 * unit)
    rest = ticks - deg * 3600 * unit
    minutes = np.floor_divide(rest, 60 * unit)
    seconds = (rest - minutes * 60 * unit) / unit
    return deg, minutes, seconds


def format_dms(
    values: npt.ArrayLike | pd.Series,
    *,
    decimals: int = 1,
    hemispheres: tuple[str, str] | None = None,
) -> list[str]:
    """Format decimal degrees as ``DDD°MM′SS.s″`` strings.

    Parameters
    ----------
    values
        Decimal degrees.
    decimals
        Decimal places of the seconds (1 ≈ 3 m on the ground).
    hemispheres
        ``("E", "W")`` or ``("N", "S")`` to append a hemisphere letter; ``None`` prints a minus
        sign for negative values instead.

    Returns
    -------
    list of str
        One string per value; missing values give ``""``.
    """
    arr = np.asarray(values, dtype="float64")
    deg, minutes, seconds = dms(arr, decimals=decimals)
    width = 3 + decimals if decimals else 2
    out: list[str] = []
    # One string per value is unavoidable for text output; the arithmetic above is vectorised.
    for v, d, m, s in zip(
        arr.tolist(), deg.tolist(), minutes.tolist(), seconds.tolist(), strict=True
    ):
        if v != v:  # NaN
            out.append("")
            continue
        body = f"{int(d)}°{int(m):02d}′{s:0{width}.{decimals}f}″"
        if hemispheres is None:
            out.append(("-" if v < 0 else "") + body)
        else:
            out.append(body + (hemispheres[0] if v >= 0 else hemispheres[1]))
    return out
