"""The store: SQLAlchemy models, migrations and repository functions."""

from firewatch.store.db import connect, ensure_current, upgrade
from firewatch.store.models import Base, Detection, IngestRun, QuarantinedRow

__all__ = [
    "Base",
    "Detection",
    "IngestRun",
    "QuarantinedRow",
    "connect",
    "ensure_current",
    "upgrade",
]
