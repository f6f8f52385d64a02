"""Lazy imports of the classifier's optional dependencies, with an install hint."""

from __future__ import annotations

import importlib
from types import ModuleType

_HINT = "the classifier needs the 'classify' extra: pip install 'firewatch[classify]'"


def require(module: str) -> ModuleType:
    """Import ``module`` or raise an ImportError that says how to install it."""
    try:
        return importlib.import_module(module)
    except ImportError as exc:
        raise ImportError(f"{module} is not installed; {_HINT}") from exc
