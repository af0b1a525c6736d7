"""A real JupyterLab server and Debian's Chromium for browser tests.

Chromium is installed with apt when it is missing (CI machines start without it).
The notebooks under test are copied to a temporary folder first, so JupyterLab's
autosave can never write outputs into the repository.
"""

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

# the tests import lab_helpers beside this file (pytest runs with --import-mode=importlib)
sys.path.insert(0, str(Path(__file__).resolve().parent))

CHROMIUM = Path("/usr/bin/chromium")


def _ensure_chromium() -> str:
    if CHROMIUM.exists():
        return str(CHROMIUM)
    apt = shutil.which("apt-get")
    if apt is None:
        pytest.fail("Chromium is missing and apt-get is not available: install Chromium at "
                    "/usr/bin/chromium, or deselect browser tests with -m 'not browser'")
    sudo = [] if os.geteuid() == 0 else ["sudo", "-n"]
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    for cmd in (["apt-get", "update", "-qq"],
                ["apt-get", "install", "-y", "-qq", "--no-install-recommends", "chromium"]):
        done = subprocess.run(sudo + cmd, env=env, capture_output=True, text=True)
        if done.returncode != 0:
            pytest.fail(f"installing Chromium failed ({' '.join(cmd)}):\n{done.stderr[-2000:]}")
    if not CHROMIUM.exists():
        pytest.fail("apt installed chromium but /usr/bin/chromium is missing")
    return str(CHROMIUM)


@pytest.fixture(scope="session")
def chromium_path():
    return _ensure_chromium()


@pytest.fixture(scope="session")
def lab_server(tmp_path_factory):
    """JupyterLab on 127.0.0.1 serving a copy of notebooks/ and tutorials/ in quick mode."""
    from lab_helpers import LabError, start_lab

    try:
        with start_lab(tmp_path_factory.mktemp("lab")) as lab:
            yield lab
    except LabError as err:
        pytest.fail(str(err))


@pytest.fixture
def lab_page(chromium_path, lab_server):
    from lab_helpers import chromium_page, shutdown_kernels

    with chromium_page(chromium_path) as page:
        yield page, lab_server
    shutdown_kernels(lab_server)
