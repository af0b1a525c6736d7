"""dynalens: a Jupyter-first toolkit for taking learned dynamics apart.

Import is light: subpackages (and torch) load on first attribute access, so
``import toolkit as tk; tk.systems.trajectory(...)`` costs only what it uses.
"""

from __future__ import annotations

import importlib

__version__ = "0.1.0"

_SUBMODULES = {
    "systems",
    "metrics",
    "io",
    "viz",
    "probes",
    "training",
    "sweep",
    "alrnn",
    "hmmrnn",
    "grokking",
    "koopman",
}

__all__ = sorted(_SUBMODULES) + ["__version__", "quick_mode"]


def quick_mode() -> bool:
    """True when the environment asks for small, fast runs (``DYNALENS_QUICK=1``).

    ``make test`` sets it so every notebook runs in CI in minutes; users get the
    full-size defaults.
    """
    import os

    return os.environ.get("DYNALENS_QUICK", "").strip().lower() not in ("", "0", "false", "no")


def __getattr__(name: str):
    if name in _SUBMODULES:
        module = importlib.import_module(f"{__name__}.{name}")
        globals()[name] = module
        return module
    raise AttributeError(f"module 'toolkit' has no attribute {name!r}")


def __dir__():
    return __all__
