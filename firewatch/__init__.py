"""firewatch: a spatial monitor of straw-burning fire points.

Pipeline: ingest (``firewatch.sources``) → attribute (``firewatch.spatial``) → classify
(``firewatch.classify``) → dispatch (``firewatch.dispatch``) → publish (``firewatch.publish``),
with the store (``firewatch.store``) in the middle.
"""

from __future__ import annotations

import logging

from firewatch.config import Settings, load_settings
from firewatch.errors import FirewatchError

__all__ = ["FirewatchError", "Settings", "__version__", "load_settings"]
__version__ = "0.1.0"

logging.getLogger(__name__).addHandler(logging.NullHandler())
