"""A real JupyterLab server and Debian's Chromium for browser tests.

Chromium is installed with apt when it is missing (CI machines start without it).
The notebooks under test are copied to a temporary folder first, so JupyterLab's
autosave can never write outputs into the repository.
"""

import os
import secrets
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

# the tests import lab_helpers beside this file (pytest runs with --import-mode=importlib)
sys.path.insert(0, str(Path(__file__).resolve().parent))

ROOT = Path(__file__).resolve().parents[2]
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


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="session")
def chromium_path():
    return _ensure_chromium()


@pytest.fixture(scope="session")
def lab_server(tmp_path_factory):
    """JupyterLab on 127.0.0.1 serving a copy of notebooks/ and tutorials/ in quick mode."""
    root = tmp_path_factory.mktemp("lab")
    for folder in ("notebooks", "tutorials"):
        shutil.copytree(ROOT / folder, root / folder,
                        ignore=shutil.ignore_patterns(".ipynb_checkpoints", "_runs"))
    # no autosave: a notebook reopened later must not bring back earlier outputs (their
    # plots would render, and fetch, before the fresh run replaces them)
    settings = root / ".settings" / "@jupyterlab" / "docmanager-extension"
    settings.mkdir(parents=True)
    (settings / "plugin.jupyterlab-settings").write_text('{"autosave": false}')
    # nor the "fetch Jupyter news?" toast over the outputs in screenshots
    news = root / ".settings" / "@jupyterlab" / "apputils-extension"
    news.mkdir(parents=True)
    (news / "notification.jupyterlab-settings").write_text('{"fetchNews": "false"}')
    port, token = _free_port(), secrets.token_hex(16)
    env = {**os.environ, "DYNALENS_QUICK": "1", "DYNALENS_INLINE": "1",
           "JUPYTER_CONFIG_DIR": str(root / ".config"), "JUPYTER_RUNTIME_DIR": str(root / ".rt"),
           "JUPYTERLAB_WORKSPACES_DIR": str(root / ".ws"),
           "JUPYTERLAB_SETTINGS_DIR": str(root / ".settings")}
    log = open(root / "lab.log", "w")
    proc = subprocess.Popen(
        [sys.executable, "-m", "jupyterlab", "--no-browser", "--ip=127.0.0.1", f"--port={port}",
         f"--IdentityProvider.token={token}", "--allow-root", f"--ServerApp.root_dir={root}",
         "--LabApp.news_url=None", "--ServerApp.disable_check_xsrf=False"],
        env=env, stdout=log, stderr=subprocess.STDOUT, cwd=root)
    base = f"http://127.0.0.1:{port}"
    deadline = time.time() + 90
    while time.time() < deadline:
        try:
            urllib.request.urlopen(f"{base}/api/status?token={token}", timeout=2)
            break
        except OSError:
            if proc.poll() is not None:
                pytest.fail(f"JupyterLab exited: {(root / 'lab.log').read_text()[-3000:]}")
            time.sleep(0.5)
    else:
        proc.terminate()
        pytest.fail(f"JupyterLab did not start: {(root / 'lab.log').read_text()[-3000:]}")
    yield {"base": base, "token": token, "root": root}
    proc.terminate()
    try:
        proc.wait(20)
    except subprocess.TimeoutExpired:
        proc.kill()
    log.close()


@pytest.fixture
def lab_page(chromium_path, lab_server):
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        browser = pw.chromium.launch(
            executable_path=chromium_path, headless=True,
            args=["--disable-dev-shm-usage", "--disable-gpu", "--no-first-run",
                  "--disable-background-networking", "--disable-component-update",
                  "--disable-sync", "--disable-quic"])
        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        page.set_default_timeout(60_000)
        yield page, lab_server
        browser.close()
    _shutdown_kernels(lab_server)


def _shutdown_kernels(lab):
    """Each notebook test starts a kernel: stop them all so memory stays flat."""
    import json

    base, token = lab["base"], lab["token"]
    try:
        with urllib.request.urlopen(f"{base}/api/kernels?token={token}", timeout=10) as r:
            kernels = json.load(r)
        for k in kernels:
            req = urllib.request.Request(f"{base}/api/kernels/{k['id']}?token={token}",
                                         method="DELETE")
            urllib.request.urlopen(req, timeout=20).close()
    except OSError:
        pass
