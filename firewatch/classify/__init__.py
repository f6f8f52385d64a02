"""False-positive classifier: straw fires versus industrial heat and other false alarms.

Modules: :mod:`~firewatch.classify.features` (feature table), :mod:`~firewatch.classify.industrial`
(registries of heat sources), :mod:`~firewatch.classify.landcover` (raster sampling),
:mod:`~firewatch.classify.labels` (labels with provenance), :mod:`~firewatch.classify.model`
(the calibrated pipeline, saving/loading with skops), :mod:`~firewatch.classify.train`
(training and spatially blocked evaluation), :mod:`~firewatch.classify.store` (classifications
in the store).  Import those modules directly; this package stays light because the settings
import it.
"""

from __future__ import annotations

#: The four classes, in model order.
CLASSES: tuple[str, ...] = ("straw", "other_vegetation", "industrial", "spurious")

__all__ = ["CLASSES"]
