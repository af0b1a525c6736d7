"""notebooks/alrnn_symbolic_coding.ipynb in JupyterLab + Chromium: runs clean, every explorer
widget moves its plot, nothing is fetched from the network."""

import pytest
from lab_helpers import run_curated

pytestmark = pytest.mark.browser


def test_alrnn_symbolic_coding_explorer_in_browser(lab_page):
    run_curated(lab_page, "notebooks/alrnn_symbolic_coding.ipynb")
