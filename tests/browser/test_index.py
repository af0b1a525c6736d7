"""notebooks/index.ipynb (no explorer) runs clean in JupyterLab + Chromium, offline."""

import pytest
from lab_helpers import Watch, open_and_run

pytestmark = pytest.mark.browser


def test_index_runs_clean_in_browser(lab_page):
    page, lab = lab_page
    watch = Watch(page)
    open_and_run(page, lab, "notebooks/index.ipynb")
    watch.check()
