"""Binder must install what the project needs: runtime deps agree with pyproject.toml."""

import re
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _name(req: str) -> str:
    return re.split(r"[\[<>=!~ ;]", req.strip(), maxsplit=1)[0].lower().replace("_", "-")


def _binder_requirements():
    lines = (ROOT / "binder" / "requirements.txt").read_text().splitlines()
    return [ln.strip() for ln in lines if ln.strip() and not ln.strip().startswith(("#", "-"))]


def test_binder_runtime_dependencies_match_pyproject():
    meta = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    wanted = {_name(r) for r in meta["dependencies"]}
    wanted |= {_name(r) for r in meta["optional-dependencies"]["cluster"]}
    have = {_name(r) for r in _binder_requirements()}
    assert have == wanted, f"only in binder: {have - wanted}; only in pyproject: {wanted - have}"


def test_binder_uses_cpu_torch_and_installs_the_package():
    reqs = (ROOT / "binder" / "requirements.txt").read_text()
    assert "download.pytorch.org/whl/cpu" in reqs
    assert re.search(r"^torch==[\d.]+\+cpu$", reqs, re.M)
    post = (ROOT / "binder" / "postBuild").read_text()
    assert "set -e" in post and "pip install" in post
    assert (ROOT / "binder" / "runtime.txt").read_text().strip().startswith("python-3.11")


def test_readme_badge_opens_the_landing_notebook():
    readme = (ROOT / "README.md").read_text()
    assert re.search(r"mybinder\.org/v2/gh/[^)\s]+\?urlpath=lab/tree/notebooks/index\.ipynb",
                     readme)
