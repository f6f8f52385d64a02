"""Upstream data sources.  :mod:`firewatch.sources.firms` reads NASA FIRMS files and its API."""

from __future__ import annotations
