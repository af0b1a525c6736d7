"""Shipped data: the probe history (and final model) of Nanda et al.'s transformer on
(a + b) mod 113, made by ``scripts/make_grokking_history.py``."""

from __future__ import annotations

from pathlib import Path

HERE = Path(__file__).resolve().parent
HISTORY = HERE / "nanda_transformer_p113.safetensors"
MODEL = HERE / "nanda_transformer_p113_model.safetensors"


def _missing(path):
    return FileNotFoundError(
        f"path: {path.name} is not shipped with this checkout; make it with "
        "`python scripts/make_grokking_history.py` (about 1-2 hours on one CPU thread)")


def load_transformer_history():
    from ... import io

    if not HISTORY.exists():
        raise _missing(HISTORY)
    return io.load(HISTORY)


def load_transformer_model():
    from ... import io

    if not MODEL.exists():
        raise _missing(MODEL)
    return io.load(MODEL)
