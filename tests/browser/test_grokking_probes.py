"""notebooks/grokking_probes.ipynb in JupyterLab + Chromium: runs clean; the explorer's
settings are moved, Train streams curves while it runs, the step slider moves the
Fourier plots; nothing is fetched from the network."""

import pytest
from lab_helpers import run_curated

pytestmark = pytest.mark.browser

# settings that only take effect at the next training run
SETTINGS = ("task", "p", "train fraction", "weight decay", "learning rate", "activation",
            "output scale", "max steps", "probes")


def test_grokking_probes_explorer_in_browser(lab_page):
    run_curated(lab_page, "notebooks/grokking_probes.ipynb", deferred=SETTINGS,
                run_button="Train")
