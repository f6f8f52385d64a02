"""notebooks/seasonal_analysis.ipynb runs top to bottom on the data shipped in the repo.

It is executed with nbclient, the engine nbmake uses; the same check by hand::

    .venv/bin/pytest --nbmake notebooks/seasonal_analysis.ipynb
"""

from __future__ import annotations

from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

from firewatch.config import PROJECT_ROOT

NOTEBOOK = PROJECT_ROOT / "notebooks" / "seasonal_analysis.ipynb"


def test_seasonal_notebook_runs_top_to_bottom(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The notebook writes into tempfile.mkdtemp(): under this test that is tmp_path (the
    # kernel inherits TMPDIR), so a run leaves nothing behind in the system temp folder.
    monkeypatch.setenv("TMPDIR", str(tmp_path))
    nb = nbformat.read(NOTEBOOK, as_version=4)
    assert all(not c.get("outputs") for c in nb.cells if c.cell_type == "code"), (
        "commit the notebook without outputs"
    )
    client = NotebookClient(
        nb,
        timeout=300,
        kernel_name="python3",
        resources={"metadata": {"path": str(NOTEBOOK.parent)}},
    )
    client.execute()
    errors = [o for c in nb.cells for o in c.get("outputs", []) if o.output_type == "error"]
    assert errors == []
    text = "".join(
        o.get("text", "")
        for c in nb.cells
        for o in c.get("outputs", [])
        if o.output_type == "stream"
    )
    # what a reader checks: the series read whole, the hand-checked county-day, a confirmed scar
    assert "46 files, 28,440 rows, 28,285 unique detections" in text
    assert "detections 4, FRP sum 15.96 MW, FRE 213,257 MJ" in text
    assert "dry matter 78.48 t" in text
    assert "confirmed 15.0 ha burned" in text
    images = [o for c in nb.cells for o in c.get("outputs", []) if "image/png" in o.get("data", {})]
    assert len(images) >= 4
    assert [p.name for p in tmp_path.glob("firewatch-season-*/2022_autumn_county.nc")]
