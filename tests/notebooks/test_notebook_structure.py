"""House rules for every committed notebook (the narrative itself runs under nbmake)."""

import re
from pathlib import Path

import nbformat
import pytest

ROOT = Path(__file__).resolve().parents[2]
NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb")) + sorted(
    (ROOT / "tutorials").glob("*.ipynb"))
IDS = [str(p.relative_to(ROOT)) for p in NOTEBOOKS]


def _code_cells(nb):
    return [c for c in nb.cells if c.cell_type == "code"]


@pytest.mark.parametrize("path", NOTEBOOKS, ids=IDS)
def test_committed_without_outputs_or_widget_state(path):
    nb = nbformat.read(path, as_version=4)
    assert "widgets" not in nb.metadata, "widget state in metadata: run `make notebooks-clean`"
    for cell in _code_cells(nb):
        assert not cell.outputs and cell.execution_count is None, \
            "outputs committed: run `make notebooks-clean`"
    assert nb.metadata.get("kernelspec", {}).get("name") == "python3"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=IDS)
def test_shape_setup_then_parameters(path):
    nb = nbformat.read(path, as_version=4)
    code = _code_cells(nb)
    if not code:  # the landing page is pure text
        return
    assert nb.cells[0].cell_type == "markdown" and nb.cells[0].source.startswith("# "), \
        "the first cell is a title and a paragraph"
    assert "tk.viz.setup()" in code[0].source, "the first code cell sets up plotting"
    params = [c for c in code if "parameters" in c.metadata.get("tags", [])]
    assert len(params) == 1, "exactly one cell tagged 'parameters'"
    assert re.search(r"quick_mode\(\)|DYNALENS_QUICK", params[0].source), \
        "the parameters cell reads the quick mode"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=IDS)
def test_no_library_code_in_notebooks(path):
    # narrative over the public API: no function or class definitions, no private names
    nb = nbformat.read(path, as_version=4)
    for cell in _code_cells(nb):
        assert not re.search(r"^\s*(def|class)\s", cell.source, re.M), \
            f"library code in a notebook cell:\n{cell.source[:200]}"
        assert not re.search(r"toolkit\.\w+\._|tk\.\w+\._\w", cell.source), \
            "notebooks use the public API only"


def test_index_links_every_notebook_and_every_link_resolves():
    index = ROOT / "notebooks" / "index.ipynb"
    text = "\n".join(c.source for c in nbformat.read(index, as_version=4).cells)
    links = re.findall(r"\]\(([^)]+\.ipynb)\)", text)
    for link in links:
        assert (index.parent / link).resolve().exists(), f"broken link {link}"
    linked = {(index.parent / link).resolve() for link in links}
    missing = [str(p.relative_to(ROOT)) for p in NOTEBOOKS
               if p != index and p.resolve() not in linked]
    assert not missing, f"not linked from the index: {missing}"
