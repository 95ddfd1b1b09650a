"""The notebook runs from top to bottom and draws its figures (slow: annotates the seed)."""
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

pytestmark = pytest.mark.slow

NOTEBOOK = Path(__file__).resolve().parent.parent / "notebooks" / "seed-figures.ipynb"


def test_notebook_executes_and_plots_the_seed_figures():
    notebook = nbformat.read(NOTEBOOK, as_version=4)
    NotebookClient(notebook, timeout=600, kernel_name="python3", resources={"metadata": {"path": str(NOTEBOOK.parent.parent)}}).execute()
    outputs = [o for cell in notebook.cells if cell.cell_type == "code" for o in cell.get("outputs", [])]
    text = "".join(o.get("text", "") for o in outputs if o.get("output_type") == "stream")
    assert "485 sentences" in text
    # the growth breakdown of the report, as the report states it
    assert "Công nghiệp - xây dựng" in text and "+9.69%" in text
    assert "dịch vụ" in text and "-1.10%" in text
    images = [o for o in outputs if "image/png" in o.get("data", {})]
    assert len(images) == 2
