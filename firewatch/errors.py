"""One root error for firewatch; each subclass also inherits the matching builtin.

Callers can catch :class:`FirewatchError` for everything firewatch raises on purpose, or the
builtin (``ValueError``, ``OSError``, ...) when they do not care that it came from firewatch.
"""

from __future__ import annotations

__all__ = [
    "BoundaryError",
    "ConfigError",
    "FirewatchError",
    "FirmsApiError",
    "FirmsAuthError",
    "FirmsFormatError",
    "GridError",
    "ModelSchemaError",
    "RegistryImportError",
    "StoreError",
]


class FirewatchError(Exception):
    """Root of every error firewatch raises on purpose."""


class ConfigError(FirewatchError, ValueError):
    """A setting is missing or invalid."""


class FirmsFormatError(FirewatchError, ValueError):
    """A file is not FIRMS active-fire data; it is refused whole and nothing is written."""

    def __init__(self, message: str, *, origin: str | None = None) -> None:
        self.origin = origin
        super().__init__(f"{origin}: {message}" if origin else message)


class FirmsApiError(FirewatchError, OSError):
    """The FIRMS API failed; ``status`` keeps the HTTP status when there was one."""

    def __init__(self, message: str, *, status: int | None = None) -> None:
        self.status = status
        super().__init__(message)


class FirmsAuthError(FirmsApiError, PermissionError):
    """The FIRMS MAP_KEY was refused (invalid, expired or over its transaction limit)."""


class BoundaryError(FirewatchError, ValueError):
    """A boundary file is unusable (no geometry, unknown datum, missing code/name columns)."""


class GridError(FirewatchError, ValueError):
    """A burning-ban grid file is unusable."""


class RegistryImportError(FirewatchError, ValueError):
    """A field-chief registry import was refused; ``problems`` lists ``(line, message)``."""

    def __init__(self, problems: list[tuple[int, str]], *, origin: str | None = None) -> None:
        self.problems = problems
        self.origin = origin
        head = "; ".join(f"line {line}: {msg}" for line, msg in problems[:5])
        more = f" (+{len(problems) - 5} more)" if len(problems) > 5 else ""
        super().__init__(
            f"{origin or 'registry'}: {len(problems)} bad row(s), nothing written: {head}{more}"
        )


class ModelSchemaError(FirewatchError, ValueError):
    """A saved classifier's feature schema does not match what this firewatch builds."""


class StoreError(FirewatchError, RuntimeError):
    """The store is unreachable, not migrated, or refused a write."""
