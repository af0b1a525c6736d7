"""Emulators shipped with the package (made by ``scripts/make_hmmrnn_pretrained.py``).

All four have the reference's size (150 hidden units, 100 noise dimensions): smaller
networks (64/16) trained about 3x faster per step but matched the rare symbol's bigram
row less well, and the dissection is easiest to hold next to the paper at its size.
Each was trained from scratch for 1,500 steps of the statistics objective (seed 0);
``pretrained_info(name)`` holds the settings, the training time and the figures of
``compare`` at the time it was made.

    rnn = load_pretrained("linear_chain_2")
    hmm = pretrained_hmm("linear_chain_2")
    steps_and_models = pretrained_checkpoints("linear_chain_2")   # the training run
"""

from __future__ import annotations

from pathlib import Path

from .._checks import one_of
from .hmm import HMM, make_hmm
from .model import NoiseRNN

__all__ = ["PRETRAINED", "load_pretrained", "pretrained_hmm", "pretrained_checkpoints",
           "pretrained_info", "PRETRAINED_DIR"]

PRETRAINED = ("linear_chain_2", "linear_chain_3", "fully_connected_3", "cyclic_4")
PRETRAINED_DIR = Path(__file__).parent / "pretrained"
#: emulators whose training checkpoints are shipped (for the training-evolution analysis)
WITH_CHECKPOINTS = ("linear_chain_2",)


def _path(name: str) -> Path:
    one_of(name, "name", PRETRAINED)
    path = PRETRAINED_DIR / f"{name}.safetensors"
    if not path.exists():
        raise FileNotFoundError(f"name: the file for {name!r} is missing ({path}); run "
                                "scripts/make_hmmrnn_pretrained.py")
    return path


def load_pretrained(name: str) -> NoiseRNN:
    """The shipped emulator of the reference HMM ``name`` (one of ``PRETRAINED``)."""
    from .. import io

    return io.load(_path(name))


def pretrained_hmm(name: str) -> HMM:
    """The HMM the shipped emulator ``name`` was trained on."""
    one_of(name, "name", PRETRAINED)
    return make_hmm(name)


def pretrained_info(name: str) -> dict:
    """How the shipped emulator was made (training settings, seconds, final figures)."""
    from .. import io

    return io.read_header(_path(name))["metadata"]


def pretrained_checkpoints(name: str = "linear_chain_2") -> list[tuple[int, NoiseRNN]]:
    """The (step, network) checkpoints saved while training the shipped emulator."""
    from .evolution import load_checkpoints

    one_of(name, "name", WITH_CHECKPOINTS)
    folder = PRETRAINED_DIR / f"{name}_checkpoints"
    return load_checkpoints(folder)
