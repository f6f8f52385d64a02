"""The review app for grid members (FastAPI): pages for phones and a JSON API.

Build it with :func:`create_app`; ``firewatch serve`` runs it with uvicorn.
"""

from __future__ import annotations

from firewatch.web.app import create_app

__all__ = ["create_app"]
