"""notebooks/01_sound_dna.ipynb runs top to bottom (nbclient) against the tiny bundle."""

from __future__ import annotations

from pathlib import Path

import pytest

NOTEBOOK = Path(__file__).resolve().parents[2] / "notebooks" / "01_sound_dna.ipynb"


def test_notebook_is_committed_without_outputs():
    import nbformat

    notebook = nbformat.read(NOTEBOOK, as_version=4)
    for cell in notebook.cells:
        if cell.cell_type == "code":
            assert cell.outputs == [] and cell.execution_count is None, "strip the outputs"


@pytest.mark.slow
def test_notebook_runs_top_to_bottom(tiny_bundle, tmp_path, monkeypatch):
    import nbformat
    from nbclient import NotebookClient

    monkeypatch.setenv("SDA_NOTEBOOK_BUNDLE", str(tiny_bundle.path))
    monkeypatch.setenv("SDA_LIBRARY", str(tmp_path / "library"))  # never touch the user's library
    notebook = nbformat.read(NOTEBOOK, as_version=4)
    client = NotebookClient(
        notebook,
        timeout=300,
        kernel_name="python3",
        resources={"metadata": {"path": str(tmp_path)}},
    )
    client.execute()  # raises CellExecutionError, with the failing cell, on any error
    outputs = [out for cell in notebook.cells if cell.cell_type == "code" for out in cell.outputs]
    kinds = {key for out in outputs for key in out.get("data", {})}
    assert "image/png" in kinds  # the code grids were plotted
    assert "text/html" in kinds  # IPython.display.Audio players
    text = "".join(out.get("text", "") for out in outputs)
    assert "decodes bit-identically" in text
