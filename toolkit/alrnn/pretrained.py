"""Pretrained AL-RNNs shipped with the package (made by scripts/make_alrnn_pretrained.py)."""

from __future__ import annotations

from pathlib import Path

from .._checks import one_of
from .model import ALRNN

__all__ = ["PRETRAINED", "load_pretrained", "pretrained_path"]

_DIR = Path(__file__).parent / "pretrained"

#: name → (file, description)
PRETRAINED = {
    "lorenz63": ("lorenz63.safetensors",
                 "Lorenz-63 (σ = 10, ρ = 28, β = 8/3, Δt = 0.01); M = 20, P = 2, N = 3"),
    "rossler": ("rossler.safetensors",
                "Rössler (a = b = 0.2, c = 5.7, Δt = 0.05); M = 20, P = 1, N = 3"),
    "lorenz63-P1": ("lorenz63-P1.safetensors", "Lorenz-63 as above with P = 1 (P sweep)"),
    "lorenz63-P3": ("lorenz63-P3.safetensors", "Lorenz-63 as above with P = 3 (P sweep)"),
    "lorenz63-P4": ("lorenz63-P4.safetensors", "Lorenz-63 as above with P = 4 (P sweep)"),
}


def pretrained_path(name: str) -> Path:
    one_of(name, "name", sorted(PRETRAINED))
    return _DIR / PRETRAINED[name][0]


def load_pretrained(name: str) -> ALRNN:
    """A shipped model: ``"lorenz63"`` (M = 20, P = 2), ``"rossler"`` (M = 20, P = 1), or
    the P-sweep companions ``"lorenz63-P1"``, ``"lorenz63-P3"``, ``"lorenz63-P4"``.
    ``PRETRAINED`` describes each.

    The model works in data units of the system (``generate(x0, T)`` takes and returns
    them) and knows its sampling interval ``dt``.
    """
    from .. import io

    path = pretrained_path(name)
    if not path.exists():
        raise FileNotFoundError(f"name: the file for {name!r} is missing ({path}); run "
                                "scripts/make_alrnn_pretrained.py")
    model = io.load(path)
    model.eval()
    return model
