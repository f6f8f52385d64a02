"""Grid codes: levels, parents and scope.

Statistical division codes are hierarchical: province 2 significant digits, city 4, county 6,
township 9, village 12; in the 12-digit form the rest is zeros (city ``230300000000``).  A grid
subtree is therefore a code prefix, which is how a user's scope is tested everywhere.
"""

from __future__ import annotations

from typing import Final

__all__ = [
    "LEVELS",
    "LEVEL_DIGITS",
    "code_level",
    "in_scope",
    "level_code",
    "normalise_code",
    "parent_code",
    "scope_prefix",
]

#: Levels from the bottom up, as escalation climbs them.
LEVELS: Final[tuple[str, ...]] = ("village", "township", "county", "city", "province")
LEVEL_DIGITS: Final[dict[str, int]] = {
    "province": 2,
    "city": 4,
    "county": 6,
    "township": 9,
    "village": 12,
}


def normalise_code(code: str | int) -> str:
    """A code in its 12-digit form (``"2303"`` -> ``"230300000000"``).

    Raises
    ------
    ValueError
        If ``code`` is not 2, 4, 6, 9 or 12 digits.
    """
    s = str(code).strip()
    if not s.isdigit() or len(s) not in (2, 4, 6, 9, 12):
        raise ValueError(f"not a division code (2, 4, 6, 9 or 12 digits): {code!r}")
    return s.ljust(12, "0")


def code_level(code: str) -> str:
    """The level of a 12-digit code, read from its trailing zero groups."""
    c = normalise_code(code)
    if c[2:] == "0" * 10:
        return "province"
    if c[4:] == "0" * 8:
        return "city"
    if c[6:] == "0" * 6:
        return "county"
    if c[9:] == "000":
        return "township"
    return "village"


def scope_prefix(code: str) -> str:
    """The significant digits of a code: every code in its subtree starts with them."""
    c = normalise_code(code)
    return c[: LEVEL_DIGITS[code_level(c)]]


def level_code(code: str, level: str) -> str:
    """The 12-digit code of ``code``'s ancestor (or itself) at ``level``."""
    c = normalise_code(code)
    return c[: LEVEL_DIGITS[level]].ljust(12, "0")


def parent_code(code: str) -> str | None:
    """The code one level up (``None`` for a province)."""
    level = code_level(code)
    i = LEVELS.index(level)
    if i + 1 >= len(LEVELS):
        return None
    return level_code(code, LEVELS[i + 1])


def in_scope(code: str | None, scope: str) -> bool:
    """Whether ``code`` lies in the subtree of the user grid code ``scope``."""
    if not code:
        return False
    return normalise_code(code).startswith(scope_prefix(scope))
