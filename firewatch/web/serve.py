"""Entry point for uvicorn workers: ``uvicorn --factory firewatch.web.serve:app_from_env``.

Settings come from the environment and settings file (``FIREWATCH_*``), as for the CLI.
"""

from __future__ import annotations

from typing import Any

from firewatch.config import load_settings
from firewatch.web.app import create_app

__all__ = ["app_from_env"]


def app_from_env() -> Any:
    """Build the review app from the environment's settings."""
    return create_app(load_settings())
